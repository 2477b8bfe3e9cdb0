"""goviews.presentation: how each frame of a stack is presented so that editors open the landing frame,
the stop's short badge, and the runtime's printed names; on stacks Delve read from corpus cores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gocore_dap.goviews.code_scope import CodeKind, CodeScope
from gocore_dap.goviews.crash import analyze_crash, crash_facts_from_json
from gocore_dap.goviews.frames import traceback_name
from gocore_dap.goviews.goroutine_info import GoLocation
from gocore_dap.goviews.landing import landing_frame_index
from gocore_dap.goviews.presentation import (
    FrameHint,
    deemphasized_frames,
    frame_hints,
    goroutine_thread_name,
    stop_badge,
)

DATA = Path(__file__).parent / "data" / "crash_facts"
SCOPE = CodeScope()


def recorded(name: str) -> tuple[list[GoLocation], dict[str, object]]:
    document = json.loads((DATA / name).read_text(encoding="utf-8"))
    facts = document["facts"]
    return [GoLocation(f["function"], f["file"], f["line"]) for f in facts["frames"]], facts


def first_opened(frames: list[GoLocation], hints: list[FrameHint]) -> int:
    """VS Code's rule (debugModel.ts getTopStackFrame): the first frame with a source that is not
    deemphasised."""
    return next(i for i, (f, h) in enumerate(zip(frames, hints, strict=True)) if f.file and h.source is None)


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("local-*.json")))
def test_an_editor_that_skips_deemphasised_frames_opens_the_landing(name: str) -> None:
    frames, facts = recorded(name)
    on_goroutine = bool(facts.get("goroutine_id"))
    hints = frame_hints(frames, SCOPE, on_goroutine=on_goroutine)
    landing = next(i for i, h in enumerate(hints) if h.landing)
    assert first_opened(frames, hints) == landing
    if on_goroutine:
        assert landing == landing_frame_index(frames, SCOPE)
    # The same marks through the function the session calls today.
    marks = deemphasized_frames(
        [f.function for f in frames], on_goroutine=on_goroutine, files=[f.file for f in frames], scope=SCOPE
    )
    assert marks == [h.source == "deemphasize" for h in hints]


def test_cgo_stack_hints() -> None:
    frames, _ = recorded("local-cgo_crash.json")
    hints = frame_hints(frames, SCOPE, on_goroutine=True)
    by_function = {f.function: h for f, h in zip(frames, hints, strict=True)}
    assert by_function["checksum"].landing and by_function["checksum"].frame == "normal"
    generated = by_function["main._Cfunc_checksum"]
    assert (generated.kind, generated.frame, generated.source) == (CodeKind.CGO_GENERATED, "subtle", "deemphasize")
    assert generated.origin is not None and "cgo" in generated.origin
    unknown = hints[[f.function for f in frames].index("")]
    assert (unknown.kind, unknown.frame) == (CodeKind.UNKNOWN, "subtle")
    # Below the landing, your code and the runtime: main.main normal, runtime.main/goexit deemphasised.
    assert by_function["main.main"].source is None and by_function["runtime.main"].source == "deemphasize"


def test_library_frames_above_the_landing_keep_a_normal_frame_hint() -> None:
    frames = [
        GoLocation("runtime.gopanic", "/usr/local/go/src/runtime/panic.go", 879),
        GoLocation("regexp.MustCompile", "/usr/local/go/src/regexp/regexp.go", 313),
        GoLocation("main.compileRoutes", "/src/main.go", 20),
    ]
    hints = frame_hints(frames, SCOPE, on_goroutine=True)
    assert [(h.frame, h.source, h.landing) for h in hints] == [
        ("subtle", "deemphasize", False),
        ("normal", "deemphasize", False),
        ("normal", None, True),
    ]


def test_without_a_scope_the_old_rule_holds() -> None:
    functions = ["runtime.gopark", "sync.(*Mutex).Lock", "main.locker", "runtime.goexit"]
    assert deemphasized_frames(functions, on_goroutine=True) == [True, False, False, False]


@pytest.mark.parametrize(
    ("program", "badge"),
    [("classic", "panic"), ("nil_deref", "panic"), ("concurrent_map_writes", "fatal error"),
     ("deadlock", "fatal error"), ("external_abrt", "SIGABRT"), ("cgo_crash", "SIGSEGV"),
     ("cgo_sigill", "SIGILL")],
)  # fmt: skip
def test_stop_badge_is_short(program: str, badge: str) -> None:
    document = json.loads((DATA / f"local-{program}.json").read_text(encoding="utf-8"))
    crash = analyze_crash(crash_facts_from_json(document["facts"]))
    assert stop_badge(crash) == badge
    assert len(stop_badge(crash)) <= 12 < len(crash.headline)
    assert stop_badge(None) == "crash"


@pytest.mark.parametrize(
    ("name", "printed"),
    [
        ("main.(*Cache[go.shape.string,go.shape.struct { X int; Y int }]).Put", "main.(*Cache[...]).Put"),
        ("main.Map[go.shape.int,go.shape.string].func1", "main.Map[...].func1"),
        ("example.com/x.F[example.com/y.T]", "example.com/x.F[...]"),
        ("runtime.gopanic", "panic"),
        ("main.main", "main.main"),
        ("odd[", "odd["),
        ("", ""),
    ],
)
def test_traceback_name_is_the_runtimes(name: str, printed: str) -> None:
    assert traceback_name(name) == printed


def test_thread_names_print_generic_functions_as_the_runtime_does() -> None:
    assert goroutine_thread_name(7, "running", "main.(*Cache[go.shape.string]).Put") == (
        "goroutine 7 [running] main.(*Cache[...]).Put"
    )
