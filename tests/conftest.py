"""Shared fixtures and rules: no test leaves a `dlv` behind, and under CI=true no test passes by skipping.

Skips under CI=true: CI must not pass by not testing. `require_tool` fails there at once; any other skip
(a plain `pytest.skip`, a `skipif`, an empty parameter set) is turned into a failure by
`pytest_runtest_makereport` below, unless it went through `skip_reviewed`: the few skips that are about
the machine (no IPv6) or an opt-in run (recording a transcript), each one reviewed and named in the
reason it prints.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import NoReturn

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


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require_tool(ok: bool, what: str) -> None:
    """Skip locally when a tool is missing, but fail under CI, where a skip would hide it."""
    __tracebackhide__ = True  # the skip is reported at the caller's line
    if ok:
        return
    if in_ci():
        pytest.fail(f"{what} is missing in CI")
    pytest.skip(f"{what} is missing")


# Marks the reason of a skip that is allowed under CI=true (see `skip_reviewed`).
REVIEWED_SKIP = "reviewed skip: "


def skip_reviewed(why: str) -> NoReturn:
    """Skip, under CI=true too. Only for what no CI machine can be asked to provide or what only an
    opt-in run does (`why` says which); never for a missing tool or input, which is `require_tool`."""
    __tracebackhide__ = True
    pytest.skip(REVIEWED_SKIP + why)


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under CI=true a skip that did not go through `skip_reviewed` fails the test."""
    report: pytest.TestReport = yield
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        if REVIEWED_SKIP not in reason:
            report.outcome = "failed"
            report.longrepr = (
                f"skipped under CI=true, where a skip hides what was not tested ({reason}); "
                "make it run, use require_tool for a missing tool, or skip_reviewed for a reviewed exception"
            )
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """The same rule for a whole module skipped at collection."""
    report: pytest.CollectReport = yield
    if in_ci() and report.skipped and REVIEWED_SKIP not in _skip_reason(report):
        report.outcome = "failed"
        report.longrepr = f"module skipped under CI=true: {_skip_reason(report)}"
    return report


@pytest.fixture(scope="session")
def dlv_path() -> Path:
    path = REPO / ".tools" / "bin" / "dlv"
    require_tool(path.exists(), f"the pinned Delve at {path} (run scripts/setup.sh)")
    return path
