#!/usr/bin/env bash
# Build the extension and run its unit tests and protocol tests (DebugClient against the real gocore-dap on
# a real corpus core) with node's test runner. The same suites run from pytest (tests/extension); the
# end-to-end tests in real VS Code run from pytest only (tests/e2e), after scripts/setup-e2e.sh.
# Usage: editor-extension/scripts/test.sh [--unit-only]
set -euo pipefail

ext=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
repo=$(cd "$ext/.." && pwd)
cd "$ext"

bash scripts/build.sh

rc=0
printf '\n=== extension unit tests\n' >&2
core_json=""
if [[ ${1:-} != --unit-only ]]; then
  # A real core for the tests that read one (ELF parsing) and for the protocol tests.
  if [[ -x $repo/.venv/bin/python ]]; then
    core_json=$("$repo/.venv/bin/python" -m gocore_dap.corpus build classic --json | tail -1) || core_json=""
  fi
  [[ -n $core_json ]] || printf 'test.sh: no corpus core (run scripts/setup.sh at the repo root); the tests that need one skip\n' >&2
fi
field() { node -e 'const j=JSON.parse(process.argv[1]); process.stdout.write(j[process.argv[2]] ?? "")' "$core_json" "$1"; }
if [[ -n $core_json ]]; then
  export GOCORE_TEST_PROGRAM GOCORE_TEST_CORE
  GOCORE_TEST_PROGRAM=$(field binary)
  GOCORE_TEST_CORE=$(field core)
fi
# Runs node's test runner (spec output on the terminal, TAP into a file that is read for skips): a test that
# skipped while its inputs were there fails the run; without a core only the tests that need one may skip.
run_node_tests() {
  local tap
  tap=$(mktemp)
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" "$@" || rc=1
  if grep -Eq '^ *ok [0-9]+ - .* # (SKIP|TODO)' "$tap"; then
    printf 'test.sh: skipped or todo:\n' >&2
    grep -E '^ *ok [0-9]+ - .* # (SKIP|TODO)' "$tap" | sed 's/^ */  /' >&2
    [[ -z $core_json ]] || rc=1
  fi
  rm -f "$tap"
}

run_node_tests out/test/unit/

if [[ ${1:-} != --unit-only ]]; then
  printf '\n=== extension protocol tests (DebugClient -> gocore-dap)\n' >&2
  run_node_tests --test-concurrency=1 out/test/protocol/
fi
exit $rc
