"""The crashed process's memory: the core's PT_LOAD segments mapped read-only, by virtual address.

The kernel does not dump file-backed read-only mappings (the executable's text, rodata and pclntab), so
addresses the core does not hold are read from the executable's own loadable segments (shifted by the
PIE load bias); bytes past a segment's file size (bss, untouched pages) are not readable.

Scalar reads (``read``, ``u64``) serve the few hundred lookups of runtime globals and tables; the
``gather_*`` functions read one field of many structs at once (one numpy fancy-index over the mapped
core per field), which is what makes 100,000 goroutines cheap.
"""

from __future__ import annotations

import bisect
import contextlib
import mmap
import struct
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from gocore_dap.backends.direct.errors import DirectReaderUnsupported
from gocore_dap.preflight.elf import ET_CORE, PT_LOAD, ElfFile, ElfFormatError

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

_U64: Final = struct.Struct("<Q")
_U32: Final = struct.Struct("<I")


class MemoryError_(Exception):
    """An address the core and the executable do not hold."""


class CoreMemory:
    """Read-only view of a core's memory, with the executable as a fallback for what was not dumped."""

    def __init__(self, core: Path, exe_map: mmap.mmap | None, exe_segments: list[tuple[int, int, int]], bias: int):
        try:
            self.elf = ElfFile(core)
        except (OSError, ElfFormatError) as exc:
            raise DirectReaderUnsupported(f"cannot read the core {core}: {exc}") from exc
        try:
            header = self.elf.header
            if header.e_type != ET_CORE:
                raise DirectReaderUnsupported(f"{core} is a {header.type_name}, not a core dump")
            if not header.is_64bit or not header.little_endian:
                raise DirectReaderUnsupported(f"{core} is not a 64-bit little-endian core")
            with open(core, "rb") as fh:
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except BaseException:
            self.elf.close()
            raise
        size = len(self._map)
        # Regions: (vaddr, end, source, file offset); source 0 = core, 1 = executable.
        regions: list[tuple[int, int, int, int]] = []
        for seg in self.elf.segments(PT_LOAD):
            available = max(0, min(seg.filesz, size - seg.offset))
            if available > 0:
                regions.append((seg.vaddr, seg.vaddr + available, 0, seg.offset))
        self.truncated = any(seg.offset + seg.filesz > size for seg in self.elf.segments(PT_LOAD))
        core_regions = sorted(regions)
        extra: list[tuple[int, int, int, int]] = []
        if exe_map is not None:
            for vaddr, offset, filesz in exe_segments:
                start = vaddr + bias
                for lo, hi in _uncovered(start, start + filesz, core_regions):
                    extra.append((lo, hi, 1, offset + (lo - start)))
        self._regions = sorted(core_regions + extra)
        self._starts = [r[0] for r in self._regions]
        self._exe_map = exe_map
        self._sources = (self._map, exe_map)
        # For the vectorised gathers: only the core's regions (goroutines, stacks, heap live there).
        self._core_starts = np.array([r[0] for r in core_regions], dtype=np.uint64)
        self._core_ends = np.array([r[1] for r in core_regions], dtype=np.uint64)
        self._core_offsets = np.array([r[3] for r in core_regions], dtype=np.uint64)
        self._u8 = np.frombuffer(self._map, dtype=np.uint8)
        # Aligned views: fields of Go structs are naturally aligned and segments start on page
        # boundaries in the file, so almost every gather is one fancy-index on one of these.
        self._views: dict[int, npt.NDArray[np.unsignedinteger[Any]]] = {
            2: np.frombuffer(self._map, dtype="<u2", count=size // 2),
            4: np.frombuffer(self._map, dtype="<u4", count=size // 4),
            8: np.frombuffer(self._map, dtype="<u8", count=size // 8),
        }
        self.core_path = core

    def close(self) -> None:
        # numpy views keep the buffer exported; drop them before closing the map.
        self._u8 = np.empty(0, dtype=np.uint8)
        self._views = {}
        # An array view may still refer to the map; then the mapping goes when that array does.
        with contextlib.suppress(BufferError):
            self._map.close()
        self.elf.close()

    def __enter__(self) -> CoreMemory:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def core_bytes(self, addr: int, size: int) -> bytes | None:
        """Bytes at ``addr`` as the core itself holds them (never from the executable), or None."""
        i = bisect.bisect_right(self._core_starts.tolist(), addr) - 1
        if i < 0 or addr + size > int(self._core_ends[i]):
            return None
        off = int(self._core_offsets[i]) + addr - int(self._core_starts[i])
        return self._map[off : off + size]

    def release(self) -> None:
        """Drop the core's pages from this process's page tables (they stay in the page cache).

        Pages touched through the mapping count in the process's RSS until unmapped, and the kernel maps
        the cached neighbours of each page touched too ("fault-around", up to 16 pages): reading the g's
        and stacks of 100,000 goroutines maps about 250 MB. Releasing between batches keeps the peak RSS
        to one batch's pages; the next access faults a page back in from the cache.
        """
        madvise = getattr(self._map, "madvise", None)
        advice = getattr(mmap, "MADV_DONTNEED", None)
        if madvise is not None and advice is not None:
            with contextlib.suppress(OSError, ValueError):
                madvise(advice)

    # --- scalar reads -----------------------------------------------------------------------------------

    def _locate(self, addr: int, size: int) -> tuple[mmap.mmap, int] | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i < 0:
            return None
        start, end, source, offset = self._regions[i]
        if addr + size > end:
            return None
        buf = self._sources[source]
        if buf is None:
            return None
        return buf, offset + (addr - start)

    def _span(self, addr: int, size: int) -> bytes | None:
        """Bytes of [addr, addr+size) across adjacent regions (a mapping partly dumped in the core, the
        rest read from the executable), or None if any part is missing."""
        i = bisect.bisect_right(self._starts, addr) - 1
        parts: list[bytes] = []
        cursor, left = addr, size
        while left > 0:
            if i < 0 or i >= len(self._regions):
                return None
            start, end, source, offset = self._regions[i]
            buf = self._sources[source]
            if not start <= cursor < end or buf is None:
                return None
            take = min(left, end - cursor)
            at = offset + (cursor - start)
            parts.append(buf[at : at + take])
            cursor += take
            left -= take
            i += 1
        return b"".join(parts)

    def readable(self, addr: int, size: int = 1) -> bool:
        return self._locate(addr, size) is not None or self._span(addr, size) is not None

    def read(self, addr: int, size: int) -> bytes:
        where = self._locate(addr, size)
        if where is None:
            joined = self._span(addr, size)
            if joined is None:
                raise MemoryError_(f"address {addr:#x} (+{size}) is not in the core or the executable")
            return joined
        buf, off = where
        return buf[off : off + size]

    def view(self, addr: int, size: int) -> memoryview:
        """Like :meth:`read`, without copying when the range lies in one region (the pclntab tables)."""
        where = self._locate(addr, size)
        if where is None:
            return memoryview(self.read(addr, size))
        buf, off = where
        return memoryview(buf)[off : off + size]

    def u64(self, addr: int) -> int:
        value: int = _U64.unpack(self.read(addr, 8))[0]
        return value

    def u32(self, addr: int) -> int:
        value: int = _U32.unpack(self.read(addr, 4))[0]
        return value

    def u8(self, addr: int) -> int:
        return self.read(addr, 1)[0]

    def uint(self, addr: int, size: int) -> int:
        return int.from_bytes(self.read(addr, size), "little")

    def go_string(self, addr: int, limit: int = 1 << 20) -> str:
        """The Go string header at ``addr`` (pointer, length), decoded."""
        ptr = self.u64(addr)
        length = self.u64(addr + 8)
        if length == 0:
            return ""
        if length > limit:
            raise MemoryError_(f"string at {addr:#x} claims {length} bytes")
        return self.read(ptr, length).decode("utf-8", "replace")

    def cstring(self, addr: int, limit: int = 4096) -> str:
        where = self._locate(addr, 1)
        if where is None:
            raise MemoryError_(f"address {addr:#x} is not in the core or the executable")
        buf, off = where
        end = buf.find(b"\0", off, off + limit)
        if end < 0:
            raise MemoryError_(f"no string end within {limit} bytes of {addr:#x}")
        return buf[off:end].decode("utf-8", "replace")

    # --- vectorised reads (core only) -------------------------------------------------------------------

    def offsets(self, addrs: U64, size: int) -> tuple[I64, Bool]:
        """File offsets in the core of ``addrs`` and whether [addr, addr+size) is dumped there."""
        addrs = np.asarray(addrs, dtype=np.uint64)
        idx = np.searchsorted(self._core_starts, addrs, side="right").astype(np.int64) - 1
        ok = idx >= 0
        safe = np.where(ok, idx, 0)
        if len(self._core_starts) == 0:
            return np.zeros(len(addrs), dtype=np.int64), np.zeros(len(addrs), dtype=bool)
        ok &= addrs + np.uint64(size) <= self._core_ends[safe]
        off = (addrs - self._core_starts[safe] + self._core_offsets[safe]).astype(np.int64)
        return np.where(ok, off, 0), ok

    def gather(self, addrs: U64, size: int) -> tuple[U64, Bool]:
        """The little-endian unsigned value of ``size`` (1, 2, 4 or 8) bytes at each address."""
        off, ok = self.offsets(addrs, size)
        return self.gather_at(off, ok, size), ok

    def gather_at(self, off: I64, ok: Bool, size: int) -> U64:
        """Values at core file offsets ``off`` (from :meth:`offsets`); 0 where ``ok`` is False."""
        u8 = self._u8
        view = self._views.get(size)
        if size == 1:
            out = u8[off].astype(np.uint64)
        elif view is not None and not np.any(off & (size - 1)):
            out = view[off // size].astype(np.uint64)
        else:
            # Byte gathers assembled little-endian: works for any alignment.
            out = np.zeros(len(off), dtype=np.uint64)
            for i in range(size):
                out |= u8[off + i].astype(np.uint64) << np.uint64(8 * i)
        out[~ok] = 0
        return out

    def gather_block(self, off: I64, ok: Bool, size: int) -> npt.NDArray[np.uint8]:
        """``size`` bytes at each core file offset, as rows of a (n, size) array (zeros where not ok)."""
        idx = off[:, None] + np.arange(size, dtype=np.int64)[None, :]
        block: npt.NDArray[np.uint8] = self._u8[idx]
        block[~ok] = 0
        return block


def _uncovered(lo: int, hi: int, regions: list[tuple[int, int, int, int]]) -> list[tuple[int, int]]:
    """Parts of [lo, hi) that no region covers."""
    out: list[tuple[int, int]] = []
    cursor = lo
    for start, end, _source, _offset in regions:
        if end <= cursor or start >= hi:
            continue
        if start > cursor:
            out.append((cursor, start))
        cursor = max(cursor, end)
        if cursor >= hi:
            break
    if cursor < hi:
        out.append((cursor, hi))
    return out
