"""Every corpus core, on every toolchain, through the real adapter over stdio, against the program's own
stderr traceback (parsed by `goviews.traceback_text`) and the lines its author names in its manifest
(`expect.landing`, `expect.user_locations`): the stop and where the editor lands, the exception, the
goroutines, their states, names and user locations, the bucket labels, stack paging, and a clean end.

One adapter session per core does the whole conversation (`observation`); each test then checks one
aspect of what was recorded, so a failure names the aspect and the core (`test_threads[deadlock-go1.25.0]`).
The session is over (disconnected, Delve gone) before any test looks at it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import pytest

from gocore_dap.goviews.code_scope import CodeKind, CodeScope, has_source
from gocore_dap.goviews.frames import first_user_frame_index, traceback_name
from gocore_dap.goviews.goroutine_info import GoLocation
from gocore_dap.goviews.landing import landing_frame_index
from gocore_dap.goviews.presentation import os_thread_dap_id
from gocore_dap.goviews.traceback_text import (
    ParsedTraceback,
    TracebackFrame,
    TracebackGoroutine,
    parse_traceback,
)
from tests.integration.conftest import AdapterExit, Adapters
from tests.support.corpus_fixtures import CorpusCase
from tests.support.expected_locations import binary_scope, expected_landing
from tests.support.frozen_world import ran_after_the_print

pytestmark = pytest.mark.integration

INT32_MAX = (1 << 31) - 1  # DAP's Thread.id is an int32 (the schema says so; Java clients rely on it)
PAGE = 4  # frames per page in the paging check: every corpus stack spans several pages
SMALL_PROGRAM = 64  # goroutines up to which every goroutine's stack is read
SAMPLE = 60  # otherwise: about this many, evenly spread over the ids, plus every non-parked one

_THREAD_NAME_RE = re.compile(
    r"^goroutine (?P<id>\d+) \[(?P<state>[^\]]*)\](?: (?P<function>.+?))?(?P<crashed> \(crashed\))?$"
)
_OS_THREAD_NAME_RE = re.compile(r"^thread (?P<lwp>\d+) \[no goroutine\](?: (?P<function>.+?))?(?: \(crashed\))?$")

_SIGNAL_HEADLINE_RE = re.compile(r"^(?:SIG[A-Z0-9]+: .+|Signal \d+)$")
_HEADLINE_PREFIXES = ("panic: ", "fatal error: ")


# --- ground truth from stderr ------------------------------------------------------------------------


def headline_index(lines: list[str]) -> int:
    """The runtime's crash line among the message lines (diagnostics such as `runtime: ...` can precede a
    fatal error's line)."""
    for index, line in enumerate(lines):
        if line.startswith(_HEADLINE_PREFIXES) or _SIGNAL_HEADLINE_RE.match(line):
            return index
    raise AssertionError(f"no panic/fatal error/signal line in {lines}")


def payload(headline: str) -> str:
    """`panic: X` -> `X`, `fatal error: X` -> `X`, `SIGSEGV: segmentation violation` -> the description."""
    for prefix in _HEADLINE_PREFIXES:
        if headline.startswith(prefix):
            return headline[len(prefix) :]
    name, sep, description = headline.partition(": ")
    return description if sep and name.startswith("SIG") else headline


def as_message(text: str) -> str:
    """A crash report with its crash line reduced to the payload (the form `CrashAnalysis.message`
    documents): `tenant "acme" job 17: quota exceeded`; for nil_deref `runtime error: ...` and the
    `[signal SIGSEGV ...]` line; for a signal `abort` and the `PC=... m=...` line.

    Applied to the adapter's texts too, so that both the verbatim report and the payload form are accepted:
    the one normalisation is the crash line's `panic: ` / `fatal error: ` / `SIGxxx: ` prefix, which only
    repeats what exceptionId already says."""
    lines = text.split("\n")
    try:
        index = headline_index(lines)
    except AssertionError:
        return text
    lines[index] = payload(lines[index])
    return "\n".join(lines)


def expected_message(parsed: ParsedTraceback) -> str:
    return as_message("\n".join(parsed.message_lines))


def is_parked(g: TracebackGoroutine) -> bool:
    return g.state not in ("running", "runnable", "syscall") and g.m is None and not g.locked_to_thread


def sampled_goroutines(parsed: ParsedTraceback) -> list[int]:
    """Every goroutine of a small program; for a big one an even spread of >= 50 ids plus every goroutine
    that is not simply parked (running, runnable, in a syscall, on an M, locked to a thread)."""
    by_id = parsed.goroutines_by_id()
    ids = sorted(by_id)
    if len(ids) <= SMALL_PROGRAM:
        return ids
    step = max(1, len(ids) // SAMPLE)
    chosen = set(ids[::step]) | {gid for gid, g in by_id.items() if not is_parked(g)}
    assert len(chosen) >= 50
    return sorted(chosen)


# --- matching the adapter's stacks with the printed ones -----------------------------------------------

Frame = tuple[str, str | None, int]  # function, file, line

# Where a stack in the core legitimately differs from the one the runtime printed. Each applies to one
# frame position in one situation, never to a whole stack:
PARKED_TOP = (
    "parked goroutine, top frame: the runtime prints the line of the call it is parked in (pc-1 of the saved "
    "return address); Delve resolves the return address itself, the next line"
)
SYSCALL_ENTRY = (
    "goroutine in a syscall: the runtime prints it from where it entered the syscall (g.syscallpc/sp, e.g. "
    "syscall.Syscall:74, runtime.cgocall:167); the core has the thread really running deeper code above it "
    "(syscall.RawSyscall6, or the C function under cgo), so that frame shows another line of the same function"
)
SIGNAL_LEAF_LINE = (
    "thread stopped by a signal inside an assembly leaf (runtime.futex): the runtime prints the line of the "
    "interrupted pc; Delve unwinds out of the signal frame as if the pc were a return address (pc-1, one "
    "line earlier)"
)
SIGNAL_LEAF_CALLER = (
    "... and Delve loses that leaf's caller (runtime.futexsleep): its return address sits where a frameless "
    "leaf keeps it, which Delve's unwinding through sigtrampgo's context does not read"
)


def printed_function(frame: TracebackFrame) -> str:
    # The runtime prints runtime.gopanic as "panic" in tracebacks; Delve uses the symbol name.
    return "runtime.gopanic" if frame.function == "panic" else frame.function


@attrs.frozen
class Alignment:
    mapping: dict[int, int]  # printed frame index -> index in the adapter's frames
    tolerated: tuple[str, ...]


def align(
    shown: Sequence[Frame],
    printed: list[TracebackFrame],
    *,
    parked: bool = False,
    syscall: bool = False,
    interrupted: bool = False,
    complete: bool = True,
) -> Alignment:
    """Find the printed stack, frame for frame, in the adapter's (which may have frames above it: signal
    delivery, the dying runtime's own calls, what a syscall runs). Raise AssertionError if it is not there."""
    tries: list[str] = []
    first = printed_function(printed[0])
    for start, frame in enumerate(shown):
        if frame[0] == first:
            result = _align_from(
                shown, printed, start, parked=parked, syscall=syscall, interrupted=interrupted, complete=complete
            )
            if isinstance(result, Alignment):
                return result
            tries.append(f"from adapter frame {start}: {result}")
    listing = "\n".join(f"  {f}" for f in shown)
    wanted = "\n".join(f"  {(printed_function(p), p.file, p.line)}" for p in printed)
    raise AssertionError(
        f"the printed stack is not in the adapter's\nadapter:\n{listing}\nstderr:\n{wanted}\n" + "\n".join(tries)
    )


def _align_from(
    shown: Sequence[Frame],
    printed: list[TracebackFrame],
    start: int,
    *,
    parked: bool,
    syscall: bool,
    interrupted: bool,
    complete: bool,
) -> Alignment | str:
    mapping: dict[int, int] = {}
    tolerated: list[str] = []
    j = start
    for i, p in enumerate(printed):
        want = (printed_function(p), p.file, p.line)
        if j >= len(shown):
            if complete:
                return f"the adapter's stack ends before stderr's frame {i} {want}"
            break  # stackTraceDepth cut the adapter's stack: compare what both have
        got = shown[j]
        if got == want:
            mapping[i] = j
            j += 1
            continue
        same_function = got[:2] == want[:2]
        if i == 0 and same_function and parked and j == 0 and got[2] == p.line + 1:
            tolerated.append(PARKED_TOP)
        elif i == 0 and same_function and syscall:
            tolerated.append(SYSCALL_ENTRY)
        elif i == 0 and same_function and interrupted and p.file.endswith(".s") and got[2] == p.line - 1:
            tolerated.append(SIGNAL_LEAF_LINE)
        elif (
            i == 1
            and tolerated == [SIGNAL_LEAF_LINE]
            and len(printed) > 2
            and got == (printed_function(printed[2]), printed[2].file, printed[2].line)
        ):
            tolerated.append(SIGNAL_LEAF_CALLER)
            continue  # stderr's frame 1 is missing in the adapter's stack; frame 2 is at j
        else:
            return f"stderr's frame {i} {want} is {got} in the adapter's stack"
        mapping[i] = j
        j += 1
    return Alignment(mapping, tuple(tolerated))


def frame_tuples(frames: list[dict[str, Any]]) -> list[Frame]:
    # Frames are named as the runtime's traceback names them ("panic" for runtime.gopanic), and
    # printed_function names stderr's frames the other way round: compare both as Delve's symbols.
    # A file cgo generated has no path (it is on no disk), only its name, as the runtime prints it.
    return [("runtime.gopanic" if f["name"] == "panic" else f["name"],
             (f.get("source") or {}).get("path") or (f.get("source") or {}).get("name"), f["line"])
            for f in frames]  # fmt: skip


def first_shown_frame(frames: list[dict[str, Any]]) -> int:
    """Index of the first frame the editor focuses. VS Code 1.100 (Thread.getTopStackFrame): the first frame
    with a source that is not deemphasised, where a frame's own hint comes before its source's
    (`frame.presentationHint ?? source.presentationHint` is neither "deemphasize" nor "subtle")."""
    for index, frame in enumerate(frames):
        source = frame.get("source")
        hint = frame.get("presentationHint") or (source or {}).get("presentationHint")
        if source and hint not in ("deemphasize", "subtle"):
            return index
    raise AssertionError("every frame is deemphasized")


def printed_locations(g: TracebackGoroutine) -> list[GoLocation]:
    return [GoLocation(f.function, f.file, f.line) for f in g.frames]


BADGES = ("panic", "fatal error")


def printed_thread_stack(parsed: ParsedTraceback) -> list[TracebackFrame]:
    """What stderr shows of the crashing OS thread when no goroutine crashed."""
    if parsed.runtime_stacks:
        # A throw on the system stack (deadlock): `runtime stack:` is the crashing thread's own stack.
        return parsed.runtime_stacks[0]
    # A fatal signal (external SIGABRT): the first thread section's `goroutine 0` (g0) dump.
    m = parsed.threads[0].m
    return next(g.frames for g in parsed.goroutines if g.id == 0 and g.m == m)


def align_goroutine(shown: Sequence[Frame], g: TracebackGoroutine, *, complete: bool = True) -> Alignment:
    return align(shown, g.frames, parked=g.m is None, syscall=g.state == "syscall", complete=complete)


# --- the recorded session ------------------------------------------------------------------------------


@attrs.define
class Observation:
    case: CorpusCase
    stopped: dict[str, Any] | None = None
    # When no goroutine crashed: the second stop, on the asleep goroutine the editor opens.
    landing_stop: dict[str, Any] | None = None
    threads_response: dict[str, Any] | None = None
    exception_info: dict[str, Any] | None = None
    stacks: dict[int, dict[str, Any]] = attrs.Factory(dict)  # thread id -> response to one big request
    pages: dict[int, list[dict[str, Any]]] = attrs.Factory(dict)  # thread id -> responses, PAGE frames each
    past_end: dict[int, dict[str, Any]] = attrs.Factory(dict)  # a page that starts after the last frame
    crash_summary: dict[str, Any] | None = None
    landing_exception_info: dict[str, Any] | None = None
    goroutines: list[dict[str, Any]] = attrs.Factory(list)  # every goroutine's record (ungrouped)
    buckets: list[dict[str, Any]] = attrs.Factory(list)  # stack groups, with every member id
    places: list[dict[str, Any]] = attrs.Factory(list)  # location groups, with every member id
    error: str | None = None
    exit: AdapterExit | None = None
    violations: list[str] = attrs.Factory(list)

    def require(self) -> None:
        """Fail with what went wrong if the conversation itself broke off."""
        if self.error is not None:
            tail = "\n".join(self.exit.stderr_tail if self.exit else ())
            pytest.fail(f"the session with the adapter broke off: {self.error}\nadapter stderr:\n{tail}")

    @property
    def stop_thread(self) -> int | None:
        body = (self.stopped or {}).get("body") or {}
        thread: int | None = body.get("threadId")
        return thread

    @property
    def landing_thread(self) -> int | None:
        body = (self.landing_stop or {}).get("body") or {}
        thread: int | None = body.get("threadId")
        return thread

    @functools.cached_property
    def scope(self) -> CodeScope:
        return binary_scope(self.case.artifact.binary)

    @property
    def threads(self) -> list[dict[str, Any]]:
        response = self.threads_response
        assert response is not None and response.get("success"), response
        threads: list[dict[str, Any]] = response["body"]["threads"]
        return threads

    def os_threads(self) -> dict[int, int]:
        """DAP thread id -> LWP of the entries that are OS threads without a goroutine."""
        found: dict[int, int] = {}
        for thread in self.threads:
            match = _OS_THREAD_NAME_RE.match(thread["name"])
            if match is not None:
                found[thread["id"]] = int(match["lwp"])
        return found

    def frames(self, thread: int) -> list[dict[str, Any]]:
        return _frames(self.stacks[thread])

    def states(self) -> dict[int, str]:
        """Goroutine id -> the state its thread's name shows."""
        return {
            t["id"]: thread_name_parts(t["name"])["state"] for t in self.threads if t["id"] not in self.os_threads()
        }

    def complete(self, thread: int) -> bool:
        body = self.stacks[thread]["body"]
        return bool(body.get("totalFrames") == len(body["stackFrames"]))


def _frames(response: dict[str, Any]) -> list[dict[str, Any]]:
    assert response.get("success"), f"stackTrace failed: {response.get('message')}"
    frames: list[dict[str, Any]] = response["body"]["stackFrames"]
    return frames


def _frame_key(frame: dict[str, Any]) -> tuple[Any, ...]:
    """A frame without its id (ids are handles, new in every response)."""
    source = frame.get("source") or {}
    return (
        frame.get("name"),
        source.get("path"),
        frame.get("line"),
        frame.get("instructionPointerReference"),
        frame.get("presentationHint"),
        source.get("presentationHint"),
    )


def converse(adapters: Adapters, case: CorpusCase) -> Observation:
    observation = Observation(case)
    client = adapters.start()
    try:
        observation.stopped = client.start_core(case.artifact.binary, case.artifact.core)
        if observation.stopped["body"].get("preserveFocusHint"):
            # The first stop leaves the focus alone only when a second one sends the editor elsewhere.
            observation.landing_stop = client.event("stopped", timeout=60)
        observation.threads_response = client.request("threads")
        stop = observation.stop_thread
        if stop is not None:
            observation.exception_info = client.request("exceptionInfo", {"threadId": stop})
        landing = observation.landing_thread
        if landing is not None:
            observation.landing_exception_info = client.request("exceptionInfo", {"threadId": landing})
        thread_ids = sampled_goroutines(case.parsed)
        if landing is not None and landing not in thread_ids:
            thread_ids.append(landing)
        if observation.threads_response.get("success"):
            thread_ids += list(observation.os_threads())
        for thread in thread_ids:
            whole = client.request("stackTrace", {"threadId": thread})
            observation.stacks[thread] = whole
            if not whole.get("success"):
                continue
            count = len(whole["body"]["stackFrames"])
            pages = observation.pages[thread] = []
            for start in range(0, count, PAGE):
                page = {"threadId": thread, "startFrame": start, "levels": PAGE}
                pages.append(client.request("stackTrace", page))
            observation.past_end[thread] = client.request(
                "stackTrace", {"threadId": thread, "startFrame": count + PAGE, "levels": PAGE}
            )
        observation.crash_summary = client.ok("crashSummary")
        observation.goroutines = client.ok("goroutines", {"count": 10_000}, timeout=300)["goroutines"]
        observation.buckets = client.ok(
            "goroutines", {"groupBy": "stack", "count": 10_000, "memberCount": 10_000}, timeout=300
        )["groups"]
        observation.places = client.ok(
            "goroutines", {"groupBy": "location", "count": 10_000, "memberCount": 10_000}, timeout=300
        )["groups"]
    except Exception as exc:  # recorded; every test of this core reports it
        observation.error = f"{type(exc).__name__}: {exc}"
    observation.exit = adapters.finish(client)
    observation.violations = list(client.violations)
    return observation


@pytest.fixture(scope="module")
def observation(adapters: Adapters, corpus_case: CorpusCase) -> Iterator[Observation]:
    yield converse(adapters, corpus_case)


# --- the tests -------------------------------------------------------------------------------------------


def test_stopped_event(observation: Observation) -> None:
    observation.require()
    parsed = observation.case.parsed
    assert observation.stopped is not None
    body = observation.stopped["body"]
    assert body["reason"] == "exception"
    assert body.get("allThreadsStopped") is True
    crashing = parsed.crashing_goroutine()
    if crashing is not None:
        # cgo_crash lands here too: the C code ran on goroutine 1's thread, which stderr shows in `syscall`.
        assert body.get("threadId") == crashing.id
    else:
        # deadlock, external_abrt: no goroutine ran; the stop is on the OS thread that crashed, listed in
        # `threads` under an id above every goroutine's that still fits DAP's int32.
        assert body.get("threadId") in observation.os_threads(), (body, observation.threads)
        assert max(parsed.goroutines_by_id()) < body["threadId"] <= INT32_MAX
    assert as_message(body.get("text", "")) == expected_message(parsed)


def test_the_stop_badge_is_short(observation: Observation) -> None:
    """VS Code prints `description` upper-cased on the thread's row; a whole panic message there squeezes the
    thread's name to a character. The badge says what kind of crash; the message is in `text`."""
    observation.require()
    parsed = observation.case.parsed
    assert observation.stopped is not None
    headline = parsed.message_lines[headline_index(parsed.message_lines)]
    description = observation.stopped["body"].get("description")
    if parsed.kind == "signal":
        assert description == headline.split(":", 1)[0] and re.fullmatch(r"SIG[A-Z0-9]+", description), description
    else:
        assert description == parsed.kind and description in BADGES, (description, parsed.kind)
    assert len(description) <= 12
    assert headline in observation.stopped["body"]["text"]


def test_exception_info(observation: Observation) -> None:
    observation.require()
    parsed = observation.case.parsed
    response = observation.exception_info
    assert response is not None, "no stopped threadId to ask exceptionInfo for"
    assert response.get("success"), response.get("message")
    body = response["body"]
    assert body["exceptionId"] == parsed.kind
    assert body.get("breakMode") == "unhandled"
    assert as_message(body.get("description", "")) == expected_message(parsed)
    details = body.get("details") or {}
    # details.stackTrace is a Go traceback: our own parser reads it as it reads the runtime's stderr.
    shown = parse_traceback(details.get("stackTrace") or "")
    assert not shown.unparsed_lines, shown.unparsed_lines
    crashing = parsed.crashing_goroutine()
    if crashing is not None:
        goroutine = shown.goroutines_by_id().get(crashing.id)
        assert goroutine is not None and goroutine.frames, details.get("stackTrace")
        frames = [(printed_function(f), f.file, f.line) for f in goroutine.frames]
        alignment = align_goroutine(frames, crashing)
        index = first_user_frame_index([f.function for f in crashing.frames])
        assert index is not None and index in alignment.mapping
    else:
        assert shown.runtime_stacks, details.get("stackTrace")
        frames = [(printed_function(f), f.file, f.line) for f in shown.runtime_stacks[0]]
        align(frames, printed_thread_stack(parsed), interrupted=True)
    if len(parsed.panics) > 1:
        # nested_panic, recovered_repanic: every value of the chain is shown, in the inner exceptions or
        # in the text.
        inner = details.get("innerException") or []
        texts = "\n".join(
            [body.get("description", ""), details.get("message", "")] + [e.get("message", "") for e in inner]
        )
        for panic in parsed.panics:
            assert panic.value in texts, (panic.value, texts)


def thread_name_parts(name: str) -> re.Match[str]:
    match = _THREAD_NAME_RE.match(name)
    assert match is not None, f"not a goroutine thread name: {name!r}"
    return match


def test_threads(observation: Observation) -> None:
    observation.require()
    parsed = observation.case.parsed
    threads = observation.threads
    os_threads = observation.os_threads()
    goroutine_ids = [t["id"] for t in threads if t["id"] not in os_threads]
    assert len(goroutine_ids) == len(set(goroutine_ids)), "a goroutine is listed twice"
    printed = set(parsed.goroutines_by_id())
    listed = set(goroutine_ids)
    assert listed == printed, (
        f"listed but not printed by the runtime: {sorted(listed - printed)} "
        f"({[t['name'] for t in threads if t['id'] in listed - printed]}); "
        f"printed but not listed: {sorted(printed - listed)}"
    )
    assert threads[0]["id"] == observation.stop_thread, "the crashing thread is not listed first"
    crashed = [t["id"] for t in threads if t["name"].endswith(" (crashed)")]
    assert crashed == [observation.stop_thread]
    for thread_id, lwp in os_threads.items():
        assert thread_id == os_thread_dap_id(lwp) <= INT32_MAX
    for thread in threads:
        if thread["id"] in os_threads:
            continue
        parts = thread_name_parts(thread["name"])
        assert int(parts["id"]) == thread["id"]
        assert parts["function"], f"no function in {thread['name']!r}"


def test_goroutine_states(observation: Observation) -> None:
    """Each goroutine's name carries its state exactly as stderr printed it.

    The parser already separated what the printer adds around the state (`(scan)`, `(leaked)`,
    `, N minutes`, `, locked to thread`, `, synctest bubble N`, `labels:{...}`), which a thread name does
    not carry. No difference is tolerated: in every corpus core the runtime stopped the world before it
    printed, and the states it printed are the ones the core holds.
    """
    observation.require()
    by_id = observation.case.parsed.goroutines_by_id()
    wrong: list[str] = []
    os_threads = observation.os_threads()
    for thread in observation.threads:
        if thread["id"] in os_threads:
            continue
        g = by_id.get(thread["id"])
        shown = thread_name_parts(thread["name"])["state"]
        if g is None:
            wrong.append(f"goroutine {thread['id']} [{shown}] is not in stderr at all")
        elif shown != g.state and not ran_after_the_print(g, shown):
            wrong.append(f"goroutine {g.id}: stderr [{g.state}], adapter [{shown}] ({thread['name']!r})")
    assert not wrong, "\n".join(wrong)


def test_first_user_frames(observation: Observation) -> None:
    """For each goroutine the editor lands on the frame stderr shows as its innermost frame of your code (the
    program's own modules, from the build info; for a stack without one, its first frame of readable code),
    with every frame above it pushed aside: the library frames among them keep a normal frame hint, the
    runtime's are subtle too. Below it only code nobody reads (the runtime's, cgo's wrappers) is pushed aside.
    VS Code 1.100 decides with `frame.presentationHint ?? source.presentationHint`; so does this test."""
    observation.require()
    by_id = observation.case.parsed.goroutines_by_id()
    scope = observation.scope
    wrong: list[str] = []
    checked = 0
    states = observation.states()
    for gid in sampled_goroutines(observation.case.parsed):
        g = by_id[gid]
        frames = observation.frames(gid)
        assert frames, f"goroutine {gid} has no frames"
        if not g.frames:
            continue  # stderr printed no frames for it (a `stack unavailable` block with no second one)
        if gid in states and ran_after_the_print(g, states[gid]):
            continue  # the runtime's own, not frozen by the crash: the printed stack is gone
        try:
            alignment = align_goroutine(frame_tuples(frames), g, complete=observation.complete(gid))
        except AssertionError as exc:
            wrong.append(f"goroutine {gid}: {exc}")
            continue
        landing = landing_frame_index(printed_locations(g), scope)
        target = alignment.mapping[landing if landing is not None else 0]
        shown = first_shown_frame(frames)
        if SYSCALL_ENTRY in alignment.tolerated:
            # The thread was deeper than where the goroutine entered the syscall; the editor may land on
            # that deeper user-level code (the C function that crashed, syscall.RawSyscall6).
            if shown > target:
                wrong.append(
                    f"goroutine {gid}: lands on frame {shown} {frames[shown]['name']}, below "
                    f"stderr's first user frame {target} {frames[target]['name']}"
                )
        elif shown != target:
            wrong.append(
                f"goroutine {gid}: lands on frame {shown} {frame_tuples(frames)[shown]}, stderr's "
                f"first user frame is {frame_tuples(frames)[target]}"
            )
        for above in frames[:shown]:
            # Pushed aside: code nobody reads is subtle too; library code has no frame hint of its own (VS Code
            # takes a frame's hint before its source's, and would land on a "normal" one).
            source = above.get("source") or {}
            readable = has_source(scope.classify(above["name"], source.get("path") or source.get("name") or ""))
            want = None if readable else "subtle"
            if source and source.get("presentationHint") != "deemphasize":
                wrong.append(f"goroutine {gid}: frame {above['name']!r} above the landing is not deemphasized")
            if above.get("presentationHint") != want:
                wrong.append(f"goroutine {gid}: frame {above['name']!r} above the landing is not {want}: {above}")
        for below in frames[shown:]:
            source = below.get("source") or {}
            kind = scope.classify(below["name"], source.get("path") or source.get("name") or "")
            dimmed = source.get("presentationHint") == "deemphasize"
            if dimmed and has_source(kind) and source.get("path") and os.path.isfile(source["path"]):
                wrong.append(f"goroutine {gid}: readable frame {below['name']!r} ({kind}) is deemphasized")
        checked += 1
    assert not wrong, "\n".join(wrong)
    # Not a loop over nothing: every sampled goroutine that stderr printed frames for was checked (a
    # goroutine whose stack was unavailable to the runtime has none to compare with).
    printed_with_frames = [
        gid
        for gid in sampled_goroutines(observation.case.parsed)
        if by_id[gid].frames and not (gid in states and ran_after_the_print(by_id[gid], states[gid]))
    ]
    assert checked == len(printed_with_frames) > 0, (checked, printed_with_frames)


def test_os_thread_stack(observation: Observation) -> None:
    """When no goroutine crashed, the crashing OS thread shows the stack the runtime printed for it; when
    one did, no OS thread is listed beside the goroutines."""
    observation.require()
    parsed = observation.case.parsed
    if parsed.crashing_goroutine() is not None:
        assert not observation.os_threads(), observation.os_threads()
        return
    stop = observation.stop_thread
    assert stop is not None and stop in observation.os_threads()
    frames = observation.frames(stop)
    printed = printed_thread_stack(parsed)
    alignment = align(frame_tuples(frames), printed, interrupted=True, complete=observation.complete(stop))
    # The editor lands inside what the runtime printed (e.g. runtime.checkdead under runtime.fatal), never
    # on the frames above it, which only deliver the final signal (raise, sigtramp, crash...).
    shown = first_shown_frame(frames)
    assert alignment.mapping[0] <= shown <= max(alignment.mapping.values()), (shown, frame_tuples(frames))


def test_stack_paging(observation: Observation) -> None:
    observation.require()
    assert observation.stacks, "no stack was read: nothing to page through"
    wrong: list[str] = []
    for thread, whole in observation.stacks.items():
        frames = _frames(whole)
        total = whole["body"].get("totalFrames")
        if total is None or total < len(frames):
            wrong.append(f"{thread}: totalFrames {total} with {len(frames)} frames in the whole stack")
            continue
        complete = total == len(frames)
        pages = observation.pages[thread]
        joined: list[dict[str, Any]] = []
        for index, page in enumerate(pages):
            got = _frames(page)
            want = min(PAGE, len(frames) - index * PAGE)
            if len(got) != want:
                wrong.append(f"{thread}: page {index} has {len(got)} frames, not {want}")
            if complete and page["body"].get("totalFrames") != total:
                wrong.append(
                    f"{thread}: page {index} says totalFrames {page['body'].get('totalFrames')}, "
                    f"the whole stack {total}"
                )
            joined.extend(got)
        if [_frame_key(f) for f in joined] != [_frame_key(f) for f in frames]:
            wrong.append(f"{thread}: the pages joined differ from the whole stack")
        if complete:
            past = observation.past_end[thread]
            if not past.get("success") or _frames(past):
                wrong.append(f"{thread}: a page after the last frame is not an empty success: {past}")
    assert not wrong, "\n".join(wrong)


def test_disconnect_ends_everything(observation: Observation) -> None:
    observation.require()
    ended = observation.exit
    assert ended is not None
    assert ended.disconnect is not None and ended.disconnect.get("success"), ended.disconnect
    assert ended.dlv_seen, "no dlv child was seen while the session ran"
    assert ended.exited_by_itself, "the adapter kept running after disconnect (stdin still open)"
    assert ended.returncode == 0, ended.stderr_tail
    assert not ended.dlv_survivors, f"dlv outlived the adapter: {sorted(ended.dlv_survivors)}"


def test_every_message_is_valid_dap(observation: Observation) -> None:
    """Every message the adapter sent in this session satisfies the DAP schema (and seq increases)."""
    observation.require()
    assert not observation.violations, "\n".join(observation.violations[:20])


# --- your code: where the editor lands, what goroutines are named after --------------------------------------


def innermost_yours(g: TracebackGoroutine, scope: CodeScope) -> GoLocation | None:
    """stderr's innermost frame of the main module on a goroutine's stack (what the runtime printed)."""
    for frame in printed_locations(g):
        if frame.line > 0 and scope.classify(frame.function, frame.file) is CodeKind.MAIN_MODULE:
            return frame
    return None


def test_the_editor_lands_on_the_line_the_author_names(observation: Observation) -> None:
    """The first frame the editor opens after the stop (the stop's thread, or the goroutine a second stop
    sends it to when none crashed) is the manifest's `expect.landing`, written from the program's source;
    for a cgo crash, the faulting C line."""
    observation.require()
    expected = expected_landing(observation.case.name)
    thread = observation.landing_thread or observation.stop_thread
    assert thread is not None
    frames = observation.frames(thread)
    index = first_shown_frame(frames)
    frame = frames[index]
    path = (frame.get("source") or {}).get("path") or ""
    assert expected.matches(frame["name"], path, frame["line"]), (
        f"the editor opens {frame['name']} {path}:{frame['line']}; the author names {expected}: "
        f"{expected.source_line(observation.case.name).strip()!r}"
    )
    assert os.path.isfile(path), f"{path} is not a file on this machine"
    summary = observation.crash_summary or {}
    landing = summary.get("landing")
    assert landing is not None, summary
    assert landing["goroutineId"] == thread
    where = landing["location"]
    assert expected.matches(where["function"], where["file"], where["line"]), landing


def test_no_goroutine_crashed_sends_the_editor_to_main(observation: Observation) -> None:
    """A deadlock or an external signal: the stop stays on the runtime's OS thread (listed first, crashed),
    and a second stop sends the editor to the main goroutine, which the thread list names next; the
    Goroutines view gets the asleep user goroutines first (crashSummary `asleepOrder`)."""
    observation.require()
    parsed = observation.case.parsed
    first = (observation.stopped or {}).get("body") or {}
    if parsed.crashing_goroutine() is not None:
        assert observation.landing_stop is None
        assert first.get("preserveFocusHint") is False
        assert "asleepOrder" not in (observation.crash_summary or {})
        return
    main = next(g for g in parsed.goroutines if any(f.function == "main.main" for f in g.frames))
    second = (observation.landing_stop or {}).get("body") or {}
    assert first.get("preserveFocusHint") is True, first
    assert second.get("threadId") == main.id, second
    assert second.get("reason") == "exception" and second.get("allThreadsStopped") is False, second
    assert second.get("preserveFocusHint") is False and second.get("description") == first.get("description")
    assert [t["id"] for t in observation.threads[:2]] == [observation.stop_thread, main.id]
    summary = observation.crash_summary or {}
    assert summary["landing"]["asleep"] is True and summary["landing"]["goroutineId"] == main.id
    order = summary["asleepOrder"]
    assert order[0] == main.id
    users = {g.id for g in parsed.goroutines if innermost_yours(g, observation.scope) is not None}
    assert set(order) == users, (order, sorted(users))
    response = observation.landing_exception_info or {}
    assert response.get("success") and response["body"]["exceptionId"] == parsed.kind, response
    # The Goroutines view lists them in that order (ungrouped: the ranked goroutines first).
    assert [g["id"] for g in observation.goroutines[: len(order)]] == order
    assert observation.buckets[0]["representative"]["id"] == main.id


def test_user_locations_and_thread_names_are_your_code(observation: Observation) -> None:
    """Every goroutine that has a frame of the main module is located there: `userLocation` is stderr's
    innermost main-module frame, function, file and line of that one frame, with the library call above it
    (`waitingIn`) when there is one; its thread is named after the same function."""
    observation.require()
    parsed = observation.case.parsed
    scope = observation.scope
    by_id = parsed.goroutines_by_id()
    names = {t["id"]: t["name"] for t in observation.threads}
    records = {g["id"]: g for g in observation.goroutines}
    assert set(records) == set(by_id)
    wrong: list[str] = []
    for gid, g in by_id.items():
        record = records[gid]
        where = record["userLocation"]
        want = innermost_yours(g, scope)
        if want is None:
            continue
        if scope.classify(where["function"], where["file"]) is not CodeKind.MAIN_MODULE:
            wrong.append(f"goroutine {gid}: userLocation {where} is not the main module's (stderr: {want})")
            continue
        crashing = observation.case.parsed.crashing_goroutine()
        if crashing is not None and gid == crashing.id and where["function"].startswith("C."):
            continue  # a crash in C code: deeper than the runtime can print (the landing test checks it)
        got: tuple[Any, ...] = (traceback_name(where["function"]), where["file"], where["line"])
        want_t: tuple[Any, ...] = (want.function, want.file, want.line)
        if g.state == "syscall":
            # Delve reads a goroutine in a system call from its thread, deeper than where it entered it.
            got, want_t = got[:2], want_t[:2]
        if got != want_t:
            wrong.append(f"goroutine {gid} [{g.state}]: userLocation {got}, stderr's innermost frame of yours {want_t}")
        printed = printed_locations(g)
        at = next((i for i, f in enumerate(printed) if (f.function, f.file) == (want.function, want.file)), None)
        above = printed[at - 1] if at else None
        context = record.get("waitingIn")
        if above is not None and has_source(scope.classify(above.function, above.file)) and g.state != "syscall":
            if context != traceback_name(above.function):
                wrong.append(f"goroutine {gid}: waitingIn {context!r}, stderr's frame above is {above.function}")
        elif context is not None and g.state != "syscall":
            wrong.append(f"goroutine {gid}: waitingIn {context!r} but the frame above is the runtime's or yours")
        name = names.get(gid)
        if name is not None:
            function = thread_name_parts(name)["function"]
            if function != traceback_name(where["function"]):
                wrong.append(f"goroutine {gid}: thread {name!r} is not named after {where['function']}")
    assert not wrong, "\n".join(wrong)


def test_bucket_labels_name_your_code(observation: Observation) -> None:
    """Each stack bucket holding a goroutine with a main-module frame is labelled by that frame
    (`main.locker (main.go:14) · in sync.(*Mutex).Lock < ...`), as its representative's userLocation says."""
    observation.require()
    scope = observation.scope
    by_id = observation.case.parsed.goroutines_by_id()
    wrong: list[str] = []
    seen: set[int] = set()
    for bucket in observation.buckets:
        members = set(bucket["memberIds"])
        seen |= members
        assert len(members) == bucket["count"], bucket["label"]
        label = bucket["label"]
        yours = [gid for gid in members if innermost_yours(by_id[gid], scope) is not None]
        if not yours:
            assert scope.classify(label.split(" (", 1)[0], "") is not CodeKind.MAIN_MODULE, label
            continue
        representative = bucket["representative"]
        where = representative["userLocation"]
        function = label.split(" (", 1)[0]
        if scope.classify(function, where["file"]) is not CodeKind.MAIN_MODULE:
            wrong.append(f"bucket {label!r} holds goroutines {sorted(yours)} with frames of yours")
            continue
        short = f"{traceback_name(where['function'])} ({where['file'].rsplit('/', 1)[-1]}:{where['line']})"
        if not label.startswith(short):
            wrong.append(f"bucket {label!r} does not start with its representative's location {short}")
        if representative.get("waitingIn") and f" · in {representative['waitingIn']}" not in label:
            wrong.append(f"bucket {label!r} does not say what it waits in ({representative['waitingIn']})")
    assert seen == set(by_id)
    assert not wrong, "\n".join(wrong)


def test_location_groups_are_places_in_your_code(observation: Observation) -> None:
    """Grouped by location, goroutines at the same line of your code are one group, labelled by that line,
    and goroutines at different lines of yours are never together (even when they wait in the same library
    call, where Delve's user location would put them together)."""
    observation.require()
    scope = observation.scope
    by_id = observation.case.parsed.goroutines_by_id()
    wrong: list[str] = []
    seen: set[int] = set()
    for group in observation.places:
        members = set(group["memberIds"])
        seen |= members
        places = {innermost_yours(by_id[gid], scope) for gid in members}
        if places == {None}:
            continue
        lines = {
            (p.function, p.file) if by_id[gid].state == "syscall" else (p.function, p.file, p.line)
            for gid, p in ((gid, innermost_yours(by_id[gid], scope)) for gid in members)
            if p is not None
        }
        if None in places or len(lines) != 1:
            wrong.append(f"location group {group['label']!r} mixes places: {sorted(map(str, places))}")
            continue
        place = next(p for p in places if p is not None)
        crashing = observation.case.parsed.crashing_goroutine()
        if crashing is not None and crashing.id in members and group["label"].startswith("C."):
            # A crash in C code: deeper than the runtime can print; the place is the faulting C line.
            landing = expected_landing(observation.case.name)
            assert group["label"].startswith(f"C.{landing.function} ({landing.file.rsplit('/', 1)[-1]}:{landing.line})")
            continue
        if not group["label"].startswith(f"{place.function} ({place.file.rsplit('/', 1)[-1]}:"):
            wrong.append(f"location group {group['label']!r} is not labelled by {place.function} ({place.file})")
    assert seen == set(by_id)
    assert not wrong, "\n".join(wrong)
