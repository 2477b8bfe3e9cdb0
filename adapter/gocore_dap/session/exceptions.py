"""`exceptionInfo`: the crash as the runtime printed it, with its traceback and panic chain."""

from __future__ import annotations

from gocore_dap.core.loaded import LoadedCore
from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.goviews.crash import format_details
from gocore_dap.protocol import models as m
from gocore_dap.session.source_paths import ClientPaths
from gocore_dap.session.threads import owner_of

__all__ = ["exception_info"]


async def exception_info(
    core: LoadedCore,
    paths: ClientPaths,
    crash_thread_id: int,
    thread_id: int,
    depth: int,
    *,
    landing_thread_id: int | None = None,
) -> m.ExceptionInfoResponseBody:
    """The crash, asked for on the thread that crashed or, when no goroutine crashed, on the asleep
    goroutine the editor was sent to (its stop says what killed the program too)."""
    if thread_id not in (crash_thread_id, landing_thread_id):
        raise GocoreError(ErrorId.NO_EXCEPTION_INFO, id=thread_id)
    crash = core.crash
    frames = [s.frame for s in await core.shown_stack(owner_of(crash_thread_id), depth)]
    # The runtime's own traceback starts where the crash began, not in the signal machinery.
    shown = frames[crash.origin_frame_index or 0 :] if crash.origin_frame_index is not None else frames
    traceback = format_details(
        crash,
        [
            (f.location.function_name, paths.to_client(f.location.file, f.location.function_name), f.location.line)
            for f in shown
        ],
    )
    # DAP nests the cause inside the effect: the newest panic outside, the first one innermost.
    inner: m.ExceptionDetails | None = None
    for record in crash.panic_chain[:-1]:
        inner = m.ExceptionDetails(
            message=record.value_text,
            type_name="panic",
            full_type_name=record.type_name or None,
            inner_exception=[inner] if inner else None,
        )
    details = m.ExceptionDetails(
        message=crash.message,
        type_name=crash.exception_id,
        full_type_name=crash.headline,
        stack_trace=traceback,
        inner_exception=[inner] if inner else None,
    )
    return m.ExceptionInfoResponseBody(
        exception_id=crash.exception_id, description=crash.message, break_mode="unhandled", details=details
    )
