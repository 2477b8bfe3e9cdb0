"""What the adapter imports before it answers `initialize`: the wire and session layers only.

An editor waits for `initialize` before anything else, so start-up must not pay for what only opening a
core needs (the core model, Delve, the preflight, Go knowledge, source mapping), nor for the report or the
language server. Measured in a fresh interpreter, the way `gocore-dap` starts: build the command line,
import the server, answer `initialize` through a real DapConnection.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# Layers and libraries that must not be loaded to answer `initialize`.
NOT_AT_START = (
    "gocore_dap.core.",
    "gocore_dap.backends.delve.api",
    "gocore_dap.backends.delve.process",
    "gocore_dap.backends.delve.crash_probe",
    "gocore_dap.backends.direct",
    "gocore_dap.backends.cframes",
    "gocore_dap.preflight",
    "gocore_dap.goviews",
    "gocore_dap.sources",
    "gocore_dap.report",
    "gocore_dap.lsp",
    "gocore_dap.session.target",
    "numpy",
    "pygls",
    "lsprotocol",
    "debugpy",
    "zstandard",
    "lz4",
)
# The core package (its __init__ imports nothing) and the one core module the wire layer uses: the mapping of
# backend failures to error ids, with no I/O.
ALLOWED = ("gocore_dap.core", "gocore_dap.core.failures")

PROBE = textwrap.dedent(
    """
    import asyncio, json, sys
    from gocore_dap import cli

    cli.build_parser("serve")  # what `gocore-dap` (the DAP server) builds first
    from gocore_dap.server.connection import DapConnection
    from gocore_dap.transport.dap_framing import encode_message

    request = {"seq": 1, "type": "request", "command": "initialize", "arguments": {"adapterID": "go-core"}}
    written = []
    at_answer = []

    async def main() -> None:
        chunks = [encode_message(request)]
        answered = asyncio.Event()

        async def read() -> bytes:
            if chunks:
                return chunks.pop()
            await answered.wait()
            return b""

        async def write(data: bytes) -> None:
            if not written:
                at_answer.extend(sorted(sys.modules))  # what was loaded when the answer went out
            written.append(data)
            answered.set()

        await DapConnection(read, write).run()

    asyncio.run(main())
    print(json.dumps({"modules": at_answer, "answered": b"supportsGoroutinesRequest" in b"".join(written)}))
    """
)


def test_initialize_needs_only_the_wire_and_session_layers() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["answered"], done.stdout
    loaded = [
        name
        for name in result["modules"]
        if any(name == p.rstrip(".") or name.startswith(p) for p in NOT_AT_START) and name not in ALLOWED
    ]
    assert not loaded, f"imported before `initialize` was answered: {loaded}"
    # The probe itself must see what it judges: the server and the session were loaded.
    assert {"gocore_dap.server.connection", "gocore_dap.session.session"} <= set(result["modules"])


def test_the_report_command_refuses_bad_files_before_importing_delve() -> None:
    """`gocore-dap report` on a missing file imports neither Delve's client nor the goroutine model."""
    probe = textwrap.dedent(
        """
        import json, sys
        from gocore_dap import cli
        code = cli.main(["report", "/nonexistent/program", "/nonexistent/core"])
        print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 3, done.stderr
    heavy = [
        m
        for m in result["modules"]
        if m.startswith(("gocore_dap.backends.delve.process", "gocore_dap.core.goroutines", "numpy"))
    ]
    assert not heavy, heavy
