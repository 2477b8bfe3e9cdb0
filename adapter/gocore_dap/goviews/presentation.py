"""How goroutines, threads and frames are shown to a Go developer (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence

from gocore_dap.goviews.frames import first_user_frame_index, is_runtime_internal

# Frames that exist only because the process was dying: signal delivery, the runtime's throw/panic
# machinery and the re-raise that made the kernel write the core. Nobody wants to land on them.
CRASH_MACHINERY = frozenset(
    {
        "runtime.raise",
        "runtime.raiseproc",
        "runtime.tgkill",
        "runtime.dieFromSignal",
        "runtime.sigfwdgo",
        "runtime.sighandler",
        "runtime.sigtrampgo",
        "runtime.sigtramp",
        "runtime.cgoSigtramp",
        "runtime.sigreturn",
        "runtime.sigreturn__sigaction",
        "runtime.crash",
        "runtime.abort",
        "runtime.fatalthrow",
        "runtime.fatalpanic",
        "runtime.fatal",
        "runtime.throw",
        "runtime.throw.func1",
        "runtime.fatalthrow.func1",
        "runtime.fatalpanic.func1",
        "runtime.startpanic_m",
        "runtime.dopanic_m",
        "runtime.gopanic",
        "panic",
        "runtime.panicmem",
        "runtime.panicmemAddr",
        "runtime.sigpanic",
        "runtime.systemstack",
        "runtime.systemstack_switch",
        "runtime.mcall",
        "runtime.preprintpanics",
        "runtime.printpanics",
        "runtime.goexit0",
        "runtime.badsignal",
        "runtime.sigsend",
    }
)

# Go's own rule (runtime.isSystemGoroutine): a goroutine that starts in package runtime is the
# runtime's, except these, which run user code.
_USER_GOROUTINE_STARTS = frozenset({"runtime.main", "runtime.corostart", "runtime.handleAsyncEvent"})

# Where an OS thread that has no goroutine shows up in the thread list. DAP thread ids are int32,
# so the block sits just below 2**31: Linux LWPs are below 2**22 (pid_max), and goroutine ids that
# high are far beyond what real programs reach.
OS_THREAD_ID_BASE = (1 << 31) - (1 << 23)


def is_crash_machinery(function: str) -> bool:
    return (
        function in CRASH_MACHINERY
        or function.startswith("runtime.panic")
        or function.startswith("runtime.goPanic")
    )


def is_system_goroutine(start_function: str) -> bool:
    if start_function in _USER_GOROUTINE_STARTS:
        return False
    # Package runtime only, as in Go: a goroutine started in internal/... (internal/singleflight's
    # DoChan, behind every net.Resolver lookup) is the program's.
    return start_function.startswith("runtime.")


def os_thread_dap_id(lwp: int) -> int:
    return OS_THREAD_ID_BASE + lwp


def lwp_of_dap_id(dap_id: int) -> int | None:
    return dap_id - OS_THREAD_ID_BASE if dap_id >= OS_THREAD_ID_BASE else None


def goroutine_thread_name(goroutine_id: int, state: str, function: str, *, crashed: bool = False) -> str:
    """`goroutine 18 [chan receive] main.worker`: the runtime's own header, then where it is."""
    name = f"goroutine {goroutine_id} [{state}]"
    if function:
        name += f" {function}"
    if crashed:
        name += " (crashed)"
    return name


def os_thread_name(lwp: int, function: str, *, crashed: bool = False) -> str:
    name = f"thread {lwp} [no goroutine]"
    if function:
        name += f" {function}"
    if crashed:
        name += " (crashed)"
    return name


def thread_headline_function(functions: Sequence[str]) -> str:
    """The function that says what an OS thread without a goroutine was doing: the first frame
    below the crash machinery (e.g. `runtime.checkdead` for a deadlock)."""
    for name in functions:
        if not is_crash_machinery(name):
            return name
    return functions[0] if functions else ""


def deemphasized_frames(functions: Sequence[str], *, on_goroutine: bool) -> list[bool]:
    """Which frames the editor should skip when it picks the frame to show.

    On a goroutine: every runtime-internal frame above the first user frame. On an OS thread
    that ran no goroutine (deadlock, external signal): the crash machinery on top, so the
    editor lands on what the runtime was doing (`runtime.checkdead`, `runtime.mstart`...).
    """
    marks = [False] * len(functions)
    if on_goroutine:
        first_user = first_user_frame_index(functions)
        if first_user is None:
            return marks
        for i in range(first_user):
            marks[i] = is_runtime_internal(functions[i])
        return marks
    for i, name in enumerate(functions):
        if not is_crash_machinery(name):
            break
        marks[i] = True
    if all(marks):
        return [False] * len(functions)
    return marks
