"""Pre-flight checks on PROGRAM and CORE before Delve starts.

Delve is silent or cryptic on bad inputs: a truncated core loads and then shows "error while
reading spliced memory", the wrong executable loads silently and shows garbage stacks, swapped
arguments print a Go struct dump, an empty core says "EOF". :func:`preflight` finds these
problems first, from the ELF headers and notes alone (well under a second for a GB-sized core),
and reports each as a :class:`PreflightIssue` whose message names the file, says what is wrong
and what to do.

Issue codes (stable; the adapter maps them to its error ids). All are errors unless marked.

Arguments, for each of PROGRAM (``program-*``) and CORE (``core-*``):
    ``program-missing``, ``core-missing``                 the path does not exist
    ``program-is-directory``, ``core-is-directory``       the path is a directory
    ``program-not-regular-file``, ``core-not-regular-file``  a FIFO, device or socket
    ``program-unreadable``, ``core-unreadable``           no read permission / I/O error
    ``program-empty``, ``core-empty``                     0 bytes
File types:
    ``arguments-swapped``        PROGRAM is a core dump and CORE is an executable
    ``core-not-elf``             CORE is not an ELF file (and not a known compressed format)
    ``core-not-core``            CORE is ELF but not ET_CORE (an executable, object file, ...)
    ``core-32bit``               CORE is a 32-bit core; Delve opens 64-bit cores only
    ``core-unsupported-arch``    CORE is for an architecture Delve cannot open (not amd64/arm64)
    ``core-malformed``           CORE's ELF structures are inconsistent
    ``program-not-elf``          PROGRAM is not an ELF file (a script, a Mach-O/PE binary, text)
    ``program-not-executable``   PROGRAM is ELF but not ET_EXEC/ET_DYN (a core, an object file)
    ``program-32bit``            PROGRAM is a 32-bit binary
    ``program-unsupported-arch`` PROGRAM is for an architecture Delve cannot debug
    ``program-malformed``        PROGRAM's ELF structures are inconsistent or cut short
Compressed cores (zstd, lz4, xz, gzip; recognised by magic bytes):
    ``core-compressed-corrupt``  the compressed data is damaged or incomplete
    ``core-decompress-failed``   writing the decompressed core failed (disk full, no temp dir)
Core contents:
    ``core-truncated``           the core is cut short and lost its notes, the executable's memory
                                 or the crashing thread's stack: Delve cannot show the crash
    ``core-truncated-memory``    (warning) the core is cut short but only lost other memory:
                                 it opens, with some values unreadable
    ``core-no-threads``          the core has no NT_PRSTATUS notes (not a Linux process core)
Program vs core:
    ``arch-mismatch``            PROGRAM and CORE are for different architectures
    ``exe-mismatch``             PROGRAM is not the executable that dumped CORE (build IDs, ELF
                                 headers or entry point differ)
    ``exe-name-differs``         (warning) names differ and the core holds no build ID to compare
    ``exe-unverified``           (warning) nothing in the core allows to verify the executable
Program contents:
    ``program-not-go``           PROGRAM is not a Go program
    ``program-no-dwarf``         PROGRAM is a Go program without DWARF (-ldflags='-s -w', stripped),
                                 and no separate debug information was found for it (the message
                                 lists where :mod:`.debuginfo` looked and the three ways to give it)
    ``symbol-file-mismatch``     the symbol file given is another build than PROGRAM (build IDs
                                 differ); a warning when PROGRAM has DWARF of its own
    ``symbol-file-unusable``     the symbol file given is missing, not ELF or has no DWARF either;
                                 a warning when PROGRAM has DWARF of its own
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Final, Literal

import attrs

from gocore_dap.preflight.compression import (
    Compression,
    CorruptCompressedFile,
    MiB,
    decompress_file,
    sniff_compression,
)
from gocore_dap.preflight.coreinfo import CoreInfo, read_core_info
from gocore_dap.preflight.debuginfo import (
    DebugInfo,
    DebugInfoOptions,
    DebugInfoSearch,
    describe_not_found,
    find_debug_info,
)
from gocore_dap.preflight.elf import (
    EM_AARCH64,
    EM_X86_64,
    ET_CORE,
    ET_DYN,
    ET_EXEC,
    ET_REL,
    BuildIds,
    ElfFormatError,
    ElfHeader,
    ElfTruncatedError,
    parse_elf_header,
)
from gocore_dap.preflight.exeinfo import ExeInfo, iter_load_ranges, read_exe_info

Severity = Literal["error", "warning"]

PROGRAM_MISSING: Final = "program-missing"
CORE_MISSING: Final = "core-missing"
PROGRAM_IS_DIRECTORY: Final = "program-is-directory"
CORE_IS_DIRECTORY: Final = "core-is-directory"
PROGRAM_NOT_REGULAR_FILE: Final = "program-not-regular-file"
CORE_NOT_REGULAR_FILE: Final = "core-not-regular-file"
PROGRAM_UNREADABLE: Final = "program-unreadable"
CORE_UNREADABLE: Final = "core-unreadable"
PROGRAM_EMPTY: Final = "program-empty"
CORE_EMPTY: Final = "core-empty"
ARGUMENTS_SWAPPED: Final = "arguments-swapped"
CORE_NOT_ELF: Final = "core-not-elf"
CORE_NOT_CORE: Final = "core-not-core"
CORE_32BIT: Final = "core-32bit"
CORE_UNSUPPORTED_ARCH: Final = "core-unsupported-arch"
CORE_MALFORMED: Final = "core-malformed"
PROGRAM_NOT_ELF: Final = "program-not-elf"
PROGRAM_NOT_EXECUTABLE: Final = "program-not-executable"
PROGRAM_32BIT: Final = "program-32bit"
PROGRAM_UNSUPPORTED_ARCH: Final = "program-unsupported-arch"
PROGRAM_MALFORMED: Final = "program-malformed"
CORE_COMPRESSED_CORRUPT: Final = "core-compressed-corrupt"
CORE_DECOMPRESS_FAILED: Final = "core-decompress-failed"
CORE_TRUNCATED: Final = "core-truncated"
CORE_TRUNCATED_MEMORY: Final = "core-truncated-memory"
CORE_NO_THREADS: Final = "core-no-threads"
ARCH_MISMATCH: Final = "arch-mismatch"
EXE_MISMATCH: Final = "exe-mismatch"
EXE_NAME_DIFFERS: Final = "exe-name-differs"
EXE_UNVERIFIED: Final = "exe-unverified"
PROGRAM_NOT_GO: Final = "program-not-go"
PROGRAM_NO_DWARF: Final = "program-no-dwarf"
SYMBOL_FILE_MISMATCH: Final = "symbol-file-mismatch"
SYMBOL_FILE_UNUSABLE: Final = "symbol-file-unusable"

ALL_CODES: Final = (
    PROGRAM_MISSING, CORE_MISSING, PROGRAM_IS_DIRECTORY, CORE_IS_DIRECTORY,
    PROGRAM_NOT_REGULAR_FILE, CORE_NOT_REGULAR_FILE, PROGRAM_UNREADABLE, CORE_UNREADABLE,
    PROGRAM_EMPTY, CORE_EMPTY, ARGUMENTS_SWAPPED, CORE_NOT_ELF, CORE_NOT_CORE, CORE_32BIT,
    CORE_UNSUPPORTED_ARCH, CORE_MALFORMED, PROGRAM_NOT_ELF, PROGRAM_NOT_EXECUTABLE, PROGRAM_32BIT,
    PROGRAM_UNSUPPORTED_ARCH, PROGRAM_MALFORMED, CORE_COMPRESSED_CORRUPT, CORE_DECOMPRESS_FAILED,
    CORE_TRUNCATED, CORE_TRUNCATED_MEMORY, CORE_NO_THREADS, ARCH_MISMATCH, EXE_MISMATCH,
    EXE_NAME_DIFFERS, EXE_UNVERIFIED, PROGRAM_NOT_GO, PROGRAM_NO_DWARF, SYMBOL_FILE_MISMATCH,
    SYMBOL_FILE_UNUSABLE,
)  # fmt: skip

# Delve reads cores of linux/amd64 and linux/arm64 only.
SUPPORTED_MACHINES: Final = (EM_X86_64, EM_AARCH64)

_HEAD_SIZE: Final = 64

HOW_TO_GET_FULL_CORES: Final = (
    "To get complete cores: run `ulimit -c unlimited` in the shell that starts the program "
    "(the limit is inherited by the program); for a systemd service set `LimitCORE=infinity` in "
    "its unit; with systemd-coredump also raise `ProcessSizeMax=` and `ExternalSizeMax=` in "
    "/etc/systemd/coredump.conf; and make sure the disk that receives the cores has enough free space"
)


@attrs.frozen
class PreflightIssue:
    code: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.message} [{self.code}]"


@attrs.frozen
class PreflightResult:
    program: Path
    core: Path
    issues: list[PreflightIssue]
    core_info: CoreInfo | None
    exe_info: ExeInfo | None
    # The plain ELF core Delve must open when CORE was compressed; lives in ``temp_dir``.
    decompressed_core: Path | None
    temp_dir: Path | None = attrs.field(default=None, repr=False)
    # PROGRAM has no DWARF of its own and debug information was found elsewhere: what Delve opens
    # (``delve_program``) and whether it needs the private config of backends/delve/debuginfo_config.py.
    debug_info: DebugInfo | None = None
    # Where the search for separate debug information looked (None when PROGRAM has DWARF).
    debug_search: DebugInfoSearch | None = None

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed): Delve can be started."""
        return not self.errors

    @property
    def errors(self) -> list[PreflightIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[PreflightIssue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def go_version(self) -> str | None:
        """The Go release that built the program (`go1.22.12`, from its build info), or None if unknown."""
        return self.exe_info.go_version if self.exe_info is not None else None

    @property
    def core_for_delve(self) -> Path:
        return self.decompressed_core if self.decompressed_core is not None else self.core

    def cleanup(self) -> None:
        """Remove the decompressed core and its private directory; safe to call twice."""
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> PreflightResult:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cleanup()


class _Issues:
    def __init__(self) -> None:
        self.items: list[PreflightIssue] = []

    def error(self, code: str, message: str) -> None:
        self.items.append(PreflightIssue(code, "error", message))

    def warning(self, code: str, message: str) -> None:
        self.items.append(PreflightIssue(code, "warning", message))

    def add(self, issue: PreflightIssue) -> None:
        self.items.append(issue)

    def ordered(self) -> list[PreflightIssue]:
        return sorted(self.items, key=lambda i: i.severity != "error")  # stable: errors first


def preflight(
    program: str | Path,
    core: str | Path,
    *,
    tmp_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    debug_options: DebugInfoOptions | None = None,
) -> PreflightResult:
    """Check that PROGRAM and CORE can be opened by Delve and belong together.

    When PROGRAM has no DWARF, its debug information is looked for as ``debug_options`` say
    (launch attributes ``debugInfoDirectories``, ``symbolFile``; ``DEBUGINFOD_URLS``), which can
    download from a debuginfod server (with timeouts; ``progress`` sees it). The result's
    ``debug_info`` then says what Delve must be given.

    A compressed CORE is decompressed into a private directory (under ``tmp_dir`` if given);
    the result then owns it: call :meth:`PreflightResult.cleanup` or use the result as a context
    manager. ``progress`` receives a line of text every 64 MiB of decompressed output.
    """
    program_path = Path(program).expanduser()
    core_path = Path(core).expanduser()
    issues = _Issues()

    prog_problem, prog_head = _check_path(program_path, "program")
    core_problem, core_head = _check_path(core_path, "core")

    # Swapped arguments first: every other message would be misleading.
    if prog_problem is None and core_problem is None and _looks_swapped(prog_head, core_head):
        issues.error(
            ARGUMENTS_SWAPPED,
            f"The arguments look swapped: '{program_path}' is {_what_is(prog_head)} and "
            f"'{core_path}' is an executable. Give the executable as the program and the core dump "
            "as the core.",
        )
        return PreflightResult(program_path, core_path, issues.ordered(), None, None, None)

    core_info: CoreInfo | None = None
    temp_dir = decompressed = None
    if core_problem is not None:
        issues.add(core_problem)
    else:
        actual, label = core_path, f"'{core_path}'"
        kind = sniff_compression(core_head)
        # Decompressing can take minutes; not worth it when the program argument is unusable.
        if kind is not None and prog_problem is None:
            outcome = _decompress(core_path, kind, tmp_dir, progress, issues)
            if outcome is not None:
                temp_dir, decompressed = outcome
                actual, label = decompressed, f"'{core_path}' (decompressed to '{decompressed}')"
                core_head = _read_head(decompressed)
        if kind is None or decompressed is not None:
            core_info = _inspect_core(actual, label, core_head, issues)

    try:
        dumped_by = _dumped_by(core_info)
        exe_info: ExeInfo | None = None
        if prog_problem is not None:
            issues.add(attrs.evolve(prog_problem, message=prog_problem.message + dumped_by))
        else:
            exe_info = _inspect_program(program_path, prog_head, issues, dumped_by)

        if core_info is not None:
            _check_core_contents(core_info, exe_info, core_path, issues)
        if core_info is not None and exe_info is not None:
            _check_match(core_info, exe_info, program_path, core_path, issues)
        search: DebugInfoSearch | None = None
        if exe_info is not None:
            search = _check_go(exe_info, program_path, issues, debug_options, progress)

    except BaseException:
        # The caller never sees the result, so nobody else could remove the decompressed core.
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise

    return PreflightResult(
        program=program_path,
        core=core_path,
        issues=issues.ordered(),
        core_info=core_info,
        exe_info=exe_info,
        decompressed_core=decompressed,
        temp_dir=temp_dir,
        debug_info=search.found if search is not None else None,
        debug_search=search,
    )


# ---------------------------------------------------------------------------------------------
# Paths and file kinds


def _check_path(path: Path, role: Literal["program", "core"]) -> tuple[PreflightIssue | None, bytes]:
    """Existence, type, permission and emptiness; returns the first bytes when usable."""
    what = "program" if role == "program" else "core dump"
    try:
        st = path.stat()
    except FileNotFoundError:
        where = "" if path.is_absolute() else f" (relative to the working directory {Path.cwd()})"
        return _err(f"{role}-missing", f"The {what} '{path}' does not exist{where}."), b""
    except OSError as exc:
        return _err(f"{role}-unreadable", f"Cannot access the {what} '{path}': {exc.strerror}."), b""
    if stat.S_ISDIR(st.st_mode):
        return _err(f"{role}-is-directory", _directory_message(path, role)), b""
    if not stat.S_ISREG(st.st_mode):
        return _err(
            f"{role}-not-regular-file",
            f"The {what} '{path}' is not a regular file (it is a {_file_type(st.st_mode)}); "
            f"give the path of the {what} file itself.",
        ), b""
    try:
        head = _read_head(path)
    except PermissionError:
        return _err(
            f"{role}-unreadable",
            f"The {what} '{path}' is not readable by this user (uid {os.getuid()}; the file is owned "
            f"by uid {st.st_uid} with mode {stat.filemode(st.st_mode)}). Cores are written readable "
            "only by the crashed process's user: run the debugger as that user, or copy the file and "
            "change its owner (`sudo chown $USER FILE`).",
        ), b""
    except OSError as exc:
        return _err(f"{role}-unreadable", f"Cannot read the {what} '{path}': {exc.strerror}."), b""
    if st.st_size == 0:
        if role == "core":
            message = (
                f"The core dump '{path}' is empty (0 bytes): the dump was never written. Usually the "
                "disk was full, the dump was interrupted, or the file was copied incompletely. "
                + HOW_TO_GET_FULL_CORES
                + "."
            )
        else:
            message = (
                f"The program '{path}' is empty (0 bytes): the build or the copy did not finish. "
                "Use the executable that crashed."
            )
        return _err(f"{role}-empty", message), b""
    return None, head


def _directory_message(path: Path, role: str) -> str:
    if role == "core":
        cores = sorted(p for p in _safe_listdir(path) if p.name.startswith("core") and p.is_file())
        if len(cores) == 1:
            hint = f" Did you mean '{cores[0]}'?"
        elif cores:
            hint = f" It contains {', '.join(p.name for p in cores[:3])}: did you mean one of those?"
        else:
            hint = ""
        return f"The core dump '{path}' is a directory, not a file.{hint} Give the core file itself."
    return (
        f"The program '{path}' is a directory, not an executable. Give the compiled binary that "
        f"crashed (for a package directory, the file `go build -o NAME {path}` produced), not the "
        "source directory."
    )


def _safe_listdir(path: Path) -> list[Path]:
    try:
        return list(path.iterdir())
    except OSError:
        return []


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _err(code: str, message: str) -> PreflightIssue:
    return PreflightIssue(code, "error", message)


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(_HEAD_SIZE)


def _try_header(head: bytes) -> ElfHeader | None:
    try:
        return parse_elf_header(head)
    except ElfFormatError:
        return None


def _looks_swapped(prog_head: bytes, core_head: bytes) -> bool:
    prog, core = _try_header(prog_head), _try_header(core_head)
    prog_is_core = (prog is not None and prog.e_type == ET_CORE) or sniff_compression(prog_head) is not None
    return prog_is_core and core is not None and core.e_type in (ET_EXEC, ET_DYN)


def _what_is(head: bytes) -> str:
    """A short description of a file from its first bytes, for messages."""
    header = _try_header(head)
    if header is not None:
        if header.e_type == ET_CORE:
            return "a core dump"
        return f"an ELF {header.type_name}"
    kind = sniff_compression(head)
    if kind is not None:
        return f"a {kind.value}-compressed file (probably the core dump)"
    if head.startswith(b"#!"):
        first = head.split(b"\n", 1)[0].decode("utf-8", "replace")
        return f"a script ('{first}')"
    if head.startswith(b"MZ"):
        return "a Windows PE file"
    if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\xfe\xed\xfa\xcf"):
        return "a macOS Mach-O file"
    if head.startswith(b"BZh"):
        return "a bzip2-compressed file (decompress it with bunzip2 first)"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (extract it first)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and all(c.isprintable() or c in "\t\r\n" for c in text):
        first = text.strip().splitlines()[0][:40] if text.strip() else ""
        return f"a text file (it starts with '{first}')"
    return f"not an ELF file (it starts with bytes {head[:8].hex(' ')})"


# ---------------------------------------------------------------------------------------------
# Compressed cores


_COMPRESSED_SUFFIXES: Final = (".zst", ".zstd", ".lz4", ".xz", ".gz")


def _decompress(
    core: Path,
    kind: Compression,
    tmp_dir: Path | None,
    progress: Callable[[str], None] | None,
    issues: _Issues,
) -> tuple[Path, Path] | None:
    parent = tmp_dir if tmp_dir is not None else Path(tempfile.gettempdir())
    try:
        temp_dir = Path(tempfile.mkdtemp(prefix="gocore-dap-", dir=parent))
    except OSError as exc:
        issues.error(
            CORE_DECOMPRESS_FAILED,
            f"The core dump '{core}' is {kind.value}-compressed and must be decompressed first, but "
            f"a temporary directory cannot be created in '{parent}': {exc.strerror}. Give a writable "
            "tmp_dir.",
        )
        return None
    name = core.name
    for suffix in _COMPRESSED_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    dest = temp_dir / name
    if progress is not None:
        progress(f"Decompressing {core.name} ({kind.value}, {_size(core.stat().st_size)}) into {temp_dir}")
    try:
        size = decompress_file(core, kind, dest, progress)
    except BaseException as exc:
        # Nobody else knows about the directory yet: remove it whatever went wrong (Ctrl-C too).
        written = dest.stat().st_size if dest.exists() else 0
        shutil.rmtree(temp_dir, ignore_errors=True)
        if not isinstance(exc, (CorruptCompressedFile, OSError)):
            raise
        _report_decompress_failure(core, kind, parent, dest, written, exc, issues)
        return None
    if progress is not None:
        progress(f"Decompressed {core.name}: {_size(size)}")
    return temp_dir, dest


def _report_decompress_failure(
    core: Path,
    kind: Compression,
    parent: Path,
    dest: Path,
    written: int,
    exc: CorruptCompressedFile | OSError,
    issues: _Issues,
) -> None:
    if isinstance(exc, CorruptCompressedFile):
        issues.error(
            CORE_COMPRESSED_CORRUPT,
            f"The core dump '{core}' is {kind.value}-compressed but cannot be decompressed: {exc}. "
            "Copy it again from where it was stored (with systemd-coredump, `coredumpctl dump PID "
            "--output=core` writes a plain core).",
        )
        return
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = (
            f"the disk holding '{parent}' ran out of space after {_size(written)}; free space there "
            "or give a tmp_dir on a larger disk (an uncompressed core is often 10-100 times larger)"
        )
    else:
        reason = f"{exc.strerror or exc} ({exc.filename or dest})"
    issues.error(CORE_DECOMPRESS_FAILED, f"Decompressing the core dump '{core}' failed: {reason}.")


# ---------------------------------------------------------------------------------------------
# The core on its own


def _inspect_core(path: Path, label: str, head: bytes, issues: _Issues) -> CoreInfo | None:
    if not head:
        issues.error(
            CORE_EMPTY,
            f"The core dump {label} is empty (0 bytes): the dump was never written. " + HOW_TO_GET_FULL_CORES + ".",
        )
        return None
    try:
        header = parse_elf_header(head)
    except ElfTruncatedError:
        issues.error(
            CORE_TRUNCATED,
            f"The core dump {label} is truncated to {len(head)} bytes, inside its ELF header. "
            + HOW_TO_GET_FULL_CORES
            + ".",
        )
        return None
    except ElfFormatError:
        issues.error(
            CORE_NOT_ELF,
            f"The file given as the core dump, {label}, is not a core dump: it is {_what_is(head)}. "
            "gocore-dap opens Linux ELF core dumps, plain or compressed with zstd, lz4, xz or gzip "
            "(as systemd-coredump stores them).",
        )
        return None
    if header.e_type != ET_CORE:
        hint = ""
        if header.e_type in (ET_EXEC, ET_DYN):
            hint = " Is it the program? Give the executable as the program and the core dump as the core."
        issues.error(
            CORE_NOT_CORE,
            f"The file given as the core dump, {label}, is not a core dump: it is an ELF "
            f"{header.type_name} for {header.machine_name}.{hint}",
        )
        return None
    if not header.is_64bit:
        issues.error(
            CORE_32BIT,
            f"The core dump {label} is a 32-bit {header.machine_name} core. Delve opens only 64-bit "
            "linux/amd64 and linux/arm64 cores; a 32-bit Go program's core cannot be debugged with it.",
        )
        return None
    if header.e_machine not in SUPPORTED_MACHINES or not header.little_endian:
        issues.error(
            CORE_UNSUPPORTED_ARCH,
            f"The core dump {label} is for {header.machine_name}"
            f"{'' if header.little_endian else ' (big-endian)'}; Delve opens only linux/amd64 and "
            "linux/arm64 cores.",
        )
        return None
    try:
        return read_core_info(path)
    except ElfTruncatedError as exc:
        issues.error(
            CORE_TRUNCATED,
            f"The core dump {label} is truncated before the end of its headers: {exc}. Nothing in "
            f"it can be used. {HOW_TO_GET_FULL_CORES}.",
        )
    except ElfFormatError as exc:
        issues.error(CORE_MALFORMED, f"The core dump {label} is malformed: {exc}.")
    except OSError as exc:
        issues.error(CORE_UNREADABLE, f"Cannot read the core dump {label}: {exc.strerror or exc}.")
    return None


def _dumped_by(core: CoreInfo | None) -> str:
    """`` The core was dumped by /srv/app (pid 12, command line '...').`` or empty."""
    if core is None or core.exe_name is None:
        return ""
    details = core.describe_process()
    return f" The core was dumped by {core.exe_name}{f' ({details})' if details else ''}."


def _check_core_contents(core: CoreInfo, exe: ExeInfo | None, core_path: Path, issues: _Issues) -> None:
    if core.notes_complete and not core.threads:
        issues.error(
            CORE_NO_THREADS,
            f"The core dump '{core_path}' has no thread notes (NT_PRSTATUS), so there are no registers "
            "to start from. It was not written by the Linux kernel for a process (or a tool removed the "
            "notes); use the original core file.",
        )
    if core.missing_bytes:
        _check_truncation(core, exe, core_path, issues)


def _check_truncation(core: CoreInfo, exe: ExeInfo | None, core_path: Path, issues: _Issues) -> None:
    expected, missing = core.expected_size, core.missing_bytes
    amount = (
        f"the file has {core.file_size:,} bytes but its headers describe {expected:,}, so "
        f"{_size(missing)} ({_percent(missing / expected)} of the core) are missing"
    )
    fatal: list[str] = []
    if not core.notes_complete:
        fatal.append("the notes with the threads' registers and the process information are cut off")

    ranges = _exe_ranges(core, exe)
    cut_exe = [
        s for s in core.segments
        if s.filesz and s.file_end > core.file_size and _overlaps(s.vaddr, s.vaddr + s.filesz, ranges)
    ]  # fmt: skip
    if cut_exe:
        fatal.append(
            "the executable's own memory is cut off (its data and BSS, where the Go runtime keeps "
            "its globals such as the list of goroutines)"
        )

    lost_stacks = [t for t in core.threads if t.sp is not None and core.is_dumped(t.sp) and not core.is_present(t.sp)]
    crashing = core.crashing_thread
    if crashing is not None and crashing in lost_stacks:
        fatal.append(f"the stack of the crashing thread (LWP {crashing.tid}, sp {crashing.sp:#x}) is cut off")

    lost_segments = [s for s in core.segments if s.filesz and s.file_end > core.file_size]
    if fatal:
        issues.error(
            CORE_TRUNCATED,
            f"The core dump '{core_path}' is truncated: {amount}. {_capitalize('; '.join(fatal))}, so "
            "Delve cannot show the crash (it would only report 'error while reading spliced memory'). "
            f"{HOW_TO_GET_FULL_CORES} (this core needs {_size(expected)}).",
        )
        return
    cut_at = _cut_address(core)
    others = [t for t in lost_stacks if t is not crashing]
    stacks = f"; the stacks of {len(others)} other thread(s) are among it" if others else ""
    issues.warning(
        CORE_TRUNCATED_MEMORY,
        f"The core dump '{core_path}' is truncated: {amount}. The threads' registers, the executable's "
        "memory and the crashing thread's stack are intact, so it can be opened, but memory from "
        f"{cut_at:#x} on ({len(lost_segments)} of {sum(1 for s in core.segments if s.filesz)} dumped "
        f"memory regions) is lost: values stored there show as 'error while reading spliced memory'"
        f"{stacks}. {HOW_TO_GET_FULL_CORES} (this core needs {_size(expected)}).",
    )


def _exe_ranges(core: CoreInfo, exe: ExeInfo | None) -> list[tuple[int, int]]:
    """Process address ranges of the executable's image, including its BSS.

    Preferred source is the crashed binary's own program headers kept in the core; then the
    program's (when the core lacks its first page); then the core's NT_FILE mappings (no BSS).
    """
    base = core.exe_load_base
    image = core.exe_image
    if image is not None and image.segments:
        first = min(image.segments, key=lambda s: s.offset)
        bias = image.load_base - (first.vaddr - first.offset) if image.header.e_type == ET_DYN else 0
        return list(iter_load_ranges(image.segments, bias, core.page_size))
    if exe is not None and exe.segments and (base is not None or not exe.is_pie):
        return list(iter_load_ranges(exe.segments, exe.load_bias(base or 0), core.page_size))
    if core.exe_path is not None:
        return [(f.start, f.end) for f in core.mapped_files if f.path.startswith(core.exe_path)]
    return []


def _overlaps(start: int, end: int, ranges: Iterable[tuple[int, int]]) -> bool:
    return any(start < r_end and r_start < end for r_start, r_end in ranges)


def _cut_address(core: CoreInfo) -> int:
    for s in core.segments:
        if s.filesz and s.file_end > core.file_size:
            return s.vaddr + max(0, core.file_size - s.offset)
    return 0


# ---------------------------------------------------------------------------------------------
# The program on its own


def _inspect_program(path: Path, head: bytes, issues: _Issues, dumped_by: str) -> ExeInfo | None:
    try:
        header = parse_elf_header(head)
    except ElfFormatError:
        issues.error(
            PROGRAM_NOT_ELF,
            f"The program '{path}' is not a Linux executable: it is {_what_is(head)}. Give the Go "
            f"binary that crashed (an ELF file for linux/amd64 or linux/arm64).{dumped_by}",
        )
        return None
    if header.e_type not in (ET_EXEC, ET_DYN):
        if header.e_type == ET_CORE:
            what = "a core dump, not an executable"
        elif header.e_type == ET_REL:
            what = "an object file (.o), not a linked executable"
        else:
            what = f"an ELF {header.type_name}, not an executable"
        issues.error(
            PROGRAM_NOT_EXECUTABLE,
            f"The program '{path}' is {what}. Give the Go binary that crashed.{dumped_by}",
        )
        return None
    if not header.is_64bit:
        issues.error(
            PROGRAM_32BIT,
            f"The program '{path}' is a 32-bit {header.machine_name} binary; Delve debugs only 64-bit "
            f"linux/amd64 and linux/arm64 programs.{dumped_by}",
        )
        return None
    if header.e_machine not in SUPPORTED_MACHINES or not header.little_endian:
        issues.error(
            PROGRAM_UNSUPPORTED_ARCH,
            f"The program '{path}' is a {header.machine_name} binary; Delve debugs only linux/amd64 "
            f"and linux/arm64 programs.{dumped_by}",
        )
        return None
    try:
        return read_exe_info(path)
    except ElfFormatError as exc:
        cut = " (the file looks cut short: copy or build it again)" if isinstance(exc, ElfTruncatedError) else ""
        issues.error(PROGRAM_MALFORMED, f"The program '{path}' is a malformed ELF file: {exc}{cut}.{dumped_by}")
    except OSError as exc:
        issues.error(PROGRAM_UNREADABLE, f"Cannot read the program '{path}': {exc.strerror or exc}.")
    return None


def _check_go(
    exe: ExeInfo,
    path: Path,
    issues: _Issues,
    options: DebugInfoOptions | None,
    progress: Callable[[str], None] | None,
) -> DebugInfoSearch | None:
    if not exe.is_go:
        issues.error(
            PROGRAM_NOT_GO,
            f"The program '{path}' is not a Go program: it has no Go build information (.go.buildinfo) "
            "and no Go runtime symbols. gocore-dap debugs core dumps of Go programs through Delve; "
            f"for C, C++ or Rust programs use gdb or lldb (`gdb {path} CORE`).",
        )
        return None
    if exe.has_dwarf:
        if options is not None and options.symbol_file is not None:
            # Not needed, but a wrong one says the user mixed builds up: tell them, do not refuse.
            check = find_debug_info(
                exe, attrs.evolve(options, directories=(), system_directories=(), debuginfod_urls=())
            )
            if check.symbol_file_problem is not None:
                code, message = check.symbol_file_problem
                issues.warning(code, f"{message} The program has DWARF of its own, which is used instead.")
        return None
    search = find_debug_info(exe, options, progress=(lambda _f, text: progress(text)) if progress else None)
    if search.found is not None:
        return search
    if search.symbol_file_problem is not None:
        code, message = search.symbol_file_problem
        issues.error(code, message)
        return search
    version = f" ({exe.go_version})" if exe.go_version else ""
    how = (
        "it was linked with -ldflags='-s -w' (or -w), or stripped afterwards"
        if not exe.has_symtab
        else "it was stripped of its debug sections (`strip --strip-debug` / `objcopy --strip-debug`)"
    )
    issues.error(
        PROGRAM_NO_DWARF,
        f"The Go program '{path}'{version} has no DWARF debug information: {how}, and Delve needs DWARF "
        "to map the core to functions, lines and variables. "
        + describe_not_found(exe, search, options)
        + " Otherwise build without -ldflags='-s -w' (-trimpath is fine), e.g. `go build -o NAME .`; to ship a "
        "small binary, strip a copy after the build and keep the unstripped one for debugging (strip "
        "keeps the build ID, so cores of the stripped copy still match it). A core can only be debugged "
        "with the binary that crashed or an unstripped original of it.",
    )
    return search


# ---------------------------------------------------------------------------------------------
# Program against core


def _check_match(core: CoreInfo, exe: ExeInfo, program: Path, core_path: Path, issues: _Issues) -> None:
    crashed = core.exe_name or "an unknown executable"
    details = core.describe_process()
    who = f"{crashed}{f' ({details})' if details else ''}"
    if core.header.e_machine != exe.header.e_machine:
        issues.error(
            ARCH_MISMATCH,
            f"The program '{program}' is built for {exe.header.machine_name} but the core dump "
            f"'{core_path}' comes from a process on {core.header.machine_name}: {who}. Use the binary "
            "that crashed, built for the machine the core comes from.",
        )
        return

    image = core.exe_image
    core_ids = image.build_ids if image is not None else BuildIds()
    compared = [a == b for a, b in ((core_ids.gnu, exe.build_ids.gnu), (core_ids.go, exe.build_ids.go)) if a and b]
    headers_equal: bool | None = None
    if not compared and image is not None and len(image.header_bytes) > 64:
        headers_equal = image.header_bytes == exe.header_bytes
    expected_entry = _expected_entry(core, exe)
    entry_differs = expected_entry is not None and expected_entry != core.entry

    if compared:
        mismatch, strong_match = not all(compared), all(compared)
    else:
        mismatch = headers_equal is False or entry_differs
        strong_match = headers_equal is True

    if mismatch:
        evidence = []
        if compared:
            evidence.append(
                f"The core's executable has {core_ids.describe()}, but '{program}' has {exe.build_ids.describe()}."
            )
        elif headers_equal is False:
            evidence.append(f"Its ELF headers, kept in the core, differ from those of '{program}'.")
        if entry_differs and expected_entry is not None and core.entry is not None:
            evidence.append(f"Its entry point was {core.entry:#x}; '{program}' would have had {expected_entry:#x}.")
        if core.exe_deleted:
            evidence.append(
                "The executable had been deleted or replaced on disk while the process ran (the core "
                "maps it as '(deleted)'), e.g. by a redeploy."
            )
        issues.error(
            EXE_MISMATCH,
            f"The program '{program}' is not the executable that crashed: the core dump '{core_path}' "
            f"was dumped by {who}. {' '.join(evidence)} Open the core with the exact binary that "
            "crashed: the same source built with other flags (-gcflags, -ldflags, -trimpath, "
            "-buildmode), another Go version or other dependencies is a different binary, and Delve "
            "would show wrong stacks and variables.",
        )
        return
    if strong_match:
        return

    names_differ = not _same_name(core, program)
    entry_note = (
        " Its entry point matches, which only rules out very different binaries."
        if (expected_entry is not None)
        else ""
    )
    if names_differ:
        issues.warning(
            EXE_NAME_DIFFERS,
            f"The program '{program}' may not be the executable that crashed: the core dump "
            f"'{core_path}' was dumped by {who}, and the core holds no build ID to compare (the kernel "
            f"did not dump the executable's first page; see coredump_filter in core(5)).{entry_note} "
            "If the stacks look wrong, open the core with the exact binary that crashed.",
        )
    elif expected_entry is None:
        issues.warning(
            EXE_UNVERIFIED,
            f"Cannot verify that '{program}' is the executable that dumped '{core_path}': the core "
            "records neither its build ID nor its entry point. If the stacks look wrong, open the core "
            "with the exact binary that crashed.",
        )


def _expected_entry(core: CoreInfo, exe: ExeInfo) -> int | None:
    """Where ``exe``'s entry point would be in the crashed process, if it can be told."""
    if core.entry is None:
        return None
    if not exe.is_pie:
        return exe.header.e_entry
    if core.exe_load_base is None:
        return None
    return exe.header.e_entry + exe.load_bias(core.exe_load_base)


def _same_name(core: CoreInfo, program: Path) -> bool:
    names = {program.name}
    with contextlib.suppress(OSError):
        names.add(program.resolve().name)  # a symlink to the real binary counts as the same name
    for candidate in (core.exe_path, core.execfn):
        if candidate:
            return Path(candidate).name in names
    if core.process is not None and core.process.fname:
        # The kernel's comm is the first 15 bytes of the executable's name.
        return any(n[:15] == core.process.fname for n in names)
    return True  # nothing to compare: do not claim a difference


# ---------------------------------------------------------------------------------------------


def _size(n: int) -> str:
    if n >= MiB:
        return f"{n / MiB:,.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:,.1f} KiB"
    return f"{n} bytes"


def _percent(fraction: float) -> str:
    return "less than 0.1%" if fraction < 0.001 else f"{fraction:.1%}"


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]
