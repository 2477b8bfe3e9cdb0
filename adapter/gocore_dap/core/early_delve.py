"""Delve started the moment a launch arrives, before the checks and the imports they need.

`dlv core` loading the program's DWARF takes about as long as the adapter importing what opening a core
needs (each over a hundred milliseconds); on a machine with two cores they overlap. Only the plain case
starts early: an uncompressed ELF core, a program with its own DWARF, no explicit dlv or debug-info
options, and the Delve release for the program's Go already installed. `open_core` adopts the process
when the checks pick the same Delve for the same files, and ends it otherwise: a refused input, a
cancelled launch or another choice leaves no Delve behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs

from gocore_dap.backends.delve.process import DelveProcess
from gocore_dap.backends.delve.selection import DelveLaunch, installed_launch
from gocore_dap.core.options import OpenOptions
from gocore_dap.preflight.exeinfo import read_exe_info

__all__ = ["EarlyDelve", "start_early"]

log = logging.getLogger(__name__)

_ELF_MAGIC = b"\x7fELF"


@attrs.define
class EarlyDelve:
    launch: DelveLaunch
    program: Path
    core: Path
    task: asyncio.Task[DelveProcess]
    adopted: bool = False

    def fits(self, launch: DelveLaunch, program: Path, core: Path, extra_env: Mapping[str, str]) -> bool:
        """Whether this process is the one the checks would start."""
        mine = self.launch
        return (
            not extra_env
            and (launch.dlv, launch.flags, launch.unix_socket) == (mine.dlv, mine.flags, mine.unix_socket)
            and (program, core) == (self.program, self.core)
        )

    async def adopt(self) -> DelveProcess:
        """The started process (DelveStartError if it did not start)."""
        self.adopted = True
        return await self.task

    async def discard(self) -> None:
        """End the process, whether it has started, is starting or failed."""
        if self.adopted:
            return
        self.adopted = True  # once
        if not self.task.done():
            self.task.cancel()  # DelveProcess.start ends the process it was starting
            with contextlib.suppress(BaseException):
                await self.task
            return
        if self.task.cancelled() or self.task.exception() is not None:
            return
        await self.task.result().close()


async def start_early(options: OpenOptions, on_delve_exit: Callable[[str], None] | None = None) -> EarlyDelve | None:
    """Start Delve for the plain case (see the module docstring); None for any other. Returns once the
    process is spawned: the caller's imports, which hold the event loop, then overlap Delve's loading."""
    if options.dlv_path or os.environ.get("GOCORE_DAP_DLV") or options.symbol_file or options.debug_info_directories:
        return None
    try:
        program, core = options.resolved()
        # Only regular files: opening a named pipe (a bad input the checks refuse) would block the loop.
        if not (program.is_file() and core.is_file()):
            return None
        with core.open("rb") as fh:
            if fh.read(4) != _ELF_MAGIC:
                return None
        info = read_exe_info(program)
        if not info.has_dwarf:
            return None
        launch = installed_launch(info.go_version)
    except Exception as exc:  # any unreadable input: the checks will say what is wrong
        log.debug("no early Delve: %s", exc)
        return None
    if launch is None:
        return None
    task = asyncio.ensure_future(
        DelveProcess.start(
            launch.dlv,
            program,
            core,
            startup_timeout=max(options.dlv_timeout, 60.0),
            rpc_timeout=options.dlv_timeout,
            on_exit=on_delve_exit,
            unix_socket=launch.unix_socket,
            flags=launch.flags,
        )
    )
    # A failed start is read by `adopt` or dropped by `discard`; never "exception never retrieved".
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    # One turn of the loop runs the task up to its first wait, after `dlv` is spawned.
    await asyncio.sleep(0)
    return EarlyDelve(launch, program, core, task)
