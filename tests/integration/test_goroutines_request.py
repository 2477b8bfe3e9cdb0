"""The `goroutines` and `crashSummary` requests on real cores, checked against the runtime's own traceback.

The corpus program many_goroutines parks 10,000 goroutines in a dozen wait states and panics; the
traceback it printed to stderr (GOTRACEBACK=crash: every goroutine, with frames) is parsed with
goviews.traceback_text and grouped the same way as the request groups, and the groups must be the same
sets of goroutine ids. Every message is validated: standard ones against the DAP schema, the custom
ones against protocol/go-extensions.json.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import attrs
import pytest

from gocore_dap.corpus import CrashArtifact
from gocore_dap.goviews.crash import parse_go_version
from gocore_dap.goviews.frames import first_user_frame_index, is_runtime_internal
from gocore_dap.goviews.grouping import stack_identity
from gocore_dap.goviews.traceback_text import ParsedTraceback, TracebackGoroutine, parse_traceback
from tests.support.corpus_fixtures import TOOLCHAINS, corpus_artifact, go_version_of
from tests.support.dap_client import DapClient
from tests.support.expected_locations import binary_scope
from tests.support.go_extensions_schema import validate_go_extension

pytestmark = pytest.mark.integration

GOROUTINES = 10_000


@attrs.frozen
class Core:
    artifact: CrashArtifact
    parsed: ParsedTraceback

    @property
    def goroutines(self) -> dict[int, TracebackGoroutine]:
        return self.parsed.goroutines_by_id()

    @property
    def crashing_id(self) -> int:
        # The runtime prints the goroutine that crashed first.
        return self.parsed.goroutines[0].id


def _build(name: str, toolchain: str | None, params: dict[str, str] | None = None) -> Core:
    artifact = corpus_artifact(name, toolchain, params=params, timeout=900)
    return Core(artifact, parse_traceback(artifact.stderr_text()))


@pytest.fixture(scope="module", params=TOOLCHAINS, ids=lambda t: go_version_of(t) or "local")
def many(request: pytest.FixtureRequest) -> Core:
    return _build("many_goroutines", request.param, {"goroutines": str(GOROUTINES)})


def _client(core: Core, **launch: Any) -> DapClient:
    """The adapter as an editor runs it (.venv/bin/gocore-dap over stdio), every message validated."""
    client = DapClient(validate=validate_go_extension)
    client.start_core(core.artifact.binary, core.artifact.core, **launch)
    return client


@pytest.fixture(scope="module")
def session(many: Core, dlv_path: Any) -> Iterator[DapClient]:
    """One adapter session for the module: the listing and the stacks it read are reused."""
    client = _client(many)
    try:
        yield client
        client.assert_clean()
    finally:
        client.close()


def exact(client: DapClient, arguments: dict[str, Any]) -> dict[str, Any]:
    """The answer once the adapter has the full listing (the first grouped answer on a big core may
    come from Delve's grouping and say `approximate`)."""
    body = client.ok("goroutines", arguments, timeout=300)
    if body["approximate"]:
        body = client.ok("goroutines", arguments, timeout=300)
    return body


def members(client: DapClient, group_by: str, key: str, page_size: int = 10_000) -> list[int]:
    out: list[int] = []
    while True:
        body = client.ok("goroutines", {"groupBy": group_by, "group": key, "start": len(out), "count": page_size})
        out.extend(g["id"] for g in body["goroutines"])
        if len(body["goroutines"]) < page_size:
            return out


def partition_of(core: Core, key: Callable[[TracebackGoroutine], Hashable]) -> set[frozenset[int]]:
    groups: dict[Hashable, set[int]] = collections.defaultdict(set)
    for goroutine in core.goroutines.values():
        groups[key(goroutine)].add(goroutine.id)
    return {frozenset(ids) for ids in groups.values()}


def _stack(g: TracebackGoroutine) -> Hashable:
    return stack_identity([(f.function, f.file, f.line) for f in g.frames])


def _location(g: TracebackGoroutine) -> Hashable:
    """Delve's user location (the first frame that is not the runtime's): what the filters match."""
    index = first_user_frame_index([f.function for f in g.frames])
    frame = g.frames[index if index is not None else 0]
    return frame.function, frame.file, frame.line


def _your_location(many: Core) -> Callable[[TracebackGoroutine], Hashable]:
    """What location groups are keyed by: the innermost frame of the program's own code (the build info's
    modules), else Delve's user location."""
    scope = binary_scope(many.artifact.binary)

    def key(g: TracebackGoroutine) -> Hashable:
        for frame in g.frames:
            if frame.line > 0 and scope.is_yours(frame.function, frame.file):
                return frame.function, frame.file, frame.line
        return _location(g)

    return key


def _creator(g: TracebackGoroutine) -> Hashable:
    created = g.created_by
    return (created.function, created.file, created.line) if created is not None else None


# --- grouping ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group_by", "key"),
    [("stack", _stack), ("location", None), ("creator", _creator), ("waitReason", lambda g: g.state)],
)
def test_groups_are_the_runtime_tracebacks_groups(
    session: DapClient, many: Core, group_by: str, key: Callable[[TracebackGoroutine], Hashable] | None
) -> None:
    if key is None:
        key = _your_location(many)
    body = exact(session, {"groupBy": group_by, "count": 10_000, "memberCount": 0})
    assert body["approximate"] is False
    assert body["total"] == body["totalUnfiltered"] == len(many.goroutines)
    assert body["totalGroups"] == len(body["groups"])
    ours = {frozenset(members(session, group_by, g["key"])) for g in body["groups"]}
    assert ours == partition_of(many, key)
    for group in body["groups"]:
        assert sum(group["states"].values()) == group["count"]
        assert group["representative"]["id"] in set().union(*ours)
    # Crashing goroutine's group first, then biggest first.
    assert body["groups"][0]["containsCrashing"] is True
    counts = [g["count"] for g in body["groups"][1:]]
    assert counts == sorted(counts, reverse=True)
    if group_by == "waitReason":
        # The label is the state text exactly as the runtime printed it.
        assert {g["label"]: g["count"] for g in body["groups"]} == dict(
            collections.Counter(g.state for g in many.goroutines.values())
        )


def _comparable(identity: Hashable) -> tuple[tuple[str, str, int], ...]:
    # Delve and the runtime number a parked goroutine's innermost frame differently (Delve: the saved
    # PC's line; the runtime: the line of the call before it), and only a runtime frame is ever
    # innermost on a parked goroutine; so runtime frames are compared by function and file.
    return tuple((fn, file, 0 if is_runtime_internal(fn) else line) for fn, file, line in identity)  # type: ignore[attr-defined]


def test_stack_groups_show_the_bucket_stack(session: DapClient, many: Core) -> None:
    body = exact(session, {"groupBy": "stack", "count": 100, "memberCount": 5})
    assert len(body["groups"]) == min(100, body["totalGroups"]) > 1, body["totalGroups"]
    for group in body["groups"]:
        representative = many.goroutines[group["representative"]["id"]]
        frames = [(f["function"], f["file"], f["line"]) for f in group["stack"]]
        ours, printed = _comparable(stack_identity(frames)), _comparable(_stack(representative))
        # Delve unwinds a goroutine in a system call from its thread (`syscall.RawSyscall6`, then
        # `syscall.Syscall` at the call of it), the runtime from where it entered the call
        # (`syscall.Syscall` at entersyscall): Delve may show more innermost frames, and the innermost
        # frame both show may be at another line of the same function.
        suffix = ours[len(ours) - len(printed) :]
        assert suffix[1:] == printed[1:] and suffix[0][:2] == printed[0][:2], group["label"]
        assert group["memberIds"][0] == group["representative"]["id"]
        assert len(group["memberIds"]) == min(5, group["count"])


def test_the_direct_reader_answers_exactly_at_once(many: Core, dlv_path: Any) -> None:
    client = _client(many)
    try:
        first = client.ok("goroutines", {"groupBy": "stack", "count": 1000}, timeout=300)
        client.assert_clean()
    finally:
        client.close()
    assert first["approximate"] is False and "note" not in first
    assert first["total"] == len(many.goroutines)
    assert sum(g["count"] for g in first["groups"]) == first["total"]
    assert first["crashing"]["id"] == many.crashing_id and first["groups"][0]["containsCrashing"]


def test_first_answer_comes_from_delves_grouping_then_exact(many: Core, dlv_path: Any) -> None:
    """Without the direct reader (a core it cannot read, or `directReader: false`), through Delve."""
    client = _client(many, directReader=False)
    try:
        first = client.ok("goroutines", {"groupBy": "stack", "count": 1000}, timeout=300)
        second = client.ok("goroutines", {"groupBy": "stack", "count": 1000}, timeout=300)
        client.assert_clean()
    finally:
        client.close()
    # A 10k core takes the fast path first (FAST_PATH_MIN_GOROUTINES); it says so.
    assert first["approximate"] is True and second["approximate"] is False
    assert first["total"] == second["total"] == len(many.goroutines)
    assert sum(g["count"] for g in first["groups"]) == first["total"]
    assert first["crashing"]["id"] == many.crashing_id and first["groups"][0]["containsCrashing"]
    exact_counts = {g["key"]: g["count"] for g in second["groups"]}
    resolved = [g for g in first["groups"] if g["key"].startswith("stack:")]
    assert len(resolved) >= len(first["groups"]) // 2
    for group in resolved:
        assert group["count"] == exact_counts[group["key"]], group["label"]
        if group["count"] > len(group["memberIds"]):
            assert group["statesSampled"] == len(group["memberIds"]) or group["containsCrashing"]


# --- filters and the crashing goroutine ---------------------------------------------------------------------


def _ids(client: DapClient, flt: dict[str, Any]) -> tuple[set[int], list[dict[str, Any]]]:
    """Every goroutine the filter selects (paged), and their records."""
    records: list[dict[str, Any]] = []
    while True:
        body = exact(client, {"filter": flt, "start": len(records), "count": 5000})
        records.extend(body["goroutines"])
        if len(body["goroutines"]) < 5000:
            break
    assert body["total"] == len(records)
    return {g["id"] for g in records}, records


def test_filters_select_what_the_traceback_shows(session: DapClient, many: Core) -> None:
    everyone = many.goroutines.values()
    ids, _ = _ids(session, {"states": ["IO wait", "semacquire"]})
    assert ids == {g.id for g in everyone if g.state in ("IO wait", "semacquire")} and ids
    ids, _ = _ids(session, {"function": "NETFD"})
    assert ids == {g.id for g in everyone if "netfd" in str(_location(g)[0]).lower()} and ids  # type: ignore[index]
    ids, _ = _ids(session, {"creator": "main.main"})
    assert ids == {g.id for g in everyone if g.created_by is not None and "main.main" in g.created_by.function}
    ids, _ = _ids(session, {"text": "fd_posix.go"})
    assert ids == {g.id for g in everyone if str(_location(g)[1]).endswith("fd_posix.go")}  # type: ignore[index]
    ids, _ = _ids(session, {"states": ["IO wait"], "function": "netFD"})
    assert ids == {g.id for g in everyone if g.state == "IO wait"}


def test_user_only_hides_runtime_goroutines(session: DapClient, many: Core) -> None:
    all_ids, everyone = _ids(session, {})
    user_ids, _ = _ids(session, {"userOnly": True})
    system = {g["id"] for g in everyone if g["system"]}
    assert system and user_ids == all_ids - system
    assert many.crashing_id in user_ids and 1 in user_ids


def test_the_crashing_goroutine_is_never_hidden(session: DapClient, many: Core) -> None:
    crashing = many.crashing_id
    for arguments in (
        {"filter": {"states": ["chan send"]}},
        {"filter": {"text": "no goroutine matches this"}},
        {"start": 5000, "count": 10},
        {"groupBy": "waitReason", "start": 3, "count": 1},
        {"groupBy": "stack", "filter": {"function": "time.Sleep"}},
    ):
        body = exact(session, arguments)
        assert body["crashing"]["id"] == crashing and body["crashing"]["crashed"] is True, arguments
        assert body["crashing"]["state"] == many.goroutines[crashing].state
        assert crashing not in {g["id"] for g in body["goroutines"] if body["goroutines"]} or arguments == {}
    page0 = exact(session, {"count": 3})
    assert page0["goroutines"][0]["id"] == crashing


def test_paging_covers_every_goroutine_once(session: DapClient, many: Core) -> None:
    seen: list[int] = []
    while True:
        body = exact(session, {"start": len(seen), "count": 2500})
        seen.extend(g["id"] for g in body["goroutines"])
        if len(body["goroutines"]) < 2500:
            break
    assert seen[0] == many.crashing_id
    assert seen[1:] == sorted(seen[1:])
    assert len(seen) == len(set(seen)) and set(seen) == set(many.goroutines)
    groups = exact(session, {"groupBy": "location", "count": 2, "memberCount": 7})
    biggest = groups["groups"][1]
    paged = members(session, "location", biggest["key"], page_size=300)
    assert len(paged) == biggest["count"] and paged[:7] == biggest["memberIds"] and paged == sorted(paged)
    second_page = exact(session, {"groupBy": "location", "start": 1, "count": 1})
    assert second_page["groups"][0]["key"] == biggest["key"] and second_page["totalGroups"] == groups["totalGroups"]


def test_records_match_the_traceback(session: DapClient, many: Core) -> None:
    _, records = _ids(session, {})
    assert len(records) == len(many.goroutines)
    with_minutes = 0
    for record in records:
        printed = many.goroutines[record["id"]]
        assert record["state"] == printed.state
        # The runtime prints ", N minutes" from N >= 1; the corpus waits for seconds, so none is printed,
        # and the adapter's own figure must agree (0) wherever it has one.
        if "waitMinutes" in record:
            with_minutes += 1
            assert record["waitMinutes"] == (printed.wait_minutes or 0)
        if printed.creator_goroutine is not None and record["id"] != 1:
            assert record.get("parentId") == printed.creator_goroutine, record["id"]
        if printed.created_by is not None and record["id"] != 1:
            creation = record["creationLocation"]
            assert (creation["function"], creation["line"]) == (printed.created_by.function, printed.created_by.line)
    assert with_minutes > len(records) // 2  # the GC recorded waitsince for parked goroutines
    crashing = exact(session, {"count": 1})["crashing"]
    assert crashing["threadId"] > 0 and "waitMinutes" not in crashing


def test_bad_arguments_are_errors(session: DapClient) -> None:
    for arguments, words in (
        ({"groupBy": "everything"}, "'groupBy' must be one of"),
        ({"count": "ten"}, "'count' must be an integer"),
        ({"filter": {"state": ["running"]}}, "unknown argument 'filter.state'"),
        ({"groupBy": "stack", "group": "stack:0000000000000000"}, "no group has the key"),
    ):
        response = session.request("goroutines", arguments)
        assert response["success"] is False and words in response["message"], response
        assert response["body"]["error"]["id"] == 1001


# --- crashSummary --------------------------------------------------------------------------------------------


def test_capabilities_advertise_the_extensions(session: DapClient) -> None:
    initialize = next(m for m in session.timeline if m.get("type") == "response" and m["command"] == "initialize")
    assert initialize["body"]["supportsGoroutinesRequest"] is True
    assert initialize["body"]["supportsCrashSummaryRequest"] is True


def test_crash_summary(session: DapClient, many: Core) -> None:
    body = session.ok("crashSummary")
    assert body["kind"] == "panic"
    assert body["headline"] == many.parsed.message
    assert body["crashingGoroutineId"] == many.crashing_id
    assert body["goVersion"] == many.artifact.go_version
    assert body["goroutineCount"] == len(many.goroutines)
    assert [p["value"] for p in body["panicChain"]] == [p.value for p in many.parsed.panics]
    module = next(
        line.split()[1]
        for line in (many.artifact.source_dir / "go.mod").read_text().splitlines()
        if line.startswith("module ")
    )
    assert body["build"]["mainModule"]["path"] == module
    assert body["build"]["settings"]["GOARCH"] and body["build"]["trimpath"] is False
    # The card's build facts, named: the target the program was built for, and whether with cgo.
    assert (body["build"]["goos"], body["build"]["goarch"], body["build"]["cgo"]) == ("linux", "amd64", False)
    assert body["program"].endswith("binary") and body["core"].endswith("core")
    # The Delve release the adapter picked for the program's Go version, by itself.
    from gocore_dap.backends.delve.releases import pick_release

    assert body["delve"] == pick_release(many.artifact.go_version).release.version
    assert body["warnings"] == [] and "debugInfo" not in body


# --- labels and a crash without a goroutine -------------------------------------------------------------------


@pytest.fixture(scope="module", params=TOOLCHAINS, ids=lambda t: go_version_of(t) or "local")
def labels_core(request: pytest.FixtureRequest) -> Core:
    return _build("pprof_labels", request.param)


# What pprof_labels/main.go sets: four jobs of three tenants, each a pprof.Do goroutine and the flusher it
# starts (which inherits the labels), and the globex reindex job, a pprof.Do goroutine and the worker it
# starts, which panics.
PROGRAM_TENANTS = {"tenant=acme": 4, "tenant=globex": 4, "tenant=initech": 2}
CRASHER_LABELS = {"tenant": "globex", "job": "reindex-9"}


def test_label_grouping_and_filter(labels_core: Core, dlv_path: Any) -> None:
    """The labels come from the core, not from stderr: on Go 1.26 stderr prints them too (tracebacklabels)
    and must agree goroutine by goroutine; Go 1.25 prints none, and the program's own assignment is the
    ground truth."""
    printed = labels_core.goroutines
    stderr_has_labels = any(g.labels for g in printed.values())
    if (parse_go_version(labels_core.artifact.go_version) or (0, 0, 0)) >= (1, 26, 0):
        assert stderr_has_labels, "Go 1.26 with GODEBUG=tracebacklabels=1 printed no labels"
    client = _client(labels_core)
    try:
        body = exact(client, {"groupBy": "label:tenant", "count": 100})
        ours = {g["label"]: set(members(client, "label:tenant", g["key"])) for g in body["groups"]}
        assert {label: len(ids) for label, ids in ours.items() if label != "no tenant label"} == PROGRAM_TENANTS
        assert sum(len(ids) for ids in ours.values()) == len(printed)
        globex, _ = _ids(client, {"label": "tenant=globex"})
        assert globex == ours["tenant=globex"] and labels_core.crashing_id in globex
        jobs, _ = _ids(client, {"label": "job"})
        assert len(jobs) == sum(PROGRAM_TENANTS.values())
        crashing = exact(client, {})["crashing"]
        assert crashing["labels"] == CRASHER_LABELS
        if stderr_has_labels:
            theirs: dict[str, set[int]] = collections.defaultdict(set)
            for g in printed.values():
                value = g.labels.get("tenant", "")
                theirs[f"tenant={value}" if value else "no tenant label"].add(g.id)
            assert ours == theirs
            assert globex == {g.id for g in printed.values() if g.labels.get("tenant") == "globex"}
            assert jobs == {g.id for g in printed.values() if "job" in g.labels}
            assert crashing["labels"] == dict(printed[labels_core.crashing_id].labels)
        client.assert_clean()
    finally:
        client.close()


def test_deadlock_has_no_crashing_goroutine(dlv_path: Any) -> None:
    core = _build("deadlock", None)
    client = _client(core)
    try:
        body = exact(client, {"groupBy": "waitReason"})
        assert body["crashing"] is None
        assert not any(g["containsCrashing"] for g in body["groups"])
        assert body["total"] == len(core.goroutines)
        summary = client.ok("crashSummary")
        assert summary["kind"] == "fatal error" and "crashingGoroutineId" not in summary
        assert summary["headline"] == core.parsed.message
        client.assert_clean()
    finally:
        client.close()


# --- grouping by wait object ---------------------------------------------------------------------------------


def test_group_by_wait_object(dlv_path: Any) -> None:
    """The wait_objects program blocks goroutines on two channels, a Mutex, a WaitGroup, an RWMutex and a
    Cond, in counts its params set, and prints each object's address: the groups a client gets name each
    object with its address and count every goroutine waiting on it."""
    from gocore_dap.corpus import build

    artifact = build("wait_objects")
    counts = {k: int(v) for k, v in artifact.params.items()}
    addresses = {
        m[1]: int(m[2], 16) for m in re.finditer(r"^object (\w+) (0x[0-9a-f]+)$", artifact.stdout.read_text(), re.M)
    }
    client = DapClient(validate=validate_go_extension)
    client.start_core(artifact.binary, artifact.core)
    try:
        body = client.ok("goroutines", {"groupBy": "waitObject", "count": 100}, timeout=300)
        client.assert_clean()
    finally:
        client.close()
    assert body["approximate"] is False and sum(g["count"] for g in body["groups"]) == body["total"]
    by_address: dict[int, list[dict[str, Any]]] = {}
    for group in body["groups"]:
        for found in re.findall(r"0x[0-9a-f]+", group["label"]):
            by_address.setdefault(int(found, 16), []).append(group)
    expected = {
        "jobs": ("receive from chan int", counts["receivers"]),
        "results": ("send to chan string", counts["senders"]),
        "mu": ("lock sync.Mutex", counts["mutex_waiters"]),
        "wg": ("wait on sync.WaitGroup", counts["wg_waiters"]),
        "cond": ("wait on sync.Cond", counts["cond_waiters"]),
    }
    for name, (words, count) in expected.items():
        [group] = by_address[addresses[name]]
        assert group["label"].startswith(words), group["label"]
        assert group["count"] == count, (name, group)
    # Named after the program's variable where optimised code still shows one: the sender's receiver `d`
    # is readable at its park point in this build (Delve's answer for the others is "could not find loclist
    # entry"), so the result queue's group says which field it is.
    [results] = by_address[addresses["results"]]
    assert results["label"].endswith("· d.results in main.(*dispatcher).sendResult"), results["label"]
    # The RWMutex: readers read-lock it, writers lock it: two ways of waiting, two groups.
    rw = {g["label"].split(" ", 1)[0]: g["count"] for g in by_address[addresses["rw"]]}
    assert rw == {"read-lock": counts["rw_readers"], "lock": counts["rw_writers"]}, rw
    # A group's members are goroutines blocked there; the crashing goroutine (running) is in a group of its own.
    crashing = next(g for g in body["groups"] if g["containsCrashing"])
    assert "no wait object" in crashing["label"]


def test_reveal_a_goroutine_beyond_the_thread_list(many: Core, dlv_path: Any) -> None:
    """A goroutine the thread list leaves out (maxThreads) becomes a thread on request, so the Call Stack
    can show it; a thread event tells the editor to ask for the threads again."""
    client = _client(many, maxThreads=5)
    try:
        listed = {t["id"] for t in client.ok("threads")["threads"]}
        outside = next(gid for gid in sorted(many.goroutines) if gid not in listed)
        answer = client.ok("revealGoroutine", {"goroutineId": outside})
        assert answer == {"threadId": outside, "added": True}
        event = client.wait_for(lambda m: m.get("event") == "thread" and m["body"]["threadId"] == outside, 10)
        assert event["body"] == {"reason": "started", "threadId": outside}
        threads = {t["id"]: t["name"] for t in client.ok("threads")["threads"]}
        assert outside in threads and threads[outside].startswith(f"goroutine {outside} [")
        frames = client.ok("stackTrace", {"threadId": outside})["stackFrames"]
        assert frames, "its stack reads like any thread's"
        assert client.ok("revealGoroutine", {"goroutineId": outside})["added"] is False
        missing = client.request("revealGoroutine", {"goroutineId": 2_000_000_000})
        assert not missing["success"] and missing["body"]["error"]["id"] == 4001
        client.assert_clean()
    finally:
        client.close()


def test_a_big_core_shows_the_crash_thread_first_then_the_rest(many: Core, dlv_path: Any) -> None:
    """On a core with thousands of goroutines the first thread list is the crash's thread alone (the editor
    opens the crash line without waiting for every goroutine); once every goroutine is read, the same stop is
    sent again (every thread paused), the editor asks again and the list holds the user
    goroutines, up to maxThreads."""
    client = _client(many, maxThreads=50)
    try:
        (stop,) = client.events("stopped")  # start_core's, already taken
        first = client.ok("threads")["threads"]
        assert [t["id"] for t in first] == [many.crashing_id]
        again = client.event("stopped", 60)["body"]
        assert again["threadId"] == many.crashing_id and again["allThreadsStopped"] is True
        assert again == stop["body"], "the same stop again"
        later = client.ok("threads")["threads"]
        assert later[0]["id"] == many.crashing_id and len(later) == 51
        states = {gid: g.state for gid, g in many.goroutines.items()}
        for thread in later[1:]:
            # Named as the runtime's header names it: `goroutine N [state] function`.
            assert thread["name"].startswith(f"goroutine {thread['id']} [{states[thread['id']]}"), thread
        client.assert_clean()
    finally:
        client.close()
