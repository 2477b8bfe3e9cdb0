"""initialize, launch, configurationDone, disconnect, terminate (and attach, which a core cannot do)."""

from __future__ import annotations

from gocore_dap.protocol import models as m
from gocore_dap.protocol.errors import DapError, ErrorId
from gocore_dap.server.registry import RequestContext, command
from gocore_dap.session.session import CoreSession


@command("initialize", m.InitializeArguments)
async def initialize(
    session: CoreSession, args: m.InitializeArguments, ctx: RequestContext
) -> m.Capabilities:
    return session.initialize(args)


@command("launch", m.LaunchArguments)
async def launch(session: CoreSession, args: m.LaunchArguments, ctx: RequestContext) -> None:
    await session.launch(args)
    # The core is loaded: now the client may send its configuration (breakpoints, etc.).
    ctx.then(lambda: session.emit_event("initialized", None))


@command("attach")
async def attach(session: CoreSession, args: object, ctx: RequestContext) -> None:
    raise DapError(ErrorId.ATTACH_NOT_SUPPORTED)


@command("configurationDone")
async def configuration_done(session: CoreSession, args: object, ctx: RequestContext) -> None:
    await session.configuration_done()
    ctx.then(session.send_stop)


@command("disconnect", m.DisconnectArguments)
async def disconnect(session: CoreSession, args: m.DisconnectArguments, ctx: RequestContext) -> None:
    await session.disconnect()
    ctx.end_connection = True


@command("terminate", m.TerminateArguments)
async def terminate(session: CoreSession, args: m.TerminateArguments, ctx: RequestContext) -> None:
    await session.terminate()
