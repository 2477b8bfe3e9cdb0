"""Reading the crash: threads, stacks, scopes, variables, evaluate, exceptionInfo."""

from __future__ import annotations

from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.protocol import models as m
from gocore_dap.server.commands import CommandSet, RequestContext
from gocore_dap.session.session import CoreSession

commands = CommandSet()


@commands.command("threads")
async def threads(session: CoreSession, args: object, ctx: RequestContext) -> m.ThreadsResponseBody:
    return m.ThreadsResponseBody(threads=await session.target().thread_list())


@commands.command("stackTrace", m.StackTraceArguments, supports_delayed_stack_trace_loading=True)
async def stack_trace(
    session: CoreSession, args: m.StackTraceArguments, ctx: RequestContext
) -> m.StackTraceResponseBody:
    target = session.target()
    frames, total = await target.frames.stack_trace(args.thread_id, args.start_frame or 0, args.levels or 0)
    if args.thread_id == target.crash_thread_id:
        # The crash line is on its way to the editor: now read every goroutine (in a worker thread), for
        # the views that ask next; started earlier it would compete with this answer for the interpreter.
        ctx.then(target.start_reading_goroutines)
    return m.StackTraceResponseBody(stack_frames=frames, total_frames=total)


@commands.command("scopes", m.ScopesArguments)
async def scopes(session: CoreSession, args: m.ScopesArguments, ctx: RequestContext) -> m.ScopesResponseBody:
    return m.ScopesResponseBody(scopes=await session.target().variables.scopes(args.frame_id))


@commands.command("variables", m.VariablesArguments)
async def variables(session: CoreSession, args: m.VariablesArguments, ctx: RequestContext) -> m.VariablesResponseBody:
    found = await session.target().variables.variables(args.variables_reference, args.start, args.count, args.filter)
    return m.VariablesResponseBody(variables=found)


@commands.command(
    "evaluate",
    m.EvaluateArguments,
    supports_evaluate_for_hovers=True,
    supports_clipboard_context=True,
    supports_value_formatting_options=False,
)
async def evaluate(session: CoreSession, args: m.EvaluateArguments, ctx: RequestContext) -> m.EvaluateResponseBody:
    v = await session.target().evaluate(args.expression, args.frame_id, args.context)
    return m.EvaluateResponseBody(
        result=v.value,
        type=v.type,
        variables_reference=v.variables_reference,
        named_variables=v.named_variables,
        indexed_variables=v.indexed_variables,
        memory_reference=v.memory_reference,
        presentation_hint=v.presentation_hint,
    )


@commands.command("exceptionInfo", m.ExceptionInfoArguments)
async def exception_info(
    session: CoreSession, args: m.ExceptionInfoArguments, ctx: RequestContext
) -> m.ExceptionInfoResponseBody:
    return await session.target().exception_info(args.thread_id)


@commands.command("source", m.SourceArguments, supports_loaded_sources_request=False)
async def source(session: CoreSession, args: m.SourceArguments, ctx: RequestContext) -> None:
    # Every frame names a file path; the core holds no source text to serve by reference.
    raise GocoreError(ErrorId.NO_SOURCE)
