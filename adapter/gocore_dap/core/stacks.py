"""Stacks, threads and the first goroutines of a loaded core, read through Delve and kept.

A core never changes, so every answer is kept and nothing is ever invalidated. A stack belongs to a
goroutine (by id) or to an OS thread that runs none (by LWP: a deadlock or an external signal is
found on such a thread).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from gocore_dap.backends.delve.api import GOROUTINE_FIELD_USER, DelveApi, Goroutine, Stackframe, Thread
from gocore_dap.goviews.wait_reasons import WaitReasonTable, is_dead

__all__ = ["StackOwner", "Stacks"]


@attrs.frozen
class StackOwner:
    """Whose stack: a goroutine, or an OS thread without one (exactly one of the two is set)."""

    goroutine_id: int | None = None
    lwp: int | None = None

    @classmethod
    def goroutine(cls, goroutine_id: int) -> StackOwner:
        return cls(goroutine_id=goroutine_id)

    @classmethod
    def thread(cls, lwp: int) -> StackOwner:
        return cls(lwp=lwp)


class Stacks:
    def __init__(self, api: DelveApi, wait_reasons: WaitReasonTable) -> None:
        self._api = api
        self._wait_reasons = wait_reasons
        self._first_page: tuple[list[Goroutine], bool] | None = None
        self._first_page_limit = 0
        self._threads: list[Thread] | None = None
        self._stacks: dict[StackOwner, tuple[int, list[Stackframe]]] = {}
        self._complete: dict[StackOwner, bool] = {}

    async def first_goroutines(self, limit: int) -> tuple[list[Goroutine], bool]:
        """Up to `limit` live goroutines for a thread list, and whether there are more.

        Small cores give all goroutines in one cheap call. Past the limit, Delve's "user" filter
        picks the goroutines a developer wants to see first; the goroutine model serves the rest.
        """
        if self._first_page is None or self._first_page_limit != limit:
            page = await self._api.list_goroutines(start=0, count=limit + 1)
            more = page.next_index >= 0 or len(page.goroutines) > limit
            goroutines = list(page.goroutines)
            if more:
                user = await self._api.list_goroutines(
                    start=0, count=limit, filters=[{"Kind": GOROUTINE_FIELD_USER, "Negated": False, "Arg": ""}]
                )
                goroutines = list(user.goroutines)
            goroutines = [g for g in goroutines if not is_dead(g.status, self._wait_reasons)]
            self._first_page = (goroutines[:limit], more)
            self._first_page_limit = limit
        return self._first_page

    async def threads(self) -> list[Thread]:
        if self._threads is None:
            self._threads = await self._api.list_threads()
        return self._threads

    async def has_thread(self, lwp: int) -> bool:
        return any(t.id == lwp for t in await self.threads())

    async def stack(self, owner: StackOwner, depth: int) -> list[Stackframe]:
        """Up to `depth` frames of a goroutine or an OS thread, innermost first."""
        cached = self._stacks.get(owner)
        if cached is not None and (cached[0] >= depth or self._complete.get(owner)):
            return cached[1][:depth]
        if owner.lwp is not None:
            await self._api.switch_thread(owner.lwp)
            frames = await self._api.stacktrace(-1, depth)
        else:
            assert owner.goroutine_id is not None
            frames = await self._api.stacktrace(owner.goroutine_id, depth)
        # Delve returns up to depth+1 frames; fewer means the whole stack is here.
        self._complete[owner] = len(frames) <= depth
        frames = frames[:depth]
        self._stacks[owner] = (depth, frames)
        return frames

    def is_complete(self, owner: StackOwner) -> bool:
        return self._complete.get(owner, False)

    async def delve_scope(self, owner: StackOwner) -> int:
        """The GoroutineID to give Delve for variables of this owner's frames (selecting the thread for
        an OS thread, whose frames Delve reads as goroutine -1)."""
        if owner.lwp is None:
            assert owner.goroutine_id is not None
            return owner.goroutine_id
        await self._api.switch_thread(owner.lwp)
        return -1


def functions_of(frames: Sequence[Stackframe]) -> list[str]:
    return [f.location.function_name for f in frames]
