"""Goroutine records, filters, grouping, ordering, paging and stack planning (goviews, pure)."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gocore_dap.goviews.build_info import (
    BUILDINFO_MAGIC,
    parse_buildinfo_section,
    parse_modinfo,
    strip_modinfo_sentinels,
)
from gocore_dap.goviews.goroutine_info import (
    NANOS_PER_MINUTE,
    GoroutineTable,
    RecordContext,
    estimate_now_ns,
    wait_minutes,
)
from gocore_dap.goviews.grouping import (
    ArgumentError,
    GoroutineFilter,
    GroupBy,
    Signature,
    StackTable,
    build_groups,
    filter_rows,
    key_function,
    next_stack_reads,
    order_rows,
    page,
    parse_group_by,
    parse_query,
    partition,
    resolve_partitions,
    stack_identity,
)
from gocore_dap.goviews.wait_reasons import WaitReasonTable
from gocore_dap.protocol.go_extensions import encode_build_info, encode_goroutine

# A wait-reason table shaped like a target's: index = waitReason.
REASONS = WaitReasonTable.from_strings(["", "chan receive", "chan send", "IO wait", "sync.Mutex.Lock", "sleep"])
RUNNING, RUNNABLE, SYSCALL, WAITING = 2, 1, 3, 4
SCAN = 0x1000

MAIN = ("main.main", "/src/app/main.go", 20)
WORKER = ("main.worker", "/src/app/worker.go", 42)
HANDLER = ("example.com/app/http.(*Server).handle", "/src/app/http/server.go", 77)
GOPARK = ("runtime.gopark", "/go/src/runtime/proc.go", 463)
GO_SITE = ("main.main", "/src/app/main.go", 15)
GO_SITE_2 = ("main.spawn", "/src/app/main.go", 30)
START_WORKER = ("main.worker", "/src/app/worker.go", 40)
START_RUNTIME = ("runtime.forcegchelper", "/go/src/runtime/proc.go", 300)
START_MAIN = ("runtime.main", "/go/src/runtime/proc.go", 140)


def make_table() -> GoroutineTable:
    """Goroutine 1 (main), a crashing worker (7), workers waiting in two states, a handler with
    labels, and a runtime goroutine."""
    table = GoroutineTable(REASONS)
    table.add(goroutine_id=1, status=WAITING, wait_reason=1, current=GOPARK, user=MAIN, go=GO_SITE,
              start=START_MAIN)  # fmt: skip
    table.add(goroutine_id=7, status=RUNNING, wait_reason=3, thread_id=1234, current=WORKER, user=WORKER,
              go=GO_SITE, start=START_WORKER, wait_since=5)  # fmt: skip
    for gid in (10, 11, 12):
        table.add(goroutine_id=gid, status=WAITING, wait_reason=1, current=GOPARK, user=WORKER, go=GO_SITE,
                  start=START_WORKER, wait_since=100 * NANOS_PER_MINUTE)  # fmt: skip
    table.add(goroutine_id=13, status=WAITING | SCAN, wait_reason=3, current=GOPARK, user=WORKER, go=GO_SITE_2,
              start=START_WORKER)  # fmt: skip
    table.add(goroutine_id=20, status=WAITING, wait_reason=4, current=GOPARK, user=HANDLER, go=GO_SITE_2,
              start=START_WORKER, labels={"tenant": "acme", "job": "export"})  # fmt: skip
    table.add(goroutine_id=21, status=WAITING, wait_reason=4, current=GOPARK, user=HANDLER, go=GO_SITE_2,
              start=START_WORKER, labels={"tenant": "globex"})  # fmt: skip
    table.add(goroutine_id=2, status=WAITING, wait_reason=5, current=GOPARK, user=GOPARK, go=GO_SITE,
              start=START_RUNTIME)  # fmt: skip
    return table


def ids(table: GoroutineTable, rows: Sequence[int]) -> list[int]:
    return [table.ids[r] for r in rows]


# --- arguments ------------------------------------------------------------------------------------------


def test_parse_query_defaults() -> None:
    query = parse_query(None)
    assert (query.start, query.count, query.group_by, query.group, query.member_count) == (0, 100, None, None, 10)
    assert query.filter.is_empty


def test_parse_query_reads_every_argument() -> None:
    query = parse_query({
        "start": 5, "count": 7, "groupBy": "label:tenant", "group": "label:tenant=acme", "memberCount": 3,
        "filter": {"states": ["chan receive"], "function": "Worker", "label": "tenant=acme", "creator": "spawn",
                   "userOnly": True, "text": " 42 "},
    })  # fmt: skip
    assert (query.start, query.count, query.member_count, query.group) == (5, 7, 3, "label:tenant=acme")
    assert query.group_by == GroupBy("label", "tenant")
    assert query.filter == GoroutineFilter(frozenset({"chan receive"}), "Worker", "tenant", "acme", "spawn", True, "42")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"groupBy": "stacks"}, "'groupBy' must be one of"),
        ({"groupBy": "label:"}, "needs a label key"),
        ({"groupBy": 3}, "'groupBy' must be a string"),
        ({"count": -1}, "'count' must be between 0 and 10000"),
        ({"count": "10"}, "'count' must be an integer"),
        ({"start": True}, "'start' must be an integer"),
        ({"group": "stack:x"}, "'group' needs 'groupBy'"),
        ({"groupby": "stack"}, "unknown argument 'groupby'"),
        ({"filter": {"state": ["running"]}}, "unknown argument 'filter.state'"),
        ({"filter": {"states": "running"}}, "'filter.states' must be an array of strings"),
        ({"filter": {"userOnly": "yes"}}, "'filter.userOnly' must be true or false"),
        ({"filter": {"label": "=acme"}}, "'filter.label' must be"),
        ({"filter": []}, "'filter' must be an object"),
        ([], "'arguments' must be an object"),
    ],
)
def test_parse_query_rejects_bad_arguments(arguments: object, message: str) -> None:
    with pytest.raises(ArgumentError, match=message.replace("(", r"\(")):
        parse_query(arguments)


def test_parse_group_by() -> None:
    assert parse_group_by("none") is None
    assert parse_group_by(None) is None
    assert parse_group_by("stack") == GroupBy("stack")
    assert parse_group_by("label:a:b").label_key == "a:b"  # type: ignore[union-attr]
    assert GroupBy("label", "tenant").wire == "label:tenant"


# --- records --------------------------------------------------------------------------------------------


def test_wait_minutes_follows_the_runtime() -> None:
    now = 1_000 * NANOS_PER_MINUTE
    assert wait_minutes(WAITING, now - 3 * NANOS_PER_MINUTE - 1, now) == 3
    assert wait_minutes(WAITING | SCAN, now - 59 * 1_000_000_000, now) == 0  # under a minute: known, 0
    assert wait_minutes(SYSCALL, now - 2 * NANOS_PER_MINUTE, now) == 2
    assert wait_minutes(RUNNING, now - 5 * NANOS_PER_MINUTE, now) is None  # stale value of a running g
    assert wait_minutes(WAITING, 0, now) is None  # no GC saw it blocked: the runtime prints nothing
    assert wait_minutes(WAITING, 5, None) is None


def test_estimate_now_is_the_latest_timestamp() -> None:
    assert estimate_now_ns([0, None, 5, 3]) == 5
    assert estimate_now_ns([0, None]) is None


def test_record_fields() -> None:
    table = make_table()
    context = RecordContext(crashing_id=7, now_ns=101 * NANOS_PER_MINUTE)
    crashed = encode_goroutine(table.record(table.row_of(7) or 0, context))
    assert crashed["crashed"] is True and crashed["state"] == "running" and crashed["threadId"] == 1234
    assert "waitReason" not in crashed and "waitMinutes" not in crashed  # running: the stale reason is not shown
    assert crashed["creationLocation"] == {"function": "main.main", "file": "/src/app/main.go", "line": 15}
    waiting = encode_goroutine(table.record(table.row_of(10) or 0, context, parent_id=1))
    assert waiting["waitReason"] == "chan receive" and waiting["waitMinutes"] == 1 and waiting["parentId"] == 1
    assert "threadId" not in waiting and waiting["crashed"] is False
    main = encode_goroutine(table.record(table.row_of(1) or 0, context))
    assert "creationLocation" not in main  # the runtime names no creator for goroutine 1
    assert main["system"] is False  # runtime.main runs user code
    assert table.record(table.row_of(2) or 0, context).system is True
    assert table.record(table.row_of(13) or 0, context).state == "IO wait"  # the scan bit is ignored
    assert table.record(table.row_of(20) or 0, context).labels == {"job": "export", "tenant": "acme"}


def test_a_goroutine_added_twice_keeps_one_row() -> None:
    table = make_table()
    before = len(table)
    assert table.add(goroutine_id=7, status=WAITING) == table.row_of(7)
    assert len(table) == before


# --- filters --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (GoroutineFilter(states=frozenset({"chan receive"})), [1, 10, 11, 12]),
        (GoroutineFilter(states=frozenset({"IO wait", "running"})), [7, 13]),
        (GoroutineFilter(function="WORKER"), [7, 10, 11, 12, 13]),  # case-insensitive
        (GoroutineFilter(function="example.com/app/http"), [20, 21]),  # the package path
        (GoroutineFilter(label_key="tenant", label_value="acme"), [20]),
        (GoroutineFilter(label_key="tenant"), [20, 21]),
        (GoroutineFilter(label_key="job", label_value="nope"), []),
        (GoroutineFilter(creator="spawn"), [13, 20, 21]),
        (GoroutineFilter(user_only=True), [1, 7, 10, 11, 12, 13, 20, 21]),
        (GoroutineFilter(text="globex"), [21]),  # a label value
        (GoroutineFilter(text="worker.go:42"), [7, 10, 11, 12, 13]),  # file:line
        (GoroutineFilter(text="13"), [13]),  # the id
        (GoroutineFilter(text="sync.mutex"), [20, 21]),  # the state
        (GoroutineFilter(states=frozenset({"chan receive"}), function="main.main"), [1]),  # all must hold
    ],
)
def test_filters(flt: GoroutineFilter, expected: list[int]) -> None:
    table = make_table()
    assert sorted(ids(table, filter_rows(table, flt))) == expected


# --- grouping ----------------------------------------------------------------------------------------------


def grouped(table: GoroutineTable, group_by: GroupBy, crashing: int | None = 7) -> list[tuple[str, list[int]]]:
    rows = filter_rows(table, GoroutineFilter())
    groups = build_groups(table, rows, key_function(table, group_by), table.row_of(crashing))
    return [(g.label, ids(table, g.rows)) for g in groups]


def test_group_by_location_orders_crashing_group_first_then_biggest() -> None:
    table = make_table()
    assert grouped(table, GroupBy("location")) == [
        ("main.worker (worker.go:42)", [7, 10, 11, 12, 13]),  # the crashing goroutine first, then ids
        ("example.com/app/http.(*Server).handle (server.go:77)", [20, 21]),
        ("main.main (main.go:20)", [1]),  # ties by label
        ("runtime.gopark (proc.go:463)", [2]),
    ]


def test_group_by_wait_reason_counts_states() -> None:
    table = make_table()
    groups = build_groups(table, range(len(table)), key_function(table, GroupBy("waitReason")), None)
    assert [(g.label, g.count, g.states) for g in groups] == [
        ("chan receive", 4, {"chan receive": 4}),
        ("sync.Mutex.Lock", 2, {"sync.Mutex.Lock": 2}),
        ("IO wait", 1, {"IO wait": 1}),
        ("running", 1, {"running": 1}),
        ("sleep", 1, {"sleep": 1}),
    ]
    assert groups[0].key == "waitReason:chan receive"


def test_group_by_creator_start_and_label() -> None:
    table = make_table()
    creators = dict(grouped(table, GroupBy("creator")))
    assert creators["main.main (main.go:15)"] == [7, 2, 10, 11, 12]
    assert creators["main.spawn (main.go:30)"] == [13, 20, 21]
    assert creators["(no creator recorded)"] == [1]
    starts = dict(grouped(table, GroupBy("startFunction")))
    assert starts == {"main.worker": [7, 10, 11, 12, 13, 20, 21], "runtime.main": [1], "runtime.forcegchelper": [2]}
    tenants = dict(grouped(table, GroupBy("label", "tenant")))
    assert tenants == {"no tenant label": [7, 1, 2, 10, 11, 12, 13], "tenant=acme": [20], "tenant=globex": [21]}


def test_member_keys_are_stable_strings() -> None:
    table = make_table()
    keys = key_function(table, GroupBy("location"))
    assert keys(table.row_of(10) or 0).key == "location:/src/app/worker.go:42 main.worker"
    assert key_function(table, GroupBy("label", "tenant"))(table.row_of(20) or 0).key == "label:tenant=acme"


def test_order_rows_and_page() -> None:
    table = make_table()
    ordered = order_rows(table, range(len(table)), table.row_of(13))
    assert ids(table, ordered) == [13, 1, 2, 7, 10, 11, 12, 20, 21]
    assert ids(table, page(ordered, 2, 3)) == [2, 7, 10]
    assert page(ordered, 100, 3) == []


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 5)), min_size=1, max_size=60), st.integers(0, 59))
@settings(max_examples=60, deadline=None)
def test_grouping_is_a_partition(shape: list[tuple[int, int]], crash_index: int) -> None:
    """Every goroutine is in exactly one group, counts add up, and the order rules hold."""
    table = GoroutineTable(REASONS)
    locations = [MAIN, WORKER, HANDLER, GOPARK]
    for gid, (loc, reason) in enumerate(shape, start=1):
        table.add(goroutine_id=gid * 3, status=WAITING, wait_reason=reason, current=GOPARK,
                  user=locations[loc], start=START_WORKER)  # fmt: skip
    crash_row = crash_index if crash_index < len(table) else None
    for group_by in (GroupBy("location"), GroupBy("waitReason")):
        groups = build_groups(table, range(len(table)), key_function(table, group_by), crash_row)
        members = [r for g in groups for r in g.rows]
        assert sorted(members) == list(range(len(table)))
        assert all(sum(g.states.values()) == g.count for g in groups)
        rest = groups[1:] if crash_row is not None else groups
        if crash_row is not None:
            assert groups[0].contains_crashing and groups[0].rows[0] == crash_row
        assert [g.count for g in rest] == sorted((g.count for g in rest), reverse=True)
        for group in groups:
            tail = group.rows[1:] if group.contains_crashing else group.rows
            assert ids(table, tail) == sorted(ids(table, tail))


# --- stacks ----------------------------------------------------------------------------------------------


def frames(*user: tuple[str, str, int]) -> list[tuple[str, str, int]]:
    return [GOPARK, ("runtime.chanrecv", "/go/src/runtime/chan.go", 600), *user,
            ("runtime.goexit", "/go/src/runtime/asm_amd64.s", 1700)]  # fmt: skip


def test_stack_identity_drops_runtime_frames() -> None:
    assert stack_identity(frames(WORKER, MAIN)) == (WORKER, MAIN)
    only_runtime = [GOPARK, ("runtime.bgsweep", "/go/src/runtime/mgcsweep.go", 300)]
    assert stack_identity(only_runtime) == tuple(only_runtime)
    assert stack_identity([("panic", "/go/src/runtime/panic.go", 1), WORKER]) == (WORKER,)


def test_stack_table_interns_identities() -> None:
    stacks = StackTable()
    stacks.ensure_rows(3)
    a = stacks.assign(0, frames(WORKER, MAIN))
    b = stacks.assign(1, [("runtime.other", "x.s", 1), WORKER, MAIN])  # other runtime frames, same stack
    c = stacks.assign(2, frames(HANDLER))
    assert a == b != c
    assert stacks.read == 3
    assert stacks.keys[a].startswith("stack:") and stacks.index_of_key(stacks.keys[c]) == c
    assert stacks.labels[a] == "main.worker (worker.go:42) < main.main"
    # Keys depend on the frames only, so a client may keep them across requests and sessions.
    again = StackTable()
    assert again.keys[again.assign(0, frames(WORKER, MAIN))] == stacks.keys[a]


def many(table_size: int, parts: int) -> tuple[GoroutineTable, dict[Signature, list[int]]]:
    table = GoroutineTable(REASONS)
    user = [MAIN, WORKER, HANDLER, GOPARK]
    for gid in range(table_size):
        table.add(goroutine_id=gid + 1, status=WAITING, wait_reason=1, current=GOPARK, user=user[gid % parts],
                  start=START_WORKER)  # fmt: skip
    return table, partition(table, range(len(table)))


def test_everything_is_read_when_it_fits_the_budget() -> None:
    _table, parts = many(40, 2)
    stacks = StackTable()
    assert sorted(next_stack_reads(parts, stacks, budget=40, samples=3)) == list(range(40))


def test_sampling_then_refining_disagreeing_partitions() -> None:
    table, parts = many(400, 2)
    stacks = StackTable()
    stacks.ensure_rows(len(table))
    crash = 399
    first = next_stack_reads(parts, stacks, budget=50, samples=4, first=[crash])
    assert first[0] == crash and len(first) == 9  # the crashing row, then 4 samples of each partition
    by_partition = {sig: [r for r in first if r in rows] for sig, rows in parts.items()}
    assert all(len(v) >= 4 for v in by_partition.values())
    # The partition of MAIN (even rows) turns out to hold two stacks; the other one agrees.
    for row in first:
        stack = frames(MAIN if row % 2 == 0 else WORKER)
        if row % 2 == 0 and row % 3 == 0:
            stack = frames(MAIN, ("main.caller", "/src/app/main.go", 5))
        stacks.assign(row, stack)
    resolved, approximate = resolve_partitions(parts, stacks)
    assert approximate
    even = next(sig for sig, rows in parts.items() if rows[0] % 2 == 0)
    odd = next(sig for sig in parts if sig != even)
    assert resolved[even] == -1 and resolved[odd] >= 0
    second = next_stack_reads(parts, stacks, budget=50, samples=4)
    assert len(second) == 50 and all(r % 2 == 0 and stacks.stack_of(r) < 0 for r in second)
    # An unresolved partition is a group of its own and says so.
    keys = key_function(table, GroupBy("stack"), stacks=stacks, resolved=resolved)
    unread_even = next(r for r in parts[even] if stacks.stack_of(r) < 0)
    unread_odd = next(r for r in parts[odd] if stacks.stack_of(r) < 0)
    assert keys(unread_even).key.startswith("unresolved:") and "not all read" in keys(unread_even).label
    assert keys(unread_odd).key == stacks.keys[resolved[odd]]  # inferred from agreeing samples


def test_nothing_left_to_read() -> None:
    _table, parts = many(10, 2)
    stacks = StackTable()
    for row in range(10):
        stacks.assign(row, frames(WORKER))
    assert next_stack_reads(parts, stacks, budget=5, samples=2) == []
    resolved, approximate = resolve_partitions(parts, stacks)
    assert not approximate and set(resolved.values()) == {0}


# --- build info ----------------------------------------------------------------------------------------


MODINFO = (
    "path\texample.com/app/cmd/server\n"
    "mod\texample.com/app\tv1.4.2\th1:abc=\n"
    "dep\tgolang.org/x/sys\tv0.20.0\th1:def=\n"
    "build\t-buildmode=exe\n"
    "build\t-trimpath=true\n"
    'build\t-ldflags="-X main.version=1.4.2"\n'
    "build\tvcs=git\n"
    "build\tvcs.revision=0123456789abcdef\n"
    "build\tvcs.time=2026-11-01T10:00:00Z\n"
    "build\tvcs.modified=true\n"
)


def test_parse_modinfo() -> None:
    info = parse_modinfo(MODINFO, "go1.26.8")
    body = encode_build_info(info)
    assert body["mainModule"] == {"path": "example.com/app", "version": "v1.4.2"}
    assert (body["vcsRevision"], body["vcsTime"], body["vcsModified"], body["trimpath"]) == (
        "0123456789abcdef", "2026-11-01T10:00:00Z", True, True)  # fmt: skip
    assert body["settings"]["-ldflags"] == "-X main.version=1.4.2"  # Go-quoted value
    assert info.path == "example.com/app/cmd/server" and info.dependencies == (("golang.org/x/sys", "v0.20.0"),)
    bare = encode_build_info(parse_modinfo("path\tx\nmod\tx\t(devel)\t\n"))
    assert "vcsRevision" not in bare and bare["trimpath"] is False


def _uvarint(n: int) -> bytes:
    out = b""
    while n >= 0x80:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n])


def test_parse_buildinfo_section() -> None:
    sentinel = b"0123456789abcdef"
    modinfo = sentinel + MODINFO.encode() + sentinel
    header = BUILDINFO_MAGIC + struct.pack("BB", 8, 0x2) + b"\0" * 16
    data = header + _uvarint(8) + b"go1.26.8" + _uvarint(len(modinfo)) + modinfo
    version, text = parse_buildinfo_section(data) or ("", "")
    assert version == "go1.26.8" and text == MODINFO
    # The pre-1.18 layout (pointers, flag bit 2 clear) needs the program's memory.
    assert parse_buildinfo_section(BUILDINFO_MAGIC + struct.pack("BB", 8, 0) + b"\0" * 16) is None
    assert parse_buildinfo_section(b"not buildinfo" * 4) is None
    assert strip_modinfo_sentinels("too short") == ""
