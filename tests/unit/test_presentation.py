"""goviews.presentation: thread names, DAP thread ids for OS threads, system goroutines, and which
frames the editor skips, on real stack shapes.

Stacks come from two real sources: the crashing thread's stack as Delve read it from corpus cores
(tests/unit/data/crash_facts/local-*.json, `facts.frames`, innermost first), and the runtime's own stderr
tracebacks (tests/unit/data/tracebacks/*.txt, parsed with parse_traceback).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gocore_dap.goviews.frames import first_user_frame_index, is_runtime_internal
from gocore_dap.goviews.presentation import (
    OS_THREAD_ID_BASE,
    deemphasized_frames,
    goroutine_thread_name,
    is_crash_machinery,
    is_system_goroutine,
    lwp_of_dap_id,
    os_thread_dap_id,
    os_thread_name,
    thread_headline_function,
)
from gocore_dap.goviews.traceback_text import ParsedTraceback, parse_traceback

DATA = Path(__file__).parent / "data"
INT32_MAX = 2**31 - 1
PID_MAX_LIMIT = 2**22  # Linux: /proc/sys/kernel/pid_max can be raised to at most this (64-bit)


@functools.cache
def _facts(program: str) -> dict[str, object]:
    document = json.loads((DATA / "crash_facts" / f"local-{program}.json").read_text(encoding="utf-8"))
    facts: dict[str, object] = document["facts"]
    return facts


def delve_stack(program: str) -> list[str]:
    """The function names of the crashing thread's stack, as Delve read them from the core."""
    frames = _facts(program)["frames"]
    assert isinstance(frames, list)
    return [str(frame["function"]) for frame in frames]


@functools.cache
def traceback(name: str) -> ParsedTraceback:
    return parse_traceback((DATA / "tracebacks" / name).read_text(encoding="utf-8"))


def traceback_stack(name: str, goroutine_id: int) -> list[str]:
    return [frame.function for frame in traceback(name).goroutines_by_id()[goroutine_id].frames]


def dimmed(functions: list[str], *, on_goroutine: bool) -> list[str]:
    return [
        f for f, dim in zip(functions, deemphasized_frames(functions, on_goroutine=on_goroutine), strict=True) if dim
    ]


def landing(functions: list[str], *, on_goroutine: bool) -> str:
    """The frame the editor selects: the first one that is not de-emphasized."""
    marks = deemphasized_frames(functions, on_goroutine=on_goroutine)
    return next(f for f, dim in zip(functions, marks, strict=True) if not dim)


# --- thread names ------------------------------------------------------------------------------------


def test_goroutine_thread_name_is_the_runtime_header_then_where_it_is() -> None:
    assert goroutine_thread_name(18, "chan receive", "main.worker") == "goroutine 18 [chan receive] main.worker"
    assert goroutine_thread_name(20, "sync.Mutex.Lock", "main.(*pipeline).flusher") == (
        "goroutine 20 [sync.Mutex.Lock] main.(*pipeline).flusher"
    )


def test_crashed_goroutine_is_marked() -> None:
    assert goroutine_thread_name(1, "running", "main.applyFee", crashed=True) == (
        "goroutine 1 [running] main.applyFee (crashed)"
    )


def test_goroutine_without_a_function_has_no_trailing_space() -> None:
    assert goroutine_thread_name(7, "idle", "") == "goroutine 7 [idle]"
    assert goroutine_thread_name(7, "idle", "", crashed=True) == "goroutine 7 [idle] (crashed)"


def test_os_thread_name() -> None:
    assert os_thread_name(31837, "runtime.checkdead", crashed=True) == (
        "thread 31837 [no goroutine] runtime.checkdead (crashed)"
    )
    assert os_thread_name(3256, "runtime.futex") == "thread 3256 [no goroutine] runtime.futex"
    assert os_thread_name(3256, "") == "thread 3256 [no goroutine]"


# --- DAP thread ids for OS threads without a goroutine -----------------------------------------------


def test_every_linux_lwp_round_trips_below_int32() -> None:
    # DAP thread ids are int32 (VS Code drops larger ones); every LWP Linux can hand out must fit.
    for lwp in range(1, PID_MAX_LIMIT + 1):
        dap_id = os_thread_dap_id(lwp)
        if not OS_THREAD_ID_BASE < dap_id <= INT32_MAX or lwp_of_dap_id(dap_id) != lwp:
            pytest.fail(f"LWP {lwp} -> DAP id {dap_id} -> {lwp_of_dap_id(dap_id)}")


def test_the_largest_lwp_still_fits() -> None:
    assert os_thread_dap_id(PID_MAX_LIMIT) < 2**31


@pytest.mark.parametrize("goroutine_id", [1, 2, 17, 10_000, 1_000_000, 2**30, OS_THREAD_ID_BASE - 1])
def test_goroutine_ids_below_the_base_are_not_threads(goroutine_id: int) -> None:
    assert lwp_of_dap_id(goroutine_id) is None


@given(st.integers(min_value=1, max_value=OS_THREAD_ID_BASE - 1))
def test_no_goroutine_id_below_the_base_is_taken_for_a_thread(goroutine_id: int) -> None:
    assert lwp_of_dap_id(goroutine_id) is None


@given(st.integers(min_value=1, max_value=PID_MAX_LIMIT))
def test_thread_ids_never_collide_with_goroutine_ids_below_the_base(lwp: int) -> None:
    assert os_thread_dap_id(lwp) >= OS_THREAD_ID_BASE


def test_real_crashing_threads_map_to_valid_ids() -> None:
    for program in ("deadlock", "external_abrt", "goexit_main"):
        lwp = _facts(program)["crashing_thread_id"]
        assert isinstance(lwp, int)
        assert lwp_of_dap_id(os_thread_dap_id(lwp)) == lwp
        assert os_thread_dap_id(lwp) <= INT32_MAX


# --- system goroutines (runtime.isSystemGoroutine) ---------------------------------------------------


@pytest.mark.parametrize(
    ("start", "system"),
    [
        # The exceptions Go makes: these start in package runtime but run user code.
        ("runtime.main", False),
        ("runtime.corostart", False),
        ("runtime.handleAsyncEvent", False),
        # Start functions of the runtime's own goroutines, from the corpus tracebacks.
        ("runtime.forcegchelper", True),
        ("runtime.gcenable.gowrap1", True),  # bgsweep
        ("runtime.gcenable.gowrap2", True),  # bgscavenge
        ("runtime.updateMaxProcsGoroutine", True),
        ("runtime.gcBgMarkWorker", True),
        ("runtime.(*traceAdvancerState).start.func1", True),
        # Go counts the finalizer and cleanup goroutines as system ones unless they are running user
        # code, which a start function cannot tell: system.
        ("runtime.runFinalizers", True),
        ("runtime.runCleanups", True),
        # User goroutines.
        ("main.main.gowrap1", False),
        ("main.(*pipeline).watchdog", False),
        ("net/http.(*Server).Serve.gowrap3", False),
        ("os/signal.Notify.func1.gowrap1", False),
        # Go's rule is the prefix "runtime.": runtime/trace's goroutine, and goroutines started in
        # internal/... packages (internal/singleflight's DoChan, behind net.Resolver lookups), are user ones.
        ("runtime/trace.Start.func1", False),
        ("internal/singleflight.(*Group).DoChan.gowrap1", False),
        ("internal/poll.(*FD).Init.func1", False),
        # No start function known (Delve could not read it): not hidden.
        ("", False),
    ],
)
def test_is_system_goroutine_follows_go(start: str, system: bool) -> None:
    assert is_system_goroutine(start) is system


def test_start_functions_of_the_deadlock_traceback() -> None:
    # The start function is the frame just above runtime.goexit.
    starts = {}
    for goroutine in traceback("deadlock_go1.26.8.txt").goroutines_by_id().values():
        names = [frame.function for frame in goroutine.frames]
        assert names[-1] == "runtime.goexit"
        starts[goroutine.id] = names[-2]
    system = {goid for goid, start in starts.items() if is_system_goroutine(start)}
    assert system == {2, 3, 4, 17, 18}  # forcegc, sweep, scavenge, GOMAXPROCS updater, finalizers
    assert starts[1] == "runtime.main" and 1 not in system


# --- crash machinery ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "function",
    [
        "runtime.raise",
        "runtime.sigtrampgo",
        "runtime.fatalthrow.func1",
        "runtime.gopanic",
        "panic",
        "runtime.panicmem",
        "runtime.panicBounds64",
        "runtime.goPanicIndex",
        "runtime.sigpanic",
    ],
)
def test_crash_machinery(function: str) -> None:
    assert is_crash_machinery(function)


@pytest.mark.parametrize(
    "function",
    [
        "runtime.checkdead",
        "runtime.futex",
        "runtime.gopark",
        "runtime.mapassign_faststr",
        "main.applyFee",
        "main.panicky",
        "sync.(*Mutex).Lock",
        "",
    ],
)
def test_not_crash_machinery(function: str) -> None:
    assert not is_crash_machinery(function)


# --- de-emphasized frames on goroutines --------------------------------------------------------------


def test_panicking_goroutine_lands_on_the_faulting_user_frame() -> None:
    stack = delve_stack("nil_deref")
    assert stack[10:12] == ["main.applyFee", "main.settle"]
    marks = deemphasized_frames(stack, on_goroutine=True)
    # The signal re-raise, the panic and the sigpanic are skipped ...
    assert marks[:10] == [True] * 10
    # ... and nothing below the user frame is, runtime.main and runtime.goexit included.
    assert marks[10:] == [False] * 5
    assert landing(stack, on_goroutine=True) == "main.applyFee"


def test_panicking_goroutine_from_stderr() -> None:
    # The runtime prints runtime.gopanic as "panic".
    stack = traceback_stack("nil_deref_go1.26.8.txt", 1)
    assert stack[:4] == ["panic", "runtime.panicmem", "runtime.sigpanic", "main.applyFee"]
    assert deemphasized_frames(stack, on_goroutine=True) == [True, True, True] + [False] * (len(stack) - 3)


def test_fatal_error_in_a_runtime_map_lands_on_the_caller() -> None:
    stack = delve_stack("concurrent_map_writes")
    # internal/runtime/maps.fatal and runtime.mapassign_faststr are the runtime's, not the user's.
    assert landing(stack, on_goroutine=True) == "main.(*hitCounter).record"
    assert "internal/runtime/maps.fatal" in dimmed(stack, on_goroutine=True)


def test_sync_mutex_frames_count_as_user_frames() -> None:
    # fatal error: sync: unlock of unlocked mutex, in a deferred function: internal/sync is the
    # runtime's, sync.(*Mutex).Unlock is where the user called in.
    stack = delve_stack("fatal_during_panic")
    assert landing(stack, on_goroutine=True) == "sync.(*Mutex).Unlock"
    assert "internal/sync.(*Mutex).Unlock" in dimmed(stack, on_goroutine=True)


def test_crash_in_c_code_lands_on_the_c_function() -> None:
    stack = delve_stack("cgo_crash")
    assert landing(stack, on_goroutine=True) == "checksum"


def test_parked_goroutine_lands_on_its_user_frame() -> None:
    stack = traceback_stack("deadlock_go1.26.8.txt", 19)  # [chan send]
    assert stack[:4] == ["runtime.gopark", "runtime.chansend", "runtime.chansend1", "main.(*pipeline).producer"]
    assert deemphasized_frames(stack, on_goroutine=True) == [True, True, True, False, False, False]


def test_goroutine_parked_in_a_mutex() -> None:
    stack = traceback_stack("deadlock_go1.26.8.txt", 20)  # [sync.Mutex.Lock]
    assert dimmed(stack, on_goroutine=True) == [
        "runtime.gopark",
        "runtime.goparkunlock",
        "runtime.semacquire1",
        "internal/sync.runtime_SemacquireMutex",
        "internal/sync.(*Mutex).lockSlow",
        "internal/sync.(*Mutex).Lock",
    ]
    assert landing(stack, on_goroutine=True) == "sync.(*Mutex).Lock"


@pytest.mark.parametrize("goroutine_id", [2, 3, 4, 17, 18])
def test_goroutine_without_user_frames_keeps_every_frame(goroutine_id: int) -> None:
    # Nothing to land on instead: hiding every frame would leave the editor nowhere to go.
    stack = traceback_stack("deadlock_go1.26.8.txt", goroutine_id)
    assert first_user_frame_index(stack) is None
    assert deemphasized_frames(stack, on_goroutine=True) == [False] * len(stack)


CRASHED_ON_A_GOROUTINE = [
    program
    for program in sorted(p.stem.removeprefix("local-") for p in (DATA / "crash_facts").glob("local-*.json"))
    if _facts(program)["goroutine_id"] is not None
]


@pytest.mark.parametrize("program", CRASHED_ON_A_GOROUTINE)
def test_every_real_crashing_goroutine_lands_on_its_first_user_frame(program: str) -> None:
    stack = delve_stack(program)
    marks = deemphasized_frames(stack, on_goroutine=True)
    first_user = first_user_frame_index(stack)
    assert first_user is not None
    assert not marks[first_user]
    assert all(is_runtime_internal(f) for f in dimmed(stack, on_goroutine=True))
    assert not any(marks[first_user:])


def test_empty_stack() -> None:
    assert deemphasized_frames([], on_goroutine=True) == []
    assert deemphasized_frames([], on_goroutine=False) == []


# --- OS threads without a goroutine ------------------------------------------------------------------


def test_deadlock_thread_lands_on_checkdead() -> None:
    # fatal error: all goroutines are asleep - deadlock!, raised from the scheduler on g0.
    stack = delve_stack("deadlock")
    assert _facts("deadlock")["goroutine_id"] is None
    marks = deemphasized_frames(stack, on_goroutine=False)
    checkdead = stack.index("runtime.checkdead")
    assert marks[:checkdead] == [True] * checkdead  # raise ... crash, fatalthrow, fatal
    assert marks[checkdead:] == [False] * (len(stack) - checkdead)
    # runtime.mcall at the bottom is on the crash-machinery list too, but below what the thread did.
    assert stack[-1] == "runtime.mcall" and not marks[-1]
    assert thread_headline_function(stack) == "runtime.checkdead"


def test_deadlock_runtime_stack_from_stderr() -> None:
    stack = [frame.function for frame in traceback("deadlock_go1.26.8.txt").runtime_stacks[0]]
    assert stack[:2] == ["runtime.fatal", "runtime.checkdead"]
    assert deemphasized_frames(stack, on_goroutine=False) == [True] + [False] * (len(stack) - 1)
    assert thread_headline_function(stack) == "runtime.checkdead"


def test_goexit_from_main_thread_lands_on_checkdead() -> None:
    # runtime.Goexit in main: a deadlock again, on a thread started by clone, with frames Delve cannot name.
    stack = delve_stack("goexit_main")
    assert stack[-1] == ""
    assert thread_headline_function(stack) == "runtime.checkdead"
    assert landing(stack, on_goroutine=False) == "runtime.checkdead"


def test_external_signal_thread_lands_on_what_it_was_doing() -> None:
    # kill -ABRT from outside: the signal handler frames are skipped, the thread was asleep in a futex.
    stack = delve_stack("external_abrt")
    assert "runtime.sighandler" in dimmed(stack, on_goroutine=False)
    assert thread_headline_function(stack) == "runtime.futex"
    assert landing(stack, on_goroutine=False) == "runtime.futex"


def test_thread_on_a_goroutine_stack_uses_the_goroutine_rule() -> None:
    # Read as an OS thread, a stack stops being skipped at the first frame past the crash machinery;
    # on a goroutine, everything runtime-internal above the first user frame is skipped.
    stack = delve_stack("concurrent_map_writes")
    assert landing(stack, on_goroutine=False) == "internal/runtime/maps.fatal"
    assert landing(stack, on_goroutine=True) == "main.(*hitCounter).record"


def test_thread_that_is_all_crash_machinery_keeps_every_frame() -> None:
    stack = delve_stack("deadlock")[:6]  # raise, dieFromSignal, sigfwdgo, sigtrampgo, raise, crash
    assert all(is_crash_machinery(f) for f in stack)
    assert deemphasized_frames(stack, on_goroutine=False) == [False] * 6
    assert thread_headline_function(stack) == "runtime.raise"  # something rather than nothing


def test_headline_of_an_empty_stack() -> None:
    assert thread_headline_function([]) == ""


def test_headline_of_a_thread_outside_the_crash() -> None:
    stack = ["runtime.futex", "runtime.futexsleep", "runtime.notesleep", "runtime.mPark", "runtime.stopm"]
    assert thread_headline_function(stack) == "runtime.futex"
    assert deemphasized_frames(stack, on_goroutine=False) == [False] * 5
