"""The DAP side of one loaded core: what a launched session serves, over a `LoadedCore`.

It exists only once the core is open, so nothing in it is ever "not loaded yet". Each piece translates
the core model into DAP: the thread list, stack frames, the variable tree, exception info, machine
views. Launch attributes that change what is shown are applied here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gocore_dap.core.failures import fails_as
from gocore_dap.core.loaded import LoadedCore
from gocore_dap.core.results import CrashSummary, GoroutinesPage
from gocore_dap.errors import ErrorId
from gocore_dap.goviews.grouping import GoroutinesQuery
from gocore_dap.protocol import models as m
from gocore_dap.session.exceptions import exception_info
from gocore_dap.session.frames import Frames
from gocore_dap.session.machine import Machine
from gocore_dap.session.source_paths import ClientPaths, Emit
from gocore_dap.session.threads import DEFAULT_MAX_THREADS, ThreadList
from gocore_dap.session.variables import VariableTree

__all__ = ["DEFAULT_STACK_DEPTH", "Target"]

DEFAULT_STACK_DEPTH = 50

Output = Callable[[str], Awaitable[None]]


class Target:
    def __init__(
        self,
        core: LoadedCore,
        launch: m.LaunchArguments,
        client: m.InitializeArguments | None,
        emit: Emit,
        important: Output,
        *,
        threads_changed: Callable[[], Awaitable[None]],
    ) -> None:
        self.core = core
        self.launch = launch
        self.paths = ClientPaths(core.sources, emit, fetch=core.fetch_sources, client=client)
        self.depth = max(1, launch.stack_trace_depth or DEFAULT_STACK_DEPTH)
        self.threads = ThreadList(
            core,
            limit=launch.max_threads or DEFAULT_MAX_THREADS,
            hide_system=launch.hide_system_goroutines,
            depth=self.depth,
            output=important,
            threads_changed=threads_changed,
        )
        self.frames = Frames(core, self.paths, self.depth)
        self.variables = VariableTree(core, self.frames, show_registers=launch.show_registers)
        self.machine = Machine(core, self.paths)

    @property
    def crash_thread_id(self) -> int:
        return self.threads.crash_thread_id

    async def start_reading_goroutines(self) -> None:
        self.core.goroutines.start_loading()

    async def landing_thread_id(self) -> int | None:
        """When no goroutine crashed: the asleep goroutine the editor opens (None when none has a frame of
        your code, or a goroutine crashed)."""
        if self.core.crash.crashing_goroutine_id is not None:
            return None
        landing = await self.core.landings.asleep_landing()
        return landing.goroutine_id if landing is not None else None

    async def close(self) -> None:
        await self.paths.close()
        await self.core.close()

    @fails_as(ErrorId.DLV_FAILED)
    async def thread_list(self) -> list[m.Thread]:
        return [m.Thread(id=e.dap_id, name=e.name) for e in await self.threads.entries()]

    @fails_as(ErrorId.DLV_FAILED)
    async def reveal_goroutine(self, goroutine_id: int) -> bool:
        return await self.threads.reveal(goroutine_id)

    @fails_as(ErrorId.DLV_FAILED)
    async def exception_info(self, thread_id: int) -> m.ExceptionInfoResponseBody:
        return await exception_info(
            self.core, self.paths, self.crash_thread_id, thread_id, self.depth,
            landing_thread_id=await self.landing_thread_id(),
        )  # fmt: skip

    @fails_as(ErrorId.DLV_FAILED)
    async def goroutines(self, query: GoroutinesQuery) -> GoroutinesPage:
        return await self.core.goroutines.query(query)

    @fails_as(ErrorId.DLV_FAILED)
    async def crash_summary(self) -> CrashSummary:
        return await self.core.crash_summary()

    async def evaluate(self, expression: str, frame_id: int | None, context: str | None) -> m.Variable:
        return await self.variables.evaluate(expression, frame_id, context, self.crash_thread_id)
