"""The Go executable as the direct reader needs it: sections (decompressed), symbols, build ID.

Built on :class:`gocore_dap.preflight.elf.ElfFile` (headers, notes, section table); adds what only the
direct reader needs: SHF_COMPRESSED and ``.zdebug_*`` sections (zlib, zstd), ``.symtab`` lookups by
name, and a whole-file read-only mmap for the loadable segments that a core does not contain (text,
rodata, pclntab).
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import struct
import zlib
from pathlib import Path
from types import TracebackType
from typing import Final

import attrs
import numpy as np

from gocore_dap.backends.direct.errors import DirectReaderUnsupported
from gocore_dap.preflight.elf import (
    ET_DYN,
    ET_EXEC,
    PT_LOAD,
    SHT_NOBITS,
    SHT_NOTE,
    ElfFile,
    ElfFormatError,
    Section,
    build_ids_from_notes,
)

SHF_COMPRESSED: Final = 0x800
ELFCOMPRESS_ZLIB: Final = 1
ELFCOMPRESS_ZSTD: Final = 2
SHT_SYMTAB: Final = 2
_SYM_SIZE: Final = 24  # Elf64_Sym
# A decompressed section bigger than this is not debug info we can use.
_MAX_SECTION: Final = 2 << 30
_SYM_DTYPE: Final = np.dtype(
    [("name", "<u4"), ("info", "u1"), ("other", "u1"), ("shndx", "<u2"), ("value", "<u8"), ("size", "<u8")]
)


@attrs.frozen
class Symbol:
    name: str
    value: int
    size: int


class GoBinary:
    """An open, read-only Go executable (64-bit little-endian ELF)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.elf = ElfFile(path)
        except (OSError, ElfFormatError) as exc:
            raise DirectReaderUnsupported(f"cannot read the executable {path}: {exc}") from exc
        try:
            header = self.elf.header
            if not header.is_64bit or not header.little_endian:
                raise DirectReaderUnsupported(
                    f"{path} is a {header.bits}-bit {'little' if header.little_endian else 'big'}-endian ELF file; "
                    "the direct reader reads 64-bit little-endian programs only"
                )
            if header.e_type not in (ET_EXEC, ET_DYN):
                raise DirectReaderUnsupported(f"{path} is a {header.type_name}, not an executable")
            with open(path, "rb") as fh:
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except BaseException:
            self.elf.close()
            raise
        self._sections: dict[str, bytes] = {}
        self._symtab: tuple[bytes, bytes] | None = None

    def close(self) -> None:
        # Views handed out (pclntab tables) may still be alive; then the mapping goes with them.
        with contextlib.suppress(BufferError):
            self._map.close()
        self.elf.close()

    def __enter__(self) -> GoBinary:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def machine(self) -> int:
        return self.elf.header.e_machine

    @property
    def is_pie(self) -> bool:
        return self.elf.header.e_type == ET_DYN

    @property
    def entry(self) -> int:
        return self.elf.header.e_entry

    @property
    def file_map(self) -> mmap.mmap:
        """The whole file, mapped read-only (for the loadable segments)."""
        return self._map

    def load_segments(self) -> list[tuple[int, int, int]]:
        """(vaddr, file offset, file size) of each PT_LOAD segment, unbiased."""
        return [(s.vaddr, s.offset, s.filesz) for s in self.elf.segments(PT_LOAD) if s.filesz > 0]

    # --- sections -------------------------------------------------------------------------------------------

    def find_section(self, name: str) -> Section | None:
        return self.elf.section(name) or self.elf.section(".z" + name.removeprefix("."))

    def section_data(self, name: str) -> bytes | None:
        """The contents of section ``name`` (``.debug_info`` also finds ``.zdebug_info``), decompressed."""
        if name in self._sections:
            return self._sections[name]
        section = self.find_section(name)
        if section is None or section.sh_type == SHT_NOBITS:
            return None
        raw = self._map[section.offset : section.offset + section.size]
        if len(raw) < section.size:
            raise DirectReaderUnsupported(f"section {section.name} of {self.path} runs past the end of the file")
        data = _decompress(section, raw, self.path)
        self._sections[name] = data
        return data

    # --- build ID -------------------------------------------------------------------------------------------

    def build_id(self) -> str:
        """A stable identity for caches: the GNU build ID, else the Go build ID, else a content hash."""
        notes = []
        for section in self.elf.sections:
            if section.sh_type == SHT_NOTE:
                found, _ = self.elf.notes_in(section.offset, section.size, 4)
                notes.extend(found)
        ids = build_ids_from_notes(notes)
        if ids.gnu:
            return "gnu-" + ids.gnu
        if ids.go:
            return "go-" + hashlib.sha256(ids.go.encode()).hexdigest()[:40]
        digest = hashlib.sha256()
        size = len(self._map)
        digest.update(str(size).encode())
        digest.update(self._map[: 1 << 20])
        digest.update(self._map[max(0, size - (1 << 20)) :])
        return "sha-" + digest.hexdigest()[:40]

    # --- symbols --------------------------------------------------------------------------------------------

    def symbols(self, names: list[str]) -> dict[str, Symbol]:
        """The ``.symtab`` entries of ``names`` that exist (first definition of each)."""
        table = self._symbol_table()
        if table is None:
            return {}
        syms, strtab = table
        count = len(syms) // _SYM_SIZE
        records = np.frombuffer(syms, dtype=_SYM_DTYPE, count=count)
        wanted: dict[int, str] = {}
        for name in names:
            needle = name.encode() + b"\0"
            pos = strtab.find(needle)
            while pos >= 0:
                if pos == 0 or strtab[pos - 1] == 0:
                    wanted[pos] = name
                pos = strtab.find(needle, pos + 1)
        if not wanted:
            return {}
        offsets = np.fromiter(wanted, dtype=np.uint32, count=len(wanted))
        hits = np.nonzero(np.isin(records["name"], offsets) & (records["shndx"] != 0))[0]
        out: dict[str, Symbol] = {}
        for i in hits.tolist():
            rec = records[i]
            name = wanted[int(rec["name"])]
            if name not in out:
                out[name] = Symbol(name, int(rec["value"]), int(rec["size"]))
        return out

    def _symbol_table(self) -> tuple[bytes, bytes] | None:
        if self._symtab is None:
            symtab = next((s for s in self.elf.sections if s.sh_type == SHT_SYMTAB), None)
            if symtab is None or not 0 < symtab.link < len(self.elf.sections):
                return None
            strtab = self.elf.sections[symtab.link]
            self._symtab = (
                self._map[symtab.offset : symtab.offset + symtab.size],
                self._map[strtab.offset : strtab.offset + strtab.size],
            )
        return self._symtab


def _decompress(section: Section, raw: bytes, path: Path) -> bytes:
    if section.flags & SHF_COMPRESSED:
        if len(raw) < 24:
            raise DirectReaderUnsupported(f"compressed section {section.name} of {path} is cut short")
        ch_type, _reserved, ch_size, _align = struct.unpack_from("<IIQQ", raw, 0)
        if ch_size > _MAX_SECTION:
            raise DirectReaderUnsupported(f"section {section.name} of {path} claims {ch_size} bytes")
        body = raw[24:]
        if ch_type == ELFCOMPRESS_ZLIB:
            data = zlib.decompress(body)
        elif ch_type == ELFCOMPRESS_ZSTD:
            import zstandard

            data = zstandard.ZstdDecompressor().decompress(body, max_output_size=ch_size)
        else:
            raise DirectReaderUnsupported(
                f"section {section.name} of {path} uses compression type {ch_type}, which is not supported"
            )
        if len(data) != ch_size:
            raise DirectReaderUnsupported(f"section {section.name} of {path} decompressed to the wrong size")
        return data
    if section.name.startswith(".zdebug") and raw[:4] == b"ZLIB" and len(raw) >= 12:
        (size,) = struct.unpack_from(">Q", raw, 4)
        data = zlib.decompress(raw[12:])
        if len(data) != size:
            raise DirectReaderUnsupported(f"section {section.name} of {path} decompressed to the wrong size")
        return data
    return bytes(raw)
