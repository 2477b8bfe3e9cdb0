"""Machine-level views: disassembly and raw memory through memoryReferences."""

from __future__ import annotations

from gocore_dap.protocol import models as m
from gocore_dap.server.registry import RequestContext, command
from gocore_dap.session.session import CoreSession


@command("disassemble", m.DisassembleArguments)
async def disassemble(
    session: CoreSession, args: m.DisassembleArguments, ctx: RequestContext
) -> m.DisassembleResponseBody:
    instructions = await session.disassemble(
        args.memory_reference, args.offset or 0, args.instruction_offset or 0, args.instruction_count
    )
    return m.DisassembleResponseBody(instructions=instructions)


@command("readMemory", m.ReadMemoryArguments)
async def read_memory(
    session: CoreSession, args: m.ReadMemoryArguments, ctx: RequestContext
) -> m.ReadMemoryResponseBody:
    return await session.read_memory(args.memory_reference, args.offset or 0, args.count)
