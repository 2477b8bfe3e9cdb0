"""Your code on real cores: where the crash lands, where each goroutine is, on Delve's own stacks.

For every corpus program and toolchain: the pinned Delve reads the crashing goroutine's stack (or, for a
crash no goroutine caused, every goroutine's), `backends.delve.stack_repair` fixes the faulting frame,
and the pure functions of `goviews` (code_scope, landing, user_location) decide. The expected lines are
the manifest's `expect.landing` / `expect.user_locations`, written from each program's source.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from gocore_dap.backends.cframes.symbolize import PcSymbolizer
from gocore_dap.backends.delve.api import DelveApi, Stackframe
from gocore_dap.backends.delve.crash_probe import probe_crash, read_wait_reasons
from gocore_dap.backends.delve.process import DelveProcess
from gocore_dap.backends.delve.stack_repair import ShownFrame, fault_pc, repair_frame_facts, repair_stack
from gocore_dap.goviews.build_info import BuildInfo, parse_buildinfo_section, parse_modinfo
from gocore_dap.goviews.code_scope import CodeKind, CodeScope, YourCode
from gocore_dap.goviews.crash import CrashAnalysis, analyze_crash
from gocore_dap.goviews.goroutine_info import GoLocation
from gocore_dap.goviews.landing import GoroutineStack, asleep_landing, landing_frame_index
from gocore_dap.goviews.presentation import is_system_goroutine
from gocore_dap.goviews.user_location import user_location
from gocore_dap.goviews.wait_reasons import goroutine_state, is_dead
from gocore_dap.preflight.elf import ElfFile
from tests.support.corpus_fixtures import CorpusCase
from tests.support.expected_locations import expected_landing, expected_user_locations

pytestmark = pytest.mark.integration

CGO_PROGRAMS = {"cgo_crash", "cgo_inlined_lookup", "cgo_c_library"}
DEPTH = 64


def build_info(binary: Path) -> BuildInfo:
    with ElfFile(binary) as elf:
        section = elf.section(".go.buildinfo")
        assert section is not None, f"{binary} has no .go.buildinfo"
        parsed = parse_buildinfo_section(elf.read_at(section.offset, section.size))
    assert parsed is not None
    return parse_modinfo(parsed[1], parsed[0])


@attrs.frozen
class GoroutineRead:
    id: int
    state: str
    start: str
    shown: tuple[ShownFrame, ...]

    @property
    def locations(self) -> list[GoLocation]:
        return locations(self.shown)


@attrs.frozen
class CoreRead:
    crash: CrashAnalysis
    scope: CodeScope
    raw_crash_stack: tuple[Stackframe, ...]
    crash_stack: tuple[ShownFrame, ...]
    # The crash analysis' own frames (what the report shows), from the probe's repaired facts.
    analysis_frames: tuple[GoLocation, ...]
    goroutines: tuple[GoroutineRead, ...]


def locations(shown: Sequence[ShownFrame]) -> list[GoLocation]:
    return [GoLocation(s.frame.location.function_name, s.frame.location.file, s.frame.location.line) for s in shown]


async def _read_core(case: CorpusCase, dlv: Path) -> CoreRead:
    artifact = case.artifact
    symbolizer = PcSymbolizer.open(artifact.binary)
    delve = await DelveProcess.start(dlv, artifact.binary, artifact.core)
    try:
        api = DelveApi(delve)
        facts = await probe_crash(delve)
        wait_reasons = await read_wait_reasons(delve)
        crash = analyze_crash(facts, wait_reasons)
        pc = fault_pc(crash.signal.number, crash.signal.pc) if crash.signal is not None else None
        raw: list[Stackframe] = []
        if crash.crashing_goroutine_id is not None:
            raw = await api.stacktrace(crash.crashing_goroutine_id, DEPTH)
        reads = []
        for g in await _list_goroutines(delve):
            status, reason = int(g.get("status", 0)), int(g.get("waitReason", 0))
            if is_dead(status, wait_reasons):
                continue
            shown = repair_stack(await api.stacktrace(int(g["id"]), DEPTH), fault_pc=pc, symbolizer=symbolizer)
            state = goroutine_state(status, reason, wait_reasons)
            reads.append(GoroutineRead(int(g["id"]), state, _start_function(shown), tuple(shown)))
        signal = facts.handled_signal
        repaired = repair_frame_facts(facts.frames, fault_pc=fault_pc(signal.number, signal.pc) if signal else None,
                                      symbolizer=symbolizer)  # fmt: skip
        analysis = analyze_crash(attrs.evolve(facts, frames=repaired), wait_reasons)
        return CoreRead(
            analysis_frames=tuple(GoLocation(f.function, f.file, f.line) for f in analysis.frames),
            crash=crash,
            scope=CodeScope.from_build_info(build_info(artifact.binary)),
            raw_crash_stack=tuple(raw),
            crash_stack=tuple(repair_stack(raw, fault_pc=pc, symbolizer=symbolizer)),
            goroutines=tuple(reads),
        )
    finally:
        await delve.close()


async def _list_goroutines(delve: DelveProcess) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    start = 0
    while True:
        result = await delve.call("ListGoroutines", {"Start": start, "Count": 1000})
        out.extend(result.get("Goroutines") or ())
        start = int(result.get("Nextg", -1))
        if start < 0:
            return out


def _start_function(shown: Sequence[ShownFrame]) -> str:
    names = [s.frame.location.function_name for s in shown if s.frame.location.function_name != "runtime.goexit"]
    return names[-1] if names else ""


_READS: dict[str, CoreRead] = {}


@pytest.fixture
def core(corpus_case: CorpusCase, dlv_path: Path) -> CoreRead:
    if corpus_case.id not in _READS:
        _READS[corpus_case.id] = asyncio.run(_read_core(corpus_case, dlv_path))
    return _READS[corpus_case.id]


# --- the landing ----------------------------------------------------------------------------------------


def test_the_stop_lands_on_the_line_the_author_names(corpus_case: CorpusCase, core: CoreRead) -> None:
    expected = expected_landing(corpus_case.name)
    assert expected.source_line(corpus_case.name).strip(), f"{expected} is not a line of code"
    if core.crash.crashing_goroutine_id is not None:
        frames = locations(core.crash_stack)
        index = landing_frame_index(frames, core.scope)
        assert index is not None
        landed = frames[index]
    else:
        stacks = [GoroutineStack(g.id, g.state, g.locations, system=is_system_goroutine(g.start))
                  for g in core.goroutines]  # fmt: skip
        landing = asleep_landing(stacks, core.scope)
        assert landing is not None, "no asleep user goroutine to land on"
        landed = next(g for g in stacks if g.id == landing.goroutine_id).frames[landing.frame_index]
    assert expected.matches(landed.function, landed.file, landed.line), (
        f"landed on {landed.function} {landed.file}:{landed.line}; the author names {expected}: "
        f"{expected.source_line(corpus_case.name).strip()!r}"
    )


def test_the_reports_crashing_stack_lands_there_too(corpus_case: CorpusCase, core: CoreRead) -> None:
    if core.crash.crashing_goroutine_id is None:
        # No goroutine crashed: the report's stack is the runtime's own thread, with nothing of yours.
        assert core.analysis_frames
        assert not any(core.scope.is_yours(f.function, f.file) for f in core.analysis_frames)
        return
    index = landing_frame_index(core.analysis_frames, core.scope)
    assert index is not None
    landed = core.analysis_frames[index]
    assert expected_landing(corpus_case.name).matches(landed.function, landed.file, landed.line), landed


@pytest.mark.corpus("cgo_crash", "cgo_inlined_lookup", "cgo_c_library")
def test_cgo_stacks_show_c_frames_with_their_sources_and_no_empty_frames(
    corpus_case: CorpusCase, core: CoreRead
) -> None:
    assert core.crash.kind == "signal" and core.crash.signal is not None and core.crash.signal.name == "SIGSEGV"
    shown = core.crash_stack
    assert all(s.frame.location.function_name for s in shown), "a frame without a function"
    kinds = [core.scope.classify(f.function, f.file) for f in locations(shown)]
    for frame, kind in zip(locations(shown), kinds, strict=True):
        # Every file is the program's own source, the Go toolchain's, or one cgo generated (marked so).
        if kind is CodeKind.CGO_GENERATED:
            continue
        assert Path(frame.file).is_file(), f"{frame.function}: {frame.file} does not exist"
    assert CodeKind.CGO_GENERATED in kinds
    c_frames = [f for f, k in zip(locations(shown), kinds, strict=True) if k is CodeKind.MAIN_MODULE
                and not f.function.startswith("main.")]  # fmt: skip
    assert c_frames, "no C frame of the program"
    # The repaired frames keep a Delve frame to read variables from, in Delve's order.
    indices = [s.delve_index for s in shown]
    assert indices == sorted(indices)


@pytest.mark.corpus("cgo_inlined_lookup")
def test_inlined_static_c_function_is_expanded(corpus_case: CorpusCase, core: CoreRead) -> None:
    functions = [f.function for f in locations(core.crash_stack)]
    assert "C.lookup" in functions and "C.find" in functions
    lookup, find = functions.index("C.lookup"), functions.index("C.find")
    assert find == lookup + 1
    call_site = locations(core.crash_stack)[find]
    assert call_site.line == 60 and call_site.file.endswith("cgo_inlined_lookup/main.go")  # `return lookup(ix, key)`


@pytest.mark.corpus("cgo_c_library", "cgo_inlined_lookup")
def test_delve_alone_puts_the_faulting_c_frame_on_the_wrong_line(corpus_case: CorpusCase, core: CoreRead) -> None:
    """What stack_repair is for: Delve 1.27.2 looks the faulting frame up at pc-1. If this fails, Delve
    symbolises it at the exact PC now and the repair may be dropped."""
    raw = [GoLocation(f.location.function_name, f.location.file, f.location.line) for f in core.raw_crash_stack]
    index = landing_frame_index(raw, core.scope)
    assert index is not None
    expected = expected_landing(corpus_case.name)
    assert expected.is_file(raw[index].file) and raw[index].line != expected.line


# --- user locations -----------------------------------------------------------------------------------------


def test_user_locations_name_a_main_module_frame_for_every_goroutine_that_has_one(
    corpus_case: CorpusCase, core: CoreRead
) -> None:
    scope = core.scope.with_your_code(YourCode.MAIN_MODULE)
    expected = {e.function: e for e in expected_user_locations(corpus_case.name)}
    seen: set[str] = set()
    for g in core.goroutines:
        frames = g.locations
        location = user_location(frames, scope)
        has_main_module = any(scope.classify(f.function, f.file) is CodeKind.MAIN_MODULE and f.line > 0
                              for f in frames)  # fmt: skip
        assert (location is not None) == has_main_module, f"goroutine {g.id}: {frames}"
        if location is None:
            continue
        frame = frames[location.index]
        assert (location.function, location.file, location.line) == (frame.function, frame.file, frame.line)
        assert scope.classify(location.function, location.file) is CodeKind.MAIN_MODULE
        want = expected.get(location.function.removeprefix("C."))
        if want is None:
            continue
        seen.add(want.function)
        assert want.matches(location.function, location.file, location.line), f"goroutine {g.id}: {location}"
        if want.state is not None:
            assert g.state == want.state, f"goroutine {g.id} at {location.short}"
    missing = set(expected) - seen
    if corpus_case.name == "concurrent_map_writes":
        # main may still be starting the writers when one of them trips the check.
        missing.discard("main.main")
    assert not missing, f"no goroutine at {missing}"
