"""initialize, launch, configurationDone, disconnect, terminate (and attach, which a core cannot do)."""

from __future__ import annotations

from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.protocol import models as m
from gocore_dap.server.commands import CommandSet, RequestContext
from gocore_dap.session.session import CoreSession

commands = CommandSet()


@commands.command("initialize", m.InitializeArguments)
async def initialize(session: CoreSession, args: m.InitializeArguments, ctx: RequestContext) -> m.Capabilities:
    session.initialize(args)
    ctx.then(session.prepare_for_launch)
    return ctx.capabilities


@commands.command("launch", m.LaunchArguments)
async def launch(session: CoreSession, args: m.LaunchArguments, ctx: RequestContext) -> None:
    await session.launch(args, ctx.progress("Opening the core dump"))
    # The core is loaded: now the client may send its configuration (breakpoints, etc.).
    ctx.then(lambda: session.emit_event("initialized", None))


@commands.command("attach")
async def attach(session: CoreSession, args: object, ctx: RequestContext) -> None:
    raise GocoreError(ErrorId.ATTACH_NOT_SUPPORTED)


@commands.command("configurationDone")
async def configuration_done(session: CoreSession, args: object, ctx: RequestContext) -> None:
    await session.configuration_done()
    ctx.then(session.send_stop)


@commands.command("disconnect", m.DisconnectArguments, support_terminate_debuggee=True)
async def disconnect(session: CoreSession, args: m.DisconnectArguments, ctx: RequestContext) -> None:
    await session.disconnect()
    ctx.end_connection = True


@commands.command("terminate", m.TerminateArguments)
async def terminate(session: CoreSession, args: m.TerminateArguments, ctx: RequestContext) -> None:
    await session.terminate()


@commands.command("cancel", m.CancelArguments)
async def cancel(session: CoreSession, args: m.CancelArguments, ctx: RequestContext) -> None:
    # The cancelled request answers for itself (with DAP's `cancelled` error); this one just succeeds.
    ctx.cancel(args.request_id, args.progress_id)
