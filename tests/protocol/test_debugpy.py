"""`--debugpy [HOST:]PORT`: gocore-dap waits for a Python debugger, and a DAP client attached to that port
talks to debugpy; once the debugger is attached, the server goes on and its stdout still carries only its
own protocol (debugpy's adapter must not inherit stdin/stdout)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.support.dap_client import REPO
from tests.support.tcp_dap import TcpDapClient

SERVER = REPO / ".venv" / "bin" / "gocore-dap"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _connect(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> TcpDapClient:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return TcpDapClient("127.0.0.1", port, connect_timeout=5)
        except OSError:
            assert process.poll() is None, f"gocore-dap exited with {process.returncode}"
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _lsp_message(stdout: object, timeout: float = 60) -> dict[str, object]:
    """One LSP message from the server's stdout (headers, then exactly Content-Length bytes of JSON)."""
    result: dict[str, object] = {}

    def read() -> None:
        length = None
        while True:
            line = stdout.readline()  # type: ignore[attr-defined]
            if not line:
                return
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode().partition(":")
            assert name.lower() in ("content-length", "content-type"), f"not an LSP header: {line!r}"
            if name.lower() == "content-length":
                length = int(value)
        assert length is not None
        result.update(json.loads(stdout.read(length)))  # type: ignore[attr-defined]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert result, "no LSP message on stdout"
    return result


@pytest.mark.parametrize("command", [[], ["lsp"]], ids=["dap", "lsp"])
def test_debugpy_answers_initialize_and_the_server_goes_on(command: list[str], tmp_path: Path) -> None:
    require_tool(SERVER.exists(), f"{SERVER} (run scripts/setup.sh)")
    require_tool(bool(__import__("importlib").util.find_spec("debugpy")), "debugpy (pip install 'gocore-dap[debug]')")
    port = _free_port()
    process = subprocess.Popen(
        [str(SERVER), "--debugpy", f"127.0.0.1:{port}", *command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    client = None
    try:
        client = _connect(port, process)
        response = client.request("initialize", {"adapterID": "debugpy", "clientID": "gocore-dap-tests"}, timeout=60)
        assert response["success"] is True, response
        assert response["body"].get("supportsConfigurationDoneRequest"), response
        # debugpy answers `attach` once configuration is done, as DAP allows.
        attach = client.send("attach", {"justMyCode": False})
        client.event("initialized")
        client.ok("configurationDone")
        attached = client.wait_for(lambda m: m.get("type") == "response" and m.get("request_seq") == attach)
        assert attached["success"] is True, attached
        # Attached: the server starts, and its stdout is its protocol alone.
        assert process.stdin is not None and process.stdout is not None
        if command == ["lsp"]:
            params = {"processId": None, "rootUri": None, "capabilities": {}}
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}).encode()
            process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            process.stdin.flush()
            answer = _lsp_message(process.stdout)
            assert answer.get("id") == 1 and "capabilities" in answer["result"], answer  # type: ignore[operator]
        else:
            body = json.dumps({"seq": 1, "type": "request", "command": "initialize",
                               "arguments": {"adapterID": "go-core"}}).encode()  # fmt: skip
            process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            process.stdin.flush()
            answer = _lsp_message(process.stdout)
            assert answer.get("type") == "response" and answer.get("success") is True, answer
        with contextlib.suppress(Exception):
            client.request("disconnect", {}, timeout=10)
    finally:
        if client is not None:
            client.close()
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    stderr = process.stderr.read().decode() if process.stderr else ""
    assert f"waiting for a Python debugger (debugpy) on 127.0.0.1:{port}" in stderr, stderr


def test_debugpy_bad_address_is_a_usage_error() -> None:
    require_tool(SERVER.exists(), f"{SERVER} (run scripts/setup.sh)")
    proc = subprocess.run([str(SERVER), "--debugpy", "nowhere:port", "lsp"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "expected [HOST:]PORT" in proc.stderr, proc.stderr
