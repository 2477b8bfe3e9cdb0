"""Two fixes to the stacks Delve (1.27.2) reads from a core, for crashes in C code under cgo.

1. **The faulting frame's line.** A thread that died of a fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP)
   was interrupted *at* the faulting instruction, and Delve reads the registers of that moment from the
   signal context above `runtime.sigtrampgo`. It then looks the frame up at pc-1, as for a return
   address: on `cgo_c_library` that is `histogram.c:33` (`h->sum += v`, scheduled before the store) for a
   fault on line 32 (`h->counts[...]++`), on `cgo_inlined_lookup` line 51 for a fault on line 50. pc-1 can
   even sit in another inlined function. The frames Delve expanded at the faulting PC are replaced by the
   binary's DWARF read at the exact PC (`backends.cframes`): function, inlined calls, file and line.
   Only the faulting PC is touched: an interrupted syscall or a return address is right at pc-1.
2. **Frames without a function.** Where `runtime.asmcgocall` switched from the goroutine's stack to the
   system stack, Delve's unwinder yields one frame with pc 0 and no function (`?:-1`); it is dropped.
3. **The end of a thread's stack.** The runtime's traceback stops at a top frame (`runtime.mstart` on a
   thread the runtime started, `runtime.rt0_go` on the first one, `runtime.goexit` on a goroutine); on some
   cores Delve unwinds past `runtime.mstart` through `runtime.clone` into words that are no frames. The
   frames after a top frame are dropped. And Delve looks an assembly frame up at its return address, not
   at the call (`runtime.mstart asm_amd64.s:396` where the runtime prints the call at `:395`): an assembly
   frame that is not the innermost is named at pc-1, as the runtime names every return address. The
   caller asks Delve for those lines (`assembly_returns` lists the PCs, `call_lines` brings the answers):
   the DWARF of Go 1.18-1.20 binaries has no unit for the runtime's assembly.

Every frame keeps the index of the Delve frame it came from (`delve_index`), because Delve's scopes
(locals, registers, Eval) are addressed by Delve's own frame numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from gocore_dap.backends.cframes.symbolize import PcSymbolizer, SymbolFrame
from gocore_dap.backends.delve.api import Function, Location, Stackframe
from gocore_dap.goviews.crash import FrameFact

__all__ = ["FAULT_SIGNALS", "ShownFrame", "assembly_returns", "fault_pc", "repair_frame_facts", "repair_stack"]

# Signals the kernel raises at the instruction that caused them (si_code > 0): SIGILL, SIGTRAP, SIGBUS,
# SIGFPE, SIGSEGV. Their PC is the faulting instruction, not a return address.
FAULT_SIGNALS = frozenset({4, 5, 7, 8, 11})
_SIGNAL_HANDLER = "runtime.sigtrampgo"
# Where the runtime's traceback ends a stack (the functions with funcFlag_TOPFRAME).
TOP_FRAMES = frozenset({"runtime.mstart", "runtime.rt0_go", "runtime.goexit"})
# Frames whose caller's PC is where the interrupted code was, not a return address (isInjectedCall).
_INJECTED = frozenset({"runtime.sigpanic", "runtime.asyncPreempt", "runtime.debugCallV2"})


@attrs.frozen
class ShownFrame:
    """A frame as the editor should show it; `delve_index` is the Delve frame whose scope it reads."""

    frame: Stackframe
    delve_index: int
    repaired: bool = False


def fault_pc(signal_number: int | None, signal_pc: int | None) -> int | None:
    """The PC to symbolise exactly: the crash's signal PC when the signal is a fault, else None.

    `goviews.crash.CrashAnalysis.signal` (`number`, `pc`) carries both; the PC is the one the signal
    handler saw (`runtime.sigtrampgo`'s context), the faulting instruction for these signals.
    """
    if signal_number in FAULT_SIGNALS and signal_pc:
        return signal_pc
    return None


def _c_name(function: str) -> str:
    # Delve prefixes `C.` to a concrete C function but not to one it found inlined (`C.find`, `lookup`).
    return function.removeprefix("C.")


def _plan(
    pcs: Sequence[int],
    functions: Sequence[str],
    fault_pc: int | None,
    symbolizer: PcSymbolizer | None,
) -> list[tuple[int, SymbolFrame | None]]:
    """What to show, as (index of the frame it comes from, the symbol it becomes or None to keep it)."""
    out: list[tuple[int, SymbolFrame | None]] = []
    index = 0
    repaired = False
    while index < len(pcs):
        if pcs[index] == 0 and not functions[index]:
            index += 1  # Delve's pc-0 frame at the switch from the goroutine's stack to the system stack
            continue
        if (
            not repaired
            and fault_pc is not None
            and symbolizer is not None
            and pcs[index] == fault_pc
            and index > 0
            and functions[index - 1] == _SIGNAL_HANDLER
        ):
            end = index
            while end < len(pcs) and pcs[end] == fault_pc:
                end += 1
            symbols = symbolizer.frames_at(fault_pc)
            if symbols:
                by_name = {_c_name(functions[i]): i for i in range(index, end)}
                out.extend((by_name.get(_c_name(symbol.function), index), symbol) for symbol in symbols)
                repaired = True
                index = end
                continue
        out.append((index, None))
        index += 1
    return out


def _to_top(frames: Sequence[Stackframe]) -> Sequence[Stackframe]:
    end = next((i + 1 for i, f in enumerate(frames) if f.location.function_name in TOP_FRAMES), len(frames))
    return frames[:end]


def assembly_returns(frames: Sequence[Stackframe]) -> list[int]:
    """The PCs of the assembly frames that are return addresses: `repair_stack` names each at the line of
    the instruction before it (pc-1), given in its `call_lines`."""
    frames = _to_top(frames)
    return [f.location.pc for i, f in enumerate(frames) if _is_assembly_return(frames, i)]


def repair_stack(
    frames: Sequence[Stackframe],
    *,
    fault_pc: int | None = None,
    symbolizer: PcSymbolizer | None = None,
    call_lines: Mapping[int, int] | None = None,
) -> list[ShownFrame]:
    """Delve's frames (innermost first) with the faulting frame re-read at its exact PC, Delve's
    function-less pc-0 frames and the words past a top frame dropped, assembly return addresses named at
    the call (`call_lines`: return PC -> the line at pc-1; see the module docstring)."""
    frames = _to_top(frames)
    plan = _plan([f.location.pc for f in frames], [f.location.function_name for f in frames], fault_pc, symbolizer)
    out: list[ShownFrame] = []
    for index, symbol in plan:
        original = frames[index]
        line = call_lines.get(original.location.pc) if call_lines and _is_assembly_return(frames, index) else None
        if symbol is None and line is not None and line > 0:
            original = attrs.evolve(original, location=attrs.evolve(original.location, line=line))
        if symbol is None:
            out.append(ShownFrame(original, index))
            continue
        optimized = original.location.function.optimized if original.location.function is not None else False
        location = Location(pc=original.location.pc, file=symbol.file, line=symbol.line,
                            function=Function(symbol.function, symbol.entry, optimized))  # fmt: skip
        same_function = _c_name(symbol.function) == _c_name(original.location.function_name)
        # Variables belong to the Delve frame of the same function only.
        frame = attrs.evolve(
            original,
            location=location,
            locals=original.locals if same_function else (),
            arguments=original.arguments if same_function else (),
        )
        out.append(ShownFrame(frame, index, repaired=True))
    return out


def _is_assembly_return(frames: Sequence[Stackframe], index: int) -> bool:
    """An assembly frame whose PC is a return address (not the innermost frame, not below an injected call)."""
    return (
        index > 0
        and frames[index].location.file.endswith(".s")
        and frames[index - 1].location.function_name not in _INJECTED
        and frames[index - 1].location.function_name != _SIGNAL_HANDLER
    )


def repair_frame_facts(
    frames: Sequence[FrameFact], *, fault_pc: int | None = None, symbolizer: PcSymbolizer | None = None
) -> tuple[FrameFact, ...]:
    """The same repair on the crash probe's frames (`CrashFacts.frames`), before `analyze_crash`, so that
    the crash's own frames (the report's crashing stack) name the faulting C line too."""
    plan = _plan([f.pc for f in frames], [f.function for f in frames], fault_pc, symbolizer)
    return tuple(
        frames[index]
        if symbol is None
        else attrs.evolve(frames[index], function=symbol.function, file=symbol.file, line=symbol.line)
        for index, symbol in plan
    )
