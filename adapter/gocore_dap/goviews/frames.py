"""Frame classification: which frames belong to the Go runtime itself.

One definition (docs/architecture.md, "Frame classification") used by every layer: the runtime's own
frames are package `runtime`, `internal/...`, `runtime/internal/...`, and the bare name `panic` the
runtime prints for `runtime.gopanic`. Everything else, `time.Sleep` and `sync.(*Mutex).Lock` included,
is a user frame, as in Delve's `userCurrentLoc`.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["first_user_frame_index", "is_runtime_internal", "package_path"]


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


def first_user_frame_index(functions: Sequence[str]) -> int | None:
    """Index of the first frame, innermost first, that is not runtime-internal; None if there is none."""
    for index, function in enumerate(functions):
        if not is_runtime_internal(function):
            return index
    return None
