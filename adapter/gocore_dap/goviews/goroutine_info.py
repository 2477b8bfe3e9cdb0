"""Goroutines as the `goroutines` request shows them, built from plain values (pure).

`GoGoroutine` is one goroutine of the response (docs/custom-requests.md). `GoroutineTable` holds every
goroutine of a core as parallel arrays of integers with interned locations and label sets, because a
core can hold 100,000 goroutines and one Python object (with four nested locations) per goroutine
would cost hundreds of megabytes; records are built only for the goroutines a response shows.

Minutes waited: the runtime prints `, N minutes` when `(nanotime() - g.waitsince) / 60e9 >= 1`
(traceback.go, goroutineheader), where `waitsince` is the start of the first GC that saw the goroutine
blocked (mgcmark.go) and stays 0 until one did. A core has no clock, so "now" is the latest
monotonic timestamp the runtime left in memory (`estimate_now_ns`): the minutes can come out short by
the few milliseconds between that timestamp and the crash, never long.

Pure: stdlib and attrs only (plus the other goviews modules).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Mapping, Sequence

import attrs

from gocore_dap.goviews.presentation import is_system_goroutine
from gocore_dap.goviews.wait_reasons import SCAN_BIT, STATUS_WAITING, WaitReasonTable, goroutine_state

__all__ = [
    "NANOS_PER_MINUTE",
    "STATUS_SYSCALL",
    "GoGoroutine",
    "GoLocation",
    "GoroutineTable",
    "LocationTable",
    "RecordContext",
    "estimate_now_ns",
    "wait_minutes",
]

NANOS_PER_MINUTE = 60_000_000_000
STATUS_SYSCALL = 3

LocationTuple = tuple[str, str, int]


@attrs.frozen(slots=True)
class GoLocation:
    """A source position: `function` is the Go symbol name, `file` the path the binary records."""

    function: str
    file: str
    line: int

    @property
    def short(self) -> str:
        """`main.worker (main.go:42)`: what a one-line UI shows."""
        base = self.file.rsplit("/", 1)[-1]
        if not self.function:
            return f"{base}:{self.line}" if base else "?"
        return f"{self.function} ({base}:{self.line})" if base else self.function


UNKNOWN_LOCATION = GoLocation("", "", 0)


@attrs.frozen(slots=True)
class GoGoroutine:
    """One goroutine of a `goroutines` response (the `GoGoroutine` of go-extensions.json)."""

    id: int
    state: str
    user_location: GoLocation
    current_location: GoLocation
    start_function: str
    labels: Mapping[str, str]
    crashed: bool
    system: bool
    wait_reason: str | None = None
    wait_minutes: int | None = None
    creation_location: GoLocation | None = None
    parent_id: int | None = None
    thread_id: int | None = None
    # The library function `user_location` waits in, as the runtime prints it (`sync.(*Mutex).Lock`), when
    # the user location came from the goroutine's stack (`user_location.user_location`).
    waiting_in: str | None = None


def wait_minutes(status: int, wait_since_ns: int, now_ns: int | None) -> int | None:
    """The runtime's `N minutes` for a goroutine, or None when the runtime recorded nothing.

    Only waiting goroutines and goroutines in a system call carry a meaningful `waitsince`, and 0
    means no GC has seen the goroutine blocked yet (the runtime prints nothing then either). A value
    of 0 minutes is returned as 0: known, under a minute (the runtime prints nothing below 1).
    """
    base = status & ~SCAN_BIT
    if base not in (STATUS_WAITING, STATUS_SYSCALL) or wait_since_ns <= 0 or now_ns is None:
        return None
    return max(0, (now_ns - wait_since_ns) // NANOS_PER_MINUTE)


def estimate_now_ns(timestamps: Iterable[int | None]) -> int | None:
    """The crash time on the runtime's monotonic clock, as the latest timestamp the runtime stored.

    Every candidate (sched.lastpoll, each P's sysmontick.schedwhen/syscallwhen, the last GC's start
    and end, any goroutine's waitsince) was written at or before the crash, so the maximum is a lower
    bound that sysmon keeps within about 10 ms of the crash while anything runs. Zero means "unset".
    """
    best = max((t for t in timestamps if t is not None and t > 0), default=None)
    return best


@attrs.frozen(slots=True)
class RecordContext:
    """What a record needs beyond its row: which goroutine crashed and the estimated crash time."""

    crashing_id: int | None = None
    now_ns: int | None = None


class LocationTable:
    """Interned source locations: index 0 is the unknown location."""

    __slots__ = ("_index", "_locations", "_search")

    def __init__(self) -> None:
        self._locations: list[GoLocation] = [UNKNOWN_LOCATION]
        self._index: dict[LocationTuple, int] = {("", "", 0): 0}
        self._search: list[str] = [""]

    def intern(self, function: str, file: str, line: int) -> int:
        key = (function, file, line)
        found = self._index.get(key)
        if found is not None:
            return found
        index = len(self._locations)
        # Interning the strings shares them with every other place the same names appear.
        location = GoLocation(sys.intern(function), sys.intern(file), line)
        self._locations.append(location)
        self._index[key] = index
        self._search.append(f"{function} {file}:{line}".lower())
        return index

    def __getitem__(self, index: int) -> GoLocation:
        return self._locations[index]

    def __len__(self) -> int:
        return len(self._locations)

    def search_text(self, index: int) -> str:
        """Lower-cased `function file:line`, for the free-text filter."""
        return self._search[index]


class GoroutineTable:
    """Every goroutine of a core, one row each, as parallel integer arrays (about 90 bytes a row).

    Rows keep the order they were added in (Delve's order: the runtime's `allgs`).
    """

    def __init__(self, wait_reasons: WaitReasonTable | None = None) -> None:
        self.wait_reasons = wait_reasons
        self.ids = array("q")
        self.status = array("q")
        self.wait_reason = array("q")
        self.wait_since = array("q")
        self.thread_id = array("q")
        self.current = array("l")
        self.user = array("l")
        self.go = array("l")
        self.start = array("l")
        self.label_set = array("l")
        self.locations = LocationTable()
        self._label_sets: list[Mapping[str, str]] = [{}]
        self._label_search: list[str] = [""]
        self._label_index: dict[tuple[tuple[str, str], ...], int] = {(): 0}
        self._row_of_id: dict[int, int] = {}
        self._states: dict[tuple[int, int], str] = {}
        self.unreadable = 0
        self.max_wait_since = 0

    def __len__(self) -> int:
        return len(self.ids)

    def _location(self, location: LocationTuple | None) -> int:
        if location is None:
            return 0
        return self.locations.intern(*location)

    def _labels(self, labels: Mapping[str, str] | None) -> int:
        if not labels:
            return 0
        key = tuple(sorted(labels.items()))
        found = self._label_index.get(key)
        if found is not None:
            return found
        index = len(self._label_sets)
        self._label_sets.append(dict(key))
        self._label_search.append(" ".join(f"{k}={v}" for k, v in key).lower())
        self._label_index[key] = index
        return index

    def add(
        self,
        *,
        goroutine_id: int,
        status: int,
        wait_reason: int = 0,
        wait_since: int = 0,
        thread_id: int = 0,
        current: LocationTuple | None = None,
        user: LocationTuple | None = None,
        go: LocationTuple | None = None,
        start: LocationTuple | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> int:
        """Add one goroutine; returns its row. A goroutine seen twice keeps its first row."""
        existing = self._row_of_id.get(goroutine_id)
        if existing is not None:
            return existing
        row = len(self.ids)
        self.ids.append(goroutine_id)
        self.status.append(status)
        self.wait_reason.append(wait_reason)
        self.wait_since.append(wait_since)
        self.thread_id.append(thread_id)
        self.current.append(self._location(current))
        self.user.append(self._location(user))
        self.go.append(self._location(go))
        self.start.append(self._location(start))
        self.label_set.append(self._labels(labels))
        self._row_of_id[goroutine_id] = row
        if wait_since > self.max_wait_since:
            self.max_wait_since = wait_since
        return row

    def extend(
        self,
        *,
        goroutine_ids: Sequence[int],
        statuses: Sequence[int],
        wait_reasons: Sequence[int],
        wait_since: Sequence[int],
        thread_ids: Sequence[int],
        current: Sequence[int],
        user: Sequence[int],
        go: Sequence[int],
        start: Sequence[int],
        label_sets: Sequence[int],
    ) -> None:
        """Add many goroutines at once: equal-length columns, locations and label sets given as indices
        already interned with `intern_location` / `intern_labels` (a core of 100,000 goroutines is built
        from a few hundred distinct stacks, so per-row work is copying integers)."""
        first = len(self.ids)
        self.ids.extend(goroutine_ids)
        self.status.extend(statuses)
        self.wait_reason.extend(wait_reasons)
        self.wait_since.extend(wait_since)
        self.thread_id.extend(thread_ids)
        self.current.extend(current)
        self.user.extend(user)
        self.go.extend(go)
        self.start.extend(start)
        self.label_set.extend(label_sets)
        for offset, goroutine_id in enumerate(goroutine_ids):
            self._row_of_id.setdefault(goroutine_id, first + offset)
        self.max_wait_since = max(self.max_wait_since, max(wait_since, default=0))

    def intern_location(self, location: LocationTuple | None) -> int:
        return self._location(location)

    def intern_labels(self, labels: Mapping[str, str] | None) -> int:
        return self._labels(labels)

    def row_of(self, goroutine_id: int | None) -> int | None:
        if goroutine_id is None:
            return None
        return self._row_of_id.get(goroutine_id)

    def state(self, row: int) -> str:
        """The state text the runtime prints in the goroutine's header (`chan receive`, `running`)."""
        key = (self.status[row], self.wait_reason[row])
        text = self._states.get(key)
        if text is None:
            text = goroutine_state(key[0], key[1], self.wait_reasons)
            self._states[key] = text
        return text

    def labels(self, row: int) -> Mapping[str, str]:
        return self._label_sets[self.label_set[row]]

    def label_search_text(self, row: int) -> str:
        return self._label_search[self.label_set[row]]

    def user_location(self, row: int) -> GoLocation:
        return self.locations[self.user[row] or self.current[row]]

    def start_function(self, row: int) -> str:
        return self.locations[self.start[row]].function

    def is_system(self, row: int) -> bool:
        return is_system_goroutine(self.start_function(row))

    def record(self, row: int, context: RecordContext, *, parent_id: int | None = None) -> GoGoroutine:
        """The response record of one row."""
        status = self.status[row]
        waiting = (status & ~SCAN_BIT) == STATUS_WAITING and self.wait_reason[row] != 0
        go_index = self.go[row]
        thread = self.thread_id[row]
        goroutine_id = self.ids[row]
        return GoGoroutine(
            id=goroutine_id,
            state=self.state(row),
            user_location=self.user_location(row),
            current_location=self.locations[self.current[row]],
            start_function=self.start_function(row),
            labels=self.labels(row),
            crashed=goroutine_id == context.crashing_id,
            system=self.is_system(row),
            wait_reason=self.state(row) if waiting else None,
            wait_minutes=wait_minutes(status, self.wait_since[row], context.now_ns),
            # The runtime never names a creator for goroutine 1 (printcreatedby); Delve reports the
            # runtime's own newproc wrapper there, which would only mislead.
            creation_location=self.locations[go_index] if go_index and goroutine_id != 1 else None,
            parent_id=parent_id,
            thread_id=thread or None,
        )
