"""The language server under bad input: every request gets an answer (an LSP error where it cannot be
carried out), the process never dies of it, stdout carries nothing but LSP, and a core that cannot be
opened is reported with the same error id and text as the debugger's `launch`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from tests.conftest import require_tool
from tests.lsp.client import SERVER, LspSession, uri_of
from tests.support.dap_client import DapClient


class RawLsp:
    """Frames bytes by hand, so that anything (malformed JSON, wrong params) can be sent."""

    def __init__(self) -> None:
        require_tool(SERVER.exists(), f"{SERVER} (run scripts/setup.sh)")
        self.process = subprocess.Popen(
            [str(SERVER), "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.received: list[dict[str, Any]] = []
        self.garbage: list[bytes] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for _ in self.process.stderr:
            pass

    def _read(self) -> None:
        out = self.process.stdout
        assert out is not None
        while True:
            header = out.readline()
            if not header:
                return
            if not header.lower().startswith(b"content-length:"):
                self.garbage.append(header)
                continue
            length = int(header.split(b":")[1])
            while (line := out.readline()) not in (b"\r\n", b""):
                if not line.lower().startswith(b"content-type:"):
                    self.garbage.append(line)
            message = json.loads(out.read(length))
            with self._cond:
                self.received.append(message)
                self._cond.notify_all()

    def send_bytes(self, body: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(json.dumps(message).encode())

    def response(self, msg_id: Any, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.received:
                    if "method" not in message and message.get("id") == msg_id:
                        return message
                left = deadline - time.monotonic()
                assert left > 0, f"no response to id {msg_id!r}; received {self.received}"
                self._cond.wait(left)

    def request(self, msg_id: Any, method: str, params: Any = None) -> dict[str, Any]:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.response(msg_id)

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            return self.process.wait(30)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def _at(uri: str, line: int = 0) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": 0}}


def test_requests_before_initialize_and_malformed_input_get_errors(tmp_path: Path) -> None:
    raw = RawLsp()
    try:
        early = raw.request(1, "textDocument/hover", _at("file:///x.go"))
        assert early["error"]["code"] == -32002, early  # ServerNotInitialized
        init = raw.request(2, "initialize", {"processId": None, "rootUri": uri_of(tmp_path), "capabilities": {}})
        assert "capabilities" in init["result"], init
        caps = init["result"]["capabilities"]
        assert caps["hoverProvider"] and caps["inlayHintProvider"] and caps["codeLensProvider"]
        assert {"gocore.openCore", "gocore.closeCore", "gocore.goroutinesIn"} <= set(
            caps["executeCommandProvider"]["commands"]
        )
        raw.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

        raw.send_bytes(b"{this is not json")
        parse_error = raw.response(None)
        assert parse_error["error"]["code"] == -32700, parse_error

        wrong = raw.request(3, "textDocument/hover", {"textDocument": 5})
        assert wrong["error"]["code"] == -32602, wrong  # InvalidParams, not silence

        unknown = raw.request(4, "gocore/noSuchRequest", {})
        assert unknown["error"]["code"] == -32601, unknown

        # Requests that need a core, before one is open: errors that say how to open one.
        at = raw.request(5, "gocore/goroutinesAt", _at("file:///x.go"))
        assert at["error"]["code"] == -32803 and "no core dump is open" in at["error"]["message"], at
        closing = raw.request(6, "workspace/executeCommand", {"command": "gocore.closeCore", "arguments": []})
        assert closing["error"]["code"] == -32803, closing
        bad_args = raw.request(
            7, "workspace/executeCommand", {"command": "gocore.openCore", "arguments": [{"program": 3}]}
        )
        assert bad_args["error"]["code"] == -32602 and "'program'" in bad_args["error"]["message"], bad_args
        bad_request = raw.request(8, "gocore/goroutinesAt", {"nothing": True})
        assert bad_request["error"]["code"] in (-32602, -32803), bad_request

        # Editor requests on a file without marks simply answer nothing.
        hover = raw.request(
            9,
            "textDocument/hover",
            _at(uri_of(tmp_path / "a.go")),
        )
        assert hover.get("result") is None and "error" not in hover, hover

        raw.send({"id": 10, "method": "shutdown"})  # no "jsonrpc": an invalid request
        assert raw.response(10)["error"]["code"] == -32600

        shutdown = raw.request(11, "shutdown")
        assert "error" not in shutdown, shutdown
        after = raw.request(12, "textDocument/hover", _at("file:///x.go"))
        assert after["error"]["code"] == -32600, after
        raw.send({"jsonrpc": "2.0", "method": "exit"})
        assert raw.process.wait(30) == 0
    finally:
        raw.close()
    assert not raw.garbage, f"stdout carried something other than LSP: {raw.garbage[:5]}"


def _dap_launch_error(program: str, core: str) -> dict[str, Any]:
    """What the debugger answers to `launch` with these files: the reference for the language server."""
    with DapClient() as dap:
        dap.ok("initialize", {"adapterID": "go-core", "clientID": "tests"})
        response = dap.request("launch", {"program": program, "coreFilePath": core})
        assert response["success"] is False, response
        error: dict[str, Any] = response["body"]["error"]
        return error


def _expand(error: dict[str, Any]) -> str:
    text: str = error["format"]
    for name, value in (error.get("variables") or {}).items():
        text = text.replace("{" + name + "}", value)
    return text


@pytest.mark.parametrize("case", ["missing-core", "not-a-core"])
def test_a_bad_core_gets_the_debuggers_message(tmp_path: Path, case: str) -> None:
    program = tmp_path / "prog"
    program.write_bytes(b"\x7fELF" + b"\0" * 60)
    core = tmp_path / "core"
    if case == "not-a-core":
        core.write_text("this is not a core dump\n")
    dap = _dap_launch_error(str(program), str(core))
    expected = f"error {dap['id']}: {_expand(dap)}"

    async def scenario() -> None:
        session = LspSession()
        try:
            await session.start(tmp_path, {"program": str(program), "coreFilePath": str(core)})
            await session.wait_for(lambda: bool(session.messages), what="window/showMessage")
            message = session.messages[0]
            assert message.type == lsp.MessageType.Error
            assert message.message.endswith(expected), (message.message, expected)
            # The command says it too, as an LSP error carrying the id.
            with pytest.raises(JsonRpcException) as failure:
                await session.command("gocore.openCore", {"program": str(program), "coreFilePath": str(core)})
            assert expected in failure.value.message
            assert session.stderr == [] or all("Traceback" not in line for line in session.stderr)
        finally:
            assert await session.stop() == 0

    asyncio.run(scenario())


def test_launch_json_configuration_is_found(tmp_path: Path) -> None:
    """A go-core configuration of .vscode/launch.json (comments, trailing commas, ${workspaceFolder})
    is what a non-VS Code editor opens; its bad core gets the same message as above."""
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode" / "launch.json").write_text(
        """{
  // VS Code writes comments
  "version": "0.2.0",
  "configurations": [
    {"name": "Go program", "type": "go", "request": "launch"},
    /* the core */
    {"name": "Open core", "type": "go-core", "request": "launch",
     "program": "${workspaceFolder}/bin/server", "coreFilePath": "${workspaceFolder}/core.1234",},
  ],
}"""
    )

    async def scenario() -> None:
        session = LspSession()
        try:
            await session.start(tmp_path, None)
            await session.wait_for(lambda: bool(session.messages), what="window/showMessage")
            text = session.messages[0].message
            assert f"{tmp_path}/core.1234" in text or f"{tmp_path}/bin/server" in text, text
            assert "error 2001" in text, text  # FILE_NOT_FOUND, as the debugger says it
        finally:
            await session.stop()

    asyncio.run(scenario())
