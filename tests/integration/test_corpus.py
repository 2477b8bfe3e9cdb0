"""Build every corpus program with real Go and check the crash it leaves: a real ELF core, and stderr that
says what the manifest promises. The cache in <repo>/.cache/corpus makes reruns fast."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from gocore_dap.corpus import (
    CrashArtifact,
    build,
    builder,
    list_programs,
    load_manifest,
    programs_dir,
)
from gocore_dap.goviews.frames import first_user_frame_index
from gocore_dap.goviews.traceback_text import ParsedTraceback, parse_traceback
from tests.conftest import skip_reviewed
from tests.support.corpus_fixtures import corpus_artifact

pytestmark = [pytest.mark.integration]

OLDEST_GO = "go1.25.0"  # the oldest Go the pinned Delve supports
TOOLCHAINS = [None, OLDEST_GO]
# The states many_goroutines parks its N goroutines in (its round-robin table).
MANY_STATES = {
    "chan receive",
    "chan send",
    "chan receive (nil chan)",
    "chan send (nil chan)",
    "select",
    "select (no cases)",
    "sync.Mutex.Lock",
    "sync.RWMutex.Lock",
    "sync.RWMutex.RLock",
    "sync.WaitGroup.Wait",
    "sync.Cond.Wait",
    "sleep",
    "IO wait",
    "semacquire",
}


def toolchain_id(toolchain: str | None) -> str:
    return toolchain or "local"


_parsed: dict[tuple[str, str | None], tuple[CrashArtifact, ParsedTraceback]] = {}


def crash(name: str, toolchain: str | None) -> tuple[CrashArtifact, ParsedTraceback]:
    """A missing tool skips (fails under CI=true); a program that does not build or crash as its manifest
    says fails."""
    if (name, toolchain) not in _parsed:
        artifact = corpus_artifact(name, toolchain)
        _parsed[name, toolchain] = artifact, parse_traceback(artifact.stderr_text())
    return _parsed[name, toolchain]


def user_states(parsed: ParsedTraceback) -> Counter[str]:
    return Counter(g.state for g in parsed.goroutines_by_id().values())


@pytest.mark.parametrize("toolchain", TOOLCHAINS, ids=toolchain_id)
@pytest.mark.parametrize("name", list_programs())
def test_program_crashes_as_its_manifest_says(name: str, toolchain: str | None) -> None:
    artifact, parsed = crash(name, toolchain)
    manifest = load_manifest(programs_dir() / name)
    assert artifact.name == name
    assert artifact.go_version == builder._go_info(toolchain).version
    assert artifact.source_dir == programs_dir() / name
    assert artifact.build_dir.parent.name == artifact.go_version
    for path in (artifact.binary, artifact.core, artifact.stderr, artifact.stdout):
        assert path.is_file() and path.parent == artifact.build_dir
    with artifact.core.open("rb") as core:
        header = core.read(18)
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[16:18], "little") == 4  # ET_CORE
    assert artifact.core.stat().st_size > 1 << 20
    assert artifact.exit_signal in builder._CORE_SIGNALS

    stderr = artifact.stderr_text()
    assert manifest.expect_first_line in stderr
    assert parsed.kind == manifest.expect_kind
    assert parsed.message == manifest.expect_first_line
    assert parsed.unparsed_lines == []
    assert 1 in parsed.goroutines_by_id()  # main is always there
    # The binary was built from the repo's own files: frames name them.
    main_go = str(programs_dir() / name / "main.go")
    assert any(f.file == main_go for g in parsed.goroutines for f in g.frames)


def test_build_is_cached() -> None:
    first = corpus_artifact("classic")
    again = build("classic")
    assert again == first
    assert first.build_dir.name.startswith("classic-") and len(first.build_dir.name) == len("classic-") + 12


@pytest.mark.parametrize("toolchain", TOOLCHAINS, ids=toolchain_id)
def test_crashing_goroutines(toolchain: str | None) -> None:
    expectations = {
        "classic": ("main.worker", "running"),
        "wrapped_error": ("main.schedule", "running"),
        "nil_deref": ("main.applyFee", "running"),
        "concurrent_map_writes": ("main.(*hitCounter).record", "running"),
        "many_goroutines": ("main.verify", "running"),
        "pprof_labels": ("main.(*scheduler).reindex", "running"),
        "nested_panic": ("main.(*txn).rollback", "running"),
        "recovered_repanic": ("main.recoverer.func1", "running"),
        "cgo_crash": ("main._Cfunc_checksum", "syscall"),
        "optimized_inlined": ("main.sampleAt", "running"),
        "wait_objects": ("main.main", "running"),
    }
    for name, (function, state) in expectations.items():
        _, parsed = crash(name, toolchain)
        crashing = parsed.crashing_goroutine()
        assert crashing is not None, name
        assert crashing.state == state, name
        functions = [f.function for f in crashing.frames]
        index = first_user_frame_index(functions)
        assert index is not None and functions[index] == function, (name, functions)
    for name in ("deadlock", "external_abrt"):
        assert crash(name, toolchain)[1].crashing_goroutine() is None, name


@pytest.mark.parametrize("toolchain", TOOLCHAINS, ids=toolchain_id)
def test_parked_states(toolchain: str | None) -> None:
    _, abrt = crash("external_abrt", toolchain)
    states = user_states(abrt)
    assert states["IO wait"] == 2
    for state in ("sync.Mutex.Lock", "sync.RWMutex.Lock", "sync.RWMutex.RLock", "sleep", "select", "select (no cases)"):
        assert states[state] == 1, state
    assert [g.state for g in abrt.goroutines_by_id().values() if g.locked_to_thread] == ["chan receive"]
    assert abrt.signal is not None and abrt.signal.name == "SIGABRT"
    assert abrt.threads[0].signal == "SIGABRT: abort" and abrt.threads[0].registers

    _, dead = crash("deadlock", toolchain)
    assert user_states(dead)["chan receive"] >= 1 and len(dead.runtime_stacks) == 1
    for state in ("chan send", "sync.Mutex.Lock", "sync.WaitGroup.Wait", "select"):
        assert user_states(dead)[state] == 1, state

    _, cgo = crash("cgo_crash", toolchain)
    assert cgo.signal is not None and cgo.signal.during_cgo and cgo.signal.addr == 0


@pytest.mark.parametrize("toolchain", TOOLCHAINS, ids=toolchain_id)
def test_many_goroutines_default(toolchain: str | None) -> None:
    artifact, parsed = crash("many_goroutines", toolchain)
    assert dict(artifact.params) == {"goroutines": "300"}
    check_many(parsed, 300)


def check_many(parsed: ParsedTraceback, n: int) -> None:
    states = user_states(parsed)
    assert set(states) >= MANY_STATES, MANY_STATES - set(states)
    assert sum(states[s] for s in MANY_STATES) >= n
    assert states["syscall"] == 1
    # The program waits until its own goroutines are parked; the runtime's (GC workers, the sweeper) may
    # still be runnable when the panic comes.
    started_by_main = [
        g
        for g in parsed.goroutines_by_id().values()
        if g.created_by is not None and g.created_by.function.startswith("main.")
    ]
    assert len(started_by_main) >= n + 2
    assert [g.id for g in started_by_main if g.state in ("runnable", "running")] == [
        crashing.id for crashing in [parsed.crashing_goroutine()] if crashing is not None
    ]


def test_many_goroutines_parameter() -> None:
    artifact = corpus_artifact("many_goroutines", params={"goroutines": "1000"})
    assert dict(artifact.params) == {"goroutines": "1000"}
    assert artifact.build_dir != build("many_goroutines").build_dir
    check_many(parse_traceback(artifact.stderr_text()), 1000)


def test_pprof_labels_reach_the_traceback_on_go_1_26() -> None:
    artifact, parsed = crash("pprof_labels", None)
    if tuple(int(x) for x in artifact.go_version.removeprefix("go").split(".")[:2]) < (1, 26):
        # The go1.25.0 case of the corpus checks what Go 1.25 prints; this one needs a newer local Go.
        skip_reviewed(f"the local Go is {artifact.go_version}; GODEBUG=tracebacklabels needs Go 1.26")
    crashing = parsed.crashing_goroutine()
    assert crashing is not None and dict(crashing.labels) == {"job": "reindex-9", "tenant": "globex"}
    tenants = {g.labels.get("tenant") for g in parsed.goroutines_by_id().values() if g.labels}
    assert tenants == {"acme", "globex", "initech"}


def test_cli_build_prints_paths(capsys: pytest.CaptureFixture[str]) -> None:
    from gocore_dap.corpus.__main__ import main

    corpus_artifact("wrapped_error")  # a missing tool skips here, not inside the command
    assert main(["build", "wrapped_error"]) == 0
    out = capsys.readouterr().out
    artifact = build("wrapped_error")
    for path in (artifact.binary, artifact.core, artifact.stderr, artifact.stdout):
        assert str(path) in out
    assert Path(artifact.build_dir, "meta.json").is_file()
