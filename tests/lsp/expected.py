"""What the language server should show, from the program's own stderr traceback (the ground truth).

The runtime printed every goroutine with its state and stack. For each goroutine, the line it is marked
on is the innermost frame of the program's own code (package main, for the corpus programs, which have
no dependencies); a goroutine with no such frame is marked on its first standard-library frame, and the
runtime's own goroutines (no frame outside the runtime) on nothing. The counts per line and state are
what the diagnostics, inlay hints and hovers must say.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import attrs

from gocore_dap.goviews.frames import is_runtime_internal, package_path
from gocore_dap.goviews.traceback_text import ParsedTraceback, TracebackFrame

__all__ = ["ExpectedLine", "expected_lines", "parse_summary"]

_PART = re.compile(r"^(?P<count>[\d,]+) goroutines? · (?P<state>.+?)(?: · (?P<minutes>\d+) minutes?)?$")


@attrs.frozen
class ExpectedLine:
    file: str  # base name
    line: int  # 1-based
    states: dict[str, int]
    goroutine_ids: tuple[int, ...]
    labels: tuple[dict[str, str], ...]


def _is_yours(frame: TracebackFrame) -> bool:
    return package_path(frame.function) == "main"


def _is_readable(frame: TracebackFrame) -> bool:
    return frame.function not in ("panic",) and not is_runtime_internal(frame.function) and frame.line > 0


def marked_frame(frames: list[TracebackFrame]) -> TracebackFrame | None:
    for frame in frames:
        if _is_yours(frame) and frame.line > 0:
            return frame
    for frame in frames:
        if _is_readable(frame):
            return frame
    return None


def expected_lines(parsed: ParsedTraceback, file_name: str = "main.go") -> dict[int, ExpectedLine]:
    """1-based line of `file_name` -> the goroutines the traceback shows there."""
    states: dict[int, Counter[str]] = defaultdict(Counter)
    ids: dict[int, list[int]] = defaultdict(list)
    labels: dict[int, list[dict[str, str]]] = defaultdict(list)
    for goroutine in parsed.goroutines:
        frame = marked_frame(goroutine.frames)
        if frame is None or Path(frame.file).name != file_name:
            continue
        states[frame.line][goroutine.state] += 1
        ids[frame.line].append(goroutine.id)
        if goroutine.labels:
            labels[frame.line].append(dict(goroutine.labels))
    return {
        line: ExpectedLine(file_name, line, dict(counter), tuple(ids[line]), tuple(labels[line]))
        for line, counter in states.items()
    }


def parse_summary(text: str) -> dict[str, int]:
    """`12 goroutines · IO wait; 11 goroutines · semacquire` -> {state: count} (the server's format)."""
    out: dict[str, int] = {}
    for part in text.split("; "):
        match = _PART.match(part.strip())
        assert match is not None, f"not a goroutine summary: {part!r} (in {text!r})"
        out[match.group("state")] = int(match.group("count").replace(",", ""))
    return out
