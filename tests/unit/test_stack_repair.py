"""backends.delve.stack_repair on the crashing thread's stack Delve read from the cgo_crash core
(tests/unit/data/crash_facts), with a stand-in for the DWARF symboliser (the real one is tested on real
binaries in tests/integration/test_cframes.py and test_your_code.py)."""

from __future__ import annotations

import json
from pathlib import Path

import attrs

from gocore_dap.backends.cframes.symbolize import PcSymbolizer, SymbolFrame
from gocore_dap.backends.delve.api import Function, Location, Stackframe, Variable
from gocore_dap.backends.delve.stack_repair import assembly_returns, fault_pc, repair_frame_facts, repair_stack
from gocore_dap.goviews.crash import crash_facts_from_json

DATA = Path(__file__).parent / "data" / "crash_facts"
FACTS = crash_facts_from_json(json.loads((DATA / "local-cgo_crash.json").read_text(encoding="utf-8"))["facts"])
FAULT = FACTS.handled_signal.pc if FACTS.handled_signal is not None else 0
# The assembly frames whose PC is a return address (not the innermost, not one a signal interrupted).
ASM_RETURNS = [f.pc for f in FACTS.frames if f.function in ("runtime.asmcgocall", "runtime.goexit")]


class FakeSymbolizer(PcSymbolizer):
    """Answers for one PC, as the DWARF of an inlined C call would, and records what it was asked."""

    def __init__(self, pc: int, frames: list[SymbolFrame]) -> None:
        self.pc, self.frames, self.asked = pc, frames, list[int]()

    def frames_at(self, pc: int) -> list[SymbolFrame]:
        self.asked.append(pc)
        return list(self.frames) if pc == self.pc else []


SYMBOLS = [
    SymbolFrame("C.checksum", "/src/cgo_crash/main.go", 18, 0x4A16E0, inlined=True, go=False),
    SymbolFrame("C._cgo_97b76b311f27_Cfunc_checksum", "/tmp/go-build/cgo-gcc-prolog", 56, 0x4A16E0, go=False),
]


def delve_frames() -> list[Stackframe]:
    out = []
    for f in FACTS.frames:
        local = (Variable.from_json({"name": f"local_of_{f.function}", "value": "1", "kind": 2}),)
        function = Function(f.function) if f.function else None
        out.append(Stackframe(Location(f.pc, f.file, f.line, function), local, (), f.frame_offset, 0, ""))
    return out


def test_the_fault_pc_is_the_signals_for_faults_only() -> None:
    assert FACTS.handled_signal is not None and FACTS.handled_signal.number == 11
    assert fault_pc(11, FAULT) == FAULT and fault_pc(7, 5) == 5 and fault_pc(4, 5) == 5
    assert fault_pc(6, FAULT) is None and fault_pc(3, FAULT) is None and fault_pc(11, 0) is None
    assert fault_pc(None, FAULT) is None


def test_the_faulting_frames_are_replaced_and_the_pc0_frame_dropped() -> None:
    frames = delve_frames()
    symbolizer = FakeSymbolizer(FAULT, SYMBOLS)
    shown = repair_stack(frames, fault_pc=FAULT, symbolizer=symbolizer)
    assert symbolizer.asked == [FAULT]
    names = [s.frame.location.function_name for s in shown]
    assert "" not in names and len(shown) == len(frames) - 1
    at = names.index("C.checksum")
    assert names[at - 1] == "runtime.sigtrampgo"
    checksum, wrapper = shown[at], shown[at + 1]
    assert (checksum.frame.location.file, checksum.frame.location.line, checksum.repaired) == (
        "/src/cgo_crash/main.go",
        18,
        True,
    )
    # Each repaired frame reads the scope of Delve's frame of the same function, in Delve's numbering.
    assert [f.location.function_name for f in frames][checksum.delve_index] == "checksum"
    assert [f.location.function_name for f in frames][wrapper.delve_index] == "C._cgo_97b76b311f27_Cfunc_checksum"
    assert checksum.frame.locals == frames[checksum.delve_index].locals
    assert all(s.frame == frames[s.delve_index] for s in shown if not s.repaired)
    assert [s.delve_index for s in shown] == sorted(s.delve_index for s in shown)


def test_nothing_but_the_pc0_frame_changes_without_a_fault() -> None:
    frames = delve_frames()
    symbolizer = FakeSymbolizer(FAULT, SYMBOLS)
    for shown in (repair_stack(frames), repair_stack(frames, fault_pc=None, symbolizer=symbolizer)):
        assert [s.frame for s in shown] == [f for f in frames if f.location.pc != 0]
    assert symbolizer.asked == []


def test_a_pc_the_dwarf_does_not_know_keeps_delves_frames() -> None:
    frames = delve_frames()
    shown = repair_stack(frames, fault_pc=FAULT, symbolizer=FakeSymbolizer(FAULT + 1, SYMBOLS))
    assert not any(s.repaired for s in shown)


def test_the_crash_facts_are_repaired_the_same_way() -> None:
    repaired = repair_frame_facts(FACTS.frames, fault_pc=FAULT, symbolizer=FakeSymbolizer(FAULT, SYMBOLS))
    assert [f.function for f in repaired] == [
        s.frame.location.function_name
        for s in repair_stack(delve_frames(), fault_pc=FAULT, symbolizer=FakeSymbolizer(FAULT, SYMBOLS))
    ]
    checksum = next(f for f in repaired if f.function == "C.checksum")
    assert (checksum.line, checksum.pc, checksum.frame_offset) == (18, FAULT, next(
        f.frame_offset for f in FACTS.frames if f.function == "checksum"))  # fmt: skip
    assert attrs.evolve(FACTS, frames=repaired).frames == repaired


def test_an_assembly_return_address_is_named_at_its_call() -> None:
    """Delve reads an assembly frame at its return address (`runtime.mstart asm_amd64.s:396`); the runtime
    prints the call (:395). The caller looks pc-1 up (`call_lines`); a raise a signal interrupted is at its
    exact PC and the innermost frame is no return address: neither is listed."""
    frames = delve_frames()
    assert assembly_returns(frames) == ASM_RETURNS and len(ASM_RETURNS) == 2
    asmcgocall, goexit = ASM_RETURNS
    shown = repair_stack(frames, call_lines={asmcgocall: 994, goexit: 0})
    lines = {s.frame.location.function_name: s.frame.location.line for s in shown}
    assert lines["runtime.asmcgocall"] == 994
    assert lines["runtime.goexit"] == 1771  # no line known: Delve's kept
    assert [s.frame for s in shown if s.frame.location.function_name != "runtime.asmcgocall"] == [
        f for f in frames if f.location.pc != 0 and f.location.function_name != "runtime.asmcgocall"
    ]


def test_the_words_past_a_top_frame_are_dropped() -> None:
    frames = delve_frames()
    junk = attrs.evolve(frames[-1], location=Location(0x4A0000, "", 0, Function("runtime.clone")))
    shown = repair_stack([*frames, junk])
    assert shown[-1].frame.location.function_name == "runtime.goexit"
    assert len(shown) == len(frames) - 1
