"""The stable error-id table: every error gocore-dap reports has a fixed id, whichever front end shows it.

Like Delve's service/dap, an id names one kind of failure for good, so that users, docs and support
can refer to it ("error 2008") and clients can match on it. The DAP server sends it in an error
response, `gocore-dap report` prints it with its exit code, the language server shows it as a message:
the id and the text are the same everywhere because they come from one `GocoreError`. Ids are never
renumbered or reused; a retired id stays in the table. Formats use DAP's ``{name}`` placeholders, filled from
`GocoreError.variables` (all strings). None of the variables is free of user data, so none has the
``_`` prefix that DAP reserves for telemetry-safe values.

Most formats end in ``: {error}``, the free-text detail (usually the underlying exception's text).
It is optional: without an ``error`` variable that suffix is dropped, and an ``error`` given to a
format without the placeholder is appended the same way, so details are never lost.

====  ============================  ==========================================================
Id    Name                          Format
====  ============================  ==========================================================
**1000s: protocol and framing** (the client sent something the adapter cannot act on)
1000  UNKNOWN_COMMAND               Unknown or unsupported request '{command}'
1001  BAD_ARGUMENTS                 {error}   (e.g. "launch: 'stackTraceDepth' must be an ...")
1002  FRAMING_ERROR                 Malformed DAP message: {error}
1003  INVALID_MESSAGE               Invalid DAP message: {error}
1004  NOT_INITIALIZED               The session is not initialized: send 'initialize' first
1005  NOT_LAUNCHED                  No core dump is loaded: send 'launch' first
1006  ALREADY_LAUNCHED              A core dump is already loaded in this session
1007  CANCELLED                     The request was cancelled
1008  ATTACH_NOT_SUPPORTED          gocore-dap opens core dumps: use a 'launch' request with ...
1009  SESSION_TERMINATED            The debug session has ended
**2000s: launch configuration and files** (checks on PROGRAM and CORE before Delve starts)
2000  LAUNCH_FAILED                 Could not open the core dump: {error}
2001  FILE_NOT_FOUND                The {role} does not exist: {path}
2002  FILE_NOT_READABLE             The {role} cannot be read: {path}: {error}
2003  FILE_EMPTY                    The {role} is empty: {path}
2004  FILE_IS_DIRECTORY             The {role} is a directory, not a file: {path}
2005  NOT_ELF                       The {role} is not an ELF file: {path}
2006  NOT_A_CORE                    The core file is not a core dump: {path}: {error}
2007  FILES_SWAPPED                 'program' and 'coreFilePath' look swapped: {program} is a ...
2008  CORE_TRUNCATED                The core file is truncated: {path}: {error}
2009  CORE_MISMATCH                 The core file was not produced by this program: ...: {error}
2010  NO_DWARF                      The program has no DWARF debug information: {path} (...)
2011  NOT_GO                        The program is not a Go program: {path}: {error}
2012  DECOMPRESSION_FAILED          The {role} could not be decompressed: {path}: {error}
2013  UNSUPPORTED_ARCH              The {role} is for {arch}, which is not supported: {path}
**3000s: Delve and the backend**
3000  DLV_NOT_FOUND                 Delve (dlv) was not found: {error}
3001  DLV_START_FAILED              Delve could not load the core: {error}
3002  DLV_EXITED                    Delve exited unexpectedly: {error}
3003  DLV_TIMEOUT                   Delve did not answer in time: {error}
3004  DLV_REQUEST_FAILED            Delve reported an error: {error}
3005  DLV_VERSION_UNSUPPORTED       This version of Delve is not supported: {error}
3006  DLV_PROTOCOL_ERROR            Delve sent a reply gocore-dap cannot read: {error}
**4000s: requests on a read-only core**
4000  READ_ONLY_CORE                A core dump is read-only: {command} is not possible
4001  UNKNOWN_THREAD                Unknown thread {id}
4002  UNKNOWN_FRAME                 Unknown stack frame {id}
4003  UNKNOWN_VARIABLES_REFERENCE   Unknown variables reference {id}
4004  EVALUATE_FAILED               Cannot evaluate '{expression}': {error}
4005  STACK_TRACE_FAILED            Unable to produce a stack trace: {error}
4006  VARIABLES_FAILED              Unable to read the variables: {error}
4007  READ_MEMORY_FAILED            Unable to read memory: {error}
4008  DISASSEMBLE_FAILED            Unable to disassemble: {error}
4009  NO_SOURCE                     No source is available for this location: {error}
4010  NO_EXCEPTION_INFO             Thread {id} did not crash: it has no exception information
4011  BAD_MEMORY_REFERENCE          Invalid memory reference '{reference}'
**5000s: internal**
5000  INTERNAL_ERROR                Internal error in gocore-dap: {error}
====  ============================  ==========================================================

(``...`` marks formats shortened here; `ErrorId.format` has the full text.)

Synonyms (the same id under a second name, for call sites that read better with it):
BAD_MESSAGE = FRAMING_ERROR, LAUNCH_TWICE = ALREADY_LAUNCHED, PREFLIGHT_FAILED = LAUNCH_FAILED,
DLV_GONE = DLV_EXITED, DLV_FAILED = DLV_REQUEST_FAILED, STACK_FAILED = STACK_TRACE_FAILED,
NO_EXCEPTION_ON_THREAD = NO_EXCEPTION_INFO.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Final

import attrs

__all__ = [
    "ERROR_TABLE",
    "ErrorId",
    "ErrorSpec",
    "GocoreError",
    "expand_format",
    "placeholders",
]


class ErrorId(enum.IntEnum):
    # 1000s: protocol and framing
    UNKNOWN_COMMAND = 1000
    BAD_ARGUMENTS = 1001
    FRAMING_ERROR = 1002
    INVALID_MESSAGE = 1003
    NOT_INITIALIZED = 1004
    NOT_LAUNCHED = 1005
    ALREADY_LAUNCHED = 1006
    CANCELLED = 1007
    ATTACH_NOT_SUPPORTED = 1008
    SESSION_TERMINATED = 1009
    # 2000s: launch configuration and files
    LAUNCH_FAILED = 2000
    FILE_NOT_FOUND = 2001
    FILE_NOT_READABLE = 2002
    FILE_EMPTY = 2003
    FILE_IS_DIRECTORY = 2004
    NOT_ELF = 2005
    NOT_A_CORE = 2006
    FILES_SWAPPED = 2007
    CORE_TRUNCATED = 2008
    CORE_MISMATCH = 2009
    NO_DWARF = 2010
    NOT_GO = 2011
    DECOMPRESSION_FAILED = 2012
    UNSUPPORTED_ARCH = 2013
    # 3000s: Delve and the backend
    DLV_NOT_FOUND = 3000
    DLV_START_FAILED = 3001
    DLV_EXITED = 3002
    DLV_TIMEOUT = 3003
    DLV_REQUEST_FAILED = 3004
    DLV_VERSION_UNSUPPORTED = 3005
    DLV_PROTOCOL_ERROR = 3006
    # 4000s: requests on a read-only core
    READ_ONLY_CORE = 4000
    UNKNOWN_THREAD = 4001
    UNKNOWN_FRAME = 4002
    UNKNOWN_VARIABLES_REFERENCE = 4003
    EVALUATE_FAILED = 4004
    STACK_TRACE_FAILED = 4005
    VARIABLES_FAILED = 4006
    READ_MEMORY_FAILED = 4007
    DISASSEMBLE_FAILED = 4008
    NO_SOURCE = 4009
    NO_EXCEPTION_INFO = 4010
    BAD_MEMORY_REFERENCE = 4011
    # 5000s: internal
    INTERNAL_ERROR = 5000

    # Synonyms: enum aliases, so they are the same members (and not listed by iteration).
    BAD_MESSAGE = 1002
    LAUNCH_TWICE = 1006
    PREFLIGHT_FAILED = 2000
    DLV_GONE = 3002
    DLV_FAILED = 3004
    STACK_FAILED = 4005
    NO_EXCEPTION_ON_THREAD = 4010

    @property
    def spec(self) -> ErrorSpec:
        return ERROR_TABLE[self]

    @property
    def format(self) -> str:
        return ERROR_TABLE[self].format


@attrs.frozen
class ErrorSpec:
    format: str
    # Whether the client should show the error to the user (a popup in VS Code). Off for
    # requests the editor makes on its own (hover evaluation, refreshing a stale reference),
    # where a popup would be noise.
    show_user: bool = True


ERROR_TABLE: Final[Mapping[ErrorId, ErrorSpec]] = {
    ErrorId.UNKNOWN_COMMAND: ErrorSpec("Unknown or unsupported request '{command}'", show_user=False),
    ErrorId.BAD_ARGUMENTS: ErrorSpec("{error}"),
    ErrorId.FRAMING_ERROR: ErrorSpec("Malformed DAP message: {error}"),
    ErrorId.INVALID_MESSAGE: ErrorSpec("Invalid DAP message: {error}"),
    ErrorId.NOT_INITIALIZED: ErrorSpec("The session is not initialized: send 'initialize' first"),
    ErrorId.NOT_LAUNCHED: ErrorSpec("No core dump is loaded: send 'launch' first"),
    ErrorId.ALREADY_LAUNCHED: ErrorSpec("A core dump is already loaded in this session"),
    ErrorId.CANCELLED: ErrorSpec("The request was cancelled", show_user=False),
    ErrorId.ATTACH_NOT_SUPPORTED: ErrorSpec(
        "gocore-dap opens core dumps: use a 'launch' request with 'program' and 'coreFilePath'"
    ),
    ErrorId.SESSION_TERMINATED: ErrorSpec("The debug session has ended", show_user=False),
    ErrorId.LAUNCH_FAILED: ErrorSpec("Could not open the core dump: {error}"),
    ErrorId.FILE_NOT_FOUND: ErrorSpec("The {role} does not exist: {path}"),
    ErrorId.FILE_NOT_READABLE: ErrorSpec("The {role} cannot be read: {path}: {error}"),
    ErrorId.FILE_EMPTY: ErrorSpec("The {role} is empty: {path}"),
    ErrorId.FILE_IS_DIRECTORY: ErrorSpec("The {role} is a directory, not a file: {path}"),
    ErrorId.NOT_ELF: ErrorSpec("The {role} is not an ELF file: {path}"),
    ErrorId.NOT_A_CORE: ErrorSpec("The core file is not a core dump: {path}: {error}"),
    ErrorId.FILES_SWAPPED: ErrorSpec(
        "'program' and 'coreFilePath' look swapped: {program} is a core dump and {core} is an executable"
    ),
    ErrorId.CORE_TRUNCATED: ErrorSpec("The core file is truncated: {path}: {error}"),
    ErrorId.CORE_MISMATCH: ErrorSpec(
        "The core file was not produced by this program: {core} does not match {program}: {error}"
    ),
    ErrorId.NO_DWARF: ErrorSpec(
        "The program has no DWARF debug information: {path} (it was stripped or built with -ldflags=-w)"
    ),
    ErrorId.NOT_GO: ErrorSpec("The program is not a Go program: {path}: {error}"),
    ErrorId.DECOMPRESSION_FAILED: ErrorSpec("The {role} could not be decompressed: {path}: {error}"),
    ErrorId.UNSUPPORTED_ARCH: ErrorSpec("The {role} is for {arch}, which is not supported: {path}"),
    ErrorId.DLV_NOT_FOUND: ErrorSpec("Delve (dlv) was not found: {error}"),
    ErrorId.DLV_START_FAILED: ErrorSpec("Delve could not load the core: {error}"),
    ErrorId.DLV_EXITED: ErrorSpec("Delve exited unexpectedly: {error}"),
    ErrorId.DLV_TIMEOUT: ErrorSpec("Delve did not answer in time: {error}"),
    ErrorId.DLV_REQUEST_FAILED: ErrorSpec("Delve reported an error: {error}"),
    ErrorId.DLV_VERSION_UNSUPPORTED: ErrorSpec("This version of Delve is not supported: {error}"),
    ErrorId.DLV_PROTOCOL_ERROR: ErrorSpec("Delve sent a reply gocore-dap cannot read: {error}"),
    ErrorId.READ_ONLY_CORE: ErrorSpec("A core dump is read-only: {command} is not possible"),
    ErrorId.UNKNOWN_THREAD: ErrorSpec("Unknown thread {id}", show_user=False),
    ErrorId.UNKNOWN_FRAME: ErrorSpec("Unknown stack frame {id}", show_user=False),
    ErrorId.UNKNOWN_VARIABLES_REFERENCE: ErrorSpec("Unknown variables reference {id}", show_user=False),
    ErrorId.EVALUATE_FAILED: ErrorSpec("Cannot evaluate '{expression}': {error}", show_user=False),
    ErrorId.STACK_TRACE_FAILED: ErrorSpec("Unable to produce a stack trace: {error}"),
    ErrorId.VARIABLES_FAILED: ErrorSpec("Unable to read the variables: {error}", show_user=False),
    ErrorId.READ_MEMORY_FAILED: ErrorSpec("Unable to read memory: {error}", show_user=False),
    ErrorId.DISASSEMBLE_FAILED: ErrorSpec("Unable to disassemble: {error}", show_user=False),
    ErrorId.NO_SOURCE: ErrorSpec("No source is available for this location: {error}", show_user=False),
    ErrorId.NO_EXCEPTION_INFO: ErrorSpec("Thread {id} did not crash: it has no exception information", show_user=False),
    ErrorId.BAD_MEMORY_REFERENCE: ErrorSpec("Invalid memory reference '{reference}'", show_user=False),
    ErrorId.INTERNAL_ERROR: ErrorSpec("Internal error in gocore-dap: {error}"),
}

_PLACEHOLDER: Final = re.compile(r"\{(\w+)\}")
# The optional free-text detail: a format may end with it, and nowhere else uses it.
ERROR_SUFFIX: Final = ": {error}"


def expand_format(format: str, variables: Mapping[str, str]) -> str:
    """Fill ``{name}`` placeholders the way DAP clients do; unknown names stay as they are."""
    return _PLACEHOLDER.sub(lambda m: variables.get(m.group(1), m.group(0)), format)


def placeholders(format: str) -> list[str]:
    """The variable names a format refers to, in order."""
    return _PLACEHOLDER.findall(format)


class GocoreError(Exception):
    """An error a front end reports to its user: the DAP server as an error response (success=false),
    the report on stderr with its exit code, the language server as a message.

    Raised anywhere below the front ends. Variables come as a mapping and/or keyword arguments and are
    converted to strings, as DAP requires; `message` is the free-text detail (the ``error`` variable):

        raise GocoreError(ErrorId.UNKNOWN_FRAME, id=frame_id)
        raise GocoreError(ErrorId.DLV_TIMEOUT, message=str(exc))
    """

    def __init__(
        self,
        error_id: ErrorId,
        /,
        variables: Mapping[str, object] | None = None,
        *,
        message: str | None = None,
        show_user: bool | None = None,
        url: str | None = None,
        **more_variables: object,
    ) -> None:
        merged = {**(variables or {}), **more_variables}
        if message is not None:
            merged["error"] = message
        self.error_id = error_id
        self.variables: dict[str, str] = {name: str(value) for name, value in merged.items()}
        spec_format = error_id.format
        if "error" not in self.variables:
            spec_format = spec_format.removesuffix(ERROR_SUFFIX)
        elif "{error}" not in spec_format:
            spec_format += ERROR_SUFFIX
        self.format = spec_format
        self.show_user = error_id.spec.show_user if show_user is None else show_user
        self.url = url
        super().__init__(self.text)

    @property
    def text(self) -> str:
        """The message with its variables filled in, as the user reads it."""
        return expand_format(self.format, self.variables)

    def short_message(self) -> str:
        """The `message` of the error response: DAP's predefined short form where one applies
        ("cancelled", which clients act on), else the full text."""
        return "cancelled" if self.error_id is ErrorId.CANCELLED else self.text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.error_id.name}, {self.text!r})"
