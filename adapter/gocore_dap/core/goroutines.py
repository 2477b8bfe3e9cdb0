"""The goroutine model of one loaded core: every goroutine, filtered, grouped and paged (typed answers).

Two ways to answer, chosen per query:

* Exact: one listing of every goroutine (read in pages, so that the adapter never holds more than one
  page of Delve's JSON, ~820 bytes a goroutine) kept in a columnar `GoroutineTable` and reused by every
  later query; filters and groupings then run here.
* Fast: the first grouped answer on a big core (>= `fast_threshold` goroutines, no filter) comes from
  Delve's own server-side grouping, one pass that costs less than the full listing. Counts per group
  are Delve's and exact; the member ids, representative and `states` come from a sample of each group,
  so the answer is `approximate` and each group says how many members its `states` were counted over
  (`states_sampled`). The full listing then loads in the background, a page at a time, so the queries
  that follow are exact (Delve serves one request at a time, so a query waits at most one page).

Stack grouping reads stacks (~0.2 ms each) within a budget per query, and, once the listing is loaded,
in the background within the same budget, a chunk at a time; see `goviews.grouping` for how unread
stacks are inferred and when the answer is `approximate`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs

from gocore_dap.backends.delve.api import (
    GOROUTINE_FIELD_GO_LOC,
    GOROUTINE_FIELD_LABEL,
    GOROUTINE_FIELD_START_LOC,
    GOROUTINE_FIELD_USER_LOC,
    Goroutine,
)
from gocore_dap.core.delve_goroutines import DelveGoroutines, add_goroutine, location_tuple
from gocore_dap.core.direct_goroutines import DirectGoroutines
from gocore_dap.core.options import INTERACTIVE, ModelSettings
from gocore_dap.core.results import GoroutineGroup, GoroutinesPage
from gocore_dap.core.wait_names import WaitObjectNamer
from gocore_dap.goviews.code_scope import CodeScope
from gocore_dap.goviews.crash import CrashAnalysis
from gocore_dap.goviews.frames import traceback_name
from gocore_dap.goviews.goroutine_info import GoGoroutine, GoLocation, GoroutineTable, LocationTuple, RecordContext
from gocore_dap.goviews.grouping import (
    ArgumentError,
    GoroutinesQuery,
    GroupBy,
    GroupKey,
    Signature,
    StackTable,
    build_groups,
    filter_rows,
    key_function,
    next_stack_reads,
    order_rows,
    page,
    partition,
    resolve_partitions,
    signature,
)
from gocore_dap.goviews.user_location import location_label, user_location
from gocore_dap.goviews.wait_reasons import WaitReasonTable

__all__ = ["GoroutineModel", "UnknownGroup"]

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
# The goroutine ids to show first when no goroutine crashed (core.landing: the asleep user goroutines
# that have a frame of your code, most telling first).
Priority = Callable[[], Awaitable[Sequence[int]]]

# Stacks read per partition before trusting that a partition has one stack.
STACK_SAMPLES = 8
# Frames per stack: deeper than the runtime's own traceback shows before eliding (100) is not needed
# to tell stacks apart, and the cost grows with depth.
STACK_DEPTH = 64
# Stacks read between two chances for a query to take Delve (~50 ms).
_STACK_CHUNK = 256
# Goroutines per ListGoroutines page of the full listing: ~3 MB of JSON, ~30 MB while parsed.
LISTING_PAGE = 4000
# Fast path bounds: Delve returns whole goroutines for the members, so groups x members is the size.
FAST_MAX_GROUPS = 200
FAST_MAX_MEMBERS = 16
# Wait-object groups of a page whose objects are named after the program's variables (Delve reads for
# each), and the members whose frames are looked at for a name.
_NAMED_GROUPS = 20
_NAMING_MEMBERS = 3
_FRAME_NAMING_MAX_GOROUTINES = 20_000
_WAIT_KEY = re.compile(r"^waitObject:[a-z]+@(?P<kind>[\w.]+)@(?P<address>[0-9a-f]+)")
_DELVE_KIND = {
    "location": GOROUTINE_FIELD_USER_LOC,
    "stack": GOROUTINE_FIELD_USER_LOC,
    "creator": GOROUTINE_FIELD_GO_LOC,
    "startFunction": GOROUTINE_FIELD_START_LOC,
    "label": GOROUTINE_FIELD_LABEL,
}


class UnknownGroup(ArgumentError):
    """`group` names no group of the current grouping."""


def _ranked_rows(table: GoroutineTable, rows: Sequence[int], ranks: dict[int, int]) -> list[int]:
    """The ranked goroutines first, in rank order; the others after them in their given order."""
    unranked = len(ranks)
    ids = table.ids
    return sorted(rows, key=lambda r: ranks.get(ids[r], unranked))


_Grouped = Any  # goviews.grouping.Group or _FastGroup: anything with `rows`


def _ranked_groups(table: GoroutineTable, groups: Sequence[_Grouped], ranks: dict[int, int]) -> list[_Grouped]:
    """The groups that hold ranked goroutines first, by their best rank, each with its ranked members
    first (its representative is then its most telling goroutine); the others after them, in order."""
    unranked = len(ranks)
    ids = table.ids
    best = []
    for group in groups:
        group.rows = _ranked_rows(table, group.rows, ranks)
        best.append(ranks.get(ids[group.rows[0]], unranked) if group.rows else unranked)
    order = sorted(range(len(groups)), key=lambda i: best[i])
    return [groups[i] for i in order]


def _group_label(label: str, frames: Sequence[GoLocation], scope: CodeScope, *, from_stack: bool) -> str:
    """A group's label, from its representative's stack when `from_stack` (see `_delve_location_is_yours`)."""
    if not from_stack or not frames:
        return label
    return location_label(frames, scope)


def _delve_location_is_yours(table: GoroutineTable, rows: Sequence[int], scope: CodeScope) -> bool:
    """Whether a group keyed by Delve's user location (the fast path) may be labelled from its
    representative's stack. Delve's userCurrentLoc names, for an inlined call, the enclosing function with
    the callee's file:line (Delve 1.27.2: `main.main.gowrap1` for `main.(*pipeline).producer`): when that
    function is yours, every member is at the same instruction, and the stack names the place right.
    When it is library code (`time.Sleep`), members can sit in different functions of yours: the label
    stays Delve's location rather than name one of them."""
    if not rows:
        return False
    where = table.user_location(rows[0])
    return scope.is_yours(where.function, where.file)


_UNSET: Any = object()


def _delve_loc_name(g: Goroutine | None) -> str:
    """Delve's group name for a location (debugger.formatLoc): `file:line in function`."""
    function, file, line = (location_tuple(g.user_current_loc) if g else None) or ("", "", 0)
    return f"{file}:{line} in {function or '?'}"


def _quiet(task: asyncio.Task[Any]) -> None:
    """Background work nobody awaits may fail (Delve ended with the session): retrieve its error so
    that asyncio does not log it as never retrieved; a query that needs the work retries it."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.debug("background goroutine work stopped: %s", error)


@attrs.define
class _FastGroup:
    key: str
    label: str
    count: int
    rows: list[int]
    states: dict[str, int]
    contains_crashing: bool = False
    stack: int = -1  # stack id when grouped by stack


@attrs.frozen
class _Members:
    """What a group answer is built from: its rows (ordered; the first is the representative), the rows
    shown as members, and where its stack is known (a stack id of `stacks`, or -1)."""

    rows: Sequence[int]
    shown: Sequence[int]
    stacks: StackTable | None
    stack: int


class GoroutineModel:
    """Every goroutine of one core (see the module docstring)."""

    def __init__(
        self,
        source: DelveGoroutines,
        wait_reasons: WaitReasonTable | None,
        crash: CrashAnalysis | None,
        settings: ModelSettings = INTERACTIVE,
        *,
        direct: DirectGoroutines | None = None,
        namer: WaitObjectNamer | None = None,
        listing_page: int = LISTING_PAGE,
        progress: Progress | None = None,
        scope: CodeScope | None = None,
        priority: Priority | None = None,
    ) -> None:
        self._source = source
        self._direct = direct
        self._namer = namer
        self._on_loaded: list[Callable[[], Awaitable[None]]] = []
        # Every goroutine's stack is known (the direct index): every answer is exact.
        self._all_stacks = False
        self._parents: dict[int, int] | None = None
        self._wait_reasons = wait_reasons
        self._crash = crash
        self._fast_threshold = settings.fast_threshold
        self._stack_budget = settings.stack_budget
        self._listing_page = listing_page
        self._background_load = settings.background_load
        self._naming_budget = settings.naming_budget
        self._progress = progress
        # "Your code": user locations and labels name its innermost frame on each stack.
        self._scope = scope if scope is not None else CodeScope()
        # Shown first when no goroutine crashed (None: by id, as with a crash).
        self.priority = priority
        self._table: GoroutineTable | None = None
        self._load_task: asyncio.Task[GoroutineTable] | None = None
        self._stacks = StackTable(self._scope)
        # Stacks read before the table existed (fast path), by goroutine id, moved in when it loads.
        self._early_stacks: dict[int, tuple[LocationTuple, ...]] = {}
        self._allglen: int | None = None
        self._count: int | None = None
        self._refine_task: asyncio.Task[None] | None = None
        self._stack_lock = asyncio.Lock()
        self.last_stats: dict[str, Any] = {}

    @property
    def crashing_id(self) -> int | None:
        return self._crash.crashing_goroutine_id if self._crash is not None else None

    @property
    def table(self) -> GoroutineTable | None:
        """The full listing, once loaded."""
        return self._table

    @property
    def unreadable(self) -> int:
        """Goroutines of the listing that could not be read from the core (0 before it is loaded)."""
        return self._table.unreadable if self._table is not None else 0

    @property
    def reads_directly(self) -> bool:
        """Whether goroutines are read straight from the core (the direct reader), as far as is known yet."""
        return self._direct is not None and not self._direct.failed

    @property
    def note(self) -> str | None:
        """Where the goroutines come from when it is not the direct reader, and why; None when it is."""
        if self._all_stacks:
            return None
        if self._direct is None:
            return "goroutines listed through Delve (the direct reader is off: launch attribute directReader)"
        return self._direct.note or None

    async def close(self) -> None:
        """Stop the background work (the core is being closed)."""
        tasks = [self._refine_task, self._load_task]
        self._refine_task = self._load_task = None
        for task in tasks:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._direct is not None:
            self._direct.close()

    def start_loading(self) -> None:
        """Start reading every goroutine from the core now, in the background (the crash is shown; the
        views follow). Not through Delve: its listing would hold Delve, which serves one request at a
        time, away from the stacks and variables the editor asks for first."""
        if self._direct is not None and not self._direct.failed and self._table is None and self._load_task is None:
            task = asyncio.get_running_loop().create_task(self._load())
            task.add_done_callback(_quiet)
            self._load_task = task

    # -- the full listing -------------------------------------------------------------------------------

    async def ensure_table(self) -> GoroutineTable:
        """The full listing (loading it now, or waiting for the background load)."""
        if self._table is not None:
            return self._table
        if self._load_task is None:
            self._load_task = asyncio.get_running_loop().create_task(self._load())
        task = self._load_task
        try:
            # Shielded: a query its caller cancels must not cancel the listing other queries share.
            return await asyncio.shield(task)
        except BaseException:
            if self._load_task is task and task.done() and (task.cancelled() or task.exception() is not None):
                # A failed load (Delve timed out) is retried by the next query.
                self._load_task = None
            raise

    def _start_background_load(self) -> None:
        if self._table is not None or self._load_task is not None or not self._background_load:
            return
        task = asyncio.get_running_loop().create_task(self._load())
        task.add_done_callback(_quiet)
        self._load_task = task

    async def _load(self) -> GoroutineTable:
        table = await self._read_table()
        callbacks, self._on_loaded = self._on_loaded, []
        for callback in callbacks:
            asyncio.ensure_future(callback()).add_done_callback(_quiet)
        return table

    async def _read_table(self) -> GoroutineTable:
        if self._direct is not None and not self._direct.failed:
            indexed = await self._direct.load(
                self._wait_reasons, self._progress, self._cut_crasher, self._scope, self.crashing_id
            )
            if indexed is not None:
                self._stacks, self._parents, self._all_stacks = indexed.stacks, indexed.parents, True
                self._table, self._count = indexed.table, len(indexed.table)
                return indexed.table
        table = GoroutineTable(self._wait_reasons)
        async for goroutines in self._source.pages(self._listing_page):
            for g in goroutines:
                add_goroutine(table, g)
            if self._progress is not None:
                self._progress(f"read {len(table):,} goroutines")
        self._stacks.ensure_rows(len(table))
        for goroutine_id, frames in self._early_stacks.items():
            row = table.row_of(goroutine_id)
            if row is not None:
                self._stacks.assign(row, frames)
        self._early_stacks.clear()
        self._table = table
        self._count = len(table)
        if self._background_load and not self._all_stacks:
            refine = asyncio.get_running_loop().create_task(self._refine_in_background(table))
            refine.add_done_callback(_quiet)
            self._refine_task = refine
        return table

    async def goroutine_count(self) -> int:
        """How many goroutines the core holds (live ones: not dead)."""
        if self._count is None:
            if self._table is None and self.reads_directly:
                # The direct read takes a fraction of Delve's counting pass, and leaves Delve free for the
                # editor's variables meanwhile.
                await self.ensure_table()
            self._count = len(self._table) if self._table is not None else await self._source.count()
        return self._count

    async def is_small(self) -> bool:
        """Whether the core has few goroutines (Delve lists them in a moment): one Eval, read once."""
        if self._table is not None:
            return len(self._table) < self._fast_threshold
        if self._allglen is None:
            self._allglen = await self._source.allgs_length()
        return self._allglen < self._fast_threshold

    def when_loaded(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` (on the event loop) once every goroutine is read; at once if they are."""
        if self._table is not None:
            asyncio.ensure_future(callback()).add_done_callback(_quiet)
            return
        self._on_loaded.append(callback)

    async def first_goroutines(self, limit: int) -> tuple[list[GoGoroutine], bool]:
        """Up to `limit` goroutines for a thread list (the read listing): all of them when they fit, else
        the first `limit` that are not the runtime's own; and whether there are more."""
        table = await self.ensure_table()
        rows: Sequence[int] = range(len(table))
        more = len(table) > limit
        if more:
            rows = [r for r in rows if not table.is_system(r)][:limit]
        context = RecordContext(self.crashing_id, await self._now(table.max_wait_since))
        return await self._records(table, rows, context), more

    async def goroutine(self, goroutine_id: int) -> GoGoroutine | None:
        """One goroutine's record (None if the core has no such live goroutine)."""
        table = await self.ensure_table()
        row = table.row_of(goroutine_id)
        if row is None:
            return None
        return await self._record(table, row, RecordContext(self.crashing_id, await self._now(table.max_wait_since)))

    async def crash_time_ns(self) -> int | None:
        """When the program died, on the runtime's monotonic clock (None when nothing tells)."""
        return await self._source.crash_time_ns()

    async def _now(self, extra: int = 0) -> int | None:
        return max((t for t in (await self._source.crash_time_ns(), extra) if t), default=None)

    async def read_stack(self, goroutine_id: int, depth: int = STACK_DEPTH) -> tuple[LocationTuple, ...]:
        """(function, file, line) of each frame, innermost first; the crasher's as the runtime printed it."""
        return self._cut_crasher(goroutine_id, await self._source.stack(goroutine_id, depth))

    def _cut_crasher(self, goroutine_id: int, frames: tuple[LocationTuple, ...]) -> tuple[LocationTuple, ...]:
        crash = self._crash
        if goroutine_id != self.crashing_id or crash is None:
            return frames
        if crash.frames:
            # The crasher's stack as the runtime printed it (the crash analysis cut off the signal and
            # re-raise frames that only exist because the process was dying, and named a faulting C
            # frame at its exact PC).
            return tuple((f.function, f.file, f.line) for f in crash.frames)
        if crash.origin_frame_index is not None:
            return frames[crash.origin_frame_index :]
        return frames

    async def _frames_of(self, table: GoroutineTable, row: int) -> Sequence[GoLocation]:
        """A goroutine's stack: the one read for it (or for a goroutine with the same stack), else read now."""
        if table is self._table:
            stack = self._stacks.stack_of(row)
            if stack >= 0:
                return self._stacks.frames[stack]
        goroutine_id = table.ids[row]
        frames = self._early_stacks.get(goroutine_id)
        if frames is None:
            frames = await self.read_stack(goroutine_id)
            if table is self._table:
                self._stacks.assign(row, frames)
        return [GoLocation(*f) for f in frames]

    async def _records(self, table: GoroutineTable, rows: Sequence[int], context: RecordContext) -> list[GoGoroutine]:
        return [await self._located(table, row, context) for row in rows]

    async def _parent(self, goroutine_id: int) -> int | None:
        if self._parents is not None:
            return self._parents.get(goroutine_id)
        return await self._source.parent(goroutine_id)

    async def _record(self, table: GoroutineTable, row: int | None, context: RecordContext) -> GoGoroutine | None:
        return None if row is None else await self._located(table, row, context)

    async def _located(
        self, table: GoroutineTable, row: int, context: RecordContext, frames: Sequence[GoLocation] | None = None
    ) -> GoGoroutine:
        """A goroutine's record, its `userLocation` the innermost frame of your code on its stack (function,
        file and line of that one frame) with the library call it waits in; Delve's user location when
        the stack has no frame of yours."""
        record = table.record(row, context, parent_id=await self._parent(table.ids[row]))
        where = user_location(frames if frames is not None else await self._frames_of(table, row), self._scope)
        if where is None:
            return record
        return attrs.evolve(
            record,
            user_location=GoLocation(where.function, where.file, where.line),
            waiting_in=traceback_name(where.waiting_in) or None,
        )

    async def _ranks(self) -> dict[int, int] | None:
        """goroutine id -> rank among the goroutines to show first, when no goroutine crashed."""
        if self.crashing_id is not None or self.priority is None:
            return None
        return {goroutine_id: rank for rank, goroutine_id in enumerate(await self.priority())}

    # -- queries ------------------------------------------------------------------------------------------

    async def query(self, query: GoroutinesQuery) -> GoroutinesPage:
        """One page of goroutines or groups. Raises UnknownGroup for a `group` no grouping has."""
        # Only the first answer may come from the fast path: once the full listing is loading, a
        # second grouped pass would only delay it (Delve serves one request at a time).
        if self._table is None and self._load_task is None and await self._fast_path_applies(query):
            answer = await self._fast_grouped(query)
            if answer is not None:
                self._start_background_load()
                return answer
        table = await self.ensure_table()
        return await self._exact(table, query)

    async def _fast_path_applies(self, query: GoroutinesQuery) -> bool:
        if self._direct is not None and not self._direct.failed:
            return False  # the direct index is exact and faster than Delve's grouped pass
        if self._allglen is None:
            self._allglen = await self._source.allgs_length()
        return (
            query.group_by is not None
            and query.group_by.kind in _DELVE_KIND
            and query.group is None
            and query.filter.is_empty
            and self._crash is not None
            and self._allglen >= self._fast_threshold
        )

    async def _fast_grouped(self, query: GoroutinesQuery) -> GoroutinesPage | None:
        """Answer from one Delve grouped pass (module docstring); None when the exact path must answer."""
        group_by = query.group_by
        assert group_by is not None
        crashing_g = await self._source.running_or_current(self.crashing_id) if self.crashing_id else None
        if self.crashing_id is not None and crashing_g is None:
            return None
        samples = min(max(query.member_count, STACK_SAMPLES), FAST_MAX_MEMBERS)
        result = await self._source.grouped_pass(
            _DELVE_KIND[group_by.kind], group_by.label_key, samples, FAST_MAX_GROUPS
        )
        if result.too_many_groups:
            return None
        sample = GoroutineTable(self._wait_reasons)
        delve_groups: list[tuple[str, int, list[int]]] = []
        for info, listed in result.groups:
            rows = [r for r in (add_goroutine(sample, g) for g in listed) if r is not None]
            delve_groups.append((info.name, info.total, rows))
        crash_row = add_goroutine(sample, crashing_g) if crashing_g is not None else None
        total = sum(t for _, t, _ in delve_groups)
        stacks: StackTable | None = None
        if group_by.kind == "stack":
            groups, approximate, stacks = await self._fast_stack_groups(sample, delve_groups, crash_row, crashing_g)
        else:
            groups = self._fast_plain_groups(sample, group_by, delve_groups, crash_row)
            approximate = any(len(g.rows) < g.count for g in groups)
        ordered = sorted(groups, key=lambda g: (not g.contains_crashing, -g.count, g.label, g.key))
        ranks = await self._ranks()
        if ranks:
            ordered = _ranked_groups(sample, ordered, ranks)
        context = RecordContext(self.crashing_id, await self._now(sample.max_wait_since))
        answers = []
        for group in page(ordered, query.start, query.count):
            rows = order_rows(sample, group.rows, crash_row if group.contains_crashing else None)
            if ranks:
                rows = _ranked_rows(sample, rows, ranks)
            sampled = sum(group.states.values())
            members = _Members(rows, rows[: query.member_count], stacks, group.stack)
            answers.append(
                await self._group(
                    sample, group_by, context, members,
                    key=group.key, label=group.label, count=group.count, states=group.states,
                    contains_crashing=group.contains_crashing,
                    states_sampled=sampled if sampled < group.count else None,
                    label_from_stack=group_by.kind == "location"
                    and _delve_location_is_yours(sample, rows, self._scope),
                )
            )  # fmt: skip
        self.last_stats = {"path": "fast", "delveGroups": len(delve_groups), "stacksRead": stacks.read if stacks else 0}
        return GoroutinesPage(
            total=total,
            total_unfiltered=total,
            crashing=await self._record(sample, crash_row, context),
            goroutines=(),
            groups=tuple(answers),
            total_groups=len(ordered),
            approximate=approximate,
            note=self.note,
        )

    def _fast_plain_groups(
        self,
        sample: GoroutineTable,
        group_by: GroupBy,
        delve_groups: Sequence[tuple[str, int, list[int]]],
        crash_row: int | None,
    ) -> list[_FastGroup]:
        keys = key_function(sample, group_by)
        groups: dict[str, _FastGroup] = {}
        for _name, total, rows in delve_groups:
            if not rows:
                continue
            key = keys(rows[0])
            group = groups.get(key.key)
            if group is None:
                group = groups[key.key] = _FastGroup(key.key, key.label, 0, [], {})
            group.count += total
            for row in rows:
                group.rows.append(row)
                state = sample.state(row)
                group.states[state] = group.states.get(state, 0) + 1
        if crash_row is not None:
            crash_group = groups.get(keys(crash_row).key)
            if crash_group is not None:
                crash_group.contains_crashing = True
                crashing_id = sample.ids[crash_row]
                if all(sample.ids[r] != crashing_id for r in crash_group.rows):
                    crash_group.rows.append(crash_row)
                    state = sample.state(crash_row)
                    crash_group.states[state] = crash_group.states.get(state, 0) + 1
        return list(groups.values())

    async def _fast_stack_groups(
        self,
        sample: GoroutineTable,
        delve_groups: Sequence[tuple[str, int, list[int]]],
        crash_row: int | None,
        crashing_g: Goroutine | None,
    ) -> tuple[list[_FastGroup], bool, StackTable]:
        """Stack buckets from Delve's location groups: the crashing goroutine is a partition of its own
        (its stack is always read), every other location group is one partition whose sampled stacks
        either agree (one bucket, count from Delve) or not (an unresolved bucket)."""
        stacks = StackTable(self._scope)
        crashing_name = _delve_loc_name(crashing_g) if crashing_g else None
        crashing_id = sample.ids[crash_row] if crash_row is not None else None
        budget = self._stack_budget
        parts: list[tuple[str, int, list[int]]] = []
        for name, total, rows in delve_groups:
            rows = [r for r in rows if sample.ids[r] != crashing_id]
            if name == crashing_name and crash_row is not None:
                total -= 1
            if total > 0:
                parts.append((name, total, rows))
        if crash_row is not None:
            parts.append(("", 1, [crash_row]))
        for _name, _total, rows in sorted(parts, key=lambda p: p[0] != ""):
            for row in rows:
                if budget <= 0:
                    break
                frames = await self.read_stack(sample.ids[row])
                self._early_stacks[sample.ids[row]] = frames
                stacks.assign(row, frames)
                budget -= 1
        groups: dict[str, _FastGroup] = {}
        approximate = False
        for name, total, rows in parts:
            seen = {stacks.stack_of(r) for r in rows} - {-1}
            # Exact only when every member's stack was read and they are all the same.
            approximate = approximate or len(rows) < total or len(seen) != 1
            if len(seen) == 1:
                stack = seen.pop()
                key, label = stacks.keys[stack], stacks.labels[stack]
            else:
                stack = -1
                where = sample.user_location(rows[0]).short if rows else name
                key, label = f"unresolved:{name}", f"{where} (several stacks; not all read)"
            group = groups.get(key)
            if group is None:
                group = groups[key] = _FastGroup(key, label, 0, [], {}, stack=stack)
            group.count += total
            for row in rows:
                group.rows.append(row)
                state = sample.state(row)
                group.states[state] = group.states.get(state, 0) + 1
                if row == crash_row:
                    group.contains_crashing = True
        return list(groups.values()), approximate, stacks

    async def _spend_stack_budget(
        self, table: GoroutineTable, parts: dict[Signature, list[int]], first: Sequence[int], budget: int
    ) -> None:
        """Read the stacks `next_stack_reads` plans, up to `budget`, a chunk at a time under the stack
        lock, so that a background refinement and a query never read the same stack twice and a query
        waits for at most one chunk of the other's reads."""
        while budget > 0:
            reads = next_stack_reads(parts, self._stacks, budget=budget, samples=STACK_SAMPLES, first=first)
            if not reads:
                return
            for chunk_start in range(0, len(reads), _STACK_CHUNK):
                async with self._stack_lock:
                    for row in reads[chunk_start : chunk_start + _STACK_CHUNK]:
                        if self._stacks.stack_of(row) >= 0:
                            continue
                        self._stacks.assign(row, await self.read_stack(table.ids[row]))
                        if self._progress is not None and self._stacks.read % 5000 == 0:
                            self._progress(f"read {self._stacks.read:,} stacks")
            budget -= len(reads)

    async def _read_stacks(
        self, table: GoroutineTable, rows: Sequence[int], crash_row: int | None
    ) -> tuple[dict[Signature, int], bool]:
        """Read stacks within the budget (goviews.grouping) and resolve the partitions."""
        if self._all_stacks:
            return {}, False
        parts = partition(table, rows)
        first = [crash_row] if crash_row is not None else []
        await self._spend_stack_budget(table, parts, first, self._stack_budget)
        return resolve_partitions(parts, self._stacks)

    async def _refine_in_background(self, table: GoroutineTable) -> None:
        """After the listing: read stacks for stack grouping while the user looks at the first answer."""
        crash_row = table.row_of(self.crashing_id)
        parts = partition(table, range(len(table)))
        await self._spend_stack_budget(table, parts, [crash_row] if crash_row is not None else [], self._stack_budget)

    async def _wait_keys(self, table: GoroutineTable, group_by: GroupBy) -> list[GroupKey] | None:
        if group_by.kind != "waitObject":
            return None
        direct = self._direct
        if direct is None or direct.index is None:
            raise ArgumentError(
                "goroutines: grouping by 'waitObject' reads what goroutines are blocked on straight from the "
                f"core, which is not possible here: {self.note}"
            )
        return await asyncio.to_thread(direct.wait_keys, table)

    async def _named_wait_label(
        self, table: GoroutineTable, key: str, label: str, rows: Sequence[int], deadline: float
    ) -> str:
        """A wait-object group's label with the program's name for the object, when a variable holds it."""
        parsed = _WAIT_KEY.match(key)
        if self._namer is None or parsed is None:
            return label
        # Delve finds a goroutine that runs on no thread by reading every goroutine once (16 s on a core
        # with a million): past a few tens of thousands only the globals and the crashing goroutine's frames,
        # which Delve finds on its thread at once, are looked at.
        ids = [table.ids[r] for r in rows[:_NAMING_MEMBERS]] if len(table) <= _FRAME_NAMING_MAX_GOROUTINES else []
        if self.crashing_id is not None:
            ids.append(self.crashing_id)
        name = await self._namer.name(parsed["kind"], int(parsed["address"], 16), ids, deadline=deadline)
        return f"{label} · {name}" if name else label

    async def _exact(self, table: GoroutineTable, query: GoroutinesQuery) -> GoroutinesPage:
        rows = filter_rows(table, query.filter)
        crash_row = table.row_of(self.crashing_id)
        context = RecordContext(self.crashing_id, await self._now(table.max_wait_since))
        answer = GoroutinesPage(
            total=len(rows),
            total_unfiltered=len(table),
            crashing=await self._record(table, crash_row, context),
            goroutines=(),
            groups=(),
            total_groups=0,
            approximate=False,
            note=self.note,
        )
        group_by = query.group_by
        ranks = await self._ranks()
        if group_by is None:
            ordered = order_rows(table, rows, crash_row)
            if ranks:
                ordered = _ranked_rows(table, ordered, ranks)
            shown = page(ordered, query.start, query.count)
            self.last_stats = {"path": "exact"}
            return attrs.evolve(answer, goroutines=tuple(await self._records(table, shown, context)))
        resolved: dict[Signature, int] | None = None
        approximate = False
        if group_by.kind in ("stack", "location"):
            resolved, approximate = await self._read_stacks(table, rows, crash_row)
        row_keys = await self._wait_keys(table, group_by)
        keys = key_function(table, group_by, stacks=self._stacks, resolved=resolved, row_keys=row_keys)
        if group_by.kind == "location":
            assert resolved is not None
            keys = self._your_location_keys(table, resolved, keys)
        groups = build_groups(table, rows, keys, crash_row)
        if ranks:
            groups = _ranked_groups(table, groups, ranks)
        answer = attrs.evolve(answer, total_groups=len(groups), approximate=approximate)
        self.last_stats = {"path": "exact", "stacksRead": self._stacks.read}

        naming_deadline = time.monotonic() + self._naming_budget

        async def group_answer(index: int, shown: Sequence[int]) -> GoroutineGroup:
            group = groups[index]
            stack = self._stacks.index_of_key(group.key) if group_by.kind == "stack" else -1
            label = group.label
            if group_by.kind == "waitObject" and index < _NAMED_GROUPS:
                label = await self._named_wait_label(table, group.key, label, group.rows, naming_deadline)
            return await self._group(
                table, group_by, context, _Members(group.rows, shown, self._stacks, stack),
                key=group.key, label=label, count=group.count, states=group.states,
                contains_crashing=group.contains_crashing, label_from_stack=False,
            )  # fmt: skip

        if query.group is not None:
            index = next((i for i, g in enumerate(groups) if g.key == query.group), None)
            if index is None:
                raise UnknownGroup(
                    f"goroutines: no group has the key {query.group!r} when grouped by "
                    f"{group_by.wire!r} with this filter (ask for the groups again: the keys of stack "
                    "groups can change as more stacks are read)"
                )
            members = page(groups[index].rows, query.start, query.count)
            return attrs.evolve(
                answer,
                goroutines=tuple(await self._records(table, members, context)),
                groups=(await group_answer(index, members),),
            )
        shown_groups = range(len(groups))[query.start : query.start + query.count]
        return attrs.evolve(
            answer,
            groups=tuple([await group_answer(i, groups[i].rows[: query.member_count]) for i in shown_groups]),
        )

    def _your_location_keys(
        self, table: GoroutineTable, resolved: dict[Signature, int], delve: Callable[[int], GroupKey]
    ) -> Callable[[int], GroupKey]:
        """Location groups keyed by each goroutine's place in your code (`user_location`, from its stack,
        read or resolved like a stack group's), labelled `main.locker (main.go:14) · in sync.(*Mutex).Lock`;
        Delve's user location for a goroutine whose stack is not known or has no frame of yours. Both keys
        have one form (`location:FILE:LINE FUNCTION`), so a goroutine keyed either way at the same place
        lands in the same group."""
        by_stack: dict[int, GroupKey | None] = {}

        def keys(row: int) -> GroupKey:
            stack = self._stacks.stack_of(row)
            if stack < 0:
                stack = resolved.get(signature(table, row), -1)
            if stack < 0:
                return delve(row)
            found = by_stack.get(stack, _UNSET)
            if found is _UNSET:
                where = user_location(self._stacks.frames[stack], self._scope)
                key = None if where is None else f"location:{where.file}:{where.line} {where.function}"
                found = by_stack[stack] = None if where is None or key is None else GroupKey(key, where.label)
            return found if found is not None else delve(row)

        return keys

    async def _group(
        self,
        table: GoroutineTable,
        group_by: GroupBy,
        context: RecordContext,
        members: _Members,
        *,
        key: str,
        label: str,
        count: int,
        states: dict[str, int],
        contains_crashing: bool,
        states_sampled: int | None = None,
        label_from_stack: bool = False,
    ) -> GoroutineGroup:
        representative = members.rows[0] if members.rows else None
        frames: tuple[GoLocation, ...] = ()
        if members.stacks is not None and 0 <= members.stack < len(members.stacks.frames):
            frames = tuple(members.stacks.frames[members.stack])
        elif representative is not None:
            # Known already for every goroutine the direct reader read; Delve finds one among a million in seconds.
            frames = tuple(await self._frames_of(table, representative))
        return GoroutineGroup(
            key=key,
            label=_group_label(label, frames, self._scope, from_stack=label_from_stack),
            count=count,
            states=dict(states),
            stack=frames,
            member_ids=tuple(table.ids[r] for r in members.shown),
            contains_crashing=contains_crashing,
            representative=None
            if representative is None
            else await self._located(table, representative, context, frames or None),
            states_sampled=states_sampled,
        )
