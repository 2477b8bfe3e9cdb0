"""Module build information of a Go binary, as Go's `debug/buildinfo` reads it (pure).

The linker writes a `.go.buildinfo` section: a 16-byte header (`\\xff Go buildinf:`, pointer size,
flags), then, since Go 1.18 (flag bit 2, "inline strings"), the Go version and the module info text as
varint-length-prefixed strings at offset 32. The module info text (also `runtime.modinfo`) is framed
by two 16-byte sentinels and holds lines such as::

    path    example.com/cmd/server
    mod     example.com     v1.2.3  h1:...
    dep     golang.org/x/sys        v0.20.0 h1:...
    dep     example.com/lib v1.2.3
    =>      ./lib   (devel)
    build   -trimpath=true
    build   vcs.revision=0123abcd...

separated by tabs. Values with spaces, tabs, quotes or newlines are Go-quoted (strconv.Quote).

Pure: stdlib and attrs only.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

import attrs

__all__ = [
    "BUILDINFO_MAGIC",
    "BuildInfo",
    "parse_buildinfo_section",
    "parse_modinfo",
    "strip_modinfo_sentinels",
]

BUILDINFO_MAGIC = b"\xff Go buildinf:"
_FLAG_INLINE_STRINGS = 0x2
_HEADER_SIZE = 32


@attrs.frozen
class BuildInfo:
    go_version: str = ""
    path: str = ""  # the main package's import path
    main_module_path: str = ""
    main_module_version: str = ""
    settings: Mapping[str, str] = attrs.field(factory=dict)
    dependencies: tuple[tuple[str, str], ...] = ()
    # A `replace` directive's result per dependency path: (directory or module path, version; "" for a
    # directory). The binary still names the dependency's own path and version in file paths.
    replacements: Mapping[str, tuple[str, str]] = attrs.field(factory=dict)

    @property
    def vcs_revision(self) -> str | None:
        return self.settings.get("vcs.revision")

    @property
    def vcs_time(self) -> str | None:
        return self.settings.get("vcs.time")

    @property
    def vcs_modified(self) -> bool | None:
        value = self.settings.get("vcs.modified")
        return None if value is None else value == "true"

    @property
    def trimpath(self) -> bool:
        return self.settings.get("-trimpath") == "true"


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            break
    raise ValueError("bad varint in .go.buildinfo")


def strip_modinfo_sentinels(text: str) -> str:
    """The module info without its 16-byte sentinels (debug/buildinfo's rule); "" when malformed."""
    if len(text) >= 33 and text[-17] == "\n":
        return text[16:-16]
    return ""


def parse_buildinfo_section(data: bytes) -> tuple[str, str] | None:
    """(Go version, module info text) from the start of `.go.buildinfo`; None for the pre-1.18
    pointer layout, which needs the program's memory (read `runtime.modinfo` instead)."""
    if not data.startswith(BUILDINFO_MAGIC) or len(data) < _HEADER_SIZE:
        return None
    flags = data[len(BUILDINFO_MAGIC) + 1]
    if not flags & _FLAG_INLINE_STRINGS:
        return None
    pos = _HEADER_SIZE
    size, pos = _uvarint(data, pos)
    version = data[pos : pos + size].decode("utf-8", "replace")
    pos += size
    size, pos = _uvarint(data, pos)
    raw = data[pos : pos + size].decode("utf-8", "replace")
    return version, strip_modinfo_sentinels(raw)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        return value if isinstance(value, str) else text
    return text


def parse_modinfo(text: str, go_version: str = "") -> BuildInfo:
    """Parse the module info text (without sentinels) into a BuildInfo; unknown lines are skipped."""
    path = main_path = main_version = ""
    settings: dict[str, str] = {}
    deps: list[tuple[str, str]] = []
    replacements: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if kind == "go" and rest and not go_version:
            go_version = rest
        elif kind == "path":
            path = rest
        elif kind == "mod" and fields:
            main_path = fields[0]
            main_version = fields[1] if len(fields) > 1 else ""
        elif kind == "dep" and fields:
            deps.append((fields[0], fields[1] if len(fields) > 1 else ""))
        elif kind == "=>" and fields and deps:
            version = fields[1] if len(fields) > 1 else ""
            replacements[deps[-1][0]] = (fields[0], "" if version == "(devel)" else version)
        elif kind == "build" and rest:
            # The key can be quoted too; the first "=" outside the key's quotes splits them.
            if rest.startswith('"'):
                end = rest.find('"=', 1)
                key, value = (rest[: end + 1], rest[end + 2 :]) if end > 0 else (rest, "")
            else:
                key, _, value = rest.partition("=")
            settings[_unquote(key)] = _unquote(value)
    return BuildInfo(
        go_version=go_version,
        path=path,
        main_module_path=main_path,
        main_module_version=main_version,
        settings=settings,
        dependencies=tuple(deps),
        replacements=replacements,
    )
