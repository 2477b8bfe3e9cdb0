"""Helpers of the editor extension's pytest wrappers (tests/extension, tests/e2e).

The extension's own tests run with node's test runner; these wrappers build the extension, give the tests
a real corpus core, run them and turn node's result into a pytest result, so that a run of `pytest` (and
so `scripts/test.sh` and CI) ends with pytest's summary. Locally a missing tool skips with the command
that installs it; under CI=true it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "editor-extension"
ADAPTER = REPO / ".venv" / "bin" / "gocore-dap"


def strict() -> bool:
    return os.environ.get("CI") == "true"


def unavailable(reason: str) -> None:
    """Skip (locally) or fail (CI=true): CI must never pass by skipping what it could not run."""
    if strict():
        pytest.fail(f"{reason} (CI=true: a missing tool fails the run)", pytrace=False)
    pytest.skip(reason)


def node() -> str:
    found = shutil.which("node")
    if not found:
        unavailable("node not found on PATH (Node.js 20 builds and tests the editor extension)")
    assert found is not None
    return found


def build_extension() -> None:
    """`npm ci` when the lock changed, then `tsc`: a second or so when nothing changed."""
    node()
    proc = subprocess.run(
        ["bash", str(EXTENSION / "scripts" / "build.sh")],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"building the extension failed:\n{proc.stdout}\n{proc.stderr}", pytrace=False)


@dataclass(frozen=True)
class Core:
    program: Path
    core: Path
    source_dir: Path
    headline: str | None


def corpus_core(name: str = "classic") -> Core:
    """A real core from the corpus (built once, then cached in .cache/corpus)."""
    python = REPO / ".venv" / "bin" / "python"
    if not python.exists():
        unavailable("no .venv (run scripts/setup.sh)")
    proc = subprocess.run(
        [str(python), "-m", "gocore_dap.corpus", "build", name, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        unavailable(f"cannot build the corpus core {name!r}: {proc.stderr.strip()[-2000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    core = Path(info["core"])
    meta_file = core.parent / "meta.json"
    headline = None
    if meta_file.exists():
        meta = json.loads(meta_file.read_text())
        headline = meta.get("manifest", {}).get("expect", {}).get("message_first_line")
    return Core(Path(info["binary"]), core, Path(info["source_dir"]), headline)


def adapter() -> Path:
    """The checkout's gocore-dap, or the one GOCORE_DAP_PATH names (as the extension itself would use)."""
    chosen = Path(os.environ["GOCORE_DAP_PATH"]) if os.environ.get("GOCORE_DAP_PATH") else ADAPTER
    if not os.access(chosen, os.X_OK):
        unavailable(f"{chosen} not found (run scripts/setup.sh)")
    return chosen


@dataclass(frozen=True)
class NodeResult:
    returncode: int
    output: str
    passed: int
    failed: int
    skipped: int
    cancelled: int


_COUNT = re.compile(r"^# (pass|fail|skipped|cancelled) (\d+)$", re.MULTILINE)


def run_node_tests(files: list[Path], env: dict[str, str], timeout: float, cwd: Path = EXTENSION) -> NodeResult:
    """Runs node's test runner (TAP output, whose closing counts are parsed) on the given files."""
    cmd = [node(), "--test", "--test-reporter=tap", "--test-concurrency=1", *map(str, files)]
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = proc.stdout + ("\n--- stderr ---\n" + proc.stderr if proc.stderr.strip() else "")
    counts = {k: int(v) for k, v in _COUNT.findall(proc.stdout)}
    return NodeResult(
        proc.returncode,
        output,
        counts.get("pass", 0),
        counts.get("fail", 0),
        counts.get("skipped", 0),
        counts.get("cancelled", 0),
    )


def check_node_result(result: NodeResult, what: str) -> None:
    sys.stdout.write(result.output[-20000:])  # shown by pytest with -rA / on failure
    if result.returncode != 0 or result.failed or result.cancelled:
        pytest.fail(
            f"{what}: {result.failed} failed, {result.cancelled} cancelled, {result.passed} passed "
            f"(node exit {result.returncode})\n{result.output[-20000:]}",
            pytrace=False,
        )
    if result.passed == 0:
        if result.skipped:
            unavailable(f"{what}: every test skipped\n{result.output[-4000:]}")
        pytest.fail(f"{what}: node ran no test\n{result.output[-4000:]}", pytrace=False)
