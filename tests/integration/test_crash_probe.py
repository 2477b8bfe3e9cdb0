"""probe_crash + analyze_crash on real cores, checked against what the program itself wrote to stderr.

Cores: every corpus program (gocore_dap.corpus) and the extra programs below (panic value forms, fatal
errors on the system stack, signals in C code, ...), each built with the local Go (1.26) and go1.25.0.

`GOCORE_DAP_RECORD_CRASH_FACTS=1` also writes each core's facts and stderr excerpt to
tests/unit/data/crash_facts/, the recordings the unit tests replay.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from gocore_dap.backends.delve.crash_probe import probe_crash, read_wait_reasons
from gocore_dap.backends.delve.process import DelveProcess
from gocore_dap.goviews.crash import CrashAnalysis, CrashFacts, analyze_crash, crash_facts_to_json
from gocore_dap.goviews.wait_reasons import WaitReasonTable, goroutine_state
from tests.conftest import REPO, require_tool
from tests.support.corpus_fixtures import corpus_artifact
from tests.unit.test_crash_analysis import RECORDED_FRAMES, assert_matches_stderr, stderr_excerpt

pytestmark = pytest.mark.integration

TOOLCHAINS = ("local", "go1.25.0")
RECORD_DIR = REPO / "tests" / "unit" / "data" / "crash_facts"
# probe_crash sits on the path to the first stop; measured 3-40 ms per core, so this only catches a
# probe that starts scanning goroutines or similar.
PROBE_BUDGET_SECONDS = 1.0

CORPUS_PROGRAMS = (
    "cgo_crash",
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
    "wrapped_error",
)


@attrs.frozen
class Program:
    source: str
    cgo: bool = False


EXTRA_PROGRAMS: dict[str, Program] = {
    # printpanicval's forms: nil (-> PanicNilError), bool, complex, float, named int, named string with
    # a newline (printindented), in one chain of deferred panics.
    "panic_value_forms": Program(
        """package main

type Code int
type Label string

func main() {
	defer func() { panic(Label("bad\\nlabel")) }()
	defer func() { panic(Code(-7)) }()
	defer func() { panic(2.5) }()
	defer func() { panic(complex(1, -2)) }()
	defer func() { panic(true) }()
	panic(nil)
}
"""
    ),
    # "(TYPE) ADDR" forms and a named type from a package with an import path (big.Word, not math/big).
    "panic_pointer_forms": Program(
        """package main

import "math/big"

type T struct{ A int }

func main() {
	defer func() { panic(&T{A: 1}) }()
	defer func() { panic(big.Word(5)) }()
	defer func() { panic([]int{1, 2}) }()
	panic(float32(0.1))
}
"""
    ),
    "panic_struct": Program(
        """package main

type T struct {
	A int
	B string
}

func main() { panic(T{A: 1, B: "x"}) }
"""
    ),
    "panic_int": Program("package main\n\nfunc main() { panic(42) }\n"),
    "custom_error": Program(
        """package main

import "fmt"

type QuotaError struct {
	Tenant string
	Used   int
}

func (e *QuotaError) Error() string { return fmt.Sprintf("quota: tenant %s used %d", e.Tenant, e.Used) }

func main() {
	var err error = &QuotaError{"acme", 120}
	panic(err)
}
"""
    ),
    "stringer_multiline": Program(
        """package main

import "fmt"

type Point struct{ X, Y int }

func (p Point) String() string { return fmt.Sprintf("Point(%d,%d)\\nsecond line", p.X, p.Y) }

func main() { panic(Point{3, 4}) }
"""
    ),
    # A deferred call panics with the SAME value without recovering: 1.25 prints
    # "[recovered, repanicked]", 1.26 prints nothing after the value.
    "same_value_repanic": Program(
        """package main

import "errors"

var errSame = errors.New("same value twice")

func main() {
	defer func() { panic(errSame) }()
	panic(errSame)
}
"""
    ),
    "recover_new_value": Program(
        """package main

import "errors"

func main() {
	defer func() {
		r := recover()
		panic(errors.New("after recovering: " + r.(string)))
	}()
	panic("original")
}
"""
    ),
    "goexit_panic": Program(
        """package main

import (
	"runtime"
	"time"
)

func main() {
	go func() {
		defer func() { panic("panic during Goexit") }()
		runtime.Goexit()
	}()
	time.Sleep(time.Hour)
}
"""
    ),
    # A fatal error detected by checkdead on g0, after the program's own println (which shares the
    # runtime's print backlog).
    "goexit_main": Program(
        """package main

import "runtime"

func main() {
	defer println("deferred in main")
	runtime.Goexit()
}
"""
    ),
    # A throw on the system stack (newstack on g0) with "runtime: ..." diagnostics before it.
    "stack_overflow": Program(
        """package main

//go:noinline
func rec(n int) int { var buf [64]byte; buf[n%64] = byte(n); return rec(n+1) + int(buf[3]) }

func main() { println(rec(0)) }
"""
    ),
    # A fault the runtime cannot turn into a panic: "unexpected fault address", "fatal error: fault" and
    # a [signal ...] line.
    "fault_address": Program(
        """package main

import "unsafe"

func main() {
	p := (*int)(unsafe.Pointer(uintptr(0xdeadbeef)))
	*p = 1
}
"""
    ),
    # fatal() while a panic's deferred call runs: 1.26 prints the pending panic before "\\tfatal error".
    "fatal_during_panic": Program(
        """package main

import "sync"

func main() {
	defer func() {
		var mu sync.Mutex
		mu.Unlock()
	}()
	panic("boom")
}
"""
    ),
    # The panic value's Error() panics: a throw while g._panic is set.
    "panic_in_error_method": Program(
        """package main

type E struct{}

func (E) Error() string { panic("boom in Error") }

func main() { panic(E{}) }
"""
    ),
    "divide_by_zero": Program(
        """package main

import "os"

//go:noinline
func div(a, b int) int { return a / b }

func main() { println(div(10, len(os.Args)-1)) }
"""
    ),
    "cgo_sigill": Program(
        """package main

/*
static void boom(void) { __builtin_trap(); }
*/
import "C"

func main() { C.boom() }
""",
        cgo=True,
    ),
}


@attrs.frozen
class CoreCase:
    name: str
    toolchain: str
    binary: Path
    core: Path
    stderr: str
    source: str  # "corpus" or "test program"


# --- building the extra programs ------------------------------------------------------------------------

_build_lock = threading.Lock()
_built: dict[tuple[str, str], CoreCase] = {}


def _raise_core_limit() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def _build_extra(name: str, toolchain: str, root: Path) -> CoreCase:
    from gocore_dap.corpus.builder import core_glob, read_core_pattern

    with _build_lock:
        if (name, toolchain) in _built:
            return _built[(name, toolchain)]
        go = shutil.which("go")
        require_tool(go is not None, "the go command")
        assert go is not None
        pattern = read_core_pattern()
        require_tool(not pattern.startswith("|"), f"a core_pattern that writes files (it is {pattern!r})")
        program = EXTRA_PROGRAMS[name]
        work = root / toolchain / name
        work.mkdir(parents=True)
        (work / "go.mod").write_text("module crashprobe\n\ngo 1.25\n")
        (work / "main.go").write_text(program.source)
        env = {
            **os.environ,
            "GOTOOLCHAIN": toolchain,
            "GOFLAGS": "-buildvcs=false",
            "GOWORK": "off",
            "CGO_ENABLED": "1" if program.cgo else "0",
        }
        built = subprocess.run([go, "build", "-o", "prog", "."], cwd=work, env=env, capture_output=True, text=True)
        if built.returncode != 0 and toolchain != "local" and "toolchain" in built.stderr:
            require_tool(False, f"the {toolchain} toolchain ({built.stderr.strip()})")
        assert built.returncode == 0, built.stderr
        run_env = {k: v for k, v in os.environ.items() if k not in ("GODEBUG", "GOMAXPROCS", "GOGC")}
        run_env["GOTRACEBACK"] = "crash"
        started = time.time()
        with (work / "stderr.txt").open("w") as stderr:
            proc = subprocess.Popen(
                [str(work / "prog")],
                cwd=work,
                env=run_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                preexec_fn=_raise_core_limit,
            )
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                pytest.fail(f"{name} did not crash within 60 s")
        assert proc.returncode == -signal.SIGABRT, f"{name} exited with {proc.returncode}"
        cores = [
            Path(path)
            for glob_pattern in core_glob(pattern, cwd=work, pid=proc.pid, comm="prog")
            for path in sorted(glob.glob(glob_pattern))
            if Path(path).stat().st_mtime >= started - 1
        ]
        require_tool(bool(cores), f"a core file for {name} (core_pattern {pattern!r}, ulimit -c)")
        case = CoreCase(name, toolchain, work / "prog", cores[0], (work / "stderr.txt").read_text(), "test program")
        _built[(name, toolchain)] = case
        return case


@pytest.fixture(scope="session")
def extra_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crash_programs")


def _corpus_case(name: str, toolchain: str) -> CoreCase:
    # A missing tool skips (fails under CI=true); a corpus program that does not build or crash fails.
    artifact = corpus_artifact(name, None if toolchain == "local" else toolchain)
    return CoreCase(name, toolchain, artifact.binary, artifact.core, artifact.stderr_text(), "corpus")


def _case(spec: str, toolchain: str, extra_root: Path) -> CoreCase:
    kind, _, name = spec.partition(":")
    return _corpus_case(name, toolchain) if kind == "corpus" else _build_extra(name, toolchain, extra_root)


CASES = [f"corpus:{name}" for name in CORPUS_PROGRAMS] + [f"extra:{name}" for name in EXTRA_PROGRAMS]


# --- running the probe ---------------------------------------------------------------------------------


@attrs.frozen
class ProbeRun:
    facts: CrashFacts
    table: WaitReasonTable
    analysis: CrashAnalysis
    probe_seconds: float
    goroutines: list[dict[str, Any]]


async def _probe(dlv: Path, case: CoreCase, list_goroutines: bool = False) -> ProbeRun:
    process = await DelveProcess.start(dlv, case.binary, case.core)
    try:
        started = time.perf_counter()
        facts = await probe_crash(process)
        probe_seconds = time.perf_counter() - started
        table = await read_wait_reasons(process)
        goroutines: list[dict[str, Any]] = []
        if list_goroutines:
            start = 0
            while start >= 0:
                page = await process.call("ListGoroutines", {"Start": start, "Count": 500})
                goroutines.extend(page["Goroutines"] or [])
                start = page["Nextg"]
    finally:
        await process.close()
    return ProbeRun(facts, table, analyze_crash(facts, table), probe_seconds, goroutines)


def _record(case: CoreCase, facts: CrashFacts) -> None:
    RECORD_DIR.mkdir(parents=True, exist_ok=True)
    recorded = attrs.evolve(facts, frames=facts.frames[:RECORDED_FRAMES])
    document = {
        "program": case.name,
        "source": case.source,
        "toolchain": case.toolchain,
        "stderr_excerpt": stderr_excerpt(case.stderr),
        "facts": crash_facts_to_json(recorded),
    }
    path = RECORD_DIR / f"{case.toolchain}-{case.name}.json"
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


@pytest.mark.parametrize("toolchain", TOOLCHAINS)
@pytest.mark.parametrize("spec", CASES)
def test_probe_matches_stderr(spec: str, toolchain: str, dlv_path: Path, extra_root: Path) -> None:
    case = _case(spec, toolchain, extra_root)
    run = asyncio.run(_probe(dlv_path, case))
    print(f"{toolchain} {case.name}: probe_crash {run.probe_seconds * 1000:.1f} ms -> {run.analysis.headline}")
    assert_matches_stderr(run.analysis, case.stderr)
    assert not run.facts.probe_errors, run.facts.probe_errors
    expected_version = "go1.25.0" if toolchain == "go1.25.0" else "go1.26"
    assert run.facts.go_version.startswith(expected_version)
    assert run.probe_seconds < PROBE_BUDGET_SECONDS
    if os.environ.get("GOCORE_DAP_RECORD_CRASH_FACTS") == "1":
        _record(case, run.facts)


_HEADER_RE = re.compile(r"^goroutine (\d+)(?: gp=\S+ m=\S+(?: mp=\S+)?)? \[(.*)\]:$")


@pytest.mark.parametrize("toolchain", TOOLCHAINS)
@pytest.mark.parametrize("name", ["external_abrt", "many_goroutines", "deadlock"])
def test_goroutine_states_match_stderr(name: str, toolchain: str, dlv_path: Path) -> None:
    """The target's own wait-reason table names every goroutine's state as the runtime's traceback did."""
    case = _corpus_case(name, toolchain)
    run = asyncio.run(_probe(dlv_path, case, list_goroutines=True))
    printed: dict[int, str] = {}
    for line in case.stderr.split("\n"):
        match = _HEADER_RE.match(line)
        if match is not None and int(match[1]) not in printed:
            # Drop what goroutineheader appends after the state: ", N minutes", ", locked to thread",
            # " (scan)", labels.
            state = match[2].split(", ")[0].split(" labels:{")[0].removesuffix(" (scan)")
            printed[int(match[1])] = state
    compared = 0
    for goroutine in run.goroutines:
        gid = int(goroutine["id"])
        if gid not in printed:
            continue
        ours = goroutine_state(int(goroutine["status"]), int(goroutine["waitReason"]), run.table)
        assert ours == printed[gid], f"goroutine {gid}"
        compared += 1
    assert compared >= 3
