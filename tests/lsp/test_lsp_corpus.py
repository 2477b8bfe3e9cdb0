"""The language server on real corpus cores, through pygls's own LSP client over stdio.

Each scenario opens a core as an editor would (initializationOptions), opens the program's main.go and
compares what the server shows with the program's own traceback (tests/lsp/expected.py) and the lines
its manifest names: the crash line carries an Error diagnostic with the runtime's first line, every line
where goroutines were parked carries an Information diagnostic and an inlay hint with the traceback's
counts per state, hovers list states and ids, code lenses count the goroutines of each function.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp

from gocore_dap.corpus import CorpusError, CrashArtifact, build
from gocore_dap.goviews.traceback_text import ParsedTraceback, parse_traceback
from tests.conftest import require_tool
from tests.lsp.client import SERVER, LspSession
from tests.lsp.expected import ExpectedLine, expected_lines, parse_summary
from tests.support.corpus_fixtures import OLDEST_GO
from tests.support.expected_locations import expected_landing

pytestmark = pytest.mark.integration

# Big enough that every wait state holds hundreds of goroutines, small enough to build in seconds.
MANY = "3000"
MANY_MORE = "10000"


def _artifact(name: str, toolchain: str | None = None, **params: str) -> CrashArtifact:
    require_tool(SERVER.exists(), f"{SERVER} (run scripts/setup.sh)")
    try:
        return build(name, toolchain=toolchain, params=params or None)
    except CorpusError as exc:
        require_tool(False, f"the corpus core {name!r}: {exc}")
        raise


def _main_go(artifact: CrashArtifact) -> Path:
    return Path(artifact.source_dir) / "main.go"


def _by_line(diagnostics: list[lsp.Diagnostic], severity: lsp.DiagnosticSeverity) -> dict[int, list[lsp.Diagnostic]]:
    out: dict[int, list[lsp.Diagnostic]] = {}
    for d in diagnostics:
        if d.severity == severity:
            out.setdefault(d.range.start.line + 1, []).append(d)
    return out


async def _open(artifact: CrashArtifact, session: LspSession) -> tuple[str, list[lsp.Diagnostic]]:
    source = _main_go(artifact)
    await session.start(source.parent, {"program": str(artifact.binary), "coreFilePath": str(artifact.core)})
    uri = session.open_document(source)
    await session.wait_for(
        lambda: any(d.severity == lsp.DiagnosticSeverity.Error for d in session.diagnostics.get(uri, [])),
        what="the crash diagnostic",
    )
    return uri, session.diagnostics[uri]


def _check_goroutine_lines(
    expected: dict[int, ExpectedLine],
    diagnostics: list[lsp.Diagnostic],
    hints: list[lsp.InlayHint],
    crash_line: int,
    crashed: bool,
) -> None:
    infos = _by_line(diagnostics, lsp.DiagnosticSeverity.Information)
    hint_states = {h.position.line + 1: parse_summary(str(h.label)) for h in hints}
    assert hint_states == {line: e.states for line, e in expected.items()}, "inlay hints vs the traceback"
    for line, want in expected.items():
        only_the_crasher = crashed and line == crash_line and sum(want.states.values()) == 1
        if only_the_crasher:
            assert line not in infos, "the crash line repeats its one goroutine"
            continue
        assert line in infos, f"no goroutine diagnostic on main.go:{line} (want {want.states})"
        assert parse_summary(infos[line][0].message) == want.states, f"main.go:{line}"
    assert set(infos) <= set(expected), (
        f"diagnostics on lines the traceback does not name: {set(infos) - set(expected)}"
    )


async def _check_hovers(session: LspSession, uri: str, expected: dict[int, ExpectedLine]) -> None:
    for line, want in expected.items():
        hover = await session.hover(uri, line - 1)
        assert hover is not None, f"no hover on main.go:{line}"
        assert isinstance(hover.contents, lsp.MarkupContent)
        text = hover.contents.value
        for state, count in want.states.items():
            assert re.search(rf"\| {re.escape(state)} \| {count:,} \|", text), (
                f"main.go:{line}: {state} {count}\n{text}"
            )
        shown_ids = [int(i) for i in re.findall(r"\d+", text.split("Goroutines:", 1)[1].splitlines()[0])]
        assert shown_ids and set(shown_ids) <= set(want.goroutine_ids), f"main.go:{line} ids {shown_ids}"


async def _check_lenses(session: LspSession, uri: str, expected: dict[int, ExpectedLine], source: Path) -> None:
    lenses = await session.code_lenses(uri)
    lines = source.read_text().splitlines()
    total_by_function_line: dict[int, int] = {}
    for lens in lenses:
        assert lens.command is not None
        match = re.match(r"([\d,]+) goroutines? in this function", lens.command.title)
        assert match, lens.command.title
        declaration = lines[lens.range.start.line]
        assert "func" in declaration or "go " in declaration, f"lens on {declaration!r}"
        marked = lens.command.arguments[0]["lines"]
        assert sum(sum(expected[n + 1].states.values()) for n in marked) == int(match.group(1).replace(",", ""))
        total_by_function_line[lens.range.start.line] = int(match.group(1).replace(",", ""))
    assert sum(total_by_function_line.values()) == sum(sum(e.states.values()) for e in expected.values())
    # In editors without the Goroutines view the lens's command lists the marked lines.
    first = lenses[0]
    assert first.command is not None and first.command.command == "gocore.goroutinesIn"
    locations = await session.command(first.command.command, *first.command.arguments)
    assert sorted(loc["range"]["start"]["line"] for loc in locations) == sorted(first.command.arguments[0]["lines"])


def _crash_line(parsed: ParsedTraceback, name: str) -> int:
    landing = expected_landing(name)
    assert landing.file == "main.go"
    return landing.line


async def _scenario(name: str, artifact: CrashArtifact) -> None:
    parsed = parse_traceback(artifact.stderr_text())
    expected = expected_lines(parsed)
    assert expected, "the traceback names no line of main.go"
    crash_line = _crash_line(parsed, name)
    session = LspSession()
    try:
        uri, diagnostics = await _open(artifact, session)
        errors = _by_line(diagnostics, lsp.DiagnosticSeverity.Error)
        assert crash_line in errors, f"no Error on main.go:{crash_line}: {sorted(errors)}"
        crash = errors[crash_line][0]
        first_line = parsed.message_lines[0]
        assert crash.message.splitlines()[0] == first_line, "the runtime's first line"
        assert crash.source == "gocore-dap" and crash.code, "which core it comes from"
        crashed = parsed.kind == "panic" or any(g.frames and g.frames[0].function == "panic" for g in parsed.goroutines)
        if parsed.kind == "panic":
            related = crash.related_information or []
            assert related, "the rest of the crashing stack"
            assert all(r.location.uri.startswith("file://") for r in related)
        hints = await session.inlay_hints(uri)
        _check_goroutine_lines(expected, diagnostics, hints, crash_line, crashed)
        await _check_hovers(session, uri, expected)
        await _check_lenses(session, uri, expected, _main_go(artifact))
        assert any(kind == "create" for kind, *_ in session.progress), "opening reports $/progress"
        assert not [m for m in session.messages if m.type == lsp.MessageType.Error]
    finally:
        code = await session.stop()
    assert code == 0, "\n".join(session.stderr[-30:])


@pytest.mark.parametrize(
    ("name", "params", "toolchain"),
    [
        ("classic", {}, None),
        ("classic", {}, OLDEST_GO),
        ("deadlock", {}, None),
        ("nested_panic", {}, None),
        ("many_goroutines", {"goroutines": MANY}, None),
        # Past the model's fast-path threshold (5,000): the counts must still be exact.
        ("many_goroutines", {"goroutines": MANY_MORE}, None),
    ],
    ids=["classic", f"classic-{OLDEST_GO}", "deadlock", "nested_panic", f"many_goroutines-{MANY}",
         f"many_goroutines-{MANY_MORE}"],
)  # fmt: skip
def test_marks_match_the_traceback(name: str, params: dict[str, str], toolchain: str | None) -> None:
    asyncio.run(_scenario(name, _artifact(name, toolchain=toolchain, **params)))


def test_nested_panic_marks_each_panic_of_the_chain() -> None:
    artifact = _artifact("nested_panic")
    parsed = parse_traceback(artifact.stderr_text())
    source = _main_go(artifact).read_text().splitlines()
    first_panic = next(i + 1 for i, text in enumerate(source) if "panic(fmt.Errorf" in text)
    rollback_panic = next(i + 1 for i, text in enumerate(source) if "rollback on closed connection" in text)

    async def scenario() -> None:
        session = LspSession()
        try:
            _uri, diagnostics = await _open(artifact, session)
            errors = _by_line(diagnostics, lsp.DiagnosticSeverity.Error)
            assert set(errors) == {first_panic, rollback_panic}
            # The crash line holds both lines of the runtime's report; the first panic's line its own.
            assert errors[rollback_panic][0].message.splitlines() == [m for m in parsed.message_lines if m.strip()]
            assert errors[first_panic][0].message.startswith(f"panic: {parsed.panics[0].value}")
        finally:
            await session.stop()

    asyncio.run(scenario())


def test_crash_hover_shows_the_frame_variables() -> None:
    artifact = _artifact("classic")
    line = expected_landing("classic").line

    async def scenario() -> None:
        session = LspSession()
        try:
            uri, _ = await _open(artifact, session)
            hover = await session.hover(uri, line - 1)
            assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
            text = hover.contents.value
            assert text.startswith(f"**{artifact_headline(artifact)}**")
            # main.worker(id int, orders <-chan order): its arguments, from the core.
            assert re.search(r"^id = 1$", text, re.M), text
            assert "orders = " in text and "processed = " in text
        finally:
            await session.stop()

    asyncio.run(scenario())


def artifact_headline(artifact: CrashArtifact) -> str:
    return parse_traceback(artifact.stderr_text()).message_lines[0]


def test_pprof_labels_in_hover() -> None:
    artifact = _artifact("pprof_labels")
    parsed = parse_traceback(artifact.stderr_text())
    expected = expected_lines(parsed)
    labelled = {line: e for line, e in expected.items() if e.labels}
    if not labelled:
        pytest.skip(f"the {parsed.goroutines[0].state} traceback prints no labels on this Go (GODEBUG=tracebacklabels)")

    async def scenario() -> None:
        session = LspSession()
        try:
            uri, _ = await _open(artifact, session)
            for line, want in labelled.items():
                hover = await session.hover(uri, line - 1)
                assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
                shown = re.findall(r"pprof labels of goroutine (\d+): `([^`]*)`", hover.contents.value)
                assert shown, hover.contents.value
                for goroutine, pairs in shown:
                    labels = dict(p.split("=", 1) for p in pairs.split(", "))
                    assert labels in want.labels, f"goroutine {goroutine} at main.go:{line}"
        finally:
            await session.stop()

    asyncio.run(scenario())


def test_goroutines_at_request() -> None:
    artifact = _artifact("deadlock")
    expected = expected_lines(parse_traceback(artifact.stderr_text()))

    async def scenario() -> None:
        session = LspSession()
        try:
            uri, _ = await _open(artifact, session)
            for line, want in expected.items():
                answer: Any = await session.request(
                    "gocore/goroutinesAt",
                    {"textDocument": {"uri": uri}, "position": {"line": line - 1, "character": 0}},
                )
                marks = [m for m in answer.marks if getattr(m, "goroutines", None)]
                assert len(marks) == 1, answer
                assert marks[0].goroutines == sum(want.states.values())
                assert set(marks[0].goroutineIds) <= set(want.goroutine_ids)
            empty: Any = await session.request(
                "gocore/goroutinesAt", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}
            )
            assert list(empty.marks) == []
        finally:
            await session.stop()

    asyncio.run(scenario())


def test_several_cores_say_which_is_which() -> None:
    """Two cores of one program (300 and 3,000 goroutines): each line carries a mark per core, named by its
    `code` and a `[name]` prefix; closing one leaves the other's marks, unprefixed. Requests are answered
    while a core is still opening (it runs off the message loop)."""
    small, big = _artifact("many_goroutines"), _artifact("many_goroutines", goroutines=MANY)
    assert small.source_dir == big.source_dir
    source = _main_go(small)
    counts = {a.core: expected_lines(parse_traceback(a.stderr_text())) for a in (small, big)}

    async def scenario() -> None:
        session = LspSession()
        try:
            cores = [{"program": str(a.binary), "coreFilePath": str(a.core)} for a in (small, big)]
            await session.start(source.parent, {"cores": cores})
            listed: Any = await asyncio.wait_for(session.command("gocore.listCores"), 10)
            assert len(listed) < 2, "both cores were open before the first answer: opening blocked the loop"
            uri = session.open_document(source)

            def per_core() -> dict[str, dict[int, dict[str, int]]]:
                out: dict[str, dict[int, dict[str, int]]] = {}
                for d in session.diagnostics.get(uri, []):
                    if d.severity == lsp.DiagnosticSeverity.Information:
                        name, _, text = d.message.partition("] ")
                        if not name.startswith("["):
                            continue  # published while only one core was open
                        assert name[1:] == d.code, d.message
                        out.setdefault(str(d.code), {})[d.range.start.line + 1] = parse_summary(text)
                return out

            await session.wait_for(lambda: len(per_core()) == 2, what="marks of both cores")
            listed = await session.command("gocore.listCores")
            names = {str(c["coreFile"]): str(c["core"]) for c in listed}
            for artifact in (small, big):
                want = counts[artifact.core]
                got = per_core()[names[str(Path(artifact.core).resolve())]]
                assert got == {n: e.states for n, e in want.items() if n != expected_landing("many_goroutines").line}

            closed = await session.command("gocore.closeCore", names[str(Path(big.core).resolve())])
            assert closed["closed"] == [names[str(Path(big.core).resolve())]]
            await session.wait_for(
                lambda: all(not d.message.startswith("[") for d in session.diagnostics.get(uri, [])),
                what="the other core's marks, unprefixed",
            )
            infos = _by_line(session.diagnostics[uri], lsp.DiagnosticSeverity.Information)
            assert {n: parse_summary(d[0].message) for n, d in infos.items()} == {
                n: e.states for n, e in counts[small.core].items() if n != expected_landing("many_goroutines").line
            }
        finally:
            await session.stop()

    asyncio.run(scenario())
