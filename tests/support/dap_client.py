"""A real DAP client for tests: runs the adapter process over stdio and records every message.

In the style of debugpy's test timeline: each message the adapter sends is kept (in order) and
validated against the DAP schema as it arrives, so a test cannot pass while the adapter sends
something a real editor would reject. Anything the adapter writes to stdout that is not a
well-framed DAP message fails the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class ProtocolViolation(AssertionError):
    pass


def adapter_command() -> list[str]:
    script = REPO / ".venv" / "bin" / "gocore-dap"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "gocore_dap"]


class DapClient:
    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        validate: Callable[[dict[str, Any]], None] | None = None,
        command: list[str] | None = None,
    ) -> None:
        if validate is None:
            # The DAP schema for standard messages, go-extensions.json for the custom requests.
            from tests.support.go_extensions_schema import validate_go_extension

            validate = validate_go_extension
        self._validate = validate
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.process = subprocess.Popen(
            command or adapter_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
        )
        self.timeline: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.stderr_lines: list[str] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._pending: list[dict[str, Any]] = []
        self._seq = 0
        self._last_adapter_seq = 0
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_reader.start()

    # -- wire -----------------------------------------------------------------------------

    def _read_stdout(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                byte = stream.read(1)
                if not byte:
                    if header.strip():
                        self.violations.append(f"stdout ended inside a header: {header!r}")
                    self._queue.put(None)
                    return
                header += byte
                if len(header) > 4096:
                    self.violations.append(f"not DAP on stdout: {header[:200]!r}")
                    self._queue.put(None)
                    return
            length = None
            for line in header.decode("ascii", "replace").split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1].strip())
            if length is None:
                self.violations.append(f"header without Content-Length: {header!r}")
                self._queue.put(None)
                return
            body = stream.read(length)
            try:
                message = json.loads(body)
            except ValueError:
                self.violations.append(f"body is not JSON: {body[:200]!r}")
                continue
            self._check(message)
            self._queue.put(message)

    def _read_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        for line in stream:
            self.stderr_lines.append(line.decode("utf-8", "replace").rstrip())

    def _check(self, message: dict[str, Any]) -> None:
        self.timeline.append(message)
        seq = message.get("seq")
        if not isinstance(seq, int) or seq <= self._last_adapter_seq:
            self.violations.append(f"seq {seq!r} does not increase (after {self._last_adapter_seq}): {message}")
        else:
            self._last_adapter_seq = seq
        try:
            self._validate(message)
        except Exception as exc:
            self.violations.append(f"schema: {exc}")

    def send_raw(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, command: str, arguments: Mapping[str, Any] | None = None) -> int:
        self._seq += 1
        message: dict[str, Any] = {"seq": self._seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = dict(arguments)
        self.sent.append(message)
        body = json.dumps(message).encode()
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self._seq

    # -- waiting --------------------------------------------------------------------------

    def _next(self, deadline: float) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the adapter sent nothing in time")
        try:
            message = self._queue.get(timeout=remaining)
        except queue.Empty:
            raise TimeoutError("the adapter sent nothing in time") from None
        if message is None:
            self._queue.put(None)
            raise EOFError("the adapter closed its stdout; stderr:\n" + "\n".join(self.stderr_lines[-20:]))
        return message

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60.0) -> dict[str, Any]:
        for i, message in enumerate(self._pending):
            if predicate(message):
                return self._pending.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline)
            if predicate(message):
                return message
            self._pending.append(message)

    def response(self, seq: int, timeout: float = 60.0) -> dict[str, Any]:
        return self.wait_for(lambda m: m.get("type") == "response" and m.get("request_seq") == seq, timeout)

    def event(self, name: str, timeout: float = 60.0) -> dict[str, Any]:
        return self.wait_for(lambda m: m.get("type") == "event" and m.get("event") == name, timeout)

    def request(
        self, command: str, arguments: Mapping[str, Any] | None = None, timeout: float = 60.0
    ) -> dict[str, Any]:
        response = self.response(self.send(command, arguments), timeout)
        if response.get("command") != command:
            self.violations.append(f"response to {command} names command {response.get('command')!r}")
        return response

    def ok(self, command: str, arguments: Mapping[str, Any] | None = None, timeout: float = 60.0) -> dict[str, Any]:
        response = self.request(command, arguments, timeout)
        if not response.get("success"):
            raise AssertionError(f"{command} failed: {response.get('message')} {response.get('body')}")
        body: dict[str, Any] = response.get("body") or {}
        return body

    def events(self, name: str) -> list[dict[str, Any]]:
        return [m for m in self.timeline if m.get("type") == "event" and m.get("event") == name]

    # -- session helpers ------------------------------------------------------------------

    def start_core(self, program: Path | str, core: Path | str, **launch: Any) -> dict[str, Any]:
        """initialize, launch, configurationDone; returns the stopped event."""
        self.ok(
            "initialize",
            {
                "clientID": "gocore-dap-tests",
                "adapterID": "go-core",
                "linesStartAt1": True,
                "columnsStartAt1": True,
                "pathFormat": "path",
                "supportsMemoryReferences": True,
            },
        )
        args = {"program": str(program), "coreFilePath": str(core), **launch}
        self.ok("launch", args, timeout=120)
        self.event("initialized")
        self.ok("configurationDone")
        return self.event("stopped", timeout=120)

    def close(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.send("disconnect", {"terminateDebuggee": True})
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError("the adapter did not exit after disconnect and EOF") from None
        self._reader.join(5)
        return self.process.returncode

    def assert_clean(self) -> None:
        if self.violations:
            raise ProtocolViolation("\n".join(self.violations))

    def __enter__(self) -> DapClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
