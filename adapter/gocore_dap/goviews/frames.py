"""Frame facts that come from a function's name alone: its package, whether the runtime owns it, and
the name the runtime's own traceback prints for it.

`is_runtime_internal` is the one definition of the runtime's own frames (docs/architecture.md, "Frame
classification"): package `runtime`, `internal/...`, `runtime/internal/...`, and the bare name `panic`
the runtime prints for `runtime.gopanic`. Whose code a frame is beyond that (the main module, a
dependency, the standard library, cgo's generated wrappers, C) is `code_scope.CodeScope`'s job, which
builds on these.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CRASH_MACHINERY",
    "first_user_frame_index",
    "is_crash_machinery",
    "is_runtime_internal",
    "package_path",
    "traceback_name",
]

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


def is_crash_machinery(function: str) -> bool:
    """A frame that exists only because the process was dying (CRASH_MACHINERY, runtime.panic*)."""
    return function in CRASH_MACHINERY or function.startswith("runtime.panic") or function.startswith("runtime.goPanic")


def package_path(function: str) -> str | None:
    """The import path of the package that defines `function`, or None if the name has no package.

    The path ends at the first "." after the last "/" ("example.com/a/b.(*T).M" -> "example.com/a/b").
    Type arguments are cut first because they can contain both "/" and "." ("pkg.F[example.com/x.T]").
    """
    name = function.split("[", 1)[0]
    slash = name.rfind("/")
    dot = name.find(".", slash + 1)
    if dot <= 0:
        return None
    return name[:dot]


def is_runtime_internal(function: str) -> bool:
    """True for the Go runtime's own frames (see the module docstring)."""
    if function == "panic":
        return True
    package = package_path(function)
    if package is None:
        return False
    return package == "runtime" or package.startswith(("internal/", "runtime/internal/"))


def traceback_name(function: str) -> str:
    """The name the runtime's traceback prints for a function (runtime/traceback.go, printFuncName and
    funcNamePiecesForPrint): `runtime.gopanic` is `panic`, and everything from the first "[" to the last
    "]" is `[...]`, so `main.(*Cache[go.shape.string,go.shape.struct { X int }]).Put` prints as
    `main.(*Cache[...]).Put`. The full name stays the function's identity (keys, tooltips)."""
    if function == "runtime.gopanic":
        return "panic"
    open_at = function.find("[")
    if open_at < 0:
        return function
    close_at = function.rfind("]")
    if close_at <= open_at:
        return function
    return function[:open_at] + "[...]" + function[close_at + 1 :]


def first_user_frame_index(functions: Sequence[str]) -> int | None:
    """Index of the first frame, innermost first, that is not runtime-internal (Delve's notion of a user
    frame, where `time.Sleep` counts); None if there is none. "Your code" as the build defines it is
    `code_scope.CodeScope.first_yours`."""
    for index, function in enumerate(functions):
        if not is_runtime_internal(function):
            return index
    return None
