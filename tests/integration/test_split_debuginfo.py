"""Stripped programs whose DWARF was kept apart, opened through real Delve (gocore_dap.preflight.debuginfo).

The corpus builds `classic` the way a release pipeline ships it (`strip="split"`: `objcopy --only-keep-debug`
into a file of its own, `objcopy --strip-debug --add-gnu-debuglink` on the binary, and the stripped binary is
the one that crashed). Its debug information is then given to gocore-dap in each of the three ways: a debug
directory (`.build-id` layout, and the `.gnu_debuglink` name), `symbolFile` (the unstripped build of the same
source, which the Go toolchain reproduces bit for bit), and a real `debuginfod` on loopback started here.
Each time Delve must show the crashing goroutine's stack with the files and lines the program's own traceback
printed. Without any of them the preflight refuses and says where it looked.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from gocore_dap.backends.delve.debuginfo_config import delve_debug_info_env
from gocore_dap.backends.delve.process import DelveProcess
from gocore_dap.corpus import CorpusError, CrashArtifact, build
from gocore_dap.goviews.frames import is_runtime_internal
from gocore_dap.goviews.traceback_text import parse_traceback
from gocore_dap.preflight import preflight
from gocore_dap.preflight.checks import PROGRAM_NO_DWARF, SYMBOL_FILE_MISMATCH, PreflightResult
from gocore_dap.preflight.debuginfo import DebugInfoOptions
from gocore_dap.preflight.exeinfo import read_exe_info
from tests.conftest import require_tool
from tests.support.corpus_fixtures import OLDEST_GO

pytestmark = pytest.mark.integration

TOOLCHAINS: list[str | None] = [None, OLDEST_GO]


def corpus(toolchain: str | None = None, **variant: object) -> CrashArtifact:
    require_tool(shutil.which("go") is not None, "the go command")
    require_tool(shutil.which("objcopy") is not None, "objcopy (binutils)")
    try:
        return build("classic", toolchain=toolchain, **variant)  # type: ignore[arg-type]
    except CorpusError as exc:
        if "cannot use Go toolchain" in str(exc):
            require_tool(False, f"the Go toolchain {toolchain} ({exc})")
        raise


def isolated(**kwargs: object) -> DebugInfoOptions:
    """Only what the test gives: no /usr/lib/debug, no DEBUGINFOD_URLS of the environment."""
    defaults: dict[str, object] = {"system_directories": (), "debuginfod_urls": ()}
    return DebugInfoOptions(**{**defaults, **kwargs})  # type: ignore[arg-type]


def build_id_dir(root: Path, gnu: str, debug_file: Path) -> Path:
    target = root / ".build-id" / gnu[:2] / f"{gnu[2:]}.debug"
    target.parent.mkdir(parents=True)
    shutil.copyfile(debug_file, target)
    return root


async def _crash_stack(result: PreflightResult, config_home: Path, dlv: Path) -> list[tuple[str, str, int]]:
    """(function, file, line) of the crashing goroutine, as the Delve the adapter would start reads them."""
    info = result.debug_info
    assert info is not None
    env: dict[str, str] = {}
    if info.needs_handoff:
        env = delve_debug_info_env(
            config_home,
            info.file,
            info.delve_program,
            gnu_build_id=info.gnu_build_id,
            debuglink=result.exe_info.debuglink[0] if result.exe_info and result.exe_info.debuglink else None,
        )
    process = await DelveProcess.start(dlv, info.delve_program, result.core_for_delve, extra_env=env)
    try:
        assert process.rpc is not None
        state = await process.rpc.call("State", {"NonBlocking": True})
        goroutine = (state["State"].get("currentThread") or {}).get("goroutineID")
        assert goroutine, state
        stack = await process.rpc.call("Stacktrace", {"Id": goroutine, "Depth": 40})
        return [
            ((loc.get("function") or {}).get("name", ""), loc["file"], loc["line"]) for loc in stack["Locations"] or []
        ]
    finally:
        await process.close()


def assert_delve_sees_the_crash(result: PreflightResult, artifact: CrashArtifact, config_home: Path, dlv: Path) -> None:
    assert result.ok, [str(i) for i in result.issues]
    frames = asyncio.run(_crash_stack(result, config_home, dlv))
    crashing = parse_traceback(artifact.stderr_text()).crashing_goroutine()
    assert crashing is not None
    expected = [(f.function, f.file, f.line) for f in crashing.frames if not is_runtime_internal(f.function)]
    got = [f for f in frames if f[0] and not is_runtime_internal(f[0])]
    assert got[: len(expected)] == expected
    assert all(line > 0 and file.endswith((".go", ".s")) for _, file, line in frames)


@pytest.fixture(scope="module", params=TOOLCHAINS, ids=lambda t: t or "local")
def split(request: pytest.FixtureRequest) -> CrashArtifact:
    artifact = corpus(request.param, strip="split")
    assert artifact.debug_file is not None and artifact.debug_file.is_file()
    assert not read_exe_info(artifact.binary).has_dwarf
    return artifact


@pytest.fixture(autouse=True)
def _no_debuginfod_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEBUGINFOD_URLS", raising=False)


# --- without debug information ---------------------------------------------------------------------------------


def test_stripped_without_debug_info_is_refused_saying_where_it_looked(split: CrashArtifact, tmp_path: Path) -> None:
    empty = tmp_path / "debug"
    empty.mkdir()
    result = preflight(split.binary, split.core, debug_options=isolated(directories=(empty,)))
    assert [i.code for i in result.errors] == [PROGRAM_NO_DWARF]
    message = result.errors[0].message
    gnu = read_exe_info(split.binary).build_ids.gnu
    assert gnu is not None
    for words in (
        str(split.binary),
        "DWARF",
        f"{empty}/.build-id/{gnu[:2]}/{gnu[2:]}.debug",
        "'binary.debug'",
        str(split.binary.parent / "binary.debug"),
        '"debugInfoDirectories"',
        '"symbolFile"',
        "DEBUGINFOD_URLS",
        "-ldflags",
    ):
        assert words in message, words


def test_without_the_handoff_delve_cannot_read_the_core(split: CrashArtifact, dlv_path: Path) -> None:
    """Why the hand-off exists: Delve alone does not look where the debug file is."""

    async def goroutines() -> str:
        process = await DelveProcess.start(dlv_path, split.binary, split.core)
        try:
            assert process.rpc is not None
            try:
                await process.rpc.call("ListGoroutines", {"Start": 0, "Count": 10})
            except Exception as exc:
                return str(exc)
            return ""
        finally:
            await process.close()

    assert "could not find goroutine array" in asyncio.run(goroutines())


def test_ldflags_s_w_is_refused_unless_given(tmp_path: Path) -> None:
    sw = corpus(strip="s-w")
    exe = read_exe_info(sw.binary)
    assert not exe.has_dwarf and not exe.has_symtab
    result = preflight(sw.binary, sw.core, debug_options=isolated(directories=(tmp_path,)))
    assert [i.code for i in result.errors] == [PROGRAM_NO_DWARF]
    assert "-ldflags='-s -w'" in result.errors[0].message and str(tmp_path) in result.errors[0].message


# --- the three ways --------------------------------------------------------------------------------------------


def test_debug_directory_with_the_build_id_layout(split: CrashArtifact, tmp_path: Path, dlv_path: Path) -> None:
    assert split.debug_file is not None
    gnu = read_exe_info(split.binary).build_ids.gnu
    assert gnu is not None
    store = build_id_dir(tmp_path / "debug-store", gnu, split.debug_file)
    result = preflight(split.binary, split.core, debug_options=isolated(directories=(store,)))
    assert result.debug_info is not None and result.debug_info.source == "directory"
    assert_delve_sees_the_crash(result, split, tmp_path / "xdg", dlv_path)


def test_debug_directory_with_the_debuglink_name(split: CrashArtifact, tmp_path: Path, dlv_path: Path) -> None:
    assert split.debug_file is not None
    flat = tmp_path / "symbols"
    flat.mkdir()
    shutil.copyfile(split.debug_file, flat / "binary.debug")
    result = preflight(split.binary, split.core, debug_options=isolated(directories=(flat,)))
    assert result.debug_info is not None and result.debug_info.file == flat / "binary.debug"
    assert_delve_sees_the_crash(result, split, tmp_path / "xdg", dlv_path)


def test_symbol_file_the_unstripped_build(split: CrashArtifact, tmp_path: Path, dlv_path: Path) -> None:
    unstripped = corpus(split.go_version if split.go_version != corpus().go_version else None)
    assert read_exe_info(unstripped.binary).build_ids == read_exe_info(split.binary).build_ids
    result = preflight(split.binary, split.core, debug_options=isolated(symbol_file=unstripped.binary))
    assert result.debug_info is not None and result.debug_info.delve_program == unstripped.binary
    assert not result.debug_info.needs_handoff
    assert_delve_sees_the_crash(result, split, tmp_path / "xdg", dlv_path)


def test_symbol_file_the_debug_file(split: CrashArtifact, tmp_path: Path, dlv_path: Path) -> None:
    assert split.debug_file is not None
    result = preflight(split.binary, split.core, debug_options=isolated(symbol_file=split.debug_file))
    assert result.debug_info is not None and result.debug_info.needs_handoff
    assert_delve_sees_the_crash(result, split, tmp_path / "xdg", dlv_path)


def test_symbol_file_of_another_build_is_refused(split: CrashArtifact) -> None:
    other = corpus(trimpath=True)  # the same source, other flags: another program
    result = preflight(split.binary, split.core, debug_options=isolated(symbol_file=other.binary))
    assert [i.code for i in result.errors] == [SYMBOL_FILE_MISMATCH]
    assert str(other.binary) in result.errors[0].message and "build ID" in result.errors[0].message


# --- a real debuginfod ------------------------------------------------------------------------------------------


@attrs.frozen
class Debuginfod:
    url: str
    served: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def debuginfod(split: CrashArtifact, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Debuginfod]:
    require_tool(shutil.which("debuginfod") is not None, "debuginfod (Debian package debuginfod; scripts/setup.sh)")
    assert split.debug_file is not None
    root = tmp_path_factory.mktemp("debuginfod")
    served = root / "served"
    served.mkdir()
    shutil.copyfile(split.debug_file, served / "classic.debug")
    port = _free_port()
    log = (root / "debuginfod.log").open("wb")
    process = subprocess.Popen(
        ["debuginfod", "-p", str(port), "-F", str(served), "-d", str(root / "db.sqlite"), "-t", "0", "-g", "0"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    gnu = read_exe_info(split.binary).build_ids.gnu
    try:
        deadline = time.monotonic() + 60
        while True:  # ready once it has indexed the file
            assert process.poll() is None, (root / "debuginfod.log").read_text()
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/buildid/{gnu}/debuginfo", timeout=2) as answer,
            ):
                if answer.status == 200:
                    break
            assert time.monotonic() < deadline, "debuginfod did not index the debug file within 60 s"
            time.sleep(0.2)
        yield Debuginfod(url, served)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def test_debuginfod_server(
    split: CrashArtifact,
    debuginfod: Debuginfod,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    dlv_path: Path,
) -> None:
    # As users set it: DEBUGINFOD_URLS in the environment (an unreachable server first).
    monkeypatch.setenv("DEBUGINFOD_URLS", f"http://127.0.0.1:{_free_port()} {debuginfod.url}")
    cache = tmp_path / "cache"
    progress: list[str] = []
    result = preflight(
        split.binary,
        split.core,
        progress=progress.append,
        debug_options=DebugInfoOptions(system_directories=(), cache_dir=cache),
    )
    assert result.debug_info is not None and result.debug_info.source == "debuginfod"
    assert result.debug_info.file.is_relative_to(cache)
    assert result.debug_search is not None
    answers = [(i.where, i.answer) for i in result.debug_search.looked if i.how == "debuginfod"]
    assert answers[0][1].startswith("unreachable") and answers[1] == (debuginfod.url, "found")
    assert any(debuginfod.url in line for line in progress)
    assert_delve_sees_the_crash(result, split, tmp_path / "xdg", dlv_path)


def test_debuginfod_without_the_build_is_in_the_refusal(
    debuginfod: Debuginfod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sw = corpus(strip="s-w")  # the server has no debug information for this build
    monkeypatch.setenv("DEBUGINFOD_URLS", debuginfod.url)
    result = preflight(sw.binary, sw.core, debug_options=DebugInfoOptions(system_directories=(), cache_dir=tmp_path))
    assert [i.code for i in result.errors] == [PROGRAM_NO_DWARF]
    assert f"debuginfod {debuginfod.url} (HTTP 404" in result.errors[0].message
