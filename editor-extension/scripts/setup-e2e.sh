#!/usr/bin/env bash
# Install the tools of the extension's end-to-end tests (real VS Code in a headless browser):
#   - Debian packages: chromium (the browser playwright-core drives), libkrb5-dev (code-server's postinstall
#     builds the `kerberos` native module from source) and ripgrep (seeds @vscode/ripgrep, whose postinstall
#     would otherwise download rg from GitHub);
#   - npm: code-server 4.100.3 (VS Code 1.100.3) and playwright-core, exactly as pinned in
#     editor-extension/e2e/package-lock.json, into editor-extension/e2e/node_modules (git-ignored).
# Idempotent: when everything is in place a run only checks a stamp (well under a second).
# Needs root (or sudo) for apt-get when a Debian package is missing. Progress goes to stderr.
set -euo pipefail

ext=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
e2e=$ext/e2e
stamp=$e2e/node_modules/.gocore-e2e-stamp

say() { printf 'setup-e2e: %s\n' "$*" >&2; }
die() {
  printf 'setup-e2e: ERROR: %s\n' "$*" >&2
  exit 1
}

command -v node >/dev/null 2>&1 || die "node not found on PATH; code-server 4.100.3 needs Node.js 20."
command -v npm >/dev/null 2>&1 || die "npm not found on PATH."
node_major=$(node -p 'process.versions.node.split(".")[0]')
# code-server's postinstall refuses any other major version (4.93-4.100.x: Node 20).
[[ $node_major == 20 ]] || die "code-server 4.100.3 needs Node.js 20; this is $(node -v)."

# Two runs at once (pytest and test.sh, or two engineers) must not race npm.
if command -v flock >/dev/null 2>&1; then
  # The lock lives outside the work tree (nothing to ignore or commit), one per checkout.
  exec 9>"${TMPDIR:-/tmp}/gocore-dap-setup-e2e-$(printf '%s' "$e2e" | sha256sum | cut -c1-16).lock"
  flock -n 9 || {
    say "waiting for another setup-e2e in this checkout ..."
    flock 9
  }
fi

# --- Debian packages ---------------------------------------------------------------------------------------
apt_packages=(chromium libkrb5-dev ripgrep fonts-dejavu-core)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  command -v apt-get >/dev/null 2>&1 ||
    die "missing ${missing[*]} and no apt-get: install Chromium, ripgrep and the Kerberos headers by hand."
  sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || die "missing ${missing[*]}: run as root or install sudo."
    sudo=(sudo)
  fi
  say "apt-get install ${missing[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >&2
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
command -v chromium >/dev/null 2>&1 || die "chromium is installed but not on PATH."

# --- npm: code-server + playwright-core --------------------------------------------------------------------
want="$(sha256sum "$e2e/package-lock.json" | cut -d' ' -f1) node-$(node -v)"
have=$(cat "$stamp" 2>/dev/null || true)
if [[ $have == "$want" && -f $e2e/node_modules/code-server/out/node/entry.js ]]; then
  say "e2e tools are up to date"
  exit 0
fi

say "installing code-server and playwright-core (npm ci in $e2e; about a minute) ..."
# @vscode/ripgrep's postinstall first looks for its release archive in this cache and only downloads (from
# GitHub, unreachable here) when it is missing: seed it with Debian's rg.
tmp=${TMPDIR:-/tmp}
rg_cache=$tmp/vscode-ripgrep-cache-1.15.11
rg_archive=$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
if [[ ! -s $rg_archive ]]; then
  mkdir -p "$rg_cache"
  tar -czf "$rg_archive.tmp" -C "$(dirname "$(command -v rg)")" rg
  mv "$rg_archive.tmp" "$rg_archive"
fi

rm -f "$stamp"
(
  cd "$e2e"
  # unsafe_perm: as root the postinstall otherwise exits early; yes: node-pty's postinstall runs `npx node-gyp`.
  export npm_config_unsafe_perm=true npm_config_yes=true npm_config_nodedir=/usr
  export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
  npm ci --loglevel=error >&2
)
[[ -f $e2e/node_modules/code-server/out/node/entry.js ]] || die "npm ci finished but code-server is incomplete."
"$e2e/node_modules/.bin/code-server" --version >/dev/null 2>&1 || die "code-server was installed but does not start."
printf '%s\n' "$want" >"$stamp"
say "e2e tools installed"
