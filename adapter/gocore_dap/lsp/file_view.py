"""One core's marks on one local source file, where they are in its current text.

A view checks the text against the build once (`lsp.build_check`) and keeps it as the base; later texts
(the editor's edits) are followed line by line (`lsp.line_tracking`). A text that fails the check
becomes a `hidden` view (no marks, one hint that says why) until a text passes again (an undo, a checkout
of the right revision). Pure: the caller brings the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from gocore_dap.goviews.frames import traceback_name
from gocore_dap.lsp.build_check import LineExpectation, Verdict, callee_tokens, check_text, declaration_tokens
from gocore_dap.lsp.line_tracking import LineMap
from gocore_dap.lsp.marks import CrashMark, FunctionMark, LineMark, PanicSite

if TYPE_CHECKING:
    from gocore_dap.lsp.collect import CoreFacts

__all__ = ["FileView", "Placed", "PlacedFunction"]


@attrs.frozen
class Placed:
    """Something marked on a line of the current text (0-based `line`)."""

    line: int
    mark: LineMark | None = None
    crash: CrashMark | None = None
    panic: PanicSite | None = None


@attrs.frozen
class PlacedFunction:
    line: int  # the declaration's current line (0-based)
    function: FunctionMark
    marked_lines: tuple[int, ...]  # current lines (0-based) of its marks


@attrs.frozen
class Dropped:
    """A mark whose line was edited: where it was, and how many goroutines it held."""

    line: int
    build_line: int
    goroutines: int
    crash: bool


class FileView:
    def __init__(self, facts: CoreFacts, local_path: str, binary_files: Sequence[str]) -> None:
        self.local_path = local_path
        self.binary_files = tuple(binary_files)
        marks = facts.marks
        files = set(self.binary_files)
        self.lines = [m for m in marks.lines.values() if m.file in files]
        self.functions = [f for f in marks.functions.values() if f.file in files]
        crash = marks.crash
        self.crash = crash if crash is not None and crash.site is not None and crash.site.file in files else None
        self.panics = [p for p in crash.panics if p.location.file in files] if crash is not None else []
        self.decl_lines = {f.function: facts.build.decl_lines.get(f.function) for f in self.functions}
        self._facts = facts
        self._base: tuple[str, ...] | None = None
        self._map = LineMap(())
        self.verdict = Verdict(True)

    # -- the text -------------------------------------------------------------------------------------------

    def expectations(self) -> tuple[list[int], list[LineExpectation], list[int]]:
        """(code lines, expectations, every line named) for this file, from the build and the stacks."""
        facts = self._facts
        checked = [f for f in self.binary_files if f in facts.checked_files]
        code: set[int] = set()
        for file in checked:
            code.update(facts.build.code_lines.get(file, ()))
        expects: list[LineExpectation] = []
        named = [m.line for m in self.lines]
        if checked:
            for mark in self.lines:
                if mark.file not in checked:
                    continue
                for callee in sorted(mark.callees):
                    tokens = callee_tokens(callee)
                    if tokens:
                        expects.append(LineExpectation(mark.line, traceback_name(callee), any_of=tokens))
            if self.crash is not None and self.crash.site is not None and self.crash.site.file in checked:
                tokens = callee_tokens(self.crash.callee)
                if tokens:
                    expects.append(
                        LineExpectation(self.crash.site.line, traceback_name(self.crash.callee), any_of=tokens)
                    )
            for site in self.panics:
                if site.location.file in checked:
                    expects.append(LineExpectation(site.location.line, "panic", any_of=("panic",)))
            for function in self.functions:
                line = self.decl_lines.get(function.function)
                if line and function.file in checked:
                    name = traceback_name(function.function)
                    expects.append(
                        LineExpectation(
                            line, f"the declaration of {name}", all_of=declaration_tokens(function.function)
                        )
                    )
        if self.crash is not None and self.crash.site is not None:
            named.append(self.crash.site.line)
        named.extend(p.location.line for p in self.panics)
        return sorted(code), expects, named

    def sync(self, text: Sequence[str]) -> None:
        """Follow the file to `text` (its lines now)."""
        if self._base is not None and self.verdict.matches:
            self._map.update(text)
            return
        code, expects, named = self.expectations()
        self.verdict = check_text(text, code, expects, named_lines=named)
        self._base = tuple(text)
        self._map = LineMap(self._base)

    @property
    def hidden(self) -> bool:
        return not self.verdict.matches

    def current_line(self, build_line: int) -> int | None:
        """The current 0-based line of a 1-based line the build names; None if it was edited."""
        if self.hidden:
            return None
        return self._map.to_current(build_line - 1)

    # -- what is where --------------------------------------------------------------------------------------

    def placed(self) -> tuple[list[Placed], list[Dropped]]:
        if self.hidden:
            return [], []
        placed: list[Placed] = []
        dropped: list[Dropped] = []
        for mark in self.lines:
            line = self._map.to_current(mark.line - 1)
            if line is None:
                dropped.append(Dropped(self._map.nearest_current(mark.line - 1), mark.line, mark.count, False))
            else:
                placed.append(Placed(line, mark=mark))
        if self.crash is not None and self.crash.site is not None:
            line = self._map.to_current(self.crash.site.line - 1)
            if line is None:
                dropped.append(
                    Dropped(self._map.nearest_current(self.crash.site.line - 1), self.crash.site.line, 0, True)
                )
            else:
                placed.append(Placed(line, crash=self.crash))
        for site in self.panics:
            line = self._map.to_current(site.location.line - 1)
            if line is not None:
                placed.append(Placed(line, panic=site))
        return placed, dropped

    def placed_functions(self) -> list[PlacedFunction]:
        if self.hidden:
            return []
        out = []
        for function in self.functions:
            marked = sorted(line for line in (self._map.to_current(n - 1) for n in function.lines) if line is not None)
            if not marked:
                continue
            decl = self.decl_lines.get(function.function)
            at = self._map.to_current(decl - 1) if decl else None
            out.append(PlacedFunction(at if at is not None else marked[0], function, tuple(marked)))
        return out
