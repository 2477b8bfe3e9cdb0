"""A small, targeted reader of DWARF 4 and 5 ``.debug_info``/``.debug_abbrev``.

Only what the direct reader needs: unit headers (to pick units by name without decoding the others),
abbreviation tables, and the DIEs of chosen units as a shallow tree (the children of functions are
decoded to find where the next DIE starts, but not kept). Values are decoded to Python ints, strings
(inline, ``.debug_str`` and ``.debug_line_str``), absolute ``.debug_info`` offsets for references, and
raw bytes for blocks and expressions.

The Go linker writes one abbreviation table for all units, DW_FORM_string names, DW_FORM_ref_addr
type references and puts every type into the last unit named "runtime"; none of this is assumed here
beyond what the DWARF standard says, so a unit layout from another producer reads the same.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping
from typing import Final

import attrs

# Tags.
TAG_ARRAY_TYPE: Final = 0x01
TAG_MEMBER: Final = 0x0D
TAG_POINTER_TYPE: Final = 0x0F
TAG_COMPILE_UNIT: Final = 0x11
TAG_STRUCTURE_TYPE: Final = 0x13
TAG_TYPEDEF: Final = 0x16
TAG_SUBRANGE_TYPE: Final = 0x21
TAG_BASE_TYPE: Final = 0x24
TAG_CONSTANT: Final = 0x27
TAG_SUBPROGRAM: Final = 0x2E
TAG_VARIABLE: Final = 0x34

# Attributes.
AT_NAME: Final = 0x03
AT_BYTE_SIZE: Final = 0x0B
AT_CONST_VALUE: Final = 0x1C
AT_UPPER_BOUND: Final = 0x2F
AT_COUNT: Final = 0x37
AT_DATA_MEMBER_LOCATION: Final = 0x38
AT_TYPE: Final = 0x49
AT_STR_OFFSETS_BASE: Final = 0x72
# Go's own attributes (cmd/internal/dwarf): the reflect kind of a type.
AT_GO_KIND: Final = 0x2900

# Forms.
FORM_ADDR: Final = 0x01
FORM_BLOCK2: Final = 0x03
FORM_BLOCK4: Final = 0x04
FORM_DATA2: Final = 0x05
FORM_DATA4: Final = 0x06
FORM_DATA8: Final = 0x07
FORM_STRING: Final = 0x08
FORM_BLOCK: Final = 0x09
FORM_BLOCK1: Final = 0x0A
FORM_DATA1: Final = 0x0B
FORM_FLAG: Final = 0x0C
FORM_SDATA: Final = 0x0D
FORM_STRP: Final = 0x0E
FORM_UDATA: Final = 0x0F
FORM_REF_ADDR: Final = 0x10
FORM_REF1: Final = 0x11
FORM_REF2: Final = 0x12
FORM_REF4: Final = 0x13
FORM_REF8: Final = 0x14
FORM_REF_UDATA: Final = 0x15
FORM_INDIRECT: Final = 0x16
FORM_SEC_OFFSET: Final = 0x17
FORM_EXPRLOC: Final = 0x18
FORM_FLAG_PRESENT: Final = 0x19
FORM_STRX: Final = 0x1A
FORM_ADDRX: Final = 0x1B
FORM_REF_SUP4: Final = 0x1C
FORM_STRP_SUP: Final = 0x1D
FORM_DATA16: Final = 0x1E
FORM_LINE_STRP: Final = 0x1F
FORM_REF_SIG8: Final = 0x20
FORM_IMPLICIT_CONST: Final = 0x21
FORM_LOCLISTX: Final = 0x22
FORM_RNGLISTX: Final = 0x23
FORM_REF_SUP8: Final = 0x24
FORM_STRX1: Final = 0x25
FORM_STRX2: Final = 0x26
FORM_STRX3: Final = 0x27
FORM_STRX4: Final = 0x28
FORM_ADDRX1: Final = 0x29
FORM_ADDRX2: Final = 0x2A
FORM_ADDRX3: Final = 0x2B
FORM_ADDRX4: Final = 0x2C
FORM_GNU_ADDR_INDEX: Final = 0x1F01
FORM_GNU_STR_INDEX: Final = 0x1F02
FORM_GNU_REF_ALT: Final = 0x1F20
FORM_GNU_STRP_ALT: Final = 0x1F21

DW_UT_COMPILE: Final = 0x01
DW_UT_TYPE: Final = 0x02
DW_UT_PARTIAL: Final = 0x03
DW_UT_SKELETON: Final = 0x04
DW_UT_SPLIT_COMPILE: Final = 0x05
DW_UT_SPLIT_TYPE: Final = 0x06

Value = int | str | bytes | bool


class DwarfError(Exception):
    """The DWARF data is malformed or uses something this reader does not know."""


def read_uleb128(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Decode an unsigned LEB128 at ``pos``; returns (value, position after it)."""
    result = 0
    shift = 0
    while True:
        try:
            byte = data[pos]
        except IndexError:
            raise DwarfError(f"LEB128 number runs past the end of the data at {pos}") from None
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def read_sleb128(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Decode a signed LEB128 at ``pos``; returns (value, position after it)."""
    result = 0
    shift = 0
    while True:
        try:
            byte = data[pos]
        except IndexError:
            raise DwarfError(f"LEB128 number runs past the end of the data at {pos}") from None
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if byte & 0x40:
                result -= 1 << shift
            return result, pos


@attrs.frozen
class AttrSpec:
    attr: int
    form: int
    implicit_const: int = 0


@attrs.frozen
class Abbrev:
    code: int
    tag: int
    has_children: bool
    specs: tuple[AttrSpec, ...]


def parse_abbrev_table(data: bytes | memoryview, offset: int) -> dict[int, Abbrev]:
    """The abbreviation table starting at ``offset`` of ``.debug_abbrev``, by code."""
    table: dict[int, Abbrev] = {}
    pos = offset
    while True:
        code, pos = read_uleb128(data, pos)
        if code == 0:
            return table
        tag, pos = read_uleb128(data, pos)
        if pos >= len(data):
            raise DwarfError(f"abbreviation {code} is cut short")
        has_children = data[pos] != 0
        pos += 1
        specs: list[AttrSpec] = []
        while True:
            attr, pos = read_uleb128(data, pos)
            form, pos = read_uleb128(data, pos)
            if attr == 0 and form == 0:
                break
            implicit = 0
            if form == FORM_IMPLICIT_CONST:
                implicit, pos = read_sleb128(data, pos)
            specs.append(AttrSpec(attr, form, implicit))
        table[code] = Abbrev(code, tag, has_children, tuple(specs))


@attrs.frozen
class UnitHeader:
    """One unit of ``.debug_info``: ``offset`` of its header, ``end`` just past it."""

    offset: int
    end: int
    version: int
    unit_type: int
    address_size: int
    offset_size: int
    abbrev_offset: int
    first_die: int


def iter_unit_headers(info: bytes | memoryview) -> Iterator[UnitHeader]:
    """Every unit header of ``.debug_info``, reading nothing but the headers."""
    pos = 0
    size = len(info)
    while pos + 11 <= size:
        (length,) = struct.unpack_from("<I", info, pos)
        offset_size = 4
        header_pos = pos + 4
        if length == 0xFFFFFFFF:
            (length,) = struct.unpack_from("<Q", info, pos + 4)
            offset_size = 8
            header_pos = pos + 12
        elif length >= 0xFFFFFFF0:
            raise DwarfError(f"reserved unit length {length:#x} at .debug_info offset {pos}")
        end = header_pos + length
        if end > size:
            raise DwarfError(f"the unit at .debug_info offset {pos} runs past the end of the section")
        (version,) = struct.unpack_from("<H", info, header_pos)
        fmt = "<Q" if offset_size == 8 else "<I"
        if version == 5:
            unit_type = info[header_pos + 2]
            address_size = info[header_pos + 3]
            (abbrev_offset,) = struct.unpack_from(fmt, info, header_pos + 4)
            first = header_pos + 4 + offset_size
            if unit_type in (DW_UT_SKELETON, DW_UT_SPLIT_COMPILE):
                first += 8  # dwo_id
            elif unit_type in (DW_UT_TYPE, DW_UT_SPLIT_TYPE):
                first += 8 + offset_size  # type_signature, type_offset
        elif version in (2, 3, 4):
            unit_type = DW_UT_COMPILE
            (abbrev_offset,) = struct.unpack_from(fmt, info, header_pos + 2)
            address_size = info[header_pos + 2 + offset_size]
            first = header_pos + 3 + offset_size
        else:
            raise DwarfError(f"DWARF version {version} (unit at .debug_info offset {pos}) is not supported")
        yield UnitHeader(pos, end, version, unit_type, address_size, offset_size, abbrev_offset, first)
        pos = end


class Die:
    """One debugging information entry; ``children`` is kept only where the caller asked for it."""

    __slots__ = ("attrs", "children", "offset", "tag")

    def __init__(self, offset: int, tag: int, attrs: dict[int, Value]) -> None:
        self.offset = offset
        self.tag = tag
        self.attrs = attrs
        self.children: list[Die] = []

    @property
    def name(self) -> str | None:
        value = self.attrs.get(AT_NAME)
        return value if isinstance(value, str) else None

    def int_attr(self, attr: int) -> int | None:
        value = self.attrs.get(attr)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def __repr__(self) -> str:
        return f"Die({self.offset:#x}, tag={self.tag:#x}, name={self.name!r})"


@attrs.frozen
class StringSections:
    """Where DW_FORM_strp / line_strp / strx strings live (empty when the binary has none)."""

    debug_str: bytes = b""
    debug_line_str: bytes = b""
    debug_str_offsets: bytes = b""


def _cstring(data: bytes, pos: int) -> str:
    end = data.find(b"\0", pos)
    if end < 0:
        raise DwarfError(f"unterminated string at offset {pos}")
    return data[pos:end].decode("utf-8", "replace")


_FIXED_SIZES: Final[Mapping[int, int]] = {
    FORM_DATA1: 1, FORM_REF1: 1, FORM_FLAG: 1, FORM_STRX1: 1, FORM_ADDRX1: 1,
    FORM_DATA2: 2, FORM_REF2: 2, FORM_STRX2: 2, FORM_ADDRX2: 2,
    FORM_STRX3: 3, FORM_ADDRX3: 3,
    FORM_DATA4: 4, FORM_REF4: 4, FORM_STRX4: 4, FORM_ADDRX4: 4, FORM_REF_SUP4: 4,
    FORM_DATA8: 8, FORM_REF8: 8, FORM_REF_SIG8: 8, FORM_REF_SUP8: 8,
    FORM_DATA16: 16,
}  # fmt: skip
_OFFSET_SIZED: Final = frozenset(
    {FORM_STRP, FORM_REF_ADDR, FORM_SEC_OFFSET, FORM_LINE_STRP, FORM_STRP_SUP, FORM_GNU_REF_ALT, FORM_GNU_STRP_ALT}
)
_ULEB_FORMS: Final = frozenset(
    {FORM_UDATA, FORM_STRX, FORM_ADDRX, FORM_LOCLISTX, FORM_RNGLISTX, FORM_GNU_ADDR_INDEX, FORM_GNU_STR_INDEX}
)
_CU_RELATIVE_REFS: Final = frozenset({FORM_REF1, FORM_REF2, FORM_REF4, FORM_REF8, FORM_REF_UDATA})
_STRX_FORMS: Final = frozenset({FORM_STRX, FORM_STRX1, FORM_STRX2, FORM_STRX3, FORM_STRX4, FORM_GNU_STR_INDEX})


class UnitReader:
    """Decodes the DIEs of units of one ``.debug_info`` section."""

    def __init__(self, info: bytes, abbrev: bytes, strings: StringSections | None = None) -> None:
        self.info = info
        self.abbrev = abbrev
        self.strings = strings or StringSections()
        self._tables: dict[int, dict[int, Abbrev]] = {}

    def abbrevs(self, offset: int) -> dict[int, Abbrev]:
        table = self._tables.get(offset)
        if table is None:
            table = self._tables[offset] = parse_abbrev_table(self.abbrev, offset)
        return table

    def unit_die(self, unit: UnitHeader) -> Die:
        """The unit's own DIE (compile unit), without its children."""
        dies = self.read_unit(unit, keep_children=lambda die: False, max_depth=0)
        if not dies:
            raise DwarfError(f"the unit at .debug_info offset {unit.offset} has no DIE")
        return dies[0]

    def read_unit(
        self,
        unit: UnitHeader,
        *,
        keep_children: Callable[[Die], bool] = lambda die: die.tag != TAG_SUBPROGRAM,
        max_depth: int = 1 << 30,
    ) -> list[Die]:
        """The unit DIE (with its kept subtree) as a one-element list.

        ``keep_children(die)`` decides whether ``die``'s children are stored; DIEs below a DIE whose
        children are not kept are decoded (there is no other way to find the next sibling without
        DW_AT_sibling) but not stored. Decoding stops after the unit DIE when ``max_depth`` is 0.
        """
        info = self.info
        table = self.abbrevs(unit.abbrev_offset)
        offset_size = unit.offset_size
        address_size = unit.address_size
        offset_fmt = "<Q" if offset_size == 8 else "<I"
        address_fmt = {8: "<Q", 4: "<I", 2: "<H", 1: "<B"}.get(address_size)
        if address_fmt is None:
            raise DwarfError(f"address size {address_size} is not supported")
        unit_offset = unit.offset
        strings = self.strings
        str_offsets_base = 0

        roots: list[Die] = []
        # Stack of (die or None when not stored). A None parent means "decode, do not store".
        stack: list[Die | None] = []
        pos = unit.first_die
        end = unit.end
        while pos < end:
            die_offset = pos
            code, pos = read_uleb128(info, pos)
            if code == 0:
                if stack:
                    stack.pop()
                if not stack and roots:
                    break
                continue
            abbrev = table.get(code)
            if abbrev is None:
                raise DwarfError(f"unknown abbreviation {code} at .debug_info offset {die_offset}")
            parent = stack[-1] if stack else None
            store = not stack or parent is not None
            values: dict[int, Value] = {}
            for spec in abbrev.specs:
                form = spec.form
                if form == FORM_INDIRECT:
                    form, pos = read_uleb128(info, pos)
                value: Value
                if form == FORM_STRING:
                    nul = info.find(b"\0", pos)
                    if nul < 0 or nul >= end:
                        raise DwarfError(f"unterminated string at .debug_info offset {pos}")
                    value = info[pos:nul].decode("utf-8", "replace") if store else ""
                    pos = nul + 1
                elif form in _FIXED_SIZES:
                    size = _FIXED_SIZES[form]
                    number = int.from_bytes(info[pos : pos + size], "little")
                    pos += size
                    if form in _CU_RELATIVE_REFS:
                        value = number + unit_offset
                    elif form == FORM_FLAG:
                        value = number != 0
                    elif store and form in _STRX_FORMS:
                        value = self._strx(number, str_offsets_base, offset_size)
                    else:
                        value = number
                elif form in _OFFSET_SIZED:
                    (offset,) = struct.unpack_from(offset_fmt, info, pos)
                    pos += offset_size
                    if store and form == FORM_STRP:
                        value = _cstring(strings.debug_str, offset)
                    elif store and form == FORM_LINE_STRP:
                        value = _cstring(strings.debug_line_str, offset)
                    else:
                        value = offset
                elif form in _ULEB_FORMS:
                    number, pos = read_uleb128(info, pos)
                    value = (
                        self._strx(number, str_offsets_base, offset_size) if store and form in _STRX_FORMS else number
                    )
                elif form == FORM_SDATA:
                    value, pos = read_sleb128(info, pos)
                elif form == FORM_REF_UDATA:
                    number, pos = read_uleb128(info, pos)
                    value = number + unit_offset
                elif form == FORM_ADDR:
                    (value,) = struct.unpack_from(address_fmt, info, pos)
                    pos += address_size
                elif form == FORM_FLAG_PRESENT:
                    value = True
                elif form == FORM_IMPLICIT_CONST:
                    value = spec.implicit_const
                elif form in (FORM_BLOCK1, FORM_BLOCK2, FORM_BLOCK4, FORM_BLOCK, FORM_EXPRLOC):
                    if form == FORM_BLOCK1:
                        length = info[pos]
                        pos += 1
                    elif form == FORM_BLOCK2:
                        (length,) = struct.unpack_from("<H", info, pos)
                        pos += 2
                    elif form == FORM_BLOCK4:
                        (length,) = struct.unpack_from("<I", info, pos)
                        pos += 4
                    else:
                        length, pos = read_uleb128(info, pos)
                    value = info[pos : pos + length] if store else b""
                    pos += length
                else:
                    raise DwarfError(f"unknown attribute form {form:#x} at .debug_info offset {die_offset}")
                values[spec.attr] = value
            if pos > end:
                raise DwarfError(f"the DIE at .debug_info offset {die_offset} runs past its unit")
            die: Die | None = None
            if store:
                die = Die(die_offset, abbrev.tag, values)
                if parent is None:
                    roots.append(die)
                    base = values.get(AT_STR_OFFSETS_BASE)
                    if isinstance(base, int):
                        str_offsets_base = base
                else:
                    parent.children.append(die)
            if abbrev.has_children:
                if max_depth == 0 and not stack:
                    break
                stack.append(die if die is not None and keep_children(die) else None)
            elif not stack:
                break  # a childless unit DIE
        return roots

    def _strx(self, index: int, base: int, offset_size: int) -> str:
        table = self.strings.debug_str_offsets
        at = base + index * offset_size
        if at + offset_size > len(table):
            raise DwarfError(f"string index {index} is outside .debug_str_offsets")
        offset = int.from_bytes(table[at : at + offset_size], "little")
        return _cstring(self.strings.debug_str, offset)
