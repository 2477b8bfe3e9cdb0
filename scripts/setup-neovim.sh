#!/usr/bin/env bash
# Install Neovim (Debian package `neovim`, 0.7.2 on Debian 12): the language server's tests run it headless as
# a real LSP client that is not VS Code (tests/lsp/test_neovim.py). gocore-dap itself does not need it.
# Idempotent: when `nvim` is on PATH this only checks. Needs root (or sudo) for apt-get.
# Exit status: 0 when nvim is there afterwards, 1 otherwise (the test skips locally, fails under CI=true).
set -euo pipefail

say() { printf 'setup-neovim: %s\n' "$*" >&2; }

if command -v nvim >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "nvim is not installed and there is no apt-get: install Neovim (>= 0.7) by hand to run the Neovim test."
  exit 1
fi
sudo=()
if ((EUID != 0)); then
  if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
    say "nvim is not installed; run \`sudo apt-get install neovim\` to run the Neovim test."
    exit 1
  fi
  sudo=(sudo -n)
fi
# Two setups at once must not race dpkg (the lock is apt's, shared with the other setup scripts).
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/gocore-dap-setup-apt.lock"
  flock 9
  command -v nvim >/dev/null 2>&1 && exit 0
fi
say "apt-get install neovim ..."
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" apt-get install -y -qq --no-install-recommends neovim >&2
command -v nvim >/dev/null 2>&1 || {
  say "apt-get installed neovim but nvim is not on PATH"
  exit 1
}
say "installed $(nvim --version | head -1)"
