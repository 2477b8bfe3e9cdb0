"""Every corpus core, on every toolchain, through the real adapter over stdio, against the program's own
stderr traceback (parsed by `goviews.traceback_text`): the stop, the exception, the goroutines, their
states, their first user frames, stack paging, and a clean end.

One adapter session per core does the whole conversation (`observation`); each test then checks one
aspect of what was recorded, so a failure names the aspect and the core (`test_threads[deadlock-go1.25.0]`).
The session is over (disconnected, Delve gone) before any test looks at it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from gocore_dap.goviews.frames import first_user_frame_index, is_runtime_internal
from gocore_dap.goviews.traceback_text import ParsedTraceback, TracebackFrame, TracebackGoroutine
from tests.integration.conftest import AdapterExit, Adapters
from tests.support.corpus_fixtures import CorpusCase

pytestmark = pytest.mark.integration

OS_THREAD_BASE = 1 << 40
PAGE = 4  # frames per page in the paging check: every corpus stack spans several pages
SMALL_PROGRAM = 64  # goroutines up to which every goroutine's stack is read
SAMPLE = 60  # otherwise: about this many, evenly spread over the ids, plus every non-parked one

_THREAD_NAME_RE = re.compile(
    r"^goroutine (?P<id>\d+) \[(?P<state>[^\]]*)\](?: (?P<function>.+?))?(?P<crashed> \(crashed\))?$"
)
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


def expected_message(parsed: ParsedTraceback) -> str:
    """The runtime's report as stderr shows it, with its crash line reduced to the payload (the form
    `CrashAnalysis.message` documents): e.g. `tenant "acme" job 17: quota exceeded`, or for nil_deref
    `runtime error: ...` plus the `[signal SIGSEGV ...]` line, or for a signal `abort` plus `PC=... m=...`."""
    lines = list(parsed.message_lines)
    index = headline_index(lines)
    lines[index] = payload(lines[index])
    return "\n".join(lines)


def as_message(text: str) -> str:
    """Accept the report verbatim as well as the payload form: the one normalisation is the crash line's
    `panic: ` / `fatal error: ` / `SIGxxx: ` prefix, which only repeats what exceptionId already says."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.startswith(_HEADLINE_PREFIXES) or _SIGNAL_HEADLINE_RE.match(line):
            lines[index] = payload(line)
            break
    return "\n".join(lines)


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


def expected_first_frame(g: TracebackGoroutine) -> TracebackFrame | None:
    """stderr's first user frame, or the top frame when the whole stack is the runtime's own."""
    if not g.frames:
        return None
    index = first_user_frame_index([f.function for f in g.frames])
    return g.frames[index if index is not None else 0]


# --- the recorded session ------------------------------------------------------------------------------


@attrs.define
class Observation:
    case: CorpusCase
    stopped: dict[str, Any] | None = None
    threads_response: dict[str, Any] | None = None
    exception_info: dict[str, Any] | None = None
    stacks: dict[int, dict[str, Any]] = attrs.Factory(dict)  # thread id -> response to one big request
    pages: dict[int, list[dict[str, Any]]] = attrs.Factory(dict)  # thread id -> responses, PAGE frames each
    past_end: dict[int, dict[str, Any]] = attrs.Factory(dict)  # a page that starts after the last frame
    error: str | None = None
    exit: AdapterExit | None = None
    violations: list[str] = attrs.Factory(list)
    output: str = ""

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
    def threads(self) -> list[dict[str, Any]]:
        response = self.threads_response
        assert response is not None and response.get("success"), response
        threads: list[dict[str, Any]] = response["body"]["threads"]
        return threads


def _frames(response: dict[str, Any]) -> list[dict[str, Any]]:
    assert response.get("success"), f"stackTrace failed: {response.get('message')}"
    frames: list[dict[str, Any]] = response["body"]["stackFrames"]
    return frames


def _frame_key(frame: dict[str, Any]) -> tuple[Any, ...]:
    """A frame without its id (ids are handles, new in every response)."""
    source = frame.get("source") or {}
    return (frame.get("name"), source.get("path"), frame.get("line"),
            frame.get("instructionPointerReference"), frame.get("presentationHint"),
            source.get("presentationHint"))


def converse(adapters: Adapters, case: CorpusCase) -> Observation:
    observation = Observation(case)
    client = adapters.start()
    try:
        observation.stopped = client.start_core(case.artifact.binary, case.artifact.core)
        observation.threads_response = client.request("threads")
        stop = observation.stop_thread
        if stop is not None:
            observation.exception_info = client.request("exceptionInfo", {"threadId": stop})
        thread_ids = sampled_goroutines(case.parsed)
        if observation.threads_response.get("success"):
            thread_ids += [t["id"] for t in observation.threads if t["id"] >= OS_THREAD_BASE]
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
    except Exception as exc:  # recorded; every test of this core reports it
        observation.error = f"{type(exc).__name__}: {exc}"
    observation.exit = adapters.finish(client)
    observation.violations = list(client.violations)
    observation.output = "".join(
        e["body"].get("output", "") for e in client.events("output") if isinstance(e.get("body"), dict)
    )
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
        # deadlock, external_abrt: no goroutine ran; the stop is on the OS thread that crashed.
        assert body.get("threadId", 0) >= OS_THREAD_BASE, body
        assert body["threadId"] in {t["id"] for t in observation.threads}
    assert body.get("description") == parsed.message_lines[0]
    assert as_message(body.get("text", "")) == expected_message(parsed)


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
    traceback = details.get("stackTrace") or ""
    lines = traceback.split("\n")
    crashing = parsed.crashing_goroutine()
    if crashing is not None:
        assert f"goroutine {crashing.id} [" in traceback, traceback
        expected = expected_first_frame(crashing)
        assert expected is not None
        # Go's layout: `function(...)` then a tab-indented `file:line`.
        assert any(line.startswith(f"{expected.function}(") for line in lines), traceback
        assert f"\t{expected.file}:{expected.line}" in lines, traceback
    else:
        assert lines[0] == "runtime stack:" and len(lines) >= 3, traceback
        # Go's layout: `function(...)` lines, each followed by a tab-indented `file:line`.
        frame_lines = [line for line in lines[1:] if line]
        assert all(line.startswith("\t") == (i % 2 == 1) for i, line in enumerate(frame_lines)), traceback
    if len(parsed.panics) > 1:
        # nested_panic, recovered_repanic: every value of the chain is shown, in the inner exceptions or
        # in the text.
        inner = details.get("innerException") or []
        shown = "\n".join([body.get("description", ""), details.get("message", "")] +
                          [e.get("message", "") for e in inner])
        for panic in parsed.panics:
            assert panic.value in shown, (panic.value, shown)


def thread_name_parts(name: str) -> re.Match[str]:
    match = _THREAD_NAME_RE.match(name)
    assert match is not None, f"not a goroutine thread name: {name!r}"
    return match


def test_threads(observation: Observation) -> None:
    observation.require()
    parsed = observation.case.parsed
    threads = observation.threads
    goroutine_ids = [t["id"] for t in threads if t["id"] < OS_THREAD_BASE]
    assert len(goroutine_ids) == len(set(goroutine_ids)), "a goroutine is listed twice"
    assert set(goroutine_ids) == set(parsed.goroutines_by_id())
    assert threads[0]["id"] == observation.stop_thread, "the crashing thread is not listed first"
    crashed = [t["id"] for t in threads if t["name"].endswith(" (crashed)")]
    assert crashed == [observation.stop_thread]
    for thread in threads:
        if thread["id"] >= OS_THREAD_BASE:
            assert thread["name"].startswith(f"thread {thread['id'] - OS_THREAD_BASE} "), thread
            continue
        parts = thread_name_parts(thread["name"])
        assert int(parts["id"]) == thread["id"]
        assert parts["function"], f"no function in {thread['name']!r}"


# The states stderr printed are the states in the core, with these exceptions. Each is a change the
# runtime made itself between printing a goroutine and dumping core (the traceback is printed while
# the process dies; the core is written after), and each is allowed only where it can happen.
# Keys: (program, goroutine predicate name) -> (stderr state, core state, why).
TOLERATED_STATE_CHANGES: dict[str, tuple[str, str, str]] = {}


def tolerated_state(case: CorpusCase, g: TracebackGoroutine, shown: str) -> str | None:
    """Why `shown` may differ from stderr's state for `g`, or None if it may not."""
    return None


def test_goroutine_states(observation: Observation) -> None:
    observation.require()
    by_id = observation.case.parsed.goroutines_by_id()
    wrong: list[str] = []
    for thread in observation.threads:
        if thread["id"] >= OS_THREAD_BASE:
            continue
        # The parser already separated what the printer adds to the state: `(scan)`, `(leaked)`,
        # `, N minutes`, `, locked to thread`, `, synctest bubble N`, `labels:{...}`; a thread name
        # carries only the state itself, as the runtime's status/wait reason says it.
        g = by_id[thread["id"]]
        shown = thread_name_parts(thread["name"])["state"]
        if shown != g.state and tolerated_state(observation.case, g, shown) is None:
            wrong.append(f"goroutine {g.id}: stderr [{g.state}], adapter [{shown}] ({thread['name']!r})")
    assert not wrong, "\n".join(wrong)


def first_shown_frame(frames: list[dict[str, Any]]) -> int:
    """Index of the first frame the editor focuses: the first whose source is not deemphasized."""
    for index, frame in enumerate(frames):
        if (frame.get("source") or {}).get("presentationHint") != "deemphasize":
            return index
    raise AssertionError("every frame is deemphasized")


def test_first_user_frames(observation: Observation) -> None:
    observation.require()
    by_id = observation.case.parsed.goroutines_by_id()
    wrong: list[str] = []
    checked = 0
    for gid in sampled_goroutines(observation.case.parsed):
        expected = expected_first_frame(by_id[gid])
        frames = _frames(observation.stacks[gid])
        assert frames, f"goroutine {gid} has no frames"
        if expected is None:
            continue  # stderr printed no frames for it (a `stack unavailable` block with no second one)
        shown = first_shown_frame(frames)
        frame = frames[shown]
        got = (frame["name"], (frame.get("source") or {}).get("path"), frame["line"])
        want = (expected.function, expected.file, expected.line)
        if got != want:
            wrong.append(f"goroutine {gid}: adapter {got}, stderr {want}")
        for above in frames[:shown]:
            # Only the runtime's own frames are pushed aside, and they are marked both ways.
            if not is_runtime_internal(above["name"]) or above.get("presentationHint") != "subtle":
                wrong.append(f"goroutine {gid}: frame {above['name']!r} above the first user frame is "
                             f"deemphasized but not runtime-internal/subtle: {above}")
        for below in frames[shown:]:
            dimmed = (below.get("source") or {}).get("presentationHint") == "deemphasize"
            if dimmed and not is_runtime_internal(below["name"]):
                wrong.append(f"goroutine {gid}: user frame {below['name']!r} is deemphasized")
        checked += 1
    assert not wrong, "\n".join(wrong)
    assert checked >= min(50, len(by_id)), checked


def test_os_thread_stack(observation: Observation) -> None:
    """When no goroutine crashed, the crashing OS thread shows the stack the runtime printed for it."""
    observation.require()
    parsed = observation.case.parsed
    if parsed.crashing_goroutine() is not None:
        pytest.skip("a goroutine crashed: the stop is on it")
    stop = observation.stop_thread
    assert stop is not None and stop >= OS_THREAD_BASE
    frames = [(f["name"], (f.get("source") or {}).get("path"), f["line"])
              for f in _frames(observation.stacks[stop])]
    if parsed.runtime_stacks:
        # A throw on the system stack (deadlock): `runtime stack:` is the crashing thread's own stack.
        printed = parsed.runtime_stacks[0]
    else:
        # A fatal signal (external SIGABRT): the first thread section's `goroutine 0` (g0) dump.
        m = parsed.threads[0].m
        printed = next(g.frames for g in parsed.goroutines if g.id == 0 and g.m == m)
    want = [(f.function, f.file, f.line) for f in printed]
    names = [f[0] for f in frames]
    assert want[0][0] in names, f"{want[0][0]} is not on the thread's stack {names}"
    start = names.index(want[0][0])
    assert frames[start : start + len(want)] == want, (frames, want)
    # The editor lands inside what the runtime printed (e.g. runtime.throw, runtime.checkdead), never on
    # the frames above it, which only deliver the final signal (raise, sigtramp, crash...).
    shown = first_shown_frame(_frames(observation.stacks[stop]))
    assert start <= shown < start + len(want), (shown, start, frames)


def test_stack_paging(observation: Observation) -> None:
    observation.require()
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
                wrong.append(f"{thread}: page {index} says totalFrames {page['body'].get('totalFrames')}, "
                             f"the whole stack {total}")
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
