"""One DAP connection: frames in, requests dispatched in order, responses and events out.

Every request gets exactly one response, in the order the requests came. A handler that raises
anything becomes an error response (with the error-id table's message); nothing a client sends
can end the process, and nothing but DAP is ever written to the output.

Reading goes on while a request is being served, so that the end of the session is acted on at
once even when Delve is slow to answer (or hung, up to its `dlvTimeout`):
- a `disconnect` or `terminate` cancels the request in progress and the requests queued before
  it (each answered with DAP's `cancelled` error), then runs;
- the end of the client's stream cancels the request in progress and drops the queued ones (no
  one is left to read their answers), except a queued `disconnect` / `terminate`; then the
  session ends and Delve with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.protocol.converter import from_wire
from gocore_dap.protocol.errors import ProtocolArgumentError, error_message
from gocore_dap.protocol.messages import make_event, make_response
from gocore_dap.protocol.models import ErrorResponseBody, OutputEventBody
from gocore_dap.server.commands import Command, RequestContext, capabilities_of
from gocore_dap.server.handlers import COMMANDS
from gocore_dap.session.session import CoreSession
from gocore_dap.transport.dap_framing import DapReader, EndOfStream, FramingError, NeedData, encode_message

log = logging.getLogger(__name__)

WriteFn = Callable[[bytes], Awaitable[None]]
ReadFn = Callable[[], Awaitable[bytes]]

# Requests that end the session: they do not wait behind a slow request.
SESSION_ENDING: Final = frozenset({"disconnect", "terminate"})
# Messages read ahead of the one being served. Bounds memory when a client floods a busy adapter:
# reading pauses until the queue has room.
_READ_AHEAD: Final = 64

_Item = dict[str, Any] | FramingError | None  # None: the client's stream ended


def _is_seq(value: object) -> bool:
    # bool is an int subclass, and `"seq": true` must not come back as `"request_seq": true`.
    return isinstance(value, int) and not isinstance(value, bool)


def _ends_session(message: dict[str, Any]) -> bool:
    return message.get("type") == "request" and message.get("command") in SESSION_ENDING


class DapConnection:
    def __init__(self, read: ReadFn, write: WriteFn) -> None:
        self._read = read
        self._write = write
        self._seq = 0
        self._write_lock = asyncio.Lock()
        self._commands = COMMANDS
        self._capabilities = capabilities_of(COMMANDS)
        self.session = CoreSession(self._send_event)
        self._closing = False
        self._inbox: asyncio.Queue[_Item] = asyncio.Queue(_READ_AHEAD)
        self._stream_ended = False
        # Session-ending requests read but not yet served: requests queued ahead of them are
        # answered `cancelled` instead of being run.
        self._endings_queued = 0
        # The request being served, for the reader to cancel.
        self._current: asyncio.Task[Any] | None = None
        self._current_command = ""
        self._cancelled_by_client = False

    async def run(self) -> None:
        """Serve until the client disconnects or its stream ends; Delve is ended either way."""
        reading = asyncio.ensure_future(self._read_loop())
        try:
            while not self._closing:
                if self._stream_ended and self._inbox.empty():
                    break
                # Waiting here means the queue is empty, so the reader's end marker will fit.
                item = await self._inbox.get()
                if item is None:
                    break
                if isinstance(item, FramingError):
                    if not self._stream_ended:
                        await self._framing_error(item)
                    continue
                await self._serve(item)
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reading
            if self._current is not None:
                self._current.cancel()
            with contextlib.suppress(Exception):
                await self.session.close()

    # -- reading -----------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        reader = DapReader()
        try:
            while True:
                item = reader.next_message()
                if isinstance(item, NeedData):
                    try:
                        chunk = await self._read()
                    except (ConnectionError, OSError):
                        chunk = b""
                    reader.receive_data(chunk)
                    continue
                if isinstance(item, EndOfStream):
                    break
                if isinstance(item, dict) and _ends_session(item):
                    self._endings_queued += 1
                    self._cancel_current()
                await self._inbox.put(item)
        finally:
            self._stream_ended = True
            # Nobody is left to read an answer: stop waiting for Delve.
            self._cancel_current()
            with contextlib.suppress(asyncio.QueueFull):
                self._inbox.put_nowait(None)

    def _cancel_current(self) -> None:
        # Once per request, and never a disconnect or terminate: a second cancellation could cut
        # short the cleanup of the first, and ending Delve is what those requests are for.
        if self._current is None or self._current.done() or self._cancelled_by_client:
            return
        if self._current_command in SESSION_ENDING:
            return
        self._cancelled_by_client = True
        self._current.cancel()

    # -- serving -----------------------------------------------------------------------------

    async def _serve(self, message: dict[str, Any]) -> None:
        ending = _ends_session(message)
        if ending:
            self._endings_queued -= 1
        elif self._stream_ended:
            return  # the client is gone
        elif self._endings_queued > 0 and message.get("type") == "request":
            # The client is ending the session: do not make it wait for Delve first.
            seq, name = message.get("seq"), message.get("command")
            if _is_seq(seq) and isinstance(name, str):
                assert isinstance(seq, int)
                await self._respond(seq, name, success=False, error=GocoreError(ErrorId.CANCELLED))
                return
        await self._handle(message)

    async def _handle(self, message: dict[str, Any]) -> None:
        if message.get("type") != "request":
            # Responses to reverse requests (we send none) and stray events are ignored.
            return
        seq = message.get("seq")
        name = message.get("command")
        if not _is_seq(seq) or not isinstance(name, str):
            await self._send_output(
                f"gocore-dap: ignored a request without an integer seq and a command: {message!r:.200}\n"
            )
            return
        assert isinstance(seq, int)
        ctx = RequestContext(seq=seq, command=name, capabilities=self._capabilities)
        handler = asyncio.ensure_future(self._dispatch(self._commands.get(name), message, ctx))
        self._current, self._current_command, self._cancelled_by_client = handler, name, False
        try:
            body = await handler
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if (me is not None and me.cancelling()) or not self._cancelled_by_client:
                raise  # the connection itself is being cancelled
            await self._respond(seq, name, success=False, error=GocoreError(ErrorId.CANCELLED))
            return
        except GocoreError as exc:
            await self._respond(seq, name, success=False, error=exc)
            return
        except Exception as exc:
            # A bug (ours, or a backend failure no layer translated): an answer, never a dead adapter.
            log.exception("internal error in %s", name)
            await self._respond(seq, name, success=False, error=_internal_error(name, exc))
            return
        finally:
            self._current, self._current_command = None, ""
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
            raise GocoreError(ErrorId.UNKNOWN_COMMAND, variables={"command": ctx.command})
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
                error=GocoreError(ErrorId.BAD_MESSAGE, variables={"error": error.message}),
            )
            return
        await self._send_output(f"gocore-dap: dropped a malformed message: {error.message}\n")

    # -- writing -----------------------------------------------------------------------------

    async def _respond(
        self,
        request_seq: int,
        command: str,
        *,
        body: Any = None,
        success: bool = True,
        error: GocoreError | None = None,
    ) -> None:
        def response(error: GocoreError | None, body: Any) -> dict[str, Any]:
            if error is not None:
                return make_response(
                    request_seq, command, ErrorResponseBody(error=error_message(error)),
                    success=False, message=error.short_message(),
                )  # fmt: skip
            return make_response(request_seq, command, body, success=success)

        def failed(exc: BaseException) -> dict[str, Any]:
            # A body that cannot be encoded must still leave the client with an answer.
            log.error("cannot encode the response to %s: %r", command, exc)
            return response(_internal_error(command, exc), None)

        try:
            message = response(error, body)
        except Exception as exc:
            message = failed(exc)
        await self._send(message, fallback=failed)

    async def _send_event(self, event: str, body: Any) -> None:
        await self._send(make_event(event, body))

    async def _send_output(self, text: str) -> None:
        await self._send_event("output", OutputEventBody(output=text, category="important"))

    async def _send(
        self,
        message: dict[str, Any],
        *,
        fallback: Callable[[BaseException], dict[str, Any]] | None = None,
    ) -> None:
        async with self._write_lock:
            self._seq += 1
            message["seq"] = self._seq
            try:
                data = encode_message(message)
            except (ValueError, TypeError) as exc:
                if fallback is None:
                    raise
                message = {**fallback(exc), "seq": self._seq}
                data = encode_message(message)
            try:
                await self._write(data)
            except (ConnectionError, OSError):
                # The client is gone; the read side will see EOF and end the session.
                self._closing = True


def _internal_error(command: str, exc: BaseException) -> GocoreError:
    return GocoreError(ErrorId.INTERNAL_ERROR, variables={"command": command, "error": f"{type(exc).__name__}: {exc}"})
