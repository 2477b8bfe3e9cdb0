"""Machine-level views of a core: disassembly and raw memory, through DAP memory references."""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING

from gocore_dap.backends.delve.errors import DelveRpcError
from gocore_dap.core.failures import fails_as
from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.protocol import models as m
from gocore_dap.protocol.errors import ProtocolArgumentError

if TYPE_CHECKING:
    # Types only: the server imports check_count at start-up, before any core is opened.
    from gocore_dap.core.loaded import LoadedCore
    from gocore_dap.session.source_paths import ClientPaths

__all__ = ["MAX_DISASSEMBLE", "MAX_READ_MEMORY", "Machine", "check_count"]

READ_MEMORY_CHUNK = 1000  # Delve's ExamineMemory limit per call
# Per request: clients page through memory and code in far smaller pieces, and one request for
# 2**31 bytes or instructions must not keep the adapter busy (or out of memory) for good.
MAX_READ_MEMORY = 16 << 20
MAX_DISASSEMBLE = 100_000


class Machine:
    def __init__(self, core: LoadedCore, paths: ClientPaths) -> None:
        self._core = core
        self._paths = paths

    @fails_as(ErrorId.DISASSEMBLE_FAILED)
    async def disassemble(
        self, memory_reference: str, offset: int, instruction_offset: int, count: int
    ) -> list[m.DisassembledInstruction]:
        check_count("disassemble", "instructionCount", count)
        address = _parse_address(memory_reference) + offset
        listing = await self._core.api.disassemble(address, 0)
        index = next((i for i, ins in enumerate(listing) if ins.pc >= address), len(listing))
        first = index + instruction_offset
        out: list[m.DisassembledInstruction] = []
        last_file = ""
        for i in range(first, first + count):
            if 0 <= i < len(listing):
                ins = listing[i]
                source = None
                if ins.file and ins.file != last_file:
                    path = self._paths.to_client(ins.file, ins.function.name if ins.function else None)
                    source = m.Source(name=os.path.basename(path), path=path)
                    last_file = ins.file
                out.append(
                    m.DisassembledInstruction(
                        address=f"{ins.pc:#x}",
                        instruction=ins.text,
                        instruction_bytes=ins.bytes.hex(" ") or None,
                        symbol=ins.function.name if ins.function else None,
                        location=source,
                        line=ins.line or None,
                    )
                )
            else:
                # Outside the function Delve disassembled: the client still wants `count` rows.
                pc = (listing[0].pc if i < 0 and listing else listing[-1].pc if listing else address) + (
                    i - (0 if i < 0 else len(listing) - 1)
                )
                out.append(
                    m.DisassembledInstruction(address=f"{max(pc, 0):#x}", instruction="??", presentation_hint="invalid")
                )
        return out

    @fails_as(ErrorId.READ_MEMORY_FAILED)
    async def read_memory(self, memory_reference: str, offset: int, count: int) -> m.ReadMemoryResponseBody:
        check_count("readMemory", "count", count)
        address = _parse_address(memory_reference) + offset
        data = bytearray()
        while len(data) < count:
            chunk = min(READ_MEMORY_CHUNK, count - len(data))
            try:
                data += await self._core.api.examine_memory(address + len(data), chunk)
            except DelveRpcError:
                break  # the rest is not in the core: DAP's unreadableBytes says so
        return m.ReadMemoryResponseBody(
            address=f"{address:#x}",
            unreadable_bytes=(count - len(data)) or None,
            data=base64.b64encode(bytes(data)).decode("ascii"),
        )


_LIMITS = {"disassemble": MAX_DISASSEMBLE, "readMemory": MAX_READ_MEMORY}


def check_count(command: str, field: str, value: int) -> None:
    """Refuse a count beyond what one request may ask for, whatever the session's state."""
    limit = _LIMITS[command]
    if not 0 <= value <= limit:
        raise ProtocolArgumentError(
            f"{command}: '{field}' must be between 0 and {limit:,}, got {value}", command=command, field=field
        )


def _parse_address(reference: str) -> int:
    try:
        return int(reference, 0)
    except ValueError:
        raise GocoreError(ErrorId.BAD_MEMORY_REFERENCE, variables={"reference": reference}) from None
