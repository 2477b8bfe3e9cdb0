"""Install Delve releases with `go install`: on first use, `gocore-dap install-delve`, scripts/setup.sh.

Each release goes into its own folder (`locate.release_dir`), so releases for different Go versions live
side by side. An install builds into a staging folder beside the destination and moves `dlv` into place
only once `dlv version` confirms it, under a lock file, so concurrent installs (two editor sessions, a
report and setup.sh) build once and nobody ever sees a half-written or wrong dlv.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import gocore_dap
from gocore_dap.backends.delve.errors import DelveUnavailable
from gocore_dap.backends.delve.locate import dlv_version, installed_dlv, release_dir, version_matches
from gocore_dap.backends.delve.releases import (
    RELEASES,
    DelveRelease,
    GoTooOld,
    UnknownGoVersion,
    parse_go_version,
    pick_release,
    release_named,
)

__all__ = [
    "DELVE_PACKAGE",
    "DelveInstallError",
    "Progress",
    "default_dest",
    "ensure_release",
    "install_delve",
    "manual_install_hint",
    "run_install_delve",
]

DELVE_PACKAGE = "github.com/go-delve/delve/cmd/dlv"

# progress(fraction in [0, 1] or None when unknown, text): what a long install tells the user.
Progress = Callable[[float | None, str], None]

# Building Delve from a cold module and build cache takes 15-50 s on two cores; a proxy that hangs should
# still end in an error rather than a stuck editor or CI job.
_INSTALL_TIMEOUT_S = 30 * 60
_OUTPUT_TAIL_LINES = 25
# Environment that would build a dlv for another machine or let the caller's project steer the build.
_BUILD_ENV_DROPPED = ("GOOS", "GOARCH", "GOFLAGS", "GOWORK")


class DelveInstallError(DelveUnavailable):
    """Delve could not be installed; the message says why and the exact command to run."""


def default_dest(version: str = gocore_dap.DELVE_VERSION) -> Path:
    """Where `install-delve` puts release `version`: the folder gocore-dap looks in for it."""
    return release_dir(version)


def manual_install_hint(version: str, dest_dir: Path | None = None) -> str:
    """The commands that install `version` by hand, for error messages."""
    dest = (dest_dir or release_dir(version)).expanduser().absolute()
    return f"`gocore-dap install-delve --release {version}`, or `GOBIN={dest} go install {DELVE_PACKAGE}@{version}`"


def _tail(text: str, lines: int = _OUTPUT_TAIL_LINES) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in kept) if kept else "    (no output)"


def _run_streaming(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    on_line: Callable[[str], None],
    cancel: threading.Event | None,
    timeout: float,
) -> tuple[int | None, str]:
    """Run `command`, passing each output line to `on_line`; (exit code or None if ended early, output).

    The process (and whatever it started: go runs compile and link) is killed as a group when `cancel`
    is set or `timeout` passes.
    """
    process = subprocess.Popen(
        list(command),
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    ended_early = threading.Event()
    finished = threading.Event()

    def guard() -> None:
        deadline = time.monotonic() + timeout
        while not finished.is_set():
            if (cancel is not None and cancel.is_set()) or time.monotonic() > deadline:
                ended_early.set()
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                return
            finished.wait(0.1)

    watcher = threading.Thread(target=guard, name="delve-install-guard", daemon=True)
    watcher.start()
    output: deque[str] = deque(maxlen=200)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if line.strip():
                on_line(line.rstrip())
        code = process.wait()
    finally:
        finished.set()
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        watcher.join()
    return (None if ended_early.is_set() else code), "".join(output)


def install_delve(
    dest_dir: Path,
    version: str = gocore_dap.DELVE_VERSION,
    *,
    go: str = "go",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Build Delve `version` with `go install` and put it at `dest_dir/dlv`; return that path.

    go builds into a temporary folder beside the destination and the result replaces `dest_dir/dlv` only once
    `dlv version` confirms it, so a failed or interrupted install never leaves a broken or wrong dlv behind.
    """
    hint = manual_install_hint(version, dest_dir)
    go_path = shutil.which(go)
    if go_path is None:
        raise DelveInstallError(
            f"Go is needed to build Delve {version}, but {go!r} was not found"
            + (" on PATH" if os.sep not in go else "")
            + f". Install Go (https://go.dev/doc/install) and run {hint}; "
            'or point "dlvPath" / GOCORE_DAP_DLV at an existing dlv.'
        )

    dest_dir = dest_dir.expanduser().absolute()  # GOBIN must be absolute
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".dlv-install-", dir=dest_dir))
    except OSError as exc:
        raise DelveInstallError(f"Cannot create the install folder {dest_dir}: {exc}") from exc

    def say(fraction: float | None, text: str) -> None:
        if progress is not None:
            progress(fraction, text)

    try:
        env = {k: v for k, v in os.environ.items() if k not in _BUILD_ENV_DROPPED}
        env["GOBIN"] = str(staging)
        command = [go_path, "install", f"{DELVE_PACKAGE}@{version}"]
        say(0.0, f"installing Delve {version} into {dest_dir} (go install, 10-60 s)")
        try:
            code, output = _run_streaming(
                command,
                env=env,
                cwd=staging,  # no go.mod or go.work of the caller's may choose the toolchain
                on_line=lambda line: say(None, line),
                cancel=cancel,
                timeout=_INSTALL_TIMEOUT_S,
            )
        except OSError as exc:
            raise DelveInstallError(f"Cannot run {go_path}: {exc}") from exc
        if code is None:
            if cancel is not None and cancel.is_set():
                raise DelveInstallError(f"The install of Delve {version} was cancelled; run {hint}.")
            raise DelveInstallError(
                f"`go install {DELVE_PACKAGE}@{version}` did not finish within {_INSTALL_TIMEOUT_S} s; run {hint}."
            )
        if code != 0:
            raise DelveInstallError(
                f"`go install {DELVE_PACKAGE}@{version}` failed (exit code {code}). "
                f"Last lines of go's output:\n{_tail(output)}\n"
                "Check the network access to the Go module proxy (GOPROXY) and that Go is recent enough, "
                f'then run {hint}; or point "dlvPath" / GOCORE_DAP_DLV at a Delve {version} built elsewhere.'
            )

        built = staging / "dlv"
        if not built.is_file():
            raise DelveInstallError(
                f"`go install {DELVE_PACKAGE}@{version}` succeeded but produced no dlv in {staging}. "
                f"go's output:\n{_tail(output)}"
            )
        reported = dlv_version(built)
        if not version_matches(reported, version):
            raise DelveInstallError(
                f"The dlv built by `go install {DELVE_PACKAGE}@{version}` reports version {reported!r} "
                f"(`{built} version`), expected {version.removeprefix('v')}."
            )

        target = dest_dir / "dlv"
        os.replace(built, target)
        say(1.0, f"installed Delve {version} at {target}")
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def _install_lock(dest_dir: Path, version: str, progress: Progress | None) -> Iterator[None]:
    """One installer per release at a time, across processes (the lock file sits beside the release's
    folder, which an install creates and fills)."""
    try:
        dest_dir.parent.mkdir(parents=True, exist_ok=True)
        handle = (dest_dir.parent / f".install-{dest_dir.name}.lock").open("a")
    except OSError as exc:
        raise DelveInstallError(f"Cannot create the install folder {dest_dir.parent}: {exc}") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if progress is not None:
                progress(None, f"waiting for another install of Delve {version} to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_release(
    release: DelveRelease | str,
    *,
    env: Mapping[str, str] | None = None,
    go: str = "go",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """The installed dlv of `release`, installing it first if it is missing (blocking: run it in a thread
    from async code). Raises DelveInstallError with the command to run by hand when that fails."""
    version = release if isinstance(release, str) else release.version
    found = installed_dlv(version, env=env)
    if found is not None:
        return found
    dest_dir = release_dir(version, env=env)
    with _install_lock(dest_dir, version, progress):
        found = installed_dlv(version, env=env)  # installed by whoever held the lock before us
        if found is not None:
            return found
        return install_delve(dest_dir, version, go=go, progress=progress, cancel=cancel)


# --- the command ---------------------------------------------------------------------------------------------


def _local_go_version(go: str) -> str | None:
    go_path = shutil.which(go)
    if go_path is None:
        return None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            [go_path, "env", "GOVERSION"],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            cwd=tempfile.gettempdir(),
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return None


def releases_to_install(
    *, releases: Sequence[str] = (), go_versions: Sequence[str] = (), everything: bool = False, go: str = "go"
) -> list[str]:
    """The versions `install-delve` installs; ValueError with a usage message for a bad argument.

    Nothing named: the release for the Go on PATH (the one its own programs' cores need), else the newest.
    """
    if everything:
        return [r.version for r in RELEASES]
    wanted: list[str] = []
    for name in releases:
        known = release_named(name)
        if known is None:
            listed = ", ".join(r.version for r in RELEASES)
            raise ValueError(f"--release {name}: not a Delve release gocore-dap uses (it uses {listed})")
        wanted.append(known.version)
    for text in go_versions:
        spelled = text if text.startswith("go") else f"go{text}"
        try:
            parse_go_version(spelled)
            choice = pick_release(spelled)
        except UnknownGoVersion:
            raise ValueError(f"--for {text}: not a Go version (give one such as go1.22 or 1.22.12)") from None
        except GoTooOld as exc:
            raise ValueError(f"--for {text}: {exc}") from None
        wanted.append(choice.release.version)
    if not wanted:
        local = _local_go_version(go)
        wanted.append(pick_release(local).release.version if local else RELEASES[0].version)
    return list(dict.fromkeys(wanted))


def _stderr_progress(fraction: float | None, text: str) -> None:
    if fraction is None:
        print(f"    {text}", file=sys.stderr)
    elif fraction < 1.0:
        print(f"gocore-dap: {text} ...", file=sys.stderr)


def run_install_delve(
    dest: Path | None = None,
    *,
    force: bool = False,
    releases: Sequence[str] = (),
    go_versions: Sequence[str] = (),
    everything: bool = False,
    go: str = "go",
) -> int:
    """The `gocore-dap install-delve` command: progress on stderr, each dlv path on stdout, an exit code."""
    try:
        versions = releases_to_install(releases=releases, go_versions=go_versions, everything=everything, go=go)
    except ValueError as exc:
        print(f"gocore-dap install-delve: error: {exc}", file=sys.stderr)
        return 2
    if dest is not None and len(versions) > 1:
        print(
            f"gocore-dap install-delve: error: --dest takes one release, but {len(versions)} were asked for "
            f"({', '.join(versions)}); leave --dest out to install each into its own folder.",
            file=sys.stderr,
        )
        return 2
    failed = 0
    for version in versions:
        dest_dir = default_dest(version) if dest is None else dest
        target = dest_dir / "dlv"
        if not force and version_matches(dlv_version(target), version):
            print(f"gocore-dap: Delve {version} is already installed at {target}", file=sys.stderr)
            print(target)
            continue
        try:
            with _install_lock(dest_dir, version, _stderr_progress):
                path = install_delve(dest_dir, version, go=go, progress=_stderr_progress)
        except DelveInstallError as exc:
            print(f"gocore-dap: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"gocore-dap: installed Delve {version} at {path}", file=sys.stderr)
        print(path)
    return 1 if failed else 0
