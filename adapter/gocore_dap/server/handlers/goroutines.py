"""The Go extensions of DAP: `goroutines` and `crashSummary` (docs/custom-requests.md).

Their arguments are validated by `goviews.grouping.parse_query` (messages name the argument and what
it must be), and their bodies are built as wire JSON by the session's `GoroutineExplorer`: a body of
thousands of goroutine records is cheaper to build as dicts than as attrs models run through cattrs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from gocore_dap.protocol.converter import converter
from gocore_dap.protocol.errors import DapError, ErrorId
from gocore_dap.server.registry import RequestContext, command
from gocore_dap.session.explorer import ArgumentError, GoroutineExplorer
from gocore_dap.session.session import CoreSession

__all__ = ["WireBody", "crash_summary", "explorer_for", "goroutines"]



@attrs.frozen
class WireBody:
    """A response body that is already wire JSON (camelCase keys, optional keys absent)."""

    data: dict[str, Any]


# The server encodes every body with to_wire(), which takes attrs models; this one passes its dict on.
converter.register_unstructure_hook(WireBody, lambda body: body.data)


def explorer_for(session: CoreSession) -> GoroutineExplorer:
    return session.explorer()


@command("goroutines")
async def goroutines(session: CoreSession, args: Any, ctx: RequestContext) -> WireBody:
    explorer = explorer_for(session)
    try:
        return WireBody(await explorer.goroutines(args))
    except ArgumentError as exc:
        raise DapError(ErrorId.BAD_ARGUMENTS, message=str(exc)) from None


def _launch_paths(session: CoreSession) -> tuple[Path | None, Path | None]:
    """PROGRAM and CORE as the session opened them (preflight resolved them against `cwd`)."""
    if session.preflight_result is not None:
        return session.preflight_result.program, session.preflight_result.core
    launch = session.launch_args
    if launch is None:
        return None, None
    base = Path(launch.cwd) if launch.cwd else Path.cwd()
    return base / Path(launch.program).expanduser(), base / Path(launch.core_file_path).expanduser()


@command("crashSummary")
async def crash_summary(session: CoreSession, args: Any, ctx: RequestContext) -> WireBody:
    if args not in (None, {}):
        raise DapError(ErrorId.BAD_ARGUMENTS, message="crashSummary: takes no arguments")
    explorer = explorer_for(session)
    program, core = _launch_paths(session)
    return WireBody(await explorer.crash_summary(program, core))
