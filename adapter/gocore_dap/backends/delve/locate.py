"""Find the Delve executable that gocore-dap drives.

PATH is deliberately never searched: a `dlv` that happens to be installed there may be a release that cannot
read cores of the target's Go version (each Delve release supports a narrow window of Go versions) and would
refuse or misread them. Only places that the user chose explicitly, or that `gocore-dap install-delve` fills
with the pinned release, are used.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

import gocore_dap
from gocore_dap.backends.delve.errors import BackendError

ENV_VAR = "GOCORE_DAP_DLV"

_VERSION_LINE = re.compile(r"^Version:\s*(\S+)", re.MULTILINE)


class DlvNotFound(BackendError):
    """No usable Delve executable; the message says what was tried and how to fix it."""


def repo_root() -> Path | None:
    """The source checkout that gocore_dap is imported from (editable install), or None."""
    root = Path(gocore_dap.__file__).resolve().parents[2]
    # A regular install puts the package in site-packages, whose grandparent is no checkout of ours.
    if (root / "pyproject.toml").is_file() and (root / "adapter" / "gocore_dap").is_dir():
        return root
    return None


def project_tools_dir() -> Path | None:
    """`<repo>/.tools/bin` when running from a checkout, else None."""
    root = repo_root()
    return None if root is None else root / ".tools" / "bin"


def user_install_dir(
    version: str = gocore_dap.DELVE_VERSION, *, env: Mapping[str, str] | None = None
) -> Path:
    """`$XDG_DATA_HOME/gocore-dap/delve-<version>`; the version in the name keeps releases apart."""
    env = os.environ if env is None else env
    data_home = env.get("XDG_DATA_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    if not data_home or not os.path.isabs(data_home):
        home = env.get("HOME") or str(Path.home())
        data_home = os.path.join(home, ".local", "share")
    return Path(data_home) / "gocore-dap" / f"delve-{version}"


def _is_executable_file(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _explain_unusable(path: Path) -> str:
    if not path.exists():
        return "does not exist"
    if not path.is_file():
        return "is not a file"
    return "is not executable"


def find_dlv(explicit: str | None = None, *, env: Mapping[str, str] | None = None) -> Path:
    """The dlv to run: launch.json `dlvPath`, $GOCORE_DAP_DLV, the project tools folder, the user install.

    An explicit choice (dlvPath or the environment variable) that is unusable is an error rather than a
    reason to fall back: the user asked for that binary, and silently running another would hide the mistake.
    """
    env = os.environ if env is None else env

    if explicit:
        path = Path(explicit).expanduser()
        if not _is_executable_file(path):
            raise DlvNotFound(
                f'"dlvPath" in the launch configuration is {explicit!r}, which {_explain_unusable(path)}. '
                "Point it at a Delve executable, or remove it to use the pinned Delve "
                "(installed by `gocore-dap install-delve`)."
            )
        return path.absolute()

    from_env = env.get(ENV_VAR, "")
    if from_env:
        path = Path(from_env).expanduser()
        if not _is_executable_file(path):
            raise DlvNotFound(
                f"{ENV_VAR} is {from_env!r}, which {_explain_unusable(path)}. "
                f"Point it at a Delve executable, or unset it to use the pinned Delve "
                "(installed by `gocore-dap install-delve`)."
            )
        return path.absolute()

    tried = ['"dlvPath" in the launch configuration: not set', f"{ENV_VAR}: not set"]
    tools = project_tools_dir()
    candidates: list[tuple[str, Path]] = []
    if tools is not None:
        candidates.append(("project tools folder", tools / "dlv"))
    else:
        tried.append("project tools folder: not running from a gocore-dap source checkout")
    candidates.append(("user install", user_install_dir(env=env) / "dlv"))

    for label, path in candidates:
        if _is_executable_file(path):
            return path
        tried.append(f"{label}: {path} {_explain_unusable(path)}")

    lines = "\n".join(f"  - {t}" for t in tried)
    raise DlvNotFound(
        "Delve (dlv) was not found. Tried:\n"
        f"{lines}\n"
        "PATH is not searched: a dlv found there may be a Delve release that cannot read cores of the "
        f"target's Go version; gocore-dap is tested with Delve {gocore_dap.DELVE_VERSION}.\n"
        'Fix: run `gocore-dap install-delve` (needs Go), or set "dlvPath" in the launch configuration, '
        f"or set {ENV_VAR} to a dlv executable."
    )


def dlv_version(path: Path | str, *, timeout: float = 10.0) -> str | None:
    """The version `dlv version` reports ("1.27.2", without a leading "v"), or None if it cannot be had."""
    try:
        done = subprocess.run(
            [str(path), "version"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    match = _VERSION_LINE.search(done.stdout)
    return match.group(1).removeprefix("v") if match else None


def version_matches(reported: str | None, pinned: str = gocore_dap.DELVE_VERSION) -> bool:
    """Whether a version from `dlv_version` is the pinned release ("1.27.2" matches "v1.27.2")."""
    return reported is not None and reported.removeprefix("v") == pinned.removeprefix("v")
