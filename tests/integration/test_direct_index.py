"""The direct goroutine index against the program's own traceback and against Delve, on every corpus core.

Every corpus program is built with each toolchain the suite uses (`corpus_case`), plus `many_goroutines`
with 10,000 goroutines, and `wait_objects` with its default and with other counts.

Ground truth is the runtime's own stderr traceback (GOTRACEBACK=crash prints every goroutine, system ones
included, with every frame): ids, states, frames (function as `printFuncName` prints it, file, line),
`created by` lines, `m=`/`gp=`, "locked to thread" and, on Go 1.26+, labels.

Against Delve (the project's pinned Delve, `ListGoroutines` + `Stacktrace` for every goroutine) the
index must agree on ids, status, wait reason, labels, creator, thread, start function and every frame,
with these documented differences, each checked as narrowly as possible:

* A parked goroutine's topmost frame: the runtime symbolises the saved PC (a return address) at PC-1,
  inside the CALL, so `runtime.gopark` shows the line of the `mcall`; Delve shows the line of the saved
  PC itself, usually one line later. The index follows the runtime; the test requires Delve's line to be
  the line of the raw PC, exactly.
* A goroutine with an M (in a system call, in cgo): the runtime (and the index) start from the PC/SP
  saved at the system call (`syscallpc`/`syscallsp`); Delve starts from the thread's registers, so its
  stack has more innermost frames (the syscall wrappers, signal frames, C code). The index's frames
  after its first must be Delve's outermost frames, and its first function must be among Delve's.
* Delve lists Go 1.26's `_Gdeadextra` goroutines (a cgo extra M's goroutine), which the runtime's
  traceback skips, as the index does.
* Start function of `go f(x)`: the goroutine starts in a compiler wrapper (`main.main.gowrap1`) that
  calls `f`. The index names the frame the wrapper called in the goroutine's own stack (inlined or
  not); Delve disassembles the wrapper and takes its first call to a non-runtime function, which names
  another function when `f` was inlined into the wrapper, and keeps the wrapper when `f` is a runtime
  function. For such goroutines the index is checked against the traceback's frames instead; Delve must
  agree wherever `f` is a real (not inlined), non-runtime call.
* Goroutines running on a thread when the process died have no saved context; the index leaves their
  stacks to Delve (`stack_from_delve`), so only their other fields are compared.
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import resource
import shutil
import signal
import struct
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from gocore_dap.backends.delve.api import DelveApi, Goroutine
from gocore_dap.backends.delve.process import DelveProcess
from gocore_dap.backends.direct import DirectReaderUnsupported, GoroutineIndex, open_index
from gocore_dap.backends.direct.pclntab import traceback_name
from gocore_dap.corpus import CorpusError, CrashArtifact, build
from gocore_dap.goviews.frames import is_runtime_internal
from gocore_dap.goviews.traceback_text import ParsedTraceback, TracebackGoroutine, parse_traceback
from tests.conftest import require_tool
from tests.support.corpus_fixtures import (
    OLDEST_GO,
    TOOLCHAINS,
    CorpusCache,
    CorpusCase,
    CorpusUnavailable,
    go_version_of,
)
from tests.support.frozen_world import ran_after_the_print

pytestmark = pytest.mark.integration

DELVE_DEPTH = 200
MANY = 10_000


# --- cores that are not plain corpus cases ----------------------------------------------------------------


def _build(name: str, toolchain: str | None, params: dict[str, str] | None = None) -> CrashArtifact:
    try:
        CorpusCache().check_toolchain(toolchain)
    except CorpusUnavailable as exc:
        require_tool(False, str(exc))
    try:
        return build(name, toolchain=toolchain, params=params)
    except CorpusError as exc:
        pytest.fail(f"building {name} with {toolchain or 'local Go'} failed: {exc}")


@pytest.fixture(scope="module", params=TOOLCHAINS, ids=lambda t: f"many{MANY}-{go_version_of(t) or 'local'}")
def many(request: pytest.FixtureRequest) -> CrashArtifact:
    return _build("many_goroutines", request.param, {"goroutines": str(MANY)})


@pytest.fixture(scope="module")
def opened() -> Iterator[dict[Path, GoroutineIndex]]:
    """Indexes opened once per module, by core path."""
    cache: dict[Path, GoroutineIndex] = {}
    yield cache
    for index in cache.values():
        index.close()


def _index(opened: dict[Path, GoroutineIndex], artifact: CrashArtifact) -> GoroutineIndex:
    if artifact.core not in opened:
        opened[artifact.core] = open_index(artifact.binary, artifact.core)
    return opened[artifact.core]


# --- against the traceback --------------------------------------------------------------------------------


def _functions(index: GoroutineIndex, row: int) -> list[str]:
    return [f.function for f in index.stack(row) or ()]


def _frames(index: GoroutineIndex, row: int) -> list[tuple[str, str, int]]:
    frames = index.stack(row)
    assert frames is not None
    return [(traceback_name(f.function), f.file, f.line) for f in frames]


def _printed_frames(goroutine: TracebackGoroutine) -> list[tuple[str, str, int]]:
    return [(f.function, f.file, f.line) for f in goroutine.frames]


def _elide_like_the_runtime(
    index: GoroutineIndex, row: int, goroutine: TracebackGoroutine
) -> tuple[list[tuple[str, str, int]], list[str]]:
    """Our stack cut the way the runtime cut it: its innermost and outermost frames, with the count of
    the frames between ("...N frames elided...") checked against ours."""
    frames = _frames(index, row)
    stack = index.stack_table[int(index.stack_ids[row])]
    total = len(frames) + stack.elided
    if not goroutine.elisions:
        return frames, [] if not stack.elided else [f"goroutine {goroutine.id}: {stack.elided} frames elided"]
    at = goroutine.elisions[0].index
    outer = len(goroutine.frames) - at
    count = total - at - outer
    problems = (
        []
        if goroutine.elisions[0].count == count
        else [f"goroutine {goroutine.id}: {count} frames between, printed {goroutine.elisions[0].count}"]
    )
    return frames[:at] + frames[len(frames) - outer :], problems


def check_against_traceback(index: GoroutineIndex, parsed: ParsedTraceback) -> list[str]:
    problems: list[str] = []
    printed = parsed.goroutines_by_id()
    ours = {int(g): row for row, g in enumerate(index.goids.tolist())}
    if set(ours) != set(printed):
        problems.append(
            f"goroutine ids differ: only in the index {sorted(set(ours) - set(printed))[:10]}, "
            f"only in the traceback {sorted(set(printed) - set(ours))[:10]}"
        )
    for gid, goroutine in printed.items():
        row = ours.get(gid)
        if row is None:
            continue
        where = f"goroutine {gid}"
        if ran_after_the_print(goroutine, index.state_text(row)):
            continue  # the runtime's own, not frozen by the crash: its printed state and stack are gone
        if index.state_text(row) != goroutine.state:
            problems.append(f"{where}: state {index.state_text(row)!r}, printed {goroutine.state!r}")
        if bool(index.locked_to_thread[row]) != goroutine.locked_to_thread:
            problems.append(f"{where}: locked to thread {bool(index.locked_to_thread[row])}")
        if goroutine.gp is not None and int(index.g_addresses[row]) != goroutine.gp:
            problems.append(f"{where}: g at {int(index.g_addresses[row]):#x}, printed gp={goroutine.gp:#x}")
        if goroutine.gp is not None:  # crash mode prints m= for every goroutine
            m_id = int(index.m_ids[row])
            if (None if m_id < 0 else m_id) != goroutine.m:
                problems.append(f"{where}: m {m_id}, printed m={goroutine.m}")
        if goroutine.labels and dict(index.labels(row)) != dict(goroutine.labels):
            problems.append(f"{where}: labels {dict(index.labels(row))}, printed {dict(goroutine.labels)}")
        creator = index.creator(row)
        if goroutine.created_by is not None:
            if creator is None:
                problems.append(f"{where}: no creator, printed {goroutine.created_by.function}")
            else:
                loc = creator.location
                expected = (goroutine.created_by.function, goroutine.created_by.file, goroutine.created_by.line)
                if (traceback_name(loc.function), loc.file, loc.line) != expected:
                    problems.append(f"{where}: created by {loc.function} {loc.file}:{loc.line}, printed {expected}")
                if goroutine.creator_goroutine is not None and creator.parent_goid != goroutine.creator_goroutine:
                    problems.append(f"{where}: parent {creator.parent_goid}, printed {goroutine.creator_goroutine}")
        if bool(index.stack_from_delve[row]):
            if index.state_text(row) != "running" or int(index.m_ids[row]) < 0:
                problems.append(f"{where}: stack left to Delve but the goroutine is not running on an M")
            continue
        if goroutine.stack_unavailable and not goroutine.frames:
            problems.append(f"{where}: the runtime could not print this stack, the index has one")
            continue
        frames, elision_problems = _elide_like_the_runtime(index, row, goroutine)
        problems.extend(elision_problems)
        if frames != _printed_frames(goroutine):
            problems.append(f"{where}: frames differ: {_first_difference(frames, _printed_frames(goroutine))}")
        if index.stack_error(row):
            problems.append(f"{where}: stack walk ended early: {index.stack_error(row)}")
        problems.extend(_check_start_function(index, row, goroutine))
    return problems


def _check_start_function(index: GoroutineIndex, row: int, goroutine: TracebackGoroutine) -> list[str]:
    """The start function is `startpc`'s function, or the frame just inside a `go` statement's wrapper."""
    start = index.start_function(row)
    raw = index.location(int(index.start_pcs[row]))
    if start is None or raw is None:
        return [] if start is None and raw is None else [f"goroutine {goroutine.id}: start {start} for {raw}"]
    names = [f.function for f in goroutine.frames]
    if start.function == raw.function:
        return []
    # A wrapper: the traceback shows it as the outermost frame before goexit, calling the start function.
    wrapper = traceback_name(raw.function)
    if wrapper in names:
        at = len(names) - 1 - names[::-1].index(wrapper)
        if at > 0 and names[at - 1] == traceback_name(start.function):
            return []
    return [f"goroutine {goroutine.id}: start function {start.function}, starts at {raw.function}, frames {names}"]


def test_index_matches_the_traceback(corpus_case: CorpusCase, opened: dict[Path, GoroutineIndex]) -> None:
    index = _index(opened, corpus_case.artifact)
    assert index.go_version == corpus_case.go_version
    assert len(index) > 0
    problems = check_against_traceback(index, corpus_case.parsed)
    assert not problems, "\n".join(problems[:20])


def test_many_goroutines_match_the_traceback(many: CrashArtifact, opened: dict[Path, GoroutineIndex]) -> None:
    index = _index(opened, many)
    assert len(index) >= MANY
    parsed = parse_traceback(many.stderr_text())
    problems = check_against_traceback(index, parsed)
    assert not problems, "\n".join(problems[:20])
    # Exact grouping: the stack table holds each distinct stack once.
    distinct = {tuple(_frames(index, row)) for row in range(len(index)) if not index.stack_from_delve[row]}
    used = {int(s) for s in index.stack_ids.tolist() if s >= 0}
    assert len(distinct) == len(used)


# --- against Delve ----------------------------------------------------------------------------------------


async def _delve_view(
    dlv: Path, binary: Path, core: Path, gids: Sequence[int]
) -> tuple[list[Goroutine], dict[int, Any]]:
    process = await DelveProcess.start(dlv, binary, core)
    try:
        api = DelveApi(process)
        goroutines = await api.all_goroutines(timeout=600)
        stacks = {gid: await api.stacktrace(gid, DELVE_DEPTH) for gid in gids}
    finally:
        await process.close()
    return goroutines, stacks


def check_against_delve(index: GoroutineIndex, goroutines: Sequence[Goroutine], stacks: dict[int, Any]) -> list[str]:
    problems: list[str] = []
    rows = {int(g): row for row, g in enumerate(index.goids.tolist())}
    dead = {index.layouts.consts["_Gdead"], index.layouts.consts.get("_Gdeadextra", -1)}
    for g in goroutines:
        if g.id not in rows and (g.status & ~0x1000) not in dead:
            problems.append(f"Delve lists goroutine {g.id} (status {g.status}), the index does not")
    by_id = {g.id: g for g in goroutines}
    for gid, row in rows.items():
        g = by_id.get(gid)
        where = f"goroutine {gid}"
        if g is None:
            problems.append(f"{where}: not listed by Delve")
            continue
        status = int(index.statuses[row])
        if g.status & ~0x1000 != status:
            problems.append(f"{where}: status {status}, Delve {g.status}")
        if status == index.layouts.consts["_Gwaiting"] and g.wait_reason != int(index.wait_reasons[row]):
            problems.append(f"{where}: wait reason {int(index.wait_reasons[row])}, Delve {g.wait_reason}")
        if dict(g.labels) != dict(index.labels(row)):
            problems.append(f"{where}: labels {dict(index.labels(row))}, Delve {dict(g.labels)}")
        if g.thread_id and int(index.lwps[row]) != g.thread_id:
            problems.append(f"{where}: thread {int(index.lwps[row])}, Delve {g.thread_id}")
        creator = index.creator(row)
        if g.go_statement_loc is not None and g.go_statement_loc.pc:
            theirs = (g.go_statement_loc.function_name, g.go_statement_loc.file, g.go_statement_loc.line)
            ours = (
                None if creator is None else (creator.location.function, creator.location.file, creator.location.line)
            )
            if ours != theirs:
                problems.append(f"{where}: creator {ours}, Delve {theirs}")
        problems.extend(_compare_start(index, row, g))
        if bool(index.stack_from_delve[row]):
            continue
        problems.extend(_compare_stack(index, row, g, stacks[gid]))
    return problems


def _compare_start(index: GoroutineIndex, row: int, g: Goroutine) -> list[str]:
    start = index.start_function(row)
    raw = index.location(int(index.start_pcs[row]))
    theirs = g.start_loc.function_name if g.start_loc is not None else ""
    if start is None or raw is None or not theirs:
        return []
    if start.function == raw.function:
        if raw.function != theirs and not raw.wrapper:
            return [f"goroutine {g.id}: start {start.function}, Delve {theirs}"]
        # A wrapper the index could not see through (the goroutine has not called anything yet, or
        # its stack is Delve's): Delve disassembles the wrapper instead.
        return []
    # The index named the wrapped call from the stack. Delve agrees unless the call is indirect (it
    # keeps the wrapper), inlined or a runtime function (it names another function).
    if theirs in (start.function, raw.function) or not start.entry or is_runtime_internal(start.function):
        return []
    return [f"goroutine {g.id}: start {start.function} (wrapper {raw.function}), Delve {theirs}"]


def _compare_stack(index: GoroutineIndex, row: int, g: Goroutine, delve_frames: Sequence[Any]) -> list[str]:
    frames = index.stack(row) or []
    ours = [(f.function, f.file, f.line) for f in frames][:DELVE_DEPTH]
    # Delve answers depth+1 frames.
    theirs = [(f.location.function_name, f.location.file, f.location.line) for f in delve_frames][:DELVE_DEPTH]
    if ours == theirs:
        return []
    where = f"goroutine {g.id}"
    if int(index.m_ids[row]) >= 0 and g.thread_id:
        # Delve unwinds a goroutine with a thread from the thread's registers.
        tail_ok = len(theirs) >= len(ours) and (len(ours) <= 1 or theirs[len(theirs) - len(ours) + 1 :] == ours[1:])
        if tail_ok and ours and ours[0][0] in [t[0] for t in theirs]:
            return []
        return [f"{where} (on thread {g.thread_id}): frames differ: {_first_difference(ours, theirs)}"]
    if ours and theirs and ours[1:] == theirs[1:] and ours[0][:2] == theirs[0][:2]:
        raw = index.location(frames[0].pc)
        if raw is not None and theirs[0][2] == raw.line:
            return []  # Delve symbolises the saved PC itself, the runtime PC-1
    return [f"{where}: frames differ: {_first_difference(ours, theirs)}"]


def _first_difference(ours: Sequence[Any], theirs: Sequence[Any]) -> str:
    at = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), min(len(ours), len(theirs)))
    return (
        f"{len(ours)} vs {len(theirs)} frames, from #{at}:\n  index {ours[at : at + 3]}\n  other {theirs[at : at + 3]}"
    )


def _delve_check(index: GoroutineIndex, artifact: CrashArtifact, dlv: Path) -> None:
    gids = [int(g) for row, g in enumerate(index.goids.tolist()) if not index.stack_from_delve[row]]
    goroutines, stacks = asyncio.run(_delve_view(dlv, artifact.binary, artifact.core, gids))
    problems = check_against_delve(index, goroutines, stacks)
    assert not problems, "\n".join(problems[:20])


def test_index_matches_delve(corpus_case: CorpusCase, dlv_path: Path, opened: dict[Path, GoroutineIndex]) -> None:
    _delve_check(_index(opened, corpus_case.artifact), corpus_case.artifact, dlv_path)


def test_many_goroutines_match_delve(many: CrashArtifact, dlv_path: Path, opened: dict[Path, GoroutineIndex]) -> None:
    _delve_check(_index(opened, many), many, dlv_path)


# --- wait objects -----------------------------------------------------------------------------------------

WAIT_PARAMS = [
    None,  # the manifest's defaults
    {"receivers": "11", "senders": "1", "mutex_waiters": "9", "wg_waiters": "2", "rw_readers": "3",
     "rw_writers": "3", "cond_waiters": "8"},
]  # fmt: skip

# Who blocks where: the worker method (as the traceback names it) -> (object name in the program's
# stdout, wait-object kind, operation, the param that counts them).
WORKERS = {
    "main.(*dispatcher).receiveJob": ("jobs", "chan", "receive", "receivers"),
    "main.(*dispatcher).sendResult": ("results", "chan", "send", "senders"),
    "main.(*dispatcher).lockState": ("mu", "sync.Mutex", "lock", "mutex_waiters"),
    "main.(*dispatcher).awaitShutdown": ("wg", "sync.WaitGroup", "wait", "wg_waiters"),
    "main.(*dispatcher).writeConfig": ("rw", "sync.RWMutex", "lock", "rw_writers"),
    "main.(*dispatcher).readConfig": ("rw", "sync.RWMutex", "rlock", "rw_readers"),
    "main.(*dispatcher).awaitSignal": ("cond", "sync.Cond", "wait", "cond_waiters"),
}


@pytest.mark.parametrize("toolchain", TOOLCHAINS, ids=lambda t: go_version_of(t) or "local")
@pytest.mark.parametrize("params", WAIT_PARAMS, ids=["defaults", "other-counts"])
def test_wait_objects(toolchain: str | None, params: dict[str, str] | None) -> None:
    artifact = _build("wait_objects", toolchain, params)
    counts = {k: int(v) for k, v in artifact.params.items()}
    addresses = {
        m[1]: int(m[2], 16) for m in re.finditer(r"^object (\w+) (0x[0-9a-f]+)$", artifact.stdout.read_text(), re.M)
    }
    assert set(addresses) == {"jobs", "results", "mu", "wg", "rw", "cond"}
    parsed = parse_traceback(artifact.stderr_text())
    with open_index(artifact.binary, artifact.core) as index:
        reader = index.wait_object_reader()
        assert reader.errors == []
        seen: dict[str, int] = {}
        for gid, goroutine in parsed.goroutines_by_id().items():
            worker = next((f.function for f in goroutine.frames if f.function in WORKERS), None)
            row = index.row(gid)
            edges = reader.edges_of(row)
            if worker is None:
                assert all(reader.objects[e.object_id].kind == "semaphore" for e in edges) or not edges, gid
                continue
            name, kind, operation, _ = WORKERS[worker]
            assert len(edges) == 1, (gid, worker, edges)
            obj = reader.objects[edges[0].object_id]
            assert (obj.kind, obj.address, edges[0].operation) == (kind, addresses[name], operation), (gid, worker)
            seen[worker] = seen.get(worker, 0) + 1
        assert seen == {worker: counts[spec[3]] for worker, spec in WORKERS.items()}
        # The groups a client sees: one per object, with every waiter.
        ids = reader.object_ids()
        by_object = {reader.objects[o].address: int((ids == o).sum()) for o in set(ids.tolist()) if o >= 0}
        assert by_object[addresses["rw"]] == counts["rw_readers"] + counts["rw_writers"]
        assert by_object[addresses["jobs"]] == counts["receivers"]
        assert by_object[addresses["cond"]] == counts["cond_waiters"]
        results = next(o for o in reader.objects if o.address == addresses["results"])
        assert (results.type_name, results.length, results.capacity, results.closed) == ("chan string", 4, 4, False)
        jobs = next(o for o in reader.objects if o.address == addresses["jobs"])
        assert (jobs.type_name, jobs.length, jobs.capacity) == ("chan int", 0, 0)


# --- a position-independent executable ---------------------------------------------------------------------


def _unlimited_core() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def _crash_program(toolchain: str | None, work: Path, build_args: Sequence[str] = ()) -> tuple[Path, Path, str, str]:
    """Build the Go program in ``work`` (``go build BUILD_ARGS``), run it until it dumps core:
    (binary, core, stdout, stderr). For programs the corpus builder cannot make (other build modes,
    programs only these tests need)."""
    from gocore_dap.corpus.builder import core_glob, read_core_pattern

    go = shutil.which("go")
    require_tool(go is not None, "the go command")
    assert go is not None
    pattern = read_core_pattern()
    require_tool(not pattern.startswith("|"), f"a core_pattern that writes files (it is {pattern!r})")
    env = {**os.environ, "GOTOOLCHAIN": toolchain or "local", "GOFLAGS": "-buildvcs=false", "GOWORK": "off",
           "CGO_ENABLED": "0"}  # fmt: skip
    built = subprocess.run([go, "build", *build_args, "-o", "prog", "."], cwd=work, env=env,
                           capture_output=True, text=True, check=False)  # fmt: skip
    if built.returncode != 0 and toolchain is not None and "toolchain" in built.stderr:
        require_tool(False, f"the {toolchain} toolchain ({built.stderr.strip()})")
    assert built.returncode == 0, built.stderr
    run_env = {k: v for k, v in os.environ.items() if k not in ("GODEBUG", "GOMAXPROCS", "GOGC")}
    run_env["GOTRACEBACK"] = "crash"
    started = time.time()
    with (work / "stdout.txt").open("w") as out, (work / "stderr.txt").open("w") as err:
        proc = subprocess.Popen([str(work / "prog")], cwd=work, env=run_env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, preexec_fn=_unlimited_core)  # fmt: skip
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"the program in {work} did not crash within 120 s")
    assert proc.returncode == -signal.SIGABRT, proc.returncode
    cores = [Path(p) for g in core_glob(pattern, cwd=work, pid=proc.pid, comm="prog") for p in sorted(glob.glob(g))]
    cores = [c for c in cores if c.stat().st_mtime >= started - 1]
    require_tool(bool(cores), f"a core file (core_pattern {pattern!r})")
    return work / "prog", cores[0], (work / "stdout.txt").read_text(), (work / "stderr.txt").read_text()


def _crash_pie(toolchain: str | None, work: Path) -> tuple[Path, Path, str, str]:
    """wait_objects built with -buildmode=pie and crashed: (binary, core, stdout, stderr)."""
    from gocore_dap.corpus import programs_dir

    for source in (programs_dir() / "wait_objects").iterdir():
        shutil.copy(source, work / source.name)
    return _crash_program(toolchain, work, ["-buildmode=pie"])


@pytest.mark.parametrize("toolchain", TOOLCHAINS, ids=lambda t: go_version_of(t) or "local")
def test_position_independent_executable(toolchain: str | None, tmp_path: Path) -> None:
    binary, core, stdout, stderr = _crash_pie(toolchain, tmp_path)
    with open_index(binary, core) as index:
        assert index.load_bias != 0
        problems = check_against_traceback(index, parse_traceback(stderr))
        assert not problems, "\n".join(problems[:20])
        reader = index.wait_object_reader()
        found = {(o.kind, o.address) for o in reader.objects}
        for name, address in re.findall(r"^object (\w+) (0x[0-9a-f]+)$", stdout, re.M):
            assert any(a == int(address, 16) for _, a in found), name


# --- a very deep stack --------------------------------------------------------------------------------------

DEEP = """package main

import "time"

// descend recurses n calls deep, then blocks on done.
//
//go:noinline
func descend(n int, done chan struct{}) int {
	if n == 0 {
		<-done
		return 0
	}
	return descend(n-1, done) + 1
}

func main() {
	done := make(chan struct{})
	go descend(1500, done)
	go descend(20, done)
	time.Sleep(200 * time.Millisecond)
	panic("deep")
}
"""


@pytest.mark.parametrize("toolchain", TOOLCHAINS, ids=lambda t: go_version_of(t) or "local")
def test_very_deep_stack(toolchain: str | None, tmp_path: Path, dlv_path: Path) -> None:
    """A goroutine 1,500 calls deep: the index keeps the innermost and outermost frames and counts the
    ones between, which must be what the runtime printed as "...N frames elided..."."""
    (tmp_path / "go.mod").write_text("module deep\n\ngo 1.25\n")
    (tmp_path / "main.go").write_text(DEEP)
    binary, core, _, stderr = _crash_program(toolchain, tmp_path)
    parsed = parse_traceback(stderr)
    assert any(g.elisions for g in parsed.goroutines), "the runtime elided no frames"
    with open_index(binary, core) as index:
        elided = [s for s in index.stack_table if s.elided]
        assert len(elided) == 1 and elided[0].elided > 300, elided
        problems = check_against_traceback(index, parsed)
        assert not problems, "\n".join(problems[:20])
        gids = [int(g) for row, g in enumerate(index.goids.tolist()) if not index.stack_from_delve[row]]
        goroutines, stacks = asyncio.run(_delve_view(dlv_path, binary, core, gids))
        problems = check_against_delve(index, goroutines, stacks)
        assert not problems, "\n".join(problems[:20])


# --- asynchronously preempted goroutines -------------------------------------------------------------------

SPINNERS = """package main

import (
	"runtime"
	"time"
)

var sink [8]uint64

// spin never calls anything: only asynchronous preemption takes its P away.
//
//go:noinline
func spin(i int) {
	for {
		sink[i%8]++
	}
}

func main() {
	runtime.GOMAXPROCS(2)
	for i := 0; i < 6; i++ {
		go spin(i)
	}
	time.Sleep(300 * time.Millisecond)
	panic("spinners")
}
"""


@pytest.mark.parametrize("toolchain", TOOLCHAINS, ids=lambda t: go_version_of(t) or "local")
def test_asynchronously_preempted_goroutines(toolchain: str | None, tmp_path: Path, dlv_path: Path) -> None:
    """Goroutines stopped by a signal (asyncPreempt) between two instructions of a loop: the frame
    under the injected call is at the interrupted PC itself, not a return address."""
    (tmp_path / "go.mod").write_text("module spin\n\ngo 1.25\n")
    (tmp_path / "main.go").write_text(SPINNERS)
    binary, core, _, stderr = _crash_program(toolchain, tmp_path)
    with open_index(binary, core) as index:
        preempted = [
            row
            for row in range(len(index))
            if any(f.function == "runtime.asyncPreempt" for f in index.stack(row) or ())
        ]
        assert preempted, "no goroutine was preempted asynchronously (the program should force it)"
        problems = check_against_traceback(index, parse_traceback(stderr))
        assert not problems, "\n".join(problems[:20])
        gids = [int(g) for row, g in enumerate(index.goids.tolist()) if not index.stack_from_delve[row]]
        goroutines, stacks = asyncio.run(_delve_view(dlv_path, binary, core, gids))
        problems = check_against_delve(index, goroutines, stacks)
        assert not problems, "\n".join(problems[:20])


# --- what the direct reader refuses -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def classic() -> CrashArtifact:
    return _build("classic", None)


def test_another_architecture_is_refused(classic: CrashArtifact, tmp_path: Path) -> None:
    patched = tmp_path / "binary"
    data = bytearray(classic.binary.read_bytes())
    data[18:20] = struct.pack("<H", 183)  # EM_AARCH64
    patched.write_bytes(bytes(data))
    with pytest.raises(DirectReaderUnsupported, match="arm64"):
        open_index(patched, classic.core)


def test_a_binary_without_dwarf_is_refused(
    classic: CrashArtifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no cached layouts of the original
    data = bytearray(classic.binary.read_bytes())
    for name in (b".debug_info", b".zdebug_info"):
        at = data.find(b"\0" + name + b"\0")
        if at >= 0:
            data[at + 1 : at + 2] = b"x"  # the section is still there, under another name
    stripped = tmp_path / "binary"
    stripped.write_bytes(bytes(data))
    with pytest.raises(DirectReaderUnsupported, match="no DWARF"):
        open_index(stripped, classic.core)


def test_swapped_arguments_are_refused(classic: CrashArtifact) -> None:
    with pytest.raises(DirectReaderUnsupported):
        open_index(classic.core, classic.binary)
    with pytest.raises(DirectReaderUnsupported, match="not a core dump"):
        open_index(classic.binary, classic.binary)


def test_another_programs_core_is_refused(classic: CrashArtifact) -> None:
    for other in (_build("nil_deref", None), _build("classic", OLDEST_GO)):
        with pytest.raises(DirectReaderUnsupported, match="not dumped by"):
            open_index(classic.binary, other.core)
