"""The report for a terminal: a crash card, the crashing stack with its source, the bucket table.

Colour (ANSI) only when asked: the caller decides from the TTY and NO_COLOR (`report.should_color`).
Runtime frames are dimmed, the headline is red, the crashing goroutine's bucket is marked. The runtime's
own goroutine groups (GC workers, the finalizer...) are folded into one "Go runtime" row below the
program's (`model.is_runtime_group`, the extension's rule); the JSON report keeps every group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gocore_dap.goviews.frames import traceback_name
from gocore_dap.report.escape import clean_controls
from gocore_dap.report.model import Report

__all__ = ["render_text"]

# Buckets listed in the table; the rest are summed in one line.
TEXT_MAX_GROUPS = 40
_STATE_WIDTH = 24


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def red(self, text: str) -> str:
        return self._wrap("1;31", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33", text)

    def cyan(self, text: str) -> str:
        return self._wrap("36", text)


def _clean(text: str) -> str:
    """Control characters from the core (a panic value can hold anything) must not drive the terminal."""
    return clean_controls(text)


RUNTIME_ROW_LABEL = "Go runtime"


def runtime_row(groups: Sequence[Mapping[str, Any]]) -> tuple[int, dict[str, int], str]:
    """The folded row of the runtime's own groups: (goroutines, states summed, label)."""
    count = sum(int(g.get("count", 0)) for g in groups)
    states: dict[str, int] = {}
    for group in groups:
        for state, n in (group.get("states") or {}).items():
            states[state] = states.get(state, 0) + int(n)
    plural = "s" if len(groups) != 1 else ""
    return count, states, f"{RUNTIME_ROW_LABEL} ({len(groups):,} group{plural})"


def _states(states: Mapping[str, int]) -> str:
    parts = sorted(states.items(), key=lambda item: (-item[1], item[0]))
    if len(parts) == 1:
        return parts[0][0]
    return ", ".join(f"{name} {count:,}" for name, count in parts)


def render_text(report: Report, *, color: bool = False) -> str:
    s = _Style(color)
    lines: list[str] = []
    rule = "=" * 78
    lines.append(rule)
    lines.append(s.red(_clean(report.headline)))
    lines.append(rule)
    rows = [(name.lower(), value) for name, value in report.card_facts()]
    for name, value in rows:
        lines.append(f"  {s.bold(f'{name:<11}')} {_clean(value)}")
    message_lines = report.runtime_report.splitlines()
    if len(message_lines) > 1:
        lines.append("")
        lines.extend(f"  {_clean(line)}" for line in message_lines)
    for warning in report.warnings:
        lines.append(s.yellow(f"warning: {_clean(warning)}"))

    lines.append("")
    title = "Crashing goroutine" if report.crashing_goroutine_id is not None else "Crashing thread"
    lines.append(s.bold(f"{title}:"))
    for frame in report.frames:
        name = f"  {traceback_name(frame.function) or '?'}(...)"
        where = f"      {frame.file or '?'}:{frame.line}"
        if frame.dimmed:
            lines.append(s.dim(_clean(name)))
            lines.append(s.dim(_clean(where)))
            continue
        lines.append(_clean(name + ("   <- crashed here" if frame.landing else "")))
        lines.append(s.cyan(_clean(where)))
        if frame.context:
            for src in frame.context:
                marker = ">" if src.line == frame.line else " "
                text = f"      {marker} {src.line:5d} | {src.text}"
                lines.append(s.bold(_clean(text)) if src.line == frame.line else s.dim(_clean(text)))
        elif frame.source is not None:
            lines.append(s.dim(_clean(f"        {frame.source.strip()}")))

    goroutines = report.goroutines
    exactness = "approximate" if goroutines.get("approximate") else "exact"
    lines.append("")
    heading = (
        f"Goroutines grouped by {report.group_by}: {goroutines.get('total', 0):,} goroutines in "
        f"{goroutines.get('totalGroups', 0):,} groups ({exactness})"
    )
    lines.append(s.bold(_clean(heading)))
    lines.append(f"  {'COUNT':>8}  {'STATE':<{_STATE_WIDTH}}  WHERE")

    def row(count: int, states: Mapping[str, int], label: str) -> str:
        state = _states(states)
        if len(state) > _STATE_WIDTH:
            state = state[: _STATE_WIDTH - 3] + "..."
        return f"  {count:>8,}  {state:<{_STATE_WIDTH}}  {label}"

    program = report.program_groups
    for group in program[:TEXT_MAX_GROUPS]:
        line = row(int(group.get("count", 0)), group.get("states") or {}, str(group.get("label", "")))
        crashed = bool(group.get("containsCrashing"))
        lines.append(s.yellow(_clean(line + "   <- crashed here")) if crashed else _clean(line))
    runtime = report.runtime_groups
    if runtime:
        lines.append(s.dim(_clean(row(*runtime_row(runtime)))))
    hidden = program[TEXT_MAX_GROUPS:]
    listed = min(len(program), TEXT_MAX_GROUPS) + len(runtime)
    more_groups = int(goroutines.get("totalGroups", 0)) - listed
    if more_groups > 0:
        more = sum(int(g.get("count", 0)) for g in hidden)
        counted = f" ({more:,} goroutines listed in the JSON/HTML report)" if more else ""
        lines.append(s.dim(f"  ... {more_groups:,} more groups{counted}"))
    for note in report.notes:
        lines.append(s.dim(f"note: {_clean(note)}"))
    return "\n".join(lines) + "\n"
