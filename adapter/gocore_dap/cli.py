"""The `gocore-dap` console script: the DAP server (default), the language server, the crash report,
Delve's install."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import gocore_dap


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `only`, just that command's options (the DAP server, started by an editor
    that waits for its first answer, does not build the other commands' options)."""
    parser = argparse.ArgumentParser(
        prog="gocore-dap",
        description="DAP server that opens Go core dumps through Delve and shows the crash.",
    )
    parser.add_argument("--version", action="version", version=f"gocore-dap {gocore_dap.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the DAP server (the default command)")
    serve.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="serve DAP over TCP instead of stdio, a session per connection (give a loopback address)",
    )
    serve.add_argument("--log-file", metavar="FILE", type=Path, help="write the adapter's own log here")
    serve.add_argument(
        "--verbose",
        action="store_true",
        help="log every step, and every request with its time (with --log-file; or GOCORE_DAP_VERBOSE=1)",
    )
    _add_debugpy(serve)
    if only == "serve":
        return parser

    lsp = commands.add_parser(
        "lsp",
        help="run the language server on stdio: the crash and the goroutines on the source lines",
        description="A Language Server (LSP, stdio) that marks where the program died and where its goroutines "
        "were waiting, in any editor. The core comes from initializationOptions, the gocore.openCore command or "
        "the first go-core configuration of .vscode/launch.json (docs/lsp.md).",
    )
    lsp.add_argument("--log-file", metavar="FILE", type=Path, help="write the server's own log here")
    lsp.add_argument("--verbose", action="store_true", help="log every message (with --log-file)")
    # LSP clients (vscode-languageclient, many editor configurations) add --stdio: it is the only transport.
    lsp.add_argument("--stdio", action="store_true", help="talk LSP on stdin/stdout (the default and only transport)")
    _add_debugpy(lsp)

    report = commands.add_parser(
        "report",
        help="print the crash report of PROGRAM's CORE (text, markdown, json or html)",
        description="The crash analysis without an editor: crash card, goroutine buckets, stacks. "
        "Exit codes: 0 report written, 1 other failure (e.g. the output file cannot be written), 2 usage, "
        "3 bad input files, 4 Delve failed.",
    )
    report.add_argument("program", metavar="PROGRAM", type=Path, help="the Go executable that crashed")
    report.add_argument("core", metavar="CORE", type=Path, help="its core dump (may be zstd/lz4/xz/gzip)")
    from gocore_dap.report import add_report_arguments

    add_report_arguments(report)
    _add_debugpy(report)

    install = commands.add_parser(
        "install-delve",
        help="build the Delve release(s) gocore-dap needs with `go install` (for offline use)",
        description=(
            "Build Delve releases with `go install` and put each where gocore-dap looks for it "
            "(.tools/delve/VERSION in a source checkout, else $XDG_DATA_HOME/gocore-dap/delve-VERSION). "
            "gocore-dap also does this by itself the first time a core needs a release; run this beforehand "
            "to work offline. Without --for, --release or --all: the release for the Go on PATH. "
            "A release already in place is left alone."
        ),
    )
    install.add_argument(
        "--for",
        dest="go_versions",
        metavar="GOVERSION",
        action="append",
        default=[],
        help="the release that reads cores of programs built with this Go (go1.22, 1.21.13, ...); repeatable",
    )
    install.add_argument(
        "--release",
        dest="releases",
        metavar="VERSION",
        action="append",
        default=[],
        help=f"a Delve release by version (v1.25.2, ...; the newest is {gocore_dap.DELVE_VERSION}); repeatable",
    )
    install.add_argument(
        "--all", dest="everything", action="store_true", help="every release gocore-dap uses (all supported Go)"
    )
    install.add_argument(
        "--dest",
        metavar="DIR",
        type=Path,
        help="put dlv into DIR instead (one release only; then point dlvPath or GOCORE_DAP_DLV at DIR/dlv)",
    )
    install.add_argument("--force", action="store_true", help="reinstall even if the release is already there")
    return parser


def _add_debugpy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debugpy",
        metavar="[HOST:]PORT",
        help="wait for a Python debugger to attach with debugpy before starting (for working on gocore-dap; "
        "needs the 'debug' extra: pip install 'gocore-dap[debug]')",
    )


def _with_default_command(argv: Sequence[str]) -> list[str]:
    """`gocore-dap` and `gocore-dap --listen ...` mean `gocore-dap serve ...`; a leading `--debugpy ADDR`
    goes to the command (`gocore-dap --debugpy 5678 lsp` is `gocore-dap lsp --debugpy 5678`)."""
    args = list(argv)
    lead: list[str] = []
    while args and (args[0] == "--debugpy" or args[0].startswith("--debugpy=")):
        take = 2 if args[0] == "--debugpy" else 1
        lead += args[:take]
        del args[:take]
    if not args or (args[0].startswith("-") and args[0] not in ("-h", "--help", "--version")):
        return ["serve", *lead, *args]
    return [args[0], *lead, *args[1:]]


def main(argv: Sequence[str] | None = None) -> int:
    words = _with_default_command(sys.argv[1:] if argv is None else argv)
    args = build_parser("serve" if words[:1] == ["serve"] else None).parse_args(words)

    if args.command == "install-delve":
        # Imported here so that `serve` does not pay for what only this command needs.
        from gocore_dap.backends.delve.install import run_install_delve

        return run_install_delve(
            args.dest,
            force=args.force,
            releases=args.releases,
            go_versions=args.go_versions,
            everything=args.everything,
        )

    if getattr(args, "debugpy", None):
        # Imported here: debugpy is an optional extra, and only this option needs it.
        from gocore_dap.debug_attach import wait_for_debugger

        try:
            wait_for_debugger(args.debugpy)
        except (ValueError, ImportError, OSError, RuntimeError) as exc:
            print(f"gocore-dap: {exc}", file=sys.stderr)
            return 2

    if args.command == "serve":
        return _serve(args)

    if args.command == "lsp":
        from gocore_dap.lsp.main import run_lsp

        return run_lsp(args.log_file, args.verbose)

    from gocore_dap.report import run_report

    return run_report(args)


def _serve(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os

    from gocore_dap.server.main import parse_listen, serve_stdio, serve_tcp

    log_file = args.log_file or os.environ.get("GOCORE_DAP_LOG")
    # The environment reaches an adapter the editor starts (its command line is the editor's to choose).
    verbose = args.verbose or os.environ.get("GOCORE_DAP_VERBOSE") == "1"
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO if log_file else logging.WARNING,
        filename=str(log_file) if log_file else None,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.listen:
            try:
                host, port = parse_listen(args.listen)
            except ValueError as exc:
                print(f"gocore-dap: {exc}", file=sys.stderr)
                return 2
            asyncio.run(serve_tcp(host, port))
        else:
            asyncio.run(serve_stdio())
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"gocore-dap: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
