"""The lines each corpus program's author names: `expect.landing` and `expect.user_locations` of its
manifest (protocol-fixtures/programs/README.md), written from the source, never from the adapter.

`landing` is where the program crashed (for a crash no goroutine caused, the line the editor should open
instead); `user_locations` is where each kind of parked goroutine waits in the program's own code.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from gocore_dap.corpus import load_manifest, programs_dir
from gocore_dap.goviews.build_info import BuildInfo, parse_buildinfo_section, parse_modinfo
from gocore_dap.goviews.code_scope import CodeScope, YourCode
from gocore_dap.preflight.elf import ElfFile

__all__ = ["ExpectedLocation", "binary_build_info", "binary_scope", "expected_landing", "expected_user_locations"]


def binary_build_info(binary: Path) -> BuildInfo:
    """The module build info the binary carries (.go.buildinfo), read without the adapter."""
    with ElfFile(binary) as elf:
        section = elf.section(".go.buildinfo")
        assert section is not None, f"{binary} has no .go.buildinfo"
        parsed = parse_buildinfo_section(elf.read_at(section.offset, section.size))
    assert parsed is not None
    return parse_modinfo(parsed[1], parsed[0])


def binary_scope(binary: Path, your_code: YourCode = YourCode.MODULES) -> CodeScope:
    return CodeScope.from_build_info(binary_build_info(binary), your_code)


@attrs.frozen
class ExpectedLocation:
    function: str  # a Go symbol (`main.(*txn).rollback`) or a C function's name (`lookup`)
    file: str  # relative to the program's directory
    line: int
    state: str | None = None

    def matches(self, function: str, file: str, line: int) -> bool:
        """The same frame: function, file and line together (C functions with or without Delve's `C.`)."""
        name = function[2:] if function.startswith("C.") else function
        return name == self.function and self.is_file(file) and line == self.line

    def is_file(self, file: str) -> bool:
        return file == self.file or file.endswith("/" + self.file)

    def source_line(self, program: str) -> str:
        lines = (programs_dir() / program / self.file).read_text(encoding="utf-8").splitlines()
        return lines[self.line - 1] if 0 < self.line <= len(lines) else ""

    def __str__(self) -> str:
        return f"{self.function} ({self.file}:{self.line})"


def _location(data: object, where: str) -> ExpectedLocation:
    if not isinstance(data, dict):
        raise AssertionError(f"{where} must be an object with function, file and line")
    try:
        return ExpectedLocation(str(data["function"]), str(data["file"]), int(data["line"]), data.get("state"))
    except KeyError as exc:
        raise AssertionError(f"{where} has no {exc}") from None


def _expect(program: str) -> dict[str, object]:
    manifest = load_manifest(programs_dir() / program)
    expect = manifest.raw.get("expect")
    assert isinstance(expect, dict)
    return expect


def expected_landing(program: str) -> ExpectedLocation:
    expect = _expect(program)
    if "landing" not in expect:
        raise AssertionError(f"{Path(program) / 'manifest.json'}: expect.landing is missing")
    return _location(expect["landing"], f"{program}: expect.landing")


def expected_user_locations(program: str) -> list[ExpectedLocation]:
    raw = _expect(program).get("user_locations") or []
    assert isinstance(raw, list)
    return [_location(item, f"{program}: expect.user_locations[{i}]") for i, item in enumerate(raw)]
