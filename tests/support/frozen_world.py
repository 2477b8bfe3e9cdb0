"""What the dying runtime printed versus what the core holds, for goroutines the crash did not freeze.

With GOTRACEBACK=crash the runtime freezes the world before it prints every goroutine, but
`freezetheworld` is best effort (runtime/proc.go): a goroutine that was runnable may still run before the
core is written. Seen on a cold CI run: the finalizer goroutine, just created by `runtime.createfing`, was
printed `[runnable]` at the first line of `runtime.runFinalizers` and sat in `finalizer wait` in the core.
Only the runtime's own goroutines are let off: every goroutine of the program must match exactly.
"""

from __future__ import annotations

from gocore_dap.goviews.frames import is_runtime_internal
from gocore_dap.goviews.traceback_text import TracebackGoroutine

__all__ = ["ran_after_the_print"]


def ran_after_the_print(printed: TracebackGoroutine, core_state: str) -> bool:
    """A runtime goroutine printed runnable that the core shows in another state: it ran after the print."""
    creator = printed.created_by
    return (
        printed.state == "runnable"
        and core_state != "runnable"
        and creator is not None
        and is_runtime_internal(creator.function)
    )
