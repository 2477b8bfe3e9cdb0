"""The line-number program of one compile unit (`.debug_line`, DWARF 2 to 5): the file and line of an
exact address, and the unit's file table (which DW_AT_call_file indexes)."""

from __future__ import annotations

import bisect
import posixpath
from collections.abc import Mapping

import attrs

from gocore_dap.backends.cframes.sections import Cursor, DwarfFormatError, cstring_at, section

__all__ = ["LineRow", "LineTable", "read_line_table"]

# Standard opcodes.
_COPY, _ADVANCE_PC, _ADVANCE_LINE, _SET_FILE, _SET_COLUMN, _NEGATE_STMT, _SET_BASIC_BLOCK = range(1, 8)
_CONST_ADD_PC, _FIXED_ADVANCE_PC, _SET_PROLOGUE_END, _SET_EPILOGUE_BEGIN, _SET_ISA = range(8, 13)
# Extended opcodes.
_END_SEQUENCE, _SET_ADDRESS, _DEFINE_FILE, _SET_DISCRIMINATOR = 1, 2, 3, 4
# Entry formats of a DWARF 5 header.
_LNCT_PATH, _LNCT_DIRECTORY_INDEX = 1, 2
_FORM_STRING, _FORM_LINE_STRP, _FORM_STRP, _FORM_UDATA = 0x08, 0x1F, 0x0E, 0x0F
_FORM_DATA1, _FORM_DATA2, _FORM_DATA4, _FORM_DATA8, _FORM_DATA16, _FORM_BLOCK = 0x0B, 0x05, 0x06, 0x07, 0x1E, 0x09


@attrs.frozen(slots=True)
class LineRow:
    address: int
    file: int
    line: int
    end_sequence: bool = False


@attrs.frozen
class LineTable:
    """Rows sorted by address (each sequence's rows in order, sequences by start address)."""

    version: int
    files: tuple[str, ...]  # indexed as DW_AT_call_file and the program's `file` register index them
    rows: tuple[LineRow, ...]
    addresses: tuple[int, ...]  # rows[i].address, for bisection

    def file_name(self, index: int) -> str:
        return self.files[index] if 0 <= index < len(self.files) else ""

    def lookup(self, pc: int) -> tuple[str, int] | None:
        """(file, line) of the instruction at `pc` exactly: the last row at or below it in its sequence."""
        at = bisect.bisect_right(self.addresses, pc) - 1
        if at < 0 or self.rows[at].end_sequence:
            return None  # before every sequence, or past the end of the one before it
        row = self.rows[at]
        return self.file_name(row.file), row.line


def _read_entry_format(cur: Cursor) -> list[tuple[int, int]]:
    count = cur.u8()
    return [(cur.uleb(), cur.uleb()) for _ in range(count)]


def _read_form(cur: Cursor, form: int, offset_size: int, sections: Mapping[str, bytes]) -> int | str:
    if form == _FORM_STRING:
        return cur.cstring()
    if form == _FORM_LINE_STRP:
        return cstring_at(section(sections, ".debug_line_str"), cur.uint(offset_size))
    if form == _FORM_STRP:
        return cstring_at(section(sections, ".debug_str"), cur.uint(offset_size))
    if form == _FORM_UDATA:
        return cur.uleb()
    if form == _FORM_DATA1:
        return cur.u8()
    if form == _FORM_DATA2:
        return cur.u16()
    if form == _FORM_DATA4:
        return cur.u32()
    if form == _FORM_DATA8:
        return cur.u64()
    if form == _FORM_DATA16:
        cur.skip(16)
        return 0
    if form == _FORM_BLOCK:
        cur.skip(cur.uleb())
        return 0
    raise DwarfFormatError(f"line table entry of form {form:#x} is not read")


def _entries(cur: Cursor, offset_size: int, sections: Mapping[str, bytes]) -> list[dict[int, int | str]]:
    formats = _read_entry_format(cur)
    count = cur.uleb()
    return [{kind: _read_form(cur, form, offset_size, sections) for kind, form in formats} for _ in range(count)]


def _join(directory: str, name: str, comp_dir: str) -> str:
    path = name if posixpath.isabs(name) or not directory else posixpath.join(directory, name)
    if not posixpath.isabs(path) and comp_dir:
        path = posixpath.join(comp_dir, path)
    return posixpath.normpath(path) if path else path


def read_line_table(sections: Mapping[str, bytes], offset: int, comp_dir: str = "", comp_name: str = "") -> LineTable:
    data = section(sections, ".debug_line")
    cur = Cursor(data, offset)
    length, offset_size = cur.initial_length()
    end = cur.pos + length
    version = cur.u16()
    if version >= 5:
        cur.u8()  # address size
        cur.u8()  # segment selector size
    header_length = cur.uint(offset_size)
    program_start = cur.pos + header_length
    min_inst_length = cur.u8()
    if version >= 4:
        cur.u8()  # maximum operations per instruction (VLIW only)
    cur.u8()  # default_is_stmt
    line_base = cur.u8()
    line_base = line_base - 256 if line_base >= 128 else line_base
    line_range = cur.u8()
    opcode_base = cur.u8()
    standard_lengths = [cur.u8() for _ in range(opcode_base - 1)]
    files: list[str] = []
    if version >= 5:
        directories = [str(e.get(_LNCT_PATH, "")) for e in _entries(cur, offset_size, sections)]
        for entry in _entries(cur, offset_size, sections):
            index = entry.get(_LNCT_DIRECTORY_INDEX, 0)
            directory = directories[index] if isinstance(index, int) and index < len(directories) else ""
            files.append(_join(directory, str(entry.get(_LNCT_PATH, "")), comp_dir))
    else:
        directories = [comp_dir]
        while True:
            name = cur.cstring()
            if not name:
                break
            directories.append(name)
        files.append(comp_name)  # index 0: the unit's primary file (DWARF 4 numbers files from 1)
        while True:
            name = cur.cstring()
            if not name:
                break
            index = cur.uleb()
            cur.uleb()  # mtime
            cur.uleb()  # size
            files.append(_join(directories[index] if index < len(directories) else "", name, comp_dir))
    cur.pos = program_start
    rows: list[LineRow] = []
    sequences: list[list[LineRow]] = []
    address = 0
    file = 1
    line = 1
    current: list[LineRow] = []

    def reset() -> None:
        nonlocal address, file, line
        address, file, line = 0, 1, 1

    while cur.pos < end:
        opcode = cur.u8()
        if opcode >= opcode_base:
            adjusted = opcode - opcode_base
            address += (adjusted // line_range) * min_inst_length
            line += line_base + adjusted % line_range
            current.append(LineRow(address, file, line))
        elif opcode == 0:
            size = cur.uleb()
            after = cur.pos + size
            sub = cur.u8()
            if sub == _END_SEQUENCE:
                current.append(LineRow(address, file, line, end_sequence=True))
                sequences.append(current)
                current = []
                reset()
            elif sub == _SET_ADDRESS:
                address = cur.uint(size - 1)
            elif sub == _DEFINE_FILE:
                name = cur.cstring()
                index = cur.uleb()
                files.append(_join(directories[index] if index < len(directories) else "", name, comp_dir))
            cur.pos = after
        elif opcode == _COPY:
            current.append(LineRow(address, file, line))
        elif opcode == _ADVANCE_PC:
            address += cur.uleb() * min_inst_length
        elif opcode == _ADVANCE_LINE:
            line += cur.sleb()
        elif opcode == _SET_FILE:
            file = cur.uleb()
        elif opcode == _CONST_ADD_PC:
            address += ((255 - opcode_base) // line_range) * min_inst_length
        elif opcode == _FIXED_ADVANCE_PC:
            address += cur.u16()
        elif opcode in (_SET_COLUMN, _SET_ISA):
            cur.uleb()
        elif opcode in (_NEGATE_STMT, _SET_BASIC_BLOCK, _SET_PROLOGUE_END, _SET_EPILOGUE_BEGIN):
            pass
        else:
            for _ in range(standard_lengths[opcode - 1]):
                cur.uleb()
    for sequence in sorted(sequences, key=lambda s: s[0].address if s else 0):
        rows.extend(sequence)
    return LineTable(version, tuple(files), tuple(rows), tuple(row.address for row in rows))
