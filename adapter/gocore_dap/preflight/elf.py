"""Read-only ELF reader for the pre-flight checks on a Go program and its core dump.

Only what the checks need is read -- the ELF header, program and section headers, notes -- with
seek/read on a file handle, so inspecting a multi-GB core costs a few dozen small reads and never
loads the dump into memory. :mod:`.coreinfo` and :mod:`.exeinfo` build the checks' summaries of a
core and of an executable on top of it.

Notes decoded here: NT_PRSTATUS, NT_PRPSINFO, NT_SIGINFO, NT_AUXV and NT_FILE of core dumps
(64-bit little-endian Linux layouts, the only cores Delve opens: linux/amd64 and linux/arm64),
and the GNU and Go build-ID notes of executables. Headers of any ELF file are parsed, so that
the checks can say precisely what a wrong file is.
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final

import attrs

ELF_MAGIC: Final = b"\x7fELF"
ELFCLASS32: Final = 1
ELFCLASS64: Final = 2
ELFDATA2LSB: Final = 1
ELFDATA2MSB: Final = 2

ET_NONE: Final = 0
ET_REL: Final = 1
ET_EXEC: Final = 2
ET_DYN: Final = 3
ET_CORE: Final = 4

EM_386: Final = 3
EM_MIPS: Final = 8
EM_PPC: Final = 20
EM_PPC64: Final = 21
EM_S390: Final = 22
EM_ARM: Final = 40
EM_X86_64: Final = 62
EM_AARCH64: Final = 183
EM_RISCV: Final = 243
EM_LOONGARCH: Final = 258

PT_LOAD: Final = 1
PT_NOTE: Final = 4
PT_PHDR: Final = 6
PF_X: Final = 1
PF_W: Final = 2
PF_R: Final = 4
# e_phnum value meaning "the real count is in section header 0's sh_info" (cores with >= 65535 mappings).
PN_XNUM: Final = 0xFFFF
SHN_XINDEX: Final = 0xFFFF

SHT_NOTE: Final = 7
SHT_NOBITS: Final = 8

NT_PRSTATUS: Final = 1
NT_PRPSINFO: Final = 3
NT_AUXV: Final = 6
NT_SIGINFO: Final = 0x53494749
NT_FILE: Final = 0x46494C45
NT_GNU_BUILD_ID: Final = 3
# The Go linker's note type for the Go build ID (owner "Go"), cmd/link ELF_NOTE_GOBUILDID_TAG.
NT_GO_BUILD_ID: Final = 4

AT_NULL: Final = 0
AT_PHDR: Final = 3
AT_PAGESZ: Final = 6
AT_BASE: Final = 7
AT_ENTRY: Final = 9
AT_EXECFN: Final = 31

# The first bytes of the .go.buildinfo section (Go 1.13+), also what `go version` searches for.
GO_BUILDINFO_MAGIC: Final = b"\xff Go buildinf:"

MACHINE_NAMES: Final[Mapping[int, str]] = {
    EM_386: "386",
    EM_MIPS: "mips",
    EM_PPC: "ppc",
    EM_PPC64: "ppc64",
    EM_S390: "s390x",
    EM_ARM: "arm",
    EM_X86_64: "amd64",
    EM_AARCH64: "arm64",
    EM_RISCV: "riscv64",
    EM_LOONGARCH: "loong64",
}

TYPE_NAMES: Final[Mapping[int, str]] = {
    ET_NONE: "ELF file of unknown type (ET_NONE)",
    ET_REL: "relocatable object file (ET_REL, e.g. a .o file)",
    ET_EXEC: "executable (ET_EXEC)",
    ET_DYN: "position-independent executable or shared library (ET_DYN)",
    ET_CORE: "core dump (ET_CORE)",
}

# Linux signal numbers (the same on amd64 and arm64); used only to word messages.
SIGNAL_NAMES: Final[Mapping[int, str]] = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
    8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
    14: "SIGALRM", 15: "SIGTERM", 24: "SIGXCPU", 25: "SIGXFSZ", 31: "SIGSYS",
}  # fmt: skip

# Offsets inside the 64-bit elf_prstatus: pr_info(12) pr_cursig(2) pad(2) pr_sigpend(8) pr_sighold(8),
# then pid/ppid/pgrp/sid (4 each) and four timevals (16 each) before pr_reg at 112.
_PRSTATUS_PID_OFFSET: Final = 32
_PRSTATUS_REG_OFFSET: Final = 112
# Register slots (8 bytes each) inside pr_reg: amd64 user_regs_struct has rip at 16 and rsp at 19;
# arm64 user_pt_regs is x0..x30, sp, pc.
_PC_SP_SLOTS: Final[Mapping[int, tuple[int, int]]] = {EM_X86_64: (16, 19), EM_AARCH64: (32, 31)}

# Cap on the note segment we are willing to read: 10,000 threads of amd64 notes are ~40 MiB.
_MAX_NOTES_BYTES: Final = 256 << 20


class ElfFormatError(Exception):
    """The file is not a well-formed ELF file, or is cut short; the message says where."""


class ElfTruncatedError(ElfFormatError):
    """A header table the ELF header points to runs past the end of the file."""


@attrs.frozen
class ElfHeader:
    """The fields of the ELF file header that the checks use."""

    elf_class: int
    little_endian: bool
    osabi: int
    e_type: int
    e_machine: int
    e_entry: int
    e_phoff: int
    e_shoff: int
    e_phentsize: int
    e_phnum: int
    e_shentsize: int
    e_shnum: int
    e_shstrndx: int

    @property
    def is_64bit(self) -> bool:
        return self.elf_class == ELFCLASS64

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.e_type, f"ELF file of type {self.e_type:#x}")

    @property
    def machine_name(self) -> str:
        return machine_name(self.e_machine)

    @property
    def bits(self) -> int:
        return 64 if self.is_64bit else 32


def machine_name(e_machine: int) -> str:
    return MACHINE_NAMES.get(e_machine, f"machine {e_machine}")


def parse_elf_header(data: bytes) -> ElfHeader:
    """Parse the ELF header at the start of ``data`` (the first 64 bytes of a file are enough)."""
    if not data.startswith(ELF_MAGIC):
        raise ElfFormatError("no ELF magic number")
    if len(data) < 16:
        raise ElfTruncatedError(f"the ELF header is cut short ({len(data)} bytes)")
    elf_class, encoding = data[4], data[5]
    if elf_class not in (ELFCLASS32, ELFCLASS64):
        raise ElfFormatError(f"unknown ELF class {elf_class}")
    if encoding not in (ELFDATA2LSB, ELFDATA2MSB):
        raise ElfFormatError(f"unknown ELF data encoding {encoding}")
    e = "<" if encoding == ELFDATA2LSB else ">"
    fmt = e + ("HHIQQQIHHHHHH" if elf_class == ELFCLASS64 else "HHIIIIIHHHHHH")
    size = struct.calcsize(fmt)
    if len(data) < 16 + size:
        raise ElfTruncatedError(f"the ELF header is cut short ({len(data)} bytes)")
    (e_type, e_machine, _version, e_entry, e_phoff, e_shoff, _flags, _ehsize,
     e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx) = struct.unpack_from(fmt, data, 16)  # fmt: skip
    return ElfHeader(
        elf_class=elf_class,
        little_endian=encoding == ELFDATA2LSB,
        osabi=data[7],
        e_type=e_type,
        e_machine=e_machine,
        e_entry=e_entry,
        e_phoff=e_phoff,
        e_shoff=e_shoff,
        e_phentsize=e_phentsize,
        e_phnum=e_phnum,
        e_shentsize=e_shentsize,
        e_shnum=e_shnum,
        e_shstrndx=e_shstrndx,
    )


@attrs.frozen
class Segment:
    """A program header (segment). For a core's PT_LOAD, ``vaddr`` is the process address."""

    p_type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    align: int

    @property
    def file_end(self) -> int:
        return self.offset + self.filesz

    @property
    def vaddr_end(self) -> int:
        return self.vaddr + self.memsz

    def contains(self, addr: int) -> bool:
        return self.vaddr <= addr < self.vaddr + self.memsz


@attrs.frozen
class Section:
    name: str
    sh_type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int


@attrs.frozen
class Note:
    owner: str
    n_type: int
    desc: bytes


def parse_program_headers(data: bytes, header: ElfHeader, count: int) -> tuple[Segment, ...]:
    e = "<" if header.little_endian else ">"
    out: list[Segment] = []
    for i in range(count):
        base = i * header.e_phentsize
        if header.is_64bit:
            p_type, flags, offset, vaddr, _paddr, filesz, memsz, align = struct.unpack_from(e + "IIQQQQQQ", data, base)
        else:
            p_type, offset, vaddr, _paddr, filesz, memsz, flags, align = struct.unpack_from(e + "IIIIIIII", data, base)
        out.append(Segment(p_type, flags, offset, vaddr, filesz, memsz, align))
    return tuple(out)


def parse_notes(data: bytes, little_endian: bool = True, align: int = 4) -> tuple[list[Note], bool]:
    """Parse an ELF note area; returns the notes and whether the area ended cleanly.

    ``complete`` is False when ``data`` stops in the middle of a note, which is how a core cut
    inside its note segment looks.
    """
    e = "<" if little_endian else ">"
    align = 8 if align == 8 else 4
    notes: list[Note] = []
    pos = 0
    while pos + 12 <= len(data):
        namesz, descsz, n_type = struct.unpack_from(e + "III", data, pos)
        name_start = pos + 12
        desc_start = name_start + _round_up(namesz, 4)
        desc_end = desc_start + descsz
        if desc_end > len(data):
            return notes, False
        owner = data[name_start : name_start + namesz].split(b"\0", 1)[0].decode("latin-1")
        notes.append(Note(owner, n_type, data[desc_start:desc_end]))
        pos = _round_up(desc_end, align)
    return notes, pos >= len(data) or not any(data[pos:])


def _round_up(value: int, align: int) -> int:
    return (value + align - 1) & ~(align - 1)


class ElfFile:
    """An open ELF file read with seek/read; headers are parsed lazily and cached."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: BinaryIO = open(path, "rb")  # noqa: SIM115 -- closed by close()/__exit__
        try:
            self.size = os.fstat(self._fh.fileno()).st_size
            self.header = parse_elf_header(self.read_at(0, 64))
        except BaseException:
            self._fh.close()
            raise

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ElfFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def read_at(self, offset: int, size: int) -> bytes:
        """Read up to ``size`` bytes at ``offset``; shorter at end of file, never raises for EOF."""
        if size <= 0 or offset >= self.size:
            return b""
        self._fh.seek(offset)
        return self._fh.read(min(size, self.size - offset))

    @functools.cached_property
    def _section0(self) -> Section | None:
        h = self.header
        if h.e_shoff == 0:
            return None
        raw = self.read_at(h.e_shoff, h.e_shentsize)
        if len(raw) < h.e_shentsize:
            return None
        return self._parse_section(raw, 0, "")

    @functools.cached_property
    def phnum(self) -> int:
        h = self.header
        if h.e_phnum == PN_XNUM and self._section0 is not None:
            return self._section0.info
        return h.e_phnum

    @functools.cached_property
    def program_headers(self) -> tuple[Segment, ...]:
        h = self.header
        count = self.phnum
        if count == 0:
            return ()
        want = h.e_phentsize * count
        if h.e_phentsize < (56 if h.is_64bit else 32):
            raise ElfFormatError(f"program header entries are {h.e_phentsize} bytes, too small")
        raw = self.read_at(h.e_phoff, want)
        if len(raw) < want:
            raise ElfTruncatedError(
                f"the program header table (offset {h.e_phoff}, {count} entries, {want} bytes) "
                f"runs past the end of the file ({self.size} bytes)"
            )
        return parse_program_headers(raw, h, count)

    def segments(self, p_type: int) -> list[Segment]:
        return [s for s in self.program_headers if s.p_type == p_type]

    def _parse_section(self, raw: bytes, base: int, name: str) -> Section:
        e = "<" if self.header.little_endian else ">"
        if self.header.is_64bit:
            _n, sh_type, flags, addr, offset, size, link, info, _al, _es = struct.unpack_from(
                e + "IIQQQQIIQQ", raw, base
            )
        else:
            _n, sh_type, flags, addr, offset, size, link, info, _al, _es = struct.unpack_from(
                e + "IIIIIIIIII", raw, base
            )
        return Section(name, sh_type, flags, addr, offset, size, link, info)

    @functools.cached_property
    def sections(self) -> tuple[Section, ...]:
        """Section headers with names; empty when the file has none (cores, sstrip'ed binaries)."""
        h = self.header
        if h.e_shoff == 0 or h.e_shentsize == 0:
            return ()
        count = h.e_shnum
        if count == 0 and self._section0 is not None:
            count = self._section0.size  # more than SHN_LORESERVE sections
        want = h.e_shentsize * count
        raw = self.read_at(h.e_shoff, want)
        if h.e_shentsize < (64 if h.is_64bit else 40):
            raise ElfFormatError(f"section header entries are {h.e_shentsize} bytes, too small")
        if len(raw) < want:
            raise ElfTruncatedError(
                f"the section header table (offset {h.e_shoff}, {count} entries) runs past "
                f"the end of the file ({self.size} bytes)"
            )
        e = "<" if h.little_endian else ">"
        name_offsets = [struct.unpack_from(e + "I", raw, i * h.e_shentsize)[0] for i in range(count)]
        strndx = h.e_shstrndx
        if strndx == SHN_XINDEX and self._section0 is not None:
            strndx = self._section0.link
        names = b""
        if 0 < strndx < count:
            strtab = self._parse_section(raw, strndx * h.e_shentsize, "")
            names = self.read_at(strtab.offset, min(strtab.size, 1 << 20))
        out = []
        for i in range(count):
            off = name_offsets[i]
            end = names.find(b"\0", off)
            name = names[off : end if end >= 0 else len(names)].decode("latin-1") if off < len(names) else ""
            out.append(self._parse_section(raw, i * h.e_shentsize, name))
        return tuple(out)

    def section(self, name: str) -> Section | None:
        for s in self.sections:
            if s.name == name:
                return s
        return None

    def notes_in(self, offset: int, size: int, align: int = 4) -> tuple[list[Note], bool]:
        """Notes stored at a file range; ``complete`` is False if the file ends inside it."""
        if size > _MAX_NOTES_BYTES:
            raise ElfFormatError(f"a note area of {size} bytes at offset {offset} is implausibly large")
        data = self.read_at(offset, size)
        notes, complete = parse_notes(data, self.header.little_endian, align)
        return notes, complete and len(data) == size


# ---------------------------------------------------------------------------------------------
# Notes of core dumps (64-bit little-endian Linux layouts)


@attrs.frozen
class ThreadStatus:
    """One NT_PRSTATUS: a thread's id, the signal it was handling and its pc/sp."""

    tid: int
    signal: int
    pc: int | None
    sp: int | None


@attrs.frozen
class ProcessInfo:
    """NT_PRPSINFO. ``fname`` is the 15-character command name; ``psargs`` the first 80 bytes
    of the command line with NULs turned into spaces (the kernel's own truncation)."""

    pid: int
    ppid: int
    uid: int
    gid: int
    fname: str
    psargs: str


@attrs.frozen
class SignalInfo:
    signo: int
    errno: int
    code: int
    addr: int | None
    sender_pid: int | None

    @property
    def name(self) -> str:
        return SIGNAL_NAMES.get(self.signo, f"signal {self.signo}")


@attrs.frozen
class MappedFile:
    """One NT_FILE entry: [start, end) maps ``path`` from byte ``file_offset``."""

    start: int
    end: int
    file_offset: int
    path: str


def decode_prstatus(desc: bytes, e_machine: int) -> ThreadStatus:
    if len(desc) < _PRSTATUS_REG_OFFSET:
        raise ElfFormatError(f"NT_PRSTATUS note is {len(desc)} bytes, too short")
    cursig = struct.unpack_from("<h", desc, 12)[0]
    tid = struct.unpack_from("<i", desc, _PRSTATUS_PID_OFFSET)[0]
    pc = sp = None
    slots = _PC_SP_SLOTS.get(e_machine)
    if slots is not None and len(desc) >= _PRSTATUS_REG_OFFSET + 8 * (max(slots) + 1):
        pc = struct.unpack_from("<Q", desc, _PRSTATUS_REG_OFFSET + 8 * slots[0])[0]
        sp = struct.unpack_from("<Q", desc, _PRSTATUS_REG_OFFSET + 8 * slots[1])[0]
    return ThreadStatus(tid=tid, signal=cursig, pc=pc, sp=sp)


def decode_prpsinfo(desc: bytes) -> ProcessInfo:
    # 64-bit elf_prpsinfo: 4 state bytes, pad, pr_flag(8), uid, gid, pid, ppid, pgrp, sid (4 each),
    # pr_fname[16] at 40, pr_psargs[80] at 56.
    if len(desc) < 136:
        raise ElfFormatError(f"NT_PRPSINFO note is {len(desc)} bytes, too short")
    uid, gid, pid, ppid = struct.unpack_from("<IIii", desc, 16)
    fname = cstring(desc[40:56])
    psargs = cstring(desc[56:136]).rstrip()
    return ProcessInfo(pid=pid, ppid=ppid, uid=uid, gid=gid, fname=fname, psargs=psargs)


def decode_siginfo(desc: bytes) -> SignalInfo:
    if len(desc) < 24:
        raise ElfFormatError(f"NT_SIGINFO note is {len(desc)} bytes, too short")
    signo, errno, code = struct.unpack_from("<iii", desc, 0)
    addr = sender = None
    # The union starts at 16 on 64-bit. Faults carry the address; code <= 0 means sent by a process
    # (kill/tgkill/raise), which carries the sender's pid.
    if signo in (4, 7, 8, 11) and code > 0:
        addr = struct.unpack_from("<Q", desc, 16)[0]
    elif code <= 0:
        sender = struct.unpack_from("<i", desc, 16)[0]
    return SignalInfo(signo=signo, errno=errno, code=code, addr=addr, sender_pid=sender)


def decode_auxv(desc: bytes) -> dict[int, int]:
    out: dict[int, int] = {}
    for i in range(0, len(desc) - 15, 16):
        key, value = struct.unpack_from("<QQ", desc, i)
        if key == AT_NULL:
            break
        out.setdefault(key, value)
    return out


def decode_nt_file(desc: bytes) -> tuple[int, tuple[MappedFile, ...]]:
    """NT_FILE: count, page size, count x (start, end, offset in pages), then count file names."""
    if len(desc) < 16:
        raise ElfFormatError("NT_FILE note is too short")
    count, page_size = struct.unpack_from("<QQ", desc, 0)
    table_end = 16 + 24 * count
    if table_end > len(desc):
        raise ElfFormatError(f"NT_FILE note announces {count} files but is {len(desc)} bytes")
    names = desc[table_end:].split(b"\0")
    out = []
    for i in range(count):
        start, end, pgoff = struct.unpack_from("<QQQ", desc, 16 + 24 * i)
        name = names[i].decode("utf-8", "replace") if i < len(names) else ""
        out.append(MappedFile(start, end, pgoff * page_size, name))
    return page_size, tuple(out)


def cstring(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# Build IDs


@attrs.frozen
class BuildIds:
    """The GNU build ID (hex) and the Go build ID (``actionID/.../contentID``) of one binary."""

    gnu: str | None = None
    go: str | None = None

    @property
    def empty(self) -> bool:
        return self.gnu is None and self.go is None

    def describe(self) -> str:
        parts = []
        if self.gnu is not None:
            parts.append(f"GNU build ID {self.gnu}")
        if self.go is not None:
            parts.append(f"Go build ID {self.go}")
        return " and ".join(parts) if parts else "no build ID"

    def merged(self, other: BuildIds) -> BuildIds:
        return BuildIds(gnu=self.gnu or other.gnu, go=self.go or other.go)


def build_ids_from_notes(notes: Sequence[Note]) -> BuildIds:
    gnu = go = None
    for n in notes:
        if n.owner == "GNU" and n.n_type == NT_GNU_BUILD_ID and gnu is None and n.desc:
            gnu = n.desc.hex()
        elif n.owner == "Go" and n.n_type == NT_GO_BUILD_ID and go is None and n.desc:
            go = n.desc.rstrip(b"\0").decode("utf-8", "replace")
    return BuildIds(gnu=gnu, go=go)


_GNU_NOTE_TAG: Final = struct.pack("<I", NT_GNU_BUILD_ID) + b"GNU\0"
_GO_NOTE_TAG: Final = struct.pack("<I", NT_GO_BUILD_ID) + b"Go\0\0"


def scan_build_id_notes(data: bytes) -> BuildIds:
    """Find build-ID notes in raw bytes by their 16-byte header signature.

    Needed where no section table tells us where the notes are: the executable's first page
    as the kernel dumped it into the core. The Go linker puts the GNU build ID outside the
    PT_NOTE segment, so walking PT_NOTE alone would miss it.
    """
    found: list[Note] = []
    for tag, owner, n_type, max_desc in (
        (_GNU_NOTE_TAG, "GNU", NT_GNU_BUILD_ID, 64),
        (_GO_NOTE_TAG, "Go", NT_GO_BUILD_ID, 1024),
    ):
        pos = data.find(tag)
        while pos >= 8:
            namesz, descsz = struct.unpack_from("<II", data, pos - 8)
            desc_start = pos + len(tag)
            if namesz == 4 and 0 < descsz <= max_desc and desc_start + descsz <= len(data):
                found.append(Note(owner, n_type, data[desc_start : desc_start + descsz]))
                break
            pos = data.find(tag, pos + 1)
    return build_ids_from_notes(found)
