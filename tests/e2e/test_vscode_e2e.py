"""End-to-end: the extension in real VS Code (code-server 4.100.3) in headless Chromium, driven by playwright-core.

The tools come from `editor-extension/scripts/setup-e2e.sh` (Debian chromium, npm code-server and
playwright-core into editor-extension/e2e/node_modules); this test does not install anything. The
scenarios themselves are in editor-extension/e2e/vscode.e2e.test.mjs (node's test runner); this wrapper
builds what they need: the extension's .vsix (packaged offline by vsce, then installed into code-server),
a real corpus core, and the expected first user frame. Screenshots go to test-artifacts/e2e/.

`test_readme_screenshot` (only with GOCORE_UPDATE_README_SHOT=1) writes docs/images/goroutines-view.png from
the corpus program many_goroutines.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gocore_dap.goviews.traceback_text import parse_traceback
from tests.extension.support import (
    EXTENSION,
    REPO,
    adapter,
    build_extension,
    check_node_result,
    corpus_core,
    run_node_tests,
    unavailable,
)
from tests.lsp.expected import expected_lines

E2E = EXTENSION / "e2e"
CODE_SERVER = E2E / "node_modules" / ".bin" / "code-server"
ARTIFACTS = REPO / "test-artifacts" / "e2e"
README_SHOT = REPO / "docs" / "images" / "goroutines-view.png"


def _tools() -> None:
    missing = []
    if not CODE_SERVER.exists():
        missing.append("code-server")
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if not chromium:
        missing.append("chromium")
    if not (E2E / "node_modules" / "playwright-core").exists():
        missing.append("playwright-core")
    if missing:
        unavailable(f"{', '.join(missing)} missing: run editor-extension/scripts/setup-e2e.sh")


def _package_vsix(dest: Path) -> Path:
    vsix = dest / "gocore-dap.vsix"
    proc = subprocess.run(
        [
            str(EXTENSION / "node_modules" / ".bin" / "vsce"),
            "package",
            "--allow-missing-repository",
            "--out",
            str(vsix),
        ],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0 or not vsix.exists():
        pytest.fail(f"vsce package failed:\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return vsix


def _parked_line(core_dir: Path, crash_line: int) -> tuple[int, str]:
    """A line of main.go where the program's own traceback shows goroutines parked (not the crash line), and
    what the language server must say there: `N goroutine(s) · STATE`."""
    parsed = parse_traceback((core_dir / "stderr.txt").read_text(errors="replace"))
    for line, seen in sorted(expected_lines(parsed).items()):
        if line != crash_line and len(seen.states) == 1:
            ((state, count),) = seen.states.items()
            return line, f"{count:,} goroutine{'s' if count != 1 else ''} · {state}"
    raise AssertionError("the traceback shows no parked goroutine in main.go")


def _line_of(source: Path, needle: str) -> int:
    for number, line in enumerate(source.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {source}")


@pytest.mark.integration
def test_vscode_end_to_end(tmp_path: Path) -> None:
    _tools()
    build_extension()
    core = corpus_core("classic")
    gocore_dap = adapter()
    vsix = _package_vsix(tmp_path)
    source = core.source_dir / "main.go"
    crash_line = _line_of(source, "panic(err)")
    parked_line, parked_text = _parked_line(core.core.parent, crash_line)
    env = {
        "GOCORE_E2E_PROGRAM": str(core.program),
        "GOCORE_E2E_CORE": str(core.core),
        "GOCORE_E2E_VSIX": str(vsix),
        "GOCORE_DAP_PATH": str(gocore_dap),
        "GOCORE_E2E_SOURCE": str(source),
        # classic: the worker goroutine panics in main.worker at `panic(err)`.
        "GOCORE_E2E_LINE": str(crash_line),
        # The language server's marks: a parked line and its count, from the program's own traceback.
        "GOCORE_E2E_PARKED_LINE": str(parked_line),
        "GOCORE_E2E_PARKED_TEXT": parked_text,
        "GOCORE_E2E_FUNCTION": "main.worker",
        "GOCORE_E2E_ARTIFACTS": str(ARTIFACTS),
    }
    if core.headline:
        env["GOCORE_E2E_HEADLINE"] = core.headline
    result = run_node_tests([E2E / "vscode.e2e.test.mjs"], env, 480, cwd=E2E)
    check_node_result(result, f"VS Code end-to-end (screenshots in {ARTIFACTS})")


@pytest.mark.integration
@pytest.mark.skipif(os.environ.get("GOCORE_UPDATE_README_SHOT") != "1", reason="set GOCORE_UPDATE_README_SHOT=1")
def test_readme_screenshot(tmp_path: Path) -> None:
    _tools()
    build_extension()
    core = corpus_core("many_goroutines")
    env = {
        "GOCORE_E2E_PROGRAM": str(core.program),
        "GOCORE_E2E_CORE": str(core.core),
        "GOCORE_E2E_VSIX": str(_package_vsix(tmp_path)),
        "GOCORE_DAP_PATH": str(adapter()),
        "GOCORE_E2E_README_SHOT": str(README_SHOT),
        "GOCORE_E2E_ARTIFACTS": str(ARTIFACTS),
    }
    result = run_node_tests([E2E / "vscode.e2e.test.mjs"], env, 480, cwd=E2E)
    check_node_result(result, "README screenshot")
    size = README_SHOT.stat().st_size
    assert size < 300_000, f"{README_SHOT} is {size} bytes; keep it under 300 KB"
