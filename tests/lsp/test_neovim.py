"""A real editor that is not VS Code: Neovim's built-in LSP client, headless, with `gocore-dap lsp`.

tests/lsp/neovim/probe.lua opens the corpus program's main.go in Neovim with the server attached (the core
given as initializationOptions), waits for the diagnostics and reads back `vim.diagnostic.get()`, a hover
and the code lenses. They must show the crash line with the runtime's first line and every parked line
with the traceback's counts. Neovim comes from scripts/setup-neovim.sh (Debian `neovim`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gocore_dap.goviews.traceback_text import parse_traceback
from tests.conftest import require_tool
from tests.lsp.client import SERVER
from tests.lsp.expected import expected_lines, parse_summary
from tests.lsp.test_lsp_corpus import _artifact, _main_go
from tests.support.expected_locations import expected_landing

pytestmark = pytest.mark.integration

PROBE = Path(__file__).parent / "neovim" / "probe.lua"
ERROR, INFO = 1, 3  # vim.diagnostic.severity


@pytest.mark.parametrize("name", ["many_goroutines", "deadlock"])
def test_neovim_shows_the_crash_and_the_parked_goroutines(name: str, tmp_path: Path) -> None:
    nvim = shutil.which("nvim")
    require_tool(nvim is not None, "nvim (run scripts/setup-neovim.sh)")
    assert nvim is not None
    artifact = _artifact(name)
    source = _main_go(artifact)
    parsed = parse_traceback(artifact.stderr_text())
    expected = expected_lines(parsed)
    out = tmp_path / "seen.json"
    env = {
        **os.environ,
        "GOCORE_NVIM_SERVER": str(SERVER),
        "GOCORE_NVIM_ROOT": str(source.parent),
        "GOCORE_NVIM_SOURCE": str(source),
        "GOCORE_NVIM_PROGRAM": str(artifact.binary),
        "GOCORE_NVIM_CORE": str(artifact.core),
        "GOCORE_NVIM_OUT": str(out),
        "HOME": str(tmp_path),  # no user config, shada or log of the machine's user
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    proc = subprocess.run(
        [nvim, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {PROBE}"],
        env=env,
        cwd=source.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert out.exists(), f"Neovim wrote nothing (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    seen = json.loads(out.read_text())
    assert "error" not in seen, seen["error"]
    assert seen["client_started"] and seen["got_crash"], seen
    assert not seen["messages"], seen["messages"]

    crash_line = expected_landing(name).line
    errors = {d["lnum"] + 1: d for d in seen["diagnostics"] if d["severity"] == ERROR}
    assert set(errors) == {crash_line}, errors
    assert errors[crash_line]["message"].splitlines()[0] == parsed.message_lines[0]
    assert errors[crash_line]["source"] == "gocore-dap"

    infos = {d["lnum"] + 1: parse_summary(d["message"]) for d in seen["diagnostics"] if d["severity"] == INFO}
    crashed = parsed.kind == "panic"
    want = {
        line: e.states
        for line, e in expected.items()
        if not (crashed and line == crash_line and sum(e.states.values()) == 1)
    }
    assert infos == want, "Neovim's diagnostics vs the traceback"

    assert seen.get("hover", "").startswith(f"**{parsed.message_lines[0]}**"), seen.get("hover")
    lens_total = sum(int(lens["title"].split()[0].replace(",", "")) for lens in seen["lenses"])
    assert lens_total == sum(sum(e.states.values()) for e in expected.values())
    assert seen["stopped"], "the server did not stop with the client"
