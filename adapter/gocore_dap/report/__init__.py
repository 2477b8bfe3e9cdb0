"""`gocore-dap report PROGRAM CORE`: the crash analysis without an editor (CI, tickets, chat).

    gocore-dap report PROGRAM CORE [--format text|markdown|json|html] [--output FILE]
                      [--source-root DIR] [--debug-info-dir DIR]... [--symbol-file FILE]
                      [--group-by stack|location|waitReason|waitObject|creator|startFunction|label:KEY]
                      [--no-color] [--progress] [--dlv PATH]

Exit codes (stable, for scripts):
    0  the report was written
    1  an unexpected failure (including: the output file could not be written)
    2  usage: bad options (argparse's own code, and a --group-by it cannot use)
    3  PROGRAM or CORE is unusable (missing, not a core, truncated, not the program that dumped it...)
    4  Delve failed: not found, could not load the core, or failed while reading it

Progress goes to stderr when stderr is a terminal, or always with --progress; the report itself goes
to stdout or --output. Text is coloured when it goes to a terminal, unless NO_COLOR is set or
--no-color is given.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from gocore_dap.errors import GocoreError
from gocore_dap.report.model import SCHEMA_VERSION, Report

# Nothing that reads a core is imported here: `gocore-dap` builds its command line from this module on
# every start, the DAP server's included (tests/unit/test_startup_imports.py).

__all__ = [
    "EXIT_DELVE",
    "EXIT_FAILED",
    "EXIT_INPUT",
    "EXIT_OK",
    "EXIT_USAGE",
    "FORMATS",
    "SCHEMA_VERSION",
    "Report",
    "add_report_arguments",
    "exit_code_of",
    "render",
    "run_report",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_DELVE = 4


def exit_code_of(error: GocoreError) -> int:
    """The exit code for an error, by its id's thousand (gocore_dap.errors): the 2000s are the input
    files, the 3000s Delve; anything else is another failure."""
    return {2: EXIT_INPUT, 3: EXIT_DELVE}.get(int(error.error_id) // 1000, EXIT_FAILED)


FORMATS = ("text", "markdown", "json", "html")


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `gocore-dap report` (PROGRAM and CORE are added too when missing)."""
    known = {a.dest for a in parser._actions}
    if "program" not in known:
        parser.add_argument("program", metavar="PROGRAM", type=Path, help="the Go executable that crashed")
    if "core" not in known:
        parser.add_argument("core", metavar="CORE", type=Path, help="its core dump (may be zstd/lz4/xz/gzip)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("--output", "-o", metavar="FILE", type=Path, help="write the report here instead of stdout")
    parser.add_argument(
        "--group-by",
        default="stack",
        metavar="HOW",
        help="group goroutines by stack (default), location, waitReason, waitObject, creator, startFunction "
        "or label:KEY",
    )
    parser.add_argument(
        "--your-code",
        default="modules",
        metavar="SCOPE",
        help="which frames are the program's own, where the report points: modules (default: the main module and "
        "its non-standard-library dependencies), main-module, or non-runtime (the standard library too)",
    )
    parser.add_argument("--no-color", action="store_true", help="no colour in text output")
    parser.add_argument("--progress", action="store_true", help="print progress on stderr even when not a terminal")
    parser.add_argument(
        "--source-root",
        metavar="DIR",
        help="where the program's main module is checked out, for -trimpath builds and cores from another machine "
        "(default: found from the current directory)",
    )
    parser.add_argument(
        "--debug-info-dir",
        metavar="DIR",
        action="append",
        default=[],
        help="a folder with separate debug information for a stripped program (.build-id layout or debuglink "
        "names); may be given more than once. DEBUGINFOD_URLS is used too",
    )
    parser.add_argument(
        "--symbol-file",
        metavar="FILE",
        help="an unstripped build of the same program (same build ID), or its debug file, for a stripped program",
    )
    parser.add_argument(
        "--dlv",
        metavar="PATH",
        help="the Delve to use (default: GOCORE_DAP_DLV, then the pinned one gocore-dap installed; never PATH)",
    )


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    if fmt == "text":
        from gocore_dap.report.render_text import render_text

        return render_text(report, color=color)
    if fmt == "markdown":
        from gocore_dap.report.render_markdown import render_markdown

        return render_markdown(report)
    if fmt == "json":
        from gocore_dap.report.render_json import render_json

        return render_json(report)
    if fmt == "html":
        from gocore_dap.report.render_html import render_html

        return render_html(report)
    raise ValueError(f"unknown report format {fmt!r}")


def should_color(stream: TextIO, *, no_color: bool) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _progress_printer(stream: TextIO, *, force: bool) -> Callable[[str], None] | None:
    isatty = bool(getattr(stream, "isatty", None) and stream.isatty())
    if not (isatty or force):
        return None

    def show(text: str) -> None:
        if isatty:
            # One line rewritten in place; cleared before the next message.
            stream.write(f"\r\x1b[2Kgocore-dap: {text}")
        else:
            stream.write(f"gocore-dap: {text}\n")
        stream.flush()

    return show


def run_report(args: argparse.Namespace) -> int:
    """Run `gocore-dap report` from parsed arguments (add_report_arguments); returns the exit code."""
    import asyncio

    from gocore_dap.report.collect import build_report, parse_group_by_for_report, parse_your_code_for_report

    fmt = getattr(args, "format", None) or "text"
    group_by = getattr(args, "group_by", None) or "stack"
    output: Path | None = getattr(args, "output", None)
    stderr = sys.stderr
    your_code = getattr(args, "your_code", None) or "modules"
    try:
        parse_group_by_for_report(group_by)
        parse_your_code_for_report(your_code)
    except ValueError as exc:
        print(f"gocore-dap report: {exc}", file=stderr)
        return EXIT_USAGE
    progress = _progress_printer(stderr, force=bool(getattr(args, "progress", False)))
    try:
        report = asyncio.run(
            build_report(args.program, args.core, dlv=getattr(args, "dlv", None), group_by=group_by,
                         progress=progress, source_root=getattr(args, "source_root", None),
                         debug_info_directories=getattr(args, "debug_info_dir", None) or (),
                         symbol_file=getattr(args, "symbol_file", None), your_code=your_code)
        )  # fmt: skip
    except KeyboardInterrupt:
        return 130
    except GocoreError as exc:
        if progress is not None and stderr.isatty():
            stderr.write("\r\x1b[2K")
        code = exit_code_of(exc)
        what = {EXIT_INPUT: "cannot use the input files", EXIT_DELVE: "Delve failed"}.get(code, "failed")
        # The same id and text the editor shows for the same files (gocore_dap.errors).
        print(f"gocore-dap report: {what} (error {int(exc.error_id)}): {exc.text}", file=stderr)
        return code
    if progress is not None and stderr.isatty():
        stderr.write("\r\x1b[2K")
        stderr.flush()
    if output is not None:
        text = render(report, fmt, color=False)
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"gocore-dap report: cannot write {output}: {exc.strerror or exc}", file=stderr)
            return EXIT_FAILED
        return EXIT_OK
    text = render(report, fmt, color=fmt == "text" and should_color(sys.stdout, no_color=args.no_color))
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # `gocore-dap report ... | head` is fine.
        pass
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (`python -m gocore_dap.report`), same options as `gocore-dap report`."""
    parser = argparse.ArgumentParser(prog="gocore-dap report", description="Print the crash report of PROGRAM's CORE.")
    add_report_arguments(parser)
    return run_report(parser.parse_args(argv))
