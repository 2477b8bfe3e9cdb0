"""End-to-end: the extension in real VS Code (code-server 4.100.3) in headless Chromium, driven by playwright-core.

The tools come from `editor-extension/scripts/setup-e2e.sh` (Debian chromium, npm code-server and
playwright-core into editor-extension/e2e/node_modules); this test does not install anything. The
scenarios themselves are in editor-extension/e2e/vscode.e2e.test.mjs (node's test runner); this wrapper
builds what they need: the extension's .vsix (packaged offline by vsce, then installed into code-server),
real corpus cores, and where the editor must land on each: the manifest's `expect.landing`, written from
the program's source (classic: a panic in a worker; deadlock: no goroutine crashed, main.main's line;
cgo_c_library: the faulting line of C code). Screenshots go to test-artifacts/e2e/.

`test_readme_screenshot` (only with GOCORE_UPDATE_README_SHOT=1) writes docs/images/goroutines-view.png from
the corpus program many_goroutines.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gocore_dap.goviews.traceback_text import parse_traceback
from tests.conftest import REVIEWED_SKIP
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
from tests.support.corpus_fixtures import corpus_artifact
from tests.support.expected_locations import expected_landing

E2E = EXTENSION / "e2e"
CODE_SERVER = E2E / "node_modules" / ".bin" / "code-server"
ARTIFACTS = REPO / "test-artifacts" / "e2e"
README_SHOT = REPO / "docs" / "images" / "goroutines-view.png"
# vscode.e2e.test.mjs runs either its scenarios or the README picture (GOCORE_E2E_README_SHOT); the other
# part skips by design. The counts make a scenario that stops running fail the wrapper.
# Cores where the test checks where the editor lands (one F5 each).
LANDING_CASES = ("deadlock", "cgo_c_library")
# The many-goroutines core for the crash-line-first scenario: as many as the target (100k).
BIG_CORE_GOROUTINES = 100_000
# The node tests that must run: F5, Open Core Dump, the Explorer menu, the language server's marks after F5,
# one per landing case, and the big core.
SCENARIOS = 4 + len(LANDING_CASES) + 1
README_PICTURE = "README picture"
SCENARIO_NAMES = frozenset(
    {
        "F5 on a launch.json that points at a core shows the crash, the crashing goroutine and the Goroutines view",
        '"Go: Open Core Dump…" without a launch.json: pick the core, then the executable named in the core',
        "the Explorer context menu of a file named core opens it",
        "after F5 the source shows the crash line and the goroutines parked on each line (the language server)",
        "F5 on a core with many goroutines: the crash line opens first, then the Goroutines view's exact groups",
    }
)


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


def _badge(headline: str) -> str:
    """The stopped event's description for a crash headline: `panic`, `fatal error` or the signal's name."""
    for kind in ("panic", "fatal error"):
        if headline.startswith(f"{kind}: "):
            return kind
    return headline.split(":", 1)[0]


def _landing_case(name: str) -> dict[str, Any]:
    core = corpus_core(name)
    landing = expected_landing(name)
    assert core.headline, f"{name}: no expect.message_first_line"
    return {
        "name": name,
        "program": str(core.program),
        "core": str(core.core),
        "source": str(core.source_dir / landing.file),
        "line": landing.line,
        "function": landing.function,
        "headline": core.headline,
        "message": core.headline,
        "badge": _badge(core.headline),
        "asleep": name == "deadlock",
    }


def _parked_line(core_dir: Path, crash_line: int) -> tuple[int, str]:
    """A line of main.go where the program's own traceback shows goroutines parked (not the crash line), and
    what the language server must say there: `N goroutine(s) · STATE`."""
    parsed = parse_traceback((core_dir / "stderr.txt").read_text(errors="replace"))
    for line, seen in sorted(expected_lines(parsed).items()):
        if line != crash_line and len(seen.states) == 1:
            ((state, count),) = seen.states.items()
            return line, f"{count:,} goroutine{'s' if count != 1 else ''} · {state}"
    raise AssertionError("the traceback shows no parked goroutine in main.go")


def _big_case() -> dict[str, Any]:
    params = {"goroutines": str(BIG_CORE_GOROUTINES)}
    artifact = corpus_artifact("many_goroutines", params=params, timeout=600)
    landing = expected_landing("many_goroutines")
    return {
        "program": str(artifact.binary),
        "core": str(artifact.core),
        "source": str(artifact.source_dir / landing.file),
        "line": landing.line,
        "function": landing.function,
        "goroutines": BIG_CORE_GOROUTINES,
    }


@pytest.mark.integration
@pytest.mark.timeout(1500)
def test_vscode_end_to_end(tmp_path: Path) -> None:
    _tools()
    build_extension()
    core = corpus_core("classic")
    gocore_dap = adapter()
    vsix = _package_vsix(tmp_path)
    # classic: the worker goroutine panics in main.worker at `panic(err)`.
    landing = expected_landing("classic")
    source = core.source_dir / landing.file
    parked_line, parked_text = _parked_line(core.core.parent, landing.line)
    env = {
        "GOCORE_E2E_PROGRAM": str(core.program),
        "GOCORE_E2E_CORE": str(core.core),
        "GOCORE_E2E_VSIX": str(vsix),
        "GOCORE_DAP_PATH": str(gocore_dap),
        "GOCORE_E2E_SOURCE": str(source),
        "GOCORE_E2E_LINE": str(landing.line),
        # The language server's marks: a parked line and its count, from the program's own traceback.
        "GOCORE_E2E_PARKED_LINE": str(parked_line),
        "GOCORE_E2E_PARKED_TEXT": parked_text,
        "GOCORE_E2E_FUNCTION": landing.function,
        "GOCORE_E2E_ARTIFACTS": str(ARTIFACTS),
        "GOCORE_E2E_CASES": json.dumps([_landing_case(name) for name in LANDING_CASES]),
        "GOCORE_E2E_BIG": json.dumps(_big_case()),
    }
    if core.headline:
        env["GOCORE_E2E_HEADLINE"] = core.headline
        env["GOCORE_E2E_BADGE"] = _badge(core.headline)
    # Code-server sessions, each 15-60 s on a loaded machine.
    result = run_node_tests([E2E / "vscode.e2e.test.mjs"], env, 900, cwd=E2E)
    check_node_result(
        result,
        f"VS Code end-to-end (screenshots in {ARTIFACTS})",
        expected_tests=SCENARIOS,
        skipped_by_design=frozenset({README_PICTURE}),
    )


@pytest.mark.integration
@pytest.mark.skipif(
    os.environ.get("GOCORE_UPDATE_README_SHOT") != "1",
    reason=REVIEWED_SKIP + "an opt-in run that rewrites the README picture: set GOCORE_UPDATE_README_SHOT=1",
)
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
    check_node_result(result, "README screenshot", expected_tests=1, skipped_by_design=SCENARIO_NAMES)
    size = README_SHOT.stat().st_size
    assert size < 300_000, f"{README_SHOT} is {size} bytes; keep it under 300 KB"
