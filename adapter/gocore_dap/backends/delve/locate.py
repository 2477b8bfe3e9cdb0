"""Find the Delve executable that gocore-dap drives.

PATH is deliberately never searched: a `dlv` that happens to be installed there may be a release that cannot
read cores of the target's Go version (each Delve release supports a narrow window of Go versions) and would
refuse or misread them. Only places that the user chose explicitly, or the per-release folders that
`gocore-dap install-delve` (or the install on first use) fills, are used.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

import gocore_dap
from gocore_dap.backends.delve.errors import DelveUnavailable

ENV_VAR = "GOCORE_DAP_DLV"
# A folder holding a folder per Delve release, instead of the default places.
DELVE_DIR_ENV_VAR = "GOCORE_DAP_DELVE_DIR"

_VERSION_LINE = re.compile(r"^Version:\s*(\S+)", re.MULTILINE)


class DlvNotFound(DelveUnavailable):
    """No usable Delve executable; the message says what was tried and how to fix it."""


def repo_root() -> Path | None:
    """The source checkout that gocore_dap is imported from (editable install), or None."""
    root = Path(gocore_dap.__file__).resolve().parents[2]
    # A regular install puts the package in site-packages, whose grandparent is no checkout of ours.
    if (root / "pyproject.toml").is_file() and (root / "adapter" / "gocore_dap").is_dir():
        return root
    return None


def project_tools_dir() -> Path | None:
    """`<repo>/.tools/delve` (a folder per Delve release) when running from a checkout, else None."""
    root = repo_root()
    return None if root is None else root / ".tools" / "delve"


def user_install_dir(version: str = gocore_dap.DELVE_VERSION, *, env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_DATA_HOME/gocore-dap/delve-<version>`; the version in the name keeps releases apart."""
    env = os.environ if env is None else env
    data_home = env.get("XDG_DATA_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    if not data_home or not os.path.isabs(data_home):
        home = env.get("HOME") or str(Path.home())
        data_home = os.path.join(home, ".local", "share")
    return Path(data_home) / "gocore-dap" / f"delve-{version}"


def release_dir(version: str = gocore_dap.DELVE_VERSION, *, env: Mapping[str, str] | None = None) -> Path:
    """Where Delve `version` is installed: `$GOCORE_DAP_DELVE_DIR/<version>` when that is set (a shared or
    pre-filled folder, e.g. in a container image), else `<repo>/.tools/delve/<version>` in a checkout, else
    the user install folder. Only `gocore-dap install-delve` and the install on first use write there, and
    only a dlv that reported the right version, so the folder name is trusted without running `dlv version`."""
    env = os.environ if env is None else env
    shared = env.get(DELVE_DIR_ENV_VAR, "")
    if shared and os.path.isabs(shared):
        return Path(shared) / version
    tools = project_tools_dir()
    return tools / version if tools is not None else user_install_dir(version, env=env)


def _is_executable_file(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _explain_unusable(path: Path) -> str:
    if not path.exists():
        return "does not exist"
    if not path.is_file():
        return "is not a file"
    return "is not executable"


def explicit_dlv(explicit: str | None = None, *, env: Mapping[str, str] | None = None) -> Path | None:
    """The dlv the user chose: launch.json `dlvPath`, else $GOCORE_DAP_DLV; None when neither is set.

    An explicit choice that is unusable is an error rather than a reason to fall back: the user asked for
    that binary, and silently running another would hide the mistake.
    """
    env = os.environ if env is None else env
    if explicit:
        path = Path(explicit).expanduser()
        if not _is_executable_file(path):
            raise DlvNotFound(
                f'"dlvPath" in the launch configuration is {explicit!r}, which {_explain_unusable(path)}. '
                "Point it at a Delve executable, or remove it to let gocore-dap pick (and install) the Delve "
                "release for the program's Go version."
            )
        return path.absolute()
    from_env = env.get(ENV_VAR, "")
    if from_env:
        path = Path(from_env).expanduser()
        if not _is_executable_file(path):
            raise DlvNotFound(
                f"{ENV_VAR} is {from_env!r}, which {_explain_unusable(path)}. Point it at a Delve executable, "
                "or unset it to let gocore-dap pick (and install) the Delve release for the program's Go version."
            )
        return path.absolute()
    return None


def installed_dlv(version: str, *, env: Mapping[str, str] | None = None) -> Path | None:
    """`release_dir(version)/dlv` if it is there, else None."""
    path = release_dir(version, env=env) / "dlv"
    return path if _is_executable_file(path) else None


def find_dlv(
    explicit: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    version: str = gocore_dap.DELVE_VERSION,
) -> Path:
    """An installed dlv without installing anything: `dlvPath`, $GOCORE_DAP_DLV, else release `version`
    (the pinned one by default) in its install folder. For tools such as the benchmarks; a session picks
    the release for its core with `backends.delve.setup.prepare_delve`."""
    chosen = explicit_dlv(explicit, env=env)
    if chosen is not None:
        return chosen
    path = release_dir(version, env=env) / "dlv"
    if _is_executable_file(path):
        return path
    raise DlvNotFound(
        "Delve (dlv) was not found. Tried:\n"
        '  - "dlvPath" in the launch configuration: not set\n'
        f"  - {ENV_VAR}: not set\n"
        f"  - Delve {version}: {path} {_explain_unusable(path)}\n"
        "PATH is not searched: a dlv found there may be a Delve release that cannot read cores of the "
        "target's Go version.\n"
        f'Fix: run `gocore-dap install-delve --release {version}` (needs Go), or set "dlvPath" in the '
        f"launch configuration, or set {ENV_VAR} to a dlv executable."
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
