"""The direct reader's DWARF reader and type graph on small hand-built DWARF 4 and 5 sections."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import attrs
import pytest

from gocore_dap.backends.direct import dwarf as D
from gocore_dap.backends.direct.layouts import TypeGraph, _label_plan, _slice_label_plan
from tests.unit.test_direct_pclntab import uvarint


def sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def abbrev_table(entries: Sequence[tuple[int, int, bool, Sequence[tuple[int, int] | tuple[int, int, int]]]]) -> bytes:
    out = bytearray()
    for code, tag, children, specs in entries:
        out += uvarint(code) + uvarint(tag) + bytes([1 if children else 0])
        for spec in specs:
            out += uvarint(spec[0]) + uvarint(spec[1])
            if spec[1] == D.FORM_IMPLICIT_CONST:
                out += sleb(spec[2])  # type: ignore[misc]
        out += b"\0\0"
    out += b"\0"
    return bytes(out)


# Abbreviations shaped like the Go linker's (DW_FORM_string names, DW_FORM_ref_addr types), plus
# forms Go does not use, to cover the decoder.
ABBREVS = abbrev_table(
    [
        (1, D.TAG_COMPILE_UNIT, True, [(D.AT_NAME, D.FORM_STRING)]),
        (2, D.TAG_STRUCTURE_TYPE, True, [(D.AT_NAME, D.FORM_STRING), (D.AT_BYTE_SIZE, D.FORM_DATA1),
                                         (D.AT_GO_KIND, D.FORM_DATA1)]),
        (3, D.TAG_MEMBER, False, [(D.AT_NAME, D.FORM_STRING), (D.AT_DATA_MEMBER_LOCATION, D.FORM_UDATA),
                                  (D.AT_TYPE, D.FORM_REF_ADDR)]),
        (4, D.TAG_BASE_TYPE, False, [(D.AT_NAME, D.FORM_STRP), (D.AT_BYTE_SIZE, D.FORM_DATA1)]),
        (5, D.TAG_CONSTANT, False, [(D.AT_NAME, D.FORM_STRING), (D.AT_CONST_VALUE, D.FORM_SDATA)]),
        (6, D.TAG_SUBPROGRAM, True, [(D.AT_NAME, D.FORM_STRING), (0x11, D.FORM_ADDR), (0x40, D.FORM_EXPRLOC)]),
        (7, D.TAG_VARIABLE, False, [(D.AT_NAME, D.FORM_STRING), (0x3B, D.FORM_IMPLICIT_CONST, 42),
                                    (0x3F, D.FORM_FLAG_PRESENT), (D.AT_TYPE, D.FORM_REF4)]),
        (8, D.TAG_TYPEDEF, False, [(D.AT_NAME, D.FORM_STRING), (D.AT_TYPE, D.FORM_REF4)]),
        (9, D.TAG_POINTER_TYPE, False, [(D.AT_NAME, D.FORM_STRING), (D.AT_TYPE, D.FORM_REF_ADDR)]),
        (10, D.TAG_BASE_TYPE, False, [(D.AT_NAME, D.FORM_LINE_STRP), (D.AT_BYTE_SIZE, D.FORM_DATA2),
                                      (0x3E, D.FORM_DATA4), (0x88, D.FORM_DATA8), (0x8C, D.FORM_BLOCK1),
                                      (0x8D, D.FORM_FLAG)]),
    ]
)  # fmt: skip


@attrs.define
class Die:
    """A DIE to encode: attribute values in abbreviation order; str values of refs name other DIEs."""

    label: str
    code: int
    values: list[object]
    children: list[Die] = attrs.field(factory=list)


class UnitBuilder:
    """Lays out DIEs after a DWARF 4 or 5 header and resolves references by label."""

    def __init__(self, version: int = 5, base: int = 0) -> None:
        self.version = version
        self.base = base  # offset of this unit in .debug_info
        self.abbrevs = D.parse_abbrev_table(ABBREVS, 0)
        self.offsets: dict[str, int] = {}

    def header_size(self) -> int:
        return 4 + (2 + 1 + 1 + 4 if self.version >= 5 else 2 + 4 + 1)

    def encode(self, root: Die) -> bytes:
        self.offsets = {}
        self._layout(root, self.base + self.header_size())
        body = self._encode(root)
        length = self.header_size() - 4 + len(body)
        if self.version >= 5:
            header = struct.pack("<IHBBI", length, self.version, D.DW_UT_COMPILE, 8, 0)
        else:
            header = struct.pack("<IHIB", length, self.version, 0, 8)
        return header + body

    def _layout(self, die: Die, at: int) -> int:
        self.offsets[die.label] = at
        at += len(self._die_bytes(die, resolve=False))
        if self.abbrevs[die.code].has_children:
            for child in die.children:
                at = self._layout(child, at)
            at += 1
        return at

    def _encode(self, die: Die) -> bytes:
        out = self._die_bytes(die, resolve=True)
        if self.abbrevs[die.code].has_children:
            for child in die.children:
                out += self._encode(child)
            out += b"\0"
        return out

    def _die_bytes(self, die: Die, *, resolve: bool) -> bytes:
        out = bytearray(uvarint(die.code))
        for spec, value in zip(self.abbrevs[die.code].specs, die.values, strict=True):
            form = spec.form
            if form == D.FORM_STRING:
                out += str(value).encode() + b"\0"
            elif form in (D.FORM_DATA1, D.FORM_FLAG):
                out += struct.pack("<B", value)
            elif form == D.FORM_DATA2:
                out += struct.pack("<H", value)
            elif form in (D.FORM_DATA4, D.FORM_STRP, D.FORM_LINE_STRP):
                out += struct.pack("<I", value)
            elif form == D.FORM_DATA8 or form == D.FORM_ADDR:
                out += struct.pack("<Q", value)
            elif form == D.FORM_UDATA:
                out += uvarint(int(value))  # type: ignore[call-overload]
            elif form == D.FORM_SDATA:
                out += sleb(int(value))  # type: ignore[call-overload]
            elif form in (D.FORM_REF_ADDR, D.FORM_REF4):
                target = self.offsets.get(str(value), 0) if resolve else 0
                if form == D.FORM_REF4 and resolve:
                    target -= self.base
                out += struct.pack("<I", target)
            elif form in (D.FORM_EXPRLOC, D.FORM_BLOCK1):
                data = bytes(value)  # type: ignore[call-overload]
                out += (uvarint(len(data)) if form == D.FORM_EXPRLOC else bytes([len(data)])) + data
            elif form in (D.FORM_IMPLICIT_CONST, D.FORM_FLAG_PRESENT):
                pass
            else:
                raise AssertionError(form)
        return bytes(out)


DEBUG_STR = b"\0uint32\0uintptr\0"
DEBUG_LINE_STR = b"\0\0int64\0"


def runtime_unit() -> Die:
    """A "runtime" unit with a g whose status is an atomic wrapper and whose waiting field is a
    maybeTraceablePtr-like {vp, vu}, a label set type, a constant, and a function with children."""
    return Die("cu", 1, ["runtime"], [
        Die("uint32", 4, [1, 4]),
        Die("uintptr", 4, [8, 8]),
        Die("int64", 10, [2, 8, 5, 1 << 40, b"\x01\x02", 1]),
        Die("nocopy", 2, ["sync.noCopy", 0, 25]),
        Die("atomic", 2, ["internal/runtime/atomic.Uint32", 4, 25], [
            Die("a0", 3, ["_", 0, "nocopy"]),
            Die("a1", 3, ["v", 0, "uint32"]),
        ]),
        Die("unsafeptr", 9, ["unsafe.Pointer", "uintptr"]),
        Die("mtp", 2, ["runtime.maybeTraceablePtr", 16, 25], [
            Die("m0", 3, ["vp", 0, "unsafeptr"]),
            Die("m1", 3, ["vu", 8, "uintptr"]),
        ]),
        Die("gobuf", 2, ["runtime.gobuf", 16, 25], [
            Die("b0", 3, ["sp", 0, "uintptr"]),
            Die("b1", 3, ["pc", 8, "uintptr"]),
        ]),
        Die("g", 2, ["runtime.g", 64, 25], [
            Die("g0", 3, ["sched", 0, "gobuf"]),
            Die("g1", 3, ["atomicstatus", 16, "atomic"]),
            Die("g2", 3, ["goid", 24, "int64"]),
            Die("g3", 3, ["waiting", 32, "mtp"]),
            Die("g4", 3, ["waitsince", 300, "int64"]),  # a multi-byte ULEB offset
        ]),
        Die("gtypedef", 8, ["runtime.g", "g"]),
        Die("Gdead", 5, ["runtime._Gdead", 6]),
        Die("neg", 5, ["runtime.negative", -300]),
        Die("fn", 6, ["runtime.gopark", 0x401000, b"\x9c"], [
            Die("v", 7, ["reason", None, None, "uint32"]),
        ]),
        Die("string", 2, ["string", 16, 24]),
        Die("lbl", 2, ["internal/runtime/pprof/label.Label", 32, 25], [
            Die("l0", 3, ["Key", 0, "string"]),
            Die("l1", 3, ["Value", 16, "string"]),
        ]),
        Die("lblptr", 9, ["*label.Label", "lbl"]),
        Die("slice", 2, ["[]label.Label", 24, 23], [
            Die("s0", 3, ["array", 0, "lblptr"]),
            Die("s1", 3, ["len", 8, "uintptr"]),
            Die("s2", 3, ["cap", 16, "uintptr"]),
        ]),
        Die("set", 2, ["internal/runtime/pprof/label.Set", 24, 25], [
            Die("t0", 3, ["List", 0, "slice"]),
        ]),
    ])  # fmt: skip


def read(version: int) -> tuple[UnitBuilder, list[D.Die], bytes]:
    other = UnitBuilder(version)
    first = other.encode(Die("cu", 1, ["main"], [Die("x", 5, ["main.answer", 42])]))
    builder = UnitBuilder(version, base=len(first))
    info = first + builder.encode(runtime_unit())
    reader = D.UnitReader(info, ABBREVS, D.StringSections(DEBUG_STR, DEBUG_LINE_STR))
    units = list(D.iter_unit_headers(info))
    assert [u.version for u in units] == [version, version]
    assert [reader.unit_die(u).name for u in units] == ["main", "runtime"]
    roots = reader.read_unit(units[1])
    return builder, roots, info


@pytest.mark.parametrize("version", [4, 5])
def test_unit_headers_and_dies(version: int) -> None:
    builder, roots, info = read(version)
    assert len(roots) == 1 and roots[0].name == "runtime"
    by_name = {d.name: d for d in roots[0].children}
    assert by_name["uint32"].int_attr(D.AT_BYTE_SIZE) == 4  # strp name
    int64 = by_name["int64"]  # line_strp name, data2/4/8, block1, flag
    assert int64.attrs[0x3E] == 5 and int64.attrs[0x88] == 1 << 40 and int64.attrs[0x8C] == b"\x01\x02"
    assert int64.attrs[0x8D] is True
    assert by_name["runtime._Gdead"].int_attr(D.AT_CONST_VALUE) == 6
    assert by_name["runtime.negative"].int_attr(D.AT_CONST_VALUE) == -300
    g = next(d for d in roots[0].children if d.name == "runtime.g" and d.tag == D.TAG_STRUCTURE_TYPE)
    assert [c.name for c in g.children] == ["sched", "atomicstatus", "goid", "waiting", "waitsince"]
    assert g.children[4].int_attr(D.AT_DATA_MEMBER_LOCATION) == 300
    assert g.children[2].attrs[D.AT_TYPE] == builder.offsets["int64"]  # ref_addr: absolute
    typedef = next(d for d in roots[0].children if d.tag == D.TAG_TYPEDEF)
    assert typedef.attrs[D.AT_TYPE] == builder.offsets["g"]  # ref4: unit-relative, made absolute
    # A function's children are decoded but not kept by default.
    fn = by_name["runtime.gopark"]
    assert fn.children == [] and fn.attrs[0x11] == 0x401000 and fn.attrs[0x40] == b"\x9c"
    kept = D.UnitReader(info, ABBREVS, D.StringSections(DEBUG_STR, DEBUG_LINE_STR)).read_unit(
        list(D.iter_unit_headers(info))[1], keep_children=lambda die: True
    )
    variable = next(d for d in kept[0].children if d.name == "runtime.gopark").children[0]
    assert variable.attrs[0x3B] == 42 and variable.attrs[0x3F] is True  # implicit_const, flag_present


def test_type_graph_resolves_paths_through_wrappers() -> None:
    _, roots, _ = read(5)
    graph = TypeGraph(roots, 8)
    g = graph.named("runtime.g")
    assert g is not None and g.tag == D.TAG_STRUCTURE_TYPE  # the struct wins over its typedef
    assert graph.resolve_path(g, "sched.pc") == graph.resolve_path(g, "sched.pc")
    pc = graph.resolve_path(g, "sched.pc")
    assert pc is not None and (pc.offset, pc.size) == (8, 8)
    status = graph.resolve_path(g, "atomicstatus")  # atomic.Uint32 -> its uint32 `v`
    assert status is not None and (status.offset, status.size) == (16, 4)
    waiting = graph.resolve_path(g, "waiting")  # maybeTraceablePtr -> its `vu`
    assert waiting is not None and (waiting.offset, waiting.size) == (40, 8)
    assert graph.resolve_path(g, "nosuchfield") is None
    assert graph.consts["runtime._Gdead"] == 6


def test_label_plan_finds_the_slice_of_key_value_pairs() -> None:
    _, roots, _ = read(4)
    graph = TypeGraph(roots, 8)
    assert _label_plan(graph) == {"kind": "slice", "slice": 0, "elem_size": 32, "key": 0, "value": 16}
    g = graph.named("runtime.g")
    assert g is not None and _slice_label_plan(graph, g) is None


def test_abbrev_table_parsing() -> None:
    table = D.parse_abbrev_table(ABBREVS, 0)
    assert sorted(table) == list(range(1, 11))
    assert table[7].specs[1] == D.AttrSpec(0x3B, D.FORM_IMPLICIT_CONST, 42)
    assert table[1].has_children and not table[3].has_children


def test_leb128() -> None:
    assert D.read_uleb128(bytes([0xE5, 0x8E, 0x26]), 0) == (624485, 3)
    assert D.read_sleb128(bytes([0xC0, 0xBB, 0x78]), 0) == (-123456, 3)
    assert D.read_sleb128(b"\x7f", 0) == (-1, 1)
    with pytest.raises(D.DwarfError):
        D.read_uleb128(b"\x80\x80", 0)


def test_bad_units_are_errors_not_crashes() -> None:
    info = UnitBuilder(5).encode(runtime_unit())
    with pytest.raises(D.DwarfError, match="runs past"):
        list(D.iter_unit_headers(info[:-10]))
    bad_version = bytearray(info)
    bad_version[4:6] = struct.pack("<H", 9)
    with pytest.raises(D.DwarfError, match="version 9"):
        list(D.iter_unit_headers(bytes(bad_version)))
    unit = next(D.iter_unit_headers(info))
    unknown = bytearray(info)
    unknown[unit.first_die] = 99  # no such abbreviation
    with pytest.raises(D.DwarfError, match="unknown abbreviation 99"):
        D.UnitReader(bytes(unknown), ABBREVS).read_unit(unit)
