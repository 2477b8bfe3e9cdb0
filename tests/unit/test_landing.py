"""goviews.landing and goviews.user_location on real stacks: where the editor opens and what labels say.

Stacks come from the corpus cores: the crashing thread's stack as Delve read it (tests/unit/data/
crash_facts/*.json) and every goroutine of the runtime's own tracebacks (tests/unit/data/tracebacks/*.txt).
The expected lines come from each program's manifest (`expect.landing`, `expect.user_locations`), which
were written from the program's source.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import attrs
import pytest

from gocore_dap.corpus import list_programs
from gocore_dap.goviews.code_scope import CodeScope, YourCode
from gocore_dap.goviews.goroutine_info import GoLocation
from gocore_dap.goviews.grouping import StackTable
from gocore_dap.goviews.landing import (
    GoroutineStack,
    asleep_landing,
    asleep_order,
    landing_frame_index,
    rank_asleep_goroutines,
)
from gocore_dap.goviews.presentation import is_system_goroutine
from gocore_dap.goviews.traceback_text import ParsedTraceback, parse_traceback
from gocore_dap.goviews.user_location import location_label, stack_label, user_location
from tests.support.expected_locations import expected_landing, expected_user_locations

DATA = Path(__file__).parent / "data"
SCOPE = CodeScope()  # no build info: package main is the main module, as for every corpus program
FACTS = sorted(p.name for p in (DATA / "crash_facts").glob("*.json"))


def frames_of(rows: list[tuple[str, str, int]]) -> list[GoLocation]:
    return [GoLocation(*row) for row in rows]


@functools.cache
def facts(name: str) -> dict[str, object]:
    document = json.loads((DATA / "crash_facts" / name).read_text(encoding="utf-8"))
    result: dict[str, object] = document["facts"]
    return result


def crash_stack(name: str) -> list[GoLocation]:
    frames = facts(name)["frames"]
    assert isinstance(frames, list)
    return [GoLocation(f["function"], f["file"], f["line"]) for f in frames]


def program_of(facts_file: str) -> str:
    return facts_file.split("-", 1)[1].removesuffix(".json")


@functools.cache
def traceback(name: str) -> ParsedTraceback:
    return parse_traceback((DATA / "tracebacks" / name).read_text(encoding="utf-8"))


def goroutine_stacks(name: str) -> list[GoroutineStack]:
    out = []
    for g in traceback(name).goroutines_by_id().values():
        frames = [GoLocation(f.function, f.file, f.line) for f in g.frames]
        # The start function is the outermost frame below runtime.goexit.
        start = next((f.function for f in reversed(frames) if f.function != "runtime.goexit"), "")
        out.append(GoroutineStack(g.id, g.state, frames, system=is_system_goroutine(start)))
    return out


# --- the crashing goroutine ------------------------------------------------------------------------------


CORPUS_CRASHES = [f for f in FACTS if program_of(f) in list_programs() and facts(f).get("goroutine_id")]


def test_the_recorded_crashes_cover_the_corpus() -> None:
    covered = {program_of(f) for f in CORPUS_CRASHES}
    assert {"classic", "nil_deref", "nested_panic", "recovered_repanic", "cgo_crash", "optimized_inlined"} <= covered


@pytest.mark.parametrize("facts_file", CORPUS_CRASHES)
def test_the_crash_lands_on_the_function_the_author_names(facts_file: str) -> None:
    frames = crash_stack(facts_file)
    index = landing_frame_index(frames, SCOPE)
    assert index is not None
    landed = frames[index]
    expected = expected_landing(program_of(facts_file))
    # The recordings can predate later edits of a program (nil_deref grew since), so the line is
    # checked on freshly built cores (tests/integration/test_your_code.py); function and file here.
    assert (landed.function, expected.is_file(landed.file)) == (expected.function, True), (
        f"landed on {landed.function} {landed.file}:{landed.line}, the author names {expected}"
    )
    # Everything above the landing is the runtime's crash path or library code, never the program's own.
    assert not any(SCOPE.is_yours(f.function, f.file) for f in frames[:index])


@pytest.mark.parametrize("facts_file", FACTS)
def test_every_recorded_crash_with_a_main_frame_lands_on_one(facts_file: str) -> None:
    frames = crash_stack(facts_file)
    index = landing_frame_index(frames, SCOPE)
    assert index is not None
    if any(f.function.startswith("main.") for f in frames):
        assert SCOPE.is_yours(frames[index].function, frames[index].file), frames[index]


def test_a_panic_raised_in_the_standard_library_lands_on_the_line_that_called_it() -> None:
    # The runtime's own traceback of the stdlib_panic corpus program (regexp.MustCompile panics).
    frames = frames_of([
        ("runtime.fatalpanic", "/usr/local/go/src/runtime/panic.go", 1330),
        ("runtime.gopanic", "/usr/local/go/src/runtime/panic.go", 879),
        ("regexp.MustCompile", "/usr/local/go/src/regexp/regexp.go", 313),
        ("main.compileRoutes", "/src/stdlib_panic/main.go", 20),
        ("main.main", "/src/stdlib_panic/main.go", 30),
        ("runtime.main", "/usr/local/go/src/runtime/proc.go", 290),
        ("runtime.goexit", "/usr/local/go/src/runtime/asm_amd64.s", 1771),
    ])  # fmt: skip
    assert landing_frame_index(frames, SCOPE) == 3
    # Only with the standard library counted as the user's does the landing move into it.
    assert landing_frame_index(frames, SCOPE.with_your_code(YourCode.NON_RUNTIME)) == 2


def test_cgo_crash_lands_on_the_faulting_c_line_not_on_generated_wrappers() -> None:
    frames = crash_stack("local-cgo_crash.json")
    index = landing_frame_index(frames, SCOPE)
    assert index is not None and frames[index].function == "checksum"
    kinds = [SCOPE.classify(f.function, f.file).value for f in frames]
    assert "cgoGenerated" in kinds and "unknown" in kinds  # _cgo_gotypes.go / cgo-gcc-prolog, the pc=0 frame


def test_a_stack_without_your_code_lands_on_library_code_then_below_the_crash_machinery() -> None:
    library = frames_of([
        ("runtime.gopark", "/usr/local/go/src/runtime/proc.go", 462),
        ("runtime.chanrecv", "/usr/local/go/src/runtime/chan.go", 664),
        ("net/http.(*persistConn).readLoop", "/usr/local/go/src/net/http/transport.go", 2395),
        ("runtime.goexit", "/usr/local/go/src/runtime/asm_amd64.s", 1771),
    ])  # fmt: skip
    assert landing_frame_index(library, SCOPE) == 2
    runtime_only = frames_of([
        ("runtime.raise", "/usr/local/go/src/runtime/sys_linux_amd64.s", 154),
        ("runtime.fatalthrow", "/usr/local/go/src/runtime/panic.go", 1250),
        ("runtime.checkdead", "/usr/local/go/src/runtime/proc.go", 6200),
        ("runtime.mstart", "/usr/local/go/src/runtime/proc.go", 1700),
    ])  # fmt: skip
    assert landing_frame_index(runtime_only, SCOPE) == 2
    assert landing_frame_index([], SCOPE) is None


# --- no goroutine crashed: deadlock, external signal ---------------------------------------------------


@pytest.mark.parametrize(("name", "program"), [("deadlock_go1.26.8.txt", "deadlock"),
                                               ("external_abrt_go1.26.8.txt", "external_abrt")])  # fmt: skip
def test_asleep_landing_is_the_main_goroutines_line(name: str, program: str) -> None:
    stacks = goroutine_stacks(name)
    landing = asleep_landing(stacks, SCOPE)
    assert landing is not None and landing.goroutine_id == 1
    frame = next(g for g in stacks if g.id == 1).frames[landing.frame_index]
    assert expected_landing(program).matches(frame.function, frame.file, frame.line)


def test_asleep_goroutines_are_ranked_main_first_then_blocked_then_waiting_on_the_world() -> None:
    ranked = rank_asleep_goroutines(goroutine_stacks("external_abrt_go1.26.8.txt"), SCOPE)
    states = [g.state for g in ranked]
    assert ranked[0].id == 1
    blocked = [s for s in states[1:] if s.startswith(("sync.", "select", "chan receive"))]
    outside = [s for s in states[1:] if s in ("IO wait", "sleep")]
    assert blocked and outside
    assert max(states.index(s) for s in blocked) < min(states.index(s) for s in outside)
    # The runtime's own goroutines are never candidates, and the full order keeps every goroutine.
    assert all(not g.system for g in ranked)
    stacks = goroutine_stacks("external_abrt_go1.26.8.txt")
    order = asleep_order(stacks, SCOPE)
    assert sorted(order) == sorted(g.id for g in stacks) and order[: len(ranked)] == [g.id for g in ranked]


def test_no_asleep_user_goroutine_means_no_landing() -> None:
    runtime_only = [g for g in goroutine_stacks("deadlock_go1.26.8.txt") if g.system]
    assert runtime_only and asleep_landing(runtime_only, SCOPE) is None


# --- user locations and labels -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "program"), [("deadlock_go1.26.8.txt", "deadlock"),
                                               ("external_abrt_go1.26.8.txt", "external_abrt"),
                                               ("pprof_labels_go1.26.8.txt", "pprof_labels")])  # fmt: skip
def test_user_locations_name_the_main_module_frame_the_author_names(name: str, program: str) -> None:
    expected = {e.function: e for e in expected_user_locations(program)}
    seen: set[str] = set()
    for g in goroutine_stacks(name):
        location = user_location(g.frames, SCOPE)
        has_main = any(f.function.startswith("main.") for f in g.frames)
        assert (location is not None) == has_main, g.id
        if location is None:
            continue
        # Function, file and line come from one frame.
        frame = g.frames[location.index]
        assert (location.function, location.file, location.line) == (frame.function, frame.file, frame.line)
        assert location.function.startswith("main.")
        want = expected.get(location.function)
        if want is not None:
            seen.add(want.function)
            assert want.matches(location.function, location.file, location.line), (g.id, location)
            if want.state is not None:
                assert g.state == want.state, g.id
    assert seen == set(expected), f"no goroutine at {set(expected) - seen}"


def test_labels_name_your_line_and_what_it_waits_in() -> None:
    stacks = {g.id: g for g in goroutine_stacks("external_abrt_go1.26.8.txt")}
    by_function = {}
    for g in stacks.values():
        location = user_location(g.frames, SCOPE)
        if location is not None:
            by_function[location.function] = location
    assert by_function["main.(*server).refreshCache"].label == (
        "main.(*server).refreshCache (main.go:53) · in sync.(*Mutex).Lock"
    )
    assert by_function["main.(*server).janitor"].label == "main.(*server).janitor (main.go:70) · in time.Sleep"
    assert by_function["main.(*server).readLoop"].label == "main.(*server).readLoop (main.go:44) · in net.(*conn).Read"
    assert by_function["main.(*server).reloadConfig"].label == (
        "main.(*server).reloadConfig (main.go:59) · in sync.(*RWMutex).Lock"
    )
    # A channel operation calls into the runtime directly: the state says what it waits for.
    assert by_function["main.main"].label == "main.main (main.go:170)"
    refresh = next(
        g for g in stacks.values() if user_location(g.frames, SCOPE) == by_function["main.(*server).refreshCache"]
    )
    assert stack_label(refresh.frames, SCOPE) == (
        "main.(*server).refreshCache (main.go:53) · in sync.(*Mutex).Lock < main.main.gowrap3"
    )


def test_runtime_goroutines_are_labelled_by_their_own_frame() -> None:
    gc = [g for g in goroutine_stacks("external_abrt_go1.26.8.txt") if g.system]
    assert gc
    for g in gc:
        label = location_label(g.frames, SCOPE)
        assert label.startswith("runtime."), label
        # A bucket label adds the function the goroutine started in: they all park in runtime.gopark.
        start = [f.function for f in g.frames if f.function != "runtime.goexit"][-1]
        bucket = stack_label(g.frames, SCOPE)
        assert bucket == label or bucket == f"{label} < {start}", (bucket, label)
        assert bucket.endswith(f"< {start}") or label.startswith(f"{start} ("), bucket


def test_an_inlined_library_call_never_lends_its_file_to_your_function() -> None:
    # Delve's userCurrentLoc named main.main.gowrap3 with internal/sync/mutex.go:70 for this stack.
    frames = frames_of([
        ("runtime.gopark", "/usr/local/go/src/runtime/proc.go", 462),
        ("internal/sync.runtime_SemacquireMutex", "/usr/local/go/src/runtime/sema.go", 95),
        ("internal/sync.(*Mutex).lockSlow", "/usr/local/go/src/internal/sync/mutex.go", 149),
        ("internal/sync.(*Mutex).Lock", "/usr/local/go/src/internal/sync/mutex.go", 70),
        ("sync.(*Mutex).Lock", "/usr/local/go/src/sync/mutex.go", 46),
        ("main.locker", "/src/app/main.go", 14),
        ("main.main.gowrap3", "/src/app/main.go", 40),
        ("runtime.goexit", "/usr/local/go/src/runtime/asm_amd64.s", 1771),
    ])  # fmt: skip
    location = user_location(frames, SCOPE)
    assert location is not None
    assert (location.function, location.file, location.line) == ("main.locker", "/src/app/main.go", 14)
    assert location.label == "main.locker (main.go:14) · in sync.(*Mutex).Lock"
    wrapper_only = frames[:5] + frames[6:]
    assert user_location(wrapper_only, SCOPE) == attrs.evolve(location, index=5, function="main.main.gowrap3", line=40)


def test_generic_functions_are_named_as_the_runtime_prints_them() -> None:
    frames = frames_of([
        ("runtime.mapassign_faststr", "/usr/local/go/src/internal/runtime/maps/runtime_faststr.go", 223),
        ("main.(*Cache[go.shape.string,go.shape.struct { X int; Y int }]).Put", "/src/app/cache.go", 31),
        ("main.main", "/src/app/main.go", 12),
    ])  # fmt: skip
    location = user_location(frames, SCOPE)
    assert location is not None and location.label == "main.(*Cache[...]).Put (cache.go:31)"
    assert location.function == "main.(*Cache[go.shape.string,go.shape.struct { X int; Y int }]).Put"


def test_stack_buckets_are_labelled_by_your_code_when_the_table_has_a_scope() -> None:
    g = next(g for g in goroutine_stacks("external_abrt_go1.26.8.txt") if g.state == "sync.Mutex.Lock")
    rows = [(f.function, f.file, f.line) for f in g.frames]
    with_scope = StackTable(SCOPE)
    stack = with_scope.assign(0, rows)
    assert (
        with_scope.labels[stack]
        == "main.(*server).refreshCache (main.go:53) · in sync.(*Mutex).Lock < main.main.gowrap3"
    )
    without = StackTable()
    # Without build info at hand, the label of old: the first non-runtime frame and its caller.
    assert without.labels[without.assign(0, rows)] == "sync.(*Mutex).Lock (mutex.go:46) < main.(*server).refreshCache"
    assert with_scope.keys[stack] == without.keys[0]
