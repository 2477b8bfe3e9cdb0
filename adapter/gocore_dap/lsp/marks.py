"""What the language server marks in the source, worked out from a core's goroutines and crash (pure).

Input: the core model's stack buckets (goroutines that share a stack, with their count, states and a
representative) and the crash analysis. Output (`CoreMarks`), keyed by the file and line the binary
names:

* `LineMark`: the goroutines whose place is this line: each bucket lands on the frame the editor would
  open for it (`goviews.landing.landing_frame_index`: the innermost frame of your code; else the first
  frame of readable code, the standard library's or a dependency's), so a line holds every goroutine
  parked or running there, counted by state (as the runtime's traceback prints it) with the longest wait
  the runtime recorded. Stacks of the runtime alone (its GC workers) mark nothing;
* `CrashMark`: the line where the program died (the landing frame of the crashing goroutine, or of the
  most telling asleep goroutine for a deadlock), the runtime's first line, the rest of the crashing stack,
  and for nested panics the line each panic was raised on;
* `FunctionMark`: per function, how many goroutines are on its lines (for code lenses).

Pure: stdlib and attrs only (plus goviews).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from gocore_dap.goviews.code_scope import CodeScope, has_source
from gocore_dap.goviews.crash import CrashAnalysis, PanicRecord
from gocore_dap.goviews.frames import traceback_name
from gocore_dap.goviews.goroutine_info import GoGoroutine, GoLocation
from gocore_dap.goviews.landing import GoroutineStack, asleep_landing, landing_frame_index
from gocore_dap.goviews.user_location import short_location, user_location

__all__ = [
    "CoreMarks",
    "CrashMark",
    "FunctionMark",
    "LineMark",
    "PanicSite",
    "StackBucket",
    "build_marks",
    "state_summary",
]

LineKey = tuple[str, int]  # (file as the binary names it, 1-based line)

# Goroutine ids a line keeps for the hover and the goroutinesAt answer.
MAX_IDS = 10
_PANIC_FUNCTIONS = frozenset({"runtime.gopanic", "panic"})


@attrs.frozen
class StackBucket:
    """Goroutines that share one stack (a group of the model grouped by `stack`)."""

    frames: tuple[GoLocation, ...]  # innermost first
    count: int
    states: Mapping[str, int]
    goroutine_ids: tuple[int, ...] = ()
    representative: GoGoroutine | None = None
    crashing: bool = False


@attrs.define
class LineMark:
    file: str
    line: int
    function: str
    count: int = 0
    states: dict[str, int] = attrs.field(factory=dict)
    # The longest wait the runtime would print (`N minutes`) per state, over the goroutines read.
    minutes: dict[str, int] = attrs.field(factory=dict)
    goroutine_ids: list[int] = attrs.field(factory=list)
    # (labels, goroutine id) of the goroutines read that carry pprof labels.
    labels: list[tuple[Mapping[str, str], int]] = attrs.field(factory=list)
    # The `go` statements that started them (short location -> goroutines).
    creators: dict[str, int] = attrs.field(factory=dict)
    # Library calls they wait in (`sync.(*Mutex).Lock`) and your functions that called this one.
    waiting_in: dict[str, int] = attrs.field(factory=dict)
    callers: dict[str, int] = attrs.field(factory=dict)
    # Functions this line calls according to the stacks (the frame above): what build_check looks for.
    callees: set[str] = attrs.field(factory=set)
    crashing: bool = False
    stacks: int = 0

    @property
    def key(self) -> LineKey:
        return (self.file, self.line)


@attrs.frozen
class PanicSite:
    """A line that raised one panic of the chain (oldest first: `index` 0 is the first panic)."""

    location: GoLocation
    record: PanicRecord
    index: int
    total: int

    @property
    def text(self) -> str:
        flags = []
        if self.record.goexit:
            flags.append("runtime.Goexit")
        if self.record.recovered:
            flags.append("recovered")
        if self.record.repanicked:
            flags.append("repanicked")
        suffix = f" [{', '.join(flags)}]" if flags else ""
        return f"panic: {self.record.value_text}{suffix}"


@attrs.frozen
class CrashMark:
    kind: str
    headline: str
    report: str
    site: GoLocation | None
    # The crashing stack from its first shown frame (innermost first); `site_index` is the site in it.
    stack: tuple[GoLocation, ...]
    site_index: int | None
    goroutine_id: int | None  # whose stack: the crashing goroutine, or the asleep one a deadlock lands on
    crashed: bool  # False when the site is an asleep goroutine's (deadlock, signal from outside)
    panics: tuple[PanicSite, ...] = ()
    # The frame above the site: what the site's line calls.
    callee: str = ""


@attrs.define
class FunctionMark:
    function: str
    file: str
    count: int = 0
    states: dict[str, int] = attrs.field(factory=dict)
    lines: set[int] = attrs.field(factory=set)


@attrs.define
class CoreMarks:
    lines: dict[LineKey, LineMark] = attrs.field(factory=dict)
    functions: dict[str, FunctionMark] = attrs.field(factory=dict)
    crash: CrashMark | None = None
    total_goroutines: int = 0
    approximate: bool = False

    def files(self) -> set[str]:
        out = {file for file, _ in self.lines}
        if self.crash is not None:
            out.update(f.file for f in self.crash.stack if f.file)
            out.update(p.location.file for p in self.crash.panics)
        return out


def state_summary(states: Mapping[str, int], minutes: Mapping[str, int] | None = None) -> str:
    """`24 goroutines · chan receive · 5 minutes`; several states: `12 goroutines · IO wait; 11 goroutines ·
    semacquire` (most first)."""
    parts = []
    for state, count in sorted(states.items(), key=lambda item: (-item[1], item[0])):
        text = f"{count:,} goroutine{'s' if count != 1 else ''} · {state}"
        waited = (minutes or {}).get(state)
        if waited:
            text += f" · {waited} minute{'s' if waited != 1 else ''}"
        parts.append(text)
    return "; ".join(parts)


def _add(counter: dict[str, int], key: str, count: int) -> None:
    if key:
        counter[key] = counter.get(key, 0) + count


def _panic_sites(stack: Sequence[GoLocation], chain: Sequence[PanicRecord]) -> tuple[PanicSite, ...]:
    """Each `panic` frame's caller raised a panic; the innermost is the newest. Recovered panics have no
    frame left, so frames pair with the chain from its newest end."""
    callers = [stack[i + 1] for i, f in enumerate(stack[:-1]) if f.function in _PANIC_FUNCTIONS]
    sites = []
    for offset, location in enumerate(callers[: len(chain)]):
        index = len(chain) - 1 - offset
        sites.append(PanicSite(location, chain[index], index, len(chain)))
    return tuple(sorted(sites, key=lambda s: s.index))


def crash_mark(crash: CrashAnalysis, buckets: Sequence[StackBucket], scope: CodeScope) -> CrashMark | None:
    """Where the program died, in source terms (see the module docstring)."""
    if crash.crashing_goroutine_id is not None or not buckets:
        # The analysis keeps the frames from the first one the runtime's traceback shows.
        stack = tuple(GoLocation(f.function, f.file, f.line) for f in crash.frames)
        if not stack:
            return None
        index = landing_frame_index(stack, scope)
        return CrashMark(
            kind=crash.kind,
            headline=crash.headline,
            report=crash.report,
            site=stack[index] if index is not None else None,
            stack=stack,
            site_index=index,
            goroutine_id=crash.crashing_goroutine_id,
            crashed=True,
            panics=_panic_sites(stack, crash.panic_chain) if len(crash.panic_chain) > 1 else (),
            callee=stack[index - 1].function if index else "",
        )
    # Nobody crashed (a deadlock, a signal from outside): the most telling asleep goroutine.
    candidates = [
        GoroutineStack(b.representative.id, b.representative.state, b.frames, b.representative.system)
        for b in buckets
        if b.representative is not None
    ]
    landing = asleep_landing(candidates, scope)
    if landing is None:
        return None
    bucket = next(b for b in buckets if b.representative is not None and b.representative.id == landing.goroutine_id)
    index = landing.frame_index
    return CrashMark(
        kind=crash.kind,
        headline=crash.headline,
        report=crash.report,
        site=bucket.frames[index],
        stack=bucket.frames,
        site_index=index,
        goroutine_id=landing.goroutine_id,
        crashed=False,
        callee=bucket.frames[index - 1].function if index else "",
    )


def build_marks(
    buckets: Iterable[StackBucket],
    crash: CrashAnalysis | None,
    scope: CodeScope,
    *,
    approximate: bool = False,
) -> CoreMarks:
    buckets = list(buckets)
    marks = CoreMarks(approximate=approximate, total_goroutines=sum(b.count for b in buckets))
    for bucket in buckets:
        index = landing_frame_index(bucket.frames, scope)
        if index is None:
            continue
        frame = bucket.frames[index]
        # A stack of the runtime alone (GC workers, the finalizer goroutine) lands on its park machinery:
        # no line anybody reads.
        if not frame.file or frame.line <= 0 or not has_source(scope.classify(frame.function, frame.file)):
            continue
        mark = marks.lines.get((frame.file, frame.line))
        if mark is None:
            mark = marks.lines[(frame.file, frame.line)] = LineMark(frame.file, frame.line, frame.function)
        mark.count += bucket.count
        mark.stacks += 1
        mark.crashing = mark.crashing or bucket.crashing
        for state, count in bucket.states.items():
            _add(mark.states, state, count)
        for goroutine_id in bucket.goroutine_ids:
            if len(mark.goroutine_ids) < MAX_IDS and goroutine_id not in mark.goroutine_ids:
                mark.goroutine_ids.append(goroutine_id)
        rep = bucket.representative
        if rep is not None:
            if rep.wait_minutes is not None:
                mark.minutes[rep.state] = max(mark.minutes.get(rep.state, 0), rep.wait_minutes)
            if rep.labels:
                mark.labels.append((dict(rep.labels), rep.id))
            if rep.creation_location is not None:
                loc = rep.creation_location
                _add(mark.creators, short_location(loc.function, loc.file, loc.line), bucket.count)
        if index > 0:
            mark.callees.add(bucket.frames[index - 1].function)
        located = user_location(bucket.frames, scope)
        if located is not None and located.index == index and located.waiting_in:
            _add(mark.waiting_in, traceback_name(located.waiting_in), bucket.count)
        for caller in bucket.frames[index + 1 :]:
            if caller.file and caller.line > 0 and scope.is_yours(caller.function, caller.file):
                _add(mark.callers, short_location(caller.function, caller.file, caller.line), bucket.count)
                break
        function = marks.functions.get(frame.function)
        if function is None:
            function = marks.functions[frame.function] = FunctionMark(frame.function, frame.file)
        function.count += bucket.count
        function.lines.add(frame.line)
        for state, count in bucket.states.items():
            _add(function.states, state, count)
    if crash is not None:
        marks.crash = crash_mark(crash, buckets, scope)
    return marks
