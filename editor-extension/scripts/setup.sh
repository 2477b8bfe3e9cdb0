#!/usr/bin/env bash
# Everything the extension's tests need, for scripts/test.sh and CI: build the extension (npm ci + tsc) and
# install the end-to-end tools (Debian chromium, code-server 4.100.3, playwright-core). Idempotent: about a
# second when all is in place. The tests themselves run from pytest (tests/extension, tests/e2e).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bash "$here/build.sh"
bash "$here/setup-e2e.sh"
