"""The report as Markdown, for tickets and chat (GitHub/GitLab flavour: tables, <details>).

Everything the program wrote (the panic message, goroutine labels, function names, file paths, notes)
goes through `escape`: running text has no HTML and no Markdown markup left (a renderer that allows
HTML must not run an `<img onerror=...>` from a panic value), code blocks and spans cannot be closed
from inside, and control characters (terminal escapes, bidirectional overrides) are written as visible
escapes so that none reaches the clipboard. The runtime's own goroutine groups are folded into one
"Go runtime" row, as in the text report and the extension; the JSON report keeps every group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gocore_dap.goviews.frames import traceback_name
from gocore_dap.report.escape import html_text, markdown_code_span, markdown_fence, markdown_inline
from gocore_dap.report.model import Report
from gocore_dap.report.render_text import _build_line, _states, runtime_row

__all__ = ["render_markdown"]

MARKDOWN_MAX_GROUPS = 50
MARKDOWN_DETAILED_GROUPS = 10


def _stack_text(frames: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(
        f"{traceback_name(str(f.get('function', '')))}(...)\n\t{f.get('file', '')}:{f.get('line', 0)}" for f in frames
    )


def render_markdown(report: Report) -> str:
    crash = report.crash
    out: list[str] = [f"# {markdown_inline(report.headline) or 'Crash report'}", ""]
    who = "none (no goroutine on the crashing thread)"
    if report.crashing_goroutine_id is not None:
        who = f"goroutine {report.crashing_goroutine_id} [{report.crashing_state or '?'}]"
    rows = [
        ("Kind", str(crash.get("kind", ""))),
        ("Crashed in", f"{who}, thread {report.crashing_thread_id}"),
    ]
    signal = crash.get("signal")
    if signal:
        rows.append(("Signal", f"{signal.get('name') or signal.get('number')} code={signal.get('code'):#x} "
                               f"addr={signal.get('addr'):#x} pc={signal.get('pc'):#x}"))  # fmt: skip
    rows += [
        ("Go", str(crash.get("goVersion", ""))),
        ("Module", _build_line(crash.get("build") or {})),
        ("Delve", str(crash.get("delve", ""))),
        ("Goroutines", f"{crash.get('goroutineCount', 0):,}"),
        ("Program", report.program),
        ("Core", report.core),
    ]
    out += ["| | |", "|---|---|"]
    out += [f"| **{name}** | {markdown_inline(value)} |" for name, value in rows]
    out.append("")
    if report.runtime_report:
        out += ["What the runtime printed:", "", markdown_fence(report.runtime_report), ""]
    for warning in report.warnings:
        out += [f"> **Warning:** {markdown_inline(warning)}", ""]

    title = "Crashing goroutine" if report.crashing_goroutine_id is not None else "Crashing thread"
    out += [f"## {title}", ""]
    stack_lines = []
    for frame in report.frames:
        stack_lines.append(f"{traceback_name(frame.function) or '?'}(...)")
        stack_lines.append(f"\t{frame.file or '?'}:{frame.line}")
        if not frame.dimmed and frame.source is not None:
            stack_lines.append(f"\t\t{frame.source.strip()}")
    out += [markdown_fence("\n".join(stack_lines)), ""]
    origin = next((f for f in report.frames if f.context), None)
    if origin is not None:
        source = "\n".join(f"{'>' if c.line == origin.line else ' '} {c.line:5d} | {c.text}" for c in origin.context)
        where = markdown_inline(f"{origin.file}:{origin.line}")
        out += [
            f"Source of {markdown_code_span(traceback_name(origin.function))} ({where}):",
            "",
            markdown_fence(source),
            "",
        ]

    goroutines = report.goroutines
    exactness = "approximate" if goroutines.get("approximate") else "exact"
    out += [
        f"## Goroutines by {markdown_inline(report.group_by)}",
        "",
        f"{goroutines.get('total', 0):,} goroutines in {goroutines.get('totalGroups', 0):,} groups ({exactness}).",
        "",
        "| Count | State | Where |",
        "|---:|---|---|",
    ]
    program = report.program_groups
    for group in program[:MARKDOWN_MAX_GROUPS]:
        label = markdown_inline(str(group.get("label", "")))
        if group.get("containsCrashing"):
            label = f"**{label}** (crashed here)"
        out.append(f"| {group.get('count', 0):,} | {markdown_inline(_states(group.get('states') or {}))} | {label} |")
    runtime = report.runtime_groups
    if runtime:
        count, states, label = runtime_row(runtime)
        out.append(f"| {count:,} | {markdown_inline(_states(states))} | _{markdown_inline(label)}_ |")
    hidden = int(goroutines.get("totalGroups", 0)) - min(len(program), MARKDOWN_MAX_GROUPS) - len(runtime)
    if hidden > 0:
        out.append(f"| | | ... {hidden:,} more groups |")
    out.append("")
    for group in program[: min(MARKDOWN_DETAILED_GROUPS, MARKDOWN_MAX_GROUPS)]:
        member_ids = group.get("memberIds") or []
        ids = ", ".join(str(int(i)) for i in member_ids)
        out += [
            "<details>",
            f"<summary>{int(group.get('count', 0)):,} x {html_text(str(group.get('label', '')))}</summary>",
            "",
            f"Goroutines {ids}{', ...' if len(member_ids) < int(group.get('count', 0)) else ''}",
            "",
            markdown_fence(_stack_text(group.get("stack") or [])),
            "",
            "</details>",
            "",
        ]
    for note in report.notes:
        out += [f"_Note: {markdown_inline(note)}_", ""]
    out.append(
        f"_Generated by gocore-dap {markdown_inline(report.generator_version)} at "
        f"{markdown_inline(report.generated_at)}._"
    )
    return "\n".join(out) + "\n"
