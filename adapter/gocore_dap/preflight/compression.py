"""Compressed core dumps, as systemd-coredump stores them (zstd, lz4, xz) or users pack them (gzip).

Delve opens only plain ELF cores, so a compressed core is streamed into a temporary file first.
The format is recognised by magic bytes, not by file name, because cores get renamed and copied.

Decompression is streaming (bounded memory whatever the core size) and writes the output sparse:
cores are mostly zero pages, and skipping them keeps a 10 GB core from costing 10 GB of /tmp.

Truncation is always detected. Damage inside the data is detected where the format carries a
checksum: always for gzip and xz, for zstd and lz4 only when the file was written with a content
checksum (otherwise a flipped literal byte decodes silently, and only the ELF checks can notice).
"""

from __future__ import annotations

import enum
import gzip
import lzma
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Final, Protocol

import lz4.frame  # type: ignore[import-untyped]  # lz4 ships no type information
import zstandard


class Compression(enum.Enum):
    ZSTD = "zstd"
    LZ4 = "lz4"
    XZ = "xz"
    GZIP = "gzip"


_MAGICS: Final = (
    (b"\x28\xb5\x2f\xfd", Compression.ZSTD),
    (b"\x04\x22\x4d\x18", Compression.LZ4),
    (b"\xfd7zXZ\x00", Compression.XZ),
    (b"\x1f\x8b", Compression.GZIP),
)

MiB: Final = 1 << 20
REPORT_EVERY: Final = 64 * MiB
_READ_SIZE: Final = 1 * MiB
# Granularity of the sparse-write zero check: large enough to be cheap, small enough to catch
# the zero runs between used pages of Go heap arenas.
_SPARSE_BLOCK: Final = 64 << 10
_ZERO_BLOCK: Final = bytes(_SPARSE_BLOCK)


def sniff_compression(head: bytes) -> Compression | None:
    for magic, kind in _MAGICS:
        if head.startswith(magic):
            return kind
    return None


class CorruptCompressedFile(Exception):
    """The compressed data is damaged or incomplete; the message says what and where."""


class _Reader(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def decompress_file(
    src: Path,
    kind: Compression,
    dest: Path,
    progress: Callable[[str], None] | None = None,
    *,
    report_every: int = REPORT_EVERY,
) -> int:
    """Stream ``src`` into ``dest``; returns the decompressed size.

    Raises :class:`CorruptCompressedFile` for damaged or truncated input and ``OSError`` for I/O
    problems (for example ENOSPC while writing ``dest``).
    """
    if kind is Compression.ZSTD:
        # python-zstandard's readers return a silent EOF on a truncated frame, so the frame
        # structure is verified first (header-only walk, cheap) to report truncation precisely.
        with open(src, "rb") as fh:
            _check_zstd_frames(fh)
    with open(src, "rb") as raw, open(dest, "wb") as out:
        reader = _open_reader(kind, raw)
        written = 0
        next_report = report_every
        try:
            while True:
                chunk = reader.read(_READ_SIZE)
                if not chunk:
                    break
                _write_sparse(out, chunk)
                written += len(chunk)
                if progress is not None and written >= next_report:
                    progress(f"Decompressing {src.name} ({kind.value}): {written // MiB} MiB written")
                    next_report += report_every
        except (EOFError, zstandard.ZstdError, lzma.LZMAError, gzip.BadGzipFile, zlib.error) as exc:
            raise CorruptCompressedFile(_describe(kind, exc, written)) from exc
        except RuntimeError as exc:  # lz4.frame reports damaged blocks as RuntimeError
            if kind is not Compression.LZ4:
                raise
            raise CorruptCompressedFile(_describe(kind, exc, written)) from exc
        # Sparse writes may have skipped the trailing zeros: fix the size explicitly.
        out.truncate(written)
    return written


def _open_reader(kind: Compression, raw: BinaryIO) -> _Reader:
    if kind is Compression.ZSTD:
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    if kind is Compression.LZ4:
        reader: _Reader = lz4.frame.LZ4FrameFile(raw, mode="rb")
        return reader
    if kind is Compression.XZ:
        return lzma.LZMAFile(raw, mode="rb")
    return gzip.GzipFile(fileobj=raw, mode="rb")


def _write_sparse(out: BinaryIO, chunk: bytes) -> None:
    # Comparing bytes slices is a memcmp; memoryview comparison is ~40x slower.
    for start in range(0, len(chunk), _SPARSE_BLOCK):
        block = chunk[start : start + _SPARSE_BLOCK]
        if block == _ZERO_BLOCK:
            out.seek(_SPARSE_BLOCK, 1)
        else:
            out.write(block)


def _describe(kind: Compression, exc: BaseException, written: int) -> str:
    if isinstance(exc, EOFError):
        what = "it ends before the end of the compressed stream (the file is incomplete)"
    else:
        what = f"the compressed data is damaged ({exc})"
    if written < MiB:
        return what
    return f"{what}; the first {written // MiB:,} MiB decompressed fine"


_ZSTD_MAGIC: Final = 0xFD2FB528
_ZSTD_BLOCK_MAX: Final = 128 << 10


def _check_zstd_frames(fh: BinaryIO) -> None:
    """Walk zstd frames and block headers (RFC 8878) without decompressing; raise if cut short."""

    def need(n: int, what: str) -> bytes:
        data = fh.read(n)
        if len(data) < n:
            raise CorruptCompressedFile(f"it ends inside {what} at byte {fh.tell()} (the file is incomplete)")
        return data

    total = os.fstat(fh.fileno()).st_size
    frames = 0
    while True:
        start = fh.tell()
        head = fh.read(4)
        if not head:
            return
        if len(head) < 4:
            raise CorruptCompressedFile(f"it has {len(head)} stray bytes at the end (byte {start})")
        (magic,) = struct.unpack("<I", head)
        if magic & 0xFFFFFFF0 == 0x184D2A50:  # skippable frame
            (size,) = struct.unpack("<I", need(4, "a skippable frame header"))
            fh.seek(size, 1)
            continue
        if magic != _ZSTD_MAGIC:
            if frames:
                raise CorruptCompressedFile(f"byte {start} after frame {frames} is not a zstd frame")
            raise CorruptCompressedFile("it does not start with a zstd frame")
        frames += 1
        fhd = need(1, "a frame header")[0]
        if fhd & 0x08:
            raise CorruptCompressedFile(f"frame {frames} at byte {start} has a reserved header bit set")
        single_segment = bool(fhd & 0x20)
        fcs_size = (1 if single_segment else 0, 2, 4, 8)[fhd >> 6]
        header_rest = (0 if single_segment else 1) + (0, 1, 2, 4)[fhd & 0x03] + fcs_size
        need(header_rest, "a frame header")
        while True:
            (b0, b1, b2) = need(3, "a block header")
            bits = b0 | b1 << 8 | b2 << 16
            last, btype, size = bits & 1, (bits >> 1) & 3, bits >> 3
            if btype == 3 or (btype != 1 and size > _ZSTD_BLOCK_MAX):
                raise CorruptCompressedFile(f"a block header at byte {fh.tell() - 3} is invalid")
            payload = 1 if btype == 1 else size
            pos = fh.tell()
            fh.seek(payload, 1)
            if fh.tell() > total:
                raise CorruptCompressedFile(
                    f"it ends inside a block that starts at byte {pos} (the file is incomplete)"
                )
            if last:
                break
        if fhd & 0x04:
            need(4, "a frame checksum")
