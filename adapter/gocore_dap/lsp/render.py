"""The marks as LSP values: diagnostics, inlay hints, hovers, code lenses (lsprotocol types).

Every value says which core it comes from: diagnostics carry `source` "gocore-dap" and the core's name as
`code` (and in the message when more than one core is open); hovers and lenses name it in their text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs
from lsprotocol import types as lsp

from gocore_dap.goviews.frames import traceback_name
from gocore_dap.goviews.goroutine_info import GoLocation
from gocore_dap.goviews.user_location import short_location
from gocore_dap.lsp.file_view import FileView, Placed, PlacedFunction
from gocore_dap.lsp.marks import LineMark, state_summary

if TYPE_CHECKING:
    from gocore_dap.lsp.collect import CoreFacts

__all__ = [
    "SOURCE",
    "CoreLabel",
    "code_lens",
    "column",
    "diagnostics",
    "hover_markdown",
    "inlay_hint",
    "line_range",
]

SOURCE = "gocore-dap"
_IDS_SHOWN = 8
# Related locations of the crash diagnostic (the rest of the crashing stack).
_RELATED_MAX = 32

Locate = Callable[[GoLocation], lsp.Location | None]


@attrs.frozen
class CoreLabel:
    name: str  # unique among the open cores
    program: str
    core: str
    prefix_messages: bool = False  # several cores are open: messages start with the core's name

    def message(self, text: str) -> str:
        return f"[{self.name}] {text}" if self.prefix_messages else text


def column(text: str, index: int, encoding: str) -> int:
    """Character `index` of `text` as a column in the negotiated position encoding."""
    prefix = text[:index]
    if encoding == lsp.PositionEncodingKind.Utf8:
        return len(prefix.encode("utf-8"))
    if encoding == lsp.PositionEncodingKind.Utf32:
        return len(prefix)
    return len(prefix.encode("utf-16-le")) // 2


def line_range(lines: Sequence[str], line: int, encoding: str) -> lsp.Range:
    """The line's text without its indentation (the whole line for a blank one)."""
    text = lines[line] if 0 <= line < len(lines) else ""
    start = len(text) - len(text.lstrip())
    return lsp.Range(
        start=lsp.Position(line=line, character=column(text, start, encoding)),
        end=lsp.Position(line=line, character=column(text, len(text), encoding)),
    )


def _goroutine_diagnostic(label: CoreLabel, placed: Placed, mark: LineMark, rng: lsp.Range) -> lsp.Diagnostic:
    return lsp.Diagnostic(
        range=rng,
        message=label.message(state_summary(mark.states, mark.minutes)),
        severity=lsp.DiagnosticSeverity.Information,
        source=SOURCE,
        code=label.name,
        data={"core": label.core, "goroutines": mark.count, "states": dict(mark.states), "line": placed.line},
    )


def diagnostics(
    label: CoreLabel,
    view: FileView,
    lines: Sequence[str],
    encoding: str,
    locate: Locate,
) -> list[lsp.Diagnostic]:
    """The diagnostics of one core on one file (see the module docstring)."""
    out: list[lsp.Diagnostic] = []
    if view.hidden:
        out.append(
            lsp.Diagnostic(
                range=line_range(lines, 0, encoding),
                message=label.message(
                    f"This file differs from the build of {label.program}, so the marks of core {label.core} are "
                    f"hidden: {view.verdict.reason}. Check out the revision the program was built from."
                ),
                severity=lsp.DiagnosticSeverity.Hint,
                source=SOURCE,
                code=label.name,
                data={"core": label.core, "hidden": True},
            )
        )
        return out
    placed, dropped = view.placed()
    crash_lines = {p.line for p in placed if p.crash is not None}
    for item in placed:
        rng = line_range(lines, item.line, encoding)
        if item.crash is not None:
            crash = item.crash
            related = []
            for index, frame in enumerate(crash.stack):
                if index == crash.site_index or not frame.file or frame.line <= 0:
                    continue
                location = locate(frame)
                if location is not None:
                    related.append(
                        lsp.DiagnosticRelatedInformation(location=location, message=traceback_name(frame.function))
                    )
                if len(related) >= _RELATED_MAX:
                    break
            first, _, rest = crash.report.partition("\n")
            message = crash.headline or first
            if not crash.crashed:
                goroutine = f"goroutine {crash.goroutine_id}" if crash.goroutine_id is not None else "a goroutine"
                message += f"\n({goroutine} was asleep here)"
            elif rest.strip() and crash.panics:
                message += "\n" + rest.rstrip()
            out.append(
                lsp.Diagnostic(
                    range=rng,
                    message=label.message(message),
                    severity=lsp.DiagnosticSeverity.Error,
                    source=SOURCE,
                    code=label.name,
                    related_information=related or None,
                    data={"core": label.core, "crash": True, "goroutine": crash.goroutine_id},
                )
            )
        elif item.panic is not None:
            site = item.panic
            if item.line in crash_lines and site.index == site.total - 1:
                continue  # the newest panic was raised where the program died: the crash says it
            out.append(
                lsp.Diagnostic(
                    range=rng,
                    message=label.message(f"{site.text} (panic {site.index + 1} of {site.total})"),
                    severity=lsp.DiagnosticSeverity.Error,
                    source=SOURCE,
                    code=label.name,
                    data={"core": label.core, "panic": site.index},
                )
            )
        elif item.mark is not None:
            mark = item.mark
            # The crashing goroutine alone on its line: the crash diagnostic already says where it is.
            if mark.crashing and mark.count == 1 and item.line in crash_lines:
                continue
            out.append(_goroutine_diagnostic(label, item, mark, rng))
    for gone in dropped:
        what = "the crash site" if gone.crash else f"{gone.goroutines:,} goroutine{'s' if gone.goroutines != 1 else ''}"
        out.append(
            lsp.Diagnostic(
                range=line_range(lines, gone.line, encoding),
                message=label.message(
                    f"Edited since the build: line {gone.build_line} of the build held {what} in core {label.core}; "
                    "its mark is hidden until the line is as it was."
                ),
                severity=lsp.DiagnosticSeverity.Hint,
                source=SOURCE,
                code=label.name,
                data={"core": label.core, "edited": gone.build_line},
            )
        )
    return out


def inlay_hint(label: CoreLabel, item: Placed, lines: Sequence[str], encoding: str) -> lsp.InlayHint | None:
    mark = item.mark
    if mark is None:
        return None
    text = lines[item.line] if 0 <= item.line < len(lines) else ""
    return lsp.InlayHint(
        position=lsp.Position(line=item.line, character=column(text, len(text), encoding)),
        label=label.message(state_summary(mark.states, mark.minutes)),
        padding_left=True,
        tooltip=f"core {label.core}: {mark.count:,} goroutine{'s' if mark.count != 1 else ''} at this line "
        f"(hover for details)",
    )


def _line_mark_markdown(mark: LineMark) -> list[str]:
    where = short_location(mark.function, mark.file, mark.line)
    out = [f"**{mark.count:,} goroutine{'s' if mark.count != 1 else ''}** at {where}"]
    out.append("")
    out.append("| state | goroutines | waiting |")
    out.append("|---|---:|---|")
    for state, count in sorted(mark.states.items(), key=lambda item: (-item[1], item[0])):
        minutes = mark.minutes.get(state)
        waited = f"{minutes} minute{'s' if minutes != 1 else ''}" if minutes else ""
        out.append(f"| {state} | {count:,} | {waited} |")
    out.append("")
    if mark.waiting_in:
        out.append("Waiting in: " + ", ".join(f"`{name}`" for name in mark.waiting_in))
    if mark.callers:
        out.append("Called from: " + ", ".join(f"`{c}`" + (f" ({n:,})" if len(mark.callers) > 1 else "")
                                              for c, n in mark.callers.items()))  # fmt: skip
    if mark.creators:
        out.append("Created by the `go` statement in: " + ", ".join(
            f"`{c}`" + (f" ({n:,})" if len(mark.creators) > 1 else "") for c, n in mark.creators.items()))  # fmt: skip
    for labels, goroutine_id in mark.labels[:4]:
        pairs = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        out.append(f"pprof labels of goroutine {goroutine_id}: `{pairs}`")
    if mark.goroutine_ids:
        ids = ", ".join(str(i) for i in mark.goroutine_ids[:_IDS_SHOWN])
        more = ", …" if mark.count > min(len(mark.goroutine_ids), _IDS_SHOWN) else ""
        out.append(f"Goroutines: {ids}{more}")
    if mark.stacks > 1:
        out.append(f"{mark.stacks} different stacks lead here.")
    return out


def hover_markdown(label: CoreLabel, items: Sequence[Placed], facts: CoreFacts) -> str:
    """The hover of one line for one core (items: what that core placed on the line)."""
    parts: list[str] = []
    for item in items:
        if item.crash is not None:
            crash = item.crash
            parts.append(f"**{crash.headline}**")
            if crash.crashed and crash.goroutine_id is not None:
                parts.append(f"Goroutine {crash.goroutine_id} died here.")
            elif crash.goroutine_id is not None:
                parts.append(f"No goroutine crashed; goroutine {crash.goroutine_id} was asleep here.")
            if len(crash.report.splitlines()) > 1:
                parts.append("```\n" + crash.report.strip() + "\n```")
            variables = facts.variables
            if variables.arguments:
                parts.append("Arguments:\n```go\n" + "\n".join(variables.arguments) + "\n```")
            if variables.locals:
                parts.append("Locals:\n```go\n" + "\n".join(variables.locals) + "\n```")
            if variables.problem:
                parts.append(f"_Variables: {variables.problem}_")
        elif item.panic is not None:
            parts.append(f"**{item.panic.text}** (panic {item.panic.index + 1} of {item.panic.total})")
    for item in items:
        if item.mark is not None:
            parts.append("\n".join(_line_mark_markdown(item.mark)))
    if facts.marks.approximate:
        parts.append("_Counts come from stacks partly inferred (a large core): see the Goroutines view._")
    parts.append(f"_core `{label.core}` of `{label.program}`_")
    return "\n\n".join(parts)


def code_lens(
    label: CoreLabel,
    function: PlacedFunction,
    lines: Sequence[str],
    encoding: str,
    command: str,
    arguments: dict[str, object],
) -> lsp.CodeLens:
    mark = function.function
    title = f"{mark.count:,} goroutine{'s' if mark.count != 1 else ''} in this function"
    return lsp.CodeLens(
        range=line_range(lines, function.line, encoding),
        command=lsp.Command(title=label.message(title), command=command, arguments=[arguments]),
    )
