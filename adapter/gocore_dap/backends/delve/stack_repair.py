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

Every frame keeps the index of the Delve frame it came from (`delve_index`), because Delve's scopes
(locals, registers, Eval) are addressed by Delve's own frame numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from gocore_dap.backends.cframes.symbolize import PcSymbolizer, SymbolFrame
from gocore_dap.backends.delve.api import Function, Location, Stackframe

__all__ = ["FAULT_SIGNALS", "ShownFrame", "fault_pc", "repair_stack"]

# Signals the kernel raises at the instruction that caused them (si_code > 0): SIGILL, SIGTRAP, SIGBUS,
# SIGFPE, SIGSEGV. Their PC is the faulting instruction, not a return address.
FAULT_SIGNALS = frozenset({4, 5, 7, 8, 11})
_SIGNAL_HANDLER = "runtime.sigtrampgo"


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


def _is_artefact(frame: Stackframe) -> bool:
    return frame.location.pc == 0 and not frame.location.function_name


def _c_name(function: str) -> str:
    # Delve prefixes `C.` to a concrete C function but not to one it found inlined (`C.find`, `lookup`).
    return function.removeprefix("C.")


def _replacement(group: Sequence[tuple[int, Stackframe]], symbols: Sequence[SymbolFrame]) -> list[ShownFrame]:
    """Frames for the symbols at the faulting PC, each reading the scope of the Delve frame of the same
    function (Delve expanded the same inlined calls, perhaps at another line), else the group's first."""
    by_name = {_c_name(frame.location.function_name): (index, frame) for index, frame in group}
    first_index, first = group[0]
    out = []
    for symbol in symbols:
        index, original = by_name.get(_c_name(symbol.function), (first_index, first))
        function = Function(symbol.function, symbol.entry, original.location.function.optimized
                            if original.location.function is not None else False)  # fmt: skip
        location = Location(pc=original.location.pc, file=symbol.file, line=symbol.line, function=function)
        same_function = _c_name(symbol.function) == _c_name(original.location.function_name)
        out.append(
            ShownFrame(
                attrs.evolve(
                    original,
                    location=location,
                    # Variables belong to the Delve frame of the same function only.
                    locals=original.locals if same_function else (),
                    arguments=original.arguments if same_function else (),
                ),
                index,
                repaired=True,
            )
        )
    return out


def repair_stack(
    frames: Sequence[Stackframe], *, fault_pc: int | None = None, symbolizer: PcSymbolizer | None = None
) -> list[ShownFrame]:
    """Delve's frames (innermost first) with the faulting frame re-read at its exact PC and Delve's
    function-less pc-0 frames dropped (see the module docstring)."""
    out: list[ShownFrame] = []
    index = 0
    repaired = False
    while index < len(frames):
        frame = frames[index]
        if _is_artefact(frame):
            index += 1
            continue
        if (
            not repaired
            and fault_pc is not None
            and symbolizer is not None
            and frame.location.pc == fault_pc
            and index > 0
            and frames[index - 1].location.function_name == _SIGNAL_HANDLER
        ):
            end = index
            while end < len(frames) and frames[end].location.pc == fault_pc:
                end += 1
            symbols = symbolizer.frames_at(fault_pc)
            if symbols:
                out.extend(_replacement([(i, frames[i]) for i in range(index, end)], symbols))
                repaired = True
                index = end
                continue
        out.append(ShownFrame(frame, index))
        index += 1
    return out
