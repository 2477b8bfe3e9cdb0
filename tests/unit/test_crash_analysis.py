"""analyze_crash and the runtime's print rules, on facts recorded from real cores (Go 1.25.0 and 1.26.8).

tests/unit/data/crash_facts/*.json holds, per core, the `CrashFacts` probe_crash read and an excerpt of
the program's own stderr (written by tests/integration/test_crash_probe.py with
GOCORE_DAP_RECORD_CRASH_FACTS=1). The expectations are derived from that stderr, never from our output.
"""

from __future__ import annotations

import json
import math
import re
import struct
from pathlib import Path

import attrs
import pytest

from gocore_dap.goviews.crash import (
    CrashAnalysis,
    CrashFacts,
    CrashFrame,
    FrameFact,
    GoroutineSignalFact,
    HandledSignalFact,
    PanicFact,
    analyze_crash,
    crash_facts_from_json,
    crash_facts_to_json,
    format_details,
    locate_crash,
    parse_go_version,
    printpanicval,
    traceback_text,
)
from gocore_dap.goviews.wait_reasons import WaitReasonTable, goroutine_state, status_name

DATA = Path(__file__).parent / "data" / "crash_facts"
# Recordings keep the innermost frames only: the crash path sits at the top of the stack.
RECORDED_FRAMES = 32

# --- ground truth from the runtime's stderr ------------------------------------------------------------

_HEADER_RE = re.compile(r"^goroutine (\d+)(?: gp=\S+ m=(\S+)(?: mp=\S+)?)? \[(.*)\]:$")
_SIGNAL_HEADLINE_RE = re.compile(r"^(?:SIG[A-Z0-9]+: .+|Signal \d+)$")


def _is_structure(line: str) -> bool:
    return line.startswith("goroutine ") or line in ("runtime stack:", "-----")


def stderr_excerpt(stderr: str) -> str:
    """The runtime's report and its output up to the first goroutine header (what the tests need)."""
    kept: list[str] = []
    for line in stderr.split("\n"):
        kept.append(line)
        if _HEADER_RE.match(line) or len(kept) >= 80:
            break
    return "\n".join(kept)


@attrs.frozen
class StderrTruth:
    head: str  # everything before the first traceback
    kind: str
    headline: str
    goroutine_id: int | None
    state: str | None
    on_system_stack: bool


def stderr_truth(stderr: str) -> StderrTruth:
    lines = stderr.split("\n")
    end = next((i for i, line in enumerate(lines) if _is_structure(line)), len(lines))
    head = lines[:end]
    while head and not head[-1]:
        head.pop()
    bare = [line.lstrip("\t") for line in head]
    fatal = next((line for line in bare if line.startswith("fatal error: ")), None)
    panic = next((line for line in head if line.startswith("panic: ")), None)
    sig = next((line for line in head if _SIGNAL_HEADLINE_RE.match(line)), None)
    if fatal is not None:
        kind, headline = "fatal error", fatal
    elif panic is not None:
        kind, headline = "panic", panic
    elif sig is not None:
        kind, headline = "signal", sig
    else:
        kind, headline = "unknown", ""
    runtime_stack = end < len(lines) and lines[end] == "runtime stack:"
    header = next((m for m in map(_HEADER_RE.match, lines[end:]) if m is not None), None)
    goroutine_id: int | None = None
    state: str | None = None
    # goroutine 0 is a g0 (a signal on an idle M); after "runtime stack:" of an M without a goroutine the
    # first listed goroutine is just the first of all (m=nil).
    if header is not None and int(header[1]) != 0 and not (runtime_stack and header[2] == "nil"):
        goroutine_id = int(header[1])
        # Keep the state alone: goroutineheader appends " labels:{...}", ", N minutes", " (scan)", ...
        state = header[3].split(" labels:{")[0].split(", ")[0].removesuffix(" (scan)")
    on_system_stack = runtime_stack or goroutine_id is None or "signal arrived during cgo execution" in head
    return StderrTruth("\n".join(head), kind, headline, goroutine_id, state, on_system_stack)


def assert_matches_stderr(analysis: CrashAnalysis, stderr: str) -> None:
    """The analysis says what the runtime printed (shared with the integration test)."""
    truth = stderr_truth(stderr)
    assert analysis.kind == truth.kind
    assert analysis.exception_id == truth.kind
    assert analysis.headline == truth.headline
    # The report is the runtime's text exactly; anything before it in stderr is the program's own output,
    # which the print backlog shows as earlier output.
    assert truth.head.endswith(analysis.report), f"{truth.head!r} does not end with {analysis.report!r}"
    before = truth.head[: len(truth.head) - len(analysis.report)]
    assert not before or (before.endswith("\n") and analysis.earlier_output.endswith(before[:-1]))
    assert analysis.crashing_goroutine_id == truth.goroutine_id
    if truth.goroutine_id is not None:
        assert analysis.goroutine_state == truth.state
    assert analysis.on_system_stack == truth.on_system_stack
    signal_line = next((line for line in truth.head.split("\n") if line.startswith("[signal ")), None)
    if signal_line is not None:
        assert analysis.signal is not None
        assert signal_line.startswith(f"[signal {analysis.signal.name}: ")
    payload = analysis.headline.split(": ", 1)[1] if ": " in analysis.headline else analysis.headline
    assert payload in analysis.message
    if analysis.kind == "panic":
        assert analysis.panic_chain
        assert analysis.frames and analysis.frames[0].function == "runtime.gopanic"


# --- recorded cores ---------------------------------------------------------------------------------------

RECORDINGS = sorted(DATA.glob("*.json"))


def _load(path: Path) -> tuple[CrashFacts, str, dict[str, object]]:
    document = json.loads(path.read_text())
    return crash_facts_from_json(document["facts"]), str(document["stderr_excerpt"]), document


def test_recordings_cover_both_go_versions() -> None:
    versions = {_load(path)[0].go_version[:6] for path in RECORDINGS}
    assert {"go1.25", "go1.26"} <= versions
    kinds = {analyze_crash(_load(path)[0]).kind for path in RECORDINGS}
    assert kinds == {"panic", "fatal error", "signal"}


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_recorded_core(path: Path) -> None:
    facts, stderr, _ = _load(path)
    analysis = analyze_crash(facts)
    assert_matches_stderr(analysis, stderr)
    assert not analysis.notes
    assert crash_facts_from_json(json.loads(json.dumps(crash_facts_to_json(facts)))) == facts


def _recorded(toolchain: str, program: str) -> CrashAnalysis:
    return analyze_crash(_load(DATA / f"{toolchain}-{program}.json")[0])


@pytest.mark.parametrize("toolchain", ["local", "go1.25.0"])
def test_named_examples(toolchain: str) -> None:
    wrapped = _recorded(toolchain, "wrapped_error")
    assert wrapped.headline == 'panic: tenant "acme" job 17: quota exceeded'
    assert wrapped.message == 'tenant "acme" job 17: quota exceeded'

    nil = _recorded(toolchain, "nil_deref")
    assert nil.message.startswith(
        "runtime error: invalid memory address or nil pointer dereference\n"
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x"
    )
    assert nil.signal is not None and (nil.signal.name, nil.signal.number, nil.signal.addr) == (
        "SIGSEGV",
        11,
        0,
    )

    deadlock = _recorded(toolchain, "deadlock")
    assert deadlock.headline == "fatal error: all goroutines are asleep - deadlock!"
    assert deadlock.crashing_goroutine_id is None and deadlock.on_system_stack

    abrt = _recorded(toolchain, "external_abrt")
    assert abrt.kind == "signal" and abrt.headline == "SIGABRT: abort"
    assert abrt.crashing_goroutine_id is None and abrt.exception_id == "signal"

    cgo = _recorded(toolchain, "cgo_crash")
    assert cgo.headline == "SIGSEGV: segmentation violation"
    assert "signal arrived during cgo execution" in cgo.message
    assert cgo.on_system_stack and cgo.goroutine_state == "syscall"

    nested = _recorded(toolchain, "nested_panic")
    assert len(nested.panic_chain) == 2
    assert nested.report.split("\n")[1].startswith("\tpanic: ")

    forms = _recorded(toolchain, "panic_value_forms")
    texts = [record.value_text for record in forms.panic_chain]
    float_text, complex_text = (
        ("2.5", "(1-2i)") if toolchain == "local" else ("+2.500000e+000", "(+1.000000e+000-2.000000e+000i)")
    )
    assert texts == [
        "panic called with nil argument",
        "true",
        complex_text,
        float_text,
        "main.Code(-7)",
        'main.Label("bad\n\tlabel")',
    ]

    pointers = _recorded(toolchain, "panic_pointer_forms")
    assert [r.type_name for r in pointers.panic_chain] == ["float32", "[]int", "big.Word", "*main.T"]

    overflow = _recorded(toolchain, "stack_overflow")
    assert overflow.headline == "fatal error: stack overflow"
    assert overflow.on_system_stack and overflow.crashing_goroutine_id == 1
    assert overflow.report.startswith("runtime: goroutine stack exceeds ")


def test_repanic_marker_differs_between_versions() -> None:
    assert _recorded("go1.25.0", "same_value_repanic").headline == "panic: same value twice [recovered, repanicked]"
    assert _recorded("local", "same_value_repanic").headline == "panic: same value twice"


def test_fatal_during_panic_on_126_prints_the_pending_panic() -> None:
    new = _recorded("local", "fatal_during_panic")
    assert new.report == "panic: boom\n\tfatal error: sync: unlock of unlocked mutex"
    assert new.headline == "fatal error: sync: unlock of unlocked mutex"
    assert new.message == "panic: boom\nsync: unlock of unlocked mutex"
    assert _recorded("go1.25.0", "fatal_during_panic").report == "fatal error: sync: unlock of unlocked mutex"


def test_traceback_of_a_recorded_panic() -> None:
    analysis = _recorded("local", "wrapped_error")
    text = format_details(analysis)
    assert text.startswith('panic: tenant "acme" job 17: quota exceeded\n\ngoroutine 1 [running]:\npanic(...)\n\t')
    assert "main.main(...)\n\t" in text
    assert "runtime.raise" not in text  # the crash machinery above gopanic is cut


# --- the runtime's print rules ---------------------------------------------------------------------------

# println() output of a Go program printing these values: (value, go1.26.8, go1.25.0).
_FLOAT64 = [
    (0.0, "0", "+0.000000e+000"),
    (-0.0, "-0", "-0.000000e+000"),
    (1.0, "1", "+1.000000e+000"),
    (-1.0, "-1", "-1.000000e+000"),
    (2.5, "2.5", "+2.500000e+000"),
    (0.1, "0.1", "+1.000000e-001"),
    (1 / 3, "0.3333333333333333", "+3.333333e-001"),
    (100.0, "100", "+1.000000e+002"),
    (123456.0, "123456", "+1.234560e+005"),
    (999999.0, "999999", "+9.999990e+005"),
    (1e6, "1e+06", "+1.000000e+006"),
    (1234567.0, "1.234567e+06", "+1.234567e+006"),
    (1e21, "1e+21", "+1.000000e+021"),
    (1e-4, "0.0001", "+1.000000e-004"),
    (1.5e-5, "1.5e-05", "+1.500000e-005"),
    (0.00012345, "0.00012345", "+1.234500e-004"),
    (123.456, "123.456", "+1.234560e+002"),
    (-7.25e-300, "-7.25e-300", "-7.250000e-300"),
    (5e-324, "5e-324", "+4.940656e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308", "+1.797693e+308"),
    (math.inf, "+Inf", "+Inf"),
    (-math.inf, "-Inf", "-Inf"),
    (math.nan, "NaN", "NaN"),
    (6.02214076e23, "6.02214076e+23", "+6.022141e+023"),
    (0.3, "0.3", "+3.000000e-001"),
    (9.999999e-5, "9.999999e-05", "+9.999999e-005"),
    (299792458.0, "2.99792458e+08", "+2.997925e+008"),
]
_FLOAT32 = [
    (0.0, "0", "+0.000000e+000"),
    (0.1, "0.1", "+1.000000e-001"),
    (1 / 3, "0.33333334", "+3.333333e-001"),
    (16777216.0, "1.6777216e+07", "+1.677722e+007"),
    (3.4028235e38, "3.4028235e+38", "+3.402823e+038"),
    (1e-45, "1e-45", "+1.401298e-045"),
    (2.5, "2.5", "+2.500000e+000"),
    (1e6, "1e+06", "+1.000000e+006"),
    (123456.7, "123456.7", "+1.234567e+005"),
    (0.3, "0.3", "+3.000000e-001"),
]
_COMPLEX128 = [
    ((1.0, -2.0), "(1-2i)", "(+1.000000e+000-2.000000e+000i)"),
    ((0.0, 0.0), "(0+0i)", "(+0.000000e+000+0.000000e+000i)"),
    ((1.5, 1e10), "(1.5+1e+10i)", "(+1.500000e+000+1.000000e+010i)"),
    ((math.inf, math.nan), "(+Inf+NaNi)", "(+InfNaNi)"),
]
_COMPLEX64 = [
    ((0.1, -0.3), "(0.1-0.3i)", "(+1.000000e-001-3.000000e-001i)"),
    ((1.0, 2.0), "(1+2i)", "(+1.000000e+000+2.000000e+000i)"),
]


def _value(type_name: str, kind: int, raw: bytes) -> PanicFact:
    return PanicFact(type_name, kind, value_hex=raw.hex())


@pytest.mark.parametrize(("version", "column"), [("go1.26.8", 1), ("go1.25.0", 2)])
def test_numbers_print_like_the_runtime(version: str, column: int) -> None:
    def shown(type_name: str, kind: int, raw: bytes) -> str:
        return printpanicval(_value(type_name, kind, raw), version)

    for row in _FLOAT64:
        assert shown("float64", 14, struct.pack("<d", row[0])) == row[column], row
    for row in _FLOAT32:
        assert shown("float32", 13, struct.pack("<f", row[0])) == row[column], row
    for pair, *texts in _COMPLEX128:
        assert shown("complex128", 16, struct.pack("<dd", *pair)) == texts[column - 1], pair
    for pair, *texts in _COMPLEX64:
        assert shown("complex64", 15, struct.pack("<ff", *pair)) == texts[column - 1], pair


def test_printpanicval_forms() -> None:
    version = "go1.26.8"
    assert printpanicval(PanicFact("", 0), version) == "nil"
    assert printpanicval(PanicFact("string", 24, text="a\nb"), version) == "a\n\tb"
    assert printpanicval(PanicFact("main.S", 24, text="x\ny"), version) == 'main.S("x\n\ty")'
    assert printpanicval(_value("int", 2, (-5).to_bytes(8, "little", signed=True)), version) == "-5"
    assert printpanicval(_value("main.B", 8, b"\xff"), version) == "main.B(255)"
    assert printpanicval(_value("uintptr", 12, (4096).to_bytes(8, "little")), version) == "0x1000"
    assert printpanicval(_value("bool", 1, b"\x00"), version) == "false"
    assert printpanicval(_value("main.C", 16, struct.pack("<dd", 1, 2)), version) == "main.C(1+2i)"
    assert printpanicval(PanicFact("map[string]int", 21, data_pointer=0xC000010000), version) == (
        "(map[string]int) 0xc000010000"
    )
    assert printpanicval(PanicFact("x", 2, unreadable="gone"), version).startswith("<unreadable")


def _panic_facts(version: str, *panics: PanicFact) -> CrashFacts:
    frames = (
        FrameFact("runtime.fatalpanic", "panic.go", 1, 0, -100),
        FrameFact("runtime.gopanic", "p.go", 2, 0, -50),
        FrameFact("main.main", "main.go", 3, 0, -20),
    )
    return CrashFacts(version, 1, 1, 2, 0, frames, panics)


def test_printpanics_chain_rules() -> None:
    first = PanicFact("string", 24, text="first", recovered=True)
    second = PanicFact("string", 24, text="second")
    analysis = analyze_crash(_panic_facts("go1.26.8", second, first))  # newest first, as linked
    assert analysis.report == "panic: first [recovered]\n\tpanic: second"
    assert [r.value_text for r in analysis.panic_chain] == ["first", "second"]

    # Goexit records print nothing and no tab.
    goexit = PanicFact("", 0, goexit=True)
    assert analyze_crash(_panic_facts("go1.26.8", second, goexit)).report == "panic: second"

    # The same value re-panicked: printed once, on the older record.
    again = PanicFact("string", 24, text="v", repanicked=True)
    newest = PanicFact("*errors.errorString", 22, data_pointer=0x10)
    assert analyze_crash(_panic_facts("go1.26.8", newest, again)).report == "panic: v"
    assert analyze_crash(_panic_facts("go1.25.0", newest, again)).report == "panic: v [recovered, repanicked]"
    recovered_again = attrs.evolve(again, recovered=True)
    assert analyze_crash(_panic_facts("go1.26.8", newest, recovered_again)).report == (
        "panic: v [recovered, repanicked]"
    )


def test_panic_with_signal_line() -> None:
    facts = attrs.evolve(
        _panic_facts("go1.26.8", PanicFact("string", 24, text="runtime error: boom")),
        goroutine_signal=GoroutineSignalFact(11, 1, 0x10, 0x47A740),
        signal_names={11: "SIGSEGV: segmentation violation"},
    )
    analysis = analyze_crash(facts)
    assert analysis.message == (
        "runtime error: boom\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x10 pc=0x47a740]"
    )
    assert analysis.signal is not None and analysis.signal.description == "segmentation violation"
    # A number the runtime has no name for is shown in hex.
    unnamed = analyze_crash(attrs.evolve(facts, signal_names={}))
    assert unnamed.report.endswith("[signal 0xb code=0x1 addr=0x10 pc=0x47a740]")


def _fatal_facts(backlog: str | None, throw_text: str | None = None, *, on_g0: bool = False) -> CrashFacts:
    offset = 140_000_000 if on_g0 else -300
    frames = (
        FrameFact("runtime.fatalthrow", "panic.go", 1, 0, offset),
        FrameFact("runtime.throw", "panic.go", 2, 0, offset + 8),
        FrameFact("main.main", "main.go", 3, 0, -20),
    )
    return CrashFacts("go1.26.8", 7, 1, 2, 0, frames, print_backlog=backlog, throw_text=throw_text)


def test_fatal_text_from_the_backlog() -> None:
    backlog = "hello from println\nruntime: bad thing at 0x1\nfatal error: it broke\n"
    analysis = analyze_crash(_fatal_facts(backlog))
    assert analysis.report == "runtime: bad thing at 0x1\nfatal error: it broke"
    assert analysis.headline == "fatal error: it broke"
    assert analysis.message == "runtime: bad thing at 0x1\nit broke"
    assert analysis.earlier_output == "hello from println"
    # A multi-line throw text keeps the runtime's indentation.
    assert analyze_crash(_fatal_facts("fatal error: a\n\tb\n")).report == "fatal error: a\n\tb"
    # Only a "fatal error: " at a line start counts.
    assert analyze_crash(_fatal_facts("x fatal error: no\nfatal error: yes\n")).headline == "fatal error: yes"


def test_fatal_text_falls_back_on_the_throw_argument() -> None:
    analysis = analyze_crash(_fatal_facts("tail of a long message\n", throw_text="concurrent map writes"))
    assert analysis.headline == "fatal error: concurrent map writes"
    assert analysis.notes
    lost = analyze_crash(_fatal_facts(None))
    assert lost.kind == "fatal error" and lost.notes


def test_fatal_on_the_system_stack() -> None:
    analysis = analyze_crash(_fatal_facts("fatal error: x\n", on_g0=True))
    assert analysis.on_system_stack
    assert analysis.traceback_text().startswith("runtime stack:\nruntime.throw(...)\n\tpanic.go:2\n\ngoroutine 1")


def test_signal_report() -> None:
    frames = (
        FrameFact("runtime.sighandler", "s.go", 1, 0, 9000),
        FrameFact("runtime.sigtrampgo", "s.go", 2, 0, 9100),
        FrameFact("crash_in_c", "c.c", 3, 0x402300, 9200),
    )
    handled = HandledSignalFact(4, 2, 0x402300, 0x402300, 0, True, "0f0b")
    facts = CrashFacts(
        "go1.26.8",
        3,
        1,
        3,
        0,
        frames,
        handled_signal=handled,
        signal_names={4: "SIGILL: illegal instruction"},
    )
    analysis = analyze_crash(facts)
    assert analysis.report == (
        "SIGILL: illegal instruction\nPC=0x402300 m=0 sigcode=2\nsignal arrived during cgo execution\n"
        "instruction bytes: 0xf 0xb"
    )
    assert analysis.message.startswith("illegal instruction\nPC=0x402300")
    assert analysis.on_system_stack and analysis.goroutine_state == "syscall"
    segv = attrs.evolve(
        facts,
        handled_signal=HandledSignalFact(11, 1, 0, 0x10, 2),
        signal_names={11: "SIGSEGV: segmentation violation"},
    )
    assert analyze_crash(segv).report == "SIGSEGV: segmentation violation\nPC=0x10 m=2 sigcode=1 addr=0x0"
    assert analyze_crash(attrs.evolve(facts, signal_names={})).headline == "Signal 4"


def test_unknown_when_nothing_crashed() -> None:
    facts = CrashFacts("go1.26.8", 5, None, frames=(FrameFact("runtime.futex", "f.s", 1, 0, 100),))
    analysis = analyze_crash(facts)
    assert analysis.kind == "unknown" and analysis.exception_id == "unknown"
    assert analysis.crashing_goroutine_id is None and analysis.on_system_stack


def test_locate_crash() -> None:
    machinery = [
        "runtime.raise",
        "runtime.dieFromSignal",
        "runtime.sigfwdgo",
        "runtime.sigtrampgo",
        "runtime.raise",
        "runtime.crash",
    ]
    site = locate_crash([*machinery, "runtime.fatalpanic", "runtime.gopanic", "main.main"])
    assert (site.kind, site.marker_index, site.origin_index) == ("panic", 6, 7)
    site = locate_crash([*machinery, "runtime.sighandler", "runtime.sigtrampgo", "runtime.futex"])
    assert (site.kind, site.origin_index, site.sigtramp_index) == ("signal", 8, 7)
    site = locate_crash(
        [
            *machinery,
            "runtime.fatalthrow.func1",
            "runtime.systemstack",
            "runtime.fatalthrow",
            "runtime.fatal",
            "main.f",
        ]
    )
    assert (site.kind, site.origin_index) == ("fatal error", 9)
    assert locate_crash(["main.main"]).kind == "unknown"


def test_traceback_text() -> None:
    frames = [("runtime.gopanic", "/go/panic.go", 879), ("main.f", "/src/main.go", 7), ("", "?", 0)]
    assert traceback_text(
        frames,
        goroutine_id=9,
        state="running",
        created_by=("main.main", "/src/main.go", 3),
        created_in_goroutine=1,
    ) == (
        "goroutine 9 [running]:\npanic(...)\n\t/go/panic.go:879\nmain.f(...)\n\t/src/main.go:7\n"
        "created by main.main in goroutine 1\n\t/src/main.go:3"
    )
    system = [CrashFrame("runtime.checkdead", "/go/proc.go", 1, True)]
    assert traceback_text(system, goroutine_id=None) == "runtime stack:\nruntime.checkdead(...)\n\t/go/proc.go:1"


def test_parse_go_version() -> None:
    assert parse_go_version("go1.26.8") == (1, 26, 8)
    assert parse_go_version("go1.25") == (1, 25, 0)
    assert parse_go_version("devel go1.27-abcdef Mon") == (1, 27, 0)
    assert parse_go_version("") is None


# --- wait reasons -----------------------------------------------------------------------------------------

_REASONS_126 = ("", "GC assist marking", "IO wait", "dumping heap")
_STATUSES_126 = (
    "idle",
    "runnable",
    "running",
    "syscall",
    "waiting",
    "",
    "dead",
    "",
    "copystack",
    "preempted",
    "leaked",
    "waiting for cgo callback",
)


def test_goroutine_state() -> None:
    table = WaitReasonTable.from_strings(_REASONS_126, _STATUSES_126, "go1.26.8")
    assert goroutine_state(4, 2, table) == "IO wait"
    assert goroutine_state(0x1004, 2, table) == "IO wait"  # scan bit
    assert goroutine_state(4, 0, table) == "waiting"
    assert goroutine_state(4, 77, table) == "wait reason 77"
    assert goroutine_state(2, 2, table) == "running"  # a stale reason on a running goroutine
    assert goroutine_state(3, 0, table) == "syscall"
    assert goroutine_state(10, 2, table) == "IO wait (leaked)"
    assert goroutine_state(11, 0, table) == "waiting for cgo callback"
    assert goroutine_state(4, 2, None) == "wait reason 2"
    assert goroutine_state(9, 0, None) == "preempted"
    assert status_name(5, table) == "status 5"  # an unused number
    assert status_name(0x1001) == "runnable"


def test_recorded_wait_reason_numbering_differs() -> None:
    """The reason behind a number depends on the target's version: never a table of our own."""
    reasons_125 = ("", "GC assist marking", "IO wait", "chan receive (nil chan)")
    table_125 = WaitReasonTable.from_strings(reasons_125)
    table_126 = WaitReasonTable.from_strings(_REASONS_126)
    assert goroutine_state(4, 3, table_125) != goroutine_state(4, 3, table_126)
