"""`python -m gocore_dap.corpus build [--toolchain go1.25.0] [--param k=v ...] [NAME ...]` and `... list`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from gocore_dap.corpus.builder import (
    STRIP_MODES,
    CorpusError,
    CrashArtifact,
    build,
    list_programs,
    load_manifest,
    programs_dir,
)


def _parse_param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    return key, value


def _describe(artifact: CrashArtifact) -> dict[str, object]:
    return {
        "name": artifact.name,
        "go_version": artifact.go_version,
        "params": dict(artifact.params),
        "exit_signal": artifact.exit_signal,
        "binary": str(artifact.binary),
        "core": str(artifact.core),
        "stderr": str(artifact.stderr),
        "stdout": str(artifact.stdout),
        "source_dir": str(artifact.source_dir),
        "build_dir": str(artifact.build_dir),
        "debug_file": str(artifact.debug_file) if artifact.debug_file else None,
    }


def _cmd_list(args: argparse.Namespace) -> int:
    for name in list_programs():
        if args.long:
            manifest = load_manifest(programs_dir() / name)
            print(f"{name:24} {manifest.description}")
        else:
            print(name)
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    names = args.names or list_programs()
    params = dict(args.param or [])
    failed = 0
    for name in names:
        try:
            artifact = build(
                name,
                toolchain=args.toolchain,
                params=params or None,
                cache_root=args.cache_root,
                timeout=args.timeout,
                trimpath=args.trimpath,
                strip=args.strip,
            )
        except CorpusError as exc:
            failed += 1
            print(f"{name}: FAILED: {exc}", file=sys.stderr)
            continue
        info = _describe(artifact)
        if args.json:
            print(json.dumps(info, sort_keys=True), flush=True)
        else:
            print(f"{artifact.name} ({artifact.go_version}, signal {artifact.exit_signal})")
            for key in ("binary", "core", "stderr", "stdout"):
                print(f"  {key:7} {info[key]}")
            sys.stdout.flush()
    if failed:
        print(f"{failed} of {len(names)} programs failed", file=sys.stderr)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gocore_dap.corpus", description="Build the crash corpus into real Go cores."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    list_parser = commands.add_parser("list", help="list the corpus programs")
    list_parser.add_argument("-l", "--long", action="store_true", help="show each program's description")
    list_parser.set_defaults(run=_cmd_list)

    build_parser = commands.add_parser("build", help="build programs (default: all) and print their paths")
    build_parser.add_argument("names", nargs="*", metavar="NAME")
    build_parser.add_argument("--toolchain", help="GOTOOLCHAIN to build with, e.g. go1.25.0 (default: local)")
    build_parser.add_argument(
        "--param",
        action="append",
        type=_parse_param,
        metavar="KEY=VALUE",
        help="override a manifest parameter (repeatable)",
    )
    build_parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds the program may run before it is killed (default 120)"
    )
    build_parser.add_argument("--cache-root", type=Path, help="cache directory (default <repo>/.cache/corpus)")
    build_parser.add_argument("--json", action="store_true", help="print one JSON object per artifact")
    build_parser.add_argument("--trimpath", action="store_true", help="build with -trimpath")
    build_parser.add_argument(
        "--strip",
        choices=STRIP_MODES,
        help="split: DWARF kept in debuginfo/binary.debug, the binary stripped; s-w: link with -ldflags=-s -w",
    )
    build_parser.set_defaults(run=_cmd_build)

    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
