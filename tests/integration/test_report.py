"""`gocore-dap report` on real cores: every format, the JSON schema, the HTML page, exit codes."""

from __future__ import annotations

import asyncio
import html
import html.parser
import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest

from gocore_dap.corpus import CrashArtifact
from gocore_dap.goviews.frames import is_runtime_internal
from gocore_dap.goviews.traceback_text import ParsedTraceback, parse_traceback
from gocore_dap.report import Report, render
from gocore_dap.report.collect import build_report
from gocore_dap.report.render_json import SCHEMA_PATH
from tests.support.corpus_fixtures import corpus_artifact

pytestmark = pytest.mark.integration

REPORT = [sys.executable, "-m", "gocore_dap.report"]


@attrs.frozen
class Core:
    artifact: CrashArtifact
    parsed: ParsedTraceback


def _build(name: str, params: dict[str, str] | None = None) -> Core:
    artifact = corpus_artifact(name, params=params, timeout=900)
    return Core(artifact, parse_traceback(artifact.stderr_text()))


@pytest.fixture(scope="module")
def many() -> Core:
    return _build("many_goroutines", {"goroutines": "10000"})


@pytest.fixture(scope="module")
def deadlock() -> Core:
    return _build("deadlock")


@pytest.fixture(scope="module")
def many_report(many: Core, dlv_path: Path) -> Report:
    # The Delve the adapter would pick (dlv_path makes a missing pinned Delve skip the module).
    return asyncio.run(build_report(many.artifact.binary, many.artifact.core))


def schema_validate(data: Any) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(data)


def run_report(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full_env.update(env or {})
    return subprocess.run([*REPORT, *args], capture_output=True, text=True, timeout=300, env=full_env, **kwargs)


# --- content ------------------------------------------------------------------------------------------------


def test_json_report_follows_the_schema_and_the_traceback(many_report: Report, many: Core) -> None:
    data = json.loads(render(many_report, "json"))
    schema_validate(data)
    printed = many.parsed.goroutines_by_id()
    crashing = many.parsed.goroutines[0]
    assert data["schemaVersion"] == 1
    assert data["crash"]["headline"] == many.parsed.message
    assert data["crash"]["report"].splitlines()[0] == many.parsed.message
    assert data["crash"]["goroutineCount"] == len(printed)
    assert data["crashingStack"]["goroutineId"] == crashing.id
    goroutines = data["goroutines"]
    assert goroutines["groupBy"] == "stack" and goroutines["approximate"] is False
    assert goroutines["total"] == len(printed) == sum(g["count"] for g in goroutines["groups"])
    assert goroutines["groups"][0]["containsCrashing"] is True
    # The crashing stack's user frames are the traceback's, and the frame that panicked shows its source.
    frames = data["crashingStack"]["frames"]
    assert [f["function"] for f in frames if not f["runtime"]] == [
        f.function for f in crashing.frames if not is_runtime_internal(f.function)
    ]
    origin = next(f for f in frames if f.get("context"))
    lines = Path(origin["file"]).read_text(encoding="utf-8").splitlines()
    assert {c["line"]: c["text"] for c in origin["context"]}[origin["line"]] == lines[origin["line"] - 1]
    assert "panic(" in lines[origin["line"] - 1]


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_report_is_one_self_contained_page(many_report: Report) -> None:
    page = render(many_report, "html")
    parser = _Page()
    parser.feed(page)
    tags = parser.tags
    assert many_report.headline in "".join(parser.text)
    # Nothing is loaded from anywhere, and the page forbids it.
    for tag, attributes in tags:
        assert tag not in ("link", "img", "iframe", "object", "embed"), tag
        assert "src" not in attributes and "href" not in attributes, (tag, attributes)
    assert "url(" not in page and "@import" not in page
    csp = [a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in (csp[0] or "")
    buckets = [a for t, a in tags if t == "details" and "bucket" in (a.get("class") or "")]
    assert len(buckets) == len(many_report.groups) > 10
    assert any(t == "input" and a.get("id") == "filter" for t, a in tags)
    # A hostile panic value stays text.
    evil = attrs.evolve(many_report, crash={**many_report.crash, "headline": "<script>alert(1)</script>"})
    evil_page = render(evil, "html")
    assert "<script>alert(1)" not in evil_page and "&lt;script&gt;alert(1)&lt;/script&gt;" in evil_page


def test_text_and_markdown(many_report: Report) -> None:
    plain = render(many_report, "text", color=False)
    coloured = render(many_report, "text", color=True)
    assert "\x1b[" not in plain and "\x1b[" in coloured
    assert many_report.headline in plain
    for group in many_report.program_groups[:10]:
        assert group["label"] in plain
    # The runtime's own groups are one "Go runtime" row in the text and the Markdown, every group in the JSON.
    runtime = many_report.runtime_groups
    assert runtime and not any(str(g["label"]) in plain for g in runtime)
    assert f"Go runtime ({len(runtime)} groups)" in plain
    markdown = render(many_report, "markdown")
    assert markdown.startswith(f"# {many_report.headline}")
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "|---" not in line]
    assert len(rows) >= min(len(many_report.program_groups), 50) + 1
    assert sum(1 for line in rows if "Go runtime (" in line) == 1
    assert len(json.loads(render(many_report, "json"))["goroutines"]["groups"]) == len(many_report.groups)


def test_deadlock_report_has_no_crashing_goroutine(deadlock: Core, dlv_path: Path) -> None:
    report = asyncio.run(build_report(deadlock.artifact.binary, deadlock.artifact.core, group_by="waitReason"))
    data = json.loads(render(report, "json"))
    schema_validate(data)
    assert data["crash"]["kind"] == "fatal error" and data["crash"]["headline"] == deadlock.parsed.message
    assert "goroutineId" not in data["crashingStack"] and data["crashingStack"]["frames"]
    states = {g["label"]: g["count"] for g in data["goroutines"]["groups"]}
    assert states == {
        s: sum(1 for g in deadlock.parsed.goroutines_by_id().values() if g.state == s)
        for s in {g.state for g in deadlock.parsed.goroutines_by_id().values()}
    }


# --- the command --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "html"])
def test_command_writes_every_format(fmt: str, many: Core, tmp_path: Path, dlv_path: Path) -> None:
    out = tmp_path / f"report.{fmt}"
    done = run_report(str(many.artifact.binary), str(many.artifact.core), "--format", fmt, "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""  # no terminal: no progress
    text = out.read_text(encoding="utf-8")
    headline = many.parsed.message or ""
    assert (html.escape(headline) if fmt == "html" else headline) in text
    assert "\x1b[" not in text
    if fmt == "json":
        schema_validate(json.loads(text))


def test_command_prints_to_stdout_with_progress_and_colour_on_a_terminal(many: Core, dlv_path: Path) -> None:
    args = [str(many.artifact.binary), str(many.artifact.core)]
    done = run_report(*args, "--progress", "--group-by", "location")
    assert done.returncode == 0 and "reading goroutines" in done.stderr
    assert "Goroutines grouped by location" in done.stdout and "\x1b[" not in done.stdout
    for env, coloured in (({}, True), ({"NO_COLOR": "1"}, False)):
        leader, follower = pty.openpty()
        try:
            process = subprocess.Popen(
                [*REPORT, *args],
                stdout=follower,
                stderr=subprocess.DEVNULL,
                env={**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, **env},
            )
            os.close(follower)
            output = b""
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the pty closes with the process
                    break
                if not chunk:
                    break
                output += chunk
            assert process.wait(300) == 0
        finally:
            os.close(leader)
        assert (b"\x1b[" in output) is coloured, env


def test_command_exit_codes(many: Core, tmp_path: Path, dlv_path: Path) -> None:
    binary, core = str(many.artifact.binary), str(many.artifact.core)
    empty = tmp_path / "empty.core"
    empty.write_bytes(b"")
    cases = [
        ([str(tmp_path / "missing"), core], 3, "does not exist"),
        ([binary, str(empty)], 3, "empty"),
        ([core, binary], 3, "swapped"),
        ([binary, core, "--group-by", "everything"], 2, "--group-by"),
        ([binary, core, "--group-by", "none"], 2, "--group-by"),
        ([binary, core, "--format", "pdf"], 2, "invalid choice"),
        ([binary, core, "--dlv", str(tmp_path / "no-dlv")], 4, "Delve"),
        ([binary, core, "--output", str(tmp_path / "no-such-dir" / "r.txt")], 1, "cannot write"),
    ]
    for args, code, words in cases:
        done = run_report(*args)
        assert done.returncode == code, (args, done.returncode, done.stderr)
        assert words.lower() in done.stderr.lower(), (args, done.stderr)
