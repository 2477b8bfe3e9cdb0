#!/usr/bin/env bash
# Build the extension: `npm ci` (only when package-lock.json changed since the last one) and `tsc` into out/.
# Idempotent and quick when nothing changed (tsc is incremental). Progress goes to stderr.
set -euo pipefail

ext=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ext"

say() { printf 'extension-build: %s\n' "$*" >&2; }
die() {
  printf 'extension-build: ERROR: %s\n' "$*" >&2
  exit 1
}

command -v node >/dev/null 2>&1 || die "node not found on PATH (Node.js >= 20 is needed to build the extension)."
command -v npm >/dev/null 2>&1 || die "npm not found on PATH."
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "Node.js >= 20 is needed (node:test, fetch); this is $(node -v)."

if command -v flock >/dev/null 2>&1; then
  # The lock lives outside the work tree (nothing to ignore or commit), one per checkout.
  exec 9>"${TMPDIR:-/tmp}/gocore-dap-extension-build-$(printf '%s' "$ext" | sha256sum | cut -c1-16).lock"
  flock -n 9 || {
    say "waiting for another build in this checkout ..."
    flock 9
  }
fi

stamp=node_modules/.gocore-build-stamp
want="$(sha256sum package-lock.json | cut -d' ' -f1) node-$(node -v)"
if [[ $(cat "$stamp" 2>/dev/null || true) != "$want" || ! -x node_modules/.bin/tsc ]]; then
  say "npm ci (devDependencies: typescript, @types/vscode, DebugClient, vsce) ..."
  npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false npm ci --loglevel=error >&2
  printf '%s\n' "$want" >"$stamp"
fi

say "tsc ..."
node_modules/.bin/tsc -p . --incremental --tsBuildInfoFile out/.tsbuildinfo
