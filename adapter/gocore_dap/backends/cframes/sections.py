"""The DWARF sections of an ELF executable, decompressed, and a cursor to read them."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from pathlib import Path

from gocore_dap.preflight.elf import ElfFile, ElfFormatError

__all__ = ["DWARF_SECTIONS", "Cursor", "DwarfFormatError", "load_dwarf_sections"]

DWARF_SECTIONS = (
    ".debug_info", ".debug_abbrev", ".debug_line", ".debug_line_str", ".debug_str", ".debug_str_offsets",
    ".debug_addr", ".debug_ranges", ".debug_rnglists", ".debug_aranges",
)  # fmt: skip
_SHF_COMPRESSED = 0x800
_ELFCOMPRESS_ZLIB = 1
# No real executable's DWARF section is anywhere near this; a corrupt header could claim anything.
_MAX_SECTION = 1 << 31


class DwarfFormatError(Exception):
    """The DWARF is not what its headers say (truncated, an unknown form, a bad offset)."""


def load_dwarf_sections(path: Path) -> dict[str, bytes]:
    """The DWARF sections of `path` that exist, decompressed (SHF_COMPRESSED zlib: how Go's linker
    writes them; `.zdebug_*` is not handled: no current toolchain writes it)."""
    out: dict[str, bytes] = {}
    try:
        with ElfFile(path) as elf:
            little = elf.header.little_endian
            is64 = elf.header.is_64bit
            for section in elf.sections:
                if section.name not in DWARF_SECTIONS or section.size > _MAX_SECTION:
                    continue
                data = elf.read_at(section.offset, section.size)
                if section.flags & _SHF_COMPRESSED:
                    data = _decompress(data, little=little, is64=is64, name=section.name)
                out[section.name] = data
    except (OSError, ElfFormatError) as exc:
        raise DwarfFormatError(f"cannot read the DWARF of {path}: {exc}") from exc
    return out


def _decompress(data: bytes, *, little: bool, is64: bool, name: str) -> bytes:
    e = "<" if little else ">"
    if is64:
        ch_type, _reserved, size, _align = struct.unpack_from(e + "IIQQ", data)
        header = 24
    else:
        ch_type, size, _align = struct.unpack_from(e + "III", data)
        header = 12
    if ch_type != _ELFCOMPRESS_ZLIB:
        raise DwarfFormatError(f"{name} is compressed with type {ch_type}, only zlib (1) is read")
    try:
        out = zlib.decompress(data[header:])
    except zlib.error as exc:
        raise DwarfFormatError(f"{name}: {exc}") from exc
    if len(out) != size:
        raise DwarfFormatError(f"{name} decompressed to {len(out)} bytes, its header says {size}")
    return out


class Cursor:
    """A little-endian reader over one section (DWARF on the architectures Go supports in cores here)."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def _need(self, size: int) -> None:
        if self.pos + size > len(self.data) or self.pos < 0:
            raise DwarfFormatError(f"read of {size} bytes at {self.pos:#x} runs past the section ({len(self.data)})")

    def u8(self) -> int:
        self._need(1)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def u16(self) -> int:
        self._need(2)
        value: int = struct.unpack_from("<H", self.data, self.pos)[0]
        self.pos += 2
        return value

    def u24(self) -> int:
        self._need(3)
        value = int.from_bytes(self.data[self.pos : self.pos + 3], "little")
        self.pos += 3
        return value

    def u32(self) -> int:
        self._need(4)
        value: int = struct.unpack_from("<I", self.data, self.pos)[0]
        self.pos += 4
        return value

    def u64(self) -> int:
        self._need(8)
        value: int = struct.unpack_from("<Q", self.data, self.pos)[0]
        self.pos += 8
        return value

    def uint(self, size: int) -> int:
        if size == 1:
            return self.u8()
        if size == 2:
            return self.u16()
        if size == 4:
            return self.u32()
        if size == 8:
            return self.u64()
        self._need(size)
        value = int.from_bytes(self.data[self.pos : self.pos + size], "little")
        self.pos += size
        return value

    def uleb(self) -> int:
        result = shift = 0
        data = self.data
        while True:
            if self.pos >= len(data):
                raise DwarfFormatError("LEB128 runs past the section")
            byte = data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result

    def sleb(self) -> int:
        result = shift = 0
        data = self.data
        while True:
            if self.pos >= len(data):
                raise DwarfFormatError("LEB128 runs past the section")
            byte = data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                if byte & 0x40:
                    result -= 1 << shift
                return result

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise DwarfFormatError(f"string at {self.pos:#x} has no terminating NUL")
        text = self.data[self.pos : end].decode("utf-8", "replace")
        self.pos = end + 1
        return text

    def skip(self, size: int) -> None:
        self._need(size)
        self.pos += size

    def initial_length(self) -> tuple[int, int]:
        """(unit length, offset size): 32-bit DWARF, or 64-bit after the 0xffffffff escape."""
        length = self.u32()
        if length == 0xFFFFFFFF:
            return self.u64(), 8
        return length, 4


def cstring_at(data: bytes, offset: int) -> str:
    end = data.find(b"\0", offset)
    if offset < 0 or offset >= len(data) or end < 0:
        raise DwarfFormatError(f"string offset {offset:#x} is outside its section ({len(data)} bytes)")
    return data[offset:end].decode("utf-8", "replace")


def section(sections: Mapping[str, bytes], name: str) -> bytes:
    return sections.get(name, b"")
