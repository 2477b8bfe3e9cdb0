"""Which core to open: launch attributes (initializationOptions, `gocore.openCore`, a launch.json
`go-core` configuration) read into the core model's `OpenOptions`.

The attributes are the debugger's: `program`, `coreFilePath` (or `core`), `cwd`, `dlvPath`
(`dlvToolPath`), `dlvTimeout`, `substitutePath`, `sourceRoot`, `debugInfoDirectories`, `symbolFile`,
`yourCode`, `directReader`; the rest of a launch configuration (`name`, `type`, `stackTraceDepth`...) is accepted and
ignored, as the debugger ignores keys it does not know. A wrong value is a `GocoreError` BAD_ARGUMENTS
(1001) naming the attribute; the files themselves are checked by `open_core`, with the same error ids
and messages as the debugger.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from gocore_dap.core.options import DEFAULT_DLV_TIMEOUT, OpenOptions
from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.goviews.code_scope import DEFAULT_YOUR_CODE, YourCode, parse_your_code

__all__ = ["CoreRequest", "parse_core_request"]


@attrs.frozen
class CoreRequest:
    options: OpenOptions
    name: str = ""  # the launch configuration's name, when it came from one

    @property
    def your_code(self) -> YourCode:
        """The yourCode scope, kept in the options: open_core builds the core's `scope` from it."""
        return parse_your_code(self.options.your_code)


def _bad(where: str, message: str) -> GocoreError:
    return GocoreError(ErrorId.BAD_ARGUMENTS, message=f"{where}: {message}")


def _string(raw: Mapping[str, Any], key: str, where: str, *, required: bool = False, what: str = "") -> str | None:
    value = raw.get(key)
    if value is None or (value == "" and not required):
        if required:
            raise _bad(where, f"'{key}' is missing: give {what}")
        return None
    if not isinstance(value, str) or not value.strip():
        raise _bad(where, f"'{key}' must be a non-empty string ({what or 'a path'}), got {value!r}")
    return value


def _strings(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(where, f"'{key}' must be an array of strings, got {value!r}")
    return tuple(value)


def _substitute_path(raw: Mapping[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    value = raw.get("substitutePath")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _bad(where, f'\'substitutePath\' must be an array of {{"from", "to"}} objects, got {value!r}')
    rules = []
    for index, rule in enumerate(value):
        if not (isinstance(rule, dict) and isinstance(rule.get("from"), str) and isinstance(rule.get("to"), str)):
            raise _bad(where, f"'substitutePath[{index}]' must be an object with string 'from' and 'to', got {rule!r}")
        rules.append((rule["from"], rule["to"]))
    return tuple(rules)


def parse_core_request(raw: object, *, where: str, workspace_folders: Sequence[str] = ()) -> CoreRequest:
    """Read launch attributes; `where` names their origin in messages (`gocore.openCore`,
    `initializationOptions`, `launch.json "Open core"`)."""
    if not isinstance(raw, Mapping):
        raise _bad(where, f"expected an object with 'program' and 'coreFilePath', got {raw!r}")
    mode = raw.get("mode")
    if mode is not None and mode != "core":
        raise _bad(where, f"'mode' must be \"core\" (gocore-dap opens core dumps), got {mode!r}")
    program = _string(raw, "program", where, required=True, what="the Go executable that crashed")
    core_key = "coreFilePath" if raw.get("coreFilePath") is not None else "core"
    core = _string(raw, core_key, where, required=True, what="its core dump ('coreFilePath' or 'core')")
    dlv_path = _string(raw, "dlvPath", where) or _string(raw, "dlvToolPath", where)
    timeout = raw.get("dlvTimeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
        raise _bad(where, f"'dlvTimeout' must be a positive number of seconds, got {timeout!r}")
    direct = raw.get("directReader", True)
    if not isinstance(direct, bool):
        raise _bad(where, f"'directReader' must be true or false, got {direct!r}")
    try:
        your_code = parse_your_code(raw.get("yourCode") or DEFAULT_YOUR_CODE)
    except ValueError as exc:
        raise _bad(where, str(exc)) from None
    assert program is not None and core is not None
    options = OpenOptions(
        program=program,
        core=core,
        cwd=_string(raw, "cwd", where),
        dlv_path=dlv_path,
        dlv_timeout=float(timeout) if timeout is not None else DEFAULT_DLV_TIMEOUT,
        substitute_path=_substitute_path(raw, where),
        source_root=_string(raw, "sourceRoot", where),
        workspace_folders=tuple(workspace_folders),
        debug_info_directories=_strings(raw, "debugInfoDirectories", where),
        symbol_file=_string(raw, "symbolFile", where),
        direct=direct,
        your_code=your_code.value,
    )
    name = raw.get("name")
    return CoreRequest(options=options, name=name if isinstance(name, str) else "")
