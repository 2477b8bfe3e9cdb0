"""The corpus builder's production-like variants (trimpath, strip), without Go: the cache key, the go build
command line, the objcopy steps (a recording fake objcopy) and what a cached entry reports."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from gocore_dap.corpus import builder
from gocore_dap.corpus.builder import CorpusError, cache_key, load_manifest


def program(root: Path) -> Path:
    source = root / "demo"
    source.mkdir(parents=True)
    (source / "main.go").write_text('package main\n\nfunc main() { panic("boom") }\n')
    (source / "go.mod").write_text("module example.com/demo\n\ngo 1.25\n")
    (source / "manifest.json").write_text(
        json.dumps(
            {
                "description": "d",
                "ldflags": "-X main.v=1",
                "expect": {"kind": "panic", "message_first_line": "panic: boom"},
            }
        )
    )
    return source


def fake_tool(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_variants_have_their_own_cache_keys_and_plain_keys_do_not_change(tmp_path: Path) -> None:
    source = program(tmp_path)
    manifest = load_manifest(source)
    plain = cache_key(source, manifest, {}, "go1.26.8")
    assert plain == cache_key(source, manifest, {}, "go1.26.8", trimpath=False, strip=None)
    keys = {
        plain,
        cache_key(source, manifest, {}, "go1.26.8", trimpath=True),
        cache_key(source, manifest, {}, "go1.26.8", strip="split"),
        cache_key(source, manifest, {}, "go1.26.8", strip="s-w"),
        cache_key(source, manifest, {}, "go1.26.8", trimpath=True, strip="split"),
    }
    assert len(keys) == 5


def test_go_build_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = program(tmp_path)
    manifest = load_manifest(source)
    record = tmp_path / "argv"
    go = fake_tool(tmp_path / "go", f'printf "%s\\n" "$@" > {record}\nexit 0\n')
    monkeypatch.setattr(builder, "_go_executable", lambda: str(go))
    builder._go_build(source, tmp_path / "out", manifest, None, 10, tmp_path / "log", True, "s-w")
    assert record.read_text().splitlines() == [
        "build",
        "-o",
        str(tmp_path / "out"),
        "-trimpath",
        "-ldflags=-X main.v=1 -s -w",
        ".",
    ]
    builder._go_build(source, tmp_path / "out", manifest, None, 10, tmp_path / "log")
    assert record.read_text().splitlines() == ["build", "-o", str(tmp_path / "out"), "-ldflags=-X main.v=1", "."]


def test_split_debug_info_runs_objcopy_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # The fake keeps what a real objcopy would: the debug file it is asked to write.
    fake_tool(bin_dir / "objcopy", f'echo "$@" >> {record}\ncase "$1" in --only-keep-debug) : > "$3";; esac\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    entry = tmp_path / "entry"
    entry.mkdir()
    (entry / "binary").write_bytes(b"\x7fELF")
    debug = builder._split_debug_info(entry / "binary", 10)
    assert debug == entry / "debuginfo" / "binary.debug" and debug.is_file()
    assert record.read_text().splitlines() == [
        f"--only-keep-debug {entry / 'binary'} {debug}",
        f"--strip-debug --add-gnu-debuglink={debug} {entry / 'binary'}",
    ]


def test_split_needs_objcopy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CorpusError, match="needs objcopy"):
        builder._split_debug_info(tmp_path / "binary", 10)


def test_unknown_strip_mode_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder, "programs_dir", lambda: tmp_path)
    program(tmp_path)
    with pytest.raises(CorpusError, match="strip must be one of split, s-w"):
        builder.build("demo", strip="all")  # type: ignore[arg-type]


def test_a_cached_variant_reports_itself(tmp_path: Path) -> None:
    entry = tmp_path / "entry"
    (entry / "debuginfo").mkdir(parents=True)
    (entry / "debuginfo" / "binary.debug").write_bytes(b"")
    meta = {"name": "demo", "go_version": "go1.26.8", "source_dir": "/s", "params": {}, "manifest": {},
            "exit_signal": 6, "variant": {"trimpath": True, "strip": "split"}}  # fmt: skip
    (entry / "meta.json").write_text(json.dumps(meta))
    artifact = builder._artifact_from_dir(entry)
    assert (artifact.trimpath, artifact.strip, artifact.debug_file) == (True, "split", entry / "debuginfo/binary.debug")
    del meta["variant"]  # an entry written before variants existed
    (entry / "meta.json").write_text(json.dumps(meta))
    (entry / "debuginfo" / "binary.debug").unlink()
    assert (builder._artifact_from_dir(entry).trimpath, builder._artifact_from_dir(entry).debug_file) == (False, None)


def test_programs_root_for_programs_outside_the_corpus(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"no corpus program 'nope' in .* \(known: demo\)"):
        program(tmp_path)
        builder.build("nope", programs_root=tmp_path)
