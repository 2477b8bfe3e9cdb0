"""parse_traceback on the real stderr of corpus programs (tests/unit/data/tracebacks, copied from
`python -m gocore_dap.corpus build` runs on Go 1.25.0 and 1.26.8), plus small texts for shapes the corpus
does not produce; and the frame classification of goviews.frames."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from gocore_dap.goviews.frames import first_user_frame_index, is_runtime_internal, package_path
from gocore_dap.goviews.traceback_text import (
    ParsedTraceback,
    TracebackGoroutine,
    parse_goroutine_header,
    parse_traceback,
)

DATA = Path(__file__).parent / "data" / "tracebacks"
SAMPLES = sorted(path.name for path in DATA.glob("*.txt"))


def load(name: str) -> tuple[str, ParsedTraceback]:
    text = (DATA / name).read_text(encoding="utf-8")
    return text, parse_traceback(text)


def goroutine(parsed: ParsedTraceback, goid: int) -> TracebackGoroutine:
    return parsed.goroutines_by_id()[goid]


def states(parsed: ParsedTraceback) -> Counter[str]:
    return Counter(g.state for g in parsed.goroutines_by_id().values())


# --- every real sample -----------------------------------------------------------------------------------


def test_samples_cover_both_go_versions() -> None:
    assert any(name.endswith("_go1.25.0.txt") for name in SAMPLES)
    assert any(name.endswith("_go1.26.8.txt") for name in SAMPLES)


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_is_parsed_completely(name: str) -> None:
    text, parsed = load(name)
    lines = text.splitlines()
    assert parsed.unparsed_lines == []
    assert parsed.preamble_lines == []
    assert parsed.message_lines[0] == lines[0]
    assert parsed.kind in ("panic", "fatal error", "signal")
    # Counted independently of the parser: one block per header line, one frame or "created by" per
    # tab-indented file:line line.
    headers = [line for line in lines if re.match(r"^goroutine \d+ .*\]:$", line)]
    assert len(parsed.goroutines) == len(headers)
    assert [g.header_line for g in parsed.goroutines] == [i + 1 for i, line in enumerate(lines) if line in headers]
    file_lines = [line for line in lines if re.match(r"^\t\S.*:\d+( |$)", line)]
    frames = sum(len(g.frames) + (g.created_by is not None) for g in parsed.goroutines)
    frames += sum(len(stack) for stack in parsed.runtime_stacks)
    assert frames == len(file_lines)
    for g in parsed.goroutines:
        assert g.gp is not None  # crash mode prints gp= on every header
        assert g.frames, g
        for frame in g.frames:
            assert frame.file and frame.line > 0
            if not frame.inlined:
                assert frame.pc is not None and frame.sp is not None and frame.fp is not None
        if g.id == 0:
            assert g.state == "idle" and g.m is not None and g.mp is not None


# --- per program -----------------------------------------------------------------------------------------


def test_nil_deref_panic_with_signal_line() -> None:
    text, parsed = load("nil_deref_go1.26.8.txt")
    assert parsed.kind == "panic"
    assert parsed.message == "panic: runtime error: invalid memory address or nil pointer dereference"
    assert [p.value for p in parsed.panics] == ["runtime error: invalid memory address or nil pointer dereference"]
    signal = parsed.signal
    assert signal is not None
    assert (signal.name, signal.description, signal.code, signal.addr) == ("SIGSEGV", "segmentation violation", 1, 0)
    pc = re.search(r"addr=0x0 pc=(0x[0-9a-f]+)\]", text)
    assert pc is not None and signal.pc == int(pc.group(1), 16)
    crashing = parsed.crashing_goroutine()
    assert crashing is not None
    assert (crashing.id, crashing.state, crashing.m) == (1, "running", 0)
    functions = [f.function for f in crashing.frames]
    assert functions[:3] == ["panic", "runtime.panicmem", "runtime.sigpanic"]
    user = first_user_frame_index(functions)
    assert user is not None
    frame = crashing.frames[user]
    assert frame.function == "main.applyFee"
    assert frame.file.endswith("protocol-fixtures/programs/nil_deref/main.go")
    # The faulting pc of the signal is the pc of the user frame.
    assert frame.pc == signal.pc
    assert frame.args.startswith("0x0, {{")  # the nil *Account, then the FeeSchedule struct
    assert crashing.frames[user + 1].function == "main.settle"
    assert crashing.frames[user + 2].function == "main.main"
    assert crashing.created_by is None  # goroutine 1 has no creator line


def test_external_abrt_threads_registers_and_parked_states() -> None:
    _, parsed = load("external_abrt_go1.26.8.txt")
    assert parsed.kind == "signal"
    assert parsed.message_lines[:2][0] == "SIGABRT: abort"
    signal = parsed.signal
    assert signal is not None
    assert (signal.name, signal.description, signal.m, signal.during_cgo) == ("SIGABRT", "abort", 0, False)
    assert parsed.crashing_goroutine() is None  # every goroutine was parked when the signal came
    threads = parsed.threads
    assert threads[0].signal == "SIGABRT: abort"
    assert len(threads) > 1 and all(t.signal == "SIGQUIT: quit" for t in threads[1:])
    for thread in threads:
        assert thread.registers["rip"] == thread.pc
        assert {"rax", "rsp", "rflags", "gs"} <= set(thread.registers)
    g0s = [g for g in parsed.goroutines if g.id == 0]
    assert [g.m for g in g0s] == [t.m for t in threads]
    assert 0 not in parsed.goroutines_by_id()
    counts = states(parsed)
    assert counts["IO wait"] == 2
    for state in ("sync.Mutex.Lock", "sync.RWMutex.Lock", "sync.RWMutex.RLock", "sleep", "select", "select (no cases)"):
        assert counts[state] == 1, state
    locked = [g for g in parsed.goroutines if g.locked_to_thread]
    assert [(g.state, g.frames[-2].function) for g in locked] == [("chan receive", "main.main.gowrap7")]
    accept = [g for g in parsed.goroutines if any(f.function == "main.(*server).acceptLoop" for f in g.frames)]
    assert len(accept) == 1 and accept[0].state == "IO wait"
    assert accept[0].creator_goroutine == 1
    assert accept[0].created_by is not None and accept[0].created_by.function == "main.main"


def test_pprof_labels_in_headers() -> None:
    _, parsed = load("pprof_labels_go1.26.8.txt")
    crashing = parsed.crashing_goroutine()
    assert crashing is not None
    assert dict(crashing.labels) == {"job": "reindex-9", "tenant": "globex"}
    assert crashing.state == "running"
    assert parsed.panics[0].value == "reindex globex: segment 3 is corrupt"
    labelled = [g for g in parsed.goroutines_by_id().values() if g.labels]
    assert {g.labels["tenant"] for g in labelled} == {"acme", "globex", "initech"}
    assert {g.state for g in labelled if g is not crashing} == {"chan receive"}
    # Parked workers and the flushers they started carry the same labels.
    jobs = Counter(g.labels["job"] for g in labelled if g is not crashing)
    assert jobs == {"invoice-7": 2, "export-3": 2, "report-12": 2, "backup-1": 2, "reindex-9": 1}
    main = goroutine(parsed, 1)
    assert main.labels == {}


def test_deadlock_runtime_stack_and_no_crashing_goroutine() -> None:
    _, parsed = load("deadlock_go1.26.8.txt")
    assert parsed.kind == "fatal error"
    assert parsed.fatal_error == "all goroutines are asleep - deadlock!"
    assert parsed.panics == [] and parsed.signal is None
    assert len(parsed.runtime_stacks) == 1
    assert [f.function for f in parsed.runtime_stacks[0]][:2] == ["runtime.fatal", "runtime.checkdead"]
    assert parsed.crashing_goroutine() is None
    assert goroutine(parsed, 1).state == "chan receive"
    counts = states(parsed)
    for state in ("chan send", "sync.Mutex.Lock", "sync.WaitGroup.Wait", "select"):
        assert counts[state] == 1, state
    mutex = next(g for g in parsed.goroutines if g.state == "sync.Mutex.Lock")
    functions = [f.function for f in mutex.frames]
    assert "internal/sync.(*Mutex).lockSlow" in functions
    user = first_user_frame_index(functions)
    assert user is not None and functions[user] == "sync.(*Mutex).Lock"


def test_cgo_signal_during_cgo_execution() -> None:
    _, parsed = load("cgo_crash_go1.25.0.txt")
    assert parsed.kind == "signal"
    assert parsed.message_lines[0] == "SIGSEGV: segmentation violation"
    assert parsed.message_lines[2] == "signal arrived during cgo execution"
    signal = parsed.signal
    assert signal is not None
    assert (signal.name, signal.addr, signal.code, signal.m, signal.during_cgo) == ("SIGSEGV", 0, 1, 0, True)
    assert parsed.threads[0].during_cgo and parsed.threads[0].registers["rip"] == signal.pc
    crashing = parsed.crashing_goroutine()
    assert crashing is not None and (crashing.id, crashing.state, crashing.m) == (1, "syscall", 0)
    cfunc = next(f for f in crashing.frames if f.function == "main._Cfunc_checksum")
    assert cfunc.file == "_cgo_gotypes.go"  # a relative path, as cgo generated it
    assert cfunc.args == "0x0, 0x3"


def test_concurrent_map_writes_fatal_error_on_user_goroutine() -> None:
    _, parsed = load("concurrent_map_writes_go1.25.0.txt")
    assert parsed.kind == "fatal error"
    assert parsed.fatal_error == "concurrent map writes"
    assert parsed.runtime_stacks == []
    crashing = parsed.crashing_goroutine()
    assert crashing is not None and crashing.state == "running" and crashing.m is not None
    functions = [f.function for f in crashing.frames]
    assert functions[:2] == ["runtime.fatal", "internal/runtime/maps.fatal"]
    user = first_user_frame_index(functions)
    assert user is not None
    record = crashing.frames[user]
    assert record.function == "main.(*hitCounter).record" and record.inlined
    assert crashing.creator_goroutine == 1
    # The other writers were stopped where they stood.
    assert states(parsed)["runnable"] + states(parsed)["running"] >= 2


def test_inlined_frames() -> None:
    _, parsed = load("optimized_inlined_go1.25.0.txt")
    crashing = parsed.crashing_goroutine()
    assert crashing is not None
    by_name = {f.function: f for f in crashing.frames}
    for name in ("main.sampleAt", "main.windowSum"):
        frame = by_name[name]
        assert frame.inlined and frame.args == "..." and frame.offset is None and frame.pc is None
    main = by_name["main.main"]
    assert not main.inlined and main.offset is not None and main.pc is not None
    # The inlined frames share the physical frame of main.main: same file, lines inside it.
    assert by_name["main.sampleAt"].line == 17 and by_name["main.windowSum"].line == 23


def test_recovered_and_repanicked() -> None:
    _, parsed = load("recovered_repanic_go1.25.0.txt")
    assert [(p.value, p.recovered, p.repanicked) for p in parsed.panics] == [
        ("runtime error: index out of range [3] with length 0", True, True),
        ("request 3 failed: runtime error: index out of range [3] with length 0", False, False),
    ]
    crashing = parsed.crashing_goroutine()
    assert crashing is not None
    assert [f.function for f in crashing.frames].count("panic") == 3


# --- shapes the corpus does not produce --------------------------------------------------------------


def test_header_variants() -> None:
    plain = parse_goroutine_header("goroutine 7 [running]:")
    assert plain is not None and (plain.id, plain.state, plain.gp, plain.m) == (7, "running", None, None)
    full = parse_goroutine_header(
        "goroutine 42 gp=0xc000102a80 m=nil [chan receive (nil chan) (scan), 12 minutes, locked to thread]:"
    )
    assert full is not None
    assert (full.state, full.scan, full.wait_minutes, full.locked_to_thread, full.m) == (
        "chan receive (nil chan)",
        True,
        12,
        True,
        None,
    )
    leaked = parse_goroutine_header("goroutine 9 gp=0x1 m=nil [chan send (leaked), synctest bubble 3]:")
    assert leaked is not None
    assert (leaked.state, leaked.leaked, leaked.synctest_bubble) == ("chan send", True, 3)
    durable = parse_goroutine_header("goroutine 9 [select (durable)]:")
    assert durable is not None and durable.state == "select (durable)"
    quoted = parse_goroutine_header(
        r'goroutine 5 gp=0x2 m=3 mp=0x4 [IO wait, 2 minutes labels:{"k, ]": "a\"b\\c\n\u00e9", "z": ""}]:'
    )
    assert quoted is not None
    assert (quoted.state, quoted.wait_minutes, quoted.m, quoted.mp) == ("IO wait", 2, 3, 4)
    assert dict(quoted.labels) == {"k, ]": 'a"b\\c\né', "z": ""}
    assert parse_goroutine_header("goroutine 5 [running]") is None
    assert parse_goroutine_header("created by main.main in goroutine 1") is None


NON_CRASH_TEXT = """\
starting worker pool
2024/05/01 12:00:00 panic: this is only a log line
panic: first line
\tsecond line [recovered]
\tpanic: boom
[signal 0x1f code=0x0 addr=0x0 pc=0x0]

goroutine 6 [running]:
main.deep(...)
\t/src/app/main.go:10
...5 frames elided...
main.top()
\t/src/app/main.go:30 +0x1d
created by main.main in goroutine 1
\t/src/app/main.go:40 +0x25
[originating from goroutine 1]:
main.main(...)
\t/src/app/main.go:40 +0x25

goroutine 7 [running]:
\tgoroutine running on other thread; stack unavailable
created by main.main in goroutine 1
\t/src/app/main.go:41 +0x30

goroutine 8 [select, 3 minutes]:
main.wait()
\t/src/app/main.go:50 +0x1
...additional frames elided...
created by main.main
\t/src/app/main.go:42 +0x35

goroutine 7 gp=0xc000007000 m=4 mp=0xc000100000 [running]:
main.spin()
\t/src/app/main.go:60 +0x2 fp=0x1 sp=0x2 pc=0x3
exit status 2
"""


def test_non_crash_shapes() -> None:
    parsed = parse_traceback(NON_CRASH_TEXT)
    assert parsed.preamble_lines == [
        "starting worker pool",
        "2024/05/01 12:00:00 panic: this is only a log line",
    ]
    assert parsed.kind == "panic"
    assert [(p.value, p.recovered) for p in parsed.panics] == [
        ("first line\nsecond line", True),
        ("boom", False),
    ]
    assert parsed.signal is not None and parsed.signal.name == "0x1f" and parsed.signal.description is None
    first = parsed.goroutines[0]
    assert [f.function for f in first.frames] == ["main.deep", "main.top"]
    assert [(e.index, e.count) for e in first.elisions] == [(1, 5)]
    assert first.created_by is not None and first.created_by.line == 40 and first.creator_goroutine == 1
    assert len(first.ancestors) == 1 and first.ancestors[0].id == 1
    assert first.ancestors[0].frames[0].function == "main.main"
    parked = parsed.goroutines[2]
    assert (parked.state, parked.wait_minutes, parked.creator_goroutine) == ("select", 3, None)
    assert [(e.index, e.count) for e in parked.elisions] == [(1, None)]
    # Goroutine 7 is printed twice: first without a stack, then with frames from its thread's section.
    assert [g.id for g in parsed.goroutines] == [6, 7, 8, 7]
    assert parsed.goroutines[1].stack_unavailable and parsed.goroutines[1].frames == []
    chosen = parsed.goroutines_by_id()[7]
    assert chosen.m == 4 and [f.function for f in chosen.frames] == ["main.spin"]
    assert parsed.unparsed_lines == [(len(NON_CRASH_TEXT.splitlines()), "exit status 2")]


def test_fatal_error_with_runtime_diagnostics_and_empty_input() -> None:
    text = (
        "runtime: goroutine stack exceeds 1000000000-byte limit\n"
        "runtime: sp=0xc0200e1390 stack=[0xc0200e0000, 0xc0400e0000]\n"
        "fatal error: stack overflow\n\nruntime stack:\nruntime.throw({0x4b1d2c?, 0x0?})\n"
        "\t/go/src/runtime/panic.go:1101 +0x48 fp=0x7ffd sp=0x7ffc pc=0x432f48\n\n"
        "goroutine 1 gp=0xc000002380 m=0 mp=0x5a1 [running]:\nmain.f(0x0?)\n\t/app/main.go:5 +0x9\n"
    )
    parsed = parse_traceback(text)
    assert parsed.kind == "fatal error" and parsed.fatal_error == "stack overflow"
    assert parsed.message_lines[0].startswith("runtime: goroutine stack exceeds")
    assert len(parsed.runtime_stacks) == 1 and parsed.unparsed_lines == []
    empty = parse_traceback("")
    assert (empty.kind, empty.goroutines, empty.message_lines) == (None, [], [])


# --- frame classification ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "internal"),
    [
        ("runtime.gopark", True),
        ("runtime.(*mheap).alloc", True),
        ("panic", True),
        ("internal/runtime/maps.fatal", True),
        ("internal/sync.(*Mutex).lockSlow", True),
        ("internal/poll.(*FD).Read", True),
        ("runtime/internal/atomic.Load", True),
        ("time.Sleep", False),
        ("sync.(*Mutex).Lock", False),
        ("sync.runtime_SemacquireWaitGroup", False),
        ("runtime/pprof.Do", False),
        ("runtime/debug.Stack", False),
        ("main.main", False),
        ("main.(*txn).rollback", False),
        ("github.com/acme/runtime.Start", False),
        ("example.com/internal/x.F", False),
        ("example.com/x.Map[go.shape.int,runtime.T]", False),
        ("runtime.convT[example.com/x.T]", True),
        ("crosscall2", False),
    ],
)
def test_is_runtime_internal(function: str, internal: bool) -> None:
    assert is_runtime_internal(function) is internal


def test_package_path() -> None:
    assert package_path("example.com/a/b.(*T).M") == "example.com/a/b"
    assert package_path("main.main.func1") == "main"
    assert package_path("pkg.F[example.com/x.T]") == "pkg"
    assert package_path("panic") is None


def test_first_user_frame_index() -> None:
    assert first_user_frame_index(["panic", "runtime.sigpanic", "main.f", "main.main"]) == 2
    assert first_user_frame_index(["runtime.gopark", "time.Sleep", "main.main"]) == 1
    assert first_user_frame_index(["runtime.gopark", "runtime.goexit"]) is None
    assert first_user_frame_index([]) is None
