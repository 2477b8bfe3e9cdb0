"""What a core dump says about the crashed process, from its headers, notes and a few pages.

:func:`read_core_info` -> :class:`CoreInfo`: threads (NT_PRSTATUS), process (NT_PRPSINFO: pid,
command name, command line), signal (NT_SIGINFO), auxiliary vector (NT_AUXV: AT_ENTRY, AT_PHDR,
AT_EXECFN), mapped files (NT_FILE), and the executable's first page as the kernel dumped it
(its ELF header and build-ID notes, so that the executable can be matched against the core).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import attrs

from gocore_dap.preflight.elf import (
    AT_ENTRY,
    AT_EXECFN,
    AT_PAGESZ,
    AT_PHDR,
    ELF_MAGIC,
    ET_CORE,
    NT_AUXV,
    NT_FILE,
    NT_PRPSINFO,
    NT_PRSTATUS,
    NT_SIGINFO,
    PT_LOAD,
    PT_NOTE,
    SIGNAL_NAMES,
    BuildIds,
    ElfFile,
    ElfFormatError,
    ElfHeader,
    MappedFile,
    Note,
    ProcessInfo,
    Segment,
    SignalInfo,
    ThreadStatus,
    build_ids_from_notes,
    cstring,
    decode_auxv,
    decode_nt_file,
    decode_prpsinfo,
    decode_prstatus,
    decode_siginfo,
    parse_elf_header,
    parse_notes,
    parse_program_headers,
    scan_build_id_notes,
)

# How much of the executable's first dumped segment to scan for build-ID notes.
_MAX_EXE_HEAD_SCAN: Final = 64 << 10


@attrs.frozen
class ExeImage:
    """The executable's first page as the core recorded it (coredump_filter bit 4, on by default).

    ``segments`` are the crashed binary's own PT_LOAD headers (link-time addresses);
    ``header_bytes`` is its ELF header plus program header table, for a byte comparison
    when neither side has a build ID.
    """

    load_base: int
    header: ElfHeader
    segments: tuple[Segment, ...]
    build_ids: BuildIds
    header_bytes: bytes


@attrs.frozen
class CoreInfo:
    path: Path
    file_size: int
    header: ElfHeader
    # PT_LOAD segments sorted by address, and the PT_NOTE segments.
    segments: tuple[Segment, ...]
    note_segments: tuple[Segment, ...]
    notes_complete: bool
    threads: tuple[ThreadStatus, ...]
    process: ProcessInfo | None
    signal: SignalInfo | None
    auxv: Mapping[int, int]
    page_size: int
    mapped_files: tuple[MappedFile, ...]
    # The executable as the core names it: NT_FILE path (without " (deleted)") and AT_EXECFN.
    exe_path: str | None
    exe_deleted: bool
    execfn: str | None
    exe_load_base: int | None
    exe_image: ExeImage | None

    @property
    def expected_size(self) -> int:
        """The file size the headers describe: the end of the last segment's data."""
        ends = [s.file_end for s in self.segments + self.note_segments if s.filesz]
        return max(ends, default=0)

    @property
    def missing_bytes(self) -> int:
        return max(0, self.expected_size - self.file_size)

    @property
    def entry(self) -> int | None:
        return self.auxv.get(AT_ENTRY)

    @property
    def crashing_thread(self) -> ThreadStatus | None:
        # The kernel writes the dumping thread's NT_PRSTATUS first.
        return self.threads[0] if self.threads else None

    @property
    def exe_name(self) -> str | None:
        """Best name of the crashed executable: full path if known, else the 15-char comm."""
        if self.exe_path:
            return self.exe_path
        if self.execfn:
            return self.execfn
        return self.process.fname if self.process and self.process.fname else None

    def describe_process(self) -> str:
        """``pid 123, command line './server -port 80', signal SIGSEGV`` -- for messages."""
        parts = []
        if self.process is not None:
            parts.append(f"pid {self.process.pid}")
            if self.process.psargs:
                parts.append(f"command line '{self.process.psargs}'")
        elif self.threads:
            parts.append(f"pid {self.threads[0].tid}")
        sig = self.signal.signo if self.signal else (self.threads[0].signal if self.threads else 0)
        if sig:
            parts.append(f"signal {SIGNAL_NAMES.get(sig, str(sig))}")
        return ", ".join(parts)

    def segment_at(self, addr: int) -> Segment | None:
        i = bisect.bisect_right([s.vaddr for s in self.segments], addr) - 1
        if i >= 0 and self.segments[i].contains(addr):
            return self.segments[i]
        return None

    def is_dumped(self, addr: int) -> bool:
        """Whether the core's headers say the byte at ``addr`` was written into the dump."""
        seg = self.segment_at(addr)
        return seg is not None and addr - seg.vaddr < seg.filesz

    def is_present(self, addr: int) -> bool:
        """Whether the byte at ``addr`` was dumped AND is still in the (possibly truncated) file."""
        seg = self.segment_at(addr)
        if seg is None or addr - seg.vaddr >= seg.filesz:
            return False
        return seg.offset + addr - seg.vaddr < self.file_size


class _CoreMemory:
    """Reads process memory out of a core's PT_LOAD segments (only the dumped, present part)."""

    def __init__(self, elf: ElfFile, segments: Sequence[Segment]) -> None:
        self._elf = elf
        self._segments = sorted((s for s in segments if s.filesz), key=lambda s: s.vaddr)
        self._starts = [s.vaddr for s in self._segments]

    def segment(self, addr: int) -> Segment | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self._segments[i].vaddr + self._segments[i].filesz:
            return self._segments[i]
        return None

    def read(self, addr: int, size: int) -> bytes | None:
        """Up to ``size`` bytes at ``addr`` from one segment; None if nothing is readable there."""
        seg = self.segment(addr)
        if seg is None:
            return None
        avail = seg.vaddr + seg.filesz - addr
        data = self._elf.read_at(seg.offset + addr - seg.vaddr, min(size, avail))
        return data or None

    def read_exact(self, addr: int, size: int) -> bytes | None:
        data = self.read(addr, size)
        return data if data is not None and len(data) == size else None

    def readcstring(self, addr: int, limit: int = 4096) -> str | None:
        data = self.read(addr, limit)
        if data is None or b"\0" not in data:
            return None
        return cstring(data)


def read_core_info(path: Path) -> CoreInfo:
    """Summarise a 64-bit little-endian ET_CORE file (the caller checks type/class first)."""
    with ElfFile(path) as elf:
        h = elf.header
        if h.e_type != ET_CORE or not h.is_64bit or not h.little_endian:
            raise ElfFormatError(f"not a 64-bit little-endian core dump ({h.type_name})")
        phdrs = elf.program_headers
        loads = tuple(sorted((s for s in phdrs if s.p_type == PT_LOAD), key=lambda s: s.vaddr))
        note_segs = tuple(s for s in phdrs if s.p_type == PT_NOTE)

        notes: list[Note] = []
        notes_complete = True
        for seg in note_segs:
            seg_notes, complete = elf.notes_in(seg.offset, seg.filesz, seg.align)
            notes.extend(seg_notes)
            notes_complete = notes_complete and complete

        threads: list[ThreadStatus] = []
        process = signal = None
        auxv: dict[int, int] = {}
        page_size = 4096
        files: tuple[MappedFile, ...] = ()
        for n in notes:
            if n.owner != "CORE":
                continue
            # A malformed single note should not hide everything else the core tells us.
            try:
                if n.n_type == NT_PRSTATUS:
                    threads.append(decode_prstatus(n.desc, h.e_machine))
                elif n.n_type == NT_PRPSINFO and process is None:
                    process = decode_prpsinfo(n.desc)
                elif n.n_type == NT_SIGINFO and signal is None:
                    signal = decode_siginfo(n.desc)
                elif n.n_type == NT_AUXV and not auxv:
                    auxv = decode_auxv(n.desc)
                elif n.n_type == NT_FILE and not files:
                    page_size, files = decode_nt_file(n.desc)
            except ElfFormatError:
                continue
        page_size = auxv.get(AT_PAGESZ, page_size) or 4096

        memory = _CoreMemory(elf, loads)
        exe_path, deleted, load_base = _find_exe_mapping(files, auxv)
        execfn = memory.readcstring(auxv[AT_EXECFN]) if AT_EXECFN in auxv else None
        if load_base is None:
            load_base = _guess_load_base(memory, auxv, page_size)
        image = _read_exe_image(memory, load_base) if load_base is not None else None

        return CoreInfo(
            path=path,
            file_size=elf.size,
            header=h,
            segments=loads,
            note_segments=note_segs,
            notes_complete=notes_complete,
            threads=tuple(threads),
            process=process,
            signal=signal,
            auxv=auxv,
            page_size=page_size,
            mapped_files=files,
            exe_path=exe_path,
            exe_deleted=deleted,
            execfn=execfn,
            exe_load_base=load_base,
            exe_image=image,
        )


_DELETED_SUFFIX: Final = " (deleted)"


def _find_exe_mapping(files: Sequence[MappedFile], auxv: Mapping[int, int]) -> tuple[str | None, bool, int | None]:
    """The executable's path, whether it was deleted, and its load base (mapping of offset 0).

    The executable is the file mapped at AT_ENTRY (or AT_PHDR); the kernel lists mappings in
    address order, so without auxv the first one is the best guess.
    """
    if not files:
        return None, False, None
    exe: MappedFile | None = None
    for key in (AT_ENTRY, AT_PHDR):
        addr = auxv.get(key)
        if addr is not None:
            exe = next((f for f in files if f.start <= addr < f.end), None)
            if exe is not None:
                break
    if exe is None:
        exe = files[0]
    same = [f for f in files if f.path == exe.path]
    first = min(same, key=lambda f: (f.file_offset, f.start))
    base = first.start - first.file_offset if first.file_offset <= first.start else None
    path, deleted = exe.path, exe.path.endswith(_DELETED_SUFFIX)
    if deleted:
        path = path[: -len(_DELETED_SUFFIX)]
    return path, deleted, base


def _guess_load_base(memory: _CoreMemory, auxv: Mapping[int, int], page_size: int) -> int | None:
    # Without NT_FILE (very old kernels): the program headers sit right after the ELF header
    # in the first page, so the page holding AT_PHDR is usually the load base.
    phdr = auxv.get(AT_PHDR)
    if phdr is None:
        return None
    base = phdr & ~(page_size - 1)
    head = memory.read_exact(base, 4)
    return base if head == ELF_MAGIC else None


def _read_exe_image(memory: _CoreMemory, load_base: int) -> ExeImage | None:
    raw = memory.read_exact(load_base, 64)
    if raw is None:
        return None
    try:
        header = parse_elf_header(raw)
    except ElfFormatError:
        return None
    if not header.is_64bit or not header.little_endian or header.e_phentsize < 56:
        return None
    table = memory.read_exact(load_base + header.e_phoff, header.e_phnum * header.e_phentsize)
    segments = parse_program_headers(table, header, header.e_phnum) if table is not None else ()
    ids = BuildIds()
    loads = [s for s in segments if s.p_type == PT_LOAD]
    first = min(loads, key=lambda s: s.offset, default=None)
    if first is not None:
        bias = load_base - (first.vaddr - first.offset)
        for seg in segments:
            if seg.p_type == PT_NOTE:
                data = memory.read_exact(bias + seg.vaddr, seg.filesz)
                if data is not None:
                    ids = ids.merged(build_ids_from_notes(parse_notes(data, True, seg.align)[0]))
    head = memory.read(load_base, _MAX_EXE_HEAD_SCAN) or b""
    ids = ids.merged(scan_build_id_notes(head))
    return ExeImage(
        load_base=load_base,
        header=header,
        segments=tuple(loads),
        build_ids=ids,
        header_bytes=raw + (table or b""),
    )
