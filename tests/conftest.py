"""Shared fixtures: real corpus cores, and the rule that no test leaves a `dlv` behind."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Every process this test run starts inherits this mark, orphans included (they keep their
# environment when re-parented to init), so the leak check counts this run's dlv and nobody else's.
RUN_MARK = f"GOCORE_DAP_TEST_RUN={os.getpid()}"
os.environ["GOCORE_DAP_TEST_RUN"] = str(os.getpid())


def dlv_pids() -> set[int]:
    pids: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            if comm != "dlv":
                continue
            state = next(
                (
                    line.split()[1]
                    for line in Path(f"/proc/{entry}/status").read_text().splitlines()
                    if line.startswith("State:")
                ),
                "",
            )
        except OSError:
            continue
        if state == "Z":  # a zombie is already dead; its parent reaps it
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if RUN_MARK.encode() in environ:
            pids.add(int(entry))
    return pids


@pytest.fixture(autouse=True)
def no_orphaned_dlv() -> Iterator[None]:
    """Every test must end every Delve it (or the adapter it drove) started."""
    before = dlv_pids()
    yield
    deadline = time.monotonic() + 10
    leaked = dlv_pids() - before
    while leaked and time.monotonic() < deadline:
        time.sleep(0.1)
        leaked = dlv_pids() - before
    if leaked:
        for pid in leaked:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
        pytest.fail(f"dlv processes survived the test: {sorted(leaked)}")


def require_tool(ok: bool, what: str) -> None:
    """Skip locally when a tool is missing, but fail under CI, where a skip would hide it."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing in CI")
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="session")
def dlv_path() -> Path:
    path = REPO / ".tools" / "bin" / "dlv"
    require_tool(path.exists(), f"the pinned Delve at {path} (run scripts/setup.sh)")
    return path
