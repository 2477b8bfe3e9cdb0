"""Sources of -trimpath builds and of builds made elsewhere open on this machine (gocore_dap.sources).

Ground truth: each program is built twice from the same directory with the same Go, with and without
-trimpath. The plain build's frames name the real files (the repo's sources, the module cache's Go release
sources), so every frame of the -trimpath build, resolved, must name exactly the file the plain build names
for the same function and line; its line must exist there. Checked on the programs' own stderr tracebacks and
on the frames Delve reads from the cores, on the current Go and go1.25.0.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from gocore_dap.backends.delve.process import DelveProcess
from gocore_dap.corpus import CorpusError, CrashArtifact, build
from gocore_dap.corpus.builder import repo_root
from gocore_dap.goviews.frames import is_runtime_internal
from gocore_dap.goviews.traceback_text import ParsedTraceback, parse_traceback
from gocore_dap.preflight.exeinfo import read_exe_info
from gocore_dap.sources import GoTool, SourceOptions, SourceResolver
from tests.conftest import require_tool
from tests.support.corpus_fixtures import OLDEST_GO

pytestmark = pytest.mark.integration

MODULE_PROGRAMS = repo_root() / "protocol-fixtures" / "module-programs"
PROGRAMS = ["classic", "nil_deref", "dependency_panic"]
TOOLCHAINS: list[str | None] = [None, OLDEST_GO]


@attrs.frozen
class Pair:
    """One program built with and without -trimpath by one Go."""

    trimmed: CrashArtifact
    plain: CrashArtifact
    trimmed_tb: ParsedTraceback
    plain_tb: ParsedTraceback

    @property
    def source_dir(self) -> Path:
        return self.plain.source_dir


_pairs: dict[tuple[str, str | None], Pair] = {}


def pair(name: str, toolchain: str | None) -> Pair:
    key = (name, toolchain)
    if key not in _pairs:
        require_tool(shutil.which("go") is not None, "the go command")
        root = MODULE_PROGRAMS if name == "dependency_panic" else None
        try:
            trimmed = build(name, toolchain=toolchain, trimpath=True, programs_root=root)
            plain = build(name, toolchain=toolchain, programs_root=root)
        except CorpusError as exc:
            if "cannot use Go toolchain" in str(exc):
                require_tool(False, f"the Go toolchain {toolchain} ({exc})")
            raise
        _pairs[key] = Pair(trimmed, plain, parse_traceback(trimmed.stderr_text()), parse_traceback(plain.stderr_text()))
    return _pairs[key]


def resolver_for(p: Pair, **options: object) -> SourceResolver:
    info = read_exe_info(p.trimmed.binary).build_info
    assert info is not None and info.trimpath
    # The editor has the repository open, as a developer of the service would.
    opts = SourceOptions(**{"workspace_folders": (str(repo_root()),), **options})  # type: ignore[arg-type]
    return SourceResolver(info, opts)


def frames_of(tb: ParsedTraceback) -> Iterator[tuple[str, str, int]]:
    for g in tb.goroutines:
        for f in [*g.frames, *([g.created_by] if g.created_by else [])]:
            yield f.function, f.file, f.line


def plain_files(tb: ParsedTraceback) -> dict[tuple[str, int], str]:
    return {(function, line): file for function, file, line in frames_of(tb)}


def assert_line_exists(path: str, line: int) -> None:
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    assert 1 <= line <= len(lines), f"{path}:{line} is past the end ({len(lines)} lines)"


CASES = [(name, tc) for tc in TOOLCHAINS for name in PROGRAMS]
IDS = [f"{name}-{tc or 'local'}" for name, tc in CASES]


@pytest.mark.parametrize(("name", "toolchain"), CASES, ids=IDS)
def test_every_traceback_frame_opens_the_file_the_plain_build_names(name: str, toolchain: str | None) -> None:
    p = pair(name, toolchain)
    r = resolver_for(p)
    truth = plain_files(p.plain_tb)
    checked = {"main": 0, "dependency": 0, "stdlib": 0}
    for function, file, line in frames_of(p.trimmed_tb):
        assert not file.startswith("/"), f"-trimpath left an absolute path: {file}"
        got = r.to_local(file, function)
        assert got.path is not None, f"{function} {file}:{line}: {got.reason}"
        expected = truth.get((function, line))
        if expected is not None:
            assert os.path.realpath(got.path) == os.path.realpath(expected), (function, file, line)
        assert_line_exists(got.path, line)
        checked[got.kind] = checked.get(got.kind, 0) + 1
        if got.kind == "stdlib":
            # The exact release that built it: the local Go root only when it is that release.
            assert got.owner == p.trimmed.go_version
            assert (
                (Path(got.path).parents[len(Path(file).parts)] / "VERSION").read_text().startswith(p.trimmed.go_version)
            )
    assert checked["main"] > 0 and checked["stdlib"] > 0
    if name == "dependency_panic":
        assert checked["dependency"] > 0
    assert r.summary_text() is None


@pytest.mark.parametrize(("name", "toolchain"), CASES, ids=IDS)
def test_user_frames_in_the_crashing_goroutine_name_the_lines_that_crashed(name: str, toolchain: str | None) -> None:
    """The resolved line holds the call to the frame above it (or the panic), as a reader would check."""
    p = pair(name, toolchain)
    r = resolver_for(p)
    crashing = p.trimmed_tb.crashing_goroutine()
    assert crashing is not None
    frames = crashing.frames
    user = 0
    for i, frame in enumerate(frames):
        if is_runtime_internal(frame.function) or i == 0:
            continue
        got = r.to_local(frame.file, frame.function)
        assert got.path is not None
        text = Path(got.path).read_text().splitlines()[frame.line - 1]
        callee = frames[i - 1].function
        if callee in ("panic", "runtime.gopanic"):
            short = "panic"
        elif is_runtime_internal(callee):
            continue  # runtime.sigpanic: the line is the faulting statement, which calls nothing
        else:
            short = callee.rsplit(".", 1)[-1].split("[")[0]
        if short.startswith(("func", "gowrap")):
            continue  # a closure: its name is not in the calling line
        assert short in text, f"{frame.function} at {got.path}:{frame.line} is {text!r}, expected a call of {short}"
        user += 1
    assert user > 0


async def _delve_frames(dlv: Path, artifact: CrashArtifact) -> tuple[list[tuple[str, str, int]], list[str]]:
    process = await DelveProcess.start(dlv, artifact.binary, artifact.core)
    try:
        assert process.rpc is not None
        frames: list[tuple[str, str, int]] = []
        start = 0
        while start >= 0:
            page = await process.rpc.call("ListGoroutines", {"Start": start, "Count": 100})
            for g in page["Goroutines"] or []:
                stack = await process.rpc.call("Stacktrace", {"Id": g["id"], "Depth": 60})
                for loc in stack["Locations"] or []:
                    fn = (loc.get("function") or {}).get("name", "")
                    frames.append((fn, loc["file"], loc["line"]))
            start = page["Nextg"]
        sources = (await process.rpc.call("ListSources", {"Filter": ""}))["Sources"]
        return frames, sources
    finally:
        await process.close()


@pytest.mark.parametrize(("name", "toolchain"), CASES, ids=IDS)
def test_every_frame_delve_reads_from_the_core_opens(name: str, toolchain: str | None, dlv_path: Path) -> None:
    p = pair(name, toolchain)
    trimmed_frames, sources = asyncio.run(_delve_frames(dlv_path, p.trimmed))
    plain_frames, _ = asyncio.run(_delve_frames(dlv_path, p.plain))
    truth = {(fn, line): file for fn, file, line in plain_frames}
    r = resolver_for(p)
    generated = 0
    for function, file, line in trimmed_frames:
        got = r.to_local(file, function)
        if got.kind == "generated":
            generated += 1
            continue
        assert got.path is not None, f"{function} {file}:{line}: {got.reason}"
        if (function, line) in truth:
            assert os.path.realpath(got.path) == os.path.realpath(truth[function, line]), (function, file)
        assert_line_exists(got.path, line)
    assert len(trimmed_frames) > generated > -1

    # Every file compiled into the binary opens, and maps back exactly (breakpoints, the language server).
    with_files = SourceResolver(r.build_info, r.options, binary_files=sources)
    for source in sources:
        got = with_files.to_local(source)
        if got.kind == "generated":
            continue
        assert got.path is not None, f"{source}: {got.reason}"
        assert with_files.to_binary(got.path) == source, source
    assert with_files.summary() == []


def _run_for_traceback(binary: Path, cwd: Path) -> str:
    """The program's traceback on stderr without a core (GOTRACEBACK=all: it exits with status 2)."""

    def no_core() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")} | {"GOTRACEBACK": "all"}
    done = subprocess.run(
        [str(binary)], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, preexec_fn=no_core, check=False
    )
    assert done.returncode == 2, done.stderr
    return done.stderr


def test_a_build_from_another_machine_maps_by_module_roots(tmp_path: Path) -> None:
    """No -trimpath, built in a directory that no longer exists here: its sources are in the workspace."""
    require_tool(shutil.which("go") is not None, "the go command")
    build_dir = tmp_path / "ci" / "build" / "shipping"
    shutil.copytree(MODULE_PROGRAMS / "dependency_panic", build_dir)
    binary = tmp_path / "server"
    env = {k: v for k, v in os.environ.items() if k not in ("GOFLAGS", "GOWORK")} | {
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-buildvcs=false",
        "CGO_ENABLED": "0",
    }
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=build_dir, env=env, check=True, timeout=300)
    parsed = parse_traceback(_run_for_traceback(binary, tmp_path))
    checkout = tmp_path / "home" / "dev" / "src" / "shipping"
    checkout.parent.mkdir(parents=True)
    build_dir.rename(checkout)  # the build machine's path is gone; the developer has a checkout elsewhere

    info = read_exe_info(binary).build_info
    assert info is not None and not info.trimpath
    r = SourceResolver(info, SourceOptions(workspace_folders=(str(tmp_path / "home" / "dev"),)))
    crashing = parsed.crashing_goroutine()
    assert crashing is not None
    user = [f for f in crashing.frames if not is_runtime_internal(f.function)]
    assert {f.function for f in user} >= {"main.main", "example.com/ledger.(*Book).Post"}
    for frame in user:
        assert str(build_dir) in frame.file
        got = r.to_local(frame.file, frame.function)
        assert got.path == frame.file.replace(str(build_dir), str(checkout.resolve())), got
        assert_line_exists(got.path, frame.line)
    assert r.to_binary(str(checkout.resolve() / "main.go")) == str(build_dir / "main.go")


def test_missing_go_release_sources_are_fetched_with_go_mod_download(tmp_path: Path) -> None:
    """The real `go mod download` of a toolchain module into an empty module cache, from a file proxy made of
    the toolchain zip the go command already has (no network); then with GOPROXY=off it names the command."""
    p = pair("classic", OLDEST_GO)
    real_cache = GoTool().env().gomodcache
    assert real_cache is not None
    version = f"v0.0.1-{OLDEST_GO}.linux-amd64"
    have = real_cache / "cache" / "download" / "golang.org" / "toolchain" / "@v" / f"{version}.zip"
    require_tool(have.is_file(), f"the {OLDEST_GO} toolchain zip in the module cache")
    # GOTOOLCHAIN downloads keep only the zip; a proxy also serves .info and .mod.
    proxy = tmp_path / "proxy" / "golang.org" / "toolchain" / "@v"
    proxy.mkdir(parents=True)
    (proxy / f"{version}.zip").symlink_to(have)
    (proxy / f"{version}.info").write_text(f'{{"Version":"{version}"}}')
    (proxy / f"{version}.mod").write_text("module golang.org/toolchain\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GO")} | {
        "GOMODCACHE": str(tmp_path / "modcache"),
        "GOPROXY": f"file://{tmp_path / 'proxy'}",
        "GOSUMDB": "off",
        "GOFLAGS": "-modcacherw",  # so that tmp_path can be removed
    }
    info = read_exe_info(p.trimmed.binary).build_info
    options = SourceOptions(workspace_folders=(str(repo_root()),), goroot=str(tmp_path / "no-goroot"))
    r = SourceResolver(info, options, go=GoTool(environ=environ))
    first = r.to_local("runtime/proc.go")
    assert first.path is None and first.reason is not None
    command = f"go mod download golang.org/toolchain@v0.0.1-{OLDEST_GO}.linux-amd64"
    assert f"`{command}`" in first.reason and r.downloads_wanted() == [command]

    offline = SourceResolver(
        info, attrs.evolve(options, allow_fetch=True), go=GoTool(environ=environ | {"GOPROXY": "off"})
    )
    failed = offline.to_local("runtime/proc.go")
    assert failed.path is None and failed.reason is not None and command in failed.reason

    seen: list[tuple[float | None, str]] = []
    assert r.fetch_missing(lambda f, t: seen.append((f, t))) == []
    got = r.to_local("runtime/proc.go")
    assert got.path is not None and got.path.startswith(str(tmp_path / "modcache"))
    assert (Path(got.path).parents[2] / "VERSION").read_text().startswith(OLDEST_GO)
    assert seen[0][1].startswith("Downloading golang.org/toolchain") and seen[-1][0] == 1.0
