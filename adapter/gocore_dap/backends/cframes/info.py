"""Just enough of `.debug_info` to name the functions at a PC: compile units, subprograms and the inlined
subroutines nested in them, with their address ranges (DWARF 2 to 5, as GCC, Clang and Go write it).

Everything else is skipped by form. The DIE tree is never kept: `scopes_at` walks one compile unit and
returns the chain of DIEs whose ranges hold the PC, outermost (the subprogram) first.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping

import attrs

from gocore_dap.backends.cframes.sections import Cursor, DwarfFormatError, cstring_at, section

__all__ = ["LANG_GO", "AttrValue", "CompileUnit", "DebugInfo", "Die"]

# Tags and attributes (DWARF 5, section 7.5).
TAG_COMPILE_UNIT = 0x11
TAG_PARTIAL_UNIT = 0x3C
TAG_SKELETON_UNIT = 0x4A
TAG_SUBPROGRAM = 0x2E
TAG_INLINED_SUBROUTINE = 0x1D
TAG_LEXICAL_BLOCK = 0x0B
_SCOPE_TAGS = frozenset({TAG_SUBPROGRAM, TAG_INLINED_SUBROUTINE, TAG_LEXICAL_BLOCK})

AT_SIBLING = 0x01
AT_NAME = 0x03
AT_STMT_LIST = 0x10
AT_LOW_PC = 0x11
AT_HIGH_PC = 0x12
AT_LANGUAGE = 0x13
AT_COMP_DIR = 0x1B
AT_ABSTRACT_ORIGIN = 0x31
AT_SPECIFICATION = 0x47
AT_RANGES = 0x55
AT_CALL_FILE = 0x58
AT_CALL_LINE = 0x59
AT_LINKAGE_NAME = 0x6E
AT_STR_OFFSETS_BASE = 0x72
AT_ADDR_BASE = 0x73
AT_RNGLISTS_BASE = 0x74
AT_MIPS_LINKAGE_NAME = 0x2007

LANG_GO = 0x16

# Forms (section 7.5.6), by how their value is read.
_F_ADDR = 0x01
_F_BLOCK2, _F_BLOCK4, _F_DATA2, _F_DATA4, _F_DATA8, _F_STRING, _F_BLOCK, _F_BLOCK1 = range(0x03, 0x0B)
_F_DATA1, _F_FLAG, _F_SDATA, _F_STRP, _F_UDATA, _F_REF_ADDR = range(0x0B, 0x11)
_F_REF1, _F_REF2, _F_REF4, _F_REF8, _F_REF_UDATA, _F_INDIRECT, _F_SEC_OFFSET = range(0x11, 0x18)
_F_EXPRLOC, _F_FLAG_PRESENT, _F_STRX, _F_ADDRX, _F_REF_SUP4, _F_STRP_SUP, _F_DATA16 = range(0x18, 0x1F)
_F_LINE_STRP, _F_REF_SIG8, _F_IMPLICIT_CONST, _F_LOCLISTX, _F_RNGLISTX, _F_REF_SUP8 = range(0x1F, 0x25)
_F_STRX1, _F_STRX2, _F_STRX3, _F_STRX4, _F_ADDRX1, _F_ADDRX2, _F_ADDRX3, _F_ADDRX4 = range(0x25, 0x2D)
_F_GNU_ADDR_INDEX, _F_GNU_STR_INDEX, _F_GNU_REF_ALT, _F_GNU_STRP_ALT = 0x1F01, 0x1F02, 0x1F20, 0x1F21

_CU_RELATIVE_REFS = frozenset({_F_REF1, _F_REF2, _F_REF4, _F_REF8, _F_REF_UDATA})
_STRX = frozenset({_F_STRX, _F_STRX1, _F_STRX2, _F_STRX3, _F_STRX4, _F_GNU_STR_INDEX})
_ADDRX = frozenset({_F_ADDRX, _F_ADDRX1, _F_ADDRX2, _F_ADDRX3, _F_ADDRX4, _F_GNU_ADDR_INDEX})
_CONSTANTS = frozenset({_F_DATA1, _F_DATA2, _F_DATA4, _F_DATA8, _F_SDATA, _F_UDATA, _F_IMPLICIT_CONST})

# Range lists (DWARF 5 .debug_rnglists entry kinds).
_RLE_END, _RLE_BASE_X, _RLE_STARTX_ENDX, _RLE_STARTX_LENGTH, _RLE_OFFSET_PAIR = range(5)
_RLE_BASE, _RLE_START_END, _RLE_START_LENGTH = range(5, 8)


@attrs.frozen(slots=True)
class AttrValue:
    form: int
    value: int | str | bytes


@attrs.frozen(slots=True)
class _AbbrevAttr:
    name: int
    form: int
    implicit: int


@attrs.frozen(slots=True)
class _Abbrev:
    tag: int
    has_children: bool
    attrs: tuple[_AbbrevAttr, ...]


@attrs.frozen(slots=True)
class Die:
    offset: int  # in .debug_info
    tag: int
    has_children: bool
    attrs: Mapping[int, AttrValue]
    unit: CompileUnit


def _parse_abbrevs(data: bytes, offset: int) -> dict[int, _Abbrev]:
    cur = Cursor(data, offset)
    table: dict[int, _Abbrev] = {}
    while True:
        code = cur.uleb()
        if code == 0:
            return table
        tag = cur.uleb()
        has_children = cur.u8() != 0
        specs = []
        while True:
            name = cur.uleb()
            form = cur.uleb()
            implicit = cur.sleb() if form == _F_IMPLICIT_CONST else 0
            if name == 0 and form == 0:
                break
            specs.append(_AbbrevAttr(name, form, implicit))
        table[code] = _Abbrev(tag, has_children, tuple(specs))


@attrs.define
class CompileUnit:
    """One unit of .debug_info: its header, and the root DIE's attributes the others need."""

    info: DebugInfo
    offset: int  # of the unit header
    end: int  # offset of the next unit
    version: int
    address_size: int
    offset_size: int
    abbrevs: dict[int, _Abbrev]
    first_die: int
    str_offsets_base: int = 8
    addr_base: int = 8
    rnglists_base: int = 0
    low_pc: int = 0
    language: int = 0
    name: str = ""
    comp_dir: str = ""
    stmt_list: int | None = None
    _top_index: list[tuple[int, int, int]] | None = None

    @property
    def is_go(self) -> bool:
        return self.language == LANG_GO

    # -- values --------------------------------------------------------------------------------------------

    def string(self, value: AttrValue) -> str:
        form = value.form
        if isinstance(value.value, str):
            return value.value
        if not isinstance(value.value, int):
            return ""
        info = self.info
        if form == _F_STRP:
            return cstring_at(info.debug_str, value.value)
        if form == _F_LINE_STRP:
            return cstring_at(info.debug_line_str, value.value)
        if form in _STRX:
            cur = Cursor(info.debug_str_offsets, self.str_offsets_base + value.value * self.offset_size)
            return cstring_at(info.debug_str, cur.uint(self.offset_size))
        return ""

    def address(self, value: AttrValue) -> int:
        if not isinstance(value.value, int):
            return 0
        if value.form in _ADDRX:
            cur = Cursor(self.info.debug_addr, self.addr_base + value.value * self.address_size)
            return cur.uint(self.address_size)
        return value.value

    def reference(self, value: AttrValue) -> int:
        """A reference attribute as an offset into .debug_info."""
        if not isinstance(value.value, int):
            raise DwarfFormatError(f"reference of form {value.form:#x} has no offset")
        if value.form in _CU_RELATIVE_REFS:
            return self.offset + value.value
        if value.form == _F_REF_ADDR:
            return value.value
        raise DwarfFormatError(f"references of form {value.form:#x} (other files, type units) are not read")

    def ranges(self, die: Die) -> list[tuple[int, int]]:
        """The [low, high) address ranges of a DIE (none for a declaration or an abstract instance)."""
        attrs_ = die.attrs
        ranges = attrs_.get(AT_RANGES)
        if ranges is not None and isinstance(ranges.value, int):
            # With DW_AT_ranges, a DW_AT_low_pc (compile units) is only the lists' base address.
            if self.version >= 5:
                return self._rnglist(ranges)
            return self._debug_ranges(ranges.value)
        low = attrs_.get(AT_LOW_PC)
        if low is None:
            return []
        start = self.address(low)
        high = attrs_.get(AT_HIGH_PC)
        if high is None:
            return [(start, start + 1)]
        if high.form in _CONSTANTS and isinstance(high.value, int):
            return [(start, start + high.value)]
        return [(start, self.address(high))]

    def _rnglist(self, value: AttrValue) -> list[tuple[int, int]]:
        data = self.info.debug_rnglists
        assert isinstance(value.value, int)
        if value.form == _F_RNGLISTX:
            offset = self.rnglists_base + Cursor(data, self.rnglists_base + value.value * self.offset_size).uint(
                self.offset_size
            )
        else:
            offset = value.value
        cur = Cursor(data, offset)
        base = self.low_pc
        out: list[tuple[int, int]] = []
        size = self.address_size
        while True:
            kind = cur.u8()
            if kind == _RLE_END:
                return out
            if kind == _RLE_BASE_X:
                base = self.address(AttrValue(_F_ADDRX, cur.uleb()))
            elif kind == _RLE_STARTX_ENDX:
                start = self.address(AttrValue(_F_ADDRX, cur.uleb()))
                out.append((start, self.address(AttrValue(_F_ADDRX, cur.uleb()))))
            elif kind == _RLE_STARTX_LENGTH:
                start = self.address(AttrValue(_F_ADDRX, cur.uleb()))
                out.append((start, start + cur.uleb()))
            elif kind == _RLE_OFFSET_PAIR:
                start = cur.uleb()
                out.append((base + start, base + cur.uleb()))
            elif kind == _RLE_BASE:
                base = cur.uint(size)
            elif kind == _RLE_START_END:
                start = cur.uint(size)
                out.append((start, cur.uint(size)))
            elif kind == _RLE_START_LENGTH:
                start = cur.uint(size)
                out.append((start, start + cur.uleb()))
            else:
                raise DwarfFormatError(f"unknown range list entry kind {kind}")

    def _debug_ranges(self, offset: int) -> list[tuple[int, int]]:
        cur = Cursor(self.info.debug_ranges, offset)
        size = self.address_size
        escape = (1 << (8 * size)) - 1
        base = self.low_pc
        out: list[tuple[int, int]] = []
        while True:
            start = cur.uint(size)
            end = cur.uint(size)
            if start == 0 and end == 0:
                return out
            if start == escape:
                base = end
            else:
                out.append((base + start, base + end))

    # -- DIEs ------------------------------------------------------------------------------------------------

    def _read_value(self, cur: Cursor, form: int, implicit: int) -> int | str | bytes:
        if form == _F_INDIRECT:
            return self._read_value(cur, cur.uleb(), implicit)
        if form in (_F_ADDR,):
            return cur.uint(self.address_size)
        if form in (_F_DATA1, _F_REF1, _F_FLAG, _F_STRX1, _F_ADDRX1):
            return cur.u8()
        if form in (_F_DATA2, _F_REF2, _F_STRX2, _F_ADDRX2):
            return cur.u16()
        if form in (_F_STRX3, _F_ADDRX3):
            return cur.u24()
        if form in (_F_DATA4, _F_REF4, _F_REF_SUP4, _F_STRX4, _F_ADDRX4):
            return cur.u32()
        if form in (_F_DATA8, _F_REF8, _F_REF_SIG8, _F_REF_SUP8):
            return cur.u64()
        if form in (_F_UDATA, _F_REF_UDATA, _F_STRX, _F_ADDRX, _F_LOCLISTX, _F_RNGLISTX, _F_GNU_ADDR_INDEX,
                    _F_GNU_STR_INDEX):  # fmt: skip
            return cur.uleb()
        if form == _F_SDATA:
            return cur.sleb()
        if form in (_F_STRP, _F_LINE_STRP, _F_SEC_OFFSET, _F_STRP_SUP, _F_GNU_REF_ALT, _F_GNU_STRP_ALT):
            return cur.uint(self.offset_size)
        if form == _F_REF_ADDR:
            return cur.uint(self.offset_size if self.version >= 3 else self.address_size)
        if form == _F_STRING:
            return cur.cstring()
        if form == _F_FLAG_PRESENT:
            return 1
        if form == _F_IMPLICIT_CONST:
            return implicit
        if form == _F_DATA16:
            cur.skip(16)
            return 0
        if form in (_F_BLOCK, _F_EXPRLOC):
            size = cur.uleb()
        elif form == _F_BLOCK1:
            size = cur.u8()
        elif form == _F_BLOCK2:
            size = cur.u16()
        elif form == _F_BLOCK4:
            size = cur.u32()
        else:
            raise DwarfFormatError(f"unknown attribute form {form:#x} at {cur.pos:#x}")
        start = cur.pos
        cur.skip(size)
        return cur.data[start : start + size]

    def read_die(self, cur: Cursor) -> Die | None:
        """The DIE at the cursor (None for the null entry that ends a list of children)."""
        offset = cur.pos
        code = cur.uleb()
        if code == 0:
            return None
        abbrev = self.abbrevs.get(code)
        if abbrev is None:
            raise DwarfFormatError(f"DIE at {offset:#x} uses abbreviation {code}, which its unit does not define")
        values = {spec.name: AttrValue(spec.form, self._read_value(cur, spec.form, spec.implicit))
                  for spec in abbrev.attrs}  # fmt: skip
        return Die(offset, abbrev.tag, abbrev.has_children, values, self)

    def die_at(self, offset: int) -> Die:
        die = self.read_die(Cursor(self.info.debug_info, offset))
        if die is None:
            raise DwarfFormatError(f"no DIE at {offset:#x}")
        return die

    def top_level_dies(self) -> Iterator[Die]:
        """The DIEs right under the unit's root (subprograms, types, variables), in order; their children
        are skipped by DW_AT_sibling where the producer gave one."""
        cur = Cursor(self.info.debug_info, self.first_die)
        root = self.read_die(cur)
        depth = 0
        while root is not None and root.has_children and cur.pos < self.end:
            die = self.read_die(cur)
            if die is None:
                if depth == 0:
                    break
                depth -= 1
                continue
            if depth == 0:
                yield die
            if die.has_children:
                sibling = die.attrs.get(AT_SIBLING)
                if sibling is not None and sibling.form in _CU_RELATIVE_REFS:
                    cur.pos = self.reference(sibling)
                else:
                    depth += 1

    def _top_scopes(self) -> list[tuple[int, int, int]]:
        """(low, high, DIE offset) of every subprogram (and other scope) right under the unit's root,
        sorted: built by one walk over the unit, then every lookup walks one subprogram only."""
        if self._top_index is not None:
            return self._top_index
        index = [
            (lo, hi, die.offset)
            for die in self.top_level_dies()
            if die.tag in _SCOPE_TAGS
            for lo, hi in self.ranges(die)
            if hi > lo
        ]
        index.sort()
        self._top_index = index
        return index

    def scopes_at(self, pc: int) -> list[Die]:
        """The subprogram holding `pc` and the inlined subroutines (and lexical blocks) within it that hold
        it too, outermost first; [] when no subprogram of this unit holds it."""
        index = self._top_scopes()
        at = bisect.bisect_right(index, (pc, 1 << 64, 1 << 64)) - 1
        while at >= 0 and index[at][0] <= pc:
            low, high, offset = index[at]
            if low <= pc < high:
                cur = Cursor(self.info.debug_info, offset)
                die = self.read_die(cur)
                assert die is not None
                return self._scopes_below(cur, die, pc)
            at -= 1
        return []

    def _scopes_below(self, cur: Cursor, top: Die, pc: int) -> list[Die]:
        """`top` and, from the cursor on its children, the chain of nested scopes that hold pc. A scope
        that holds pc is entered (its children are the next level searched); any other DIE with children
        is skipped, through DW_AT_sibling when the producer wrote it."""
        chain = [top]
        if not top.has_children:
            return chain
        depth = 1  # the children of `top`
        holding_depth = 1  # how many levels of `chain` are open
        while cur.pos < self.end:
            die = self.read_die(cur)
            if die is None:
                depth -= 1
                if depth < holding_depth:
                    return chain
                continue
            enters = False
            if die.tag in _SCOPE_TAGS and depth == holding_depth and any(lo <= pc < hi for lo, hi in self.ranges(die)):
                chain.append(die)
                holding_depth += 1
                enters = True
            if die.has_children:
                sibling = die.attrs.get(AT_SIBLING)
                if not enters and sibling is not None and sibling.form in _CU_RELATIVE_REFS:
                    cur.pos = self.reference(sibling)
                else:
                    depth += 1
        return chain


class DebugInfo:
    """The compile units of one executable's .debug_info, found by address."""

    def __init__(self, sections: Mapping[str, bytes]) -> None:
        self.debug_info = section(sections, ".debug_info")
        self.debug_abbrev = section(sections, ".debug_abbrev")
        self.debug_str = section(sections, ".debug_str")
        self.debug_line_str = section(sections, ".debug_line_str")
        self.debug_str_offsets = section(sections, ".debug_str_offsets")
        self.debug_addr = section(sections, ".debug_addr")
        self.debug_ranges = section(sections, ".debug_ranges")
        self.debug_rnglists = section(sections, ".debug_rnglists")
        self._aranges = section(sections, ".debug_aranges")
        self._abbrev_tables: dict[int, dict[int, _Abbrev]] = {}
        self._units: list[CompileUnit] | None = None
        self._by_offset: dict[int, CompileUnit] = {}
        self._unit_ranges: list[tuple[int, int, int]] | None = None  # (low, high, unit index), sorted

    def units(self) -> list[CompileUnit]:
        if self._units is None:
            self._units = list(self._read_units())
        return self._units

    def _read_units(self) -> Iterator[CompileUnit]:
        pos = 0
        while pos + 11 <= len(self.debug_info):
            unit = self._unit_at_offset(pos)
            yield unit
            if unit.end <= pos:
                break
            pos = unit.end

    def _unit_at_offset(self, pos: int) -> CompileUnit:
        """The unit whose header is at `pos` (read once)."""
        unit = self._by_offset.get(pos)
        if unit is not None:
            return unit
        cur = Cursor(self.debug_info, pos)
        length, offset_size = cur.initial_length()
        end = cur.pos + length
        version = cur.u16()
        if version >= 5:
            unit_type = cur.u8()
            address_size = cur.u8()
            abbrev_offset = cur.uint(offset_size)
            if unit_type in (4, 5):  # skeleton / split compile: dwo id
                cur.skip(8)
            elif unit_type in (2, 6):  # type units: signature and type offset
                cur.skip(8 + offset_size)
        else:
            abbrev_offset = cur.uint(offset_size)
            address_size = cur.u8()
        abbrevs = self._abbrev_tables.get(abbrev_offset)
        if abbrevs is None:
            abbrevs = self._abbrev_tables[abbrev_offset] = _parse_abbrevs(self.debug_abbrev, abbrev_offset)
        unit = CompileUnit(self, pos, end, version, address_size, offset_size, abbrevs, cur.pos)
        self._read_root(unit)
        self._by_offset[pos] = unit
        return unit

    @staticmethod
    def _read_root(unit: CompileUnit) -> None:
        root = unit.read_die(Cursor(unit.info.debug_info, unit.first_die))
        if root is None:
            return
        values = root.attrs
        for attribute, field in ((AT_STR_OFFSETS_BASE, "str_offsets_base"), (AT_ADDR_BASE, "addr_base"),
                                 (AT_RNGLISTS_BASE, "rnglists_base")):  # fmt: skip
            if attribute in values and isinstance(values[attribute].value, int):
                setattr(unit, field, values[attribute].value)
        if AT_LOW_PC in values:
            unit.low_pc = unit.address(values[AT_LOW_PC])
        language = values[AT_LANGUAGE].value if AT_LANGUAGE in values else 0
        if isinstance(language, int):
            unit.language = language
        if AT_NAME in values:
            unit.name = unit.string(values[AT_NAME])
        if AT_COMP_DIR in values:
            unit.comp_dir = unit.string(values[AT_COMP_DIR])
        stmt_list = values[AT_STMT_LIST].value if AT_STMT_LIST in values else None
        if isinstance(stmt_list, int):
            unit.stmt_list = stmt_list

    def _ranges_index(self) -> list[tuple[int, int, int]]:
        if self._unit_ranges is None:
            entries: list[tuple[int, int, int]] = []
            for index, unit in enumerate(self.units()):
                root = unit.read_die(Cursor(self.debug_info, unit.first_die))
                if root is not None:
                    entries.extend((lo, hi, index) for lo, hi in unit.ranges(root) if hi > lo)
            entries.sort()
            self._unit_ranges = entries
        return self._unit_ranges

    def unit_at(self, pc: int) -> CompileUnit | None:
        """The compile unit whose code holds `pc`: from .debug_aranges when the producer wrote it (GCC
        does, Go's linker does not), else from the units' own ranges."""
        offset = self._aranges_lookup(pc)
        if offset is not None and offset + 11 <= len(self.debug_info):
            return self._unit_at_offset(offset)
        entries = self._ranges_index()
        at = bisect.bisect_right(entries, (pc, 1 << 64, 1 << 30)) - 1
        # Ranges of different units do not overlap, but a unit's ranges can be many: look back a little.
        while at >= 0:
            lo, hi, index = entries[at]
            if lo <= pc < hi:
                return self.units()[index]
            if hi <= pc and lo < pc - (1 << 24):
                break
            at -= 1
        return None

    def unit_containing_offset(self, offset: int) -> CompileUnit:
        for unit in self.units():
            if unit.offset <= offset < unit.end:
                return unit
        raise DwarfFormatError(f"no compile unit holds .debug_info offset {offset:#x}")

    def _aranges_lookup(self, pc: int) -> int | None:
        data = self._aranges
        pos = 0
        while pos + 12 <= len(data):
            cur = Cursor(data, pos)
            length, offset_size = cur.initial_length()
            end = cur.pos + length
            cur.u16()  # version
            info_offset = cur.uint(offset_size)
            address_size = cur.u8()
            cur.u8()  # segment selector size
            tuple_size = 2 * address_size
            cur.pos += (-(cur.pos - pos)) % tuple_size  # the header is padded to a multiple of a tuple
            while cur.pos + tuple_size <= end:
                start = cur.uint(address_size)
                size = cur.uint(address_size)
                if start == 0 and size == 0:
                    break
                if start <= pc < start + size:
                    return info_offset
            if end <= pos:
                break
            pos = end
        return None
