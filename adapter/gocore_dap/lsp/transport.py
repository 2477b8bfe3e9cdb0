"""The language server's message loop on stdio: pygls's protocol, with answers for what pygls drops.

pygls 2.1 logs and drops a request whose body is not JSON or whose params do not fit the method (the
client then waits forever for an answer), answers requests sent before `initialize` as if the server
were ready, and ignores requests after `shutdown`. Here each of those gets the JSON-RPC / LSP error the
specification names: ParseError (-32700, id null) for a body that is not JSON, InvalidRequest (-32600)
for a message that is not a request or notification, InvalidParams (-32602) for params of the wrong
shape, ServerNotInitialized (-32002) before `initialize`, InvalidRequest after `shutdown`.

The loop is also the server's lifetime: when the client's stream ends (or it sends `exit`), every core
the server opened is closed before the process ends, so no Delve outlives it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import stat
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

import attrs
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdinAsyncReader, StdoutWriter
from pygls.protocol import LanguageServerProtocol

__all__ = ["GoCoreProtocol", "serve"]

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
SERVER_NOT_INITIALIZED = -32002
_CONTENT_LENGTH = re.compile(rb"^content-length:\s*(\d+)\s*$", re.I)
# A body larger than this is not a message any client sends: refuse it rather than buffer it.
MAX_BODY = 64 << 20


@attrs.frozen
class _Malformed:
    """A message pygls could not type: answered with an error instead of being handled."""

    id: Any
    method: str
    problem: str


class GoCoreProtocol(LanguageServerProtocol):
    initialize_received = False

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            cause = exc.__cause__
            detail = str(cause).splitlines()[0] if cause is not None else exc.message
            return _Malformed(
                data.get("id"), str(data.get("method", "")), f"{exc.message or 'invalid message'}: {detail}"
            )

    def send_error(self, msg_id: Any, code: int, message: str) -> None:
        self._send_data(lsp.ResponseErrorMessage(id=msg_id, error=lsp.ResponseError(code=code, message=message)))

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Malformed):
            if message.id is not None and message.method:
                self.send_error(message.id, INVALID_PARAMS, f"{message.method}: invalid params ({message.problem})")
            else:
                log.warning("dropped a malformed notification %s: %s", message.method, message.problem)
            return
        method = getattr(message, "method", None)
        msg_id = getattr(message, "id", None)
        is_request = method is not None and msg_id is not None
        if getattr(message, "jsonrpc", None) != "2.0":
            if msg_id is not None or is_request:
                self.send_error(msg_id, INVALID_REQUEST, 'not a JSON-RPC 2.0 message ("jsonrpc": "2.0" is missing)')
            return
        if method == lsp.INITIALIZE:
            self.initialize_received = True
        elif is_request and not self.initialize_received:
            self.send_error(
                msg_id, SERVER_NOT_INITIALIZED, f"{method}: the server is not initialized: send 'initialize' first"
            )
            return
        if is_request and self._shutdown:
            self.send_error(msg_id, INVALID_REQUEST, f"{method}: the server is shutting down")
            return
        super().handle_message(message)


def _message_or_error(protocol: GoCoreProtocol, body: bytes) -> Any:
    try:
        data = json.loads(body, object_hook=protocol.structure_message)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        protocol.send_error(None, PARSE_ERROR, f"the message body is not JSON: {exc}")
        return None
    if isinstance(data, _Malformed) or hasattr(data, "jsonrpc"):
        return data
    if isinstance(data, dict):
        msg_id = data.get("id")
        protocol.send_error(msg_id, INVALID_REQUEST, 'not a JSON-RPC 2.0 message ("jsonrpc": "2.0" is missing)')
    else:
        protocol.send_error(None, INVALID_REQUEST, f"a message must be a JSON object, got {type(data).__name__}")
    return None


class _PipeReader:
    """stdin as an asyncio stream (a pipe: no thread that could outlive the loop blocked in read())."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self._stream = stream

    async def readline(self) -> bytes:
        return await self._stream.readline()

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._stream.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            return exc.partial


async def _reader(stdin: BinaryIO, executor: ThreadPoolExecutor) -> _PipeReader | StdinAsyncReader:
    loop = asyncio.get_running_loop()
    mode = os.fstat(stdin.fileno()).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        # A file, a terminal, /dev/null: epoll takes none of them reliably; read in a thread.
        return StdinAsyncReader(stdin, executor)
    stream = asyncio.StreamReader(limit=MAX_BODY)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), stdin)
    except (ValueError, OSError):
        # A regular file (input redirected from one): read it in a thread instead.
        return StdinAsyncReader(stdin, executor)
    return _PipeReader(stream)


async def serve(
    protocol: GoCoreProtocol,
    stdin: BinaryIO,
    stdout: BinaryIO,
    executor: ThreadPoolExecutor,
    on_end: Callable[[], Awaitable[None]],
) -> int:
    """Read messages until the stream ends or `exit`; `on_end` runs before returning (the exit code:
    0 after `shutdown`, 1 otherwise, as LSP specifies for `exit`)."""
    reader = await _reader(stdin, executor)
    protocol.set_writer(StdoutWriter(stdout))
    try:
        while True:
            length: int | None = None
            while True:
                header = await reader.readline()
                if not header:
                    return 0 if protocol._shutdown else 1
                if header in (b"\r\n", b"\n"):
                    if length is not None:
                        break
                    continue  # stray blank line between messages
                match = _CONTENT_LENGTH.match(header.strip())
                if match is not None:
                    length = int(match.group(1))
                elif not header.lower().startswith(b"content-type:"):
                    log.warning("ignored a header line that is not LSP's: %r", header[:80])
            if length > MAX_BODY:
                protocol.send_error(
                    None, INVALID_REQUEST, f"a message of {length} bytes is more than this server reads"
                )
                return 1
            body = await reader.readexactly(length)
            if len(body) < length:
                return 0 if protocol._shutdown else 1
            message = _message_or_error(protocol, body)
            if message is None:
                continue
            try:
                protocol.handle_message(message)
            except SystemExit as exc:  # pygls ends the process on `exit`
                return int(exc.code or 0)
            except Exception:
                log.exception("a message could not be handled")
    finally:
        await on_end()
