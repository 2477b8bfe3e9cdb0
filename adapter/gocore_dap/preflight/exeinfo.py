"""What an executable is: identity (build IDs, entry point, layout), Go-ness, DWARF.

:func:`read_exe_info` -> :class:`ExeInfo`, compared by the checks with what the core recorded.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import attrs

from gocore_dap.goviews.build_info import BuildInfo, parse_buildinfo_section, parse_modinfo
from gocore_dap.preflight.elf import (
    ET_DYN,
    GO_BUILDINFO_MAGIC,
    PF_W,
    PT_LOAD,
    PT_NOTE,
    SHT_NOBITS,
    SHT_NOTE,
    BuildIds,
    ElfFile,
    ElfHeader,
    ElfTruncatedError,
    Segment,
    build_ids_from_notes,
    scan_build_id_notes,
)


@attrs.frozen
class ExeInfo:
    path: Path
    header: ElfHeader
    # PT_LOAD segments (link-time addresses).
    segments: tuple[Segment, ...]
    build_ids: BuildIds
    is_go: bool
    # The module build info (.go.buildinfo, Go 1.18+); None for older layouts or a damaged blob.
    build_info: BuildInfo | None
    has_dwarf: bool
    has_symtab: bool
    # A separate debug file found by GNU build ID (Delve looks in /usr/lib/debug/.build-id).
    separate_debug_file: Path | None
    # ELF header + program header table, compared with the copy in the core.
    header_bytes: bytes
    # .gnu_debuglink: the separate debug file's name and the CRC-32 of its contents.
    debuglink: tuple[str, int] | None = None

    @property
    def go_version(self) -> str | None:
        return (self.build_info.go_version or None) if self.build_info is not None else None

    @property
    def is_pie(self) -> bool:
        return self.header.e_type == ET_DYN

    @property
    def image_base(self) -> int | None:
        """Link-time address of file offset 0 (0x400000 for a non-PIE Go binary, 0 for PIE)."""
        first = min(self.segments, key=lambda s: s.offset, default=None)
        return None if first is None else first.vaddr - first.offset

    def load_bias(self, load_base: int) -> int:
        """How far the loader moved this binary, given where offset 0 was mapped."""
        if not self.is_pie or self.image_base is None:
            return 0
        return load_base - self.image_base


DEBUG_BUILD_ID_DIR: Final = Path("/usr/lib/debug/.build-id")
# The module list of a large service stays far below this; a damaged length must not read the whole file.
_BUILDINFO_MAX: Final = 1 << 20


def read_exe_info(path: Path, debug_dir: Path = DEBUG_BUILD_ID_DIR) -> ExeInfo:
    """Summarise an executable: identity (build IDs, entry), Go-ness, DWARF."""
    with ElfFile(path) as elf:
        h = elf.header
        phdrs = elf.program_headers
        loads = tuple(s for s in phdrs if s.p_type == PT_LOAD)
        sections = elf.sections
        # An interrupted copy or build leaves a file whose headers look fine (the Go linker
        # writes them at the start) but whose contents stop early; every later answer would be
        # wrong, so say that instead.
        described = max(
            [s.file_end for s in loads] + [s.offset + s.size for s in sections if s.sh_type != SHT_NOBITS and s.size],
            default=0,
        )
        if described > elf.size:
            raise ElfTruncatedError(f"the file has {elf.size:,} bytes but its headers describe {described:,}")
        names = {s.name for s in sections}

        ids = BuildIds()
        for s in sections:
            if s.sh_type == SHT_NOTE:
                ids = ids.merged(build_ids_from_notes(elf.notes_in(s.offset, s.size)[0]))
        for seg in phdrs:
            if seg.p_type == PT_NOTE:
                ids = ids.merged(build_ids_from_notes(elf.notes_in(seg.offset, seg.filesz, seg.align)[0]))
        # Same view as the core's copy of the first page, for binaries stripped of sections.
        ids = ids.merged(scan_build_id_notes(elf.read_at(0, 4096)))

        build_info: BuildInfo | None = None
        buildinfo = elf.section(".go.buildinfo")
        if buildinfo is not None:
            is_go = True
            build_info = _parse_build_info(elf.read_at(buildinfo.offset, min(buildinfo.size, _BUILDINFO_MAX)))
        else:
            blob = _find_buildinfo_blob(elf, loads)
            is_go = blob is not None or bool(names & {".gopclntab", ".data.rel.ro.gopclntab"})
            if blob is not None:
                build_info = _parse_build_info(blob)
            if not is_go:
                is_go = _strtab_has(elf, b"\0runtime.buildVersion\0")

        has_dwarf = bool(names & {".debug_info", ".zdebug_info"})
        separate = None
        if not has_dwarf and ids.gnu is not None and len(ids.gnu) > 2:
            candidate = debug_dir / ids.gnu[:2] / f"{ids.gnu[2:]}.debug"
            separate = candidate if candidate.is_file() else None

        table_size = elf.phnum * h.e_phentsize
        return ExeInfo(
            path=path,
            header=h,
            segments=loads,
            build_ids=ids,
            is_go=is_go,
            build_info=build_info,
            has_dwarf=has_dwarf,
            has_symtab=".symtab" in names,
            separate_debug_file=separate,
            header_bytes=elf.read_at(0, 64) + elf.read_at(h.e_phoff, table_size),
            debuglink=_read_debuglink(elf),
        )


def _find_buildinfo_blob(elf: ElfFile, loads: Sequence[Segment]) -> bytes | None:
    # What `go version` does without sections: the blob is at the start of the first writable
    # segment, aligned to 16 bytes.
    for seg in loads:
        if seg.flags & PF_W and seg.filesz:
            data = elf.read_at(seg.offset, min(seg.filesz, _BUILDINFO_MAX))
            pos = data.find(GO_BUILDINFO_MAGIC)
            while pos >= 0 and pos % 16:
                pos = data.find(GO_BUILDINFO_MAGIC, pos + 1)
            if pos >= 0:
                return data[pos:]
            return None
    return None


def _parse_build_info(blob: bytes) -> BuildInfo | None:
    """The build info of a Go 1.18+ blob; None for older layouts or a damaged blob."""
    try:
        parsed = parse_buildinfo_section(blob)
    except (ValueError, IndexError):
        return None
    if parsed is None:
        return None
    version, modinfo = parsed
    return parse_modinfo(modinfo, version)


def _read_debuglink(elf: ElfFile) -> tuple[str, int] | None:
    """(file name, CRC-32) of .gnu_debuglink: the name, NUL-padded to 4 bytes, then the CRC."""
    section = elf.section(".gnu_debuglink")
    if section is None or section.sh_type == SHT_NOBITS or not 5 <= section.size <= 4096:
        return None
    raw = elf.read_at(section.offset, section.size)
    end = raw.find(b"\0")
    if end <= 0 or len(raw) < ((end + 4) & ~3) + 4:
        return None
    crc_at = (end + 4) & ~3
    (crc,) = struct.unpack_from("<I" if elf.header.little_endian else ">I", raw, crc_at)
    return raw[:end].decode("utf-8", "replace"), crc


def _strtab_has(elf: ElfFile, needle: bytes) -> bool:
    """Search the symbol string table without reading it into memory (it can be tens of MB)."""
    strtab = elf.section(".strtab")
    if strtab is None or strtab.sh_type == SHT_NOBITS or strtab.size == 0:
        return False
    if strtab.offset + strtab.size > elf.size:
        return False
    with open(elf.path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        return mm.find(needle, strtab.offset, strtab.offset + strtab.size) >= 0


def iter_load_ranges(segments: Sequence[Segment], bias: int, page_size: int) -> Iterator[tuple[int, int]]:
    """Page-aligned [start, end) process ranges of an executable's PT_LOAD segments."""
    mask = page_size - 1
    for s in segments:
        if s.memsz:
            yield (bias + s.vaddr) & ~mask, (bias + s.vaddr + s.memsz + mask) & ~mask
