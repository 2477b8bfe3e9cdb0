"""Machine-level views: disassembly and raw memory through memoryReferences."""

from __future__ import annotations

from gocore_dap.protocol import models as m
from gocore_dap.server.commands import CommandSet, RequestContext
from gocore_dap.session.machine import check_count
from gocore_dap.session.session import CoreSession

commands = CommandSet()


@commands.command("disassemble", m.DisassembleArguments)
async def disassemble(
    session: CoreSession, args: m.DisassembleArguments, ctx: RequestContext
) -> m.DisassembleResponseBody:
    check_count("disassemble", "instructionCount", args.instruction_count)
    instructions = await session.target().machine.disassemble(
        args.memory_reference, args.offset or 0, args.instruction_offset or 0, args.instruction_count
    )
    return m.DisassembleResponseBody(instructions=instructions)


@commands.command("readMemory", m.ReadMemoryArguments)
async def read_memory(
    session: CoreSession, args: m.ReadMemoryArguments, ctx: RequestContext
) -> m.ReadMemoryResponseBody:
    check_count("readMemory", "count", args.count)
    return await session.target().machine.read_memory(args.memory_reference, args.offset or 0, args.count)
