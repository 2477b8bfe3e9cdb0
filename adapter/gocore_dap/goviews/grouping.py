"""Filters, grouping, ordering and paging of goroutines for the `goroutines` request (pure).

Groupings (`groupBy`):

* ``stack``: identical user-level call stacks, like panicparse's buckets. A stack's identity is its
  frames (function, file, line) without the runtime's own frames (`frames.is_runtime_internal`), so
  the runtime's park/wait machinery above the first user frame and `runtime.goexit` below the last do
  not split buckets; a stack with no user frame at all (a runtime goroutine) keeps all its frames.
* ``location``: the user location (Delve's `userCurrentLoc`: where the goroutine is in user code).
* ``waitReason``: the state text the runtime prints (`chan receive`, `IO wait`, `running`, ...).
* ``waitObject``: the objects a goroutine is blocked on (a channel, a sync.Mutex/RWMutex/WaitGroup/Cond,
  a runtime semaphore) and how (`goviews.wait_objects`); goroutines blocked on none are grouped by state.
* ``creator``: the `go` statement that started the goroutine.
* ``startFunction``: the function the goroutine started in.
* ``label:KEY``: the value of the pprof label KEY (an unset and an empty label are one group).

Ordering: the group holding the crashing goroutine first, then the biggest; in any list of goroutines
the crashing goroutine first, then by id. Group keys are stable strings (`location:file:line function`,
`stack:<hash>`), so a client can page a group's members with `group` after asking for the groups.

Reading every stack of a big core is slow (Delve: ~0.2 ms each, so ~20 s for 100k), so stack grouping
works from what has been read: `signature` partitions goroutines by everything Delve's listing tells
(locations, state) — goroutines that differ there cannot share a stack — `next_stack_reads` chooses
which stacks to read within a budget (a sample of every partition first, then every member of the
partitions whose samples disagree), and `resolve_partitions` assigns unread goroutines to the stack
their partition's samples agree on. A goroutine whose stack was inferred, or not resolved at all,
makes the answer `approximate`.

Pure: stdlib and attrs only (plus the other goviews modules).
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from gocore_dap.goviews.code_scope import CodeScope
from gocore_dap.goviews.frames import is_runtime_internal
from gocore_dap.goviews.goroutine_info import GoLocation, GoroutineTable
from gocore_dap.goviews.user_location import stack_label
from gocore_dap.goviews.wait_reasons import SCAN_BIT, STATUS_WAITING

__all__ = [
    "DEFAULT_COUNT",
    "DEFAULT_MEMBER_COUNT",
    "GROUP_KINDS",
    "MAX_COUNT",
    "ArgumentError",
    "GoroutineFilter",
    "GoroutinesQuery",
    "Group",
    "GroupBy",
    "GroupKey",
    "Signature",
    "StackTable",
    "build_groups",
    "filter_rows",
    "key_function",
    "next_stack_reads",
    "order_groups",
    "order_rows",
    "page",
    "parse_group_by",
    "parse_query",
    "partition",
    "resolve_partitions",
    "signature",
    "stack_identity",
]

DEFAULT_COUNT = 100
DEFAULT_MEMBER_COUNT = 10
# Bounds what one response can carry: 10,000 goroutine records are about 5 MB of JSON.
MAX_COUNT = 10_000
GROUP_KINDS = ("none", "stack", "location", "waitReason", "waitObject", "creator", "startFunction")
LABEL_PREFIX = "label:"

LocationTuple = tuple[str, str, int]
Signature = tuple[int, int, int, int, int, int]

_QUERY_KEYS = ("start", "count", "groupBy", "group", "memberCount", "filter")
_FILTER_KEYS = ("states", "function", "label", "creator", "userOnly", "text")


class ArgumentError(ValueError):
    """The request's arguments are wrong; the message says which and how to fix them."""


# --- arguments -------------------------------------------------------------------------------------------


@attrs.frozen
class GroupBy:
    kind: str  # "stack", "location", "waitReason", "waitObject", "creator", "startFunction" or "label"
    label_key: str = ""

    @property
    def wire(self) -> str:
        return f"{LABEL_PREFIX}{self.label_key}" if self.kind == "label" else self.kind


@attrs.frozen
class GoroutineFilter:
    states: frozenset[str] = frozenset()
    function: str = ""
    label_key: str = ""
    label_value: str | None = None  # None: any value of label_key
    creator: str = ""
    user_only: bool = False
    text: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.states or self.function or self.label_key or self.creator or self.user_only or self.text)


@attrs.frozen
class GoroutinesQuery:
    start: int = 0
    count: int = DEFAULT_COUNT
    group_by: GroupBy | None = None
    group: str | None = None
    member_count: int = DEFAULT_MEMBER_COUNT
    filter: GoroutineFilter = GoroutineFilter()


def parse_group_by(value: object) -> GroupBy | None:
    """`"none"` (or absent) -> None; `"label:KEY"` -> a label grouping; else one of GROUP_KINDS."""
    if value is None or value == "none":
        return None
    if not isinstance(value, str):
        raise ArgumentError(f"goroutines: 'groupBy' must be a string, got {value!r}")
    if value.startswith(LABEL_PREFIX):
        key = value[len(LABEL_PREFIX) :]
        if not key:
            raise ArgumentError('goroutines: \'groupBy\' "label:" needs a label key, e.g. "label:tenant"')
        return GroupBy("label", key)
    if value not in GROUP_KINDS:
        kinds = ", ".join(f'"{k}"' for k in GROUP_KINDS)
        raise ArgumentError(f"goroutines: 'groupBy' must be one of {kinds} or \"label:KEY\", got {value!r}")
    return GroupBy(value)


def _int(raw: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ArgumentError(f"goroutines: '{key}' must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ArgumentError(f"goroutines: '{key}' must be between {low} and {high}, got {value}")
    return value


def _str(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ArgumentError(f"goroutines: '{where}{key}' must be a string, got {value!r}")
    return value


def _unknown_keys(raw: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    # A misspelt key would otherwise be ignored and the answer silently unfiltered.
    unknown = sorted(set(raw) - set(known))
    if unknown:
        names = ", ".join(f"'{where}{k}'" for k in unknown)
        allowed = ", ".join(f"'{where}{k}'" for k in known)
        raise ArgumentError(f"goroutines: unknown argument {names} (known: {allowed})")


def _parse_filter(raw: object) -> GoroutineFilter:
    if raw is None:
        return GoroutineFilter()
    if not isinstance(raw, Mapping):
        raise ArgumentError(f"goroutines: 'filter' must be an object, got {raw!r}")
    _unknown_keys(raw, _FILTER_KEYS, "filter.")
    states = raw.get("states", [])
    if states is None:
        states = []
    if not isinstance(states, list) or not all(isinstance(s, str) for s in states):
        raise ArgumentError(f"goroutines: 'filter.states' must be an array of strings, got {states!r}")
    user_only = raw.get("userOnly", False)
    if user_only is None:
        user_only = False
    if not isinstance(user_only, bool):
        raise ArgumentError(f"goroutines: 'filter.userOnly' must be true or false, got {user_only!r}")
    label = _str(raw, "label", "filter.")
    label_key, label_value = label, None
    if "=" in label:
        label_key, label_value = label.split("=", 1)
    if label and not label_key:
        raise ArgumentError(f'goroutines: \'filter.label\' must be "key=value" or "key", got {label!r}')
    return GoroutineFilter(
        states=frozenset(states),
        function=_str(raw, "function", "filter."),
        label_key=label_key,
        label_value=label_value,
        creator=_str(raw, "creator", "filter."),
        user_only=user_only,
        text=_str(raw, "text", "filter.").strip(),
    )


def parse_query(raw: object) -> GoroutinesQuery:
    """Validate the `goroutines` arguments; raises ArgumentError with a message a user can act on."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ArgumentError(f"goroutines: 'arguments' must be an object, got {raw!r}")
    _unknown_keys(raw, _QUERY_KEYS, "")
    group_by = parse_group_by(raw.get("groupBy"))
    group = raw.get("group")
    if group is not None:
        if not isinstance(group, str):
            raise ArgumentError(f"goroutines: 'group' must be a string (a group's key), got {group!r}")
        if group_by is None:
            raise ArgumentError("goroutines: 'group' needs 'groupBy' (the grouping the key comes from)")
    return GoroutinesQuery(
        start=_int(raw, "start", 0, 0, 2**31 - 1),
        count=_int(raw, "count", DEFAULT_COUNT, 0, MAX_COUNT),
        group_by=group_by,
        group=group,
        member_count=_int(raw, "memberCount", DEFAULT_MEMBER_COUNT, 0, MAX_COUNT),
        filter=_parse_filter(raw.get("filter")),
    )


# --- filtering ---------------------------------------------------------------------------------------------


class _Matcher:
    """One filter over a table; decisions that depend on a location or label set are cached, so
    100,000 rows cost one dictionary lookup each for them."""

    def __init__(self, table: GoroutineTable, flt: GoroutineFilter) -> None:
        self.table = table
        self.flt = flt
        self.function = flt.function.lower()
        self.creator = flt.creator.lower()
        self.text = flt.text.lower()
        self._by_user: dict[int, bool] = {}
        self._by_go: dict[int, bool] = {}
        self._by_start: dict[int, bool] = {}
        self._by_labels: dict[int, bool] = {}

    def _function_ok(self, row: int) -> bool:
        index = self.table.user[row] or self.table.current[row]
        ok = self._by_user.get(index)
        if ok is None:
            ok = self.function in self.table.locations[index].function.lower()
            self._by_user[index] = ok
        return ok

    def _creator_ok(self, row: int) -> bool:
        index = self.table.go[row]
        ok = self._by_go.get(index)
        if ok is None:
            ok = bool(index) and self.creator in self.table.locations[index].function.lower()
            self._by_go[index] = ok
        return ok

    def _user_ok(self, row: int) -> bool:
        index = self.table.start[row]
        ok = self._by_start.get(index)
        if ok is None:
            ok = not self.table.is_system(row)
            self._by_start[index] = ok
        return ok

    def _label_ok(self, row: int) -> bool:
        index = self.table.label_set[row]
        ok = self._by_labels.get(index)
        if ok is None:
            labels = self.table.labels(row)
            if self.flt.label_value is None:
                ok = self.flt.label_key in labels
            else:
                ok = labels.get(self.flt.label_key) == self.flt.label_value
            self._by_labels[index] = ok
        return ok

    def _text_ok(self, row: int) -> bool:
        table, text = self.table, self.text
        locations = table.locations
        return (
            text in str(table.ids[row])
            or text in table.state(row).lower()
            or text in locations.search_text(table.user[row])
            or text in locations.search_text(table.current[row])
            or text in locations.search_text(table.go[row])
            or text in locations.search_text(table.start[row])
            or text in table.label_search_text(row)
        )

    def __call__(self, row: int) -> bool:
        flt = self.flt
        if flt.states and self.table.state(row) not in flt.states:
            return False
        if flt.user_only and not self._user_ok(row):
            return False
        if self.function and not self._function_ok(row):
            return False
        if self.creator and not self._creator_ok(row):
            return False
        if flt.label_key and not self._label_ok(row):
            return False
        return not (self.text and not self._text_ok(row))


def filter_rows(table: GoroutineTable, flt: GoroutineFilter) -> list[int]:
    """The rows that match the filter, in table order."""
    if flt.is_empty:
        return list(range(len(table)))
    match = _Matcher(table, flt)
    return [row for row in range(len(table)) if match(row)]


# --- stacks -------------------------------------------------------------------------------------------------


def stack_identity(frames: Sequence[LocationTuple]) -> tuple[LocationTuple, ...]:
    """What makes two stacks the same bucket: their user frames, or every frame if none is user's."""
    user = tuple(f for f in frames if not is_runtime_internal(f[0]))
    return user if user else tuple(frames)


def _digest(text: str) -> str:
    # hashlib, not hash(): keys must be the same in every process (a client keeps them).
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


class StackTable:
    """The stacks read so far: each row's stack id (-1 while unread) and each stack's frames.

    With a `scope` (code_scope.CodeScope) a stack's label is its place in your code
    (`user_location.stack_label`: `main.locker (main.go:14) · in sync.(*Mutex).Lock < main.main.gowrap3`);
    without one, its first non-runtime frame and that frame's caller.
    """

    def __init__(self, scope: CodeScope | None = None) -> None:
        self.scope = scope
        self.of_row = array("l")
        self._ids: dict[tuple[LocationTuple, ...], int] = {}
        self.frames: list[tuple[GoLocation, ...]] = []
        self.keys: list[str] = []
        self.labels: list[str] = []
        self._by_key: dict[str, int] = {}
        self.read = 0

    def ensure_rows(self, rows: int) -> None:
        if len(self.of_row) < rows:
            self.of_row.extend([-1] * (rows - len(self.of_row)))

    def stack_of(self, row: int) -> int:
        return self.of_row[row] if row < len(self.of_row) else -1

    def index_of_key(self, key: str) -> int:
        """The stack id of a group key (-1 if no stack has it)."""
        return self._by_key.get(key, -1)

    def assign(self, row: int, frames: Sequence[LocationTuple]) -> int:
        """Record the stack read for `row` (frames innermost first); returns its stack id."""
        return self.assign_rows((row,), frames)

    def assign_rows(self, rows: Sequence[int], frames: Sequence[LocationTuple]) -> int:
        """Record one stack for every row of `rows` (goroutines known to share it); returns its stack id."""
        if rows:
            self.ensure_rows(max(rows) + 1)
        identity = stack_identity(frames)
        stack = self._ids.get(identity)
        if stack is None:
            stack = len(self.frames)
            self._ids[identity] = stack
            locations = tuple(GoLocation(*f) for f in frames)
            self.frames.append(locations)
            self.keys.append("stack:" + _digest(repr(identity)))
            self.labels.append(stack_label(locations, self.scope) if self.scope is not None else _stack_label(identity))
            self._by_key[self.keys[stack]] = stack
        of_row = self.of_row
        for row in rows:
            if of_row[row] < 0:
                self.read += 1
            of_row[row] = stack
        return stack


def _stack_label(identity: Sequence[LocationTuple]) -> str:
    """`main.worker (main.go:42) < main.run`: the top user frame and its caller's function."""
    if not identity:
        return "(empty stack)"
    top = GoLocation(*identity[0]).short
    if len(identity) > 1:
        return f"{top} < {identity[1][0]}"
    return top


def signature(table: GoroutineTable, row: int) -> Signature:
    """Everything Delve's listing says about a goroutine's stack: two goroutines that differ here
    cannot have the same stack (the state is in it because the same user frame can sit on different
    runtime paths, e.g. a network read in `IO wait` or queued on the fd lock in `semacquire`)."""
    status = table.status[row] & ~SCAN_BIT
    reason = table.wait_reason[row] if status == STATUS_WAITING else 0
    return (table.user[row], table.current[row], table.go[row], table.start[row], status, reason)


def partition(table: GoroutineTable, rows: Iterable[int]) -> dict[Signature, list[int]]:
    parts: dict[Signature, list[int]] = {}
    for row in rows:
        parts.setdefault(signature(table, row), []).append(row)
    return parts


def _spread(rows: Sequence[int], want: int, stacks: StackTable) -> list[int]:
    """Up to `want` unread rows spread evenly over `rows` (the start, middle and end of a partition
    are likelier to differ than neighbours)."""
    unread = [r for r in rows if stacks.stack_of(r) < 0]
    if want <= 0 or not unread:
        return []
    if len(unread) <= want:
        return unread
    step = len(unread) / want
    return [unread[int(i * step)] for i in range(want)]


def next_stack_reads(
    partitions: Mapping[Signature, Sequence[int]],
    stacks: StackTable,
    *,
    budget: int,
    samples: int,
    first: Iterable[int] = (),
) -> list[int]:
    """The rows whose stacks to read next, at most `budget` (empty: nothing left worth reading).

    Everything, when that fits the budget (the grouping is then exact); else `first` (e.g. the
    crashing goroutine), then `samples` rows of every partition not sampled yet, biggest first; once
    all are sampled, every unread row of the partitions whose read stacks disagree, smallest first (to
    settle as many goroutines as possible per read).
    """
    if budget <= 0:
        return []
    unread_total = sum(1 for rows in partitions.values() for r in rows if stacks.stack_of(r) < 0)
    if unread_total == 0:
        return []
    if unread_total <= budget:
        return [r for rows in partitions.values() for r in rows if stacks.stack_of(r) < 0]
    reads = [r for r in first if stacks.stack_of(r) < 0]
    for rows in sorted(partitions.values(), key=len, reverse=True):
        known = sum(1 for r in rows if stacks.stack_of(r) >= 0)
        reads.extend(_spread(rows, samples - known, stacks))
    if reads:
        return list(dict.fromkeys(reads))[:budget]
    for rows in sorted(partitions.values(), key=len):
        seen = {stacks.stack_of(r) for r in rows} - {-1}
        if len(seen) > 1:
            reads.extend(r for r in rows if stacks.stack_of(r) < 0)
            if len(reads) >= budget:
                break
    return reads[:budget]


def resolve_partitions(
    partitions: Mapping[Signature, Sequence[int]], stacks: StackTable
) -> tuple[dict[Signature, int], bool]:
    """Each partition's stack when all its read members agree (-1: unresolved), and whether any row's
    stack is inferred or unresolved rather than read (the grouping is then approximate)."""
    resolved: dict[Signature, int] = {}
    approximate = False
    for sig, rows in partitions.items():
        seen: set[int] = set()
        unread = False
        for row in rows:
            stack = stacks.stack_of(row)
            if stack < 0:
                unread = True
            else:
                seen.add(stack)
        approximate = approximate or unread
        resolved[sig] = seen.pop() if len(seen) == 1 else -1
    return resolved, approximate


# --- grouping -----------------------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class GroupKey:
    key: str
    label: str


def _location_key(prefix: str, location: GoLocation) -> GroupKey:
    return GroupKey(f"{prefix}:{location.file}:{location.line} {location.function}", location.short)


def key_function(
    table: GoroutineTable,
    group_by: GroupBy,
    *,
    stacks: StackTable | None = None,
    resolved: Mapping[Signature, int] | None = None,
    row_keys: Sequence[GroupKey] | None = None,
) -> Callable[[int], GroupKey]:
    """row -> its group. Stack grouping needs the stacks read so far and `resolve_partitions`' answer;
    grouping by wait object needs each row's key worked out from the core (`row_keys`)."""
    if group_by.kind == "waitObject":
        if row_keys is None:
            raise ValueError("grouping by wait object needs each row's key")
        return row_keys.__getitem__

    cache: dict[Any, GroupKey] = {}
    locations = table.locations

    if group_by.kind == "location":

        def by_location(row: int) -> GroupKey:
            index = table.user[row] or table.current[row]
            found = cache.get(index)
            if found is None:
                found = cache[index] = _location_key("location", locations[index])
            return found

        return by_location

    if group_by.kind == "creator":
        none = GroupKey("creator:", "(no creator recorded)")

        def by_creator(row: int) -> GroupKey:
            index = table.go[row]
            if not index or table.ids[row] == 1:
                return none
            found = cache.get(index)
            if found is None:
                found = cache[index] = _location_key("creator", locations[index])
            return found

        return by_creator

    if group_by.kind == "startFunction":

        def by_start(row: int) -> GroupKey:
            index = table.start[row]
            found = cache.get(index)
            if found is None:
                name = locations[index].function
                found = cache[index] = GroupKey(f"startFunction:{name}", name or "(unknown start function)")
            return found

        return by_start

    if group_by.kind == "waitReason":

        def by_state(row: int) -> GroupKey:
            state = table.state(row)
            found = cache.get(state)
            if found is None:
                found = cache[state] = GroupKey(f"waitReason:{state}", state)
            return found

        return by_state

    if group_by.kind == "label":
        label_key = group_by.label_key
        unset = GroupKey(f"label:{label_key}", f"no {label_key} label")

        def by_label(row: int) -> GroupKey:
            value = table.labels(row).get(label_key, "")
            if not value:
                return unset
            found = cache.get(value)
            if found is None:
                found = cache[value] = GroupKey(f"label:{label_key}={value}", f"{label_key}={value}")
            return found

        return by_label

    if group_by.kind == "stack":
        if stacks is None or resolved is None:
            raise ValueError("stack grouping needs the stacks read and the resolved partitions")

        def by_stack(row: int) -> GroupKey:
            stack = stacks.stack_of(row)
            sig: Signature | None = None
            if stack < 0:
                sig = signature(table, row)
                stack = resolved.get(sig, -1)
            if stack >= 0:
                found = cache.get(stack)
                if found is None:
                    found = cache[stack] = GroupKey(stacks.keys[stack], stacks.labels[stack])
                return found
            assert sig is not None
            found = cache.get(sig)
            if found is None:
                where = table.user_location(row).short
                found = cache[sig] = GroupKey(
                    "unresolved:" + _digest(repr(sig)),
                    f"{where} [{table.state(row)}] (several stacks; not all read)",
                )
            return found

        return by_stack

    raise ValueError(f"unknown grouping {group_by.kind!r}")


@attrs.define(slots=True)
class Group:
    key: str
    label: str
    rows: list[int] = attrs.field(factory=list)
    states: dict[str, int] = attrs.field(factory=dict)
    contains_crashing: bool = False

    @property
    def count(self) -> int:
        return len(self.rows)


def order_rows(table: GoroutineTable, rows: Iterable[int], crashing_row: int | None) -> list[int]:
    """The crashing goroutine first, then by goroutine id."""
    ids = table.ids
    return sorted(rows, key=lambda r: (r != crashing_row, ids[r]))


def order_groups(groups: Iterable[Group]) -> list[Group]:
    """The crashing goroutine's group first, then the biggest; ties by label for a stable order."""
    return sorted(groups, key=lambda g: (not g.contains_crashing, -g.count, g.label, g.key))


def build_groups(
    table: GoroutineTable, rows: Iterable[int], keys: Callable[[int], GroupKey], crashing_row: int | None
) -> list[Group]:
    """Group `rows`, count states, order members and groups."""
    groups: dict[str, Group] = {}
    for row in rows:
        key = keys(row)
        group = groups.get(key.key)
        if group is None:
            group = groups[key.key] = Group(key.key, key.label)
        group.rows.append(row)
        state = table.state(row)
        group.states[state] = group.states.get(state, 0) + 1
        if row == crashing_row:
            group.contains_crashing = True
    for group in groups.values():
        group.rows = order_rows(table, group.rows, crashing_row if group.contains_crashing else None)
    return order_groups(groups.values())


def page(items: Sequence[Any], start: int, count: int) -> list[Any]:
    return list(items[start : start + count])
