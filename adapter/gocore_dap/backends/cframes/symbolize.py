"""Name the frames at one PC from an executable's DWARF: the function, the inlined calls it holds at that
PC, and each one's file and line, at the exact instruction (not pc-1).

    PcSymbolizer.open(binary).frames_at(0x4a206c)
    -> [SymbolFrame("C.lookup", ".../main.go", 50, inlined=True), SymbolFrame("C.find", ".../main.go", 60)]

The innermost frame's file:line is the line table's row for the PC; each outer frame's is the call site
(DW_AT_call_file, DW_AT_call_line) of the inlined subroutine inside it. C functions are named with a
`C.` prefix, as Go code calls them and as Delve names them; Go functions by their symbol name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import attrs

from gocore_dap.backends.cframes.info import (
    AT_ABSTRACT_ORIGIN,
    AT_CALL_FILE,
    AT_CALL_LINE,
    AT_LINKAGE_NAME,
    AT_MIPS_LINKAGE_NAME,
    AT_NAME,
    AT_SPECIFICATION,
    TAG_INLINED_SUBROUTINE,
    TAG_LEXICAL_BLOCK,
    CompileUnit,
    DebugInfo,
    Die,
)
from gocore_dap.backends.cframes.lines import LineTable, read_line_table
from gocore_dap.backends.cframes.sections import DwarfFormatError, load_dwarf_sections

__all__ = ["DwarfFormatError", "PcSymbolizer", "SymbolFrame"]


@attrs.frozen
class SymbolFrame:
    function: str
    file: str
    line: int
    entry: int  # the concrete function's entry (lowest address), for Delve's Function.value
    inlined: bool = False
    go: bool = True  # from a Go compile unit (False: C, assembly, ...)


class PcSymbolizer:
    """DWARF lookups by PC for one executable (sections read once, units and line tables on demand)."""

    def __init__(self, sections: Mapping[str, bytes], load_bias: int = 0) -> None:
        self._sections = sections
        self._info = DebugInfo(sections)
        self._lines: dict[int, LineTable] = {}
        self.load_bias = load_bias

    @classmethod
    def open(cls, binary: Path, load_bias: int = 0) -> PcSymbolizer:
        """`load_bias`: where a position-independent executable was loaded (0 for Go's default,
        non-PIE executables, whose addresses are the file's)."""
        return cls(load_dwarf_sections(binary), load_bias)

    def _line_table(self, unit: CompileUnit) -> LineTable | None:
        if unit.stmt_list is None:
            return None
        table = self._lines.get(unit.offset)
        if table is None:
            table = self._lines[unit.offset] = read_line_table(self._sections, unit.stmt_list, unit.comp_dir, unit.name)
        return table

    def _name(self, die: Die, depth: int = 0) -> str:
        for attribute in (AT_NAME, AT_LINKAGE_NAME, AT_MIPS_LINKAGE_NAME):
            value = die.attrs.get(attribute)
            if value is not None:
                return die.unit.string(value)
        for attribute in (AT_ABSTRACT_ORIGIN, AT_SPECIFICATION):
            value = die.attrs.get(attribute)
            if value is not None and depth < 8:
                offset = die.unit.reference(value)
                unit = die.unit
                if not unit.offset <= offset < unit.end:
                    unit = self._info.unit_containing_offset(offset)
                return self._name(unit.die_at(offset), depth + 1)
        return ""

    def frames_at(self, pc: int) -> list[SymbolFrame]:
        """The frames at `pc` (a process address), innermost first; [] when the DWARF does not know it."""
        address = pc - self.load_bias
        unit = self._info.unit_at(address)
        if unit is None:
            return []
        scopes = [d for d in unit.scopes_at(address) if d.tag != TAG_LEXICAL_BLOCK]
        if not scopes:
            return []
        table = self._line_table(unit)
        found = table.lookup(address) if table is not None else None
        file, line = found if found is not None else ("", 0)
        entry = min((lo for lo, _ in unit.ranges(scopes[0])), default=0) + self.load_bias
        frames: list[SymbolFrame] = []
        # Innermost first: the deepest scope is at the PC's own line; each scope's caller is at the
        # call site the scope records.
        for depth in range(len(scopes) - 1, -1, -1):
            die = scopes[depth]
            name = self._name(die)
            if not unit.is_go and name and not name.startswith("C."):
                name = "C." + name
            frames.append(SymbolFrame(name, file, line, entry, inlined=die.tag == TAG_INLINED_SUBROUTINE,
                                      go=unit.is_go))  # fmt: skip
            if die.tag == TAG_INLINED_SUBROUTINE:
                call_file = die.attrs.get(AT_CALL_FILE)
                call_line = die.attrs.get(AT_CALL_LINE)
                index = call_file.value if call_file is not None and isinstance(call_file.value, int) else -1
                file = table.file_name(index) if table is not None else ""
                line = call_line.value if call_line is not None and isinstance(call_line.value, int) else 0
        return frames
