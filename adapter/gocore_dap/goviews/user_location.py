"""Where a goroutine is in your code, and the labels that say so (pure).

A goroutine parked in `m.Lock()` inside `func locker(m *sync.Mutex)` sits in the runtime's park
machinery, under `internal/sync` and `sync.(*Mutex).Lock`; what its reader wants is `main.locker`'s
line, with the library call it waits in as context:

    main.locker (main.go:14) · in sync.(*Mutex).Lock

`user_location` takes the innermost frame of your code (`code_scope`) and reads the function, the file
and the line from that one frame (an inlined call is a frame of its own, so an inlined
`sync.(*Mutex).Lock` never lends its file:line to the function that called it), plus the frame right
above it when that is library code (the standard library or a dependency: what the goroutine waits
in). The runtime's frames are not named as context: the goroutine's state (`chan receive`, `sleep`)
already says what they do.

Names are printed as the runtime's traceback prints them (`frames.traceback_name`: type arguments as
`[...]`); the full names stay in the `UserLocation` for keys and tooltips.

Pure: stdlib and attrs only (plus the other goviews modules).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from gocore_dap.goviews.code_scope import CodeKind, CodeScope, SourceFrame, has_source
from gocore_dap.goviews.frames import is_crash_machinery, traceback_name
from gocore_dap.goviews.landing import your_frame_index

__all__ = ["CONTEXT_SEPARATOR", "UserLocation", "location_label", "short_location", "stack_label", "user_location"]

CONTEXT_SEPARATOR = " · in "


def short_location(function: str, file: str, line: int) -> str:
    """`main.worker (main.go:42)`, with the function as the runtime prints it."""
    base = file.rsplit("/", 1)[-1]
    name = traceback_name(function)
    if not name:
        return f"{base}:{line}" if base else "?"
    return f"{name} ({base}:{line})" if base else name


@attrs.frozen
class UserLocation:
    """The innermost frame of your code on a stack: `index` into the frames, and that frame's own
    function, file and line; `waiting_in` is the library function right above it ("" if none)."""

    index: int
    function: str
    file: str
    line: int
    waiting_in: str = ""

    @property
    def short(self) -> str:
        return short_location(self.function, self.file, self.line)

    @property
    def label(self) -> str:
        """`main.locker (main.go:14) · in sync.(*Mutex).Lock`."""
        if not self.waiting_in:
            return self.short
        return f"{self.short}{CONTEXT_SEPARATOR}{traceback_name(self.waiting_in)}"


def user_location(frames: Sequence[SourceFrame], scope: CodeScope) -> UserLocation | None:
    """The goroutine's place in your code (frames innermost first); None when it has no frame of yours."""
    index = your_frame_index(frames, scope)
    if index is None:
        return None
    frame = frames[index]
    waiting_in = ""
    if index > 0:
        above = frames[index - 1]
        kind = scope.classify(above.function, above.file)
        if has_source(kind) and not scope.kind_is_yours(kind):
            waiting_in = above.function
    return UserLocation(index, frame.function, frame.file, frame.line, waiting_in)


def location_label(frames: Sequence[SourceFrame], scope: CodeScope) -> str:
    """A one-line label for a stack: its user location; for a stack with no frame of yours (the runtime's
    goroutines, a library's) its first frame of readable code, else its first frame that is not the
    crash path."""
    location = user_location(frames, scope)
    if location is not None:
        return location.label
    kinds = scope.kinds(frames)
    for frame, kind in zip(frames, kinds, strict=True):
        if has_source(kind):
            return short_location(frame.function, frame.file, frame.line)
    for frame, kind in zip(frames, kinds, strict=True):
        if kind is not CodeKind.UNKNOWN and not is_crash_machinery(frame.function):
            return short_location(frame.function, frame.file, frame.line)
    return "(empty stack)" if not frames else short_location(frames[0].function, frames[0].file, frames[0].line)


def stack_label(frames: Sequence[SourceFrame], scope: CodeScope) -> str:
    """A stack bucket's label: the location label, then the next function of yours below it (what
    called it), `main.locker (main.go:14) · in sync.(*Mutex).Lock < main.main.gowrap3`, so that two
    buckets parked on the same line through different callers read differently."""
    label = location_label(frames, scope)
    location = user_location(frames, scope)
    if location is None:
        # The runtime's own goroutines all park in the same place: the function they started in (the
        # last frame before runtime.goexit) tells `runtime.gopark (proc.go:463) < runtime.bgsweep` from
        # `... < runtime.forcegchelper`.
        start = next((f.function for f in reversed(frames) if f.function and f.function != "runtime.goexit"), "")
        shown = traceback_name(start)
        if shown and not label.startswith(f"{shown} ("):
            return f"{label} < {shown}"
        return label
    for frame in frames[location.index + 1 :]:
        if scope.is_yours(frame.function, frame.file):
            return f"{label} < {traceback_name(frame.function)}"
    return label
