"""What the build recorded about the source files a core's marks land in: from the binary's DWARF.

The language server has to tell whether a source file on this machine is still the file the program was
built from before it puts marks on its lines. A core holds no source text, and the build machine's files
are not here, so what is known of the build is what the compiler wrote into the binary:

* the line table (`.debug_line`): every line that holds code, per file. A line the table names can
  never be blank or a comment in the source that was compiled.
* each function's `DW_AT_decl_line`: the line of its `func` keyword (a closure's `func(` too).

`lsp.build_check` compares the current text against these facts. Only the compile units of the packages
whose files are marked are read (the main package is a few hundred rows: a few milliseconds).

Reads files: call it off the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from gocore_dap.backends.cframes.info import AT_NAME, TAG_SUBPROGRAM, CompileUnit, DebugInfo
from gocore_dap.backends.cframes.lines import LineTable, read_line_table
from gocore_dap.backends.cframes.sections import DwarfFormatError, load_dwarf_sections
from gocore_dap.goviews.frames import package_path

__all__ = ["BuildLines", "read_build_lines"]

log = logging.getLogger(__name__)

_AT_DECL_FILE = 0x3A
_AT_DECL_LINE = 0x3B


@attrs.frozen
class BuildLines:
    """Per file named in the binary: the lines that hold code; per function: the line it is declared on."""

    code_lines: Mapping[str, frozenset[int]] = attrs.field(factory=dict)
    decl_lines: Mapping[str, int] = attrs.field(factory=dict)
    # Files whose compile unit was read: for these, an empty or missing `code_lines` entry is a fact.
    covered: frozenset[str] = frozenset()
    problem: str = ""


def _unit_wanted(unit: CompileUnit, packages: set[str], files: set[str]) -> bool:
    # Go names a unit after its package; a C unit (cgo) after its primary source file.
    return unit.name in packages or unit.name in files


def _walk_subprograms(unit: CompileUnit, table: LineTable | None, want_files: set[str]) -> dict[str, int]:
    """DW_AT_decl_line of the subprograms right under the unit's root."""
    out: dict[str, int] = {}
    for die in unit.top_level_dies():
        if die.tag == TAG_SUBPROGRAM and AT_NAME in die.attrs and _AT_DECL_LINE in die.attrs:
            line = die.attrs[_AT_DECL_LINE].value
            name = unit.string(die.attrs[AT_NAME])
            decl_file = die.attrs.get(_AT_DECL_FILE)
            in_file = True
            if decl_file is not None and isinstance(decl_file.value, int) and table is not None:
                in_file = table.file_name(decl_file.value) in want_files
            # An abstract instance of an inlined function names no file; the caller knows which file it is.
            if isinstance(line, int) and line > 0 and name and in_file:
                out.setdefault(name, line)
    return out


def read_build_lines(binary: Path, files: Iterable[str], functions: Iterable[str]) -> BuildLines:
    """The facts for `files` (paths as the binary names them) and `functions` (Go symbol names) from the
    DWARF of `binary` (the program, or its separate debug file). Never raises: a binary whose DWARF
    cannot be read gives empty facts and a `problem` (the marks then go unchecked)."""
    want_files = set(files)
    want_functions = set(functions)
    packages = {p for p in (package_path(f) for f in want_functions) if p}
    try:
        sections = load_dwarf_sections(binary)
        info = DebugInfo(sections)
        code: dict[str, set[int]] = {}
        decls: dict[str, int] = {}
        covered: set[str] = set()
        for unit in info.units():
            if unit.stmt_list is None or not _unit_wanted(unit, packages, want_files):
                continue
            table = read_line_table(sections, unit.stmt_list, unit.comp_dir, unit.name)
            for row in table.rows:
                if row.end_sequence or row.line <= 0:
                    continue
                name = table.file_name(row.file)
                if name in want_files:
                    code.setdefault(name, set()).add(row.line)
            covered.update(f for f in table.files if f in want_files)
            for name, line in _walk_subprograms(unit, table, want_files).items():
                if name in want_functions:
                    decls.setdefault(name, line)
    except (DwarfFormatError, OSError, IndexError, ValueError) as exc:
        log.info("no build facts from %s: %s", binary, exc)
        return BuildLines(problem=f"the DWARF of {binary} could not be read: {exc}")
    return BuildLines(
        code_lines={f: frozenset(lines) for f, lines in code.items()},
        decl_lines=decls,
        covered=frozenset(covered),
    )
