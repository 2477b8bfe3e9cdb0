"""One DAP connection: frames in, requests dispatched in order, responses and events out.

Every request gets exactly one response, in the order the requests came. A handler that raises
anything becomes an error response (with the error-id table's message); nothing a client sends
can end the process, and nothing but DAP is ever written to the output.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from gocore_dap.backend.errors import DelveGone, DelveRpcError, DelveTimeout
from gocore_dap.protocol.converter import from_wire, to_wire
from gocore_dap.protocol.errors import DapError, ErrorId, ProtocolArgumentError
from gocore_dap.server.registry import Command, RequestContext, load_handlers
from gocore_dap.session.session import CoreSession
from gocore_dap.transport.dap_framing import DapReader, EndOfStream, FramingError, NeedData, encode_message

log = logging.getLogger(__name__)

WriteFn = Callable[[bytes], Awaitable[None]]
ReadFn = Callable[[], Awaitable[bytes]]


class DapConnection:
    def __init__(self, read: ReadFn, write: WriteFn) -> None:
        self._read = read
        self._write = write
        self._seq = 0
        self._write_lock = asyncio.Lock()
        self._commands = load_handlers()
        self.session = CoreSession(self._send_event)
        self._closing = False

    async def run(self) -> None:
        """Serve until the client disconnects or its stream ends; Delve is ended either way."""
        reader = DapReader()
        try:
            while not self._closing:
                item = reader.next_message()
                if isinstance(item, NeedData):
                    chunk = await self._read()
                    reader.receive_data(chunk)
                    continue
                if isinstance(item, EndOfStream):
                    break
                if isinstance(item, FramingError):
                    await self._framing_error(item)
                    continue
                await self._handle(item)
        finally:
            with contextlib.suppress(Exception):
                await self.session.close()

    async def _handle(self, message: dict[str, Any]) -> None:
        if message.get("type") != "request":
            # Responses to reverse requests (we send none) and stray events are ignored.
            return
        seq = message.get("seq")
        name = message.get("command")
        if not isinstance(seq, int) or not isinstance(name, str):
            await self._send_output(
                f"gocore-dap: ignored a request without an integer seq and a command: {message!r:.200}\n"
            )
            return
        ctx = RequestContext(seq=seq, command=name)
        try:
            body = await self._dispatch(self._commands.get(name), message, ctx)
        except DapError as exc:
            await self._respond(seq, name, success=False, error=exc)
            return
        except DelveGone as exc:
            await self._respond(seq, name, success=False, error=DapError(ErrorId.DLV_GONE, message=str(exc)))
            return
        except DelveTimeout as exc:
            await self._respond(
                seq, name, success=False, error=DapError(ErrorId.DLV_TIMEOUT, message=str(exc))
            )
            return
        except DelveRpcError as exc:
            await self._respond(
                seq, name, success=False, error=DapError(ErrorId.DLV_FAILED, message=str(exc))
            )
            return
        except Exception as exc:
            log.exception("internal error in %s", name)
            await self._respond(
                seq,
                name,
                success=False,
                error=DapError(
                    ErrorId.INTERNAL_ERROR,
                    variables={"command": name, "error": f"{type(exc).__name__}: {exc}"},
                ),
            )
            return
        await self._respond(seq, name, body=body)
        for after in ctx.after_response:
            try:
                await after()
            except Exception:
                log.exception("after-response step of %s failed", name)
        if ctx.end_connection:
            self._closing = True

    async def _dispatch(self, cmd: Command | None, message: dict[str, Any], ctx: RequestContext) -> Any:
        if cmd is None:
            raise DapError(ErrorId.UNKNOWN_COMMAND, variables={"command": ctx.command})
        raw_args = message.get("arguments")
        args: Any = raw_args
        if cmd.arguments is not None:
            if raw_args is None:
                raw_args = {}
            if not isinstance(raw_args, dict):
                raise ProtocolArgumentError(f"{ctx.command}: 'arguments' must be an object")
            args = from_wire(cmd.arguments, raw_args, command=ctx.command)
        return await cmd.handler(self.session, args, ctx)

    async def _framing_error(self, error: FramingError) -> None:
        if error.seq is not None and error.command is not None:
            await self._respond(
                error.seq,
                error.command,
                success=False,
                error=DapError(ErrorId.BAD_MESSAGE, variables={"error": error.message}),
            )
            return
        await self._send_output(f"gocore-dap: dropped a malformed message: {error.message}\n")

    async def _respond(
        self,
        request_seq: int,
        command: str,
        *,
        body: Any = None,
        success: bool = True,
        error: DapError | None = None,
    ) -> None:
        message: dict[str, Any] = {
            "type": "response",
            "request_seq": request_seq,
            "success": success and error is None,
            "command": command,
        }
        if error is not None:
            message["message"] = error.short_message()
            message["body"] = {"error": to_wire(error.to_message())}
        elif body is not None:
            message["body"] = to_wire(body)
        await self._send(message)

    async def _send_event(self, event: str, body: Any) -> None:
        message: dict[str, Any] = {"type": "event", "event": event}
        if body is not None:
            message["body"] = to_wire(body)
        await self._send(message)

    async def _send_output(self, text: str) -> None:
        await self._send_event_raw("output", {"category": "important", "output": text})

    async def _send_event_raw(self, event: str, body: dict[str, Any]) -> None:
        await self._send({"type": "event", "event": event, "body": body})

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._write_lock:
            self._seq += 1
            message["seq"] = self._seq
            try:
                await self._write(encode_message(message))
            except (ConnectionError, OSError):
                # The client is gone; the read side will see EOF and end the session.
                self._closing = True
