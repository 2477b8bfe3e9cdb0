"""Helpers of the editor extension's pytest wrappers (tests/extension, tests/e2e).

The extension's own tests run with node's test runner; these wrappers build the extension, give the tests
a real corpus core, run them and turn node's result into a pytest result, so that a run of `pytest` (and
so `scripts/test.sh` and CI) ends with pytest's summary. Locally a missing tool skips with the command
that installs it; under CI=true it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.corpus_fixtures import corpus_artifact

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
    """A real core from the corpus (built once, then cached in .cache/corpus). A missing tool skips (fails
    under CI=true); a corpus program that no longer builds or crashes as its manifest says fails."""
    artifact = corpus_artifact(name)
    expect = artifact.manifest.get("expect") or {}
    headline = expect.get("message_first_line") if isinstance(expect, dict) else None
    return Core(artifact.binary, artifact.core, artifact.source_dir, headline)


def adapter() -> Path:
    """The checkout's gocore-dap, or the one GOCORE_DAP_PATH names (as the extension itself would use)."""
    chosen = Path(os.environ["GOCORE_DAP_PATH"]) if os.environ.get("GOCORE_DAP_PATH") else ADAPTER
    if not os.access(chosen, os.X_OK):
        unavailable(f"{chosen} not found (run scripts/setup.sh)")
    return chosen


@dataclass(frozen=True)
class TapResult:
    """One `ok` / `not ok` line of node's TAP output: a test, or a suite (a test with subtests)."""

    depth: int
    ok: bool
    name: str
    directive: str | None  # "SKIP" or "TODO"
    reason: str
    leaf: bool  # a test of its own, not a suite of others


@dataclass(frozen=True)
class NodeResult:
    returncode: int
    output: str
    results: tuple[TapResult, ...]
    counts: dict[str, int]  # node's closing counts: tests, suites, pass, fail, cancelled, skipped, todo

    def tests(self) -> list[TapResult]:
        return [r for r in self.results if r.leaf]

    def not_run(self) -> list[TapResult]:
        """Skipped or todo, tests and suites alike: node counts a skipped suite in none of its counts."""
        return [r for r in self.results if r.directive is not None]


_COUNT = re.compile(r"^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$", re.MULTILINE)
_RESULT = re.compile(r"^(?P<indent>(?:    )*)(?P<ok>ok|not ok) \d+ - (?P<rest>.*)$")
_DIRECTIVE = re.compile(r"^(?P<name>.*?) # (?P<directive>SKIP|TODO)\b ?(?P<reason>.*)$", re.IGNORECASE)


def parse_tap(stdout: str) -> tuple[TapResult, ...]:
    """Every result line of node's TAP output, with whether it is a leaf test (no result nested under it).

    Node prints a suite's subtests, indented four spaces per level, before the suite's own line."""
    found: list[TapResult] = []
    for line in stdout.splitlines():
        match = _RESULT.match(line)
        if match is None:
            continue
        depth = len(match["indent"]) // 4
        rest = match["rest"]
        directive = _DIRECTIVE.match(rest)
        # Node escapes "#" in test names as "\#", so " # SKIP" can only be the directive.
        name = directive["name"] if directive else rest
        parent = bool(found) and found[-1].depth > depth
        found.append(
            TapResult(
                depth,
                match["ok"] == "ok",
                name.replace("\\#", "#"),
                directive["directive"].upper() if directive else None,
                directive["reason"] if directive else "",
                not parent,
            )
        )
    return tuple(found)


def run_node_tests(files: list[Path], env: dict[str, str], timeout: float, cwd: Path = EXTENSION) -> NodeResult:
    """Runs node's test runner (TAP output, parsed line by line) on the given files."""
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
    return NodeResult(proc.returncode, output, parse_tap(proc.stdout), counts)


def check_node_result(
    result: NodeResult,
    what: str,
    *,
    expected_tests: int,
    skipped_by_design: frozenset[str] = frozenset(),
    inputs_missing: str | None = None,
) -> None:
    """Pass only if node ran `expected_tests` tests and every one passed.

    A node test that skipped (or is a todo) fails the wrapper, with two exceptions: the tests named in
    `skipped_by_design` (which this run selects out, e.g. the README picture), which must then skip;
    and, when the wrapper could not give the tests an input (`inputs_missing` says which), the tests
    that need it, which then skip here locally and fail under CI=true (`unavailable`).
    `expected_tests` is the number of tests the suite declares (leaf tests, by design skips excluded):
    a test that silently stops being registered or run changes it.
    """
    sys.stdout.write(result.output[-20000:])  # shown by pytest with -rA / on failure
    summary = f"{what}: node exit {result.returncode}, counts {result.counts}\n" + "\n".join(
        f"  {'ok' if r.ok else 'NOT OK'} {r.name}" + (f" # {r.directive} {r.reason}" if r.directive else "")
        for r in result.results
    )
    failed = [r for r in result.results if not r.ok]
    if result.returncode != 0 or failed or result.counts.get("fail") or result.counts.get("cancelled"):
        pytest.fail(f"{summary}\n\n{result.output[-20000:]}", pytrace=False)
    if not result.counts:
        pytest.fail(f"{what}: node printed no TAP summary\n{result.output[-4000:]}", pytrace=False)
    skipped = [r for r in result.not_run() if r.name not in skipped_by_design]
    by_design = {r.name for r in result.not_run() if r.name in skipped_by_design}
    if by_design != skipped_by_design:
        pytest.fail(
            f"{what}: expected {sorted(skipped_by_design - by_design)} to be skipped by design\n{summary}",
            pytrace=False,
        )
    ran = [r for r in result.tests() if r.directive is None]
    if skipped and inputs_missing is not None:
        unavailable(f"{what}: {len(skipped)} node tests skipped because {inputs_missing}\n{summary}")
    if skipped:
        pytest.fail(f"{what}: node tests skipped although their inputs were given\n{summary}", pytrace=False)
    if len(ran) != expected_tests:
        pytest.fail(
            f"{what}: {len(ran)} node tests ran, {expected_tests} expected (a test added or removed on "
            f"purpose updates the expected count in the wrapper)\n{summary}",
            pytrace=False,
        )
