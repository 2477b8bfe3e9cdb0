"""Where the editor opens after a crash: the frame to land on, and for a crash no goroutine caused (a
deadlock, a kill from outside) the goroutine to land on (pure).

On a goroutine that crashed, the landing is the deepest frame of your code (`code_scope`): a panic
raised inside the standard library (`encoding/json` on a nil map you passed, `strings.Repeat` with a
negative count) lands on your line that called it, C code that faulted under cgo lands on the faulting C
line, and the runtime's crash path above stays where it is, deemphasised. A stack with no frame of
yours (a runtime goroutine, a crash inside a library goroutine) lands on its first frame of readable
code (standard library or a dependency), then on the first frame that is not crash machinery.

With no crashed goroutine every user goroutine is asleep (a deadlock) or was simply interrupted (an
external SIGABRT/SIGQUIT): `rank_asleep_goroutines` orders the goroutines that have a frame of yours
by how much they tell (the main goroutine first, then those blocked on each other, then the ones
waiting on the outside world), and `asleep_landing` picks the first with its landing frame.

Pure: stdlib and attrs only (plus the other goviews modules).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from gocore_dap.goviews.code_scope import CodeKind, CodeScope, SourceFrame, has_source
from gocore_dap.goviews.frames import is_crash_machinery

__all__ = [
    "AsleepLanding",
    "GoroutineStack",
    "asleep_landing",
    "asleep_order",
    "landing_frame_index",
    "rank_asleep_goroutines",
    "your_frame_index",
]

# States of goroutines blocked on each other (what a deadlock is made of), as the runtime prints them.
_BLOCKED_ON_EACH_OTHER = ("chan receive", "chan send", "select", "sync.", "semacquire")
# States of goroutines waiting on the world outside the program (or on nothing at all).
_WAITING_OUTSIDE = ("IO wait", "sleep", "syscall", "select (no cases)", "chan receive (nil chan)",
                    "chan send (nil chan)")  # fmt: skip


def your_frame_index(frames: Sequence[SourceFrame], scope: CodeScope) -> int | None:
    """The innermost frame of your code that has a line, or None."""
    for index, frame in enumerate(frames):
        if frame.line > 0 and scope.is_yours(frame.function, frame.file):
            return index
    return None


def landing_frame_index(frames: Sequence[SourceFrame], scope: CodeScope) -> int | None:
    """The frame the editor opens on this stack (innermost first); None only for an empty stack."""
    if not frames:
        return None
    yours = your_frame_index(frames, scope)
    if yours is not None:
        return yours
    kinds = scope.kinds(frames)
    for index, (frame, kind) in enumerate(zip(frames, kinds, strict=True)):
        if frame.line > 0 and has_source(kind):
            return index
    for index, (frame, kind) in enumerate(zip(frames, kinds, strict=True)):
        if kind is not CodeKind.UNKNOWN and not is_crash_machinery(frame.function):
            return index
    return 0


@attrs.frozen
class GoroutineStack:
    """What the choice of an asleep goroutine needs: its id, the state the runtime prints, its frames
    (innermost first) and whether it is the runtime's own (`presentation.is_system_goroutine`)."""

    id: int
    state: str
    frames: Sequence[SourceFrame]
    system: bool = False


@attrs.frozen
class AsleepLanding:
    goroutine_id: int
    frame_index: int


def _is_main_goroutine(stack: GoroutineStack) -> bool:
    return any(frame.function == "main.main" for frame in stack.frames)


def _state_rank(state: str) -> int:
    if state.startswith(_WAITING_OUTSIDE):
        return 1
    if state.startswith(_BLOCKED_ON_EACH_OTHER):
        return 0
    return 2  # running, runnable, anything the runtime adds later


def rank_asleep_goroutines(goroutines: Sequence[GoroutineStack], scope: CodeScope) -> list[GoroutineStack]:
    """The user goroutines that have a frame of your code, most telling first: the main goroutine, then
    goroutines blocked on each other (channels, locks, WaitGroups), then those waiting on the world
    (IO, timers, syscalls, `select {}`), then the rest; by goroutine id within each."""
    candidates = [g for g in goroutines if not g.system and your_frame_index(g.frames, scope) is not None]
    return sorted(candidates, key=lambda g: (not _is_main_goroutine(g), _state_rank(g.state), g.id))


def asleep_order(goroutines: Sequence[GoroutineStack], scope: CodeScope) -> list[int]:
    """Every goroutine id, the ranked asleep user goroutines first, the others after them by id: the
    order the Goroutines view shows them in when no goroutine crashed."""
    ranked = [g.id for g in rank_asleep_goroutines(goroutines, scope)]
    seen = set(ranked)
    return ranked + sorted(g.id for g in goroutines if g.id not in seen)


def asleep_landing(goroutines: Sequence[GoroutineStack], scope: CodeScope) -> AsleepLanding | None:
    """The goroutine and frame the editor opens when no goroutine crashed; None when no user goroutine
    has a frame of your code (the editor then stays on the crashing thread)."""
    ranked = rank_asleep_goroutines(goroutines, scope)
    if not ranked:
        return None
    best = ranked[0]
    index = your_frame_index(best.frames, scope)
    assert index is not None  # rank_asleep_goroutines keeps only goroutines that have one
    return AsleepLanding(best.id, index)
