"""Requests that would change or run the program. A core dump is a photograph: say so, never fake it."""

from __future__ import annotations

from typing import Any

from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.protocol import models as m
from gocore_dap.server.commands import CommandSet, RequestContext
from gocore_dap.session.session import CoreSession

commands = CommandSet()

# Each refusal with the capabilities it decides: none of what a running program would offer.
_RUN_OR_CHANGE: dict[str, dict[str, Any]] = {
    "continue": {"supports_single_thread_execution_requests": False},
    "next": {"supports_stepping_granularity": False},
    "stepIn": {},
    "stepOut": {},
    "stepBack": {},
    "reverseContinue": {},
    "pause": {},
    "restart": {},
    "restartFrame": {},
    "goto": {"supports_goto_targets_request": False},
    "setVariable": {},
    "setExpression": {},
    "setInstructionBreakpoints": {},
    "setDataBreakpoints": {},
    "writeMemory": {},
}

_NOT_HIT = "a core dump does not run, so no breakpoint can be hit"


def _refuse(name: str, capabilities: dict[str, Any]) -> None:
    async def handler(session: CoreSession, args: Any, ctx: RequestContext) -> None:
        raise GocoreError(ErrorId.READ_ONLY_CORE, variables={"command": name})

    commands.command(name, refuses=True, **capabilities)(handler)


for _name, _capabilities in _RUN_OR_CHANGE.items():
    _refuse(_name, _capabilities)


def _line(line: int) -> int | None:
    # Echo only a line the protocol can carry back (uint64 up to 2**53 - 1): a client's -1 must not
    # make our own response invalid.
    return line if 0 <= line < 2**53 else None


@commands.command(
    "setBreakpoints", m.SetBreakpointsArguments, supports_conditional_breakpoints=False, supports_log_points=False
)
async def set_breakpoints(
    session: CoreSession, args: m.SetBreakpointsArguments, ctx: RequestContext
) -> m.SetBreakpointsResponseBody:
    wanted = args.breakpoints or [m.SourceBreakpoint(line=line) for line in args.lines or ()]
    return m.SetBreakpointsResponseBody(
        breakpoints=[
            m.Breakpoint(verified=False, line=_line(b.line), message=_NOT_HIT, reason="failed") for b in wanted
        ]
    )


@commands.command("setFunctionBreakpoints", m.SetFunctionBreakpointsArguments, supports_function_breakpoints=False)
async def set_function_breakpoints(
    session: CoreSession, args: m.SetFunctionBreakpointsArguments, ctx: RequestContext
) -> m.SetBreakpointsResponseBody:
    return m.SetBreakpointsResponseBody(
        breakpoints=[m.Breakpoint(verified=False, message=_NOT_HIT, reason="failed") for _ in args.breakpoints]
    )


@commands.command("setExceptionBreakpoints", exception_breakpoint_filters=[])
async def set_exception_breakpoints(session: CoreSession, args: object, ctx: RequestContext) -> None:
    # The crash already happened; there is nothing to configure, and nothing to refuse either.
    return None
