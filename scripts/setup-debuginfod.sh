#!/usr/bin/env bash
# Install the debuginfod server (Debian package `debuginfod`, elfutils) that the split-debug-info tests run on
# loopback: they start `debuginfod -p PORT -F DIR -d DB` on a folder of debug files and let gocore-dap fetch
# from it. gocore-dap itself needs no debuginfod program (it speaks HTTP to the servers of DEBUGINFOD_URLS).
# Idempotent: when `debuginfod` is on PATH this only checks. Needs root (or sudo) for apt-get.
# Exit status: 0 when debuginfod is there afterwards, 1 otherwise (the tests skip locally, fail under CI=true).
set -euo pipefail

say() { printf 'setup-debuginfod: %s\n' "$*" >&2; }

if command -v debuginfod >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "debuginfod is not installed and there is no apt-get: install elfutils' debuginfod server by hand" \
    "(Fedora: dnf install elfutils-debuginfod) to run the split-debug-info tests."
  exit 1
fi
sudo=()
if ((EUID != 0)); then
  if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
    say "debuginfod is not installed; run \`sudo apt-get install debuginfod\` to run the split-debug-info tests."
    exit 1
  fi
  sudo=(sudo -n)
fi
# Two setups at once must not race dpkg.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/gocore-dap-setup-debuginfod.lock"
  flock 9
  command -v debuginfod >/dev/null 2>&1 && exit 0
fi
say "apt-get install debuginfod ..."
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" apt-get install -y -qq --no-install-recommends debuginfod >&2
command -v debuginfod >/dev/null 2>&1 || {
  say "apt-get installed debuginfod but it is not on PATH"
  exit 1
}
say "installed $(debuginfod --version 2>&1 | head -1)"
