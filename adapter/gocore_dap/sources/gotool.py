"""The go command, for where its module cache and Go root are and to fetch a module version into it.

`go mod download` is how module versions and Go toolchains (whose `src/` are the exact standard library
sources of a release) get into the module cache: the same proxy, checksum database and authentication
as the user's own builds. It runs only when the caller asks (:meth:`GoTool.download`), in a temporary
directory with GOTOOLCHAIN=local (a go.mod or go.work around the working directory must not make the
go command switch toolchains or edit anything).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

import attrs

from gocore_dap.sources.gopaths import escape_module_path

__all__ = ["DownloadFailed", "GoEnv", "GoTool", "Progress", "download_command"]

Progress = Callable[[float | None, str], None]

ENV_TIMEOUT: Final = 20.0
DOWNLOAD_TIMEOUT: Final = 600.0
_POLL: Final = 0.5


class DownloadFailed(Exception):
    """`go mod download` did not deliver the module; the message says why and the command to run."""


@attrs.frozen
class GoEnv:
    gomodcache: Path | None
    goroot: Path | None
    goversion: str | None
    goos: str | None
    goarch: str | None


def download_command(module: str, version: str) -> str:
    return f"go mod download {module}@{version}"


def _default_modcache(environ: Mapping[str, str]) -> Path | None:
    if environ.get("GOMODCACHE"):
        return Path(environ["GOMODCACHE"])
    gopath = environ.get("GOPATH", "").split(os.pathsep)[0]
    if gopath:
        return Path(gopath) / "pkg" / "mod"
    with contextlib.suppress(RuntimeError):
        return Path.home() / "go" / "pkg" / "mod"
    return None


class GoTool:
    """One go command (found on PATH unless given), its environment read once."""

    def __init__(self, go: str | None = None, *, environ: Mapping[str, str] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.go = go or shutil.which("go", path=self.environ.get("PATH"))
        self._env: GoEnv | None = None
        self._lock = threading.Lock()

    def _run_env(self) -> dict[str, str]:
        env = dict(self.environ)
        env["GOTOOLCHAIN"] = "local"
        env["GOWORK"] = "off"
        env.setdefault("GOFLAGS", "")
        env["GOFLAGS"] = " ".join(f for f in env["GOFLAGS"].split() if not f.startswith("-mod="))
        return env

    def env(self) -> GoEnv:
        """GOMODCACHE, GOROOT, GOVERSION, GOOS, GOARCH of the go command (defaults without one)."""
        with self._lock:
            if self._env is None:
                self._env = self._read_env()
            return self._env

    def _read_env(self) -> GoEnv:
        fallback = GoEnv(_default_modcache(self.environ), None, None, None, None)
        if self.go is None:
            return fallback
        try:
            proc = subprocess.run(
                [self.go, "env", "-json", "GOMODCACHE", "GOROOT", "GOVERSION", "GOOS", "GOARCH"],
                env=self._run_env(),
                cwd=tempfile.gettempdir(),
                capture_output=True,
                text=True,
                timeout=ENV_TIMEOUT,
                check=False,
            )
            values = json.loads(proc.stdout) if proc.returncode == 0 else {}
        except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
            return fallback
        return GoEnv(
            gomodcache=Path(values["GOMODCACHE"]) if values.get("GOMODCACHE") else fallback.gomodcache,
            goroot=Path(values["GOROOT"]) if values.get("GOROOT") else None,
            goversion=values.get("GOVERSION") or None,
            goos=values.get("GOOS") or None,
            goarch=values.get("GOARCH") or None,
        )

    def download(
        self,
        module: str,
        version: str,
        *,
        progress: Progress | None = None,
        timeout: float = DOWNLOAD_TIMEOUT,
    ) -> Path:
        """`go mod download -json module@version`; the module's directory in the cache.

        ``progress(None, text)`` reports the bytes received about twice a second (the go command tells
        neither the size nor its progress, so the zip it is writing is watched). Raises DownloadFailed.
        """
        command = download_command(module, version)
        if self.go is None:
            raise DownloadFailed(f"the go command is not on PATH; install Go, then run `{command}`")
        modcache = self.env().gomodcache
        watch = modcache / "cache" / "download" / escape_module_path(module) / "@v" if modcache is not None else None
        if progress is not None:
            progress(None, f"Downloading {module}@{version} ({command})")
        with tempfile.TemporaryDirectory(prefix="gocore-dap-go-") as work:
            try:
                proc = subprocess.Popen(
                    [self.go, "mod", "download", "-json", f"{module}@{version}"],
                    env=self._run_env(),
                    cwd=work,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
            except OSError as exc:
                raise DownloadFailed(f"could not run {self.go}: {exc.strerror or exc}; run `{command}`") from exc
            out, err = self._wait(proc, timeout, watch, version, module, progress, command)
        try:
            info = json.loads(out) if out.strip() else {}
        except json.JSONDecodeError:
            info = {}
        problem = str(info.get("Error") or "").strip() or err.strip()
        directory = info.get("Dir")
        if proc.returncode != 0 or not directory or not Path(directory).is_dir():
            raise DownloadFailed(
                f"`{command}` failed: {problem or f'exit status {proc.returncode}'}. When this machine can reach "
                "the module proxy (or GOPROXY / GOFLAGS=-insecure settings allow it), run that command."
            )
        if progress is not None:
            progress(1.0, f"Downloaded {module}@{version}")
        return Path(directory)

    def _wait(
        self,
        proc: subprocess.Popen[str],
        timeout: float,
        watch: Path | None,
        version: str,
        module: str,
        progress: Progress | None,
        command: str,
    ) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        # Read stdout/stderr in the background so a chatty go command never blocks on a full pipe.
        result: dict[str, str] = {}

        def read() -> None:
            result["out"], result["err"] = proc.communicate()

        reader = threading.Thread(target=read)
        reader.start()
        while reader.is_alive():
            reader.join(_POLL)
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
                reader.join()
                raise DownloadFailed(f"`{command}` did not finish within {timeout:.0f} s; run it yourself")
            if progress is not None and watch is not None and reader.is_alive():
                got = _bytes_so_far(watch, version)
                if got:
                    progress(None, f"Downloading {module}@{version}: {got / (1 << 20):.1f} MiB")
        return result.get("out", ""), result.get("err", "")


def _bytes_so_far(directory: Path, version: str) -> int:
    total = 0
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(f"{version}.zip"):
                with contextlib.suppress(OSError):
                    total += entry.stat().st_size
    return total
