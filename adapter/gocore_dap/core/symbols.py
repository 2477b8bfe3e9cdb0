"""The program's DWARF by exact PC (`backends.cframes`), for the frames Delve names wrong: the frame a fault
interrupted, assembly return addresses (`backends.delve.stack_repair`)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from gocore_dap.preflight.checks import PreflightResult

if TYPE_CHECKING:
    from gocore_dap.backends.cframes.symbolize import PcSymbolizer

__all__ = ["open_symbolizer"]

log = logging.getLogger(__name__)


async def open_symbolizer(checked: PreflightResult, program: Path) -> PcSymbolizer | None:
    """The DWARF of the program (or of its separate debug file), read in a worker thread; None when it
    cannot be read (the stacks then stay as Delve reads them)."""
    from gocore_dap.backends.cframes.symbolize import DwarfFormatError, PcSymbolizer

    dwarf = checked.debug_info.file if checked.debug_info is not None else program
    exe, core = checked.exe_info, checked.core_info
    bias = exe.load_bias(core.exe_load_base) if exe is not None and core is not None and core.exe_load_base else 0
    try:
        return await asyncio.get_running_loop().run_in_executor(None, PcSymbolizer.open, dwarf, bias)
    except (DwarfFormatError, OSError, ValueError) as exc:
        log.info("no exact-PC symbols (%s): %s", dwarf, exc)
        return None
