"""Compressed-core handling: magic sniffing, streaming sparse decompression, damage detection."""

from __future__ import annotations

import gzip
import lzma
import os
from pathlib import Path

import lz4.frame  # type: ignore[import-untyped]
import pytest
import zstandard

from gocore_dap.preflight.compression import (
    Compression,
    CorruptCompressedFile,
    decompress_file,
    sniff_compression,
)

# Like a core: data, long zero runs (skipped pages), data, and a zero tail.
PAYLOAD = os.urandom(100_000) + bytes(3 << 20) + b"tail" * 10_000 + bytes(200_000)


def pack(kind: Compression, data: bytes) -> bytes:
    # With content checksums, as damage in zstd/lz4 literals is otherwise undetectable.
    if kind is Compression.ZSTD:
        return zstandard.ZstdCompressor(write_checksum=True).compress(data)
    if kind is Compression.LZ4:
        return bytes(lz4.frame.compress(data, content_checksum=True))
    if kind is Compression.XZ:
        return lzma.compress(data, preset=0)
    return gzip.compress(data, compresslevel=1)


@pytest.mark.parametrize("kind", list(Compression))
def test_round_trip_and_sniffing(kind: Compression, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.write_bytes(pack(kind, PAYLOAD))
    assert sniff_compression(src.read_bytes()[:16]) is kind
    out = tmp_path / "out"
    assert decompress_file(src, kind, out) == len(PAYLOAD)
    assert out.read_bytes() == PAYLOAD
    # The zero runs were skipped, not written (the output is sparse where the fs supports it).
    assert out.stat().st_blocks * 512 < len(PAYLOAD)


def test_sniffing_plain_files() -> None:
    assert sniff_compression(b"\x7fELF\x02\x01\x01") is None
    assert sniff_compression(b"") is None
    assert sniff_compression(b"BZh91AY&SY") is None


def test_multi_frame_zstd(tmp_path: Path) -> None:
    # zstd -T0 and some streaming writers emit several frames; all of them are the core.
    src = tmp_path / "in.zst"
    src.write_bytes(pack(Compression.ZSTD, PAYLOAD[:1000]) + pack(Compression.ZSTD, PAYLOAD[1000:]))
    out = tmp_path / "out"
    assert decompress_file(src, Compression.ZSTD, out) == len(PAYLOAD)
    assert out.read_bytes() == PAYLOAD


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_truncated_zstd_is_reported(tmp_path: Path, keep: float) -> None:
    blob = pack(Compression.ZSTD, PAYLOAD)
    src = tmp_path / "in.zst"
    src.write_bytes(blob[: int(len(blob) * keep)])
    with pytest.raises(CorruptCompressedFile, match="incomplete"):
        decompress_file(src, Compression.ZSTD, tmp_path / "out")


def test_zstd_with_trailing_garbage(tmp_path: Path) -> None:
    src = tmp_path / "in.zst"
    src.write_bytes(pack(Compression.ZSTD, PAYLOAD) + b"garbage!")
    with pytest.raises(CorruptCompressedFile, match="not a zstd frame"):
        decompress_file(src, Compression.ZSTD, tmp_path / "out")


@pytest.mark.parametrize("kind", list(Compression))
def test_damaged_data_is_reported(kind: Compression, tmp_path: Path) -> None:
    blob = bytearray(pack(kind, PAYLOAD))
    middle = len(blob) // 2
    blob[middle : middle + 32] = bytes(b ^ 0x5A for b in blob[middle : middle + 32])
    src = tmp_path / "in"
    src.write_bytes(bytes(blob))
    with pytest.raises(CorruptCompressedFile):
        decompress_file(src, kind, tmp_path / "out")


def test_progress_every_n_bytes(tmp_path: Path) -> None:
    src = tmp_path / "in.gz"
    src.write_bytes(pack(Compression.GZIP, PAYLOAD))
    seen: list[str] = []
    decompress_file(src, Compression.GZIP, tmp_path / "out", seen.append, report_every=1 << 20)
    assert len(seen) == len(PAYLOAD) >> 20
    assert seen[-1] == f"Decompressing in.gz (gzip): {len(PAYLOAD) >> 20} MiB written"
