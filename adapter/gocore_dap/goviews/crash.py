"""What the Go runtime printed when the program died, rebuilt from facts read out of the core.

`backends.delve.crash_probe.probe_crash` reads raw `CrashFacts` through Delve; `analyze_crash` turns them into a
`CrashAnalysis`: the kind of death, the runtime's own first line (`panic: ...`, `fatal error: ...`,
`SIGSEGV: segmentation violation`), the rest of its report, the panic chain and the signal. Nothing
is guessed from names or hard-coded per program: every text comes from the target's memory, and the
formatting rules are the runtime's own (printpanics, printpanicval, dopanic_m, fatalsignal) for the Go
version the target was built with (1.25 and 1.26 differ in float printing and in `[recovered,
repanicked]`).

How the kind is decided: with GOTRACEBACK=crash the thread the kernel dumped (Delve's current thread)
is the one that ran the crash, and its stack names the path the runtime took: `runtime.fatalpanic`
(an unrecovered panic), `runtime.fatalthrow` (throw/fatal: a fatal error) or `runtime.sighandler` (a
signal the runtime could not turn into a panic, including a kill from outside). The final SIGABRT that
crash mode raises to dump core goes through `sigfwdgo`, not `sighandler`, so it never looks like the cause.

Pure: stdlib, attrs and goviews only (cattrs, lazily, for the recorded-facts JSON).
"""

from __future__ import annotations

import decimal
import functools
import math
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from gocore_dap.goviews import kinds
from gocore_dap.goviews.wait_reasons import WaitReasonTable, goroutine_state

__all__ = [
    "CrashAnalysis",
    "CrashFacts",
    "CrashFrame",
    "CrashKind",
    "CrashSite",
    "FrameFact",
    "GoroutineSignalFact",
    "HandledSignalFact",
    "PanicFact",
    "PanicRecord",
    "SignalInfo",
    "analyze_crash",
    "crash_facts_from_json",
    "crash_facts_to_json",
    "format_details",
    "locate_crash",
    "parse_go_version",
    "printpanicval",
    "traceback_text",
]

CrashKind = Literal["panic", "fatal error", "signal", "unknown"]

# --- raw facts (what the probe read; JSON-recordable) ------------------------------------------------


@attrs.frozen
class FrameFact:
    """One frame of Delve's Stacktrace of the crashing goroutine (or thread).

    `frame_offset` is Delve's FrameOffset: an absolute address (> 0) for a frame on a system stack (g0,
    gsignal, a C stack), a negative offset from the goroutine's stack top for a frame on a goroutine stack.
    """

    function: str
    file: str
    line: int
    pc: int = 0
    frame_offset: int = 0

    @property
    def system_stack(self) -> bool:
        return self.frame_offset > 0


@attrs.frozen
class PanicFact:
    """One `runtime._panic` record, as the runtime left it after preprintpanics.

    `type_name` is the runtime's own type string (`main.Code`, `*main.T`, `big.Word`: package names, not
    import paths), "" for a nil interface. `kind` is the abi.Kind (reflect.Kind numbering). The value is
    in `text` for string kinds, in `value_hex` (little-endian bytes) for bool/number kinds; other kinds
    print `data_pointer` (eface.data), as the runtime does.
    """

    type_name: str
    kind: int
    recovered: bool = False
    repanicked: bool = False
    goexit: bool = False
    text: str | None = None
    text_len: int | None = None
    value_hex: str | None = None
    data_pointer: int = 0
    unreadable: str = ""


@attrs.frozen
class GoroutineSignalFact:
    """g.sig/sigcode0/sigcode1/sigpc of the crashing goroutine: set by the signal handler before it
    turns a fault into a panic (sigpanic), never cleared; dopanic_m prints them whenever sig != 0."""

    sig: int
    code0: int
    code1: int
    pc: int


@attrs.frozen
class HandledSignalFact:
    """The signal a `runtime.sighandler` frame handled on the crashing thread (read in its caller,
    `runtime.sigtrampgo`, whose arguments survive optimisation, unlike sighandler's)."""

    number: int
    code: int  # siginfo.si_code
    addr: int  # siginfo.si_addr (the fault address for SIGSEGV/SIGBUS)
    pc: int  # where the signal interrupted the thread
    m_id: int | None = None
    in_cgo: bool = False  # m.incgo on g0 with a curg: "signal arrived during cgo execution"
    instruction_bytes: str | None = None  # hex, for SIGILL/SIGFPE


@attrs.frozen
class CrashFacts:
    """Everything probe_crash read from the target. Recorded as JSON by the tests."""

    go_version: str
    crashing_thread_id: int
    goroutine_id: int | None = None
    goroutine_status: int | None = None
    goroutine_wait_reason: int | None = None
    frames: tuple[FrameFact, ...] = ()
    # Newest first, as linked from g._panic.
    panics: tuple[PanicFact, ...] = ()
    goroutine_signal: GoroutineSignalFact | None = None
    handled_signal: HandledSignalFact | None = None
    # runtime.sigtable[n].name for the signal numbers above ("SIGSEGV: segmentation violation").
    signal_names: dict[int, str] = attrs.field(factory=dict)
    # runtime.printBacklog in write order: the runtime's recent print output, up to "fatal error: ...".
    print_backlog: str | None = None
    # The `s` argument of the runtime.throw/runtime.fatal frame, when Delve could read it.
    throw_text: str | None = None
    probe_errors: tuple[str, ...] = ()


# --- analysis ------------------------------------------------------------------------------------------


@attrs.frozen
class PanicRecord:
    """One panic of the chain, oldest first, with its value as the runtime printed it."""

    value_text: str
    recovered: bool
    goexit: bool
    repanicked: bool = False
    type_name: str = ""
    truncated: bool = False


@attrs.frozen
class SignalInfo:
    name: str  # "SIGSEGV"; "" when the runtime has no name for the number
    number: int
    code: int
    addr: int
    pc: int
    description: str = ""  # "segmentation violation"


@attrs.frozen
class CrashFrame:
    function: str
    file: str
    line: int
    system_stack: bool = False


@attrs.frozen
class CrashSite:
    """Where the crash path shows on the crashing thread's stack (indices into its frames)."""

    kind: CrashKind
    marker_index: int | None = None  # runtime.fatalpanic / fatalthrow / sighandler
    origin_index: int | None = None  # first frame the runtime's own traceback shows
    sigtramp_index: int | None = None  # runtime.sigtrampgo that called sighandler (signals)


@attrs.frozen
class CrashAnalysis:
    """The crash as the runtime reported it.

    `headline`: the line that names the crash: `panic: <oldest panic>` (the first line printed), the
    `fatal error: ...` line (diagnostics such as `unexpected fault address 0x...` or `runtime: goroutine
    stack exceeds ...` may precede it in `report`), or the signal line (`SIGABRT: abort`).
    `report`: the runtime's text before the first traceback, rebuilt; `message`: `report` with the
    headline reduced to its payload (the panic value, the throw text, the signal description).
    `on_system_stack`: the code that crashed ran on an M's system stack (g0/gsignal, or C code under
    cgo) rather than on a goroutine stack; always true when no goroutine was on the crashing thread.
    """

    kind: CrashKind
    headline: str
    message: str
    report: str
    exception_id: str
    crashing_thread_id: int
    crashing_goroutine_id: int | None
    on_system_stack: bool
    go_version: str
    panic_chain: tuple[PanicRecord, ...] = ()
    signal: SignalInfo | None = None
    goroutine_state: str | None = None
    frames: tuple[CrashFrame, ...] = ()
    origin_frame_index: int | None = None
    # Text the runtime's print/println wrote before the fatal error that `report` does not claim (it can
    # hold the program's own println output too).
    earlier_output: str = ""
    notes: tuple[str, ...] = ()

    def traceback_text(self, frames: Sequence[CrashFrame | tuple[str, str, int]] | None = None) -> str:
        return traceback_text(
            self.frames if frames is None else frames,
            goroutine_id=self.crashing_goroutine_id,
            state=self.goroutine_state or "running",
        )


# --- JSON -------------------------------------------------------------------------------------------------

# Recorded facts (tests/unit/data/crash_facts) are plain snake_case JSON, not DAP: a converter of their own,
# made on first use so that reading a crash does not import cattrs.


@functools.cache
def _facts_converter() -> Any:
    import cattrs

    return cattrs.Converter()


def crash_facts_to_json(facts: CrashFacts) -> dict[str, Any]:
    result: dict[str, Any] = _facts_converter().unstructure(facts)
    return result


def crash_facts_from_json(data: Mapping[str, Any]) -> CrashFacts:
    facts: CrashFacts = _facts_converter().structure(dict(data), CrashFacts)
    return facts


# --- Go versions ------------------------------------------------------------------------------------------

_VERSION_RE = re.compile(r"go(\d+)\.(\d+)(?:\.(\d+))?")
# Go 1.26 prints floats with strconv's shortest form and shows "[recovered, repanicked]" only for a
# recovered panic; before, floats were "+1.500000e+000" and every repanicked panic had the marker.
_GO_1_26 = (1, 26, 0)


def parse_go_version(text: str) -> tuple[int, int, int] | None:
    """`go1.26.8` -> (1, 26, 8); also finds it inside `devel go1.27-abc...`."""
    match = _VERSION_RE.search(text)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def _at_least(go_version: str, wanted: tuple[int, int, int]) -> bool:
    parsed = parse_go_version(go_version)
    # An unreadable version gets the newest rules: the likeliest target is a current toolchain.
    return parsed is None or parsed >= wanted


# --- the runtime's print formatting ---------------------------------------------------------------------


def _printhex(value: int) -> str:
    return f"{value & 0xFFFF_FFFF_FFFF_FFFF:#x}"


def _printindented(text: str) -> str:
    # runtime.printindented: every newline of a panic value is followed by a tab.
    return text.replace("\n", "\n\t")


def _old_printfloat(v: float) -> str:
    """runtime.printfloat before Go 1.26: `+d.dddddde+ddd`, 7 digits, float64 arithmetic step by step."""
    if v != v:
        return "NaN"
    if v + v == v and v > 0:
        return "+Inf"
    if v + v == v and v < 0:
        return "-Inf"
    n = 7
    buf = ["0"] * (n + 7)
    buf[0] = "+"
    e = 0
    if v == 0:
        if math.copysign(1.0, v) < 0:
            buf[0] = "-"
    else:
        if v < 0:
            v = -v
            buf[0] = "-"
        while v >= 10:
            e += 1
            v /= 10
        while v < 1:
            e -= 1
            v *= 10
        h = 5.0
        for _ in range(n):
            h /= 10
        v += h
        if v >= 10:
            e += 1
            v /= 10
    for i in range(n):
        s = int(v)
        buf[i + 2] = chr(s + ord("0"))
        v -= float(s)
        v *= 10
    buf[1] = buf[2]
    buf[2] = "."
    buf[n + 2] = "e"
    buf[n + 3] = "+"
    if e < 0:
        e = -e
        buf[n + 3] = "-"
    buf[n + 4] = chr(e // 100 + ord("0"))
    buf[n + 5] = chr((e // 10) % 10 + ord("0"))
    buf[n + 6] = chr(e % 10 + ord("0"))
    return "".join(buf)


def _as_float32(v: float) -> float:
    try:
        result: float = struct.unpack("<f", struct.pack("<f", v))[0]
    except OverflowError:  # a candidate just past float32's largest value
        return math.inf
    return result


def _shortest_digits(v: float, bits: int) -> tuple[str, int]:
    """The shortest decimal digits that read back as `v` (v > 0) and the decimal point position."""
    if bits == 64:
        candidate = decimal.Decimal(repr(v))
    else:
        exact = decimal.Decimal(v)
        found: decimal.Decimal | None = None
        for precision in range(1, 10):
            rounded = decimal.Decimal(f"{v:.{precision - 1}e}")
            step = decimal.Decimal(1).scaleb(rounded.adjusted() - precision + 1)
            # The correctly rounded candidate can miss the float32's rounding interval at a power of
            # two while a neighbour hits it; pick the closest one that reads back.
            neighbours = (rounded - step, rounded, rounded + step)
            hits = [c for c in neighbours if c > 0 and _as_float32(float(c)) == v]
            if hits:
                found = min(hits, key=lambda c: abs(c - exact))
                break
        candidate = found if found is not None else exact
    _, digit_tuple, exponent = candidate.normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    trimmed = len("".join(map(str, digit_tuple))) - len(digits)
    return digits, len(digits) + exponent + trimmed


def _strconv_g(v: float, bits: int) -> str:
    """strconv.FormatFloat(v, 'g', -1, bits), which Go 1.26's runtime print uses."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, v) < 0 else ""
    if v == 0:
        return sign + "0"
    digits, dp = _shortest_digits(abs(v), bits)
    nd = len(digits)
    exp = dp - 1
    # Shortest 'g' switches to %e when the exponent is < -4 or >= 6 (strconv's eprec for shortest).
    if exp < -4 or exp >= 6:
        text = digits[0]
        if nd > 1:
            text += "." + digits[1:]
        exp_sign = "-" if exp < 0 else "+"
        return f"{sign}{text}e{exp_sign}{abs(exp):02d}"
    integer = (digits[:dp] + "0" * max(dp - nd, 0)) if dp > 0 else "0"
    frac_len = max(nd - dp, 0)
    frac = "".join(digits[j] if 0 <= j < nd else "0" for j in range(dp, dp + frac_len))
    return sign + integer + ("." + frac if frac_len else "")


def _print_float(v: float, bits: int, go_version: str) -> str:
    if _at_least(go_version, _GO_1_26):
        return _strconv_g(v, bits)
    return _old_printfloat(v)


def _print_complex(re_part: float, im_part: float, bits: int, go_version: str) -> str:
    if _at_least(go_version, _GO_1_26):
        imag = _strconv_g(im_part, bits)
        if not imag.startswith(("+", "-")):
            imag = "+" + imag
        return f"({_strconv_g(re_part, bits)}{imag}i)"
    return f"({_old_printfloat(re_part)}{_old_printfloat(im_part)}i)"


def _basic_value_text(fact: PanicFact, go_version: str) -> str | None:
    """The value of a bool/number kind as runtime print() writes it, or None if it cannot."""
    if fact.value_hex is None:
        return None
    raw = bytes.fromhex(fact.value_hex)
    kind = fact.kind
    if kind == kinds.BOOL and len(raw) >= 1:
        return "true" if raw[0] else "false"
    if (kind in kinds.SIGNED_INTS or kind in kinds.UNSIGNED_INTS) and raw:
        return str(int.from_bytes(raw, "little", signed=kind in kinds.SIGNED_INTS))
    if kind == kinds.UINTPTR and raw:
        return _printhex(int.from_bytes(raw, "little"))  # print(uintptr) is hex
    if kind == kinds.FLOAT32 and len(raw) == 4:
        return _print_float(struct.unpack("<f", raw)[0], 32, go_version)
    if kind == kinds.FLOAT64 and len(raw) == 8:
        return _print_float(struct.unpack("<d", raw)[0], 64, go_version)
    if kind == kinds.COMPLEX64 and len(raw) == 8:
        re_part, im_part = struct.unpack("<ff", raw)
        return _print_complex(re_part, im_part, 32, go_version)
    if kind == kinds.COMPLEX128 and len(raw) == 16:
        re_part, im_part = struct.unpack("<dd", raw)
        return _print_complex(re_part, im_part, 64, go_version)
    return None


def printpanicval(fact: PanicFact, go_version: str) -> str:
    """runtime.printpanicval (+ printanycustomtype) for one recorded panic value.

    Error and Stringer values were already replaced by their text (preprintpanics) when the runtime
    printed them, so they arrive here as strings.
    """
    if fact.unreadable:
        return f"<unreadable panic value: {fact.unreadable}>"
    if fact.kind == 0 and not fact.type_name:
        return "nil"
    plain = kinds.BASIC_TYPES.get(fact.type_name) == fact.kind
    if fact.kind == kinds.STRING:
        text = _printindented(fact.text or "")
        return text if plain else f'{fact.type_name}("{text}")'
    value = _basic_value_text(fact, go_version)
    if value is not None:
        if plain:
            return value
        if fact.kind in (kinds.COMPLEX64, kinds.COMPLEX128):
            return f"{fact.type_name}{value}"  # the complex print brings its own parentheses
        return f"{fact.type_name}({value})"
    return f"({fact.type_name}) {_printhex(fact.data_pointer)}"


def _panic_records(facts: CrashFacts) -> tuple[PanicRecord, ...]:
    return tuple(
        PanicRecord(
            value_text=printpanicval(p, facts.go_version),
            recovered=p.recovered,
            goexit=p.goexit,
            repanicked=p.repanicked,
            type_name=p.type_name,
            truncated=p.text is not None and p.text_len is not None and len(p.text.encode()) < p.text_len,
        )
        for p in reversed(facts.panics)
    )


def _printpanics(records: Sequence[PanicRecord], go_version: str) -> list[str]:
    """runtime.printpanics over the chain (oldest first), as lines without their trailing newline."""
    both_flags = _at_least(go_version, _GO_1_26)
    out = ""
    for i, record in enumerate(records):
        if i > 0:
            link = records[i - 1]
            # A repanic of the same value is printed once, on the older record.
            if link.repanicked:
                continue
            if not link.goexit:
                out += "\t"
        if record.goexit:
            continue
        out += "panic: " + record.value_text
        if record.repanicked and (record.recovered or not both_flags):
            out += " [recovered, repanicked]"
        elif record.recovered:
            out += " [recovered]"
        out += "\n"
    return out.split("\n")[:-1] if out else []


# --- locating the crash on the stack --------------------------------------------------------------------

_MARKERS: Mapping[str, CrashKind] = {
    "runtime.fatalpanic": "panic",
    "runtime.fatalthrow": "fatal error",
    "runtime.sighandler": "signal",
}


def locate_crash(functions: Sequence[str]) -> CrashSite:
    """Find the crash path on the crashing thread's stack (function names, innermost first)."""
    for index, function in enumerate(functions):
        kind = _MARKERS.get(function)
        if kind is None:
            continue
        if kind == "panic":
            origin = _find(functions, "runtime.gopanic", index + 1)
            return CrashSite(kind, index, origin if origin is not None else _next_or_none(index, functions))
        if kind == "fatal error":
            # The caller of fatalthrow is runtime.throw/runtime.fatal, the traceback's first frame.
            return CrashSite(kind, index, _next_or_none(index, functions))
        tramp = _find(functions, "runtime.sigtrampgo", index + 1)
        origin = _next_or_none(tramp, functions) if tramp is not None else None
        return CrashSite(kind, index, origin, tramp)
    return CrashSite("unknown")


def _find(functions: Sequence[str], name: str, start: int) -> int | None:
    return next((j for j in range(start, len(functions)) if functions[j] == name), None)


def _next_or_none(index: int, functions: Sequence[str]) -> int | None:
    return index + 1 if index + 1 < len(functions) else None


# --- the reports -------------------------------------------------------------------------------------------

_FATAL = "fatal error: "
# Lines the runtime prints right before some throws ("unexpected fault address 0x..." before "fatal
# error: fault", "runtime: goroutine stack exceeds ..." before "fatal error: stack overflow"). Only these
# are claimed for the report: the print backlog also holds the program's own println output.
_DIAGNOSTIC_PREFIXES = ("runtime: ", "unexpected fault address ", "accessed data from freed user arena ")


def _signal_name_parts(full: str) -> tuple[str, str]:
    name, _, description = full.partition(": ")
    return name, description


def _signal_line(facts: CrashFacts) -> tuple[str | None, SignalInfo | None]:
    """dopanic_m's `[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x...]` line."""
    gsig = facts.goroutine_signal
    if gsig is None or gsig.sig == 0:
        return None, None
    full = facts.signal_names.get(gsig.sig, "")
    shown = full if full else _printhex(gsig.sig)
    codes = f"code={_printhex(gsig.code0)} addr={_printhex(gsig.code1)} pc={_printhex(gsig.pc)}"
    line = f"[signal {shown} {codes}]"
    name, description = _signal_name_parts(full)
    return line, SignalInfo(name, gsig.sig, gsig.code0, gsig.code1, gsig.pc, description)


def _fatal_lines(facts: CrashFacts, notes: list[str]) -> tuple[list[str], int, str]:
    """The fatal error's lines (with claimed diagnostics before them), the headline's index, and the
    backlog text not claimed."""
    backlog = facts.print_backlog or ""
    start = _last_fatal_start(backlog)
    if start < 0:
        if facts.throw_text is not None:
            notes.append("the fatal error text comes from the throw argument (not in runtime.printBacklog)")
            return (_FATAL + _printindented(facts.throw_text)).split("\n"), 0, backlog.rstrip("\n")
        notes.append("the fatal error's text is in neither runtime.printBacklog nor throw's argument")
        return [_FATAL + "<unreadable>"], 0, backlog.rstrip("\n")
    line_start = backlog.rfind("\n", 0, start) + 1
    prefix = backlog[line_start:start]
    fatal = backlog[start:].rstrip("\n").split("\n")
    before = backlog[:line_start].split("\n")[:-1]
    claimed: list[str] = []
    if prefix == "\t":
        # Go 1.26 fatal(): the pending panics were printed first, and the fatal line is indented like a
        # nested panic. Claim them back to the chain's first "panic: " line.
        first = max((i for i, text in enumerate(before) if text.startswith("panic: ")), default=None)
        if first is not None:
            claimed = before[first:]
            before = before[:first]
        fatal[0] = prefix + fatal[0]
    while before and before[-1].startswith(_DIAGNOSTIC_PREFIXES):
        claimed.insert(0, before.pop())
    throw_first_line = None if facts.throw_text is None else _FATAL + facts.throw_text.split("\n")[0]
    if throw_first_line is not None and not fatal[0].lstrip("\t").startswith(throw_first_line):
        notes.append(f"throw's argument {facts.throw_text!r} differs from the backlog's last fatal error")
    return claimed + fatal, len(claimed), "\n".join(before)


def _last_fatal_start(backlog: str) -> int:
    """Offset of the last `fatal error: ` that starts a line (or follows 1.26's indentation tab)."""
    start = backlog.rfind(_FATAL)
    while start >= 0:
        if start == 0 or backlog[start - 1] in "\n\t":
            return start
        start = backlog.rfind(_FATAL, 0, start)
    return -1


def _handled_signal_lines(facts: CrashFacts, handled: HandledSignalFact) -> tuple[list[str], SignalInfo]:
    """runtime.fatalsignal's header: name, PC=/m=/sigcode= line, cgo note, instruction bytes."""
    full = facts.signal_names.get(handled.number, "")
    name, description = _signal_name_parts(full)
    lines = [full if full else f"Signal {handled.number}"]
    m_text = str(handled.m_id) if handled.m_id is not None else "?"
    pc_line = f"PC={_printhex(handled.pc)} m={m_text} sigcode={handled.code}"
    if name in ("SIGSEGV", "SIGBUS"):
        pc_line += f" addr={_printhex(handled.addr)}"
    lines.append(pc_line)
    if handled.in_cgo:
        lines.append("signal arrived during cgo execution")
    if handled.instruction_bytes is not None:
        shown = " ".join(_printhex(b) for b in bytes.fromhex(handled.instruction_bytes))
        lines.append(f"instruction bytes: {shown}")
    return lines, SignalInfo(name, handled.number, handled.code, handled.addr, handled.pc, description)


def _payload(headline: str, kind: CrashKind) -> str:
    if kind == "panic" and headline.startswith("panic: "):
        return headline[len("panic: ") :]
    if kind == "fatal error" and headline.startswith(_FATAL):
        return headline[len(_FATAL) :]
    if kind == "signal":
        name, description = _signal_name_parts(headline)
        return description or name
    return headline


def analyze_crash(facts: CrashFacts, wait_reasons: WaitReasonTable | None = None) -> CrashAnalysis:
    """Rebuild the runtime's crash report from the facts (see the module docstring)."""
    notes = list(facts.probe_errors)
    site = locate_crash([f.function for f in facts.frames])
    kind: CrashKind = site.kind
    if kind == "unknown":
        # No crash path on the stack (frames unreadable, or a core of a live process, e.g. gcore):
        # fall back on what memory says.
        if facts.handled_signal is not None:
            kind = "signal"
        elif _last_fatal_start(facts.print_backlog or "") >= 0:
            kind = "fatal error"
        elif facts.panics:
            kind = "panic"
    origin = site.origin_index
    chain = _panic_records(facts)
    signal: SignalInfo | None = None
    earlier_output = ""
    lines: list[str]
    headline_index = 0
    if kind == "panic":
        lines = _printpanics(chain, facts.go_version)
        if not lines:
            notes.append("the panic chain could not be read")
            lines = ["panic: <unreadable panic value>"]
        signal_line, signal = _signal_line(facts)
        if signal_line is not None:
            lines.append(signal_line)
    elif kind == "fatal error":
        lines, headline_index, earlier_output = _fatal_lines(facts, notes)
        # dopanic_m prints the signal of the g that threw; a throw on the system stack ran on g0.
        throw_on_goroutine = origin is not None and not facts.frames[origin].system_stack
        if facts.goroutine_id is not None and throw_on_goroutine:
            signal_line, signal = _signal_line(facts)
            if signal_line is not None:
                lines.append(signal_line)
    elif kind == "signal" and facts.handled_signal is not None:
        lines, signal = _handled_signal_lines(facts, facts.handled_signal)
    elif kind == "signal":
        notes.append("the signal handler's arguments could not be read")
        lines = ["fatal signal: <unreadable signal number>"]
    else:
        lines = ["unknown: the core shows no Go panic, fatal error or fatal signal"]
    headline = lines[headline_index].lstrip("\t")
    message_lines = [*lines[:headline_index], _payload(headline, kind), *lines[headline_index + 1 :]]
    if facts.goroutine_id is None:
        on_system_stack = True
    elif origin is not None and origin < len(facts.frames):
        on_system_stack = facts.frames[origin].system_stack
    else:
        on_system_stack = False
    state = None
    if facts.goroutine_status is not None:
        state = goroutine_state(facts.goroutine_status, facts.goroutine_wait_reason or 0, wait_reasons)
    frames = facts.frames[origin:] if origin is not None else facts.frames
    return CrashAnalysis(
        kind=kind,
        headline=headline,
        message="\n".join(message_lines),
        report="\n".join(lines),
        exception_id=kind,
        crashing_thread_id=facts.crashing_thread_id,
        crashing_goroutine_id=facts.goroutine_id,
        on_system_stack=on_system_stack,
        go_version=facts.go_version,
        panic_chain=chain,
        signal=signal,
        goroutine_state=state,
        frames=tuple(CrashFrame(f.function, f.file, f.line, f.system_stack) for f in frames),
        origin_frame_index=origin,
        earlier_output=earlier_output,
        notes=tuple(notes),
    )


# --- Go-style traceback text --------------------------------------------------------------------------------


def _as_frame(frame: CrashFrame | tuple[str, str, int]) -> CrashFrame:
    if isinstance(frame, CrashFrame):
        return frame
    function, file, line = frame
    return CrashFrame(function, file, line)


def traceback_text(
    frames: Sequence[CrashFrame | tuple[str, str, int]],
    *,
    goroutine_id: int | None,
    state: str = "running",
    created_by: tuple[str, str, int] | None = None,
    created_in_goroutine: int | None = None,
) -> str:
    """A traceback in the runtime's layout: `function(...)` then `\\tfile:line` per frame.

    Leading system-stack frames go under `runtime stack:` (as the runtime prints a throw on g0), the rest
    under `goroutine N [state]:`; without a goroutine every frame is a system-stack frame. Arguments are
    not known here, so every frame shows `(...)` (the runtime's own notation for elided arguments).
    """
    shown = [f for f in map(_as_frame, frames) if f.function]
    split = 0
    if goroutine_id is None:
        split = len(shown)
    else:
        while split < len(shown) and shown[split].system_stack:
            split += 1
    lines: list[str] = []
    if split:
        lines.append("runtime stack:")
        lines.extend(_frame_lines(shown[:split]))
    if goroutine_id is not None:
        if lines:
            lines.append("")
        lines.append(f"goroutine {goroutine_id} [{state}]:")
        lines.extend(_frame_lines(shown[split:]))
        if created_by is not None:
            function, file, line = created_by
            suffix = f" in goroutine {created_in_goroutine}" if created_in_goroutine is not None else ""
            lines.append(f"created by {function}{suffix}")
            lines.append(f"\t{file}:{line}")
    return "\n".join(lines)


def _frame_lines(frames: Sequence[CrashFrame]) -> list[str]:
    lines: list[str] = []
    for frame in frames:
        # The runtime names runtime.gopanic "panic" in tracebacks.
        name = "panic" if frame.function == "runtime.gopanic" else frame.function
        lines.append(f"{name}(...)")
        lines.append(f"\t{frame.file}:{frame.line}")
    return lines


def format_details(analysis: CrashAnalysis, frames: Sequence[CrashFrame | tuple[str, str, int]] | None = None) -> str:
    """The report followed by the crashing goroutine's (or thread's) traceback, like the runtime's stderr."""
    return f"{analysis.report}\n\n{analysis.traceback_text(frames)}"
