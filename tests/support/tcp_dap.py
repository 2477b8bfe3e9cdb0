"""A small DAP client over TCP: for Delve's own DAP server (`dlv dap`), and for gocore-dap's TCP mode.

Delve's DAP server is a reference and breaks rules we hold ourselves to (every message it sends has
`seq: 0`), so by default this client only frames, records and waits. Given `validate` (for gocore-dap's
TCP mode), it judges what it receives as `dap_client.DapClient` does over stdio: each message against the
schema, seq increasing, a body that is not JSON a violation; `assert_clean` raises them.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["DelveDapServer", "TcpDapClient"]

_LISTENING_RE = re.compile(r"DAP server listening at: (?P<host>[\w.:\[\]-]+):(?P<port>\d+)")


class TcpDapClient:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout: float = 10.0,
        validate: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self._sock = socket.create_connection((host, port), timeout=connect_timeout)
        self._sock.settimeout(None)
        self._rfile = self._sock.makefile("rb")
        self._validate = validate
        self.violations: list[str] = []
        self._last_seq = 0
        self.timeline: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._pending: list[dict[str, Any]] = []
        self._seq = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                length = None
                while True:
                    line = self._rfile.readline()
                    if not line:
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.decode("ascii", "replace").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                if length is None:
                    if self._validate is not None:
                        self.violations.append("a header without Content-Length")
                    return
                body = self._rfile.read(length)
                try:
                    message = json.loads(body)
                except ValueError:
                    if self._validate is not None:
                        self.violations.append(f"body is not JSON: {body[:200]!r}")
                    return
                self._check(message)
                self.timeline.append(message)
                self._queue.put(message)
        except OSError:
            return
        finally:
            self._queue.put(None)

    def _check(self, message: dict[str, Any]) -> None:
        if self._validate is None:
            return
        seq = message.get("seq")
        if not isinstance(seq, int) or seq <= self._last_seq:
            self.violations.append(f"seq {seq!r} does not increase (after {self._last_seq}): {message}")
        else:
            self._last_seq = seq
        try:
            self._validate(message)
        except Exception as exc:
            self.violations.append(f"schema: {exc}")

    def assert_clean(self) -> None:
        assert self._validate is not None, "this client was made without a validator"
        if self.violations:
            raise AssertionError("\n".join(self.violations))

    def send(self, command: str, arguments: Mapping[str, Any] | None = None) -> int:
        self._seq += 1
        message: dict[str, Any] = {"seq": self._seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = dict(arguments)
        body = json.dumps(message).encode()
        self._sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self._seq

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60.0) -> dict[str, Any]:
        for i, message in enumerate(self._pending):
            if predicate(message):
                return self._pending.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            try:
                received = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError("Delve's DAP server sent nothing in time") from None
            if received is None:
                self._queue.put(None)
                raise EOFError("Delve's DAP server closed the connection")
            if predicate(received):
                return received
            self._pending.append(received)

    def event(self, name: str, timeout: float = 60.0) -> dict[str, Any]:
        return self.wait_for(lambda m: m.get("type") == "event" and m.get("event") == name, timeout)

    def request(
        self, command: str, arguments: Mapping[str, Any] | None = None, timeout: float = 60.0
    ) -> dict[str, Any]:
        seq = self.send(command, arguments)
        return self.wait_for(lambda m: m.get("type") == "response" and m.get("request_seq") == seq, timeout)

    def ok(self, command: str, arguments: Mapping[str, Any] | None = None, timeout: float = 60.0) -> dict[str, Any]:
        response = self.request(command, arguments, timeout)
        if not response.get("success"):
            detail = f"{response.get('message')} {response.get('body')!r}"
            raise AssertionError(f"dlv dap: {command} failed: {detail}")
        body: dict[str, Any] = response.get("body") or {}
        return body

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()
        self._reader.join(5)


class DelveDapServer:
    """`dlv dap --listen=127.0.0.1:0`, started in its own process group and always ended by `stop`."""

    def __init__(self, dlv: Path, *, startup_timeout: float = 30.0) -> None:
        self.process = subprocess.Popen(
            [str(dlv), "dap", "--listen=127.0.0.1:0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.output: list[str] = []
        found: queue.Queue[tuple[str, int] | None] = queue.Queue()
        threading.Thread(target=self._drain, args=(found,), daemon=True).start()
        try:
            address = found.get(timeout=startup_timeout)
        except queue.Empty:
            address = None
        if address is None:
            self.stop()
            raise RuntimeError("dlv dap did not say where it listens:\n" + "\n".join(self.output[-20:]))
        self.host, self.port = address

    def _drain(self, found: queue.Queue[tuple[str, int] | None]) -> None:
        assert self.process.stdout is not None
        announced = False
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self.output.append(line)
            match = _LISTENING_RE.search(line)
            if match and not announced:
                announced = True
                found.put((match.group("host").strip("[]"), int(match.group("port"))))
        if not announced:
            found.put(None)

    def connect(self) -> TcpDapClient:
        return TcpDapClient(self.host, self.port)

    def stop(self, timeout: float = 10.0) -> None:
        """End dlv and everything it started (its process group), politely first."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
