"""Goroutine facts read through Delve: the listing, stacks, parent ids, the crash time, module info.

The goroutine model (`core.goroutines`) asks for these and nothing else of Delve, so every Delve call
about goroutines in bulk is here, in typed form (`backends.delve.api`), and every failure of one of
them is either raised (the caller decides) or turned into the value a Go developer would read
("(stack unreadable: ...)"), never lost.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

import attrs

from gocore_dap.backends.delve.api import (
    GOROUTINE_FIELD_RUNNING,
    DelveApi,
    Goroutine,
    GoroutineGroupInfo,
    LoadConfig,
    Location,
    Variable,
)
from gocore_dap.backends.delve.errors import BackendError, DelveRpcError
from gocore_dap.goviews.build_info import BuildInfo, parse_modinfo, strip_modinfo_sentinels
from gocore_dap.goviews.goroutine_info import GoroutineTable, LocationTuple, estimate_now_ns
from gocore_dap.goviews.wait_reasons import is_dead

__all__ = ["DelveGoroutines", "GroupedPass", "add_goroutine", "location_tuple"]

# P structs read for the crash-time estimate; more than this many Ps is rare and adds little.
_MAX_PS = 64
# Timestamps (runtime nanotime) the runtime stores while it runs; see goroutine_info.estimate_now_ns.
_CLOCK_EXPRESSIONS = ("runtime.sched.lastpoll", "runtime.work.tstart", "runtime.memstats.last_gc_nanotime")
_INT = LoadConfig(follow_pointers=False, max_variable_recurse=1, max_string_len=64, max_array_values=0)
_TEXT = LoadConfig(follow_pointers=True, max_variable_recurse=0, max_string_len=1 << 20, max_array_values=0,
                   max_struct_fields=0)  # fmt: skip


def location_tuple(location: Location | None) -> LocationTuple | None:
    if location is None:
        return None
    return (location.function_name, location.file, location.line)


def add_goroutine(table: GoroutineTable, g: Goroutine) -> int | None:
    """Add one goroutine of Delve's listing to the table; None for an unreadable one (counted) and for
    one the runtime counts as dead (goviews.wait_reasons.is_dead)."""
    if g.unreadable:
        table.unreadable += 1
        return None
    if is_dead(g.status, table.wait_reasons):
        # Go 1.26's goroutines kept for cgo callbacks: Delve lists them, the runtime's traceback does not.
        return None
    return table.add(
        goroutine_id=g.id,
        status=g.status,
        wait_reason=g.wait_reason,
        wait_since=g.wait_since,
        thread_id=g.thread_id,
        current=location_tuple(g.current_loc),
        user=location_tuple(g.user_current_loc),
        go=location_tuple(g.go_statement_loc),
        start=location_tuple(g.start_loc),
        labels=g.labels or None,
    )


def _int_of(variable: Variable) -> int:
    """An integer Delve printed, also inside an atomic wrapper (`atomic.Int64{value: N}`)."""
    for child in variable.children:
        if child.name == "value":
            return _int_of(child)
    return int(variable.value or "0", 0)


@attrs.frozen
class GroupedPass:
    """One Delve `ListGoroutines` pass with server-side grouping: each group's name, total and sampled
    members (Delve's own counts are exact; only the members are a sample)."""

    groups: tuple[tuple[GoroutineGroupInfo, tuple[Goroutine, ...]], ...]
    too_many_groups: bool


class DelveGoroutines:
    """The bulk goroutine reads of one loaded core through Delve (see the module docstring)."""

    def __init__(self, api: DelveApi) -> None:
        self._api = api
        self._parents: dict[int, int | None] = {}
        self._parents_readable = True
        self._now_ns: int | None = None
        self._now_read = False

    async def pages(self, page_size: int) -> AsyncIterator[Sequence[Goroutine]]:
        """Every goroutine, a page at a time (Delve's JSON for 100,000 goroutines is ~80 MB at once)."""
        start = 0
        while True:
            page = await self._api.list_goroutines(start=start, count=page_size)
            yield page.goroutines
            # Nextg is an index into the runtime's allgs (dead goroutines skipped), -1 at the end.
            if page.next_index < 0 or page.next_index <= start:
                return
            start = page.next_index

    async def count(self) -> int:
        """How many goroutines are live, in one cheap pass: grouping by "running" needs no stack
        unwinding and returns two groups."""
        page = await self._api.list_goroutines(group_by=GOROUTINE_FIELD_RUNNING, max_group_members=1, max_groups=0)
        return sum(g.total for g in page.groups)

    async def allgs_length(self) -> int:
        """len(runtime.allgs): every goroutine ever created and not freed, dead ones included; 0 when
        it cannot be read. One Eval, to choose a path before anything is listed."""
        try:
            return _int_of(await self._eval("runtime.allglen", _INT))
        except (BackendError, ValueError):
            return 0

    async def grouped_pass(self, kind: int, key: str, members: int, max_groups: int) -> GroupedPass:
        page = await self._api.list_goroutines(
            group_by=kind, group_by_key=key, max_group_members=members, max_groups=max_groups
        )
        listed = page.goroutines
        return GroupedPass(
            groups=tuple((g, tuple(listed[g.offset : g.offset + g.count])) for g in page.groups),
            too_many_groups=page.too_many_groups,
        )

    async def running_or_current(self, goroutine_id: int) -> Goroutine | None:
        """Delve's record of one running goroutine (the crasher) without listing them all: the goroutine
        of Delve's current thread when it is that one (backends.delve.crash_probe leaves it selected),
        else the running goroutines (a crash runs on a thread, and few goroutines do)."""
        state = await self._api.state()
        current = state.get("currentGoroutine")
        if current and int(current.get("id", -1)) == goroutine_id:
            return Goroutine.from_json(current)
        page = await self._api.list_goroutines(filters=[{"Kind": GOROUTINE_FIELD_RUNNING}])
        return next((g for g in page.goroutines if g.id == goroutine_id), None)

    async def stack(self, goroutine_id: int, depth: int) -> tuple[LocationTuple, ...]:
        """(function, file, line) of each frame, innermost first; a goroutine whose stack cannot be read
        gets one frame that says why (it becomes a bucket of its own)."""
        try:
            return await self._api.stack_locations(goroutine_id, depth)
        except DelveRpcError as exc:
            return ((f"(stack unreadable: {exc})", "", 0),)

    async def parent(self, goroutine_id: int) -> int | None:
        """g.parentGoid (Go 1.21+): not in Delve's listing, so read per shown goroutine and kept."""
        if goroutine_id in self._parents:
            return self._parents[goroutine_id]
        parent: int | None = None
        if self._parents_readable:
            try:
                parent = _int_of(await self._eval("runtime.curg.parentGoid", _INT, goroutine_id)) or None
            except DelveRpcError as exc:
                if "parentGoid" in str(exc):
                    # An older runtime without the field: stop asking.
                    self._parents_readable = False
            except ValueError:
                parent = None
        self._parents[goroutine_id] = parent
        return parent

    async def crash_time_ns(self) -> int | None:
        """When the program died on the runtime's monotonic clock (estimate_now_ns), read once; None
        when nothing tells."""
        if not self._now_read:
            self._now_read = True
            candidates: list[int] = []
            for expr in _CLOCK_EXPRESSIONS:
                with contextlib.suppress(BackendError, ValueError):
                    candidates.append(_int_of(await self._eval(expr, _INT)))
            with contextlib.suppress(BackendError, ValueError):
                count = _int_of(await self._eval("len(runtime.allp)", _INT))
                for index in range(min(count, _MAX_PS)):
                    tick = await self._eval(f"runtime.allp[{index}].sysmontick", _INT)
                    candidates.extend(_int_of(c) for c in tick.children if c.name in ("schedwhen", "syscallwhen"))
            self._now_ns = estimate_now_ns(candidates)
        return self._now_ns

    async def build_info(self, go_version: str) -> BuildInfo:
        """runtime.modinfo, for when the executable's .go.buildinfo could not be read."""
        try:
            variable = await self._eval("runtime.modinfo", _TEXT)
        except BackendError:
            return BuildInfo()
        return parse_modinfo(strip_modinfo_sentinels(variable.value), go_version)

    async def _eval(self, expr: str, cfg: LoadConfig, goroutine_id: int = -1) -> Variable:
        variable = await self._api.eval(expr, goroutine_id, 0, cfg)
        if variable.unreadable:
            raise DelveRpcError(f"{expr}: {variable.unreadable}")
        return variable
