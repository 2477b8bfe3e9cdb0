"""The goroutine explorer: the `goroutines` and `crashSummary` requests over one loaded core.

Two ways to answer, chosen per request:

* Exact: one listing of every goroutine (Delve `ListGoroutines`, read in pages so that the adapter
  never holds more than one page of Delve's JSON, ~820 bytes a goroutine) kept in a columnar
  `GoroutineTable` and reused by every later request; filters and groupings then run in the adapter.
* Fast: the first grouped answer on a big core (>= `fast_threshold` goroutines, no filter) comes from
  Delve's own server-side grouping (`GroupBy`, `MaxGroupMembers`, `MaxGroups`), one pass that costs
  less than the full listing (no JSON for 100,000 goroutines). Counts per group are Delve's and exact;
  the member ids, representative and `states` come from a sample of each group, so the answer says
  `approximate: true` and each group says how many members its `states` were counted over
  (`statesSampled`). The full listing then loads in the background, a page at a time, so the
  requests that follow are exact (Delve serves one request at a time, so an editor's own request
  waits at most one page).

Stack grouping reads stacks (Delve `Stacktrace`, ~0.2 ms each) within a budget per request, and, once
the listing is loaded, in the background within the same budget, a chunk at a time; see
`goviews.grouping` for how unread stacks are inferred and when the answer is `approximate`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from gocore_dap.backends.delve.api import (
    GOROUTINE_FIELD_GO_LOC,
    GOROUTINE_FIELD_LABEL,
    GOROUTINE_FIELD_RUNNING,
    GOROUTINE_FIELD_START_LOC,
    GOROUTINE_FIELD_USER_LOC,
    DelveApi,
)
from gocore_dap.backends.delve.errors import BackendError, DelveRpcError
from gocore_dap.goviews.build_info import (
    BuildInfo,
    parse_buildinfo_section,
    parse_modinfo,
    strip_modinfo_sentinels,
)
from gocore_dap.goviews.crash import CrashAnalysis
from gocore_dap.goviews.frames import first_user_frame_index
from gocore_dap.goviews.goroutine_info import (
    GoGoroutine,
    GoLocation,
    GoroutineTable,
    RecordContext,
    estimate_now_ns,
)
from gocore_dap.goviews.grouping import (
    ArgumentError,
    GoroutinesQuery,
    Group,
    GroupBy,
    Signature,
    StackTable,
    build_groups,
    filter_rows,
    key_function,
    next_stack_reads,
    order_rows,
    page,
    parse_query,
    partition,
    resolve_partitions,
)
from gocore_dap.goviews.wait_reasons import WaitReasonTable, is_dead

__all__ = ["ArgumentError", "GoroutineExplorer", "UnknownGroup", "read_build_info"]

log = logging.getLogger(__name__)

LocationTuple = tuple[str, str, int]
Progress = Callable[[str], None]

# From this many goroutines on, the first grouped answer comes from Delve's grouping: an exact stack
# grouping reads every stack (~0.2 ms each), over a second from here on.
FAST_PATH_MIN_GOROUTINES = 5_000
# Stacks read per request for stack grouping (~0.25 ms each with the adapter's share): a 10k core is
# read completely, a 100k one is sampled and refined.
STACK_BUDGET = 12_000
# Stacks read per partition before trusting that a partition has one stack.
STACK_SAMPLES = 8
# Frames per stack: deeper than the runtime's own traceback shows before eliding (100) is not needed
# to tell stacks apart, and the cost grows with depth.
STACK_DEPTH = 64
# Stacks read between two chances for a request to take Delve (~50 ms).
_STACK_CHUNK = 256
# Goroutines per ListGoroutines page of the full listing: ~3 MB of JSON, ~30 MB while parsed.
LISTING_PAGE = 4000
# Fast path bounds: Delve returns whole goroutines for the members, so groups x members is the size.
FAST_MAX_GROUPS = 200
FAST_MAX_MEMBERS = 16
# P structs read for the crash-time estimate; more than this many Ps is rare and adds little.
_MAX_PS = 64
_DELVE_KIND = {
    "location": GOROUTINE_FIELD_USER_LOC,
    "stack": GOROUTINE_FIELD_USER_LOC,
    "creator": GOROUTINE_FIELD_GO_LOC,
    "startFunction": GOROUTINE_FIELD_START_LOC,
    "label": GOROUTINE_FIELD_LABEL,
}
# Timestamps (runtime nanotime) the runtime stores while it runs; see goroutine_info.estimate_now_ns.
_CLOCK_EXPRESSIONS = ("runtime.sched.lastpoll", "runtime.work.tstart", "runtime.memstats.last_gc_nanotime")
_CFG_INT = {"FollowPointers": False, "MaxVariableRecurse": 1, "MaxStringLen": 64, "MaxArrayValues": 0,
            "MaxStructFields": -1}  # fmt: skip
_CFG_TEXT = {"FollowPointers": True, "MaxVariableRecurse": 0, "MaxStringLen": 1 << 20, "MaxArrayValues": 0,
             "MaxStructFields": 0}  # fmt: skip


def _group_label(group_by: GroupBy, label: str, frames: Sequence[GoLocation]) -> str:
    """A location group's label from its representative's stack.

    The key is Delve's userCurrentLoc, which for an inlined call names the enclosing function with the
    callee's file:line (Delve 1.27.2: `main.init.func7 (mutex.go:70)` for an inlined
    `sync.(*Mutex).Lock`); the stack's first user frame names the place as the runtime prints it.
    """
    if group_by.kind != "location" or not frames:
        return label
    index = first_user_frame_index([f.function for f in frames])
    return frames[index].short if index is not None else label


def _quiet(task: asyncio.Task[Any]) -> None:
    """Background work nobody awaits may fail (Delve ended with the session): retrieve its error so
    that asyncio does not log it as never retrieved; a request that needs the work retries it."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.debug("background goroutine work stopped: %s", error)


class UnknownGroup(ArgumentError):
    """`group` names no group of the current grouping."""


def _location(data: Mapping[str, Any] | None) -> LocationTuple | None:
    if not data:
        return None
    function = data.get("function") or {}
    return (function.get("name", "") or "", data.get("file", "") or "", int(data.get("line", 0) or 0))


def add_delve_goroutine(table: GoroutineTable, data: Mapping[str, Any]) -> int | None:
    """Add one goroutine of Delve's JSON to the table; None for an unreadable one (counted) and for one
    the runtime counts as dead (goviews.wait_reasons.is_dead)."""
    if data.get("unreadable"):
        table.unreadable += 1
        return None
    status = int(data.get("status", 0) or 0)
    if is_dead(status, table.wait_reasons):
        # Go 1.26's goroutines kept for cgo callbacks: Delve lists them, the runtime's traceback does not.
        return None
    return table.add(
        goroutine_id=int(data["id"]),
        status=status,
        wait_reason=int(data.get("waitReason", 0) or 0),
        wait_since=int(data.get("waitSince", 0) or 0),
        thread_id=int(data.get("threadID", 0) or 0),
        current=_location(data.get("currentLoc")),
        user=_location(data.get("userCurrentLoc")),
        go=_location(data.get("goStatementLoc")),
        start=_location(data.get("startLoc")),
        labels=data.get("labels") or None,
    )


def _delve_loc_name(data: Mapping[str, Any] | None) -> str:
    """Delve's group name for a location (debugger.formatLoc): `file:line in function`."""
    loc = _location(data) or ("", "", 0)
    return f"{loc[1]}:{loc[2]} in {loc[0] or '?'}"


def _int_of(variable: Mapping[str, Any]) -> int:
    """An integer Delve printed, also inside an atomic wrapper (`atomic.Int64{value: N}`)."""
    for child in variable.get("children") or ():
        if child.get("name") == "value":
            return _int_of(child)
    value = str(variable.get("value", "") or "0")
    return int(value, 0)


@attrs.define
class _FastGroup:
    key: str
    label: str
    count: int
    rows: list[int]
    states: dict[str, int]
    contains_crashing: bool = False
    stack: int = -1  # stack id when grouped by stack


class GoroutineExplorer:
    """Answers `goroutines` and `crashSummary` for one core (see the module docstring)."""

    def __init__(
        self,
        api: DelveApi,
        wait_reasons: WaitReasonTable | None,
        crash: CrashAnalysis | None,
        *,
        fast_threshold: int = FAST_PATH_MIN_GOROUTINES,
        stack_budget: int = STACK_BUDGET,
        listing_page: int = LISTING_PAGE,
        background_load: bool = True,
        progress: Progress | None = None,
    ) -> None:
        self._api = api
        self._wait_reasons = wait_reasons
        self._crash = crash
        self._fast_threshold = fast_threshold
        self._stack_budget = stack_budget
        self._listing_page = listing_page
        self._background_load = background_load
        self._progress = progress
        self._table: GoroutineTable | None = None
        self._load_task: asyncio.Task[GoroutineTable] | None = None
        self._stacks = StackTable()
        # Stacks read before the table existed (fast path), by goroutine id, moved in when it loads.
        self._early_stacks: dict[int, tuple[LocationTuple, ...]] = {}
        self._parents: dict[int, int | None] = {}
        self._parents_readable = True
        self._now_ns: int | None = None
        self._now_read = False
        self._allglen: int | None = None
        self._count: int | None = None
        self._build_info: BuildInfo | None = None
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

    async def close(self) -> None:
        """Stop the background work (the session is ending)."""
        tasks = [self._refine_task, self._load_task]
        self._refine_task = self._load_task = None
        for task in tasks:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # -- the full listing -------------------------------------------------------------------------------

    async def ensure_table(self) -> GoroutineTable:
        """The full listing (loading it now, or waiting for the background load)."""
        if self._table is not None:
            return self._table
        if self._load_task is None:
            self._load_task = asyncio.get_running_loop().create_task(self._load())
        task = self._load_task
        try:
            # Shielded: a request the client cancels must not cancel the listing other requests share.
            return await asyncio.shield(task)
        except BaseException:
            if self._load_task is task and task.done() and (task.cancelled() or task.exception() is not None):
                # A failed load (Delve timed out) is retried by the next request.
                self._load_task = None
            raise

    def _start_background_load(self) -> None:
        if self._table is not None or self._load_task is not None or not self._background_load:
            return
        task = asyncio.get_running_loop().create_task(self._load())
        task.add_done_callback(_quiet)
        self._load_task = task

    async def _load(self) -> GoroutineTable:
        table = GoroutineTable(self._wait_reasons)
        start = 0
        while True:
            result = await self._api.rpc.call("ListGoroutines", {"Start": start, "Count": self._listing_page})
            for data in result.get("Goroutines") or ():
                add_delve_goroutine(table, data)
            next_index = int(result.get("Nextg", -1))
            if self._progress is not None:
                self._progress(f"read {len(table):,} goroutines")
            # Nextg is an index into the runtime's allgs (dead goroutines skipped), -1 at the end.
            if next_index < 0 or next_index <= start:
                break
            start = next_index
        self._stacks.ensure_rows(len(table))
        for goroutine_id, frames in self._early_stacks.items():
            row = table.row_of(goroutine_id)
            if row is not None:
                self._stacks.assign(row, frames)
        self._early_stacks.clear()
        self._table = table
        self._count = len(table)
        if self._background_load:
            refine = asyncio.get_running_loop().create_task(self._refine_in_background(table))
            refine.add_done_callback(_quiet)
            self._refine_task = refine
        return table

    async def goroutine_count(self) -> int:
        """How many goroutines the core holds (live ones: not dead)."""
        if self._count is None:
            if self._table is not None:
                self._count = len(self._table)
            else:
                # One cheap pass: grouping by "running" needs no stack unwinding and returns two groups.
                result = await self._api.rpc.call(
                    "ListGoroutines",
                    {"Start": 0, "Count": 0, "GroupBy": GOROUTINE_FIELD_RUNNING, "GroupByKey": "",
                     "MaxGroupMembers": 1, "MaxGroups": 0},
                )  # fmt: skip
                self._count = sum(int(g.get("Total", 0)) for g in result.get("Groups") or ())
        return self._count

    async def _allgs_length(self) -> int:
        """len(runtime.allgs): every goroutine ever created and not freed, dead ones included. One
        Eval, used only to choose between the fast and the exact path before anything is listed."""
        if self._allglen is None:
            try:
                self._allglen = await self._eval_int("runtime.allglen")
            except (BackendError, ValueError, KeyError):
                self._allglen = 0
        return self._allglen

    # -- small Delve reads ------------------------------------------------------------------------------

    async def _eval(self, expr: str, cfg: Mapping[str, Any], goroutine_id: int = -1) -> Mapping[str, Any]:
        scope = {"GoroutineID": goroutine_id, "Frame": 0, "DeferredCall": 0}
        result = await self._api.rpc.call("Eval", {"Scope": scope, "Expr": expr, "Cfg": dict(cfg)})
        variable: Mapping[str, Any] = result["Variable"]
        if variable.get("unreadable"):
            raise DelveRpcError(f"{expr}: {variable['unreadable']}")
        return variable

    async def _eval_int(self, expr: str, goroutine_id: int = -1) -> int:
        return _int_of(await self._eval(expr, _CFG_INT, goroutine_id))

    async def read_stack(self, goroutine_id: int, depth: int = STACK_DEPTH) -> tuple[LocationTuple, ...]:
        """(function, file, line) of each frame, innermost first.

        Called directly rather than through DelveApi.stacktrace because only three fields are needed
        and building full models for thousands of stacks costs more than Delve's own work.
        """
        try:
            result = await self._api.rpc.call(
                "Stacktrace", {"Id": goroutine_id, "Depth": depth, "Full": False}
            )
        except DelveRpcError as exc:
            # A goroutine whose stack cannot be read is a bucket of its own, with the reason as its frame.
            return ((f"(stack unreadable: {exc})", "", 0),)
        frames: list[LocationTuple] = []
        for loc in result.get("Locations") or ():
            frames.append(_location(loc) or ("", "", 0))
        origin = self._crash.origin_frame_index if self._crash is not None else None
        if goroutine_id == self.crashing_id and origin is not None:
            # The crasher's bucket shows its stack as the runtime printed it, without the signal
            # and re-raise frames that only exist because the process was dying.
            del frames[:origin]
        return tuple(frames)

    async def _parent(self, goroutine_id: int) -> int | None:
        """g.parentGoid (Go 1.21+): not in Delve's listing, so read per shown goroutine and kept."""
        if goroutine_id in self._parents:
            return self._parents[goroutine_id]
        parent: int | None = None
        if self._parents_readable:
            try:
                parent = await self._eval_int("runtime.curg.parentGoid", goroutine_id) or None
            except DelveRpcError as exc:
                if "parentGoid" in str(exc):
                    # An older runtime without the field: stop asking.
                    self._parents_readable = False
            except (ValueError, KeyError):
                parent = None
        self._parents[goroutine_id] = parent
        return parent

    async def crash_time_ns(self) -> int | None:
        """When the program died, on the runtime's monotonic clock (None when nothing tells)."""
        return await self._now()

    async def _now(self, extra: int = 0) -> int | None:
        """The crash time on the runtime's clock (goroutine_info.estimate_now_ns), read once."""
        if not self._now_read:
            self._now_read = True
            candidates: list[int] = []
            for expr in _CLOCK_EXPRESSIONS:
                with contextlib.suppress(BackendError, ValueError, KeyError):
                    candidates.append(await self._eval_int(expr))
            with contextlib.suppress(BackendError, ValueError, KeyError):
                count = await self._eval_int("len(runtime.allp)")
                for index in range(min(count, _MAX_PS)):
                    tick = await self._eval(f"runtime.allp[{index}].sysmontick", _CFG_INT)
                    for child in tick.get("children") or ():
                        if child.get("name") in ("schedwhen", "syscallwhen"):
                            candidates.append(_int_of(child))
            self._now_ns = estimate_now_ns(candidates)
        return estimate_now_ns([self._now_ns, extra])

    async def _records(
        self, table: GoroutineTable, rows: Sequence[int], context: RecordContext
    ) -> list[GoGoroutine]:
        out: list[GoGoroutine] = []
        for row in rows:
            out.append(table.record(row, context, parent_id=await self._parent(table.ids[row])))
        return out

    # -- the goroutines request ----------------------------------------------------------------------------

    async def goroutines(self, args: Mapping[str, Any] | None) -> dict[str, Any]:
        """The body of a `goroutines` response (docs/custom-requests.md). Raises ArgumentError."""
        query = parse_query(args)
        # Only the first answer may come from the fast path: once the full listing is loading, a
        # second grouped pass would only delay it (Delve serves one request at a time).
        if self._table is None and self._load_task is None and await self._fast_path_applies(query):
            body = await self._fast_grouped(query)
            if body is not None:
                self._start_background_load()
                return body
        table = await self.ensure_table()
        return await self._exact(table, query)

    async def _fast_path_applies(self, query: GoroutinesQuery) -> bool:
        return (
            query.group_by is not None
            and query.group_by.kind in _DELVE_KIND
            and query.group is None
            and query.filter.is_empty
            and self._crash is not None
            and await self._allgs_length() >= self._fast_threshold
        )

    async def _crashing_raw(self) -> Mapping[str, Any] | None:
        """Delve's record of the crashing goroutine without listing them all.

        The goroutine of Delve's current thread is the one that crashed (backends.delve.crash_probe) unless
        something selected another thread since; then the running goroutines are listed (a crash runs
        on a thread, and few goroutines do), which also fills Delve's goroutine cache for the grouped
        pass that follows.
        """
        crashing = self.crashing_id
        if crashing is None:
            return None
        state = (await self._api.rpc.call("State", {"NonBlocking": True}))["State"]
        current: Mapping[str, Any] | None = state.get("currentGoroutine")
        if current and int(current.get("id", -1)) == crashing:
            return current
        result = await self._api.rpc.call(
            "ListGoroutines", {"Start": 0, "Count": 0, "Filters": [{"Kind": GOROUTINE_FIELD_RUNNING}]}
        )
        for data in result.get("Goroutines") or ():
            if int(data.get("id", -1)) == crashing:
                found: Mapping[str, Any] = data
                return found
        return None

    async def _fast_grouped(self, query: GoroutinesQuery) -> dict[str, Any] | None:
        """Answer from one Delve grouped pass (module docstring); None when the exact path must answer."""
        group_by = query.group_by
        assert group_by is not None
        crashing_raw = await self._crashing_raw()
        if self.crashing_id is not None and crashing_raw is None:
            return None
        samples = min(max(query.member_count, STACK_SAMPLES), FAST_MAX_MEMBERS)
        result = await self._api.rpc.call(
            "ListGoroutines",
            {"Start": 0, "Count": 0, "GroupBy": _DELVE_KIND[group_by.kind], "GroupByKey": group_by.label_key,
             "MaxGroupMembers": samples, "MaxGroups": FAST_MAX_GROUPS},
        )  # fmt: skip
        if result.get("TooManyGroups"):
            return None
        sample = GoroutineTable(self._wait_reasons)
        members = result.get("Goroutines") or []
        delve_groups: list[tuple[str, int, list[int]]] = []
        for group in result.get("Groups") or ():
            offset, count = int(group.get("Offset", 0)), int(group.get("Count", 0))
            added = (add_delve_goroutine(sample, d) for d in members[offset : offset + count])
            rows = [r for r in added if r is not None]
            delve_groups.append((str(group.get("Name", "")), int(group.get("Total", 0)), rows))
        crash_row = add_delve_goroutine(sample, crashing_raw) if crashing_raw is not None else None
        total = sum(t for _, t, _ in delve_groups)
        stacks: StackTable | None = None
        if group_by.kind == "stack":
            groups, approximate, stacks = await self._fast_stack_groups(sample, delve_groups, crash_row, crashing_raw)
        else:
            groups = self._fast_plain_groups(sample, group_by, delve_groups, crash_row)
            approximate = any(len(g.rows) < g.count for g in groups)
        ordered = sorted(groups, key=lambda g: (not g.contains_crashing, -g.count, g.label, g.key))
        stacks_read = stacks.read if stacks is not None else 0
        context = RecordContext(self.crashing_id, await self._now(sample.max_wait_since))
        group_bodies = []
        for group in page(ordered, query.start, query.count):
            rows = order_rows(sample, group.rows, crash_row if group.contains_crashing else None)
            sampled = sum(group.states.values())
            group_bodies.append(
                await self._group_body(
                    sample, group_by, context,
                    key=group.key, label=group.label, count=group.count, states=group.states,
                    rows=rows, member_rows=rows[: query.member_count],
                    contains_crashing=group.contains_crashing,
                    stacks=stacks, stack=group.stack,
                    states_sampled=sampled if sampled < group.count else None,
                )
            )  # fmt: skip
        crashing = None
        if crash_row is not None:
            crashing = (await self._records(sample, [crash_row], context))[0].to_body()
        self.last_stats = {"path": "fast", "delveGroups": len(delve_groups), "stacksRead": stacks_read}
        return {
            "total": total,
            "totalUnfiltered": total,
            "crashing": crashing,
            "goroutines": [],
            "groups": group_bodies,
            "totalGroups": len(ordered),
            "approximate": approximate,
        }

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
        crashing_raw: Mapping[str, Any] | None,
    ) -> tuple[list[_FastGroup], bool, StackTable]:
        """Stack buckets from Delve's location groups: the crashing goroutine is a partition of its own
        (its stack is always read), every other location group is one partition whose sampled stacks
        either agree (one bucket, count from Delve) or not (an unresolved bucket)."""
        stacks = StackTable()
        crashing_name = _delve_loc_name(crashing_raw.get("userCurrentLoc")) if crashing_raw else None
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
        self, table: GoroutineTable, parts: Mapping[Signature, Sequence[int]], first: Sequence[int], budget: int
    ) -> None:
        """Read the stacks `next_stack_reads` plans, up to `budget`, a chunk at a time under the stack
        lock, so that a background refinement and a request never read the same stack twice and a
        request waits for at most one chunk of the other's reads."""
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
        parts = partition(table, rows)
        first = [crash_row] if crash_row is not None else []
        await self._spend_stack_budget(table, parts, first, self._stack_budget)
        return resolve_partitions(parts, self._stacks)

    async def _refine_in_background(self, table: GoroutineTable) -> None:
        """After the listing: read stacks for stack grouping while the user looks at the first answer."""
        crash_row = table.row_of(self.crashing_id)
        parts = partition(table, range(len(table)))
        await self._spend_stack_budget(table, parts, [crash_row] if crash_row is not None else [], self._stack_budget)

    async def _exact(self, table: GoroutineTable, query: GoroutinesQuery) -> dict[str, Any]:
        rows = filter_rows(table, query.filter)
        crash_row = table.row_of(self.crashing_id)
        context = RecordContext(self.crashing_id, await self._now(table.max_wait_since))
        crashing = None
        if crash_row is not None:
            crashing = (await self._records(table, [crash_row], context))[0].to_body()
        body: dict[str, Any] = {
            "total": len(rows),
            "totalUnfiltered": len(table),
            "crashing": crashing,
            "goroutines": [],
            "groups": [],
            "totalGroups": 0,
            "approximate": False,
        }
        group_by = query.group_by
        if group_by is None:
            shown = page(order_rows(table, rows, crash_row), query.start, query.count)
            body["goroutines"] = [g.to_body() for g in await self._records(table, shown, context)]
            self.last_stats = {"path": "exact"}
            return body
        resolved: dict[Signature, int] | None = None
        if group_by.kind == "stack":
            resolved, body["approximate"] = await self._read_stacks(table, rows, crash_row)
        keys = key_function(table, group_by, stacks=self._stacks, resolved=resolved)
        groups = build_groups(table, rows, keys, crash_row)
        body["totalGroups"] = len(groups)
        self.last_stats = {"path": "exact", "stacksRead": self._stacks.read}
        if query.group is not None:
            group = next((g for g in groups if g.key == query.group), None)
            if group is None:
                raise UnknownGroup(
                    f"goroutines: no group has the key {query.group!r} when grouped by "
                    f"{group_by.wire!r} with this filter (ask for the groups again: the keys of stack "
                    "groups can change as more stacks are read)"
                )
            members = page(group.rows, query.start, query.count)
            body["goroutines"] = [g.to_body() for g in await self._records(table, members, context)]
            body["groups"] = [await self._exact_group_body(table, group_by, context, group, members)]
            return body
        body["groups"] = [
            await self._exact_group_body(table, group_by, context, group, group.rows[: query.member_count])
            for group in page(groups, query.start, query.count)
        ]
        return body

    async def _exact_group_body(
        self,
        table: GoroutineTable,
        group_by: GroupBy,
        context: RecordContext,
        group: Group,
        member_rows: Sequence[int],
    ) -> dict[str, Any]:
        stack = -1
        if group_by.kind == "stack" and group.key.startswith("stack:"):
            stack = self._stacks.index_of_key(group.key)
        return await self._group_body(
            table, group_by, context,
            key=group.key, label=group.label, count=group.count, states=group.states, rows=group.rows,
            member_rows=member_rows, contains_crashing=group.contains_crashing,
            stacks=self._stacks, stack=stack,
        )  # fmt: skip

    async def _group_body(
        self,
        table: GoroutineTable,
        group_by: GroupBy,
        context: RecordContext,
        *,
        key: str,
        label: str,
        count: int,
        states: Mapping[str, int],
        rows: Sequence[int],
        member_rows: Sequence[int],
        contains_crashing: bool,
        stacks: StackTable | None,
        stack: int,
        states_sampled: int | None = None,
    ) -> dict[str, Any]:
        """One GoGoroutineGroup; `rows` ordered, so the first is the representative."""
        representative = rows[0] if rows else None
        if stacks is not None and 0 <= stack < len(stacks.frames):
            frames = stacks.frames[stack]
        elif representative is not None:
            frames = tuple(GoLocation(*f) for f in await self.read_stack(table.ids[representative]))
        else:
            frames = ()
        body: dict[str, Any] = {
            "key": key,
            "label": _group_label(group_by, label, frames),
            "count": count,
            "states": dict(states),
            "stack": [f.to_body() for f in frames],
            "memberIds": [table.ids[r] for r in member_rows],
            "containsCrashing": contains_crashing,
        }
        if representative is not None:
            body["representative"] = (await self._records(table, [representative], context))[0].to_body()
        if states_sampled is not None:
            body["statesSampled"] = states_sampled
        return body

    # -- crashSummary ------------------------------------------------------------------------------------

    async def build_info(self, program: Path | str | None) -> BuildInfo:
        if self._build_info is None:
            info = read_build_info(Path(program)) if program is not None else None
            if info is None:
                info = await self._build_info_from_memory()
            self._build_info = info
        return self._build_info

    async def _build_info_from_memory(self) -> BuildInfo:
        """runtime.modinfo, when the executable's .go.buildinfo could not be read."""
        try:
            variable = await self._eval("runtime.modinfo", _CFG_TEXT)
        except BackendError:
            return BuildInfo()
        text = strip_modinfo_sentinels(str(variable.get("value", "")))
        version = self._crash.go_version if self._crash is not None else ""
        return parse_modinfo(text, version)

    async def crash_summary(self, program: Path | str | None, core: Path | str | None) -> dict[str, Any]:
        """The body of a `crashSummary` response (docs/custom-requests.md)."""
        crash = self._crash
        info = await self.build_info(program)
        body: dict[str, Any] = {
            "kind": crash.kind if crash else "unknown",
            "headline": crash.headline if crash else "",
            "message": crash.message if crash else "",
            "crashingThreadId": crash.crashing_thread_id if crash else 0,
            "panicChain": [
                {"value": p.value_text, "recovered": p.recovered, "goexit": p.goexit}
                for p in (crash.panic_chain if crash else ())
            ],
            "goVersion": (crash.go_version if crash else "") or info.go_version,
            "goroutineCount": await self.goroutine_count(),
            "build": info.to_body(),
            "program": str(program or ""),
            "core": str(core or ""),
        }
        if crash is not None and crash.signal is not None:
            s = crash.signal
            body["signal"] = {"name": s.name, "number": s.number, "code": s.code, "addr": s.addr, "pc": s.pc}
        if crash is not None and crash.crashing_goroutine_id is not None:
            body["crashingGoroutineId"] = crash.crashing_goroutine_id
        return body


def read_build_info(program: Path) -> BuildInfo | None:
    """The module build info from the executable's `.go.buildinfo` section; None if unreadable."""
    from gocore_dap.preflight.elf import ElfFile, ElfFormatError

    try:
        with ElfFile(program) as elf:
            section = elf.section(".go.buildinfo")
            if section is None:
                return None
            data = elf.read_at(section.offset, min(section.size, 1 << 20))
    except (OSError, ElfFormatError):
        return None
    try:
        parsed = parse_buildinfo_section(data)
    except ValueError:
        return None
    if parsed is None:
        return None
    version, modinfo = parsed
    return parse_modinfo(modinfo, version)
