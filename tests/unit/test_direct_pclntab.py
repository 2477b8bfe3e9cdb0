"""The direct reader's pure pclntab parts on hand-built tables: varints, pc-value tables, inline trees."""

from __future__ import annotations

import pytest

from gocore_dap.backends.direct.pclntab import (
    FuncInfo,
    InlinedCall,
    decode_pcvalue_table,
    expand_inlined,
    lookup_pcvalue,
    read_varint,
    traceback_name,
)


def uvarint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_pcvalue(entry: int, runs: list[tuple[int, int]], quantum: int = 1) -> bytes:
    """The linker's encoding: per run (value, end pc), zig-zag value delta then pc delta / quantum."""
    out = bytearray()
    value, pc = -1, entry
    for new_value, end in runs:
        delta = new_value - value
        out += uvarint(((delta << 1) ^ (delta >> 63)) & 0xFFFFFFFF)  # zig-zag, as uint32
        out += uvarint((end - pc) // quantum)
        value, pc = new_value, end
    out.append(0)
    return bytes(out)


@pytest.mark.parametrize("value", [0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, 0xFFFFFFFF, 1 << 40])
def test_read_varint_round_trips(value: int) -> None:
    data = b"\xaa" + uvarint(value) + b"\xbb"
    assert read_varint(data, 1) == (value, len(data) - 1)


def test_read_varint_reads_the_runtimes_examples() -> None:
    assert read_varint(b"\x96\x01", 0) == (150, 2)
    assert read_varint(bytes([0xFF, 0xFF, 0x03]), 0) == (0xFFFF, 3)


def test_pcvalue_table_decodes_runs_and_looks_up_like_the_runtime() -> None:
    entry = 0x401000
    # A typical pcsp table: 0 at entry, 0x18 after the prologue, back to 0 for the epilogue, a
    # negative delta on the way (the zig-zag sign bit).
    runs = [(0, entry + 4), (0x18, entry + 0x30), (0x10, entry + 0x38), (0, entry + 0x3A)]
    data = b"junk" + encode_pcvalue(entry, runs)
    table = decode_pcvalue_table(data, 4, entry, 1)
    assert table == ([entry + 4, entry + 0x30, entry + 0x38, entry + 0x3A], [0, 0x18, 0x10, 0])
    assert lookup_pcvalue(table, entry) == 0
    assert lookup_pcvalue(table, entry + 3) == 0
    assert lookup_pcvalue(table, entry + 4) == 0x18  # a run ends before its end PC
    assert lookup_pcvalue(table, entry + 0x2F) == 0x18
    assert lookup_pcvalue(table, entry + 0x30) == 0x10
    assert lookup_pcvalue(table, entry + 0x39) == 0
    assert lookup_pcvalue(table, entry + 0x3A) == -1  # past the table: the non-strict answer


def test_pcvalue_table_with_a_pc_quantum_and_multi_byte_deltas() -> None:
    entry = 0x10000
    runs = [(-1 + 300, entry + 4 * 200), (5, entry + 4 * 201)]  # value delta 300, pc delta 200 words
    table = decode_pcvalue_table(encode_pcvalue(entry, runs, quantum=4), 0, entry, 4)
    assert table == ([entry + 800, entry + 804], [299, 5])


def test_pcvalue_first_entry_may_have_a_zero_value_delta() -> None:
    # uvdelta 0 ends a table, except in the first entry (value -1 stays -1).
    entry = 0x2000
    table = decode_pcvalue_table(bytes([0, 8, 4, 2, 0]), 0, entry, 1)
    assert table == ([entry + 8, entry + 10], [-1, 1])


def _func(name: str = "main.outer", entry: int = 0x1000) -> FuncInfo:
    return FuncInfo(
        index=0, entry=entry, name=name, name_off=1, pcsp=1, pcfile=2, pcln=3, cu_offset=0, func_id=0, flag=0,
        deferreturn=0, start_line=10, pcdata=(), inline_tree=0x9000,
    )  # fmt: skip


def test_expand_inlined_walks_the_tree_to_the_physical_function() -> None:
    f = _func()
    # main.outer inlines main.middle at +0x20 (call site line 14), which inlines main.inner at
    # +0x40 (call site line 30); the PC +0x50 is inside main.inner (line 41).
    index_at = {0x1050: 1, 0x1040: 0, 0x1020: -1}
    calls = {0: InlinedCall("main.middle", 0, 0x20, 28), 1: InlinedCall("main.inner", 0, 0x40, 40)}
    lines = {0x1050: ("inner.go", 41), 0x1040: ("middle.go", 30), 0x1020: ("outer.go", 14)}
    frames = expand_inlined(
        f, 0x1050, tree_index=index_at.__getitem__, inlined_call=calls.get, file_line=lines.__getitem__
    )
    assert [(fr.function, fr.file, fr.line, fr.inlined, fr.start_line) for fr in frames] == [
        ("main.inner", "inner.go", 41, True, 40),
        ("main.middle", "middle.go", 30, True, 28),
        ("main.outer", "outer.go", 14, False, 10),
    ]


def test_expand_inlined_without_inlining_is_one_frame() -> None:
    frames = expand_inlined(
        _func(), 0x1010, tree_index=lambda pc: -1, inlined_call=lambda i: None, file_line=lambda pc: ("a.go", 3)
    )
    assert [(fr.function, fr.line, fr.inlined) for fr in frames] == [("main.outer", 3, False)]


def test_expand_inlined_stops_at_an_unreadable_tree_entry() -> None:
    frames = expand_inlined(
        _func(), 0x1010, tree_index=lambda pc: 7, inlined_call=lambda i: None, file_line=lambda pc: ("a.go", 3)
    )
    assert [(fr.function, fr.inlined) for fr in frames] == [("main.outer", False)]


def test_expand_inlined_survives_a_cyclic_tree() -> None:
    calls = {0: InlinedCall("main.loop", 0, 0x10, 1)}
    frames = expand_inlined(
        _func(), 0x1010, tree_index=lambda pc: 0, inlined_call=calls.get, file_line=lambda pc: ("a.go", 3)
    )
    assert len(frames) == 1024 and all(fr.function == "main.loop" for fr in frames)


@pytest.mark.parametrize(
    ("symbol", "printed"),
    [
        ("runtime.gopanic", "panic"),
        ("main.main", "main.main"),
        ("main.Map[go.shape.int,go.shape.string]", "main.Map[...]"),
        ("main.(*Tree[go.shape.int]).Insert", "main.(*Tree[...]).Insert"),
        ("main.weird[", "main.weird["),
    ],
)
def test_traceback_name_is_printfuncname(symbol: str, printed: str) -> None:
    assert traceback_name(symbol) == printed
