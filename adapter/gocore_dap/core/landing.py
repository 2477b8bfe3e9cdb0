"""Where the editor lands on a loaded core: the goroutine and the frame of your code it opens.

A goroutine crashed: its landing frame (`goviews.landing.landing_frame_index`: the innermost frame of your
code, on the stack as it is shown, with the faulting C frame repaired). No goroutine crashed (a deadlock,
an external signal): the stop stays on the runtime's OS thread, and the editor opens the most telling
asleep user goroutine (`goviews.landing.rank_asleep_goroutines`: the main goroutine first). Ranking every
asleep goroutine reads their stacks, so the main goroutine is looked at first: when it has a frame of
yours it ranks first whatever the others are, and the landing costs one stack.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import attrs

from gocore_dap.backends.delve.errors import DelveRpcError
from gocore_dap.backends.delve.stack_repair import ShownFrame
from gocore_dap.core.results import CrashLanding
from gocore_dap.core.stacks import StackOwner, Stacks
from gocore_dap.goviews.code_scope import CodeScope
from gocore_dap.goviews.crash import CrashAnalysis
from gocore_dap.goviews.frames import is_crash_machinery
from gocore_dap.goviews.goroutine_info import GoLocation
from gocore_dap.goviews.landing import GoroutineStack, asleep_landing, landing_frame_index, rank_asleep_goroutines
from gocore_dap.goviews.presentation import is_system_goroutine
from gocore_dap.goviews.wait_reasons import WaitReasonTable, goroutine_state

__all__ = ["ASLEEP_LIMIT", "LANDING_DEPTH", "Landing", "LandingCore", "Landings", "shown_locations"]

# Frames read to find a landing: deeper than any stack's first frame of your code in practice.
LANDING_DEPTH = 64
# Goroutines ranked when no goroutine crashed (their stacks are read): the thread list's first goroutines
# (the user's first when there are more), so a core of 100,000 goroutines costs at most this many stacks.
ASLEEP_LIMIT = 1000
# The goroutine that runs main.main.
_MAIN_GOROUTINE = 1


def shown_locations(frames: Sequence[ShownFrame]) -> list[GoLocation]:
    return [GoLocation(f.frame.location.function_name, f.frame.location.file, f.frame.location.line) for f in frames]


class LandingCore(Protocol):
    """What the landings read of a loaded core (`core.loaded.LoadedCore`)."""

    crash: CrashAnalysis
    scope: CodeScope
    wait_reasons: WaitReasonTable
    stacks: Stacks

    async def shown_stack(self, owner: StackOwner, depth: int) -> list[ShownFrame]: ...


@attrs.frozen
class Landing:
    """A stack (a goroutine's, or an OS thread's when nothing better exists) and the index of the frame
    the editor opens in it, counted in the stack as shown (`LoadedCore.shown_stack`)."""

    owner: StackOwner
    frame_index: int
    location: GoLocation
    asleep: bool = False  # picked among the asleep goroutines: no goroutine crashed

    @property
    def goroutine_id(self) -> int | None:
        return self.owner.goroutine_id

    def summary(self) -> CrashLanding:
        assert self.owner.goroutine_id is not None
        return CrashLanding(self.owner.goroutine_id, self.location, self.asleep)


class Landings:
    """The landings of one loaded core, each worked out once."""

    def __init__(self, core: LandingCore) -> None:
        self._core = core
        self._lock = asyncio.Lock()
        self._landing: Landing | None = None
        self._landing_done = False
        self._asleep: Landing | None = None
        self._asleep_done = False
        self._ranked: list[GoroutineStack] | None = None

    async def landing(self) -> Landing | None:
        """Where the editor opens: the crashing goroutine's landing frame; else the asleep landing; else
        the crashing OS thread's first frame below the crash machinery. None only for an empty stack."""
        async with self._lock:
            if not self._landing_done:
                self._landing = await self._find_landing()
                self._landing_done = True
            return self._landing

    async def asleep_landing(self) -> Landing | None:
        """No goroutine crashed: the most telling asleep user goroutine and its frame of your code; None
        when a goroutine crashed or no user goroutine has a frame of yours."""
        async with self._lock:
            return await self._find_asleep()

    async def asleep_order(self) -> tuple[int, ...]:
        """The user goroutines that have a frame of your code, most telling first (up to ASLEEP_LIMIT
        goroutines are looked at)."""
        async with self._lock:
            return tuple(g.id for g in await self._rank())

    async def _find_landing(self) -> Landing | None:
        core = self._core
        crash = core.crash
        if crash.crashing_goroutine_id is not None:
            owner = StackOwner.goroutine(crash.crashing_goroutine_id)
            frames = shown_locations(await core.shown_stack(owner, LANDING_DEPTH))
            index = landing_frame_index(frames, core.scope)
            return Landing(owner, index, frames[index]) if index is not None else None
        asleep = await self._find_asleep()
        if asleep is not None:
            return asleep
        owner = StackOwner.thread(crash.crashing_thread_id)
        frames = shown_locations(await core.shown_stack(owner, LANDING_DEPTH))
        if not frames:
            return None
        index = next((i for i, f in enumerate(frames) if not is_crash_machinery(f.function)), 0)
        return Landing(owner, index, frames[index])

    async def _find_asleep(self) -> Landing | None:
        if self._asleep_done:
            return self._asleep
        self._asleep_done = True
        if self._core.crash.crashing_goroutine_id is not None:
            return None
        scope = self._core.scope
        main = await self._main_goroutine()
        if main is not None:
            # rank_asleep_goroutines puts the main goroutine first whenever it has a frame of yours.
            found = asleep_landing([main], scope)
            if found is not None:
                self._asleep = self._as_landing(main, found.frame_index)
                return self._asleep
        found = asleep_landing(await self._rank(), scope)
        if found is not None:
            stack = next(g for g in await self._rank() if g.id == found.goroutine_id)
            self._asleep = self._as_landing(stack, found.frame_index)
        return self._asleep

    @staticmethod
    def _as_landing(stack: GoroutineStack, index: int) -> Landing:
        frame = stack.frames[index]
        location = GoLocation(frame.function, frame.file, frame.line)
        return Landing(StackOwner.goroutine(stack.id), index, location, asleep=True)

    async def _main_goroutine(self) -> GoroutineStack | None:
        try:
            frames = shown_locations(await self._core.shown_stack(StackOwner.goroutine(_MAIN_GOROUTINE), LANDING_DEPTH))
        except DelveRpcError:
            return None  # no goroutine 1 (it ended, or the core does not hold it)
        if not any(f.function == "main.main" for f in frames):
            return None
        # Its state does not change its rank (the main goroutine comes first), so it is not read here.
        return GoroutineStack(_MAIN_GOROUTINE, "", frames)

    async def _rank(self) -> list[GoroutineStack]:
        if self._ranked is None:
            core = self._core
            goroutines, _more = await core.stacks.first_goroutines(ASLEEP_LIMIT)
            stacks = []
            for g in goroutines:
                frames = shown_locations(await core.shown_stack(StackOwner.goroutine(g.id), LANDING_DEPTH))
                # The function the goroutine started in is its outermost frame: Delve's start location can
                # name a runtime function inlined at the start (runtime.LockOSThread for a goroutine that
                # locks its thread first), which would make it look like one of the runtime's own.
                outermost = [f.function for f in frames if f.function and f.function != "runtime.goexit"]
                start = outermost[-1] if outermost else (g.start_loc.function_name if g.start_loc else "")
                if is_system_goroutine(start):
                    continue
                state = goroutine_state(g.status, g.wait_reason, core.wait_reasons)
                stacks.append(GoroutineStack(g.id, state, frames))
            self._ranked = rank_asleep_goroutines(stacks, core.scope)
        return self._ranked
