"""gocore_dap.sources: binary source paths -> local files, on temp dirs laid out as workspaces, a module cache
and Go roots. The go command is replaced by a fake that records what it is asked (no network, no real go)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from gocore_dap.goviews.build_info import BuildInfo, parse_modinfo
from gocore_dap.sources import DownloadFailed, GoTool, SourceOptions, SourceResolver
from gocore_dap.sources.gopaths import (
    escape_module_path,
    go_release,
    is_generated,
    split_module_file,
    split_toolchain_path,
    toolchain_version,
    unescape_module_path,
)
from gocore_dap.sources.gotool import GoEnv, Progress
from gocore_dap.sources.workspace import ModuleFinder, read_go_work_uses, read_module_path

# --- a machine on disk ----------------------------------------------------------------------------------------


def write(path: Path, text: str = "package x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def numbered(name: str, lines: int = 40) -> str:
    """A source file whose every line names itself, to check the right file opened."""
    return "".join(f"// {name}:{i}\n" for i in range(1, lines + 1))


@attrs.define
class Machine:
    root: Path
    workspace: Path  # the editor's workspace folder: a repository holding the service's module
    service: Path  # the main module example.com/svc
    modcache: Path
    goroot: Path  # the local Go (go1.26.8)

    def go(self, **kwargs: object) -> FakeGo:
        return FakeGo(self, **kwargs)  # type: ignore[arg-type]

    def toolchain_src(self, release: str) -> Path:
        return self.modcache / f"golang.org/toolchain@v0.0.1-{release}.linux-amd64" / "src"


def make_toolchain(root: Path, release: str) -> None:
    write(root / "VERSION", f"{release}\ntime 2025-01-01T00:00:00Z\n")
    for rel in (
        "runtime/proc.go",
        "runtime/panic.go",
        "fmt/print.go",
        "vendor/golang.org/x/net/dns/dnsmessage/message.go",
    ):
        write(root / "src" / rel, numbered(f"{release}/{rel}"))


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    workspace = tmp_path / "work" / "repo"
    service = workspace / "services" / "svc"
    write(service / "go.mod", "// the service\nmodule example.com/svc // main\n\ngo 1.25\n")
    write(service / "main.go", numbered("svc/main.go"))
    write(service / "internal" / "db" / "db.go", numbered("svc/internal/db/db.go"))
    write(service / "libmod" / "go.mod", "module example.com/lib\n")
    write(service / "libmod" / "lib.go", numbered("libmod/lib.go"))
    write(workspace / "tools" / "go.mod", "module example.com/tools\n")
    modcache = tmp_path / "gopath" / "pkg" / "mod"
    write(modcache / "github.com/!burnt!sushi/toml@v1.3.2/decode.go", numbered("toml/decode.go"))
    write(modcache / "golang.org/x/sys@v0.20.0/unix/syscall.go", numbered("sys/unix/syscall.go"))
    write(modcache / "example.com/fork@v2.0.0/lib.go", numbered("fork/lib.go"))
    make_toolchain(modcache / "golang.org/toolchain@v0.0.1-go1.25.0.linux-amd64", "go1.25.0")
    goroot = tmp_path / "usr" / "local" / "go"
    make_toolchain(goroot, "go1.26.8")
    return Machine(tmp_path, workspace, service, modcache, goroot)


class FakeGo(GoTool):
    """`go env` from the machine; `go mod download` creates the module (or fails, offline=True)."""

    def __init__(self, machine: Machine, *, offline: bool = False) -> None:
        super().__init__("go-fake", environ={})
        self.machine = machine
        self.offline = offline
        self.downloads: list[str] = []

    def env(self) -> GoEnv:
        return GoEnv(self.machine.modcache, self.machine.goroot, "go1.26.8", "linux", "amd64")

    def download(self, module: str, version: str, *, progress: Progress | None = None, timeout: float = 600.0) -> Path:
        self.downloads.append(f"{module}@{version}")
        if progress is not None:
            progress(None, f"Downloading {module}@{version}")
        if self.offline:
            raise DownloadFailed(
                f"`go mod download {module}@{version}` failed: dial tcp: lookup proxy.golang.org: no such host"
            )
        directory = self.machine.modcache / f"{escape_module_path(module)}@{version}"
        if module == "golang.org/toolchain":
            make_toolchain(directory, version.split("-", 1)[1].rsplit(".", 1)[0])
        else:
            write(directory / "x.go", numbered(f"{module}/x.go"))
        if progress is not None:
            progress(1.0, f"Downloaded {module}@{version}")
        return directory


MODINFO = "\n".join(
    [
        "path\texample.com/svc",
        "mod\texample.com/svc\t(devel)\t",
        "dep\tgithub.com/BurntSushi/toml\tv1.3.2\th1:abc=",
        "dep\tgolang.org/x/sys\tv0.20.0\th1:def=",
        "dep\texample.com/lib\tv1.2.3",
        "=>\t./libmod\t(devel)\t",
        "dep\texample.com/old\tv1.0.0",
        "=>\texample.com/fork\tv2.0.0\th1:ghi=",
        "dep\texample.com/absent\tv0.9.0\th1:jkl=",
        "build\t-trimpath=true",
        "build\tGOOS=linux",
        "build\tGOARCH=amd64",
        "build\tvcs.revision=0123456789abcdef0123",
    ]
)


def build_info(go_version: str = "go1.25.0", *, trimpath: bool = True) -> BuildInfo:
    text = MODINFO if trimpath else MODINFO.replace("build\t-trimpath=true\n", "")
    return parse_modinfo(text, go_version)


def resolver(
    machine: Machine,
    info: BuildInfo | None = None,
    *,
    go: FakeGo | None = None,
    **options: object,
) -> SourceResolver:
    opts = SourceOptions(**{"workspace_folders": (str(machine.workspace),), **options})  # type: ignore[arg-type]
    return SourceResolver(info or build_info(), opts, go=go or machine.go())


def line_of(path: str | None, line: int) -> str:
    assert path is not None
    return Path(path).read_text().splitlines()[line - 1]


# --- gopaths --------------------------------------------------------------------------------------------------


def test_module_path_escaping_round_trips() -> None:
    assert escape_module_path("github.com/BurntSushi/toml") == "github.com/!burnt!sushi/toml"
    assert unescape_module_path("github.com/!burnt!sushi/toml") == "github.com/BurntSushi/toml"


def test_go_release_and_toolchain_version() -> None:
    assert go_release("go1.25.0") == "go1.25.0"
    assert go_release("go1.22.12 X:boringcrypto") == "go1.22.12"
    assert go_release("go1.21rc2") == "go1.21rc2"
    assert go_release("devel go1.27-abcdef Tue") is None
    assert go_release("") is None
    assert toolchain_version("go1.25.0", "linux", "arm64") == "v0.0.1-go1.25.0.linux-arm64"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("example.com/lib@v1.2.3/lib.go", ("", "example.com/lib", "v1.2.3", "lib.go")),
        ("github.com/!burnt!sushi/toml@v1.3.2/x/y.go", ("", "github.com/BurntSushi/toml", "v1.3.2", "x/y.go")),
        (
            "/home/ci/go/pkg/mod/golang.org/x/sys@v0.20.0/unix/syscall.go",
            ("/home/ci/go/pkg/mod/", "golang.org/x/sys", "v0.20.0", "unix/syscall.go"),
        ),
        ("/srv/app@2/main.go", None),  # an @ outside a module cache is a directory name
        ("example.com/svc/main.go", None),
        ("runtime/proc.go", None),
    ],
)
def test_split_module_file(path: str, expected: tuple[str, str, str, str] | None) -> None:
    got = split_module_file(path)
    assert (None if got is None else (got.prefix, got.module, got.version, got.rel)) == expected


def test_split_module_file_prefers_build_info_modules() -> None:
    # A custom GOMODCACHE (no /pkg/mod/) is recognised by the module names of the build info.
    got = split_module_file("/cache/mods/golang.org/x/sys@v0.20.0/unix/a.go", {"golang.org/x/sys": "v0.20.0"})
    assert got is not None and (got.prefix, got.module, got.rel) == ("/cache/mods/", "golang.org/x/sys", "unix/a.go")


def test_toolchain_and_generated_paths() -> None:
    path = "/root/go/pkg/mod/golang.org/toolchain@v0.0.1-go1.25.0.linux-amd64/src/runtime/proc.go"
    assert split_toolchain_path(path) == ("go1.25.0", "runtime/proc.go")
    assert split_toolchain_path("/usr/local/go/src/runtime/proc.go") is None
    for path in ("<autogenerated>", "_cgo_gotypes.go", "/tmp/go-build123/b001/_cgo_gotypes.go", "$WORK/b001/x.go"):
        assert is_generated(path), path
    assert not is_generated("example.com/svc/main.go")


def test_build_info_keeps_replacements() -> None:
    info = build_info()
    assert info.replacements == {"example.com/lib": ("./libmod", ""), "example.com/old": ("example.com/fork", "v2.0.0")}
    assert ("example.com/lib", "v1.2.3") in info.dependencies and info.trimpath


# --- workspace ------------------------------------------------------------------------------------------------


def test_module_finder_searches_down_and_up(machine: Machine) -> None:
    assert read_module_path(machine.service / "go.mod") == "example.com/svc"
    down = ModuleFinder([machine.workspace])
    assert down.roots("example.com/svc") == [machine.service.resolve()]
    assert down.roots("example.com/tools") == [(machine.workspace / "tools").resolve()]
    up = ModuleFinder([machine.service / "internal" / "db"])  # a package folder opened as the workspace
    assert up.roots("example.com/svc") == [machine.service.resolve()]
    assert ModuleFinder([machine.root / "nowhere"]).roots("example.com/svc") == []


def test_module_finder_is_bounded(machine: Machine) -> None:
    deep = machine.root / "deep"
    write(deep / "a" / "b" / "c" / "d" / "e" / "f" / "go.mod", "module example.com/deep\n")
    assert ModuleFinder([deep], max_depth=3).roots("example.com/deep") == []
    assert ModuleFinder([deep], max_depth=6).roots("example.com/deep") != []
    wide = machine.root / "wide"
    for i in range(50):
        (wide / f"d{i:02}").mkdir(parents=True)
    write(wide / "d49" / "go.mod", "module example.com/wide\n")
    finder = ModuleFinder([wide], max_dirs=20)
    assert finder.roots("example.com/wide") == [] and finder.truncated and finder.dirs_read == 20


def test_go_work_use_directives(machine: Machine) -> None:
    elsewhere = machine.root / "elsewhere" / "lib"
    write(elsewhere / "go.mod", "module example.com/worklib\n")
    work = write(machine.root / "ws" / "go.work", "go 1.25\n\nuse (\n\t../elsewhere/lib // a comment\n)\nuse ./x\n")
    assert read_go_work_uses(work) == [elsewhere.resolve(), (machine.root / "ws" / "x").resolve()]
    assert ModuleFinder([machine.root / "ws"]).roots("example.com/worklib") == [elsewhere.resolve()]


# --- -trimpath builds -----------------------------------------------------------------------------------------


def test_trimpath_main_module_files_open_in_the_workspace(machine: Machine) -> None:
    r = resolver(machine)
    got = r.to_local("example.com/svc/internal/db/db.go")
    assert (got.path, got.kind, got.reason, got.owner) == (
        str(machine.service.resolve() / "internal/db/db.go"),
        "main",
        None,
        "example.com/svc",
    )
    assert line_of(r.to_local("example.com/svc/main.go").path, 7) == "// svc/main.go:7"


def test_source_root_and_cwd_are_starting_points_too(machine: Machine) -> None:
    for options in ({"source_root": str(machine.service)}, {"cwd": str(machine.workspace)}):
        r = resolver(machine, workspace_folders=(), **options)
        assert r.to_local("example.com/svc/main.go").path == str(machine.service.resolve() / "main.go")


def test_main_module_without_a_go_mod_anywhere_says_where_it_looked(machine: Machine) -> None:
    r = resolver(machine, workspace_folders=(str(machine.root / "work" / "other"),))
    (machine.root / "work" / "other").mkdir()
    got = r.to_local("example.com/svc/main.go")
    assert got.path is None and got.kind == "main"
    assert got.reason is not None
    assert "module example.com/svc" in got.reason and str(machine.root / "work" / "other") in got.reason
    assert '"sourceRoot"' in got.reason


def test_a_file_missing_from_the_module_names_the_revision(machine: Machine) -> None:
    got = resolver(machine).to_local("example.com/svc/gone.go")
    assert got.path is None and got.reason is not None and "0123456789ab" in got.reason


def test_dependencies_open_from_the_module_cache_at_their_version(machine: Machine) -> None:
    r = resolver(machine)
    got = r.to_local("github.com/!burnt!sushi/toml@v1.3.2/decode.go")
    assert got.kind == "dependency" and got.owner == "github.com/BurntSushi/toml@v1.3.2"
    assert line_of(got.path, 3) == "// toml/decode.go:3"
    assert r.to_local("golang.org/x/sys@v0.20.0/unix/syscall.go").path == str(
        machine.modcache / "golang.org/x/sys@v0.20.0/unix/syscall.go"
    )


def test_replaced_dependencies_open_where_the_replacement_is(machine: Machine) -> None:
    r = resolver(machine)
    # The binary names the dependency's own path and version; the build used ./libmod.
    assert r.to_local("example.com/lib@v1.2.3/lib.go").path == str(machine.service.resolve() / "libmod/lib.go")
    # Replaced by another module version: that version in the module cache.
    assert r.to_local("example.com/old@v1.0.0/lib.go").path == str(machine.modcache / "example.com/fork@v2.0.0/lib.go")


def test_vendored_dependencies_open_from_vendor(machine: Machine) -> None:
    write(machine.service / "vendor" / "golang.org/x/sys/unix/vendored.go")
    got = resolver(machine).to_local("golang.org/x/sys@v0.20.0/unix/vendored.go")
    assert got.path == str(machine.service.resolve() / "vendor/golang.org/x/sys/unix/vendored.go")


def test_missing_dependency_names_the_command_and_is_not_fetched_unasked(machine: Machine) -> None:
    go = machine.go()
    r = resolver(machine, go=go)
    got = r.to_local("example.com/absent@v0.9.0/a.go")
    assert got.path is None and got.kind == "dependency"
    assert got.reason is not None and "`go mod download example.com/absent@v0.9.0`" in got.reason
    assert go.downloads == []
    assert r.downloads_wanted() == ["go mod download example.com/absent@v0.9.0"]


def test_stdlib_opens_in_the_exact_release(machine: Machine) -> None:
    old = resolver(machine, build_info("go1.25.0"))
    got = old.to_local("runtime/proc.go")
    assert (got.kind, got.owner) == ("stdlib", "go1.25.0")
    assert got.path == str(machine.toolchain_src("go1.25.0") / "runtime/proc.go")
    assert line_of(got.path, 2) == "// go1.25.0/runtime/proc.go:2"
    assert old.to_local("vendor/golang.org/x/net/dns/dnsmessage/message.go").path is not None
    # The local Go is the release that built it: its own Go root.
    current = resolver(machine, build_info("go1.26.8"))
    assert current.to_local("fmt/print.go").path == str(machine.goroot / "src/fmt/print.go")


def test_stdlib_of_a_missing_release_is_fetched_only_when_allowed(machine: Machine) -> None:
    go = machine.go()
    r = resolver(machine, build_info("go1.24.3"), go=go)
    got = r.to_local("runtime/proc.go")
    assert got.path is None and got.kind == "stdlib" and got.owner == "go1.24.3"
    command = "go mod download golang.org/toolchain@v0.0.1-go1.24.3.linux-amd64"
    assert got.reason is not None and f"`{command}`" in got.reason
    assert go.downloads == [] and r.downloads_wanted() == [command]
    # The caller asks: one download, with progress, then the frame opens.
    seen: list[tuple[float | None, str]] = []
    assert r.fetch_missing(lambda f, t: seen.append((f, t))) == []
    assert go.downloads == ["golang.org/toolchain@v0.0.1-go1.24.3.linux-amd64"]
    assert seen and seen[-1][0] == 1.0
    assert line_of(r.to_local("runtime/proc.go").path, 1) == "// go1.24.3/runtime/proc.go:1"


def test_allow_fetch_downloads_on_first_use_and_once(machine: Machine) -> None:
    go = machine.go()
    r = resolver(machine, build_info("go1.24.3"), go=go, allow_fetch=True)
    assert r.to_local("runtime/proc.go").path is not None
    assert r.to_local("runtime/panic.go").path is not None
    assert r.to_local("example.com/absent@v0.9.0/x.go").path is not None
    assert go.downloads == ["golang.org/toolchain@v0.0.1-go1.24.3.linux-amd64", "example.com/absent@v0.9.0"]


def test_offline_fetch_says_what_to_run(machine: Machine) -> None:
    go = machine.go(offline=True)
    r = resolver(machine, build_info("go1.24.3"), go=go, allow_fetch=True)
    first = r.to_local("runtime/proc.go")
    again = r.to_local("runtime/panic.go")
    assert first.path is None and first.reason is not None
    assert "go mod download golang.org/toolchain@v0.0.1-go1.24.3.linux-amd64" in first.reason
    assert "no such host" in first.reason
    assert again.reason == first.reason and len(go.downloads) == 1  # a failure is not retried per frame


def test_unknown_go_version_is_explained(machine: Machine) -> None:
    r = resolver(machine, build_info("devel go1.27-abcdef"))
    got = r.to_local("runtime/proc.go")
    assert got.path is None and got.reason is not None and "devel go1.27" in got.reason


def test_generated_code_has_no_source(machine: Machine) -> None:
    got = resolver(machine).to_local("<autogenerated>")
    assert (got.path, got.kind) == (None, "generated") and got.reason
    assert resolver(machine).summary() == []  # not a miss to report


# --- explicit substitutePath ----------------------------------------------------------------------------------


def test_substitute_path_wins_when_its_file_exists(machine: Machine) -> None:
    elsewhere = machine.root / "checkout"
    write(elsewhere / "main.go", numbered("checkout/main.go"))
    r = resolver(machine, substitute_path=((str(elsewhere), "example.com/svc"),))
    assert r.to_local("example.com/svc/main.go").path == str(elsewhere / "main.go")
    # Its target does not have this one: the derived mapping answers, and the reverse follows the rule.
    assert r.to_local("example.com/svc/internal/db/db.go").path == str(machine.service.resolve() / "internal/db/db.go")
    assert r.to_binary(str(elsewhere / "main.go")) == "example.com/svc/main.go"


def test_substitute_path_miss_is_part_of_the_reason(machine: Machine) -> None:
    r = resolver(machine, workspace_folders=(), substitute_path=(("/nonexistent", "example.com/svc"),))
    got = r.to_local("example.com/svc/main.go")
    assert got.path is None and got.reason is not None
    assert got.reason.startswith("substitutePath maps it to '/nonexistent/main.go', which does not exist")


# --- absolute paths: the same machine, or another one ---------------------------------------------------------


def test_existing_absolute_paths_open_as_they_are(machine: Machine) -> None:
    r = resolver(machine, build_info("go1.26.8", trimpath=False))
    main = str(machine.service / "main.go")
    assert r.to_local(main).path == main and r.to_local(main).kind == "main"
    runtime = str(machine.goroot / "src/runtime/proc.go")
    assert r.to_local(runtime).path == runtime and r.to_local(runtime).kind == "stdlib"


def test_local_goroot_of_another_release_is_not_used_for_the_stdlib(machine: Machine) -> None:
    # Built here with go1.25.0 installed at the local Go root's path, which now holds go1.26.8.
    r = resolver(machine, build_info("go1.25.0", trimpath=False))
    got = r.to_local(str(machine.goroot / "src/runtime/proc.go"))
    assert got.path == str(machine.toolchain_src("go1.25.0") / "runtime/proc.go")


def test_a_build_from_another_machine_maps_by_module_roots(machine: Machine) -> None:
    r = resolver(machine, build_info("go1.25.0", trimpath=False))
    # The main module: which tail of the path is inside the local module decides the build's root.
    got = r.to_local("/home/ci/builds/svc/internal/db/db.go", "example.com/svc/internal/db.Query")
    assert got.path == str(machine.service.resolve() / "internal/db/db.go") and got.kind == "main"
    assert r.to_local("/home/ci/builds/svc/main.go").path == str(machine.service.resolve() / "main.go")
    # The build machine's module cache and Go root.
    dep = r.to_local("/home/ci/go/pkg/mod/github.com/!burnt!sushi/toml@v1.3.2/decode.go")
    assert dep.path == str(machine.modcache / "github.com/!burnt!sushi/toml@v1.3.2/decode.go")
    fmt = r.to_local("/opt/go/src/fmt/print.go")  # before any runtime frame told where the Go root was
    assert fmt.path == str(machine.toolchain_src("go1.25.0") / "fmt/print.go") and fmt.kind == "stdlib"
    rt = r.to_local("/opt/go/src/runtime/proc.go")
    assert rt.path == str(machine.toolchain_src("go1.25.0") / "runtime/proc.go")
    # And back.
    assert r.to_binary(str(machine.service.resolve() / "main.go")) == "/home/ci/builds/svc/main.go"


def test_foreign_path_outside_every_module_says_so(machine: Machine) -> None:
    got = resolver(machine, build_info("go1.25.0", trimpath=False)).to_local("/srv/other/thing.go")
    assert got.path is None and got.reason is not None and "not on this machine" in got.reason


# --- reverse mapping ------------------------------------------------------------------------------------------


def test_to_binary_reverses_trimpath_mappings(machine: Machine) -> None:
    r = resolver(machine, build_info("go1.25.0"))
    cases = {
        str(machine.service.resolve() / "internal/db/db.go"): "example.com/svc/internal/db/db.go",
        str(machine.modcache / "github.com/!burnt!sushi/toml@v1.3.2/decode.go"): (
            "github.com/BurntSushi/toml@v1.3.2/decode.go"
        ),
        str(machine.service.resolve() / "libmod/lib.go"): "example.com/lib@v1.2.3/lib.go",
        str(machine.toolchain_src("go1.25.0") / "runtime/proc.go"): "runtime/proc.go",
    }
    for local, binary in cases.items():
        assert r.to_binary(local) == binary, local
        assert r.to_local(binary).path == local


def test_to_binary_with_the_binary_file_list_answers_only_known_files(machine: Machine) -> None:
    files = ["example.com/svc/main.go", "runtime/proc.go"]
    r = SourceResolver(
        build_info(),
        SourceOptions(workspace_folders=(str(machine.workspace),)),
        go=machine.go(),
        binary_files=files,
    )
    assert r.to_binary(str(machine.service / "main.go")) == "example.com/svc/main.go"
    assert r.to_binary(str(machine.service / "internal/db/db.go")) is None  # not compiled into this binary
    assert r.to_binary("/unrelated/file.go") is None


# --- the cache and the summary --------------------------------------------------------------------------------


def test_answers_are_cached(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    r = resolver(machine, build_info("go1.25.0"))
    first = [r.to_local(p) for p in ("example.com/svc/main.go", "runtime/proc.go", "example.com/absent@v0.9.0/a.go")]

    def no_file_system(*args: object, **kwargs: object) -> bool:
        raise AssertionError("a cached answer must not touch the file system")

    monkeypatch.setattr(os.path, "isfile", no_file_system)
    monkeypatch.setattr(Path, "is_file", no_file_system)
    monkeypatch.setattr(Path, "is_dir", no_file_system)
    again = [r.to_local(p) for p in ("example.com/svc/main.go", "runtime/proc.go", "example.com/absent@v0.9.0/a.go")]
    assert all(a is b for a, b in zip(first, again, strict=True))


def test_summary_gathers_misses_by_owner(machine: Machine) -> None:
    r = resolver(machine, build_info("go1.24.3"))
    for path in ("runtime/proc.go", "runtime/panic.go", "example.com/absent@v0.9.0/a.go", "example.com/svc/main.go"):
        r.to_local(path)
    summary = r.summary()
    assert [(u.kind, u.owner, u.files) for u in summary] == [
        ("stdlib", "go1.24.3", 2),
        ("dependency", "example.com/absent@v0.9.0", 1),
    ]
    text = r.summary_text()
    assert text is not None and text.count("\n- ") == 2 and "3 path(s)" in text
    assert "go mod download golang.org/toolchain@v0.0.1-go1.24.3.linux-amd64" in text


def test_no_summary_when_everything_opened(machine: Machine) -> None:
    r = resolver(machine)
    r.to_local("example.com/svc/main.go")
    assert r.summary_text() is None


def test_resolver_is_thread_safe(machine: Machine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    r = resolver(machine, build_info("go1.25.0"))
    paths = ["example.com/svc/main.go", "runtime/proc.go", "github.com/!burnt!sushi/toml@v1.3.2/decode.go"] * 50
    run: Callable[[str], str | None] = lambda p: r.to_local(p).path  # noqa: E731
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, paths))
    assert None not in results and len(set(results)) == 3


def test_prepare_does_the_one_time_work(machine: Machine) -> None:
    calls: list[str] = []

    class CountingGo(FakeGo):
        def env(self) -> GoEnv:
            calls.append("env")
            return super().env()

    r = resolver(machine, build_info("go1.25.0"), go=CountingGo(machine))
    r.prepare()
    assert r._stdlib_dir == machine.toolchain_src("go1.25.0")
    before = len(calls)
    assert r.to_local("runtime/proc.go").path is not None
    assert r.to_local("example.com/svc/main.go").path is not None
    assert r._finder._index is not None and len(calls) == before  # nothing left to look up
