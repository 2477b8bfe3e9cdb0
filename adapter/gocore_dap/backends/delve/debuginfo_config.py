"""Hand Delve a debug file it would not find by itself, through a private config for one `dlv core`.

Delve looks for separate debug information only in the directories of its config file
(`$XDG_CONFIG_HOME/dlv/config.yml`, key `debug-info-directories`; /usr/lib/debug/.build-id by default),
by GNU build ID (`DIR/.build-id/xx/rest.debug`), by the `.gnu_debuglink` name (`DIR/<program's
directory>/NAME`), and, for compatibility, as `DIR/<program name>.debug`. A debug file found elsewhere (a
launch attribute's directory, a debuginfod download) is therefore linked into a private directory under
those names, and that one Delve process gets `XDG_CONFIG_HOME` pointing at a config naming it. The user's
own Delve config is not touched and other Delve processes are not affected.

The config key and these lookup rules are the same in the source of Delve 1.21.2 to 1.27.2
(pkg/config/config.go; pkg/proc/bininfo.go, `openSeparateDebugInfo`); tests run it with the pinned Delve.
"""

from __future__ import annotations

import json
import os
import pwd
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from gocore_dap.backends.delve.errors import BackendError

__all__ = ["DebugInfoHandoffError", "delve_debug_info_env", "old_delve_config", "user_debug_info_directories"]

# Delve's default, kept so that the shared libraries of a cgo program still find their system debug info.
DELVE_DEFAULT_DIRECTORIES: Final = ("/usr/lib/debug/.build-id",)
_KEY_RE: Final = re.compile(r"^debug-info-directories:[ \t]*(.*)$", re.MULTILINE)


class DebugInfoHandoffError(BackendError):
    """The debug file cannot be handed to Delve (the message says why and what to do)."""


def old_delve_config() -> Path | None:
    """`~/.dlv/config.yml` if it exists: Delve MOVES it into `$XDG_CONFIG_HOME/dlv/` on start.

    Delve finds the home directory from the password database, not $HOME, so it cannot be kept
    away from that file; with a private XDG_CONFIG_HOME the user's config would move into a
    directory that is deleted after the session.
    """
    try:
        home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    except (KeyError, OSError):
        return None
    old = home / ".dlv" / "config.yml"
    return old if old.exists() else None


def user_debug_info_directories(environ: Mapping[str, str] | None = None) -> list[str]:
    """`debug-info-directories` of the user's own Delve config (a flow or block list of plain paths), so
    that the private config keeps them; [] when there is none or it cannot be read."""
    env = os.environ if environ is None else environ
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    try:
        text = (base / "dlv" / "config.yml").read_text(encoding="utf-8")
    except (OSError, RuntimeError):
        return []
    match = _KEY_RE.search(text)
    if match is None:
        return []
    value = match.group(1).split(" #", 1)[0].strip()
    if value.startswith("["):
        items = value.strip("[]").split(",")
    else:  # a block list: the "- item" lines right after the key
        items = []
        for line in text[match.end() :].splitlines()[1:]:
            item = re.match(r"^\s*-\s+(.+)$", line)
            if item is None:
                break
            items.append(item.group(1))
    return [i.strip().strip("\"'") for i in items if i.strip().strip("\"'")]


def delve_debug_info_env(
    config_home: Path,
    debug_file: Path,
    program: Path,
    *,
    gnu_build_id: str | None,
    debuglink: str | None = None,
    extra_directories: Sequence[Path | str] | None = None,
) -> dict[str, str]:
    """Prepare `config_home` (a private, empty directory the caller owns and removes after Delve
    ends) so that Delve opening `program` reads DWARF from `debug_file`; return the environment
    variables to add to that one Delve process (`DelveProcess.start(..., extra_env=...)`).
    The config also lists `extra_directories` (default: the user's own Delve setting, else Delve's
    default), where Delve looks for the debug info of shared libraries.

    Raises DebugInfoHandoffError when it cannot be done safely (see :func:`old_delve_config`).
    """
    old = old_delve_config()
    if old is not None:
        raise DebugInfoHandoffError(
            f"Delve keeps its configuration in the old place '{old}', and would move it into the private "
            "configuration gocore-dap gives it to find the separate debug information (and lose it when the "
            f"session ends). Move it first: `mkdir -p ~/.config/dlv && mv {old} ~/.config/dlv/` (Delve "
            "itself does this on its next run without XDG_CONFIG_HOME), then open the core again."
        )
    target = debug_file.resolve()
    links = config_home / "debug"
    names = [links / f"{program.name}.debug"]
    if gnu_build_id is not None and len(gnu_build_id) > 2:
        names.append(links / ".build-id" / gnu_build_id[:2] / f"{gnu_build_id[2:]}.debug")
    if debuglink:
        names.append(links / str(program.absolute().parent).lstrip("/") / debuglink)
    for name in names:
        name.parent.mkdir(parents=True, exist_ok=True)
        if name.is_symlink() or name.exists():
            name.unlink()
        name.symlink_to(target)
    if extra_directories is None:
        extra_directories = user_debug_info_directories() or list(DELVE_DEFAULT_DIRECTORIES)
    directories = [str(links), *(str(d) for d in extra_directories)]
    (config_home / "dlv").mkdir(parents=True, exist_ok=True)
    # A flow sequence of JSON strings is valid YAML, quoting included.
    (config_home / "dlv" / "config.yml").write_text(
        f"debug-info-directories: {json.dumps(directories)}\n", encoding="utf-8"
    )
    return {"XDG_CONFIG_HOME": str(config_home)}
