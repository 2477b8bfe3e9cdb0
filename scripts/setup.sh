#!/usr/bin/env bash
# Set up a checkout for development: .venv with the package (editable, dev extras) and Delve in .tools/delve/
# (the release for the Go on PATH and the pinned one; .tools/bin/dlv links to the pinned one). Other releases,
# for cores of older Go, are installed on first use or by `gocore-dap install-delve --all`.
# Idempotent; a second run only checks and takes about a second. Progress goes to stderr.
# Environment: PYTHON (default python3) is the interpreter that creates .venv.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

venv="$repo/.venv"
tools="$repo/.tools/bin"
stamp="$venv/.gocore-dap-install-stamp"
python=${PYTHON:-python3}

say() { printf 'setup: %s\n' "$*" >&2; }
warn() { printf 'setup: WARNING: %s\n' "$*" >&2; }
die() {
  printf 'setup: ERROR: %s\n' "$*" >&2
  exit 1
}

# --- prerequisites -------------------------------------------------------------------------------------------

command -v "$python" >/dev/null 2>&1 ||
  die "$python not found. gocore-dap needs Python >= 3.11 (set PYTHON=/path/to/python3.11 to pick one)."
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "$python is Python $("$python" -c 'import platform; print(platform.python_version())'); gocore-dap needs >= 3.11 (set PYTHON=/path/to/python3.11)."

command -v go >/dev/null 2>&1 ||
  die "go not found on PATH. Go (>= 1.25) is needed to build Delve and the example programs: https://go.dev/doc/install"

check_cores() {
  local file=/proc/sys/kernel/core_pattern pattern hard
  if [[ ! -r $file ]]; then
    warn "cannot read $file: is this Linux? The examples and integration tests need the kernel to write core files."
    return 0
  fi
  pattern=$(<"$file")
  if [[ $pattern == '|'* ]]; then
    warn "kernel.core_pattern is '$pattern': cores are piped to a handler (systemd-coredump, apport, ...), so" \
      "a crashing program leaves no core file and the examples and integration tests cannot make their cores." \
      "To write cores into the crashing program's working directory, as root: sysctl -w kernel.core_pattern=core" \
      "(in a container this is the host's setting: set it there)."
  fi
  hard=$(ulimit -H -c)
  if [[ $hard == 0 ]]; then
    warn "the hard core-size limit (ulimit -H -c) is 0, so no process here can write a core; raise it (e.g. in /etc/security/limits.conf)."
  fi
}
check_cores

# Several people or scripts may run setup in the same checkout at once; pip and go must not race.
mkdir -p "$tools"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$repo/.tools/setup.lock"
  if ! flock -n 9; then
    say "waiting for another setup in this checkout to finish ..."
    flock 9
  fi
fi

# --- .venv ---------------------------------------------------------------------------------------------------

venv_usable() { "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
if [[ -e $venv ]] && ! venv_usable; then
  # An interrupted creation, a removed base interpreter, or a .venv copied from elsewhere.
  say ".venv is broken or older than Python 3.11: recreating it"
  rm -rf "$venv"
fi
if [[ ! -e $venv ]]; then
  say "creating .venv with $python ($("$python" -c 'import platform; print(platform.python_version())'))"
  "$python" -m venv "$venv" ||
    die "'$python -m venv' failed (see above; on Debian/Ubuntu the venv module is the python3-venv package)."
fi

# Reinstall when pyproject.toml changed (dependencies, entry points) or the checkout moved (editable paths).
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $repo"
have=$(cat "$stamp" 2>/dev/null || true)
if [[ $have != "$want" || ! -x $venv/bin/gocore-dap ]]; then
  say "installing gocore-dap (editable) with dev dependencies into .venv ..."
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    "$venv/bin/python" -m pip install --quiet --progress-bar off -e '.[dev]' ||
    die "pip install -e '.[dev]' failed (see above)."
  printf '%s\n' "$want" >"$stamp"
else
  say ".venv is up to date"
fi

# --- Delve ---------------------------------------------------------------------------------------------------

# Each command does nothing when its release is already in place. First the release that reads cores of the
# Go on PATH (the examples' and the tests' own), then the pinned one, which .tools/bin/dlv points at for
# scripts and tests that want "the" Delve.
"$venv/bin/gocore-dap" install-delve >/dev/null ||
  die "installing Delve failed (see above)."
pinned=$("$venv/bin/python" -c 'import gocore_dap; print(gocore_dap.DELVE_VERSION)')
"$venv/bin/gocore-dap" install-delve --release "$pinned" >/dev/null ||
  die "installing Delve $pinned failed (see above)."
ln -sfn "../delve/$pinned/dlv" "$tools/dlv"

# --- test tools ---------------------------------------------------------------------------------------------

# The split-debug-info tests serve debug files with a real debuginfod on loopback.
bash "$repo/scripts/setup-debuginfod.sh" ||
  warn "debuginfod is missing: the split-debug-info tests will skip (and fail under CI=true)."
# The language server's tests drive Neovim headless as a real LSP client.
bash "$repo/scripts/setup-neovim.sh" ||
  warn "nvim is missing: the language server's Neovim test will skip (and fail under CI=true)."

say "ready in ${SECONDS}s: .venv ($("$venv/bin/python" -c 'import platform; print(platform.python_version())')), $(go env GOVERSION), Delve $pinned in $repo/.tools/delve"
