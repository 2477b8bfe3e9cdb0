"""Build the crash corpus: compile a program of protocol-fixtures/programs, run it until it dumps core.

Each program directory holds main.go, go.mod and manifest.json (schema in protocol-fixtures/programs/
README.md). `build()` compiles it with the chosen Go toolchain, runs it in a fresh working directory with
GOTRACEBACK=crash and an unlimited core size, and keeps the binary, the core and the program's stdout and
stderr in a content-addressed cache:

    <repo>/.cache/corpus/<go version>/<name>-<hash12>/{binary,core,stderr.txt,stdout.txt,meta.json}

The hash covers the program's files, the effective parameters, the build flags, the Go version and the
source directory (the binary's DWARF names the real source files in the repo, so a moved checkout needs
its own build). Two build options make production-like variants of a program (each its own entry):
`trimpath=True` builds with `-trimpath`; `strip="split"` keeps the DWARF in `debuginfo/binary.debug`
(`objcopy --only-keep-debug`), strips the binary (`objcopy --strip-debug --add-gnu-debuglink`) and runs the
stripped one, and `strip="s-w"` links with `-ldflags=-s -w` (no DWARF anywhere).

The binary is compiled in a temporary directory renamed to the entry's name before the program runs (so the
core names the binary where it stays); an entry counts as built only once its meta.json is in place, written
last by an atomic rename. A per-entry lock file serialises builders.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Literal

import attrs

__all__ = [
    "CORE_PATTERN_PATH",
    "STRIP_MODES",
    "CorpusError",
    "CrashArtifact",
    "Manifest",
    "build",
    "cache_key",
    "core_glob",
    "default_cache_root",
    "effective_params",
    "list_programs",
    "load_manifest",
    "program_argv",
    "program_env",
    "programs_dir",
    "repo_root",
]

# Bump when the layout of a cache entry or the way programs are built or run changes.
BUILDER_VERSION = 2

CORE_PATTERN_PATH = Path("/proc/sys/kernel/core_pattern")
CORE_USES_PID_PATH = Path("/proc/sys/kernel/core_uses_pid")

DEFAULT_BUILD_TIMEOUT = 900.0
READY_LINE = "READY"
_POLL_INTERVAL = 0.02
_TOOLCHAIN_RE = re.compile(r"^(local|go\d+(\.\d+)*((rc|beta)\d+)?)$")
_PARAM_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# Signals whose default action dumps core (signal(7)).
_CORE_SIGNALS = frozenset(
    {
        signal.SIGABRT,
        signal.SIGBUS,
        signal.SIGFPE,
        signal.SIGILL,
        signal.SIGQUIT,
        signal.SIGSEGV,
        signal.SIGSYS,
        signal.SIGTRAP,
        signal.SIGXCPU,
        signal.SIGXFSZ,
    }
)
# Settings of the caller's environment that would change how the program is built or behaves.
_SCRUBBED_ENV = (
    "GODEBUG",
    "GOMAXPROCS",
    "GOGC",
    "GOMEMLIMIT",
    "GOTRACEBACK",
    "GOFLAGS",
    "GOWORK",
    "GOOS",
    "GOARCH",
    "GOAMD64",
    "GOEXPERIMENT",
    "CGO_ENABLED",
    "CGO_CFLAGS",
    "CGO_LDFLAGS",
)


Strip = Literal["split", "s-w"]
STRIP_MODES: tuple[Strip, ...] = ("split", "s-w")
# Where strip="split" keeps the debug file: not next to the binary (nor in its .debug/), where Delve would
# find it by itself, so that tests prove the other ways of handing it over.
SPLIT_DEBUG_DIR = "debuginfo"


class CorpusError(RuntimeError):
    """A program could not be built, did not crash as its manifest says, or left no usable core."""


@attrs.frozen
class Manifest:
    """A program's manifest.json, validated."""

    description: str
    gcflags: str | None
    ldflags: str | None
    cgo: bool
    env: Mapping[str, str]
    params: Mapping[str, str]
    param_passing: str  # "env" | "args"
    trigger: str  # "self" | "sigabrt_after_ready"
    expect_kind: str  # "panic" | "fatal error" | "signal"
    expect_first_line: str
    raw: Mapping[str, Any]


@attrs.frozen
class CrashArtifact:
    """A built program and the core it dumped, all inside one cache directory (`build_dir`)."""

    name: str
    go_version: str  # "go1.26.8", as the toolchain used reports it
    binary: Path
    core: Path
    stderr: Path
    stdout: Path
    source_dir: Path
    build_dir: Path
    params: Mapping[str, str]
    manifest: Mapping[str, Any]
    exit_signal: int | None
    trimpath: bool = False
    strip: Strip | None = None
    # strip="split": the DWARF kept apart from the stripped binary (named by its .gnu_debuglink).
    debug_file: Path | None = None

    def stderr_text(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")


# --- locations -----------------------------------------------------------------------------------------


def repo_root() -> Path:
    import gocore_dap

    return Path(gocore_dap.__file__).resolve().parents[2]


def programs_dir() -> Path:
    return repo_root() / "protocol-fixtures" / "programs"


def default_cache_root() -> Path:
    return repo_root() / ".cache" / "corpus"


def list_programs() -> list[str]:
    """Names of the corpus programs: the directories of programs_dir() that have a manifest.json."""
    root = programs_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "manifest.json").is_file())


# --- manifests and parameters --------------------------------------------------------------------------


def _string_map(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise CorpusError(f"{what} must be an object of strings, not {value!r}")
    return dict(value)


def load_manifest(source_dir: Path) -> Manifest:
    path = source_dir / "manifest.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CorpusError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise CorpusError(f"{path}: the manifest must be a JSON object")
    where = str(path)

    def field(key: str, types: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in raw:
            if default is ...:
                raise CorpusError(f"{where}: missing {key!r}")
            return default
        value = raw[key]
        if not isinstance(value, types):
            raise CorpusError(f"{where}: {key!r} has the wrong type: {value!r}")
        return value

    params = _string_map(field("params", dict, {}), f"{where}: params")
    for name in params:
        if not _PARAM_NAME_RE.match(name):
            raise CorpusError(f"{where}: parameter name {name!r} must match {_PARAM_NAME_RE.pattern}")
    param_passing = field("param_passing", str, "args")
    if param_passing not in ("env", "args"):
        raise CorpusError(f"{where}: param_passing must be 'env' or 'args', not {param_passing!r}")
    trigger = field("trigger", str, "self")
    if trigger not in ("self", "sigabrt_after_ready"):
        raise CorpusError(f"{where}: trigger must be 'self' or 'sigabrt_after_ready', not {trigger!r}")
    expect = field("expect", dict)
    kind = expect.get("kind")
    if kind not in ("panic", "fatal error", "signal"):
        raise CorpusError(f"{where}: expect.kind must be 'panic', 'fatal error' or 'signal', not {kind!r}")
    first_line = expect.get("message_first_line")
    if not isinstance(first_line, str) or not first_line:
        raise CorpusError(f"{where}: expect.message_first_line must be a non-empty string")
    return Manifest(
        description=field("description", str),
        gcflags=field("gcflags", (str, type(None)), None),
        ldflags=field("ldflags", (str, type(None)), None),
        cgo=field("cgo", bool, False),
        env=_string_map(field("env", dict, {}), f"{where}: env"),
        params=params,
        param_passing=param_passing,
        trigger=trigger,
        expect_kind=kind,
        expect_first_line=first_line,
        raw=raw,
    )


def effective_params(manifest: Manifest, overrides: Mapping[str, str] | None) -> dict[str, str]:
    """The manifest's default parameters with `overrides` applied; unknown names are an error."""
    params = dict(manifest.params)
    for key, value in (overrides or {}).items():
        if key not in params:
            known = ", ".join(sorted(params)) or "none"
            raise CorpusError(f"unknown parameter {key!r} (this program takes: {known})")
        params[key] = str(value)
    return params


def program_argv(binary: Path, manifest: Manifest, params: Mapping[str, str]) -> list[str]:
    """argv of the program: `param_passing: "args"` passes each parameter as `-name=value` (Go's flag
    syntax), sorted by name."""
    argv = [str(binary)]
    if manifest.param_passing == "args":
        argv += [f"-{key}={params[key]}" for key in sorted(params)]
    return argv


def program_env(manifest: Manifest, params: Mapping[str, str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment of the program: the caller's minus Go runtime knobs, GOTRACEBACK=crash, the manifest's
    env, and, for `param_passing: "env"`, each parameter as an upper-cased variable (goroutines ->
    GOROUTINES)."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in _SCRUBBED_ENV}
    env.update(manifest.env)
    env["GOTRACEBACK"] = "crash"
    if manifest.param_passing == "env":
        env.update({key.upper(): value for key, value in params.items()})
    return env


# --- toolchains and the cache key ------------------------------------------------------------------------


@attrs.frozen
class _GoInfo:
    version: str
    goos: str
    goarch: str


_go_info_cache: dict[str | None, _GoInfo] = {}


def _go_executable() -> str:
    go = shutil.which("go")
    if go is None:
        raise CorpusError("the `go` command is not on PATH; install Go 1.25 or newer")
    return go


def _toolchain_env(toolchain: str | None, *, cgo: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["GOTOOLCHAIN"] = toolchain or "local"
    env["GOFLAGS"] = "-buildvcs=false"
    env["GOWORK"] = "off"
    env["CGO_ENABLED"] = "1" if cgo else "0"
    return env


def _go_info(toolchain: str | None) -> _GoInfo:
    cached = _go_info_cache.get(toolchain)
    if cached is not None:
        return cached
    if toolchain is not None and not _TOOLCHAIN_RE.match(toolchain):
        raise CorpusError(f"not a Go toolchain name: {toolchain!r} (expected e.g. 'go1.25.0' or 'local')")
    try:
        proc = subprocess.run(
            [_go_executable(), "env", "-json", "GOVERSION", "GOOS", "GOARCH"],
            env=_toolchain_env(toolchain, cgo=False),
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            timeout=DEFAULT_BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CorpusError(f"`go env` with GOTOOLCHAIN={toolchain or 'local'} timed out") from exc
    if proc.returncode != 0:
        raise CorpusError(f"cannot use Go toolchain {toolchain or 'local'}: {proc.stderr.strip()}")
    values = json.loads(proc.stdout)
    info = _GoInfo(values["GOVERSION"], values["GOOS"], values["GOARCH"])
    _go_info_cache[toolchain] = info
    return info


def _program_files(source_dir: Path) -> list[Path]:
    return sorted(
        path
        for path in source_dir.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(source_dir).parts)
    )


def cache_key(
    source_dir: Path,
    manifest: Manifest,
    params: Mapping[str, str],
    go_version: str,
    goos: str = "linux",
    goarch: str = "amd64",
    *,
    trimpath: bool = False,
    strip: Strip | None = None,
) -> str:
    """Hex SHA-256 over everything that decides what the binary and its crash look like."""
    digest = hashlib.sha256()

    def feed(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    feed("builder", str(BUILDER_VERSION).encode())
    feed("source_dir", str(source_dir.resolve()).encode())
    for path in _program_files(source_dir):
        feed("file:" + path.relative_to(source_dir).as_posix(), path.read_bytes())
    feed("params", json.dumps(dict(params), sort_keys=True).encode())
    feed("flags", json.dumps([manifest.gcflags, manifest.ldflags, manifest.cgo]).encode())
    feed("env", json.dumps(dict(manifest.env), sort_keys=True).encode())
    feed("go", f"{go_version} {goos}/{goarch}".encode())
    if trimpath or strip is not None:  # fed only when set: the keys of plain builds stay as they were
        feed("variant", json.dumps([trimpath, strip]).encode())
    return digest.hexdigest()


# --- cores -------------------------------------------------------------------------------------------------


def read_core_pattern() -> str:
    try:
        return CORE_PATTERN_PATH.read_text().strip()
    except OSError:
        return "core"


def _core_uses_pid() -> bool:
    try:
        return CORE_USES_PID_PATH.read_text().strip() not in ("", "0")
    except OSError:
        return False


_SETUP_HINT = (
    "set it to a plain file name, e.g. `sysctl -w kernel.core_pattern=core` "
    "(or `echo core > /proc/sys/kernel/core_pattern`)"
)


def _check_core_pattern(pattern: str) -> None:
    if pattern.startswith("|"):
        raise CorpusError(
            f"kernel.core_pattern is {pattern!r}: cores are piped to a handler (systemd-coredump, "
            f"apport, ...) instead of being written to a file the builder can pick up; {_SETUP_HINT}"
        )


def core_glob(pattern: str, *, cwd: Path, pid: int, comm: str, uses_pid: bool = False) -> list[str]:
    """Glob patterns for the core file the kernel writes for process `pid`, per core(5).

    %p becomes the pid, %e/%f the executable's name (comm, at most 15 bytes), %% a percent sign; any other
    specifier (%P, the pid in the initial namespace, included) matches anything.
    A relative pattern is relative to the crashing process's working directory. Without %p and with
    core_uses_pid set, the kernel appends ".PID".
    """
    parts: list[str] = []
    has_pid = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "%" and i + 1 < len(pattern):
            spec = pattern[i + 1]
            if spec == "p":
                parts.append(str(pid))
                has_pid = True
            elif spec in "ef":
                parts.append(_glob_escape(comm[:15]))
            elif spec == "%":
                parts.append("%")
            else:
                parts.append("*")
            i += 2
            continue
        parts.append(_glob_escape(char))
        i += 1
    joined = "".join(parts)
    base = joined if joined.startswith("/") else str(cwd / joined) if joined else str(cwd / "core")
    candidates = [base]
    if not has_pid:
        candidates.append(f"{base}.{pid}")
        if uses_pid:
            candidates.reverse()
    return candidates


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _find_core(patterns: list[str], started: float) -> Path | None:
    import glob

    for pattern in patterns:
        matches = [Path(m) for m in glob.glob(pattern)]
        fresh = [m for m in matches if m.is_file() and m.stat().st_mtime >= started - 1]
        if fresh:
            return max(fresh, key=lambda m: m.stat().st_mtime)
    return None


def _check_core_file(core: Path) -> None:
    size = core.stat().st_size
    if size == 0:
        raise CorpusError(f"the core file {core} is empty (core size limit or coredump_filter?)")
    with core.open("rb") as handle:
        header = handle.read(18)
    if header[:4] != b"\x7fELF":
        raise CorpusError(f"{core} is not an ELF file")
    byteorder: Any = "little" if header[5] == 1 else "big"
    if int.from_bytes(header[16:18], byteorder) != 4:  # ET_CORE
        raise CorpusError(f"{core} is an ELF file but not a core dump")


def _raise_core_limit() -> None:
    """preexec_fn: lift RLIMIT_CORE in the child only; the hard limit can be raised only with privilege."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        _, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


# --- processes -----------------------------------------------------------------------------------------


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text if len(text) <= limit else "...\n" + text[-limit:]


_GO_LINE_RE = re.compile(r"^go\s+(\d+)\.(\d+)(?:\.\d+)?\s*$", re.MULTILINE)
_GO_VERSION_RE = re.compile(r"^go(\d+)\.(\d+)")


def _modfile_for(source_dir: Path, go_version: str, scratch: Path) -> Path | None:
    """A copy of the program's go.mod whose `go` line names `go_version`'s minor when that is older than the
    line (go1.21+ refuses a go.mod newer than itself), or None when go.mod needs no change. The programs use
    nothing newer than what the oldest Go the project supports has; go.mod says `go 1.25` for today's Go."""
    text = (source_dir / "go.mod").read_text(encoding="utf-8")
    line, version = _GO_LINE_RE.search(text), _GO_VERSION_RE.match(go_version)
    if line is None or version is None:
        return None
    wanted = (int(version.group(1)), int(version.group(2)))
    if wanted >= (int(line.group(1)), int(line.group(2))):
        return None
    modfile = scratch / "build.mod"  # -modfile wants a name ending in .mod
    modfile.write_text(_GO_LINE_RE.sub(f"go {wanted[0]}.{wanted[1]}", text, count=1), encoding="utf-8")
    return modfile


def _go_build(
    source_dir: Path,
    output: Path,
    manifest: Manifest,
    toolchain: str | None,
    timeout: float,
    log: Path,
    trimpath: bool = False,
    strip: Strip | None = None,
    modfile: Path | None = None,
) -> list[str]:
    argv = [_go_executable(), "build", "-o", str(output)]
    if modfile is not None:
        argv.append(f"-modfile={modfile}")
    if trimpath:
        argv.append("-trimpath")
    if manifest.gcflags:
        argv.append(f"-gcflags={manifest.gcflags}")
    ldflags = " ".join(f for f in (manifest.ldflags, "-s -w" if strip == "s-w" else None) if f)
    if ldflags:
        argv.append(f"-ldflags={ldflags}")
    argv.append(".")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=source_dir,
            env=_toolchain_env(toolchain, cgo=manifest.cgo),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise CorpusError(f"`{' '.join(argv)}` timed out after {timeout:.0f}s") from None
    if code != 0:
        raise CorpusError(f"`{' '.join(argv)}` in {source_dir} failed:\n{_tail(log)}")
    return argv


def _split_debug_info(binary: Path, timeout: float) -> Path:
    """What a release pipeline does: keep the DWARF in a file of its own, strip the shipped binary and
    record the debug file's name and CRC in it (.gnu_debuglink). Returns the debug file."""
    objcopy = shutil.which("objcopy")
    if objcopy is None:
        raise CorpusError("strip='split' needs objcopy (binutils); install it, e.g. `apt-get install binutils`")
    debug = binary.parent / SPLIT_DEBUG_DIR / f"{binary.name}.debug"
    debug.parent.mkdir()
    for argv in (
        [objcopy, "--only-keep-debug", str(binary), str(debug)],
        [objcopy, "--strip-debug", f"--add-gnu-debuglink={debug}", str(binary)],
    ):
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise CorpusError(f"`{' '.join(argv)}` timed out") from None
        if proc.returncode != 0:
            raise CorpusError(f"`{' '.join(argv)}` failed: {proc.stderr.strip()}")
    return debug


def _stdout_has_ready(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(line.split(maxsplit=1)[:1] == [READY_LINE] for line in text.splitlines())


@attrs.frozen
class _RunResult:
    pid: int
    returncode: int
    started: float


def _run_program(
    argv: list[str], env: Mapping[str, str], run_dir: Path, stdout: Path, stderr: Path, trigger: str, timeout: float
) -> _RunResult:
    deadline = time.monotonic() + timeout
    started = time.time()
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(
            argv,
            cwd=run_dir,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            preexec_fn=_raise_core_limit,
            start_new_session=True,
        )
        try:
            if trigger == "sigabrt_after_ready":
                while not _stdout_has_ready(stdout):
                    if proc.poll() is not None:
                        raise CorpusError(
                            f"{argv[0]} exited (status {proc.returncode}) before printing {READY_LINE}:\n"
                            f"{_tail(stderr)}"
                        )
                    if time.monotonic() > deadline:
                        raise CorpusError(f"{argv[0]} did not print {READY_LINE} within {timeout:.0f}s")
                    time.sleep(_POLL_INTERVAL)
                os.kill(proc.pid, signal.SIGABRT)
            try:
                code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise CorpusError(
                    f"{argv[0]} was still running after {timeout:.0f}s and was killed:\n{_tail(stderr)}"
                ) from None
        finally:
            if proc.poll() is None:
                _kill_group(proc)
    return _RunResult(proc.pid, code, started)


# --- build ---------------------------------------------------------------------------------------------


def _artifact_from_dir(build_dir: Path) -> CrashArtifact:
    meta = json.loads((build_dir / "meta.json").read_text(encoding="utf-8"))
    variant = meta.get("variant", {})
    debug_file = build_dir / SPLIT_DEBUG_DIR / "binary.debug"
    return CrashArtifact(
        name=meta["name"],
        go_version=meta["go_version"],
        binary=build_dir / "binary",
        core=build_dir / "core",
        stderr=build_dir / "stderr.txt",
        stdout=build_dir / "stdout.txt",
        source_dir=Path(meta["source_dir"]),
        build_dir=build_dir,
        params=meta["params"],
        manifest=meta["manifest"],
        exit_signal=meta["exit_signal"],
        trimpath=bool(variant.get("trimpath", False)),
        strip=variant.get("strip"),
        debug_file=debug_file if debug_file.is_file() else None,
    )


def _complete(build_dir: Path) -> bool:
    """An entry is complete once its meta.json exists: it is written last, by an atomic rename."""
    return all((build_dir / name).is_file() for name in ("meta.json", "binary", "core", "stderr.txt", "stdout.txt"))


@contextmanager
def _entry_lock(version_root: Path, entry_name: str) -> Iterator[None]:
    """Serialise builders of the same entry (several engineers and benches share one cache)."""
    version_root.mkdir(parents=True, exist_ok=True)
    with (version_root / f".{entry_name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str) -> None:
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(text, encoding="utf-8")
    os.replace(scratch, path)


def build(
    name: str,
    *,
    toolchain: str | None = None,
    params: Mapping[str, str] | None = None,
    cache_root: Path | None = None,
    timeout: float = 120,
    build_timeout: float = DEFAULT_BUILD_TIMEOUT,
    trimpath: bool = False,
    strip: Strip | None = None,
    programs_root: Path | None = None,
) -> CrashArtifact:
    """Build program `name` with `toolchain` (None: the local Go, GOTOOLCHAIN=local; "go1.25.0":
    GOTOOLCHAIN=go1.25.0), run it until it dumps core, and return the cached artifact.

    `timeout` bounds the run of the program (it is killed after that), `build_timeout` the compilation.
    `trimpath` and `strip` build a production-like variant (see the module's docstring). `programs_root`
    is where program `name` lives when not in programs_dir() (e.g. protocol-fixtures/module-programs, whose
    programs have module dependencies and so stay out of the corpus every suite runs).
    A cache hit returns at once. The binary is compiled into a temporary directory that is renamed to the
    entry's final name before the program runs, so the core records the path the binary keeps; the entry
    counts as built only once its meta.json has been renamed into place, and a failed build removes it.
    """
    root = programs_root or programs_dir()
    source_dir = root / name
    if not (source_dir / "manifest.json").is_file():
        known = ", ".join(sorted(p.name for p in root.iterdir() if (p / "manifest.json").is_file()))
        raise CorpusError(f"no corpus program {name!r} in {root} (known: {known})")
    if strip is not None and strip not in STRIP_MODES:
        raise CorpusError(f"strip must be one of {', '.join(STRIP_MODES)} or None, not {strip!r}")
    manifest = load_manifest(source_dir)
    effective = effective_params(manifest, params)
    info = _go_info(toolchain)
    key = cache_key(
        source_dir, manifest, effective, info.version, info.goos, info.goarch, trimpath=trimpath, strip=strip
    )
    version_root = (cache_root or default_cache_root()) / info.version
    entry_name = f"{name}-{key[:12]}"
    final = version_root / entry_name
    if _complete(final):
        return _artifact_from_dir(final)

    _check_core_pattern(read_core_pattern())
    with _entry_lock(version_root, entry_name):
        if _complete(final):  # built by someone else while we waited for the lock
            return _artifact_from_dir(final)
        if final.exists():
            shutil.rmtree(final)  # left by a build that died; the lock says nobody is writing it
        scratch = Path(tempfile.mkdtemp(prefix=f".tmp-{entry_name}-", dir=version_root))
        try:
            modfile = _modfile_for(source_dir, info.version, scratch)
            build_argv = _go_build(
                source_dir,
                scratch / "binary",
                manifest,
                toolchain,
                build_timeout,
                scratch / "build.log",
                trimpath,
                strip,
                modfile,
            )
            (scratch / "build.log").unlink()
            if modfile is not None:
                modfile.unlink()
                build_argv = [a for a in build_argv if not a.startswith("-modfile=")]
            if strip == "split":
                _split_debug_info(scratch / "binary", build_timeout)
            scratch.rename(final)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        build_argv[build_argv.index("-o") + 1] = str(final / "binary")
        try:
            _run_and_record(
                name,
                final,
                source_dir,
                manifest,
                effective,
                info,
                key,
                toolchain,
                build_argv,
                timeout,
                {"trimpath": trimpath, "strip": strip},
            )
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
    return _artifact_from_dir(final)


def _run_and_record(
    name: str,
    entry: Path,
    source_dir: Path,
    manifest: Manifest,
    params: Mapping[str, str],
    info: _GoInfo,
    key: str,
    toolchain: str | None,
    build_argv: list[str],
    timeout: float,
    variant: Mapping[str, Any],
) -> None:
    binary = entry / "binary"
    run_dir = entry / "run"
    run_dir.mkdir()
    argv = program_argv(binary, manifest, params)
    env = program_env(manifest, params)
    stdout, stderr = entry / "stdout.txt", entry / "stderr.txt"
    result = _run_program(argv, env, run_dir, stdout, stderr, manifest.trigger, timeout)

    exit_signal = -result.returncode if result.returncode < 0 else None
    if exit_signal is None:
        raise CorpusError(f"{name} exited with status {result.returncode} instead of crashing:\n{_tail(stderr)}")
    pattern = read_core_pattern()
    candidates = core_glob(pattern, cwd=run_dir, pid=result.pid, comm=binary.name, uses_pid=_core_uses_pid())
    found = _find_core(candidates, result.started)
    if found is None:
        soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        why = (
            f"{name} died of signal {exit_signal} but left no core (looked for {candidates}); "
            f"kernel.core_pattern is {pattern!r}, RLIMIT_CORE of this process is {soft}/{hard}"
        )
        if exit_signal not in _CORE_SIGNALS:
            why += f"; signal {exit_signal} does not dump core"
        raise CorpusError(f"{why}; {_SETUP_HINT}")
    shutil.move(str(found), entry / "core")
    _check_core_file(entry / "core")

    if manifest.expect_first_line not in stderr.read_text(encoding="utf-8", errors="replace"):
        raise CorpusError(
            f"{name}: stderr does not contain the manifest's expected line "
            f"{manifest.expect_first_line!r}:\n{_tail(stderr)}"
        )
    shutil.rmtree(run_dir)
    passed_env = set(manifest.env) | {"GOTRACEBACK"}
    if manifest.param_passing == "env":
        passed_env |= {k.upper() for k in params}
    meta = {
        "name": name,
        "go_version": info.version,
        "goos": info.goos,
        "goarch": info.goarch,
        "toolchain": toolchain or "local",
        "hash": key,
        "source_dir": str(source_dir),
        "params": dict(params),
        "manifest": dict(manifest.raw),
        "exit_signal": exit_signal,
        "pid": result.pid,
        "core_found_as": found.name,
        "build_argv": build_argv,
        "variant": dict(variant),
        "argv": argv,
        "env": {k: env[k] for k in sorted(passed_env)},
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_atomically(entry / "meta.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
