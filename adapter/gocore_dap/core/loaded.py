"""A loaded core: everything a front end reads about one opened core dump, and the Delve behind it."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from gocore_dap.backends.cframes.symbolize import PcSymbolizer
from gocore_dap.backends.delve.api import DelveApi
from gocore_dap.backends.delve.errors import DelveRpcError
from gocore_dap.backends.delve.process import DelveProcess
from gocore_dap.backends.delve.stack_repair import ShownFrame, assembly_returns, repair_stack
from gocore_dap.core.goroutines import GoroutineModel
from gocore_dap.core.landing import Landings
from gocore_dap.core.results import CrashSummary
from gocore_dap.core.stacks import StackOwner, Stacks
from gocore_dap.goviews.build_info import BuildInfo
from gocore_dap.goviews.code_scope import CodeScope
from gocore_dap.goviews.crash import CrashAnalysis
from gocore_dap.goviews.wait_reasons import WaitReasonTable
from gocore_dap.preflight.checks import PreflightResult
from gocore_dap.sources.resolver import SourceResolver

__all__ = ["LoadedCore"]


class LoadedCore:
    """Made by `open_core` only; `close()` ends Delve and removes temporary files (safe to call twice)."""

    def __init__(
        self,
        *,
        program: Path,
        core: Path,
        preflight: PreflightResult,
        delve: DelveProcess,
        api: DelveApi,
        crash: CrashAnalysis,
        wait_reasons: WaitReasonTable,
        build_info: BuildInfo,
        sources: SourceResolver,
        goroutines: GoroutineModel,
        warnings: tuple[str, ...],
        delve_release: str | None = None,
        delve_path: Path | None = None,
        temp_dirs: tuple[Path, ...] = (),
        fetch_sources: bool = False,
        scope: CodeScope | None = None,
        fault_pc: int | None = None,
        symbolizer: PcSymbolizer | None = None,
    ) -> None:
        self.program = program
        self.core = core
        self.preflight = preflight
        self.delve = delve
        self.api = api
        self.crash = crash
        self.wait_reasons = wait_reasons
        self.goroutines = goroutines
        self.stacks = Stacks(self.api, wait_reasons)
        # What the user should know before reading anything (a truncated core, a Delve release that
        # does not cover the program's Go version), each a sentence.
        self.warnings = warnings
        # The program's module build info: from the executable, else from the core's runtime.modinfo.
        self.build_info = build_info
        # Where each source file the binary names is on this machine.
        self.sources = sources
        # Whether missing sources may be downloaded (`go mod download`) for whoever shows them.
        self.fetch_sources = fetch_sources
        # The table's Delve release in use (None for a dlv the user chose whose version is not in it).
        self.delve_release = delve_release
        self.delve_path = delve_path
        # Which frames are the program's own ("your code", from the build info and the yourCode setting).
        self.scope = scope if scope is not None else CodeScope.from_build_info(build_info)
        # The instruction a fault interrupted and the DWARF to name it exactly (both None unless the
        # crash is a fault signal): `shown_stack` repairs the faulting C frame with them.
        self.fault_pc = fault_pc
        self.symbolizer = symbolizer
        self._call_line_cache: dict[int, int] = {}
        # Where the editor lands: the crashing goroutine's frame of your code, or an asleep goroutine's.
        self.landings = Landings(self)
        if crash.crashing_goroutine_id is None and goroutines.priority is None:
            # No goroutine crashed: the Goroutines view shows the asleep user goroutines first.
            goroutines.priority = self.landings.asleep_order
        self._temp_dirs = temp_dirs
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def shown_stack(self, owner: StackOwner, depth: int) -> list[ShownFrame]:
        """A stack as every front end shows it: Delve's first `depth` frames with the faulting C frame
        re-read at its exact PC and Delve's function-less pc-0 frames dropped; each shown frame keeps
        the index of its Delve frame (variables are read by that index)."""
        frames = await self.stacks.stack(owner, depth)
        call_lines = await self._call_lines(assembly_returns(frames))
        return repair_stack(frames, fault_pc=self.fault_pc, symbolizer=self.symbolizer, call_lines=call_lines)

    async def _call_lines(self, pcs: list[int]) -> dict[int, int]:
        """The line of the call before each assembly return address (Delve at pc-1), each PC asked once:
        the same few (runtime.mstart, runtime.asmcgocall, ...) recur on every stack."""
        for pc in pcs:
            if pc not in self._call_line_cache:
                try:
                    found = await self.api.find_location(f"*{pc - 1:#x}")
                except DelveRpcError:
                    found = []
                self._call_line_cache[pc] = found[0].line if found else 0
        return {pc: self._call_line_cache[pc] for pc in pcs}

    async def crash_summary(self) -> CrashSummary:
        crash, info = self.crash, self.build_info
        landing = await self.landings.landing()
        asleep = await self.landings.asleep_order() if crash.crashing_goroutine_id is None else None
        return CrashSummary(
            kind=crash.kind,
            headline=crash.headline,
            message=crash.message,
            crashing_thread_id=crash.crashing_thread_id,
            crashing_goroutine_id=crash.crashing_goroutine_id,
            panic_chain=tuple(crash.panic_chain),
            signal=crash.signal,
            go_version=crash.go_version or info.go_version,
            goroutine_count=await self.goroutines.goroutine_count(),
            build=info,
            program=str(self.program),
            core=str(self.core),
            delve=self.delve_release or f"dlv at {self.delve_path}",
            debug_info=self.preflight.debug_info.describe() if self.preflight.debug_info is not None else None,
            warnings=self.warnings,
            landing=landing.summary() if landing is not None and landing.goroutine_id is not None else None,
            asleep_order=asleep,
        )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # The model may be reading stacks in the background: stop it before its Delve goes.
        with contextlib.suppress(Exception):
            await self.goroutines.close()
        try:
            await self.delve.close()
        finally:
            self.preflight.cleanup()
            for folder in self._temp_dirs:
                shutil.rmtree(folder, ignore_errors=True)
