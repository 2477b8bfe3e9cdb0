"""Parse the traceback text the Go runtime writes to stderr when a program dies.

Covers the formats of Go 1.25 and 1.26 at every GOTRACEBACK level, crash mode included:

* the message: ``panic: ...`` (with ``[recovered]``, ``[recovered, repanicked]``, nested ``\\tpanic: ...``
  lines and tab-indented continuation lines of multi-line values), ``fatal error: ...``, the
  ``[signal SIGSEGV: ... addr=0x0 pc=0x...]`` line of a panic or throw, and the ``SIGSEGV: segmentation
  violation`` / ``PC=... m=... sigcode=...`` / ``signal arrived during cgo execution`` header of a fatal
  signal, plus any ``runtime: ...`` diagnostics printed right before it;
* goroutine blocks: the header (``gp=``/``m=``/``mp=`` appear in crash mode only; state, ``(scan)``,
  ``(leaked)``, ``N minutes``, ``locked to thread``, ``synctest bubble N``, ``labels:{...}`` with
  GODEBUG=tracebacklabels=1), frames (function line + ``\\tfile:line +0x.. fp=.. sp=.. pc=..``),
  elisions, ``goroutine running on other thread; stack unavailable``, ``created by F in goroutine N`` and
  ``[originating from goroutine N]:`` ancestor sections (GODEBUG=tracebackancestors);
* ``runtime stack:`` system-stack dumps of a throw;
* the per-M sections crash mode prints for the other threads (``-----``, ``SIGQUIT: quit``, ``PC=...``,
  the ``goroutine 0 ... [idle]:`` g0 dump, registers), and the first thread's registers.

The parser never raises on odd input: lines it does not recognise end up in ``unparsed_lines``.
Pure: stdlib and attrs only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import attrs

__all__ = [
    "GoroutineHeader",
    "ParsedTraceback",
    "TracebackAncestor",
    "TracebackElision",
    "TracebackFrame",
    "TracebackGoroutine",
    "TracebackPanic",
    "TracebackSignal",
    "TracebackThread",
    "parse_goroutine_header",
    "parse_traceback",
]

# --- line shapes -------------------------------------------------------------------------------------

_HEADER_RE = re.compile(
    r"^goroutine (?P<id>\d+)"
    r"(?: gp=(?P<gp>0x[0-9a-f]+) m=(?P<m>nil|\d+)(?: mp=(?P<mp>0x[0-9a-f]+))?)?"
    r" \[(?P<bracket>.*)\]:$"
)
# Greedy function part: the argument list is the last parenthesised group and never contains parens.
_FUNC_RE = re.compile(r"^(?P<function>\S.*)\((?P<args>[^()]*)\)$")
_FILE_RE = re.compile(
    r"^\t(?P<file>.+):(?P<line>\d+)"
    r"(?: \+(?P<offset>0x[0-9a-f]+))?"
    r"(?: fp=(?P<fp>0x[0-9a-f]+) sp=(?P<sp>0x[0-9a-f]+) pc=(?P<pc>0x[0-9a-f]+))?$"
)
_CREATED_RE = re.compile(r"^created by (?P<function>.+?)(?: in goroutine (?P<goroutine>\d+))?$")
_ELIDED_RE = re.compile(r"^\.\.\.(?:(?P<count>\d+) frames|additional frames) elided\.\.\.$")
_ANCESTOR_RE = re.compile(r"^\[originating from goroutine (?P<id>\d+)\]:$")
_STACK_UNAVAILABLE = "\tgoroutine running on other thread; stack unavailable"

# "SIGSEGV: segmentation violation", "SIGQUIT: quit", or "Signal 65" for a number without a name.
_FATAL_SIGNAL_RE = re.compile(r"^(?:(?P<name>SIG[A-Z0-9]+): (?P<description>.+)|Signal (?P<number>\d+))$")
_PC_RE = re.compile(r"^PC=(?P<pc>0x[0-9a-f]+) m=(?P<m>\d+) sigcode=(?P<sigcode>-?\d+)(?: addr=(?P<addr>0x[0-9a-f]+))?$")
_SIGNAL_LINE_RE = re.compile(
    r"^\[signal (?P<name>SIG[A-Z0-9]+|0x[0-9a-f]+)(?:: (?P<description>.+?))?"
    r" code=(?P<code>0x[0-9a-f]+) addr=(?P<addr>0x[0-9a-f]+) pc=(?P<pc>0x[0-9a-f]+)\]$"
)
_CGO_SIGNAL = "signal arrived during cgo execution"
_INSTRUCTION_BYTES = "instruction bytes:"
_REGISTER_RE = re.compile(r"^(?P<name>[a-z][a-z0-9]*)\s+(?P<value>0x[0-9a-f]+)$")
_THREAD_SEPARATOR = "-----"
_RUNTIME_STACK = "runtime stack:"

_PANIC_PREFIX = "panic: "
_NESTED_PANIC_PREFIX = "\tpanic: "
_FATAL_PREFIX = "fatal error: "
_RECOVERED = " [recovered]"
_REPANICKED = " [recovered, repanicked]"

_GO_ESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)")
_GO_QUOTED = r'"(?:[^"\\]|\\.)*"'
_LABEL_RE = re.compile(rf"(?P<key>{_GO_QUOTED}): (?P<value>{_GO_QUOTED})(?:, |$)")
_SIMPLE_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "\\": "\\",
    '"': '"',
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "0": "\0",
}


# --- model -------------------------------------------------------------------------------------------


@attrs.frozen
class TracebackFrame:
    """One frame: ``function(args)`` and its ``\\tfile:line +0xoffset [fp= sp= pc=]`` line.

    ``args`` is the raw text between the parentheses; it is ``...`` for an inlined frame, which also has no
    offset. ``fp``/``sp``/``pc`` are printed in crash mode only. For a ``created by`` frame ``args`` is "".
    """

    function: str
    args: str
    file: str
    line: int
    offset: int | None = None
    fp: int | None = None
    sp: int | None = None
    pc: int | None = None

    @property
    def inlined(self) -> bool:
        return self.args == "..." and self.offset is None


@attrs.frozen
class TracebackElision:
    """``...N frames elided...`` (count N) or ``...additional frames elided...`` (count None).

    ``index`` is the position in the goroutine's ``frames`` where the missing frames would be.
    """

    index: int
    count: int | None


@attrs.frozen
class TracebackAncestor:
    """An ``[originating from goroutine N]:`` section (GODEBUG=tracebackancestors=N)."""

    id: int
    frames: list[TracebackFrame]
    created_by: TracebackFrame | None


@attrs.frozen
class TracebackGoroutine:
    """One goroutine block. ``id`` 0 is an M's system stack (g0), printed in crash mode.

    ``state`` is the status text as printed (the wait reason for waiting goroutines) without the
    ``(scan)``/``(leaked)`` markers, which are the ``scan``/``leaked`` flags. ``m`` is the M the goroutine
    runs on, None for ``m=nil`` and when the header has no ``m=`` (below crash level).
    """

    id: int
    state: str
    wait_minutes: int | None
    locked_to_thread: bool
    m: int | None
    frames: list[TracebackFrame]
    created_by: TracebackFrame | None
    creator_goroutine: int | None
    stack_unavailable: bool
    gp: int | None = None
    mp: int | None = None
    labels: Mapping[str, str] = attrs.field(factory=dict)
    scan: bool = False
    leaked: bool = False
    synctest_bubble: int | None = None
    elisions: list[TracebackElision] = attrs.field(factory=list)
    ancestors: list[TracebackAncestor] = attrs.field(factory=list)
    header_line: int = 0  # 1-based line number of the header in the parsed text

    @property
    def is_system_stack(self) -> bool:
        return self.id == 0


@attrs.frozen
class TracebackPanic:
    """One ``panic:`` value of the message, outermost (first printed) first."""

    value: str
    recovered: bool
    repanicked: bool


@attrs.frozen
class TracebackSignal:
    """The signal that killed the program, from ``[signal ...]`` or a ``SIGxxx: ...``/``PC=`` header."""

    name: str  # "SIGSEGV", or "0x1f" when the runtime has no name for it
    description: str | None
    code: int | None
    addr: int | None
    pc: int | None
    m: int | None = None
    during_cgo: bool = False


@attrs.frozen
class TracebackThread:
    """A thread (M) that reported a fatal signal: the first one from the message, then one per ``-----``.

    ``registers`` are the ``rax 0x...`` lines dumped for it (crash mode). Its g0 dump is the goroutine
    block with id 0 and the same ``m``.
    """

    signal: str
    m: int | None
    pc: int | None
    sigcode: int | None
    addr: int | None
    during_cgo: bool
    registers: Mapping[str, int]


@attrs.frozen
class ParsedTraceback:
    """The parsed stderr of a dying Go program."""

    message_lines: list[str]
    kind: str | None  # "panic" | "fatal error" | "signal"
    goroutines: list[TracebackGoroutine]
    panics: list[TracebackPanic] = attrs.field(factory=list)
    fatal_error: str | None = None
    signal: TracebackSignal | None = None
    runtime_stacks: list[list[TracebackFrame]] = attrs.field(factory=list)
    threads: list[TracebackThread] = attrs.field(factory=list)
    preamble_lines: list[str] = attrs.field(factory=list)  # the program's own output before the crash
    unparsed_lines: list[tuple[int, str]] = attrs.field(factory=list)  # (1-based line number, text)

    @property
    def message(self) -> str | None:
        return self.message_lines[0] if self.message_lines else None

    def goroutines_by_id(self) -> dict[int, TracebackGoroutine]:
        """User goroutines (id != 0) by id, each from its first block.

        A goroutine can be printed twice in crash mode: "stack unavailable" in the main listing and again,
        with frames, in the section of the thread it was running on; a later block with frames replaces a
        first one that had none.
        """
        result: dict[int, TracebackGoroutine] = {}
        for goroutine in self.goroutines:
            if goroutine.id == 0:
                continue
            first = result.get(goroutine.id)
            if first is None or (first.stack_unavailable and not first.frames and goroutine.frames):
                result[goroutine.id] = goroutine
        return result

    def crashing_goroutine(self) -> TracebackGoroutine | None:
        """The goroutine the runtime printed first because it was the one running when the program died.

        System stacks (g0) are skipped; None when the first user goroutine is parked (a deadlock, or a
        signal sent from outside while every goroutine was parked).
        """
        for goroutine in self.goroutines:
            if goroutine.id == 0:
                continue
            if goroutine.m is not None or goroutine.state in ("running", "syscall"):
                return goroutine
            return None
        return None


# --- helpers -----------------------------------------------------------------------------------------


def _go_unquote(quoted: str) -> str:
    """Decode a string written by the runtime's printquoted (a subset of Go's escapes)."""

    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape[0] in "xuU" and len(escape) > 1:
            return chr(int(escape[1:], 16))
        return _SIMPLE_ESCAPES.get(escape, escape)

    return _GO_ESCAPE_RE.sub(replace, quoted[1:-1])


def _hex(text: str | None) -> int | None:
    return int(text, 16) if text is not None else None


@attrs.frozen
class GoroutineHeader:
    """The fields of a ``goroutine N ...:`` header line (see TracebackGoroutine)."""

    id: int
    gp: int | None
    m: int | None
    mp: int | None
    state: str
    wait_minutes: int | None
    locked_to_thread: bool
    scan: bool
    leaked: bool
    synctest_bubble: int | None
    labels: Mapping[str, str]


def parse_goroutine_header(line: str) -> GoroutineHeader | None:
    """Parse one ``goroutine N ... [state, ...]:`` line; None if it is not one."""
    match = _HEADER_RE.match(line)
    if match is None:
        return None
    bracket = match.group("bracket")
    labels: dict[str, str] = {}
    # Labels come last and are Go-quoted, so they may hold ", " or "]": cut them off first.
    label_start = bracket.find(" labels:{")
    if label_start >= 0 and bracket.endswith("}"):
        body = bracket[label_start + len(" labels:{") : -1]
        for item in _LABEL_RE.finditer(body):
            labels[_go_unquote(item.group("key"))] = _go_unquote(item.group("value"))
        bracket = bracket[:label_start]
    state, *extras = bracket.split(", ")
    scan = leaked = False
    # Printed in the order status, " (leaked)", " (scan)": strip them back to front.
    if state.endswith(" (scan)"):
        state, scan = state[: -len(" (scan)")], True
    if state.endswith(" (leaked)"):
        state, leaked = state[: -len(" (leaked)")], True
    wait_minutes: int | None = None
    locked = False
    bubble: int | None = None
    for extra in extras:
        if extra.endswith(" minutes") and extra[: -len(" minutes")].isdigit():
            wait_minutes = int(extra[: -len(" minutes")])
        elif extra == "locked to thread":
            locked = True
        elif extra.startswith("synctest bubble ") and extra[len("synctest bubble ") :].isdigit():
            bubble = int(extra[len("synctest bubble ") :])
        else:
            # Not a known suffix: it must have been part of the status text.
            state = f"{state}, {extra}"
    m_text = match.group("m")
    return GoroutineHeader(
        id=int(match.group("id")),
        gp=_hex(match.group("gp")),
        m=int(m_text) if m_text not in (None, "nil") else None,
        mp=_hex(match.group("mp")),
        state=state,
        wait_minutes=wait_minutes,
        locked_to_thread=locked,
        scan=scan,
        leaked=leaked,
        synctest_bubble=bubble,
        labels=labels,
    )


def _is_message_start(line: str) -> bool:
    return (
        line.startswith((_PANIC_PREFIX, _FATAL_PREFIX, "unexpected fault address "))
        or _FATAL_SIGNAL_RE.match(line) is not None
    )


def _is_structure(line: str) -> bool:
    return line == _RUNTIME_STACK or _HEADER_RE.match(line) is not None


def _parse_panics(lines: Sequence[str]) -> list[TracebackPanic]:
    """Rebuild the panic values: "panic: " starts the outermost, "\\tpanic: " a nested one, and any other
    tab-indented line continues the value before it (the runtime indents embedded newlines with a tab)."""
    values: list[list[str]] = []
    for line in lines:
        if line.startswith(_PANIC_PREFIX) and not values:
            values.append([line[len(_PANIC_PREFIX) :]])
        elif line.startswith(_NESTED_PANIC_PREFIX) and values:
            values.append([line[len(_NESTED_PANIC_PREFIX) :]])
        elif line.startswith("\t") and values:
            values[-1].append(line[1:])
        elif values:
            break
    panics: list[TracebackPanic] = []
    for parts in values:
        value = "\n".join(parts)
        recovered = repanicked = False
        if value.endswith(_REPANICKED):
            value, recovered, repanicked = value[: -len(_REPANICKED)], True, True
        elif value.endswith(_RECOVERED):
            value, recovered = value[: -len(_RECOVERED)], True
        panics.append(TracebackPanic(value=value, recovered=recovered, repanicked=repanicked))
    return panics


class _Lines:
    """A cursor over the text's lines."""

    def __init__(self, lines: Sequence[str], start: int) -> None:
        self.lines = lines
        self.pos = start

    def peek(self, ahead: int = 0) -> str | None:
        index = self.pos + ahead
        return self.lines[index] if index < len(self.lines) else None

    def take(self) -> str:
        line = self.lines[self.pos]
        self.pos += 1
        return line

    @property
    def lineno(self) -> int:
        return self.pos + 1


def _frame_from(function: str, args: str, file_match: re.Match[str]) -> TracebackFrame:
    return TracebackFrame(
        function=function,
        args=args,
        file=file_match.group("file"),
        line=int(file_match.group("line")),
        offset=_hex(file_match.group("offset")),
        fp=_hex(file_match.group("fp")),
        sp=_hex(file_match.group("sp")),
        pc=_hex(file_match.group("pc")),
    )


@attrs.define
class _Stack:
    """What a block of frames holds, while it is being read."""

    frames: list[TracebackFrame] = attrs.field(factory=list)
    created_by: TracebackFrame | None = None
    creator_goroutine: int | None = None
    stack_unavailable: bool = False
    elisions: list[TracebackElision] = attrs.field(factory=list)
    ancestors: list[TracebackAncestor] = attrs.field(factory=list)


def _read_stack(cursor: _Lines, unparsed: list[tuple[int, str]], *, in_ancestor: bool = False) -> _Stack:
    """Read frames up to the blank line (or the end) that closes a block.

    Frames and "created by" lines come first because they are nearly every line of a big traceback: they
    are the lines followed by a tab-indented file:line line.
    """
    stack = _Stack()
    while (line := cursor.peek()) is not None and line != "":
        next_line = cursor.peek(1)
        file_match = _FILE_RE.match(next_line) if next_line is not None and next_line.startswith("\t") else None
        if file_match is not None and not line.startswith("\t"):
            lineno = cursor.lineno
            cursor.take()
            cursor.take()
            if line.startswith("created by ") and (created := _CREATED_RE.match(line)) is not None:
                stack.created_by = _frame_from(created.group("function"), "", file_match)
                goroutine = created.group("goroutine")
                stack.creator_goroutine = int(goroutine) if goroutine else None
            elif (func := _FUNC_RE.match(line)) is not None:
                stack.frames.append(_frame_from(func.group("function"), func.group("args"), file_match))
            else:
                unparsed.extend([(lineno, line), (lineno + 1, next_line or "")])
            continue
        # The registers of a thread section follow its g0 frames without a blank line; the other block
        # starts are there only if the blank line is missing.
        if (
            (line.startswith("goroutine ") and _HEADER_RE.match(line))
            or line in (_RUNTIME_STACK, _THREAD_SEPARATOR)
            or _REGISTER_RE.match(line)
        ):
            break
        ancestor = _ANCESTOR_RE.match(line) if line.startswith("[originating") else None
        if ancestor is not None and in_ancestor:
            break
        lineno = cursor.lineno
        cursor.take()
        if line == _STACK_UNAVAILABLE:
            stack.stack_unavailable = True
        elif (elided := _ELIDED_RE.match(line)) is not None:
            count = elided.group("count")
            stack.elisions.append(TracebackElision(len(stack.frames), int(count) if count else None))
        elif ancestor is not None:
            inner = _read_stack(cursor, unparsed, in_ancestor=True)
            stack.ancestors.append(TracebackAncestor(int(ancestor.group("id")), inner.frames, inner.created_by))
        else:
            unparsed.append((lineno, line))
    return stack


def _split_message(lines: Sequence[str]) -> tuple[int, int]:
    """(message start, index of the first block): the message is the crash report's lines right before the
    first goroutine block or "runtime stack:"; anything before it is the program's own output."""
    first_block = next((i for i, line in enumerate(lines) if _is_structure(line)), len(lines))
    start = next((i for i in range(first_block - 1, -1, -1) if _is_message_start(lines[i])), None)
    if start is None:
        return first_block, first_block
    # "runtime: ..." diagnostics and an "unexpected fault address" line belong to the same report.
    while start > 0 and (lines[start - 1].startswith("runtime: ") or _is_message_start(lines[start - 1])):
        start -= 1
    return start, first_block


def _kind(message: Sequence[str]) -> str | None:
    if any(line.startswith(_FATAL_PREFIX) for line in message):
        return "fatal error"
    if any(line.startswith(_PANIC_PREFIX) for line in message):
        return "panic"
    if any(_FATAL_SIGNAL_RE.match(line) for line in message):
        return "signal"
    return None


@attrs.define
class _ThreadBuilder:
    signal: str
    m: int | None = None
    pc: int | None = None
    sigcode: int | None = None
    addr: int | None = None
    during_cgo: bool = False
    registers: dict[str, int] = attrs.field(factory=dict)

    def apply_pc(self, match: re.Match[str]) -> None:
        self.pc = _hex(match.group("pc"))
        self.m = int(match.group("m"))
        self.sigcode = int(match.group("sigcode"))
        self.addr = _hex(match.group("addr"))

    def freeze(self) -> TracebackThread:
        return TracebackThread(
            self.signal, self.m, self.pc, self.sigcode, self.addr, self.during_cgo, dict(self.registers)
        )


def _signal_from_message(message: Sequence[str], thread: _ThreadBuilder | None) -> TracebackSignal | None:
    for line in message:
        if (match := _SIGNAL_LINE_RE.match(line)) is not None:
            return TracebackSignal(
                name=match.group("name"),
                description=match.group("description"),
                code=_hex(match.group("code")),
                addr=_hex(match.group("addr")),
                pc=_hex(match.group("pc")),
            )
    if thread is not None:
        name, _, description = thread.signal.partition(": ")
        return TracebackSignal(
            name=name,
            description=description or None,
            code=thread.sigcode,
            addr=thread.addr,
            pc=thread.pc,
            m=thread.m,
            during_cgo=thread.during_cgo,
        )
    return None


# --- entry point -------------------------------------------------------------------------------------


def parse_traceback(text: str) -> ParsedTraceback:
    """Parse a Go program's stderr (see the module docstring for what is understood)."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    start, first_block = _split_message(lines)
    preamble = lines[:start]
    message = [line for line in lines[start:first_block] if line != ""]
    unparsed: list[tuple[int, str]] = []

    # A fatal signal's "SIGxxx: ..." / "PC=..." header is the first thread's section; its registers come
    # after the goroutine blocks.
    threads: list[_ThreadBuilder] = []
    current: _ThreadBuilder | None = None
    for message_line in message:
        if current is None:
            if _FATAL_SIGNAL_RE.match(message_line):
                current = _ThreadBuilder(signal=message_line)
                threads.append(current)
        elif (pc_match := _PC_RE.match(message_line)) is not None:
            current.apply_pc(pc_match)
        elif message_line == _CGO_SIGNAL:
            current.during_cgo = True
    first_thread = current

    goroutines: list[TracebackGoroutine] = []
    runtime_stacks: list[list[TracebackFrame]] = []
    cursor = _Lines(lines, first_block)
    after_separator = False
    while (line := cursor.peek()) is not None:
        lineno = cursor.lineno
        if line == "":
            cursor.take()
            continue
        header = parse_goroutine_header(line)
        if header is not None:
            cursor.take()
            stack = _read_stack(cursor, unparsed)
            goroutines.append(
                TracebackGoroutine(
                    id=header.id,
                    state=header.state,
                    wait_minutes=header.wait_minutes,
                    locked_to_thread=header.locked_to_thread,
                    m=header.m,
                    frames=stack.frames,
                    created_by=stack.created_by,
                    creator_goroutine=stack.creator_goroutine,
                    stack_unavailable=stack.stack_unavailable,
                    gp=header.gp,
                    mp=header.mp,
                    labels=header.labels,
                    scan=header.scan,
                    leaked=header.leaked,
                    synctest_bubble=header.synctest_bubble,
                    elisions=stack.elisions,
                    ancestors=stack.ancestors,
                    header_line=lineno,
                )
            )
            continue
        cursor.take()
        if line == _RUNTIME_STACK:
            runtime_stacks.append(_read_stack(cursor, unparsed).frames)
        elif line == _THREAD_SEPARATOR:
            after_separator = True
        elif after_separator and _FATAL_SIGNAL_RE.match(line):
            current = _ThreadBuilder(signal=line)
            threads.append(current)
            after_separator = False
        elif current is not None and (pc_match := _PC_RE.match(line)) is not None:
            current.apply_pc(pc_match)
        elif current is not None and line == _CGO_SIGNAL:
            current.during_cgo = True
        elif current is not None and (register := _REGISTER_RE.match(line)) is not None:
            current.registers[register.group("name")] = int(register.group("value"), 16)
        elif line.startswith(_INSTRUCTION_BYTES):
            continue
        else:
            unparsed.append((lineno, line))

    return ParsedTraceback(
        message_lines=message,
        kind=_kind(message),
        goroutines=goroutines,
        panics=_parse_panics(message),
        fatal_error=next((line[len(_FATAL_PREFIX) :] for line in message if line.startswith(_FATAL_PREFIX)), None),
        signal=_signal_from_message(message, first_thread),
        runtime_stacks=runtime_stacks,
        threads=[thread.freeze() for thread in threads],
        preamble_lines=preamble,
        unparsed_lines=unparsed,
    )
