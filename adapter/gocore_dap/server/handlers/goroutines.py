"""The Go extensions of DAP: `goroutines` and `crashSummary` (docs/custom-requests.md).

Arguments are validated by `goviews.grouping.parse_query` (messages name the argument and what it must
be); the core model answers in typed values and `protocol.go_extensions` encodes them.
"""

from __future__ import annotations

from typing import Any

import attrs

from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.protocol import models as m
from gocore_dap.protocol.converter import converter
from gocore_dap.server.commands import CommandSet, RequestContext
from gocore_dap.session.session import CoreSession

commands = CommandSet()


@attrs.frozen
class WireBody:
    """A response body that is already wire JSON (camelCase keys, optional keys absent)."""

    data: dict[str, Any]


# The server encodes every body with to_wire(), which takes attrs models; this one passes its dict on.
converter.register_unstructure_hook(WireBody, lambda body: body.data)


@commands.command("goroutines")
async def goroutines(session: CoreSession, args: Any, ctx: RequestContext) -> WireBody:
    # Imported on first use: the server answers `initialize` before it pays for the goroutine model.
    from gocore_dap.goviews.grouping import ArgumentError, parse_query
    from gocore_dap.protocol.go_extensions import encode_goroutines_page

    target = session.target()
    try:
        query = parse_query(args)
        page = await target.goroutines(query)
    except ArgumentError as exc:
        raise GocoreError(ErrorId.BAD_ARGUMENTS, message=str(exc)) from None
    return WireBody(encode_goroutines_page(page))


@commands.command("crashSummary")
async def crash_summary(session: CoreSession, args: Any, ctx: RequestContext) -> WireBody:
    if args not in (None, {}):
        raise GocoreError(ErrorId.BAD_ARGUMENTS, message="crashSummary: takes no arguments")
    from gocore_dap.protocol.go_extensions import encode_crash_summary

    return WireBody(encode_crash_summary(await session.target().crash_summary()))


@commands.command("revealGoroutine")
async def reveal_goroutine(session: CoreSession, args: Any, ctx: RequestContext) -> WireBody:
    """Make a goroutine beyond the thread list's limit a thread, so the Call Stack can show it."""
    goroutine_id = args.get("goroutineId") if isinstance(args, dict) else None
    if not isinstance(goroutine_id, int) or isinstance(goroutine_id, bool) or goroutine_id <= 0:
        raise GocoreError(ErrorId.BAD_ARGUMENTS, message="revealGoroutine: 'goroutineId' must be a positive integer")
    added = await session.target().reveal_goroutine(goroutine_id)
    if added:
        # The editor asks for the threads again and finds it there.
        ctx.then(lambda: session.emit_event("thread", m.ThreadEventBody(reason="started", thread_id=goroutine_id)))
    return WireBody({"threadId": goroutine_id, "added": added})
