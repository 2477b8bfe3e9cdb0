"""Bad launch inputs, tried as a new user would from the editor: each gets its own message at once.

Every case starts the real adapter, sends `initialize` and a `launch` with the bad files, all made
from real corpus artifacts (a core cut short, the wrong binary, a stripped binary, a corrupt .zst,
a C program's core, ...). Each must be refused within a second with its stable error id and the
pre-flight's specific message, start no Delve, and leave no temporary file. A core that is cut short
only in memory the crash does not need opens, with the warning as an `important` output event.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from gocore_dap.core.input_errors import ISSUE_ERROR_IDS, error_id_for, input_error
from gocore_dap.corpus import CrashArtifact
from gocore_dap.errors import ERROR_TABLE, ErrorId
from gocore_dap.preflight import ALL_CODES, preflight
from gocore_dap.preflight import checks as c
from gocore_dap.protocol.errors import error_message
from tests.conftest import require_tool
from tests.integration.test_faults import (
    INITIALIZE,
    adapter_root,
    compress_zstd,
    corpus_artifact,
    dlv_tree,
    error_id,
    finish,
    start_adapter,
    temp_entries,
)
from tests.support.dap_client import DapClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

# What a user may wait for a refusal (the issue's "within a second").
PROMPT = 1.0


@attrs.frozen
class Case:
    program: Path
    core: Path
    error_id: int
    # Text the message must hold (the file's name, what is wrong, what to do), case-sensitive.
    says: tuple[str, ...]


@attrs.frozen
class Files:
    classic: CrashArtifact
    other: CrashArtifact
    root: Path


@pytest.fixture(scope="module")
def files(dlv_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(corpus_artifact("classic"), corpus_artifact("nil_deref"), tmp_path_factory.mktemp("bad"))


def _cut(src: Path, dest: Path, size: int) -> Path:
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        remaining = size
        while remaining > 0 and (chunk := fin.read(min(remaining, 1 << 20))):
            fout.write(chunk)
            remaining -= len(chunk)
    return dest


def _notes_cut(f: Files) -> Path:
    info = preflight(f.classic.binary, f.classic.core).core_info
    assert info is not None
    notes = info.note_segments[0]
    return _cut(f.classic.core, f.root / "core.notes-cut", notes.offset + notes.filesz // 2)


def _memory_cut(f: Files) -> Path:
    """Cut only the last page of memory: the notes, the executable's data and the crashing stack stay."""
    result = preflight(f.classic.binary, f.classic.core)
    info = result.core_info
    assert info is not None and info.crashing_thread is not None and info.crashing_thread.sp is not None
    sp_seg = info.segment_at(info.crashing_thread.sp)
    assert sp_seg is not None
    last = max(s.file_end for s in info.segments if s.filesz)
    # The cut must leave out something: else the test would open a whole core and check nothing.
    assert last - 4096 > sp_seg.file_end, "the classic core has nothing after what the checks require"
    cut = _cut(f.classic.core, f.root / "core.memory-cut", max(sp_seg.file_end, last - 4096))
    codes = [i.code for i in preflight(f.classic.binary, cut).issues]
    assert codes == [c.CORE_TRUNCATED_MEMORY], f"preflight on a core cut only in memory: {codes}"
    return cut


def _write(path: Path, data: bytes, mode: int = 0o644) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


def _stripped(f: Files) -> Path:
    require_tool(shutil.which("objcopy") is not None, "objcopy")
    dest = f.root / "classic.nodebug"
    subprocess.run(["objcopy", "--strip-debug", str(f.classic.binary), str(dest)], check=True)
    return dest


def _corrupt_zst(f: Files) -> Path:
    whole = compress_zstd(f.classic.core, f.root / "whole.zst")
    return _cut(whole, f.root / "core.corrupt.zst", whole.stat().st_size // 2)


def _fifo(f: Files) -> Path:
    path = f.root / "core.fifo"
    if not path.exists():
        os.mkfifo(path)
    return path


def _core_dir(f: Files) -> Path:
    folder = f.root / "crashes"
    folder.mkdir(exist_ok=True)
    shutil.copyfile(f.classic.core, folder / "core.1234")
    return folder


C_PROGRAM = "#include <stdlib.h>\nint main(void) { abort(); }\n"


def _c_program_and_core(f: Files) -> tuple[Path, Path]:
    """A C program and the core it dumped (needs gcc and a core_pattern writing into the cwd)."""
    from tests.integration.test_preflight_real import _core_pattern_ok, crash

    require_tool(shutil.which("gcc") is not None, "gcc")
    require_tool(
        _core_pattern_ok() and resource.getrlimit(resource.RLIMIT_CORE)[1] != 0,
        "a machine that writes cores into the working directory (kernel.core_pattern, ulimit -H -c)",
    )
    exe = f.root / "cprog" / "cprog"
    exe.parent.mkdir(exist_ok=True)
    (exe.parent / "c.c").write_text(C_PROGRAM)
    subprocess.run(["gcc", "-O1", "-o", str(exe), str(exe.parent / "c.c")], check=True)
    core, _ = crash(exe)
    assert core is not None, f"{exe} aborted but left no core in {exe.parent}"
    return exe, core


def _riscv_program(f: Files) -> Path:
    exe = f.root / "riscv" / "hello"
    work = exe.parent / "src"
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text("module example.com/hello\n\ngo 1.21\n")
    (work / "main.go").write_text('package main\n\nfunc main() { println("hi") }\n')
    env = {**os.environ, "CGO_ENABLED": "0", "GOARCH": "riscv64", "GOTOOLCHAIN": "local"}
    subprocess.run(["go", "build", "-o", str(exe), "."], cwd=work, env=env, check=True, capture_output=True)
    return exe


# Each case: files -> (program, core, error id, texts the message must hold).
CASES: dict[str, Callable[[Files], Case]] = {
    "program-missing": lambda f: Case(
        f.root / "no-such-binary", f.classic.core, ErrorId.FILE_NOT_FOUND, ("no-such-binary", "does not exist")
    ),
    "core-missing": lambda f: Case(
        f.classic.binary, f.root / "core.404", ErrorId.FILE_NOT_FOUND, ("core.404", "does not exist")
    ),
    "core-empty": lambda f: Case(
        f.classic.binary, _write(f.root / "core.empty", b""), ErrorId.FILE_EMPTY,
        ("core.empty", "empty", "ulimit -c unlimited"),
    ),
    "program-empty": lambda f: Case(
        _write(f.root / "empty-binary", b"", 0o755), f.classic.core, ErrorId.FILE_EMPTY, ("empty-binary", "empty")
    ),
    "core-is-directory": lambda f: Case(
        f.classic.binary, _core_dir(f), ErrorId.FILE_IS_DIRECTORY, ("is a directory", "Did you mean", "core.1234")
    ),
    "program-is-directory": lambda f: Case(
        f.classic.binary.parent, f.classic.core, ErrorId.FILE_IS_DIRECTORY, ("is a directory", "go build")
    ),
    "core-not-a-regular-file": lambda f: Case(
        f.classic.binary, _fifo(f), ErrorId.FILE_NOT_READABLE, ("core.fifo", "FIFO")
    ),
    "core-not-elf": lambda f: Case(
        f.classic.binary, _write(f.root / "core.txt", b"this is not a core\n"), ErrorId.NOT_ELF,
        ("core.txt", "text file"),
    ),
    "program-not-elf": lambda f: Case(
        _write(f.root / "run.sh", b"#!/bin/sh\nexec ./server\n", 0o755), f.classic.core, ErrorId.NOT_ELF,
        ("run.sh", "script"),
    ),
    "core-is-an-executable": lambda f: Case(
        f.classic.binary, f.other.binary, ErrorId.NOT_A_CORE, (str(f.other.binary.resolve()), "not a core dump"),
    ),
    "arguments-swapped": lambda f: Case(
        f.classic.core, f.classic.binary, ErrorId.FILES_SWAPPED, ("swapped",),
    ),
    "core-truncated": lambda f: Case(
        f.classic.binary, _notes_cut(f), ErrorId.CORE_TRUNCATED,
        ("core.notes-cut", "truncated", "missing", "ulimit -c unlimited"),
    ),
    "wrong-executable": lambda f: Case(
        f.other.binary, f.classic.core, ErrorId.CORE_MISMATCH, (str(f.other.binary.resolve()), "classic", "pid"),
    ),
    "no-dwarf": lambda f: Case(
        _stripped(f), f.classic.core, ErrorId.NO_DWARF, ("classic.nodebug", "DWARF", "-ldflags"),
    ),
    "not-go": lambda f: Case(*_c_program_and_core(f), ErrorId.NOT_GO, ("cprog", "not a Go program")),
    "corrupt-zst": lambda f: Case(
        f.classic.binary, _corrupt_zst(f), ErrorId.DECOMPRESSION_FAILED, ("core.corrupt.zst", "zstd"),
    ),
    "unsupported-arch": lambda f: Case(
        _riscv_program(f), f.classic.core, ErrorId.UNSUPPORTED_ARCH, ("riscv64",),
    ),
}  # fmt: skip


def _launch(client: DapClient, program: Path | str, core: Path | str, **extra: Any) -> tuple[dict[str, Any], float]:
    client.ok("initialize", INITIALIZE)
    started = time.monotonic()
    response = client.request("launch", {"program": str(program), "coreFilePath": str(core), **extra}, timeout=30)
    return response, time.monotonic() - started


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="gdt-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def adapter(private_tmp: Path) -> Iterator[DapClient]:
    client = start_adapter(private_tmp)
    yield client
    client.close()


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_at_once_with_its_own_message(
    name: str, files: Files, adapter: DapClient, private_tmp: Path
) -> None:
    case = CASES[name](files)
    response, took = _launch(adapter, case.program, case.core)
    print(f"\n{name}: refused in {took * 1000:.0f} ms: {response.get('message', '')[:160]}")
    assert not response["success"], response
    assert error_id(response) == case.error_id, (name, response)
    message = response["message"]
    for text in case.says:
        assert text in message, (text, message)
    error = response["body"]["error"]
    assert error["showUser"] is True
    # The message is the preflight's, not the table's generic text, and the variables stay.
    assert error["format"] == "{error}" and error["variables"]["error"] == message
    assert {"role", "path", "program", "core"} <= set(error["variables"])
    assert took < PROMPT, f"{name}: the refusal took {took:.2f} s"
    assert dlv_tree(adapter.process.pid)[1] == set(), "a bad input must not start Delve"
    assert temp_entries(adapter_root(private_tmp, adapter.process.pid)) == []
    # The editor shows the message; the session stays usable and ends cleanly.
    assert not adapter.events("terminated")
    finish(adapter)
    assert not any("Traceback" in line for line in adapter.stderr_lines), adapter.stderr_lines
    assert temp_entries(private_tmp) == []


def test_every_error_is_shown_and_the_first_decides_the_id(files: Files, adapter: DapClient, private_tmp: Path) -> None:
    response, took = _launch(adapter, files.root / "gone-binary", files.root / "gone-core")
    assert not response["success"] and error_id(response) == ErrorId.FILE_NOT_FOUND
    assert "gone-binary" in response["message"] and "gone-core" in response["message"]
    assert took < PROMPT
    finish(adapter)


def test_a_non_go_program_with_a_go_core_names_both_problems(
    files: Files, adapter: DapClient, private_tmp: Path
) -> None:
    program, _ = _c_program_and_core(files)
    response, _ = _launch(adapter, program, files.classic.core)
    assert not response["success"] and error_id(response) == ErrorId.CORE_MISMATCH
    assert "not a Go program" in response["message"]
    finish(adapter)


def test_a_core_cut_only_in_memory_opens_with_a_warning(files: Files, adapter: DapClient, private_tmp: Path) -> None:
    core = _memory_cut(files)
    stopped = adapter.start_core(files.classic.binary, core)
    warnings = [
        e["body"] for e in adapter.events("output")
        if e["body"].get("category") == "important" and "truncated" in e["body"]["output"]
    ]  # fmt: skip
    assert len(warnings) == 1, adapter.events("output")
    assert "core.memory-cut" in warnings[0]["output"] and "can be opened" in warnings[0]["output"]
    # The warning comes before the crash is shown.
    order = [m.get("event") for m in adapter.timeline if m.get("type") == "event"]
    assert order.index("output") < order.index("stopped")
    assert stopped["body"]["reason"] == "exception"
    finish(adapter)
    assert temp_entries(private_tmp) == []


def test_a_refused_launch_can_be_followed_by_a_good_one(files: Files, adapter: DapClient, private_tmp: Path) -> None:
    response, _ = _launch(adapter, files.other.binary, files.classic.core)
    assert error_id(response) == ErrorId.CORE_MISMATCH
    adapter.ok("launch", {"program": str(files.classic.binary), "coreFilePath": str(files.classic.core)})
    adapter.event("initialized")
    adapter.ok("configurationDone")
    adapter.event("stopped")
    finish(adapter)
    assert temp_entries(private_tmp) == []


def test_a_corrupt_compressed_core_leaves_no_partial_file(files: Files, adapter: DapClient, private_tmp: Path) -> None:
    response, _ = _launch(adapter, files.classic.binary, _corrupt_zst(files))
    assert error_id(response) == ErrorId.DECOMPRESSION_FAILED
    assert temp_entries(adapter_root(private_tmp, adapter.process.pid)) == []
    finish(adapter)


# --- the mapping itself (no adapter) ------------------------------------------------------------------


def test_every_preflight_code_has_a_specific_error_id() -> None:
    assert set(ISSUE_ERROR_IDS) == set(ALL_CODES)
    for code in ALL_CODES:
        assert error_id_for(code) is not ErrorId.LAUNCH_FAILED, code
        assert error_id_for(code) in ERROR_TABLE
    assert error_id_for("some-future-code") is ErrorId.LAUNCH_FAILED


def test_input_error_keeps_the_format_variables(files: Files) -> None:
    result = preflight(files.other.binary, files.classic.core)
    error = input_error(result)
    assert error.error_id is ErrorId.CORE_MISMATCH
    assert error.text == result.errors[0].message == str(error)
    message = error_message(error)
    assert message.format == "{error}" and message.variables is not None
    assert message.variables["program"] == str(files.other.binary)
    assert message.variables["core"] == str(files.classic.core)
    assert message.variables["code"] == c.EXE_MISMATCH
    with pytest.raises(ValueError):
        input_error(preflight(files.classic.binary, files.classic.core))
