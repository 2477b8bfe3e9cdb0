#!/usr/bin/env bash
# Run every test: set up the checkout, then lint and format check (ruff), type-check (mypy) and all pytest suites
# (unit, protocol, integration). Extra arguments go to pytest, e.g. `scripts/test.sh tests/unit -x`.
# Every step runs even if an earlier one failed; the exit code is non-zero if any step failed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash scripts/setup.sh

failed=()
step() {
  local name=$1
  shift
  printf '\n=== %s: %s\n' "$name" "$*" >&2
  local rc=0
  "$@" || rc=$?
  if ((rc != 0)); then
    failed+=("$name (exit $rc)")
  fi
  return 0
}

step ruff .venv/bin/ruff check adapter tests bench
step ruff-format .venv/bin/ruff format --check adapter tests bench
step mypy .venv/bin/mypy

# The editor extension: build it and install its test tools (code-server, Chromium); pytest then runs its
# unit, protocol and end-to-end tests (tests/extension, tests/e2e) so that pytest's summary closes the run.
step extension-setup bash editor-extension/scripts/setup.sh

printf '\n=== pytest\n' >&2
pytest_rc=0
.venv/bin/pytest -ra "$@" || pytest_rc=$?
case $pytest_rc in
  0) ;;
  5) failed+=("pytest (exit 5: no tests were collected, which counts as a failure)") ;;
  *) failed+=("pytest (exit $pytest_rc)") ;;
esac

if ((${#failed[@]} > 0)); then
  printf '\ntest.sh: FAILED:\n' >&2
  printf '  - %s\n' "${failed[@]}" >&2
  exit 1
fi
