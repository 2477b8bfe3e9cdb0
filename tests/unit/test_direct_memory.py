"""The direct reader's memory access, label decoding and layout cache, on small synthetic ELF cores."""

from __future__ import annotations

import json
import mmap
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gocore_dap.backends.direct import layouts as layouts_module
from gocore_dap.backends.direct.errors import DirectReaderUnsupported
from gocore_dap.backends.direct.labels import LabelReader
from gocore_dap.backends.direct.layouts import Field, Layouts, load_layouts
from gocore_dap.backends.direct.memory import CoreMemory, MemoryError_

PAGE = 0x1000


def write_elf(path: Path, segments: Sequence[tuple[int, bytes, int]], e_type: int = 4) -> None:
    """An ELF64 little-endian amd64 file with one PT_LOAD per (vaddr, data, memsz) segment."""
    phoff = 64
    data_start = -(-(phoff + 56 * len(segments)) // PAGE) * PAGE
    out = bytearray(data_start)
    phdrs = bytearray()
    for vaddr, data, memsz in segments:
        offset = len(out)
        phdrs += struct.pack("<IIQQQQQQ", 1, 6, offset, vaddr, 0, len(data), memsz, PAGE)
        out += data + b"\0" * (-len(data) % PAGE)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    header = ident + struct.pack("<HHIQQQIHHHHHH", e_type, 62, 1, 0, phoff, 0, 0, 64, 56, len(segments), 64, 0, 0)
    out[0:64] = header
    out[phoff : phoff + len(phdrs)] = phdrs
    path.write_bytes(bytes(out))


def go_string(ptr: int, length: int) -> bytes:
    return struct.pack("<QQ", ptr, length)


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[CoreMemory]:
    heap = bytearray(2 * PAGE)
    struct.pack_into("<QQQ", heap, 0, 0x1111, 0x2222, 0xDEADBEEFCAFEF00D)
    heap[24:40] = go_string(0x500100, 5)
    struct.pack_into("<I", heap, 40, 0xA1B2C3D4)
    struct.pack_into("<Q", heap, 0x1FF8, 7)  # the last word of the segment
    core = tmp_path / "core"
    # The page before the executable's segment is in the core (like a relro page the loader wrote).
    before = b"\0" * (PAGE - 4) + b"abcd"
    write_elf(
        core,
        [(0x4FF000, before, PAGE), (0xC000000000, bytes(heap), 2 * PAGE), (0xC000100000, b"\x01" * 16, 4 * PAGE)],
    )
    exe = tmp_path / "exe"
    text = bytearray(PAGE)
    text[0x100:0x105] = b"hello"
    text[0x200:0x208] = b"go\0tail\0"
    write_elf(exe, [(0x500000, bytes(text), PAGE)], e_type=2)
    with exe.open("rb") as fh:
        exe_map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    # The executable's segment starts at file offset PAGE (after the headers).
    mem = CoreMemory(core, exe_map, [(0x500000, PAGE, PAGE)], bias=0)
    yield mem
    mem.close()
    exe_map.close()


def test_scalar_reads_from_core_and_executable(memory: CoreMemory) -> None:
    assert memory.u64(0xC000000000) == 0x1111
    assert memory.u32(0xC000000000 + 40) == 0xA1B2C3D4
    assert memory.u8(0xC000000000 + 40) == 0xD4
    assert memory.uint(0xC000000000 + 16, 2) == 0xF00D
    assert memory.go_string(0xC000000000 + 24) == "hello"  # header in the core, bytes in the executable
    assert memory.cstring(0x500200) == "go"
    assert memory.readable(0xC000000000 + 0x1FF8, 8)
    assert not memory.readable(0xC000000000 + 0x1FF9, 8)  # runs past the segment
    with pytest.raises(MemoryError_):
        memory.u64(0xC000100000 + 16)  # past the file size of a segment: not dumped
    with pytest.raises(MemoryError_):
        memory.read(0x10, 1)


def test_reads_across_a_core_and_an_executable_region(memory: CoreMemory) -> None:
    assert memory.read(0x4FFFFC, 8) == b"abcd" + bytes(4)
    assert memory.view(0x4FFFFC, 4).tobytes() == b"abcd"
    assert memory.read(0x500100 - 2, 7)[2:] == b"hello"
    assert memory.readable(0x4FF000, 2 * PAGE)
    assert not memory.readable(0x4FF000, 2 * PAGE + 1)
    with pytest.raises(MemoryError_):
        memory.read(0x4FE000, PAGE + 1)


def test_vectorised_gathers(memory: CoreMemory) -> None:
    base = 0xC000000000
    addrs = np.array([base, base + 8, base + 0x1FF8, base + 0x2000, 0x500100, base + 3], dtype=np.uint64)
    values, ok = memory.gather(addrs, 8)
    assert ok.tolist() == [True, True, True, False, False, True]  # gathers read the core only
    assert values[:3].tolist() == [0x1111, 0x2222, 7]
    assert values[3] == 0 and values[4] == 0
    assert values[5] == 0x1111 >> 24 | (0x2222 & 0xFFFFFF) << 40  # unaligned
    small, ok4 = memory.gather(np.array([base + 40, base + 41], dtype=np.uint64), 4)
    assert ok4.all() and small[0] == 0xA1B2C3D4 and small[1] == 0xA1B2C3
    off, ok = memory.offsets(np.array([base + 16], dtype=np.uint64), 8)
    block = memory.gather_block(off, ok, 8)
    assert block.tobytes() == struct.pack("<Q", 0xDEADBEEFCAFEF00D)


def test_a_file_that_is_not_a_core_is_refused(tmp_path: Path) -> None:
    exe = tmp_path / "exe"
    write_elf(exe, [(0x400000, b"x", 1)], e_type=2)
    with pytest.raises(DirectReaderUnsupported, match="not a core dump"):
        CoreMemory(exe, None, [], 0)
    text = tmp_path / "text"
    text.write_text("hello")
    with pytest.raises(DirectReaderUnsupported, match="cannot read the core"):
        CoreMemory(text, None, [], 0)


# --- labels -----------------------------------------------------------------------------------------------


class _Layouts:
    def __init__(self, labels: dict[str, Any] | None) -> None:
        self.labels = labels


def label_core(tmp_path: Path) -> Path:
    base = 0xC000000000
    heap = bytearray(PAGE)
    # A label.Set at +0: a slice of two {key, value string} pairs at +0x100; strings at +0x200.
    heap[0:24] = struct.pack("<QQQ", base + 0x100, 2, 2)
    heap[0x100:0x120] = go_string(base + 0x200, 6) + go_string(base + 0x206, 4)
    heap[0x120:0x140] = go_string(base + 0x20A, 3) + go_string(base + 0x20D, 1)
    heap[0x200:0x20E] = b"tenantacmejob7"
    # A classic hash map at +0x400 (count, flags, B, ..., buckets at +16, oldbuckets at +24),
    # pointed to by a *labelMap at +0x3F8; one bucket at +0x500 with two live slots and an overflow
    # bucket at +0x700 with one.
    heap[0x3F8:0x400] = struct.pack("<Q", base + 0x400)
    heap[0x400:0x420] = struct.pack("<QBBHIQ", 3, 0, 0, 0, 0, base + 0x500)[:24] + struct.pack("<Q", 0)
    bucket = bytearray(0x110)
    bucket[0:8] = bytes([9, 0, 7, 1, 0, 0, 0, 0])  # tophash: slots 0 and 2 live, 3 emptyOne
    bucket[8 + 16 * 0 : 8 + 16 * 1] = go_string(base + 0x200, 6)
    bucket[8 + 16 * 2 : 8 + 16 * 3] = go_string(base + 0x20A, 3)
    bucket[136 + 16 * 0 : 136 + 16 * 1] = go_string(base + 0x206, 4)
    bucket[136 + 16 * 2 : 136 + 16 * 3] = go_string(base + 0x20D, 1)
    bucket[264:272] = struct.pack("<Q", base + 0x700)
    heap[0x500:0x610] = bucket
    overflow = bytearray(0x110)
    overflow[0] = 200
    overflow[8:24] = go_string(base + 0x20D, 1)
    overflow[136:152] = go_string(base + 0x200, 1)
    heap[0x700:0x810] = overflow
    core = tmp_path / "core"
    write_elf(core, [(base, bytes(heap), PAGE)])
    return core


SLICE_PLAN = {"kind": "slice", "slice": 0, "elem_size": 32, "key": 0, "value": 16}
HMAP_PLAN = {
    "kind": "hmap", "count": 0, "B": 9, "buckets": 16, "oldbuckets": 24, "bucket_size": 272, "bucket_count": 8,
    "tophash": 0, "keys": 8, "elems": 136, "overflow": 264,
}  # fmt: skip


def test_labels_from_a_slice_shaped_label_set(tmp_path: Path) -> None:
    with CoreMemory(label_core(tmp_path), None, [], 0) as mem:
        reader = LabelReader(mem, _Layouts(SLICE_PLAN))  # type: ignore[arg-type]
        pointers = np.array([0, 0xC000000000, 0xC000000000, 0], dtype=np.uint64)
        ids, sets = reader.read_all(pointers)
        assert ids.tolist() == [-1, 0, 0, -1]
        assert sets == [{"tenant": "acme", "job": "7"}]
        assert reader.errors == []


def test_labels_from_a_classic_hash_map(tmp_path: Path) -> None:
    with CoreMemory(label_core(tmp_path), None, [], 0) as mem:
        reader = LabelReader(mem, _Layouts(HMAP_PLAN))  # type: ignore[arg-type]
        assert reader.read(0xC000000000 + 0x3F8) == {"tenant": "acme", "job": "7", "7": "t"}


def test_labels_without_a_known_shape_are_an_error_not_a_guess(tmp_path: Path) -> None:
    with CoreMemory(label_core(tmp_path), None, [], 0) as mem:
        missing = LabelReader(mem, _Layouts(None))  # type: ignore[arg-type]
        assert missing.read(0xC000000000) == {}
        assert "no label set type" in missing.errors[0]
        odd = LabelReader(mem, _Layouts({"kind": "unsupported", "type": "x.T"}))  # type: ignore[arg-type]
        assert odd.read(0xC000000000) == {}
        assert "x.T" in odd.errors[0]
        unreadable = LabelReader(mem, _Layouts(SLICE_PLAN))  # type: ignore[arg-type]
        assert unreadable.read(0xD000000000) == {}
        assert "unreadable" in unreadable.errors[0]


# --- the layout cache -------------------------------------------------------------------------------------


def sample_layouts(build_id: str) -> Layouts:
    return Layouts(
        build_id=build_id,
        ptr_size=8,
        fields={"g.goid": Field(152, 8)},
        sizes={"g": 456},
        consts={"_Gdead": 6},
        symbols={"runtime.allgs": (0x634000, 24)},
        labels=SLICE_PLAN,
        sync={"mutex_sema": 4},
        semtable_stride=64,
    )


class _Binary:
    def __init__(self, build_id: str) -> None:
        self._id = build_id

    def build_id(self) -> str:
        return self._id


def test_layouts_round_trip_through_json() -> None:
    original = sample_layouts("gnu-abc")
    again = Layouts.from_json(json.loads(json.dumps(original.to_json())))
    assert again == original


def test_load_layouts_uses_the_cache_per_build_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    extracted: list[str] = []

    def extract(binary: Any, build_id: str) -> Layouts:
        extracted.append(build_id)
        return sample_layouts(build_id)

    monkeypatch.setattr(layouts_module, "extract_layouts", extract)
    first = load_layouts(_Binary("gnu-1"))  # type: ignore[arg-type]
    assert extracted == ["gnu-1"]
    assert (tmp_path / "gocore-dap" / "layouts" / "gnu-1.json").is_file()
    assert load_layouts(_Binary("gnu-1")) == first  # type: ignore[arg-type]
    assert extracted == ["gnu-1"]  # from the cache
    load_layouts(_Binary("gnu-2"))  # type: ignore[arg-type]
    assert extracted == ["gnu-1", "gnu-2"]
    # A file from an older schema is ignored and rewritten.
    path = tmp_path / "gocore-dap" / "layouts" / "gnu-1.json"
    data = json.loads(path.read_text())
    data["schema"] = -1
    path.write_text(json.dumps(data))
    load_layouts(_Binary("gnu-1"))  # type: ignore[arg-type]
    assert extracted == ["gnu-1", "gnu-2", "gnu-1"]
    assert json.loads(path.read_text())["schema"] == layouts_module.SCHEMA
