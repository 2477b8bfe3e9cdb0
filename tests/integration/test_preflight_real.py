"""Pre-flight checks on real programs and real kernel core dumps.

The samples are built here (tiny Go and C programs, crashed with GOTRACEBACK=crash and a raised
RLIMIT_CORE) rather than taken from the corpus, so these tests depend only on Go, gcc and a
core_pattern that writes into the working directory. ``build_samples`` is also used by
tests/unit/test_preflight_elf.py; both share one build through an on-disk marker.
"""

from __future__ import annotations

import ctypes
import errno
import gzip
import hashlib
import json
import lzma
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import lz4.frame  # type: ignore[import-untyped]
import pytest
import zstandard

from gocore_dap.preflight import preflight
from gocore_dap.preflight.checks import (
    ALL_CODES,
    ARCH_MISMATCH,
    ARGUMENTS_SWAPPED,
    CORE_32BIT,
    CORE_COMPRESSED_CORRUPT,
    CORE_DECOMPRESS_FAILED,
    CORE_EMPTY,
    CORE_IS_DIRECTORY,
    CORE_MALFORMED,
    CORE_MISSING,
    CORE_NOT_CORE,
    CORE_NOT_ELF,
    CORE_NOT_REGULAR_FILE,
    CORE_TRUNCATED,
    CORE_TRUNCATED_MEMORY,
    CORE_UNREADABLE,
    EXE_MISMATCH,
    EXE_NAME_DIFFERS,
    PROGRAM_EMPTY,
    PROGRAM_IS_DIRECTORY,
    PROGRAM_MALFORMED,
    PROGRAM_MISSING,
    PROGRAM_NO_DWARF,
    PROGRAM_NOT_ELF,
    PROGRAM_NOT_EXECUTABLE,
    PROGRAM_NOT_GO,
    PROGRAM_UNREADABLE,
    PROGRAM_UNSUPPORTED_ARCH,
    PreflightResult,
)
from tests.conftest import require_tool

pytestmark = pytest.mark.integration

# ---------------------------------------------------------------------------------------------
# Sample programs

GO_A = """\
package main

import (
	"bufio"
	"fmt"
	"os"
	"time"
)

type config struct {
	name   string
	limits map[string]int
}

func worker(id int, c chan int) {
	for v := range c {
		fmt.Println(id, v)
	}
}

func apply(c *config) {
	c.limits[c.name] = len(os.Args) // nil map: panics
}

func main() {
	for i := 0; i < 3; i++ {
		go worker(i, make(chan int))
	}
	time.Sleep(10 * time.Millisecond)
	if os.Getenv("SAMPLE_WAIT") != "" { // lets a test replace the binary while it runs
		bufio.NewReader(os.Stdin).ReadString('\\n')
	}
	apply(&config{name: "a"})
}
"""

GO_B = """\
package main

import "os"

func pick(xs []int) int {
	return xs[len(os.Args)+4] // out of range: panics
}

func main() {
	println(pick([]int{1, 2, 3}))
}
"""

# Allocates and dirties GOCORE_BIG_MIB MiB so the core really has that much data.
GO_BIG = """\
package main

import (
	"os"
	"strconv"
)

var keep [][]byte

func main() {
	mib, _ := strconv.Atoi(os.Getenv("GOCORE_BIG_MIB"))
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			b[j] = byte(i + j | 1)
		}
		keep = append(keep, b)
	}
	var m map[int]int
	m[len(keep)] = 1
}
"""

C_PROG = """\
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    puts("c");
    abort();
}
"""


@attrs.frozen
class Sample:
    exe: Path
    core: Path | None
    pid: int | None = None  # of the process that dumped ``core``


@attrs.frozen
class Samples:
    root: Path
    items: dict[str, Sample]

    def exe(self, name: str) -> Path:
        return self.items[name].exe

    def core(self, name: str) -> Path:
        core = self.items[name].core
        assert core is not None, f"the sample {name!r} ran and crashed but left no core"
        return core


def _core_pattern_ok() -> bool:
    try:
        pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    except OSError:
        return False
    # A pipe (systemd-coredump, apport) or an absolute directory keeps cores out of the cwd.
    return not pattern.startswith("|") and "/" not in pattern


def _go_build(src: str, out: Path, *flags: str, goarch: str | None = None) -> None:
    work = out.parent / f"{out.name}.src"
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text("module example.com/sample\n\ngo 1.21\n")
    (work / "main.go").write_text(src)
    env = {**os.environ, "CGO_ENABLED": "0"}
    if goarch:
        env["GOARCH"] = goarch
    subprocess.run(["go", "build", *flags, "-o", str(out), "."], cwd=work, env=env, check=True)


def _prepare_child(limit: int, coredump_filter: int | None) -> Callable[[], None]:
    def apply() -> None:
        _soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        want = hard if limit == resource.RLIM_INFINITY else limit
        if hard != resource.RLIM_INFINITY and want != resource.RLIM_INFINITY:
            want = min(want, hard)
        resource.setrlimit(resource.RLIMIT_CORE, (want, hard))
        if coredump_filter is not None:  # inherited through exec, like a shell's setting
            with open("/proc/self/coredump_filter", "w") as fh:
                fh.write(f"{coredump_filter:#x}")

    return apply


def crash(
    exe: Path,
    *,
    env: dict[str, str] | None = None,
    limit: int = resource.RLIM_INFINITY,
    coredump_filter: int | None = None,
    while_running: Callable[[], None] | None = None,
) -> tuple[Path | None, int]:
    """Run ``exe`` in its own directory until it dumps core; returns the core (or None) and pid.

    With ``while_running``, the program waits on stdin until that callback has run.
    """
    for old in exe.parent.glob("core*"):
        old.unlink()
    child_env = {"PATH": os.environ.get("PATH", ""), "GOTRACEBACK": "crash", **(env or {})}
    if while_running is not None:
        child_env["SAMPLE_WAIT"] = "1"
    with subprocess.Popen(
        [str(exe)],
        cwd=exe.parent,
        env=child_env,
        preexec_fn=_prepare_child(limit, coredump_filter),  # only setrlimit and a /proc write
        # A pipe only when the program waits on it: others may be dead before we could write.
        stdin=subprocess.PIPE if while_running is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as proc:
        if while_running is not None:
            assert proc.stdin is not None
            while_running()
            proc.stdin.write(b"\n")
            proc.stdin.close()
        proc.wait(timeout=120)
    cores = sorted(exe.parent.glob("core*"))
    return (cores[0] if cores else None), proc.pid


def build_samples(root: Path) -> Samples:
    """Build and crash the sample programs once per test session (cached via ``built.json``)."""
    marker = root / "built.json"
    if marker.exists():
        raw = json.loads(marker.read_text())
        cached = {k: Sample(Path(v[0]), Path(v[1]) if v[1] else None, v[2]) for k, v in raw.items()}
        return Samples(root, cached)
    require_tool(shutil.which("go") is not None, "go")
    require_tool(shutil.which("gcc") is not None, "gcc (the C sample)")
    require_tool(_core_pattern_ok(), "a core_pattern that writes cores into the working directory")
    require_tool(resource.getrlimit(resource.RLIMIT_CORE)[1] != 0, "a hard RLIMIT_CORE above 0 (ulimit -H -c)")

    # Left over from an attempt that failed earlier in this session: start clean, so that the
    # original error shows again instead of a confusing "file exists".
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    items: dict[str, Sample] = {}

    def go_sample(name: str, src: str, *flags: str, run: bool = True, goarch: str | None = None) -> None:
        exe = root / name / name
        _go_build(src, exe, *flags, goarch=goarch)
        try:
            items[name] = Sample(exe, *crash(exe)) if run else Sample(exe, None)
        except OSError as exc:
            if goarch != "386" or exc.errno != errno.ENOEXEC:
                raise
            items[name] = Sample(exe, None)  # a kernel without IA32_EMULATION: test_32bit_core copes

    go_sample("a", GO_A)
    go_sample("a_noopt", GO_A, "-gcflags=all=-N -l")
    go_sample("a_stripped", GO_A, "-ldflags=-s -w")
    go_sample("a_pie", GO_A, "-buildmode=pie")
    go_sample("b", GO_B)
    go_sample("a_arm64", GO_A, run=False, goarch="arm64")
    go_sample("a_386", GO_A, goarch="386")  # its core is None where the kernel lacks IA-32 support
    # A core the kernel itself cut short: RLIMIT_CORE of 64 KiB counts only written (non-zero)
    # pages, so the cut lands in the executable's data or the heap right after it.
    limited = root / "a_limited" / "a_limited"
    limited.parent.mkdir(parents=True)
    shutil.copy2(items["a"].exe, limited)
    items["a_limited"] = Sample(limited, *crash(limited, limit=64 << 10))
    # coredump_filter without bit 4: the kernel does not dump the executable's first page,
    # so the core holds no build ID; matching falls back to names and the entry point.
    nohdr = root / "a_nohdr" / "a_nohdr"
    nohdr.parent.mkdir(parents=True)
    shutil.copy2(items["a"].exe, nohdr)
    items["a_nohdr"] = Sample(nohdr, *crash(nohdr, coredump_filter=0x23))

    c_exe = root / "c" / "c"
    c_exe.parent.mkdir(parents=True)
    (c_exe.parent / "c.c").write_text(C_PROG)
    subprocess.run(["gcc", "-O1", "-o", str(c_exe), str(c_exe.parent / "c.c")], check=True)
    items["c"] = Sample(c_exe, *crash(c_exe))

    if items["a"].core is None:
        pytest.fail(f"running {items['a'].exe} with GOTRACEBACK=crash produced no core")
    marker.write_text(json.dumps({k: [str(v.exe), str(v.core or ""), v.pid] for k, v in items.items()}))
    return Samples(root, items)


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    return build_samples(tmp_path_factory.getbasetemp() / "preflight-samples")


def codes(result: PreflightResult) -> list[str]:
    return [i.code for i in result.issues]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _cut(src: Path, dest: Path, size: int) -> Path:
    with open(src, "rb") as fi, open(dest, "wb") as fo:
        fo.write(fi.read(size))
    return dest


# ---------------------------------------------------------------------------------------------
# Good pairs


@pytest.mark.parametrize("name", ["a", "a_pie", "b", "a_noopt"])
def test_good_pair_has_no_issues(samples: Samples, name: str) -> None:
    result = preflight(samples.exe(name), samples.core(name))
    assert result.issues == []
    assert result.ok
    assert result.decompressed_core is None
    assert result.core_for_delve == samples.core(name)
    core, exe = result.core_info, result.exe_info
    assert core is not None and exe is not None
    assert core.exe_path == str(samples.exe(name))
    assert core.exe_image is not None and core.exe_image.build_ids == exe.build_ids
    assert exe.is_go and exe.has_dwarf


def test_symlink_to_the_binary_is_fine(samples: Samples, tmp_path: Path) -> None:
    link = tmp_path / "other-name"
    link.symlink_to(samples.exe("a"))
    assert preflight(link, samples.core("a")).issues == []


def test_renamed_copy_of_the_binary_is_fine(samples: Samples, tmp_path: Path) -> None:
    # Build IDs match, so a different file name is no reason to complain.
    copy = tmp_path / "server-v2"
    shutil.copy2(samples.exe("a"), copy)
    assert preflight(copy, samples.core("a")).issues == []


# ---------------------------------------------------------------------------------------------
# Wrong executables


def test_swapped_arguments(samples: Samples) -> None:
    result = preflight(samples.core("a"), samples.exe("a"))
    assert codes(result) == [ARGUMENTS_SWAPPED]
    message = result.issues[0].message
    assert "arguments look swapped" in message
    assert f"'{samples.core('a')}' is a core dump" in message
    assert f"'{samples.exe('a')}' is an executable" in message


def test_other_programs_binary_is_a_mismatch(samples: Samples) -> None:
    result = preflight(samples.exe("b"), samples.core("a"))
    assert codes(result) == [EXE_MISMATCH]
    core, exe_b = result.core_info, result.exe_info
    assert core is not None and exe_b is not None and core.process is not None
    message = result.issues[0].message
    exe_a_ids = core.exe_image.build_ids if core.exe_image else None
    assert exe_a_ids is not None and exe_a_ids.gnu and exe_b.build_ids.gnu
    for text in (
        exe_a_ids.gnu, exe_b.build_ids.gnu, str(exe_a_ids.go), str(exe_b.build_ids.go),
        f"pid {core.process.pid}", f"command line '{core.process.psargs}'", str(samples.exe("a")),
        "exact binary that crashed",
    ):  # fmt: skip
        assert text in message


def test_same_source_other_gcflags_is_a_mismatch(samples: Samples) -> None:
    result = preflight(samples.exe("a_noopt"), samples.core("a"))
    assert codes(result) == [EXE_MISMATCH]
    assert "other flags" in result.issues[0].message


def test_pie_build_of_the_same_source_is_a_mismatch(samples: Samples) -> None:
    result = preflight(samples.exe("a_pie"), samples.core("a"))
    assert codes(result) == [EXE_MISMATCH]
    assert "entry point was" in result.issues[0].message


def test_arch_mismatch(samples: Samples) -> None:
    result = preflight(samples.exe("a_arm64"), samples.core("a"))
    assert codes(result) == [ARCH_MISMATCH]
    assert "built for arm64" in result.issues[0].message and "process on amd64" in result.issues[0].message


def _elf32_core_header(path: Path) -> Path:
    """The ELF header a 32-bit x86 core starts with (ELFCLASS32, little-endian, ET_CORE, EM_386)."""
    ident = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
    path.write_bytes(
        ident + (4).to_bytes(2, "little") + (3).to_bytes(2, "little") + (1).to_bytes(4, "little") + bytes(52 - 24)
    )
    return path


def test_32bit_core(samples: Samples, tmp_path: Path) -> None:
    core = samples.items["a_386"].core
    if core is None:
        # A kernel without IA32_EMULATION runs no 386 program, so the sample made no core: the header
        # such a core starts with is what the check reads.
        core = _elf32_core_header(tmp_path / "core.386")
    result = preflight(samples.exe("a"), core)
    assert codes(result) == [CORE_32BIT]
    assert "32-bit 386 core" in result.issues[0].message


# ---------------------------------------------------------------------------------------------
# Non-Go and stripped programs


def test_core_of_a_c_program(samples: Samples) -> None:
    result = preflight(samples.exe("c"), samples.core("c"))
    assert codes(result) == [PROGRAM_NOT_GO]
    assert "not a Go program" in result.issues[0].message
    # And a Go binary against the C program's core is, first of all, the wrong binary.
    assert EXE_MISMATCH in codes(preflight(samples.exe("a"), samples.core("c")))


def test_go_binary_without_dwarf(samples: Samples) -> None:
    result = preflight(samples.exe("a_stripped"), samples.core("a_stripped"))
    assert codes(result) == [PROGRAM_NO_DWARF]
    message = result.issues[0].message
    assert "no DWARF" in message and "-s -w" in message and "-trimpath is fine" in message


# ---------------------------------------------------------------------------------------------
# Bad paths and file kinds


def test_empty_files(samples: Samples, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.touch()
    assert codes(preflight(samples.exe("a"), empty)) == [CORE_EMPTY]
    result = preflight(empty, samples.core("a"))
    assert codes(result) == [PROGRAM_EMPTY]


def test_directories(samples: Samples) -> None:
    result = preflight(samples.exe("a").parent, samples.core("a").parent)
    assert sorted(codes(result)) == [CORE_IS_DIRECTORY, PROGRAM_IS_DIRECTORY]
    core_issue = next(i for i in result.issues if i.code == CORE_IS_DIRECTORY)
    assert samples.core("a").name in core_issue.message  # it points at the core inside


def test_text_files(samples: Samples, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("panic: runtime error\n")
    assert codes(preflight(samples.exe("a"), text)) == [CORE_NOT_ELF]
    result = preflight(text, samples.core("a"))
    assert codes(result) == [PROGRAM_NOT_ELF]
    # The message helps by naming what the core says it needs.
    assert str(samples.exe("a")) in result.issues[0].message


def test_missing_paths(samples: Samples, tmp_path: Path) -> None:
    result = preflight(tmp_path / "nope", samples.core("a"))
    assert codes(result) == [PROGRAM_MISSING]
    assert f"The core was dumped by {samples.exe('a')}" in result.issues[0].message
    assert codes(preflight(samples.exe("a"), tmp_path / "nope")) == [CORE_MISSING]


def test_executable_given_as_core_and_core_as_program(samples: Samples) -> None:
    assert codes(preflight(samples.exe("a"), samples.exe("b"))) == [CORE_NOT_CORE]
    assert codes(preflight(samples.core("b"), samples.core("a"))) == [PROGRAM_NOT_EXECUTABLE]


def test_fifo_is_not_a_regular_file(samples: Samples, tmp_path: Path) -> None:
    fifo = tmp_path / "core.fifo"
    os.mkfifo(fifo)
    result = preflight(samples.exe("a"), fifo)  # must not block reading it
    assert codes(result) == [CORE_NOT_REGULAR_FILE]
    assert "FIFO" in result.issues[0].message


# Capabilities (linux/capability.h) that let root read any file whatever its mode, and the prctl that
# removes one from the bounding set, after which an exec'd program of root no longer gets it.
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2
_PR_CAPBSET_DROP = 24


def _drop_file_read_override() -> None:
    """preexec_fn of a child run by root: without these two capabilities root is held to file modes too."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"prctl(PR_CAPBSET_DROP, {capability})")


def preflight_held_to_file_modes(program: Path, core: Path) -> list[tuple[str, str]]:
    """(code, message) of each issue of `preflight(program, core)`, run where file modes apply: in a child
    process that, when the tests run as root (as CI does), has lost root's right to read any file."""
    script = (
        "import json, sys\n"
        "from gocore_dap.preflight import preflight\n"
        "result = preflight(sys.argv[1], sys.argv[2])\n"
        "print(json.dumps([[i.code, i.message] for i in result.issues]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(program), str(core)],
        capture_output=True, text=True, timeout=60, check=False,
        preexec_fn=_drop_file_read_override if os.geteuid() == 0 else None,  # only a prctl before exec
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [(code, message) for code, message in json.loads(done.stdout)]


def test_the_child_is_held_to_file_modes(tmp_path: Path) -> None:
    """What the next test relies on: a mode-0 file cannot be read in the child, even when we are root."""
    secret = tmp_path / "secret"
    secret.write_text("x")
    secret.chmod(0)
    read = subprocess.run(
        [sys.executable, "-c", f"open({str(secret)!r}).read()"], capture_output=True, text=True, timeout=60,
        preexec_fn=_drop_file_read_override if os.geteuid() == 0 else None, check=False,
    )  # fmt: skip
    assert read.returncode != 0 and "PermissionError" in read.stderr, read


def test_unreadable_core_and_program(samples: Samples, tmp_path: Path) -> None:
    core = tmp_path / "core"
    shutil.copy(samples.core("a"), core)
    core.chmod(0)
    issues = preflight_held_to_file_modes(samples.exe("a"), core)
    assert [code for code, _ in issues] == [CORE_UNREADABLE]
    assert "not readable by this user" in issues[0][1] and str(core) in issues[0][1]

    program = tmp_path / "prog"
    shutil.copy(samples.exe("a"), program)
    program.chmod(0)
    issues = preflight_held_to_file_modes(program, samples.core("a"))
    assert [code for code, _ in issues] == [PROGRAM_UNREADABLE]
    assert "not readable by this user" in issues[0][1] and str(program) in issues[0][1]


def test_malformed_core_and_cut_program(samples: Samples, tmp_path: Path) -> None:
    core = bytearray(samples.core("a").read_bytes()[: 1 << 20])
    core[54:56] = (10).to_bytes(2, "little")  # e_phentsize: 10-byte program headers
    bad = tmp_path / "core"
    bad.write_bytes(bytes(core))
    result = preflight(samples.exe("a"), bad)
    assert codes(result) == [CORE_MALFORMED]
    assert "program header entries are 10 bytes" in result.issues[0].message

    cut = _cut(samples.exe("a"), tmp_path / "prog", 100_000)  # section headers are at the end
    result = preflight(cut, samples.core("a"))
    assert codes(result) == [PROGRAM_MALFORMED]
    assert "cut short" in result.issues[0].message


def test_program_for_an_unsupported_architecture(samples: Samples, tmp_path: Path) -> None:
    exe = tmp_path / "riscv" / "prog"
    _go_build(GO_B, exe, goarch="riscv64")
    result = preflight(exe, samples.core("a"))
    assert codes(result) == [PROGRAM_UNSUPPORTED_ARCH]
    assert "riscv64" in result.issues[0].message


# ---------------------------------------------------------------------------------------------
# Truncated cores


def test_truncated_inside_the_notes_is_an_error(samples: Samples, tmp_path: Path) -> None:
    core = samples.core("a")
    info = preflight(samples.exe("a"), core).core_info
    assert info is not None
    notes = info.note_segments[0]
    cut = _cut(core, tmp_path / "core", notes.offset + notes.filesz // 2)
    result = preflight(samples.exe("a"), cut)
    assert codes(result) == [CORE_TRUNCATED]
    message = result.issues[0].message
    assert "notes" in message and "ulimit -c unlimited" in message and "LimitCORE=infinity" in message


def test_truncated_inside_the_headers_is_an_error(samples: Samples, tmp_path: Path) -> None:
    for size in (40, 200):
        result = preflight(samples.exe("a"), _cut(samples.core("a"), tmp_path / f"core{size}", size))
        assert codes(result) == [CORE_TRUNCATED], size


def test_truncated_in_the_crashing_threads_stack_is_an_error(samples: Samples, tmp_path: Path) -> None:
    core = samples.core("a")
    info = preflight(samples.exe("a"), core).core_info
    assert info is not None and info.crashing_thread is not None and info.crashing_thread.sp is not None
    sp = info.crashing_thread.sp
    seg = info.segment_at(sp)
    assert seg is not None and seg.filesz > sp - seg.vaddr
    cut = _cut(core, tmp_path / "core", seg.offset + (sp - seg.vaddr) - 4096)
    result = preflight(samples.exe("a"), cut)
    assert codes(result) == [CORE_TRUNCATED]
    assert "stack of the crashing thread" in result.issues[0].message


def test_truncated_only_in_other_memory_is_a_warning(samples: Samples, tmp_path: Path) -> None:
    core = samples.core("a")
    result = preflight(samples.exe("a"), core)
    info = result.core_info
    assert info is not None and info.crashing_thread is not None and info.crashing_thread.sp is not None
    # Cut right after the last byte the checks require: the notes, the executable's segments
    # (program headers from the core) and the crashing thread's stack page.
    sp_seg = info.segment_at(info.crashing_thread.sp)
    exe = result.exe_info
    assert sp_seg is not None and exe is not None and not exe.is_pie
    exe_segments = [
        s for s in info.segments
        if s.filesz and any(e.vaddr < s.vaddr + s.memsz and s.vaddr < e.vaddr + e.memsz for e in exe.segments)
    ]  # fmt: skip
    needed = max(
        max(s.file_end for s in info.note_segments),
        sp_seg.file_end,
        max(s.file_end for s in exe_segments),
    )
    # Else the cut would cut nothing and the test check nothing: the sample must be made otherwise.
    assert needed < info.expected_size, "nothing in this core lies after the parts the checks require"
    cut = _cut(core, tmp_path / "core", needed + (info.expected_size - needed) // 2)
    result = preflight(samples.exe("a"), cut)
    assert codes(result) == [CORE_TRUNCATED_MEMORY]
    assert result.ok
    message = result.issues[0].message
    missing = info.expected_size - cut.stat().st_size
    fraction = missing / info.expected_size
    assert (f"{fraction:.1%}" if fraction >= 0.001 else "less than 0.1%") in message
    assert "can be opened" in message


def test_core_cut_by_the_kernel_at_rlimit_core(samples: Samples) -> None:
    core = samples.core("a_limited")
    result = preflight(samples.exe("a_limited"), core)
    assert result.core_info is not None and result.core_info.missing_bytes > 0
    assert codes(result) == [CORE_TRUNCATED]
    assert "ulimit -c unlimited" in result.issues[0].message


def test_delve_agrees_with_the_truncation_severity(samples: Samples, tmp_path: Path, dlv_path: Path) -> None:
    """A warning-level cut still lets Delve show the crash; an error-level cut does not."""
    core = samples.core("a")
    info = preflight(samples.exe("a"), core).core_info
    assert info is not None and info.crashing_thread is not None and info.crashing_thread.sp is not None
    sp_seg = info.segment_at(info.crashing_thread.sp)
    assert sp_seg is not None
    last = max(s.file_end for s in info.segments if s.filesz)
    warn_cut = _cut(core, tmp_path / "warn", max(sp_seg.file_end, last - 4096))
    sp_page = (info.crashing_thread.sp - sp_seg.vaddr) & ~0xFFF
    error_cut = _cut(core, tmp_path / "error", sp_seg.offset + sp_page)
    assert codes(preflight(samples.exe("a"), warn_cut)) == [CORE_TRUNCATED_MEMORY]
    assert codes(preflight(samples.exe("a"), error_cut)) == [CORE_TRUNCATED]

    script = tmp_path / "cmds"
    script.write_text("bt\nexit\n")

    def delve(core_file: Path) -> str:
        out = subprocess.run(
            [str(dlv_path), "core", str(samples.exe("a")), str(core_file), "--init", str(script),
             "--allow-non-terminal-interactive=true"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        return out.stdout + out.stderr

    assert "main.apply" in delve(warn_cut)
    assert "main.apply" not in delve(error_cut)


# ---------------------------------------------------------------------------------------------
# Compressed cores


def _compress(kind: str, src: Path, dest: Path) -> Path:
    data = src.read_bytes()
    if kind == "zstd":
        # systemd-coredump writes frames with a content checksum.
        dest.write_bytes(zstandard.ZstdCompressor(write_checksum=True).compress(data))
    elif kind == "lz4":
        dest.write_bytes(lz4.frame.compress(data))
    elif kind == "xz":
        dest.write_bytes(lzma.compress(data, preset=0))
    else:
        dest.write_bytes(gzip.compress(data, compresslevel=1))
    return dest


@pytest.mark.parametrize(("kind", "suffix"), [("zstd", ".zst"), ("lz4", ".lz4"), ("xz", ".xz"), ("gzip", ".gz")])
def test_compressed_core_is_decompressed_and_cleaned_up(
    samples: Samples, tmp_path: Path, kind: str, suffix: str
) -> None:
    core = samples.core("a")
    packed = _compress(kind, core, tmp_path / f"core.a.1000{suffix}")
    messages: list[str] = []
    work = tmp_path / "work"
    work.mkdir()
    result = preflight(samples.exe("a"), packed, tmp_dir=work, progress=messages.append)
    assert result.issues == [], result.issues
    out = result.decompressed_core
    assert out is not None and out.is_file() and out.is_relative_to(work)
    assert out.name == "core.a.1000"
    assert result.core_for_delve == out
    assert _sha256(out) == _sha256(core)
    assert messages and messages[0].startswith(f"Decompressing {packed.name} ({kind}")
    result.cleanup()
    assert not out.exists()
    assert list(work.iterdir()) == []
    result.cleanup()  # idempotent


def test_compression_is_detected_by_magic_not_suffix(samples: Samples, tmp_path: Path) -> None:
    packed = _compress("zstd", samples.core("a"), tmp_path / "crash-report.bin")
    with preflight(samples.exe("a"), packed) as result:
        assert result.ok and result.decompressed_core is not None
        out = result.decompressed_core
        assert out.is_file()
    assert not out.exists() and not out.parent.exists()


def test_progress_is_reported_while_decompressing(samples: Samples, tmp_path: Path) -> None:
    from gocore_dap.preflight.compression import Compression, decompress_file

    packed = _compress("zstd", samples.core("a"), tmp_path / "core.zst")
    messages: list[str] = []
    size = decompress_file(packed, Compression.ZSTD, tmp_path / "core", messages.append, report_every=8 << 20)
    assert size == samples.core("a").stat().st_size
    assert len(messages) == size // (8 << 20)
    assert messages[0] == "Decompressing core.zst (zstd): 8 MiB written"


def test_corrupt_zstd_core(samples: Samples, tmp_path: Path) -> None:
    packed = _compress("zstd", samples.core("a"), tmp_path / "core.zst")
    data = bytearray(packed.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    packed.write_bytes(bytes(data))
    work = tmp_path / "work"
    work.mkdir()
    result = preflight(samples.exe("a"), packed, tmp_dir=work)
    assert codes(result) == [CORE_COMPRESSED_CORRUPT]
    assert "zstd-compressed but cannot be decompressed" in result.issues[0].message
    assert result.decompressed_core is None
    assert list(work.iterdir()) == []  # the partial output is gone


@pytest.mark.parametrize("kind", ["zstd", "lz4", "xz", "gzip"])
def test_incomplete_compressed_core(samples: Samples, tmp_path: Path, kind: str) -> None:
    packed = _compress(kind, samples.core("a"), tmp_path / "core.packed")
    packed.write_bytes(packed.read_bytes()[: packed.stat().st_size * 2 // 3])
    result = preflight(samples.exe("a"), packed, tmp_dir=tmp_path)
    assert codes(result) == [CORE_COMPRESSED_CORRUPT]
    assert "incomplete" in result.issues[0].message


def test_no_decompression_when_the_program_is_unusable(samples: Samples, tmp_path: Path) -> None:
    packed = _compress("zstd", samples.core("a"), tmp_path / "core.zst")
    result = preflight(tmp_path / "missing", packed, tmp_dir=tmp_path)
    assert codes(result) == [PROGRAM_MISSING]
    assert result.decompressed_core is None and sorted(tmp_path.iterdir()) == [packed]


def test_decompression_into_a_missing_tmp_dir(samples: Samples, tmp_path: Path) -> None:
    packed = _compress("lz4", samples.core("a"), tmp_path / "core.lz4")
    result = preflight(samples.exe("a"), packed, tmp_dir=tmp_path / "does-not-exist")
    assert codes(result) == [CORE_DECOMPRESS_FAILED]


# ---------------------------------------------------------------------------------------------
# Deployment scenarios


def test_unstripped_original_of_a_stripped_binary_matches(samples: Samples, tmp_path: Path, dlv_path: Path) -> None:
    """Ship `strip`ped, keep the original: the core of the shipped copy opens with the original."""
    require_tool(shutil.which("strip") is not None, "strip (binutils)")
    shipped = tmp_path / "shipped" / "server"
    shipped.parent.mkdir()
    subprocess.run(["strip", "-o", str(shipped), str(samples.exe("a"))], check=True)
    core, _pid = crash(shipped)
    assert core is not None
    assert codes(preflight(shipped, core)) == [PROGRAM_NO_DWARF]
    assert preflight(samples.exe("a"), core).issues == []
    script = tmp_path / "cmds"
    script.write_text("bt\nexit\n")
    out = subprocess.run(
        [str(dlv_path), "core", str(samples.exe("a")), str(core), "--init", str(script),
         "--allow-non-terminal-interactive=true"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "main.apply" in out.stdout


def test_core_without_the_executables_first_page(samples: Samples, tmp_path: Path) -> None:
    core = samples.core("a_nohdr")
    result = preflight(samples.exe("a_nohdr"), core)
    assert result.core_info is not None and result.core_info.exe_image is None
    assert result.issues == []  # same name, same entry point
    # Without a build ID a renamed copy cannot be told from another binary: warn, do not block.
    renamed = tmp_path / "server"
    shutil.copy2(samples.exe("a_nohdr"), renamed)
    result = preflight(renamed, core)
    assert codes(result) == [EXE_NAME_DIFFERS] and result.ok
    assert "no build ID to compare" in result.issues[0].message
    assert "entry point matches" in result.issues[0].message
    # A different program still differs in its entry point.
    result = preflight(samples.exe("b"), core)
    assert codes(result) == [EXE_MISMATCH]
    assert "entry point was" in result.issues[0].message


def test_binary_replaced_while_the_program_ran(samples: Samples, tmp_path: Path) -> None:
    exe = tmp_path / "svc" / "svc"
    exe.parent.mkdir()
    shutil.copy2(samples.exe("a"), exe)

    def redeploy() -> None:
        exe.unlink()
        shutil.copy2(samples.exe("a_noopt"), exe)

    core, _pid = crash(exe, while_running=redeploy)
    assert core is not None
    result = preflight(exe, core)
    assert result.core_info is not None and result.core_info.exe_deleted
    assert result.core_info.exe_path == str(exe)
    assert codes(result) == [EXE_MISMATCH]
    assert "deleted or replaced on disk while the process ran" in result.issues[0].message


# ---------------------------------------------------------------------------------------------
# Speed


@pytest.fixture(scope="session")
def big_core(samples: Samples, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    mib = int(os.environ.get("GOCORE_PREFLIGHT_BIG_MIB", "1024"))
    exe = tmp_path_factory.mktemp("big") / "big"
    _go_build(GO_BIG, exe)
    core, pid = crash(exe, env={"GOCORE_BIG_MIB": str(mib)})
    assert core is not None, f"the big sample ({mib} MiB) crashed but left no core"
    yield Sample(exe, core, pid)
    core.unlink()  # a GB of test leftovers is not welcome in pytest's kept temp dirs


def _bytes_read_by_this_process() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("/proc/self/io has no rchar")


def test_preflight_on_a_big_core_reads_only_headers_and_notes(big_core: Sample) -> None:
    # Speed is the benchmark's business; what makes preflight cheap on any core is that it reads the
    # headers, the notes and a few pages, never the memory dump: count the bytes it reads.
    assert big_core.core is not None
    size = big_core.core.stat().st_size
    before = _bytes_read_by_this_process()
    start = time.perf_counter()
    result = preflight(big_core.exe, big_core.core)
    elapsed = time.perf_counter() - start
    read = _bytes_read_by_this_process() - before
    print(f"\npreflight on a {size / (1 << 20):,.0f} MiB core: read {read / 1024:,.0f} KiB in {elapsed * 1000:.1f} ms")
    assert result.issues == []
    assert read < 16 << 20, f"preflight read {read:,} bytes of a {size:,}-byte core"


def test_codes_are_documented() -> None:
    import gocore_dap.preflight.checks as checks

    assert checks.__doc__ is not None
    for code in ALL_CODES:
        assert f"``{code}``" in checks.__doc__
    assert len(set(ALL_CODES)) == len(ALL_CODES)
