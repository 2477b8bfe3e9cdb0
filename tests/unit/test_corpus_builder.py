"""The corpus builder without Go: manifests, parameters, cache keys, core lookup, the program runner
(driven with small Python programs in place of Go binaries) and cache hits."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from gocore_dap.corpus import builder
from gocore_dap.corpus.builder import (
    CorpusError,
    cache_key,
    core_glob,
    effective_params,
    list_programs,
    load_manifest,
    program_argv,
    program_env,
    programs_dir,
)
from tests.support.processes import pid_alive

EXPECTED_PROGRAMS = {
    "cgo_c_library",
    "cgo_crash",
    "cgo_inlined_lookup",
    "classic",
    "concurrent_map_writes",
    "deadlock",
    "external_abrt",
    "many_goroutines",
    "nested_panic",
    "nil_deref",
    "optimized_inlined",
    "pprof_labels",
    "recovered_repanic",
    "stdlib_panic",
    "wait_objects",
    "wrapped_error",
}
CGO_PROGRAMS = {"cgo_c_library", "cgo_crash", "cgo_inlined_lookup"}


def write_program(root: Path, name: str = "demo", **overrides: Any) -> Path:
    manifest: dict[str, Any] = {
        "description": "demo",
        "gcflags": None,
        "ldflags": None,
        "cgo": False,
        "env": {},
        "params": {"goroutines": "300"},
        "param_passing": "args",
        "trigger": "self",
        "expect": {"kind": "panic", "message_first_line": "panic: boom"},
    }
    manifest.update(overrides)
    source = root / name
    source.mkdir(parents=True)
    (source / "main.go").write_text('package main\n\nfunc main() { panic("boom") }\n')
    (source / "go.mod").write_text(f"module example.com/{name}\n\ngo 1.25\n")
    (source / "manifest.json").write_text(json.dumps(manifest))
    return source


# --- the programs in the repo ---------------------------------------------------------------------------


def test_programs_dir_is_in_the_repo() -> None:
    assert programs_dir().is_dir()
    assert programs_dir() == Path(builder.__file__).resolve().parents[3] / "protocol-fixtures" / "programs"


def test_every_program_has_a_valid_manifest() -> None:
    names = list_programs()
    assert names == sorted(names)
    assert set(names) == EXPECTED_PROGRAMS
    for name in names:
        source = programs_dir() / name
        manifest = load_manifest(source)
        assert manifest.description
        assert (source / "main.go").is_file()
        go_mod = (source / "go.mod").read_text()
        assert "\ngo 1.25\n" in go_mod and "require" not in go_mod
        assert manifest.expect_first_line.startswith(
            {"panic": "panic: ", "fatal error": "fatal error: ", "signal": "SIG"}[manifest.expect_kind]
        )


def test_manifest_specifics() -> None:
    assert load_manifest(programs_dir() / "nil_deref").gcflags == "-N -l"
    for name in CGO_PROGRAMS:
        assert load_manifest(programs_dir() / name).cgo is True, name
    assert load_manifest(programs_dir() / "external_abrt").trigger == "sigabrt_after_ready"
    many = load_manifest(programs_dir() / "many_goroutines")
    assert many.params == {"goroutines": "300"} and many.param_passing == "args"
    others = EXPECTED_PROGRAMS - {"nil_deref", "external_abrt", "many_goroutines"} - CGO_PROGRAMS
    for name in others:
        manifest = load_manifest(programs_dir() / name)
        assert (manifest.gcflags, manifest.cgo, manifest.trigger) == (None, False, "self"), name


# --- manifests and parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"trigger": "later"}, "trigger"),
        ({"param_passing": "stdin"}, "param_passing"),
        ({"params": {"Goroutines": "1"}}, "parameter name"),
        ({"params": {"goroutines": 300}}, "params"),
        ({"cgo": "yes"}, "'cgo'"),
        ({"expect": {"kind": "crash", "message_first_line": "x"}}, "expect.kind"),
        ({"expect": {"kind": "panic"}}, "message_first_line"),
        ({"env": {"GODEBUG": 1}}, "env"),
    ],
)
def test_invalid_manifests_are_rejected(tmp_path: Path, overrides: dict[str, Any], message: str) -> None:
    source = write_program(tmp_path, **overrides)
    with pytest.raises(CorpusError, match=message):
        load_manifest(source)


def test_missing_description_and_bad_json(tmp_path: Path) -> None:
    source = write_program(tmp_path)
    raw = json.loads((source / "manifest.json").read_text())
    del raw["description"]
    (source / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(CorpusError, match="missing 'description'"):
        load_manifest(source)
    (source / "manifest.json").write_text("{")
    with pytest.raises(CorpusError, match="cannot read"):
        load_manifest(source)


def test_optional_fields_default(tmp_path: Path) -> None:
    source = tmp_path / "minimal"
    source.mkdir()
    (source / "manifest.json").write_text(
        json.dumps({"description": "d", "expect": {"kind": "signal", "message_first_line": "SIGABRT: abort"}})
    )
    manifest = load_manifest(source)
    assert (
        manifest.gcflags,
        manifest.ldflags,
        manifest.cgo,
        manifest.env,
        manifest.params,
        manifest.param_passing,
        manifest.trigger,
    ) == (None, None, False, {}, {}, "args", "self")


def test_effective_params(tmp_path: Path) -> None:
    manifest = load_manifest(write_program(tmp_path))
    assert effective_params(manifest, None) == {"goroutines": "300"}
    assert effective_params(manifest, {"goroutines": "100000"}) == {"goroutines": "100000"}
    with pytest.raises(CorpusError, match=r"unknown parameter 'threads' \(this program takes: goroutines\)"):
        effective_params(manifest, {"threads": "4"})


def test_params_as_args(tmp_path: Path) -> None:
    manifest = load_manifest(write_program(tmp_path, params={"goroutines": "300", "depth": "3"}))
    params = effective_params(manifest, {"goroutines": "1000"})
    assert program_argv(Path("/x/binary"), manifest, params) == ["/x/binary", "-depth=3", "-goroutines=1000"]
    env = program_env(manifest, params, base={"PATH": "/bin"})
    assert env == {"PATH": "/bin", "GOTRACEBACK": "crash"}


def test_params_as_env_and_scrubbed_environment(tmp_path: Path) -> None:
    manifest = load_manifest(write_program(tmp_path, param_passing="env", env={"GODEBUG": "tracebacklabels=1"}))
    params = effective_params(manifest, {"goroutines": "10000"})
    assert program_argv(Path("/x/binary"), manifest, params) == ["/x/binary"]
    base = {"PATH": "/bin", "GODEBUG": "gctrace=1", "GOMAXPROCS": "1", "GOTRACEBACK": "none", "HOME": "/h"}
    env = program_env(manifest, params, base=base)
    assert env == {
        "PATH": "/bin",
        "HOME": "/h",
        "GODEBUG": "tracebacklabels=1",
        "GOTRACEBACK": "crash",
        "GOROUTINES": "10000",
    }


# --- cache key ------------------------------------------------------------------------------------------


def test_cache_key_tracks_what_shapes_the_crash(tmp_path: Path) -> None:
    source = write_program(tmp_path)
    manifest = load_manifest(source)
    params = {"goroutines": "300"}
    key = cache_key(source, manifest, params, "go1.26.8")
    assert len(key) == 64 and key == cache_key(source, manifest, dict(params), "go1.26.8")

    assert cache_key(source, manifest, {"goroutines": "301"}, "go1.26.8") != key
    assert cache_key(source, manifest, params, "go1.25.0") != key
    assert cache_key(source, manifest, params, "go1.26.8", goarch="arm64") != key

    (source / ".hidden-editor-state").write_text("ignored")
    assert cache_key(source, manifest, params, "go1.26.8") == key

    main_go = source / "main.go"
    original = main_go.read_text()
    main_go.write_text(original + "// any edit\n")
    assert cache_key(source, manifest, params, "go1.26.8") != key
    main_go.write_text(original)
    assert cache_key(source, manifest, params, "go1.26.8") == key

    (source / "helper.go").write_text("package main\n")
    assert cache_key(source, manifest, params, "go1.26.8") != key
    (source / "helper.go").unlink()

    for change in ({"gcflags": "-N -l"}, {"ldflags": "-s"}, {"cgo": True}, {"env": {"GODEBUG": "x=1"}}):
        assert cache_key(source, attrs.evolve(manifest, **change), params, "go1.26.8") != key, change


def test_cache_key_depends_on_source_location(tmp_path: Path) -> None:
    first = write_program(tmp_path / "a")
    second = write_program(tmp_path / "b")
    manifest = load_manifest(first)
    params = {"goroutines": "300"}
    # Same bytes, other directory: the DWARF paths differ, so the entry must too.
    assert cache_key(first, manifest, params, "go1.26.8") != cache_key(second, manifest, params, "go1.26.8")


# --- cores ----------------------------------------------------------------------------------------------


def test_core_glob_plain_pattern(tmp_path: Path) -> None:
    assert core_glob("core", cwd=tmp_path, pid=42, comm="binary") == [str(tmp_path / "core"), str(tmp_path / "core.42")]
    assert core_glob("core", cwd=tmp_path, pid=42, comm="binary", uses_pid=True) == [
        str(tmp_path / "core.42"),
        str(tmp_path / "core"),
    ]


def test_core_glob_specifiers(tmp_path: Path) -> None:
    assert core_glob("core.%e.%p", cwd=tmp_path, pid=7, comm="binary") == [str(tmp_path / "core.binary.7")]
    assert core_glob("/var/crash/%e-%t-%s", cwd=tmp_path, pid=7, comm="a-very-long-program-name") == [
        "/var/crash/a-very-long-pro-*-*",
        "/var/crash/a-very-long-pro-*-*.7",
    ]
    assert core_glob("cores/100%%-%p", cwd=tmp_path, pid=9, comm="b") == [str(tmp_path / "cores/100%-9")]
    assert core_glob("core[%p]", cwd=tmp_path, pid=3, comm="b") == [str(tmp_path / "core[[]3]")]


def test_pipe_core_pattern_is_explained() -> None:
    with pytest.raises(CorpusError) as info:
        builder._check_core_pattern("|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h")
    message = str(info.value)
    assert "systemd-coredump" in message and "kernel.core_pattern" in message
    assert "core_pattern=core" in message
    builder._check_core_pattern("core")
    builder._check_core_pattern("/var/crash/core.%e.%p")


def elf_header(e_type: int) -> bytes:
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    return ident + e_type.to_bytes(2, "little") + bytes(46)


def test_core_file_checks(tmp_path: Path) -> None:
    core = tmp_path / "core"
    core.write_bytes(b"")
    with pytest.raises(CorpusError, match="empty"):
        builder._check_core_file(core)
    core.write_bytes(b"MZ" + bytes(100))
    with pytest.raises(CorpusError, match="not an ELF"):
        builder._check_core_file(core)
    core.write_bytes(elf_header(2))  # ET_EXEC
    with pytest.raises(CorpusError, match="not a core dump"):
        builder._check_core_file(core)
    core.write_bytes(elf_header(4))  # ET_CORE
    builder._check_core_file(core)


def test_find_core_ignores_stale_files(tmp_path: Path) -> None:
    stale = tmp_path / "core"
    stale.write_bytes(b"old")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    patterns = core_glob("core", cwd=tmp_path, pid=5, comm="binary")
    assert builder._find_core(patterns, time.time()) is None
    fresh = tmp_path / "core.5"
    fresh.write_bytes(b"new")
    assert builder._find_core(patterns, time.time() - 5) == fresh


# --- running programs (Python stand-ins for Go binaries) -----------------------------------------------


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_sigabrt_after_ready(tmp_path: Path) -> None:
    argv = script(
        tmp_path,
        """
        import signal, sys, time
        signal.signal(signal.SIGABRT, signal.SIG_DFL)
        print("starting"); print("READY 127.0.0.1:1234", flush=True)
        time.sleep(60)
    """,
    )
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    result = builder._run_program(
        argv, dict(os.environ), run_dir, tmp_path / "out", tmp_path / "err", "sigabrt_after_ready", timeout=30
    )
    assert result.returncode == -signal.SIGABRT
    assert "READY" in (tmp_path / "out").read_text()


def test_self_trigger_and_core_limit(tmp_path: Path) -> None:
    argv = script(
        tmp_path,
        """
        import os, resource, signal
        soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        print(soft, hard, os.getcwd(), flush=True)
        os.kill(os.getpid(), signal.SIGSEGV)
    """,
    )
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    result = builder._run_program(
        argv, dict(os.environ), run_dir, tmp_path / "out", tmp_path / "err", "self", timeout=30
    )
    assert result.returncode == -signal.SIGSEGV
    soft, _hard, cwd = (tmp_path / "out").read_text().split()
    assert int(soft) != 0  # lifted in the child only
    assert Path(cwd) == run_dir


def test_timeout_kills_the_program(tmp_path: Path) -> None:
    argv = script(
        tmp_path,
        """
        import os, time
        print(os.getpid(), flush=True)
        time.sleep(60)
    """,
    )
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    started = time.monotonic()
    with pytest.raises(CorpusError, match="still running after"):
        builder._run_program(argv, dict(os.environ), run_dir, tmp_path / "out", tmp_path / "err", "self", timeout=1.5)
    assert time.monotonic() - started < 20
    pid = int((tmp_path / "out").read_text())
    assert not pid_alive(pid)


def test_exit_before_ready_is_reported(tmp_path: Path) -> None:
    argv = script(
        tmp_path,
        """
        import sys
        print("cannot listen: address in use", file=sys.stderr)
        sys.exit(3)
    """,
    )
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with pytest.raises(CorpusError, match=r"exited \(status 3\) before printing READY[\s\S]*address in use"):
        builder._run_program(
            argv, dict(os.environ), run_dir, tmp_path / "out", tmp_path / "err", "sigabrt_after_ready", timeout=30
        )


def test_ready_must_start_a_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("NOT READY\nALREADY\n")
    assert not builder._stdout_has_ready(out)
    out.write_text("x\nREADY\n")
    assert builder._stdout_has_ready(out)


# --- build() and the cache ------------------------------------------------------------------------------


@pytest.fixture
def fake_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    programs = tmp_path / "programs"
    write_program(programs)
    monkeypatch.setattr(builder, "programs_dir", lambda: programs)
    monkeypatch.setattr(
        builder,
        "_go_info",
        lambda toolchain: builder._GoInfo("go1.25.0" if toolchain == "go1.25.0" else "go1.26.8", "linux", "amd64"),
    )
    return tmp_path


def plant_entry(cache_root: Path, go_version: str, params: dict[str, str]) -> Path:
    source = builder.programs_dir() / "demo"
    manifest = load_manifest(source)
    key = cache_key(source, manifest, params, go_version)
    entry = cache_root / go_version / f"demo-{key[:12]}"
    entry.mkdir(parents=True)
    for name in ("binary", "core", "stderr.txt", "stdout.txt"):
        (entry / name).write_text(name)
    meta = {
        "name": "demo",
        "go_version": go_version,
        "source_dir": str(source),
        "params": params,
        "manifest": dict(manifest.raw),
        "exit_signal": 6,
    }
    (entry / "meta.json").write_text(json.dumps(meta))
    return entry


def test_cache_hit_returns_without_building(fake_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_build(*args: object, **kwargs: object) -> list[str]:
        raise AssertionError("a cache hit must not build")

    monkeypatch.setattr(builder, "_go_build", no_build)
    cache_root = fake_repo / "cache"
    entry = plant_entry(cache_root, "go1.26.8", {"goroutines": "300"})
    artifact = builder.build("demo", cache_root=cache_root)
    assert artifact.build_dir == entry and artifact.core == entry / "core"
    assert (artifact.go_version, artifact.exit_signal, dict(artifact.params)) == ("go1.26.8", 6, {"goroutines": "300"})
    assert artifact.stderr == entry / "stderr.txt" and artifact.binary == entry / "binary"

    # Other params or another toolchain are other entries: they would need a build.
    with pytest.raises(AssertionError, match="must not build"):
        builder.build("demo", cache_root=cache_root, params={"goroutines": "1000"})
    with pytest.raises(AssertionError, match="must not build"):
        builder.build("demo", cache_root=cache_root, toolchain="go1.25.0")
    other = plant_entry(cache_root, "go1.25.0", {"goroutines": "300"})
    assert builder.build("demo", cache_root=cache_root, toolchain="go1.25.0").build_dir == other


def test_incomplete_entry_is_rebuilt_and_failures_leave_nothing(
    fake_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_root = fake_repo / "cache"
    entry = plant_entry(cache_root, "go1.26.8", {"goroutines": "300"})
    (entry / "meta.json").unlink()  # as if the builder died mid-way
    calls: list[Path] = []

    def failing_build(source_dir: Path, output: Path, *args: object) -> list[str]:
        calls.append(output)
        raise CorpusError("compile error")

    monkeypatch.setattr(builder, "_go_build", failing_build)
    monkeypatch.setattr(builder, "read_core_pattern", lambda: "core")
    with pytest.raises(CorpusError, match="compile error"):
        builder.build("demo", cache_root=cache_root)
    assert len(calls) == 1
    assert not entry.exists()
    leftovers = [p.name for p in (cache_root / "go1.26.8").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []


def test_pipe_core_pattern_stops_a_build(fake_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder, "read_core_pattern", lambda: "|/usr/share/apport/apport %p")
    with pytest.raises(CorpusError, match="apport"):
        builder.build("demo", cache_root=fake_repo / "cache")


def test_unknown_program_and_toolchain(fake_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CorpusError, match=r"no corpus program 'nope'.*known: demo"):
        builder.build("nope", cache_root=fake_repo / "cache")
    monkeypatch.undo()
    with pytest.raises(CorpusError, match="not a Go toolchain name"):
        builder._go_info("go1.25; rm -rf /")


def test_cli_list(capsys: pytest.CaptureFixture[str]) -> None:
    from gocore_dap.corpus.__main__ import main

    assert main(["list"]) == 0
    assert set(capsys.readouterr().out.split()) == EXPECTED_PROGRAMS
    assert main(["list", "--long"]) == 0
    assert "pprof.Do" in capsys.readouterr().out


def test_cli_build_reports_failures(
    fake_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gocore_dap.corpus.__main__ import main

    cache_root = fake_repo / "cache"
    plant_entry(cache_root, "go1.26.8", {"goroutines": "300"})
    assert main(["build", "--cache-root", str(cache_root), "--json", "demo"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["name"] == "demo" and line["core"].endswith("/core")
    assert main(["build", "--cache-root", str(cache_root), "--param", "threads=2", "demo"]) == 1
    assert "unknown parameter 'threads'" in capsys.readouterr().err
