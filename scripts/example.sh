#!/usr/bin/env bash
# The main job on a bundled example: set up the checkout, build one example program from
# protocol-fixtures/programs into a real crash core (cached in .cache/corpus), then print gocore-dap's
# crash report for it.
# Usage: scripts/example.sh [PROGRAM_NAME]    (default: classic)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

say() { printf 'example: %s\n' "$*" >&2; }
programs() { (cd protocol-fixtures/programs && ls -1); }

case ${1:-} in
  -h | --help)
    printf 'usage: %s [PROGRAM_NAME]   (default: classic)\nprograms:\n' "$0"
    programs | sed 's/^/  /'
    exit 0
    ;;
esac
name=${1:-classic}
if [[ $name == */* || ! -d protocol-fixtures/programs/$name ]]; then
  say "no bundled program named '$name'; choose one of:"
  programs | sed 's/^/  /' >&2
  exit 2
fi

bash scripts/setup.sh

say "building the '$name' example and its core ..."
# The corpus API gives the paths as data, whatever its CLI chooses to print.
artifact=$(.venv/bin/python -c '
import sys
from gocore_dap.corpus import build
artifact = build(sys.argv[1])
print(artifact.binary)
print(artifact.core)
' "$name")
{
  read -r binary
  read -r core
} <<<"$artifact"
say "program: $binary"
say "core:    $core"

exec .venv/bin/gocore-dap report "$binary" "$core"
