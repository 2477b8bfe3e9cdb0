"""Marks follow the source while it is edited, and go (with a hint) where it no longer is the build.

On a real core (many_goroutines): a line inserted above the marks moves them down with their lines; an
edited marked line loses its mark and gets an "edited since the build" hint; undoing the edit brings the
mark back; a file opened with a text that differs from the build (a blank line added at the top, or a
marked call renamed) shows no marks, only a hint that says which line proves it.
"""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types as lsp

from gocore_dap.goviews.traceback_text import parse_traceback
from tests.lsp.client import LspSession
from tests.lsp.expected import expected_lines, parse_summary
from tests.lsp.test_lsp_corpus import _artifact, _main_go, _open

pytestmark = pytest.mark.integration


def _goroutine_lines(diagnostics: list[lsp.Diagnostic]) -> dict[int, dict[str, int]]:
    return {
        d.range.start.line + 1: parse_summary(d.message)
        for d in diagnostics
        if d.severity == lsp.DiagnosticSeverity.Information
    }


def test_marks_follow_edits() -> None:
    artifact = _artifact("many_goroutines")
    expected = expected_lines(parse_traceback(artifact.stderr_text()))
    source = _main_go(artifact)
    text = source.read_text()
    lines = text.split("\n")
    # A marked line of a closure: `{"chan send", func(p *pool, i int) { p.started.Done(); p.send <- i }},`
    send_line = next(n for n, e in expected.items() if "chan send" in e.states)

    async def scenario() -> None:
        session = LspSession()
        try:
            uri, diagnostics = await _open(artifact, session)
            before = _goroutine_lines(diagnostics)
            assert before[send_line] == expected[send_line].states

            # Two lines inserted at the top: every mark moves down by two, counts unchanged.
            session.edit_document(uri, 0, "// a comment\n// another\n", version=2)
            await session.wait_for(
                lambda: _goroutine_lines(session.diagnostics[uri]) == {n + 2: s for n, s in before.items()},
                what="marks moved by two lines",
            )
            hints = await session.inlay_hints(uri)
            assert {h.position.line + 1 for h in hints} == {n + 2 for n in expected}

            # The marked line itself edited: its mark goes, a hint says what was there.
            edited = lines[:]
            edited[send_line - 1] = edited[send_line - 1].replace("p.send <- i", "p.send <- i + 1")
            session.change_document(uri, "// a comment\n// another\n" + "\n".join(edited), version=3)
            await session.wait_for(
                lambda: send_line + 2 not in _goroutine_lines(session.diagnostics[uri]), what="mark dropped"
            )
            notes = [d for d in session.diagnostics[uri] if d.severity == lsp.DiagnosticSeverity.Hint]
            assert any(d.range.start.line + 1 == send_line + 2 and "Edited since the build" in d.message for d in notes)
            assert len(_goroutine_lines(session.diagnostics[uri])) == len(before) - 1

            # Undo: the line is as built again, and so is its mark.
            session.change_document(uri, text, version=4)
            await session.wait_for(lambda: _goroutine_lines(session.diagnostics[uri]) == before, what="marks restored")
        finally:
            await session.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("change", ["blank-line-on-top", "call-renamed"])
def test_a_file_that_differs_from_the_build_is_not_marked(change: str) -> None:
    artifact = _artifact("classic")
    source = _main_go(artifact)
    text = source.read_text()
    if change == "blank-line-on-top":
        changed = "\n" + text
        reason = "holds code in the build but is blank here"
    else:
        # The same number of lines, the crash line's call renamed: only the stacks can tell.
        changed = text.replace("panic(err)", "log.Fatal(err)")
        reason = "should call panic"

    async def scenario() -> None:
        session = LspSession()
        try:
            await session.start(source.parent, {"program": str(artifact.binary), "coreFilePath": str(artifact.core)})
            uri = session.open_document(source, text=changed)
            await session.wait_for(lambda: bool(session.diagnostics.get(uri)), what="diagnostics")
            diagnostics = session.diagnostics[uri]
            assert [d.severity for d in diagnostics] == [lsp.DiagnosticSeverity.Hint], diagnostics
            assert "differs from the build" in diagnostics[0].message and reason in diagnostics[0].message
            assert await session.inlay_hints(uri) == []
            assert await session.code_lenses(uri) == []
            # Put back as built: the marks come back.
            session.change_document(uri, text, version=2)
            await session.wait_for(
                lambda: any(d.severity == lsp.DiagnosticSeverity.Error for d in session.diagnostics[uri]),
                what="the crash diagnostic",
            )
        finally:
            await session.stop()

    asyncio.run(scenario())
