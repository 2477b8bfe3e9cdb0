"""The `go-core` configurations of a workspace's `.vscode/launch.json`, for editors other than VS Code.

VS Code writes launch.json as JSON with comments and trailing commas, and fills `${...}` variables in
when it starts a session; the language server does both itself for the variables that do not need VS
Code: `${workspaceFolder}`, `${workspaceFolderBasename}`, `${userHome}`, `${env:NAME}`, `${pathSeparator}`
and `${/}`. A configuration that uses another (`${command:...}`, `${input:...}`) is reported, not guessed.

Pure except `find_configurations`, which reads the files.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "DEBUG_TYPE",
    "LaunchConfiguration",
    "LaunchJsonError",
    "find_configurations",
    "parse_jsonc",
    "substitute_variables",
]

DEBUG_TYPE = "go-core"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_TRAILING_COMMA_END = re.compile(r"\s*(?://[^\n]*\n\s*|/\*.*?\*/\s*)*[}\]]", re.S)


class LaunchJsonError(ValueError):
    """launch.json cannot be read or a configuration cannot be used; the message says which and why."""


@attrs.frozen
class LaunchConfiguration:
    name: str
    attributes: Mapping[str, Any]
    source: str  # the launch.json it comes from
    folder: str  # its workspace folder


def _strip_comments_and_commas(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch == ",":
            # A trailing comma: only white space (or comments, already gone) before } or ].
            if _TRAILING_COMMA_END.match(text, i + 1) is None:
                out.append(ch)
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_jsonc(text: str, source: str = "launch.json") -> Any:
    try:
        return json.loads(_strip_comments_and_commas(text))
    except json.JSONDecodeError as exc:
        raise LaunchJsonError(f"{source} is not valid JSON (with comments): {exc}") from None


def substitute_variables(value: Any, folder: str, *, environ: Mapping[str, str] | None = None) -> Any:
    """`value` with VS Code's folder, home and environment variables filled in (strings in lists and
    objects too); raises LaunchJsonError for a variable only VS Code can fill."""
    env = os.environ if environ is None else environ
    if isinstance(value, str):

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "workspaceFolder" or name == "workspaceRoot":
                return folder
            if name == "workspaceFolderBasename":
                return Path(folder).name
            if name == "userHome":
                return str(Path.home())
            if name in ("pathSeparator", "/"):
                return os.sep
            if name.startswith("env:"):
                return env.get(name[4:], "")
            raise LaunchJsonError(f"it uses ${{{name}}}, which only VS Code can fill in")

        return _VARIABLE.sub(fill, value)
    if isinstance(value, list):
        return [substitute_variables(v, folder, environ=env) for v in value]
    if isinstance(value, dict):
        return {k: substitute_variables(v, folder, environ=env) for k, v in value.items()}
    return value


def find_configurations(folders: Sequence[str]) -> tuple[list[LaunchConfiguration], list[str]]:
    """The `go-core` launch configurations of each folder's .vscode/launch.json, in order, and the
    problems met (a file that is not JSON, a configuration that needs VS Code)."""
    found: list[LaunchConfiguration] = []
    problems: list[str] = []
    for folder in folders:
        path = Path(folder) / ".vscode" / "launch.json"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except OSError as exc:
            problems.append(f"{path} cannot be read: {exc}")
            continue
        try:
            data = parse_jsonc(text, str(path))
        except LaunchJsonError as exc:
            problems.append(str(exc))
            continue
        configurations = data.get("configurations") if isinstance(data, dict) else None
        if not isinstance(configurations, list):
            continue
        for index, raw in enumerate(configurations):
            if not isinstance(raw, dict) or raw.get("type") != DEBUG_TYPE:
                continue
            name = str(raw.get("name") or f"configuration {index + 1}")
            try:
                attributes = substitute_variables(raw, folder)
            except LaunchJsonError as exc:
                problems.append(f"{path}: the configuration {name!r} cannot be used here: {exc}")
                continue
            found.append(LaunchConfiguration(name, attributes, str(path), folder))
    return found, problems
