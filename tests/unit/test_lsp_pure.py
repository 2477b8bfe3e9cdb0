"""The language server's pure parts: the build check, line tracking, launch.json, launch attributes, marks
from stacks, value formatting, and the --debugpy address."""

from __future__ import annotations

from pathlib import Path

import pytest

from gocore_dap.backends.delve.api import Variable
from gocore_dap.cli import _with_default_command
from gocore_dap.debug_attach import parse_address
from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.goviews import kinds
from gocore_dap.goviews.code_scope import CodeScope, YourCode
from gocore_dap.goviews.crash import CrashAnalysis, CrashFrame, PanicRecord
from gocore_dap.goviews.goroutine_info import GoGoroutine, GoLocation
from gocore_dap.lsp.build_check import (
    LineExpectation,
    callee_tokens,
    check_text,
    code_line_flags,
    declaration_tokens,
)
from gocore_dap.lsp.core_request import parse_core_request
from gocore_dap.lsp.launch_json import LaunchJsonError, find_configurations, parse_jsonc, substitute_variables
from gocore_dap.lsp.line_tracking import LineMap
from gocore_dap.lsp.marks import StackBucket, build_marks, state_summary
from gocore_dap.lsp.render import column
from gocore_dap.lsp.values import short_value, variable_line

# --- build check --------------------------------------------------------------------------------------------


def test_code_line_flags_know_go_comments_and_strings() -> None:
    lines = [
        "package main",
        "",
        "// a comment",
        "/* block",
        "   still comment */",
        'x := "// not a comment"',
        "y := `raw",
        "",  # inside a raw string: code
        "end`",
        "z := 1 /* trailing */",
        "   /* only */  ",
    ]
    assert code_line_flags(lines) == [True, False, False, False, False, True, True, True, True, True, False]


@pytest.mark.parametrize(
    ("function", "tokens"),
    [
        ("sync.(*Mutex).Lock", ("Lock",)),
        ("main.(*Cache[go.shape.string]).Put", ("Put",)),
        ("runtime.gopanic", ("panic",)),
        ("runtime.chanrecv2", ("<-", "range")),
        ("runtime.selectgo", ("select",)),
        ("main._Cfunc_lookup", ("lookup",)),
        ("main.init.func1", None),
        ("runtime.gopark", None),
        ("main.main.gowrap1", None),
    ],
)
def test_callee_tokens(function: str, tokens: tuple[str, ...] | None) -> None:
    assert callee_tokens(function) == tokens


def test_declaration_tokens() -> None:
    assert declaration_tokens("main.(*txn).rollback") == ("func", "rollback")
    assert declaration_tokens("main.init.func3") == ("func",)
    assert declaration_tokens("main.main.gowrap2") == ("go",)
    assert declaration_tokens("main.transfer.deferwrap1") == ("defer",)


SOURCE = ["package main", "", "func worker(id int) {", "\t// waits", "\tmu.Lock()", '\tpanic("x")', "}", ""]


def test_check_text_accepts_the_build_and_names_what_proves_a_difference() -> None:
    code = [3, 5, 6, 7]
    expects = [
        LineExpectation(3, "the declaration of main.worker", all_of=("func", "worker")),
        LineExpectation(5, "sync.(*Mutex).Lock", any_of=("Lock",)),
        LineExpectation(6, "panic", any_of=("panic",)),
    ]
    assert check_text(SOURCE, code, expects).matches
    shifted = ["", *SOURCE]
    verdict = check_text(shifted, code, expects)
    assert not verdict.matches and "line 3 holds code in the build but is blank here" in verdict.reason
    renamed = [line.replace("mu.Lock()", "mu.Unlock()") for line in SOURCE]
    # "Lock" is still in "Unlock": a weak token; a real rename shows.
    renamed = [line.replace("mu.Lock()", "mu.TryAcquire()") for line in SOURCE]
    verdict = check_text(renamed, code, expects)
    assert not verdict.matches and "line 5 should call sync.(*Mutex).Lock" in verdict.reason
    short = SOURCE[:4]
    assert "it has 4 lines" in check_text(short, code, expects).reason


def test_a_call_split_over_lines_is_found_above() -> None:
    lines = ["x := compute(", "    a,", "    b)"]
    assert check_text(lines, [1, 3], [LineExpectation(3, "main.compute", any_of=("compute",))]).matches


# --- line tracking ------------------------------------------------------------------------------------------


def test_line_map_follows_inserts_and_drops_changed_lines() -> None:
    base = ["a", "b", "c", "d"]
    tracker = LineMap(base)
    assert tracker.to_current(2) == 2 and tracker.unchanged
    tracker.update(["new", "a", "b", "c", "d"])
    assert [tracker.to_current(i) for i in range(4)] == [1, 2, 3, 4]
    tracker.update(["a", "B!", "c", "d"])
    assert tracker.to_current(1) is None and tracker.to_current(2) == 2
    assert tracker.nearest_current(1) == 1
    tracker.update(["a", "c", "d"])
    assert tracker.to_current(1) is None and tracker.to_current(3) == 2
    tracker.update(base)
    assert tracker.unchanged and tracker.to_current(1) == 1


# --- launch.json and launch attributes ----------------------------------------------------------------------


def test_jsonc_comments_and_trailing_commas() -> None:
    text = '{\n // c\n "a": "http://x", /* b */ "l": [1, 2,],\n}'
    assert parse_jsonc(text) == {"a": "http://x", "l": [1, 2]}
    with pytest.raises(LaunchJsonError, match="not valid JSON"):
        parse_jsonc("{")


def test_variables_are_substituted_or_refused() -> None:
    value = {"p": "${workspaceFolder}/bin", "l": ["${workspaceFolderBasename}", "${env:GOCORE_X}"]}
    assert substitute_variables(value, "/w/proj", environ={"GOCORE_X": "1"}) == {"p": "/w/proj/bin", "l": ["proj", "1"]}
    with pytest.raises(LaunchJsonError, match=r"\$\{command:pick\}"):
        substitute_variables("${command:pick}", "/w")


def test_find_configurations(tmp_path: Path) -> None:
    folder = tmp_path
    (folder / ".vscode").mkdir()
    (folder / ".vscode" / "launch.json").write_text(
        '{"configurations": [{"type": "go", "name": "x"},'
        ' {"type": "go-core", "name": "c", "program": "${workspaceFolder}/p", "coreFilePath": "core"},'
        ' {"type": "go-core", "name": "d", "program": "${input:x}"}]}'
    )
    found, problems = find_configurations([str(folder)])
    assert [c.name for c in found] == ["c"] and found[0].attributes["program"] == f"{folder}/p"
    assert len(problems) == 1 and "'d'" in problems[0]


def test_core_request_reads_launch_attributes() -> None:
    request = parse_core_request(
        {
            "name": "Open",
            "type": "go-core",
            "program": "bin/server",
            "coreFilePath": "core",
            "substitutePath": [{"from": "/here", "to": "/build"}],
            "dlvTimeout": 5,
            "yourCode": "mainModule",
            "directReader": False,
            "stackTraceDepth": 10,
        },
        where="test",
        workspace_folders=["/w"],
    )
    assert request.options.program == "bin/server" and request.options.core == "core"
    assert request.options.substitute_path == (("/here", "/build"),)
    assert request.options.dlv_timeout == 5.0 and request.options.workspace_folders == ("/w",)
    # yourCode goes into the options, as the debugger's launch passes it: open_core builds the core's scope.
    assert request.options.your_code == "mainModule" and request.your_code is YourCode.MAIN_MODULE
    assert request.options.direct is False and request.name == "Open"
    defaults = parse_core_request({"program": "p", "core": "c"}, where="t")
    assert defaults.options.core == "c" and defaults.options.direct is True
    assert defaults.options.your_code == "modules"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"coreFilePath": "c"}, "'program' is missing"),
        ({"program": "p"}, "'core' is missing"),
        ({"program": 3, "coreFilePath": "c"}, "'program' must be a non-empty string"),
        ({"program": "p", "coreFilePath": "c", "dlvTimeout": -1}, "'dlvTimeout' must be a positive number"),
        ({"program": "p", "coreFilePath": "c", "substitutePath": [{"from": 1}]}, "'substitutePath[0]'"),
        ({"program": "p", "coreFilePath": "c", "mode": "exec"}, "'mode' must be \"core\""),
        ({"program": "p", "coreFilePath": "c", "yourCode": "mine"}, "yourCode must be one of"),
        ({"program": "p", "coreFilePath": "c", "directReader": "no"}, "'directReader' must be true or false"),
        ("not an object", "expected an object"),
    ],
)
def test_core_request_errors_name_the_attribute(raw: object, message: str) -> None:
    with pytest.raises(GocoreError) as failure:
        parse_core_request(raw, where="gocore.openCore")
    assert failure.value.error_id is ErrorId.BAD_ARGUMENTS
    assert failure.value.text.startswith("gocore.openCore: ") and message in failure.value.text


# --- marks --------------------------------------------------------------------------------------------------

MAIN = "/src/app/main.go"


def _g(goroutine_id: int, state: str, minutes: int | None = None, labels: dict[str, str] | None = None) -> GoGoroutine:
    return GoGoroutine(
        id=goroutine_id,
        state=state,
        user_location=GoLocation("main.f", MAIN, 1),
        current_location=GoLocation("main.f", MAIN, 1),
        start_function="main.f",
        labels=labels or {},
        crashed=False,
        system=False,
        wait_minutes=minutes,
        creation_location=GoLocation("main.main", MAIN, 40),
    )


def test_marks_land_on_your_frame_and_count_by_state() -> None:
    lock = (
        GoLocation("runtime.gopark", "/go/src/runtime/proc.go", 460),
        GoLocation("sync.(*Mutex).Lock", "/go/src/sync/mutex.go", 46),
        GoLocation("main.locker", MAIN, 14),
        GoLocation("main.main.gowrap1", MAIN, 40),
    )
    other_caller = (*lock[:3], GoLocation("main.other", MAIN, 50))
    runtime_only = (
        GoLocation("runtime.gopark", "/go/src/runtime/proc.go", 460),
        GoLocation("runtime.bgsweep", "/go/src/runtime/mgc.go", 1),
    )
    buckets = [
        StackBucket(lock, 300, {"sync.Mutex.Lock": 300}, (5, 6, 7), _g(5, "sync.Mutex.Lock", 7, {"tenant": "a"})),
        StackBucket(other_caller, 2, {"sync.Mutex.Lock": 1, "runnable": 1}, (9,), _g(9, "sync.Mutex.Lock", 3)),
        StackBucket(runtime_only, 4, {"GC sweep wait": 4}, (2,), _g(2, "GC sweep wait")),
    ]
    marks = build_marks(buckets, None, CodeScope())
    assert list(marks.lines) == [(MAIN, 14)]
    mark = marks.lines[(MAIN, 14)]
    assert mark.count == 302 and mark.states == {"sync.Mutex.Lock": 301, "runnable": 1}
    assert mark.minutes == {"sync.Mutex.Lock": 7} and mark.goroutine_ids == [5, 6, 7, 9]
    assert mark.waiting_in == {"sync.(*Mutex).Lock": 302}
    assert mark.callers == {"main.main.gowrap1 (main.go:40)": 300, "main.other (main.go:50)": 2}
    assert mark.labels == [({"tenant": "a"}, 5)] and mark.callees == {"sync.(*Mutex).Lock"} and mark.stacks == 2
    assert marks.functions["main.locker"].count == 302
    assert (
        state_summary(mark.states, mark.minutes)
        == "301 goroutines · sync.Mutex.Lock · 7 minutes; 1 goroutine · runnable"
    )


def test_nested_panics_pair_with_the_chain_from_the_newest() -> None:
    frames = (
        CrashFrame("runtime.gopanic", "/go/src/runtime/panic.go", 879),
        CrashFrame("main.rollback", MAIN, 19),
        CrashFrame("main.transfer.deferwrap1", MAIN, 27),
        CrashFrame("runtime.gopanic", "/go/src/runtime/panic.go", 860),
        CrashFrame("main.transfer", MAIN, 33),
        CrashFrame("main.main", MAIN, 39),
    )
    chain = (PanicRecord("recovered one", recovered=True, goexit=False), PanicRecord("first", False, False),
             PanicRecord("second", False, False))  # fmt: skip
    crash = CrashAnalysis(
        kind="panic", headline="panic: first", message="", report="panic: first\n\tpanic: second", exception_id="panic",
        crashing_thread_id=1, crashing_goroutine_id=1, on_system_stack=False, go_version="go1.26.0",
        panic_chain=chain, frames=frames, origin_frame_index=0,
    )  # fmt: skip
    marks = build_marks([], crash, CodeScope())
    assert marks.crash is not None and marks.crash.site == GoLocation("main.rollback", MAIN, 19)
    assert marks.crash.callee == "runtime.gopanic"
    sites = [(p.location.line, p.record.value_text, p.index) for p in marks.crash.panics]
    assert sites == [(33, "first", 1), (19, "second", 2)]


def test_a_deadlock_lands_on_the_main_goroutine() -> None:
    main_stack = (GoLocation("runtime.gopark", "/go/src/runtime/proc.go", 460), GoLocation("main.main", MAIN, 53))
    worker = (GoLocation("runtime.gopark", "/go/src/runtime/proc.go", 460), GoLocation("main.worker", MAIN, 22))
    crash = CrashAnalysis(
        kind="fatal error", headline="fatal error: all goroutines are asleep - deadlock!", message="",
        report="fatal error: all goroutines are asleep - deadlock!", exception_id="fatal error",
        crashing_thread_id=1, crashing_goroutine_id=None, on_system_stack=True, go_version="go1.26.0",
    )  # fmt: skip
    buckets = [
        StackBucket(worker, 1, {"chan send": 1}, (7,), _g(7, "chan send")),
        StackBucket(main_stack, 1, {"chan receive": 1}, (1,), _g(1, "chan receive")),
    ]
    marks = build_marks(buckets, crash, CodeScope())
    assert marks.crash is not None and not marks.crash.crashed
    assert marks.crash.goroutine_id == 1 and marks.crash.site == main_stack[1]


# --- values and columns -------------------------------------------------------------------------------------


def _v(
    name: str, kind: int, value: str = "", type_: str = "", children: tuple[Variable, ...] = (), **more: int
) -> Variable:
    return Variable(
        name=name, addr=more.get("addr", 0x10), only_addr=False, type=type_, real_type=type_, flags=0, kind=kind,
        value=value, len=more.get("len", 0), cap=0, children=children, base=more.get("base", 0), unreadable="",
        decl_line=0,
    )  # fmt: skip


def test_short_values() -> None:
    order = _v("o", kinds.STRUCT, type_="main.order", len=2,
               children=(_v("id", kinds.INT, "102"), _v("customer", kinds.STRING, "acme", len=4)))  # fmt: skip
    assert variable_line(order) == 'o = main.order {id: 102, customer: "acme"}'
    assert short_value(_v("p", kinds.PTR, children=(_v("", kinds.STRUCT, addr=0),))) == "nil"
    assert short_value(_v("s", kinds.SLICE, base=0, len=0, type_="[]int")) == "nil"
    long = _v("s", kinds.STRING, "abc", len=10)
    assert short_value(long) == '"abc"…'


def test_columns_follow_the_position_encoding() -> None:
    text = 'x := "héllo 🌍" // end'
    assert column(text, len(text), "utf-16") == len(text) + 1  # the emoji is two UTF-16 units
    assert column(text, len(text), "utf-8") == len(text.encode())
    assert column(text, len(text), "utf-32") == len(text)


# --- command line -------------------------------------------------------------------------------------------


def test_debugpy_addresses() -> None:
    assert parse_address("5678") == ("127.0.0.1", 5678)
    assert parse_address("0.0.0.0:1") == ("0.0.0.0", 1)
    assert parse_address("[::1]:9") == ("::1", 9)
    with pytest.raises(ValueError, match="between 1 and 65535"):
        parse_address("70000")
    with pytest.raises(ValueError, match=r"\[HOST:\]PORT"):
        parse_address("host:port")


def test_debugpy_goes_to_the_command() -> None:
    assert _with_default_command(["--debugpy", "5678"]) == ["serve", "--debugpy", "5678"]
    assert _with_default_command(["--debugpy", "5678", "lsp"]) == ["lsp", "--debugpy", "5678"]
    assert _with_default_command(["--debugpy=1", "report", "a", "b"]) == ["report", "--debugpy=1", "a", "b"]
    assert _with_default_command(["lsp"]) == ["lsp"]
