"""Cores of programs built with every Go minor in use, opened with the Delve release the adapter picks itself.

A subset of the corpus (`PROGRAMS`) is built with the latest patch of each Go minor that the module proxy
serves (`GO_RELEASES`, fetched by the go command as toolchain modules), from the oldest Go a Delve release
reads (`releases.oldest_supported_go()`) to the newest. Each core goes through:

- the real adapter over stdio, without dlvPath: the same checks as tests/integration/test_bridge_corpus.py
  against the program's own stderr traceback (the stop, the exception, goroutine ids, states, first user
  frames, stack paging, a clean end, valid DAP), those very test functions run here on `observation`;
- `gocore-dap report --format json`: the crash line, the crashing goroutine and its first user frame, the
  goroutine count and every goroutine's state.

The Delve releases are installed beforehand with `gocore-dap install-delve --for GO...` (the command people
run for offline use); `test_first_use_installs_the_release` checks the install the adapter does by itself.
Cold (no toolchains, no Delve builds, no cores) this module needs about ten minutes on two cores; warm
about two (see the lead's report for numbers).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from gocore_dap.backends.delve.locate import DELVE_DIR_ENV_VAR
from gocore_dap.backends.delve.releases import RELEASES, oldest_supported_go, parse_go_version, pick_release
from gocore_dap.goviews.frames import first_user_frame_index
from gocore_dap.goviews.traceback_text import ParsedTraceback, TracebackGoroutine
from tests.conftest import REPO, require_tool
from tests.integration import test_bridge_corpus as bridge
from tests.integration.conftest import Adapters
from tests.integration.test_bridge_corpus import (
    Observation,
    as_message,
    converse,
    expected_message,
    printed_function,
    test_disconnect_ends_everything,
    test_every_message_is_valid_dap,
    test_goroutine_states,
    test_stack_paging,
    test_stopped_event,
    test_threads,
)
from tests.support.corpus_fixtures import CorpusCache, CorpusCase, CorpusUnavailable

# The first test to run prepares everything (see `prepared`): from empty caches that is ten toolchain downloads,
# six Delve builds and 40 cores, up to ~11 min on two busy cores; the tests themselves take seconds each.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

# The latest patch of each minor that the Go module proxy serves as a toolchain module.
GO_RELEASES = (
    "go1.18.10",
    "go1.19.13",
    "go1.20.14",
    "go1.21.13",
    "go1.22.12",
    "go1.23.12",
    "go1.24.13",
    "go1.25.14",
    "go1.26.11",
    "go1.27.4",
)
PROGRAMS = ("classic", "deadlock", "concurrent_map_writes", "nested_panic")
CASES = [(name, toolchain) for toolchain in GO_RELEASES for name in PROGRAMS]
GOCORE_DAP = (
    [str(REPO / ".venv" / "bin" / "gocore-dap")]
    if (REPO / ".venv" / "bin" / "gocore-dap").exists()
    else [
        sys.executable,
        "-m",
        "gocore_dap",
    ]
)

# The bridge checks, run here on this module's `observation` (pytest collects imported test functions);
# three more are wrapped below.
__all__ = [
    "test_disconnect_ends_everything",
    "test_every_message_is_valid_dap",
    "test_goroutine_states",
    "test_stack_paging",
    "test_stopped_event",
    "test_threads",
]

ASYNC_PREEMPTED_TOP = (
    "a goroutine stopped by asynchronous preemption (top frame runtime.asyncPreempt2): the runtime prints the "
    "line of its mcall, Delve the line its saved pc resolves to, 1-2 lines later"
)


def test_every_supported_minor_is_tested() -> None:
    minors = [parse_go_version(t) for t in GO_RELEASES]
    oldest, newest = oldest_supported_go(), RELEASES[0].max_go
    assert minors == [(1, minor) for minor in range(oldest[1], newest[1] + 1)]


# --- building and installing, once per run -------------------------------------------------------------------


@attrs.frozen
class Prepared:
    cache: CorpusCache
    seconds: dict[str, float]


@pytest.fixture(scope="session")
def prepared() -> Prepared:
    """Every case built (or found in .cache/corpus) and every Delve release they need installed."""
    require_tool(shutil.which("go") is not None, "the go command")
    seconds: dict[str, float] = {}
    started = time.monotonic()
    done = subprocess.run(
        [*GOCORE_DAP, "install-delve", *(f"--for={t}" for t in GO_RELEASES)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, f"install-delve failed:\n{done.stderr}"
    seconds["install-delve"] = time.monotonic() - started
    started = time.monotonic()
    cache = CorpusCache()
    cache.prebuild(CASES)
    seconds["corpus"] = time.monotonic() - started
    print(f"\ntest_go_versions: install-delve {seconds['install-delve']:.1f}s, corpus {seconds['corpus']:.1f}s")
    return Prepared(cache, seconds)


def get_case(prepared: Prepared, name: str, toolchain: str) -> CorpusCase:
    try:
        return prepared.cache.get(name, toolchain)
    except CorpusUnavailable as exc:
        require_tool(False, str(exc))
        raise


def simultaneous_crashers(parsed: ParsedTraceback) -> list[TracebackGoroutine]:
    """Goroutines that each printed the fatal error: with many writers, `concurrent map writes` can be caught
    by two goroutines at once, both print, and the core is dumped on either one's thread."""
    dying = ("runtime.fatal", "runtime.throw")
    return [
        g
        for g in parsed.goroutines
        if g.id != 0 and g.state == "running" and g.frames[:1] and g.frames[0].function in dying
    ]


def as_seen_by_the_core(case: CorpusCase, crasher: int | None) -> CorpusCase:
    """When stderr shows goroutines that crashed at the same moment (see `simultaneous_crashers`): the one the
    core was dumped on (the adapter's crasher) printed first, and the runtime's message once, as it would
    have been printed by that goroutine alone. Any other case unchanged."""
    parsed = case.parsed
    crashers = simultaneous_crashers(parsed)
    if len(crashers) < 2:
        return case
    lines = list(dict.fromkeys(parsed.message_lines))
    chosen = next((g for g in crashers if g.id == crasher), None)
    goroutines = parsed.goroutines if chosen is None else [chosen, *(g for g in parsed.goroutines if g is not chosen)]
    return attrs.evolve(case, parsed=attrs.evolve(parsed, goroutines=goroutines, message_lines=lines))


@pytest.fixture(scope="module", params=CASES, ids=[f"{name}-{toolchain}" for name, toolchain in CASES])
def case(request: pytest.FixtureRequest, prepared: Prepared) -> CorpusCase:
    name, toolchain = request.param
    return get_case(prepared, name, toolchain)


@pytest.fixture(scope="module")
def observation(adapters: Adapters, case: CorpusCase) -> Iterator[Observation]:
    seen = converse(adapters, case)
    seen.case = as_seen_by_the_core(case, seen.stop_thread)
    yield seen


def test_exception_info(observation: Observation) -> None:
    bridge.test_exception_info(observation)


def test_os_thread_stack(observation: Observation) -> None:
    """Also on a crash on a thread the runtime started (a deadlock found by sysmon or an idle M): its stack
    ends at runtime.mstart's call as the runtime prints it, not where Delve goes on past it."""
    bridge.test_os_thread_stack(observation)


def test_first_user_frames(observation: Observation) -> None:
    """The bridge check, leaving out goroutines the runtime printed without a stack ("goroutine running on
    other thread; stack unavailable": with 16 busy writers on 2 CPUs one can miss the runtime's stop signal),
    which have nothing to compare with, and comparing an asynchronously preempted goroutine from the frame
    below runtime.asyncPreempt2 (ASYNC_PREEMPTED_TOP); its first user frame is compared all the same."""
    case = observation.case
    printed: list[TracebackGoroutine] = []
    for g in case.parsed.goroutines:
        if g.frames and g.frames[0].function == "runtime.asyncPreempt2":
            g = attrs.evolve(g, frames=g.frames[1:])
        if g.frames or g.id == 0:
            printed.append(g)
    if printed != case.parsed.goroutines:
        parsed = attrs.evolve(case.parsed, goroutines=printed)
        observation = attrs.evolve(observation, case=attrs.evolve(case, parsed=parsed))
    bridge.test_first_user_frames(observation)


# --- the report ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(case: CorpusCase) -> dict[str, Any]:
    done = subprocess.run(
        [*GOCORE_DAP, "report", "--format", "json", str(case.artifact.binary), str(case.artifact.core)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "GOCORE_DAP_DLV"},
    )
    assert done.returncode == 0, f"gocore-dap report failed ({done.returncode}):\n{done.stderr}"
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_report(report: dict[str, Any], case: CorpusCase) -> None:
    case = as_seen_by_the_core(case, report["crashingStack"].get("goroutineId"))
    parsed = case.parsed
    crash = report["crash"]
    assert crash["goVersion"] == case.go_version
    assert crash["headline"] == parsed.message_lines[0]
    assert as_message(crash["report"]) == expected_message(parsed)
    assert report["warnings"] == []  # the picked Delve covers the core: nothing to warn about
    printed = parsed.goroutines_by_id()
    assert crash["goroutineCount"] == len(printed)
    # Every goroutine's state, by the report's groups (a group lists its members' ids and states).
    shown: Counter[str] = Counter()
    members: set[int] = set()
    for group in report["goroutines"]["groups"]:
        shown.update(group["states"])
        members.update(group["memberIds"])
    assert shown == Counter(g.state for g in printed.values())
    assert members == set(printed)
    # The crashing goroutine and the frame the runtime's traceback names as its first user frame.
    crashing = parsed.crashing_goroutine()
    stack = report["crashingStack"]
    if crashing is None:
        assert "goroutineId" not in stack and stack["frames"]
        return
    assert stack["goroutineId"] == crashing.id
    user = first_user_frame_index([f.function for f in crashing.frames])
    assert user is not None
    want = crashing.frames[user]
    shown_user = [f for f in stack["frames"] if not f["runtime"]]
    assert shown_user, stack["frames"]
    assert (shown_user[0]["function"], shown_user[0]["file"], shown_user[0]["line"]) == (
        printed_function(want),
        want.file,
        want.line,
    )


# --- which Delve, and installing it on first use ---------------------------------------------------------


def test_each_case_gets_the_release_the_table_picks(prepared: Prepared) -> None:
    """The releases install-delve put in place are the ones the adapter looks for (no dlvPath)."""
    from gocore_dap.backends.delve.locate import installed_dlv

    for toolchain in GO_RELEASES:
        release = pick_release(toolchain).release
        assert release.covers(parse_go_version(toolchain))
        assert installed_dlv(release.version) is not None, release


def test_first_use_installs_the_release(prepared: Prepared, adapters: Adapters, tmp_path: Path) -> None:
    """With an empty Delve folder the adapter builds the release itself (go install) and opens the core."""
    case = get_case(prepared, "classic", "go1.22.12")
    client = adapters.start(**{DELVE_DIR_ENV_VAR: str(tmp_path / "delve")})
    stopped = client.start_core(case.artifact.binary, case.artifact.core)
    adapters.finish(client)
    release = pick_release(case.go_version).release
    assert (tmp_path / "delve" / release.version / "dlv").is_file()
    assert stopped["body"]["threadId"] == case.parsed.goroutines[0].id


def test_explicit_dlv_that_does_not_cover_the_core_warns_instead_of_refusing(
    prepared: Prepared, adapters: Adapters
) -> None:
    """dlvPath wins over the table: the newest Delve on a Go 1.22 core (which it refuses by itself) opens it
    with its check off and says so; without dlvPath the same core opens with no warning."""
    from gocore_dap.backends.delve.locate import installed_dlv

    case = get_case(prepared, "classic", "go1.22.12")
    newest = installed_dlv(RELEASES[0].version)
    assert newest is not None

    def warnings(**launch: Any) -> tuple[list[str], dict[str, Any]]:
        client = adapters.start()
        stopped = client.start_core(case.artifact.binary, case.artifact.core, **launch)
        outputs = [
            m["body"]["output"]
            for m in client.timeline
            if m.get("event") == "output" and "warning" in m["body"].get("output", "")
        ]
        adapters.finish(client)
        return outputs, stopped

    explicit, stopped = warnings(dlvPath=str(newest))
    assert any("go1.22.12" in text and "1.25" in text and "dlvPath" in text for text in explicit), explicit
    assert stopped["body"]["threadId"] == case.parsed.goroutines[0].id
    picked, _ = warnings()
    assert picked == []
