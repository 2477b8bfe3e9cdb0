"""The editor's thread list: the crashing goroutine (or OS thread) first, then user goroutines.

DAP thread ids are goroutine ids; an OS thread that runs no goroutine (a deadlock, an external signal)
gets an id of its own block (`goviews.presentation.os_thread_dap_id`). When no goroutine crashed, the
asleep goroutine the editor is sent to (`core.landing`) comes right after the crashing thread.

A goroutine is named after its place in your code (`goviews.user_location`): the innermost frame of
yours on its stack, where Delve's user location stops in the standard library (`time.Sleep`,
`sync.(*Mutex).Lock`) or names the function an inlined call sits in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs

from gocore_dap.backends.delve.api import Goroutine
from gocore_dap.backends.delve.errors import DelveRpcError
from gocore_dap.core.landing import shown_locations
from gocore_dap.core.loaded import LoadedCore
from gocore_dap.core.stacks import StackOwner
from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.goviews import presentation
from gocore_dap.goviews.frames import first_user_frame_index
from gocore_dap.goviews.goroutine_info import GoGoroutine, GoLocation, wait_minutes
from gocore_dap.goviews.user_location import user_location
from gocore_dap.goviews.wait_reasons import WaitReasonTable, goroutine_state

__all__ = ["DEFAULT_MAX_THREADS", "ThreadEntry", "ThreadList", "goroutine_entry", "owner_of"]

# How many goroutines the thread list holds unless the launch configuration says otherwise:
# editors slow down past about a thousand threads; the Goroutines view serves the rest.
DEFAULT_MAX_THREADS = 1000
# Frames read to name an OS thread by what it was doing.
_THREAD_NAME_DEPTH = 64
# Frames read to name a goroutine after its place in your code: enough for nearly every stack (the runtime's
# park machinery and a library call or two sit above it); a deeper read only when they are not.
_GOROUTINE_NAME_DEPTH = 16

Output = Callable[[str], Awaitable[None]]


@attrs.frozen
class ThreadEntry:
    """One row of the editor's thread list: a goroutine or an OS thread that runs none."""

    dap_id: int
    name: str
    goroutine_id: int | None
    lwp: int | None


def owner_of(dap_thread_id: int) -> StackOwner:
    lwp = presentation.lwp_of_dap_id(dap_thread_id)
    return StackOwner.thread(lwp) if lwp is not None else StackOwner.goroutine(dap_thread_id)


def goroutine_entry(
    g: Goroutine,
    wait_reasons: WaitReasonTable,
    *,
    crashed: bool,
    now_ns: int | None = None,
    function: str | None = None,
) -> ThreadEntry:
    """A goroutine named as the runtime's traceback header names it, then where it is: `function`, else
    Delve's user location."""
    loc = g.user_current_loc or g.current_loc
    state = goroutine_state(g.status, g.wait_reason, wait_reasons)
    minutes = wait_minutes(g.status, g.wait_since, now_ns)
    if minutes:
        # As the runtime's header prints it: `[chan receive, 5 minutes]` (nothing under a minute).
        state += f", {minutes} minutes"
    if function is None:
        function = loc.function_name if loc else ""
    name = presentation.goroutine_thread_name(g.id, state, function, crashed=crashed)
    return ThreadEntry(dap_id=g.id, name=name, goroutine_id=g.id, lwp=None)


class ThreadList:
    def __init__(
        self,
        core: LoadedCore,
        *,
        limit: int,
        hide_system: bool,
        depth: int,
        output: Output,
        threads_changed: Callable[[], Awaitable[None]],
    ) -> None:
        self._core = core
        self._limit = limit
        self._hide_system = hide_system
        self._depth = depth
        self._output = output
        self._threads_changed = threads_changed
        self._said_cap = False
        self._refresh_asked = False
        # The threads of the last answer: a goroutine among them needs no revealing.
        self._listed: set[int] = set()
        # Goroutines beyond the list's limit that the user asked to see (the Goroutines view's "reveal").
        self._revealed: dict[int, ThreadEntry] = {}

    @property
    def crash_thread_id(self) -> int:
        """The DAP thread the crash is shown on."""
        crash = self._core.crash
        return crash.crashing_goroutine_id or presentation.os_thread_dap_id(crash.crashing_thread_id)

    async def entries(self) -> list[ThreadEntry]:
        core = self._core
        model = core.goroutines
        entries = [await self._crash_entry()]
        if model.table is None and model.reads_directly and await model.is_small():
            # A few thousand goroutines at most: read from the core in a moment, named from their stacks.
            await model.ensure_table()
        if model.table is not None:
            records, more = await model.first_goroutines(self._limit)
            entries.extend(self._record_entry(r) for r in records if self._shown(r))
        elif model.reads_directly:
            # Many goroutines: the crash's thread now, so that the editor opens the crash line at once; the
            # others once every goroutine is read from the core (the stop, sent again, makes the editor ask again).
            more = False
            if not self._refresh_asked:
                self._refresh_asked = True
                model.start_loading()
                model.when_loaded(self._refresh)
        else:
            more = await self._from_delve(entries)
        if self._core.crash.crashing_goroutine_id is None:
            await self._landing_second(entries)
        await self._say_cap(more, len(entries))
        listed = {e.dap_id for e in entries}
        entries.extend(e for gid, e in self._revealed.items() if gid not in listed)
        self._listed = {e.dap_id for e in entries}
        return entries

    def _shown(self, record: GoGoroutine) -> bool:
        if record.id == self._core.crash.crashing_goroutine_id:
            return False
        return not (self._hide_system and record.system)

    def _record_entry(self, record: GoGoroutine) -> ThreadEntry:
        state = record.state + (f", {record.wait_minutes} minutes" if record.wait_minutes else "")
        name = presentation.goroutine_thread_name(record.id, state, record.user_location.function)
        return ThreadEntry(dap_id=record.id, name=name, goroutine_id=record.id, lwp=None)

    async def _refresh(self) -> None:
        await self._threads_changed()

    async def _from_delve(self, entries: list[ThreadEntry]) -> bool:
        """The first goroutines from Delve's listing (a small core: one quick call); whether there are more."""
        core, crash = self._core, self._core.crash
        goroutines, more = await core.stacks.first_goroutines(self._limit)
        # The crash time is read only when some goroutine has a wait start to measure from.
        now_ns = await core.goroutines.crash_time_ns() if any(g.wait_since > 0 for g in goroutines) else None
        for g in goroutines:
            if g.id == crash.crashing_goroutine_id:
                continue
            if self._hide_system and presentation.is_system_goroutine(g.start_loc.function_name if g.start_loc else ""):
                continue
            function = await self._user_function(g)
            entries.append(goroutine_entry(g, core.wait_reasons, crashed=False, now_ns=now_ns, function=function))
        return more

    async def _landing_second(self, entries: list[ThreadEntry]) -> None:
        """No goroutine crashed: the asleep goroutine the editor lands on comes right after the crash's thread."""
        landing = await self._core.landings.asleep_landing()
        at = next((i for i, e in enumerate(entries) if landing and e.goroutine_id == landing.goroutine_id), None)
        if at is not None and at > 1:
            entries.insert(1, entries.pop(at))

    async def _say_cap(self, more: bool, listed: int) -> None:
        if more and not self._said_cap:
            self._said_cap = True
            await self._output(
                f"gocore-dap: this core has more than {self._limit} goroutines. The thread list shows the crashing "
                f"one and the first {listed - 1} user goroutines; the Goroutines view (the 'goroutines' "
                "request) lists, filters and groups all of them, and every goroutine's stack can still be read. "
                "Raise the launch attribute 'maxThreads' to list more here.\n"
            )

    async def reveal(self, goroutine_id: int) -> bool:
        """Make a goroutine one of the threads (the editor then shows its stack in the Call Stack);
        False when it already is one. Raises GocoreError for a goroutine the core does not have."""
        if goroutine_id == self._core.crash.crashing_goroutine_id or goroutine_id in self._revealed:
            return False
        record = await self._core.goroutines.goroutine(goroutine_id)
        if record is None:
            raise GocoreError(ErrorId.UNKNOWN_THREAD, id=goroutine_id)
        if goroutine_id in self._listed:
            return False
        name = presentation.goroutine_thread_name(goroutine_id, record.state, record.user_location.function)
        self._revealed[goroutine_id] = ThreadEntry(dap_id=goroutine_id, name=name, goroutine_id=goroutine_id, lwp=None)
        return True

    async def _user_function(self, g: Goroutine) -> str:
        """The function of the goroutine's place in your code (see the module docstring)."""
        core = self._core
        loc = g.user_current_loc or g.current_loc
        # Delve's user location cannot stand in for the stack even when it names your function: for a
        # call inlined into it, it names the enclosing function with the callee's line (Delve 1.27.2:
        # `main.main.gowrap1` for `main.(*pipeline).producer` inlined into the go statement's wrapper).
        # Only (function, file, line) and a short stack: a thousand goroutines are named per thread list.
        depth = _GOROUTINE_NAME_DEPTH
        while True:
            try:
                frames = await core.api.stack_locations(g.id, depth)
            except DelveRpcError:
                return loc.function_name if loc else ""
            where = user_location([GoLocation(*f) for f in frames], core.scope)
            if where is not None:
                return where.function
            if len(frames) <= depth or depth >= _THREAD_NAME_DEPTH:
                return loc.function_name if loc else ""
            depth = _THREAD_NAME_DEPTH

    async def _crash_entry(self) -> ThreadEntry:
        crash, core = self._core.crash, self._core
        stacks = core.stacks
        crashed_g = crash.crashing_goroutine_id
        if crashed_g:
            # Named after its place in your code on the stack as shown: Delve's user location stops at
            # the signal frames when the crash came from C code.
            frames = shown_locations(await core.shown_stack(StackOwner.goroutine(crashed_g), self._depth))
            where = user_location(frames, core.scope)
            if where is not None:
                function = where.function
            else:
                user = first_user_frame_index([f.function for f in frames])
                function = frames[user].function if user is not None else ""
            name = presentation.goroutine_thread_name(
                crashed_g, crash.goroutine_state or "running", function, crashed=True
            )
            return ThreadEntry(dap_id=crashed_g, name=name, goroutine_id=crashed_g, lwp=None)
        lwp = crash.crashing_thread_id
        thread_frames = await stacks.stack(StackOwner.thread(lwp), _THREAD_NAME_DEPTH)
        function = presentation.thread_headline_function([f.location.function_name for f in thread_frames])
        return ThreadEntry(
            dap_id=presentation.os_thread_dap_id(lwp),
            name=presentation.os_thread_name(lwp, function, crashed=True),
            goroutine_id=None,
            lwp=lwp,
        )
