"""From pre-flight issues to the error every front end shows (an error response, the report's exit 3).

Each preflight issue code (`preflight.checks`) has one stable error id (`gocore_dap.errors`), so that a
client, the docs and a support thread can name the failure ("error 2008"). The text the user reads is
the preflight's own message, which names the file, says what is wrong and what to do; the table's
generic format ("The core file is truncated: {path}: {error}") would only repeat it less precisely.
So the error keeps the id and every variable of the id's format (``role``, ``path``, ``program``,
``core``, ``arch``), and its ``format`` is ``{error}``, filled with the specific messages.

When several checks fail, the first error decides the id and every error message is shown, in the
preflight's order (the most basic problem first).
"""

from __future__ import annotations

import contextlib
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.preflight import checks as c
from gocore_dap.preflight.checks import PreflightIssue, PreflightResult
from gocore_dap.preflight.elf import ElfFormatError, parse_elf_header

__all__ = ["ISSUE_ERROR_IDS", "error_id_for", "input_error"]

ISSUE_ERROR_IDS: Final[Mapping[str, ErrorId]] = {
    c.PROGRAM_MISSING: ErrorId.FILE_NOT_FOUND,
    c.CORE_MISSING: ErrorId.FILE_NOT_FOUND,
    c.PROGRAM_IS_DIRECTORY: ErrorId.FILE_IS_DIRECTORY,
    c.CORE_IS_DIRECTORY: ErrorId.FILE_IS_DIRECTORY,
    # A FIFO or a device cannot be read as the file Delve needs.
    c.PROGRAM_NOT_REGULAR_FILE: ErrorId.FILE_NOT_READABLE,
    c.CORE_NOT_REGULAR_FILE: ErrorId.FILE_NOT_READABLE,
    c.PROGRAM_UNREADABLE: ErrorId.FILE_NOT_READABLE,
    c.CORE_UNREADABLE: ErrorId.FILE_NOT_READABLE,
    c.PROGRAM_EMPTY: ErrorId.FILE_EMPTY,
    c.CORE_EMPTY: ErrorId.FILE_EMPTY,
    c.ARGUMENTS_SWAPPED: ErrorId.FILES_SWAPPED,
    c.CORE_NOT_ELF: ErrorId.NOT_ELF,
    c.CORE_NOT_CORE: ErrorId.NOT_A_CORE,
    c.CORE_32BIT: ErrorId.UNSUPPORTED_ARCH,
    c.CORE_UNSUPPORTED_ARCH: ErrorId.UNSUPPORTED_ARCH,
    c.CORE_MALFORMED: ErrorId.NOT_A_CORE,
    c.PROGRAM_NOT_ELF: ErrorId.NOT_ELF,
    # An ELF file that is not an executable (a core, an object file) or whose structures are
    # broken is, for Delve, as unusable as one that is not ELF at all.
    c.PROGRAM_NOT_EXECUTABLE: ErrorId.NOT_ELF,
    c.PROGRAM_MALFORMED: ErrorId.NOT_ELF,
    c.PROGRAM_32BIT: ErrorId.UNSUPPORTED_ARCH,
    c.PROGRAM_UNSUPPORTED_ARCH: ErrorId.UNSUPPORTED_ARCH,
    c.CORE_COMPRESSED_CORRUPT: ErrorId.DECOMPRESSION_FAILED,
    c.CORE_DECOMPRESS_FAILED: ErrorId.DECOMPRESSION_FAILED,
    c.CORE_TRUNCATED: ErrorId.CORE_TRUNCATED,
    c.CORE_TRUNCATED_MEMORY: ErrorId.CORE_TRUNCATED,
    c.CORE_NO_THREADS: ErrorId.NOT_A_CORE,
    c.ARCH_MISMATCH: ErrorId.CORE_MISMATCH,
    c.EXE_MISMATCH: ErrorId.CORE_MISMATCH,
    c.EXE_NAME_DIFFERS: ErrorId.CORE_MISMATCH,
    c.EXE_UNVERIFIED: ErrorId.CORE_MISMATCH,
    c.PROGRAM_NOT_GO: ErrorId.NOT_GO,
    c.PROGRAM_NO_DWARF: ErrorId.NO_DWARF,
    # The symbol file was to provide the DWARF the program lacks.
    c.SYMBOL_FILE_MISMATCH: ErrorId.NO_DWARF,
    c.SYMBOL_FILE_UNUSABLE: ErrorId.NO_DWARF,
}

_SPECIFIC_FORMAT: Final = "{error}"


def error_id_for(code: str) -> ErrorId:
    """The stable id of a preflight issue code; LAUNCH_FAILED for a code this table predates."""
    return ISSUE_ERROR_IDS.get(code, ErrorId.LAUNCH_FAILED)


def input_error(result: PreflightResult, issues: Sequence[PreflightIssue] | None = None) -> GocoreError:
    """The error for inputs the preflight refused (`issues` default to its errors)."""
    errors = list(issues if issues is not None else result.errors)
    if not errors:
        raise ValueError("input_error() needs at least one issue")
    first = errors[0]
    error_id = error_id_for(first.code)
    role, path = _role_and_path(first.code, result)
    error = GocoreError(
        error_id,
        {
            "role": role,
            "path": str(path),
            "program": str(result.program),
            "core": str(result.core),
            "arch": _arch_of(path),
            "code": first.code,
        },
        message="\n".join(issue.message for issue in errors),
    )
    error.format = _SPECIFIC_FORMAT
    # The exception's own text (logs, str(exc)) follows the format it now carries.
    error.args = (error.text,)
    return error


def _role_and_path(code: str, result: PreflightResult) -> tuple[str, Path]:
    if code.startswith(("program-", "symbol-file-")) or code in (c.PROGRAM_NOT_GO, c.PROGRAM_NO_DWARF):
        return "program", result.program
    return "core file", result.core


def _arch_of(path: Path) -> str:
    """The architecture an ELF file is for, from its first 64 bytes ("" when it is not ELF)."""
    with contextlib.suppress(OSError, ElfFormatError):
        # Opening a FIFO would block until someone writes to it.
        if not stat.S_ISREG(path.stat().st_mode):
            return ""
        with open(path, "rb") as fh:
            return parse_elf_header(fh.read(64)).machine_name
    return ""
