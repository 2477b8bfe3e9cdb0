"""Install the pinned Delve with `go install`, for `gocore-dap install-delve` and scripts/setup.sh."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import gocore_dap
from gocore_dap.backends.delve.locate import dlv_version, project_tools_dir, user_install_dir, version_matches

DELVE_PACKAGE = "github.com/go-delve/delve/cmd/dlv"

# Building Delve from a cold module and build cache takes about half a minute on two cores; a proxy that
# hangs should still end in an error rather than a stuck editor or CI job.
_INSTALL_TIMEOUT_S = 30 * 60
_OUTPUT_TAIL_LINES = 25


class DelveInstallError(Exception):
    """Delve could not be installed; the message says why and what to do."""


def default_dest() -> Path:
    """Where `install-delve` puts dlv by default: the checkout's tools folder, else the user install dir.

    These are the places `backend.locate.find_dlv` looks, so an install there is found without configuration.
    """
    tools = project_tools_dir()
    return tools if tools is not None else user_install_dir()


def _tail(text: str, lines: int = _OUTPUT_TAIL_LINES) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in kept) if kept else "    (no output)"


def install_delve(dest_dir: Path, version: str = gocore_dap.DELVE_VERSION, *, go: str = "go") -> Path:
    """Build Delve `version` with `go install` and put it at `dest_dir/dlv`; return that path.

    go builds into a temporary folder beside the destination and the result replaces `dest_dir/dlv` only once
    `dlv version` confirms it, so a failed or interrupted install never leaves a broken or wrong dlv behind.
    """
    go_path = shutil.which(go)
    if go_path is None:
        raise DelveInstallError(
            f"Go is needed to build Delve, but {go!r} was not found"
            + (" on PATH" if os.sep not in go else "")
            + ". Install Go (the Delve release pinned here needs Go >= 1.25) and run "
            '`gocore-dap install-delve` again, or point "dlvPath" / GOCORE_DAP_DLV at an existing dlv.'
        )

    dest_dir = dest_dir.expanduser().absolute()  # GOBIN must be absolute
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".dlv-install-", dir=dest_dir))
    except OSError as exc:
        raise DelveInstallError(f"Cannot create the install folder {dest_dir}: {exc}") from exc

    try:
        env = dict(os.environ, GOBIN=str(staging))
        # dlv must run on this machine; go also refuses GOBIN together with a cross-compiling target.
        env.pop("GOOS", None)
        env.pop("GOARCH", None)
        command = [go_path, "install", f"{DELVE_PACKAGE}@{version}"]
        try:
            done = subprocess.run(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                timeout=_INSTALL_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DelveInstallError(
                f"`go install {DELVE_PACKAGE}@{version}` did not finish within {_INSTALL_TIMEOUT_S} s."
            ) from exc
        except OSError as exc:
            raise DelveInstallError(f"Cannot run {go_path}: {exc}") from exc

        if done.returncode != 0:
            raise DelveInstallError(
                f"`go install {DELVE_PACKAGE}@{version}` failed (exit code {done.returncode}). "
                f"Last lines of go's output:\n{_tail(done.stdout)}\n"
                "Check the network access to the Go module proxy (GOPROXY) and the Go version (>= 1.25)."
            )

        built = staging / "dlv"
        if not built.is_file():
            raise DelveInstallError(
                f"`go install {DELVE_PACKAGE}@{version}` succeeded but produced no dlv in {staging}. "
                f"go's output:\n{_tail(done.stdout)}"
            )
        reported = dlv_version(built)
        if not version_matches(reported, version):
            raise DelveInstallError(
                f"The dlv built by `go install {DELVE_PACKAGE}@{version}` reports version {reported!r} "
                f"(`{built} version`), expected {version.removeprefix('v')}."
            )

        target = dest_dir / "dlv"
        os.replace(built, target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_install_delve(
    dest: Path | None = None,
    *,
    force: bool = False,
    version: str = gocore_dap.DELVE_VERSION,
    go: str = "go",
) -> int:
    """The `gocore-dap install-delve` command: progress on stderr, the dlv path on stdout, an exit code."""
    dest_dir = default_dest() if dest is None else dest
    target = dest_dir / "dlv"
    if not force and version_matches(dlv_version(target), version):
        print(f"gocore-dap: Delve {version} is already installed at {target}", file=sys.stderr)
        print(target)
        return 0

    print(f"gocore-dap: installing Delve {version} into {dest_dir} (go install, ~30 s) ...", file=sys.stderr)
    try:
        path = install_delve(dest_dir, version, go=go)
    except DelveInstallError as exc:
        print(f"gocore-dap: error: {exc}", file=sys.stderr)
        return 1
    print(f"gocore-dap: installed Delve {version} at {path}", file=sys.stderr)
    print(path)
    return 0
