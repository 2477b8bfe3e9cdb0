"""The text and Markdown reports: what the program wrote cannot inject markup, HTML or terminal escapes,
and the runtime's own goroutine groups are folded into one "Go runtime" row (the JSON keeps them all)."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from gocore_dap.report import render
from gocore_dap.report.escape import clean_controls, markdown_code_span, markdown_fence, markdown_inline
from gocore_dap.report.model import Report, ReportFrame, SourceLine, is_runtime_group
from gocore_dap.report.render_json import SCHEMA_PATH

EVIL = "<img src=x onerror=alert(1)> <script>alert(2)</script> `tick` | pipe \x1b[31mred\x1b[0m \x9b2J *bold* [l](http://x)"
RTL = "safe\u202eexe.txt"


def group(label: str, count: int, state: str, *, system: bool = False, crashing: bool = False) -> dict[str, Any]:
    return {
        "key": f"stack:{abs(hash(label)) % 10**8:08x}",
        "label": label,
        "count": count,
        "states": {state: count},
        "stack": [{"function": "main.worker", "file": "/src/main.go", "line": 27}],
        "memberIds": list(range(1, min(count, 3) + 1)),
        "containsCrashing": crashing,
        "representative": {
            "id": 1,
            "state": state,
            "userLocation": {"function": "main.worker", "file": "/src/main.go", "line": 27},
            "currentLocation": {"function": "runtime.gopark", "file": "/usr/local/go/src/runtime/proc.go", "line": 462},
            "startFunction": "main.worker",
            "labels": {},
            "crashed": crashing,
            "system": system,
        },
    }


def make_report(headline: str = EVIL, labels: dict[str, str] | None = None) -> Report:
    groups = [
        group(f"main.worker (main.go:27) {EVIL}", 1, "running", crashing=True),
        group("main.locker (main.go:14) · in sync.(*Mutex).Lock", 20_000, "sync.Mutex.Lock"),
        group("main.sleeper (main.go:20) · in time.Sleep", 40, "sleep"),
        group("runtime.forcegchelper (proc.go:375)", 1, "force gc (idle)", system=True),
        group("runtime.bgsweep (mgcsweep.go:279)", 1, "GC sweep wait", system=True),
        group("runtime.bgscavenge (mgcscavenge.go:653)", 1, "GC scavenge wait", system=True),
        group("runtime.runFinalizers (mfinal.go:210)", 1, "finalizer wait", system=True),
    ]
    frames = (
        ReportFrame("runtime.gopanic", "/usr/local/go/src/runtime/panic.go", 879, True, kind="runtime"),
        ReportFrame(
            "main.(*Cache[go.shape.string,go.shape.struct { X int }]).Put",
            "/src/cache.go",
            31,
            False,
            kind="mainModule",
        ),
        ReportFrame(
            f"main.handle{EVIL}",
            f"/src/{EVIL}.go",
            27,
            False,
            source=f"\tpanic({EVIL!r})",
            context=(SourceLine(27, f"\tpanic({EVIL!r})"),),
            kind="mainModule",
            landing=True,
        ),
    )
    return Report(
        program="/src/bin/app",
        core="/tmp/core",
        generated_at="2026-12-04T00:00:00Z",
        generator_version="0.1.0",
        crash={
            "kind": "panic",
            "headline": headline,
            "message": EVIL,
            "goVersion": "go1.26.8",
            "goroutineCount": 20_045,
            "build": {
                "mainModule": {"path": "example.com/app", "version": "(devel)"},
                "trimpath": False,
                "settings": {},
            },
            "crashingThreadId": 7,
            "panicChain": [],
        },
        runtime_report=f"panic: {headline}\n",
        crashing_goroutine_id=18,
        crashing_thread_id=7,
        crashing_state="running",
        frames=frames,
        group_by="stack",
        goroutines={"total": 20_045, "totalGroups": len(groups), "approximate": False, "groups": groups},
        warnings=(f"warning {EVIL}",),
        notes=(f"note {RTL}",),
    )


# --- escaping ------------------------------------------------------------------------------------------


def test_markdown_carries_no_html_no_escape_bytes_and_no_markup_from_the_program() -> None:
    markdown = render(make_report(), "markdown")
    assert "\x1b" not in markdown and "\x9b" not in markdown and "\u202e" not in markdown
    # Outside code blocks (where HTML is shown as text, never run) no tag from the program is left.
    outside = re.sub(r"(`{3,})\n.*?\n\1", "", markdown, flags=re.DOTALL)
    outside = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", outside)  # code spans: literal text too
    assert "<img" not in outside and "<script" not in outside and "<img" in markdown
    # The only HTML left is the report's own <details>/<summary>.
    tags = set(re.findall(r"</?([a-zA-Z]+)", outside))
    assert tags <= {"details", "summary"}, tags
    heading = markdown.splitlines()[0]
    assert heading.startswith("# ") and "&lt;img src=x onerror=alert(1)&gt;" in heading
    assert "\\`tick\\`" in heading and "\\| pipe" in heading and "\\*bold\\*" in heading and "\\[l\\]" in heading
    # Control bytes show as `\x1b` (the backslash itself escaped for Markdown), never as the byte.
    assert r"\\x1b\[31mred" in heading and r"\\x9b2J" in heading


def test_markdown_tables_keep_their_columns() -> None:
    markdown = render(make_report(), "markdown")
    for line in markdown.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            unescaped_pipes = len(re.findall(r"(?<!\\)\|", line))
            assert unescaped_pipes in (3, 4), line


def test_markdown_code_blocks_cannot_be_closed_from_inside() -> None:
    text = "```\n</details>\n````"
    block = markdown_fence(text)
    fence = block.splitlines()[0]
    assert set(fence) == {"`"} and len(fence) == 5 and block.endswith("\n" + fence)
    span = markdown_code_span("a``b`")
    assert span.startswith("``` ") and span.endswith(" ```")


def test_inline_text_is_one_line() -> None:
    assert markdown_inline("a\nb\r\nc") == r"a b\\x0d c"  # a backslash, escaped for Markdown
    assert markdown_inline("x & y < z > w") == "x &amp; y &lt; z &gt; w"


def test_clean_controls_shows_what_was_there() -> None:
    assert clean_controls("a\x1b[2Jb\x00c\x7fd\tok\n") == "a\\x1b[2Jb\\x00c\\x7fd\tok\n"
    assert clean_controls("\x9b31m") == "\\x9b31m"
    assert clean_controls(RTL) == "safe\\u202eexe.txt"


def test_text_report_carries_no_escape_bytes_from_the_program() -> None:
    report = make_report()
    plain = render(report, "text", color=False)
    assert "\x1b" not in plain and "\x9b" not in plain and "\u202e" not in plain
    coloured = render(report, "text", color=True)
    # Only the report's own SGR sequences: ESC [ digits ; m.
    assert all(re.fullmatch(r"\x1b\[[0-9;]*m", seq) for seq in re.findall(r"\x1b\[[^a-zA-Z]*[a-zA-Z]", coloured))
    assert "\\x1b[31mred" in coloured


# --- runtime groups -------------------------------------------------------------------------------------


def test_runtime_groups_are_those_the_extension_folds() -> None:
    report = make_report()
    assert [g["label"] for g in report.runtime_groups] == [g["label"] for g in report.groups[3:]]
    crashed_system = group("runtime.x", 1, "running", system=True, crashing=True)
    assert not is_runtime_group(crashed_system)
    assert not is_runtime_group({"label": "no representative"})


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_text_and_markdown_fold_the_runtime_into_one_row(fmt: str) -> None:
    out = render(make_report(), fmt, color=False)
    assert "forcegchelper" not in out and "bgsweep" not in out
    rows = [line for line in out.splitlines() if "Go runtime (4 groups" in line]
    assert len(rows) == 1
    locker = "main.locker (main.go:14) · in sync.(*Mutex).Lock"
    assert "20,000" in out and (locker if fmt == "text" else locker.replace("*", "\\*")) in out
    assert "more groups" not in out


def test_json_keeps_every_group_and_the_new_frame_fields() -> None:
    report = make_report()
    data = json.loads(render(report, "json"))
    assert len(data["goroutines"]["groups"]) == 7
    frames = data["crashingStack"]["frames"]
    assert frames[0]["kind"] == "runtime" and frames[2]["landing"] is True and "landing" not in frames[0]
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(data)


def test_frames_print_generic_names_as_the_runtime_does() -> None:
    for fmt in ("text", "markdown"):
        out = render(make_report(), fmt, color=False)
        assert "main.(*Cache[...]).Put" in out or "main.(\\*Cache\\[...\\]).Put" in out
        assert "go.shape" not in out
