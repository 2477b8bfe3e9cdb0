"""Bad inputs to `gocore-dap report`, tried as a new user would on the command line.

The same bad files as the editor's launch (test_bad_inputs_launch.CASES): each must print its own
message on stderr within a second, exit with the documented code 3 ("PROGRAM or CORE is unusable"),
print no traceback and nothing on stdout, start no Delve and leave no temporary file.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_bad_inputs_launch import CASES, Files
from tests.integration.test_faults import (
    INITIALIZE,
    compress_zstd,
    corpus_artifact,
    dlv_tree,
    error_id,
    finish,
    start_adapter,
    temp_entries,
)
from tests.support.dap_client import adapter_command

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

EXIT_INPUT = 3  # gocore_dap.report's documented code for unusable PROGRAM or CORE
# Python's start and the imports are part of what the user waits for. The limit is on the CPU time
# the command used (its wall time on an idle machine): on a loaded CI machine wall time is noise.
PROMPT = 1.0


def report_command() -> list[str]:
    """`gocore-dap report`, as a user types it (the CLI routes to it; a CLI that stops doing so fails here)."""
    return [*adapter_command(), "report"]


@pytest.fixture(scope="module")
def files(dlv_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(corpus_artifact("classic"), corpus_artifact("nil_deref"), tmp_path_factory.mktemp("bad-report"))


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="gdt-r-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_report(tmp: Path, *args: str | Path) -> tuple[subprocess.CompletedProcess[str], float, float, set[int]]:
    """Run the report; returns the result, its wall and CPU seconds, and the dlv processes it started."""
    cpu = _children_cpu()
    started = time.monotonic()
    process = subprocess.Popen(
        [*report_command(), *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp), "NO_COLOR": "1"},
    )
    seen: set[int] = set()
    while process.poll() is None:
        seen |= dlv_tree(process.pid)[1]
        try:
            process.wait(0.01)
        except subprocess.TimeoutExpired:
            continue
    stdout, stderr = process.communicate(timeout=30)
    took = time.monotonic() - started
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return result, took, _children_cpu() - cpu, seen


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_at_once_with_its_own_message(name: str, files: Files, private_tmp: Path) -> None:
    case = CASES[name](files)
    done, took, cpu, delves = run_report(private_tmp, case.program, case.core)
    first_line = done.stderr.strip().splitlines()[0] if done.stderr.strip() else ""
    print(f"\n{name}: exit {done.returncode} in {took * 1000:.0f} ms ({cpu * 1000:.0f} ms CPU): {first_line[:120]}")
    assert done.returncode == EXIT_INPUT, (done.returncode, done.stderr)
    for text in case.says:
        assert text in done.stderr, (text, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout == ""
    assert delves == set(), "a bad input must not start Delve"
    assert temp_entries(private_tmp) == []
    assert cpu < PROMPT, f"{name}: {cpu:.2f} s of CPU ({took:.2f} s wall)"
    assert took < 10 * PROMPT, f"{name}: {took:.2f} s"


def test_a_corrupt_compressed_core_leaves_no_partial_file(files: Files, private_tmp: Path) -> None:
    whole = compress_zstd(files.classic.core, private_tmp.parent / f"{private_tmp.name}.zst")
    try:
        corrupt = files.root / "report-corrupt.zst"
        with open(whole, "rb") as fin, open(corrupt, "wb") as fout:
            fout.write(fin.read(whole.stat().st_size * 3 // 4))
        done, _, _, _ = run_report(private_tmp, files.classic.binary, corrupt)
        assert done.returncode == EXIT_INPUT and "zstd" in done.stderr, done.stderr
        assert temp_entries(private_tmp) == []
    finally:
        whole.unlink()


@pytest.mark.parametrize("name", list(CASES))
def test_the_editor_and_the_report_give_the_same_error(name: str, files: Files, private_tmp: Path) -> None:
    """One pipeline opens a core for every front end (core.open.open_core): the same bad files get the same
    error id and the same message from a launch in the editor and from `gocore-dap report`."""
    case = CASES[name](files)
    client = start_adapter(private_tmp)
    try:
        client.ok("initialize", INITIALIZE)
        response = client.request("launch", {"program": str(case.program), "coreFilePath": str(case.core)}, timeout=30)
    finally:
        finish(client)
    assert not response["success"], response
    launch_id, launch_message = error_id(response), response["message"]
    done, _, _, _ = run_report(private_tmp, case.program, case.core)
    assert done.returncode == EXIT_INPUT, done.stderr
    assert launch_id == case.error_id
    # `gocore-dap report: <what> (error NNNN): <the message the editor shows>`
    assert f"(error {launch_id}): {launch_message}" in done.stderr, (launch_message, done.stderr)
