"""Requests that would change or run the program. A core dump is a photograph: say so, never fake it."""

from __future__ import annotations

from typing import Any

from gocore_dap.protocol import models as m
from gocore_dap.protocol.errors import DapError, ErrorId
from gocore_dap.server.registry import RequestContext, command
from gocore_dap.session.session import CoreSession

_RUN_OR_CHANGE = (
    "continue",
    "next",
    "stepIn",
    "stepOut",
    "stepBack",
    "reverseContinue",
    "pause",
    "restart",
    "restartFrame",
    "goto",
    "setVariable",
    "setExpression",
    "setInstructionBreakpoints",
    "setDataBreakpoints",
    "writeMemory",
)

_NOT_HIT = "a core dump does not run, so no breakpoint can be hit"


def _refuse(name: str) -> None:
    async def handler(session: CoreSession, args: Any, ctx: RequestContext) -> None:
        raise DapError(ErrorId.READ_ONLY_CORE, variables={"command": name})

    command(name)(handler)


for _name in _RUN_OR_CHANGE:
    _refuse(_name)


def _line(line: int) -> int | None:
    # Echo only a line the protocol can carry back (uint64 up to 2**53 - 1): a client's -1 must not
    # make our own response invalid.
    return line if 0 <= line < 2**53 else None


@command("setBreakpoints", m.SetBreakpointsArguments)
async def set_breakpoints(
    session: CoreSession, args: m.SetBreakpointsArguments, ctx: RequestContext
) -> m.SetBreakpointsResponseBody:
    wanted = args.breakpoints or [m.SourceBreakpoint(line=line) for line in args.lines or ()]
    return m.SetBreakpointsResponseBody(
        breakpoints=[
            m.Breakpoint(verified=False, line=_line(b.line), message=_NOT_HIT, reason="failed") for b in wanted
        ]
    )


@command("setFunctionBreakpoints", m.SetFunctionBreakpointsArguments)
async def set_function_breakpoints(
    session: CoreSession, args: m.SetFunctionBreakpointsArguments, ctx: RequestContext
) -> m.SetBreakpointsResponseBody:
    return m.SetBreakpointsResponseBody(
        breakpoints=[
            m.Breakpoint(verified=False, message=_NOT_HIT, reason="failed") for _ in args.breakpoints
        ]
    )


@command("setExceptionBreakpoints")
async def set_exception_breakpoints(session: CoreSession, args: object, ctx: RequestContext) -> None:
    # The crash already happened; there is nothing to configure, and nothing to refuse either.
    return None
