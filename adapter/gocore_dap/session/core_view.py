"""What the session knows about the loaded core: goroutines, threads, stacks (cached, lazily read).

Delve is asked once for each fact the editor needs and the answer is kept: a core never changes,
so nothing here is ever invalidated.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from gocore_dap.backends.delve.api import GOROUTINE_FIELD_USER, DelveApi, Goroutine, Stackframe, Thread
from gocore_dap.goviews import presentation
from gocore_dap.goviews.frames import first_user_frame_index
from gocore_dap.goviews.goroutine_info import wait_minutes
from gocore_dap.goviews.wait_reasons import WaitReasonTable, goroutine_state, is_dead


@attrs.frozen
class ThreadEntry:
    """One row of the editor's thread list: a goroutine or an OS thread that runs none."""

    dap_id: int
    name: str
    goroutine_id: int | None
    lwp: int | None


class CoreView:
    def __init__(self, api: DelveApi, wait_reasons: WaitReasonTable) -> None:
        self.api = api
        self.wait_reasons = wait_reasons
        self._first_page: tuple[list[Goroutine], bool] | None = None
        self._first_page_limit = 0
        self._threads: list[Thread] | None = None
        self._stacks: dict[tuple[int, int], list[Stackframe]] = {}
        self._stack_complete: dict[int, bool] = {}

    # -- goroutines and threads -------------------------------------------------------------

    async def first_goroutines(self, limit: int) -> tuple[list[Goroutine], bool]:
        """Up to `limit` goroutines for the thread list, and whether there are more.

        Small cores give all goroutines in one cheap call. Past the limit, Delve's "user" filter
        picks the goroutines a developer wants to see first; the rest are for the explorer.
        """
        if self._first_page is None or self._first_page_limit != limit:
            page = await self.api.list_goroutines(start=0, count=limit + 1)
            more = page.next_index >= 0 or len(page.goroutines) > limit
            goroutines = list(page.goroutines)
            if more:
                user = await self.api.list_goroutines(
                    start=0, count=limit, filters=[{"Kind": GOROUTINE_FIELD_USER, "Negated": False, "Arg": ""}]
                )
                goroutines = list(user.goroutines)
            goroutines = [g for g in goroutines if not is_dead(g.status, self.wait_reasons)]
            self._first_page = (goroutines[:limit], more)
            self._first_page_limit = limit
        return self._first_page

    async def threads(self) -> list[Thread]:
        if self._threads is None:
            self._threads = await self.api.list_threads()
        return self._threads

    def state_of(self, g: Goroutine) -> str:
        return goroutine_state(g.status, g.wait_reason, self.wait_reasons)

    def goroutine_entry(
        self, g: Goroutine, *, crashed: bool, function: str | None = None, now_ns: int | None = None
    ) -> ThreadEntry:
        if function is None:
            loc = g.user_current_loc or g.current_loc
            function = loc.function_name if loc else ""
        state = self.state_of(g)
        minutes = wait_minutes(g.status, g.wait_since, now_ns)
        if minutes:
            # As the runtime's header prints it: `[chan receive, 5 minutes]` (nothing under a minute).
            state += f", {minutes} minutes"
        name = presentation.goroutine_thread_name(g.id, state, function, crashed=crashed)
        return ThreadEntry(dap_id=g.id, name=name, goroutine_id=g.id, lwp=None)

    async def os_thread_entry(self, lwp: int, *, crashed: bool) -> ThreadEntry:
        frames = await self.stack(presentation.os_thread_dap_id(lwp), 64)
        function = presentation.thread_headline_function([f.location.function_name for f in frames])
        return ThreadEntry(
            dap_id=presentation.os_thread_dap_id(lwp),
            name=presentation.os_thread_name(lwp, function, crashed=crashed),
            goroutine_id=None,
            lwp=lwp,
        )

    # -- stacks ------------------------------------------------------------------------------

    async def stack(self, dap_thread_id: int, depth: int) -> list[Stackframe]:
        """Up to `depth` frames of a goroutine (dap id = goroutine id) or of an OS thread."""
        for (tid, cached_depth), frames in self._stacks.items():
            if tid == dap_thread_id and (cached_depth >= depth or self._stack_complete.get(tid)):
                return frames[:depth]
        lwp = presentation.lwp_of_dap_id(dap_thread_id)
        if lwp is not None:
            await self.api.switch_thread(lwp)
            frames = await self.api.stacktrace(-1, depth)
        else:
            frames = await self.api.stacktrace(dap_thread_id, depth)
        # Delve returns up to depth+1 frames; fewer means the whole stack is here.
        self._stack_complete[dap_thread_id] = len(frames) <= depth
        frames = frames[:depth]
        self._stacks = {k: v for k, v in self._stacks.items() if k[0] != dap_thread_id}
        self._stacks[(dap_thread_id, depth)] = frames
        return frames

    def stack_is_complete(self, dap_thread_id: int) -> bool:
        return self._stack_complete.get(dap_thread_id, False)

    async def scope_for(self, dap_thread_id: int) -> int:
        """The GoroutineID to use in Delve scopes for this thread (selecting the thread if needed)."""
        lwp = presentation.lwp_of_dap_id(dap_thread_id)
        if lwp is None:
            return dap_thread_id
        await self.api.switch_thread(lwp)
        return -1

    @staticmethod
    def first_user_frame(frames: Sequence[Stackframe]) -> int | None:
        return first_user_frame_index([f.location.function_name for f in frames])
