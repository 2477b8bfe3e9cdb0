"""Fixtures of the bridge tests: corpus cores (built once per run, on every toolchain of TOOLCHAINS).

`adapters` starts the real adapter (`.venv/bin/gocore-dap`, stdio) and ends it the way an editor does,
recording whether it exited by itself after `disconnect` and whether a `dlv` it started outlived it.

A test that takes `corpus_case` runs once per corpus program and toolchain, with ids such as
`classic-go1.26.8` and `classic-go1.25.0`; `@pytest.mark.corpus("nil_deref", ...)` narrows it to some
programs. The first case a run needs builds every case the run collected, in parallel.

Locally a missing Go (or a toolchain the go command cannot fetch) skips; under CI=true it fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from gocore_dap.corpus import list_programs
from tests.conftest import require_tool
from tests.support.corpus_fixtures import (
    CaseKey,
    CorpusCache,
    CorpusCase,
    CorpusUnavailable,
    all_case_keys,
    case_id,
)
from tests.support.dap_client import DapClient
from tests.support.processes import dlv_descendants, pid_alive

_CORPUS_MARKER = "corpus"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{_CORPUS_MARKER}(*programs): run a corpus_case test only on these corpus programs"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "corpus_case" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker(_CORPUS_MARKER)
    names = list(marker.args) if marker else list_programs()
    unknown = set(names) - set(list_programs())
    if unknown:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: no corpus program {sorted(unknown)}")
    keys = all_case_keys(names)
    metafunc.parametrize("corpus_case", keys, ids=[case_id(*k) for k in keys], indirect=True, scope="session")


def _collected_keys(session: pytest.Session) -> list[CaseKey]:
    keys: dict[CaseKey, None] = {}
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "corpus_case" in callspec.params:
            keys[callspec.params["corpus_case"]] = None
    return list(keys)


@pytest.fixture(scope="session")
def corpus(request: pytest.FixtureRequest) -> CorpusCache:
    cache = CorpusCache()
    cache.prebuild(_collected_keys(request.session))
    return cache


@pytest.fixture(scope="session")
def corpus_case(request: pytest.FixtureRequest, corpus: CorpusCache) -> CorpusCase:
    name, toolchain = request.param
    try:
        return corpus.get(name, toolchain)
    except CorpusUnavailable as exc:
        require_tool(False, str(exc))
        raise  # not reached: require_tool skips or fails


# --- the adapter process ------------------------------------------------------------------------------


@attrs.frozen
class AdapterExit:
    disconnect: dict[str, Any] | None  # the response to `disconnect`, if it came
    exited_by_itself: bool  # the adapter ended after `disconnect` while its stdin was still open
    returncode: int | None
    dlv_seen: frozenset[int]  # the adapter's dlv processes (Delve and its children), seen before `disconnect`
    dlv_survivors: frozenset[int]  # ... still running after the adapter exited (+ a grace period)
    stderr_tail: tuple[str, ...]
    violations: tuple[str, ...]  # everything the client found wrong in what the adapter sent, to the end

    def assert_clean(self) -> None:
        """The editor's way out worked: `disconnect` was answered with success, the adapter then exited by
        itself with status 0 (not on EOF, not killed), no dlv it started outlived it, and every message it
        sent, the last ones included, was valid DAP."""
        assert not self.violations, "\n".join(self.violations)
        assert self.disconnect is not None and self.disconnect.get("success"), self
        assert self.exited_by_itself, f"the adapter kept running after disconnect: {self}"
        assert self.returncode == 0, self
        assert not self.dlv_survivors, f"dlv outlived the adapter: {self}"


class Adapters:
    """Starts adapters and ends them like an editor: `disconnect`, wait, then close stdin."""

    def __init__(self) -> None:
        self._open: list[DapClient] = []

    def start(self, **env: str) -> DapClient:
        client = DapClient(env=env or None)
        self._open.append(client)
        return client

    def finish(self, client: DapClient, *, exit_timeout: float = 10.0) -> AdapterExit:
        seen = frozenset(dlv_descendants(client.process.pid))
        response = None
        if client.process.poll() is None:
            with contextlib.suppress(TimeoutError, EOFError, OSError):
                response = client.request("disconnect", {"terminateDebuggee": True}, timeout=30)
        exited = True
        try:
            client.process.wait(exit_timeout)
        except subprocess.TimeoutExpired:
            exited = False
        try:
            returncode: int | None = client.close()
        except AssertionError:
            returncode = None  # it had to be killed
        self._open.remove(client)
        deadline = time.monotonic() + 5
        survivors = {pid for pid in seen if pid_alive(pid)}
        while survivors and time.monotonic() < deadline:
            time.sleep(0.05)
            survivors = {pid for pid in survivors if pid_alive(pid)}
        return AdapterExit(
            response,
            exited,
            returncode,
            seen,
            frozenset(survivors),
            tuple(client.stderr_lines[-30:]),
            tuple(client.violations),
        )

    def close_all(self) -> None:
        """Teardown: whatever a failing test left running is ended, Delve included."""
        for client in list(self._open):
            children = dlv_descendants(client.process.pid)
            with contextlib.suppress(Exception):
                client.close(timeout=5)
            if client in self._open:
                self._open.remove(client)
            for pid in children:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def adapters(dlv_path: Path) -> Iterator[Adapters]:
    """The adapter finds the pinned Delve by itself; `dlv_path` makes a missing one skip (fail in CI)."""
    started = Adapters()
    yield started
    started.close_all()
