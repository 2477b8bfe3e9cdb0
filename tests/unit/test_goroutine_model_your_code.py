"""The goroutine model names each goroutine by its place in your code (unit test, a fake goroutine source).

Delve's user location is the first frame that is not the runtime's: `time.Sleep`, `sync.(*Mutex).Lock`.
The model reads each shown goroutine's stack and takes its innermost frame of your code (function, file and
line of that one frame, `waitingIn` the library call above it), keys location groups by it, labels stack
groups with it, and, when no goroutine crashed, shows the goroutines its `priority` names first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from gocore_dap.backends.delve.api import Function, Goroutine, Location
from gocore_dap.core.goroutines import GoroutineModel
from gocore_dap.core.options import ModelSettings
from gocore_dap.goviews.code_scope import CodeScope
from gocore_dap.goviews.grouping import parse_query
from gocore_dap.goviews.wait_reasons import WaitReasonTable
from gocore_dap.protocol.go_extensions import encode_goroutines_page
from tests.support.go_extensions_schema import validate_go_definition

Frame = tuple[str, str, int]
REASONS = WaitReasonTable.from_strings(["", "sleep", "sync.Mutex.Lock", "force gc (idle)"])
WAITING = 4
GO = "/usr/local/go/src"
APP = "/src/app/main.go"

GOPARK: Frame = ("runtime.gopark", f"{GO}/runtime/proc.go", 463)
SLEEP: Frame = ("time.Sleep", f"{GO}/runtime/time.go", 363)
LOCK: Frame = ("sync.(*Mutex).Lock", f"{GO}/sync/mutex.go", 46)
GOEXIT: Frame = ("runtime.goexit", f"{GO}/runtime/asm_amd64.s", 1771)

# goroutine id -> (wait reason, stack innermost first); Delve's user location is the first non-runtime frame.
GOROUTINES: dict[int, tuple[int, list[Frame]]] = {
    1: (1, [GOPARK, SLEEP, ("main.main", APP, 43), ("runtime.main", f"{GO}/runtime/proc.go", 290), GOEXIT]),
    2: (3, [GOPARK, ("runtime.forcegchelper", f"{GO}/runtime/proc.go", 350), GOEXIT]),
    10: (2, [GOPARK, LOCK, ("main.locker", APP, 14), ("main.main.gowrap3", APP, 40), GOEXIT]),
    11: (2, [GOPARK, LOCK, ("main.locker", APP, 14), ("main.main.gowrap3", APP, 40), GOEXIT]),
    # Sleeps in time.Sleep like main: Delve's user location cannot tell them apart.
    12: (1, [GOPARK, SLEEP, ("main.sleeper", APP, 20), ("main.main.gowrap4", APP, 41), GOEXIT]),
}


def location(frame: Frame) -> Location:
    return Location(pc=1, file=frame[1], line=frame[2], function=Function(frame[0]))


def delve_goroutine(goroutine_id: int) -> Goroutine:
    reason, frames = GOROUTINES[goroutine_id]
    user = next((f for f in frames if not f[0].startswith("runtime.")), frames[0])
    return Goroutine(
        id=goroutine_id, current_loc=location(frames[0]), user_current_loc=location(user),
        go_statement_loc=None, start_loc=location(frames[-2]), thread_id=0, status=WAITING, wait_since=0,
        wait_reason=reason, labels={}, unreadable="",
    )  # fmt: skip


class FakeSource:
    """What the model asks of `core.delve_goroutines.DelveGoroutines`, from GOROUTINES."""

    def __init__(self) -> None:
        self.stacks_read: list[int] = []

    async def pages(self, page_size: int) -> AsyncIterator[Sequence[Goroutine]]:
        yield [delve_goroutine(gid) for gid in sorted(GOROUTINES)]

    async def count(self) -> int:
        return len(GOROUTINES)

    async def allgs_length(self) -> int:
        return len(GOROUTINES)

    async def stack(self, goroutine_id: int, depth: int) -> tuple[Frame, ...]:
        self.stacks_read.append(goroutine_id)
        return tuple(GOROUTINES[goroutine_id][1][:depth])

    async def parent(self, goroutine_id: int) -> int | None:
        return None

    async def crash_time_ns(self) -> int | None:
        return None


def model(priority: list[int] | None = None) -> GoroutineModel:
    async def ranked() -> Sequence[int]:
        return priority or []

    return GoroutineModel(
        FakeSource(),  # type: ignore[arg-type]
        REASONS,
        None,
        ModelSettings(background_load=False),
        scope=CodeScope(main_module="example.com/app", has_build_info=True),
        priority=ranked if priority is not None else None,
    )


def query(raw: dict[str, object]) -> dict[str, object]:
    page = asyncio.run(model().query(parse_query(raw)))
    body = encode_goroutines_page(page)
    for g in body["goroutines"]:
        validate_go_definition("GoGoroutine", g)
    for group in body["groups"]:
        validate_go_definition("GoGoroutineGroup", group)
    return body


def test_user_location_is_the_innermost_frame_of_your_code_with_the_call_it_waits_in() -> None:
    records = {g["id"]: g for g in query({"count": 100})["goroutines"]}  # type: ignore[attr-defined]
    assert records[1]["userLocation"] == {"function": "main.main", "file": APP, "line": 43}
    assert records[1]["waitingIn"] == "time.Sleep"
    assert records[10]["userLocation"] == {"function": "main.locker", "file": APP, "line": 14}
    assert records[10]["waitingIn"] == "sync.(*Mutex).Lock"
    # The runtime's own goroutine has no frame of yours: Delve's location, nothing it waits in.
    assert records[2]["userLocation"]["function"] == "runtime.gopark"
    assert "waitingIn" not in records[2]


def test_location_groups_are_places_in_your_code() -> None:
    groups = query({"groupBy": "location", "count": 100, "memberCount": 100})["groups"]
    by_label = {g["label"]: sorted(g["memberIds"]) for g in groups}  # type: ignore[attr-defined]
    # main and the sleeper both wait in time.Sleep (one Delve location), at two places of theirs.
    assert by_label["main.main (main.go:43) · in time.Sleep"] == [1]
    assert by_label["main.sleeper (main.go:20) · in time.Sleep"] == [12]
    assert by_label["main.locker (main.go:14) · in sync.(*Mutex).Lock"] == [10, 11]
    assert len(groups) == 4  # type: ignore[arg-type]


def test_stack_groups_are_labelled_by_your_code_and_the_runtimes_by_their_start() -> None:
    groups = query({"groupBy": "stack", "count": 100, "memberCount": 100})["groups"]
    labels = {g["label"] for g in groups}  # type: ignore[attr-defined]
    assert "main.locker (main.go:14) · in sync.(*Mutex).Lock < main.main.gowrap3" in labels
    assert "runtime.gopark (proc.go:463) < runtime.forcegchelper" in labels


def test_with_no_crash_the_priority_goroutines_come_first() -> None:
    m = model(priority=[12, 11])
    flat = asyncio.run(m.query(parse_query({"count": 100})))
    assert [g.id for g in flat.goroutines] == [12, 11, 1, 2, 10]
    grouped = asyncio.run(m.query(parse_query({"groupBy": "stack", "count": 100, "memberCount": 100})))
    assert [g.member_ids[0] for g in grouped.groups[:2]] == [12, 11]
    # Within its group the ranked goroutine is the representative, the others follow.
    locker = grouped.groups[1]
    assert locker.member_ids == (11, 10) and locker.representative is not None and locker.representative.id == 11
