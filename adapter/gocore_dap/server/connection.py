"""One DAP connection: frames in, requests served concurrently, responses and events out.

Every request gets exactly one response. A handler that raises anything becomes an error response
(with the error-id table's message); nothing a client sends can end the process, and nothing but DAP
is ever written to the output.

Requests that only read the core are served concurrently, so a slow one (a goroutine listing of a
big core) never delays a quick one (the crashing thread's `stackTrace`); their responses go out as they
are ready, each naming its request. Requests that change the session (`initialize`, `launch`,
`configurationDone`, `disconnect`, `terminate`) run alone: every request read before them is answered
first, and none read after them starts before they are answered (with what must follow their response
on the wire, such as the `initialized` and `stopped` events).

Reading goes on while requests are served, so that cancellation and the end of the session are acted on
at once even when Delve is slow to answer (or hung, up to its `dlvTimeout`):
- `cancel` cancels the request it names (by `requestId`, or by the `progressId` of its progress), which
  answers with DAP's `cancelled` error;
- a `disconnect` or `terminate` cancels every request under way and those queued before it (each
  answered `cancelled`), then runs;
- the end of the client's stream cancels every request under way and drops the queued ones (no one is
  left to read their answers), except a queued `disconnect` / `terminate`; then the session ends and
  Delve with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import attrs

from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.protocol.converter import from_wire
from gocore_dap.protocol.errors import ProtocolArgumentError, error_message
from gocore_dap.protocol.messages import make_event, make_response
from gocore_dap.protocol.models import (
    ErrorResponseBody,
    OutputEventBody,
    ProgressEndEventBody,
    ProgressStartEventBody,
    ProgressUpdateEventBody,
)
from gocore_dap.server.commands import Command, ProgressFn, RequestContext, capabilities_of
from gocore_dap.server.handlers import COMMANDS
from gocore_dap.session.session import CoreSession
from gocore_dap.transport.dap_framing import DapReader, EndOfStream, FramingError, NeedData, encode_message

log = logging.getLogger(__name__)

WriteFn = Callable[[bytes], Awaitable[None]]
ReadFn = Callable[[], Awaitable[bytes]]

# Requests that end the session: they do not wait behind a slow request.
SESSION_ENDING: Final = frozenset({"disconnect", "terminate"})
# Requests that change the session's state: they run alone (see the module docstring).
RUN_ALONE: Final = SESSION_ENDING | frozenset({"initialize", "launch", "attach", "configurationDone"})
# Messages read ahead of the ones being served. Bounds memory when a client floods a busy adapter:
# reading pauses until the queue has room.
_READ_AHEAD: Final = 64

_Item = dict[str, Any] | FramingError | None  # None: the client's stream ended


def _is_seq(value: object) -> bool:
    # bool is an int subclass, and `"seq": true` must not come back as `"request_seq": true`.
    return isinstance(value, int) and not isinstance(value, bool)


def _ends_session(message: dict[str, Any]) -> bool:
    return message.get("type") == "request" and message.get("command") in SESSION_ENDING


@attrs.define
class _Flight:
    """A request being served: the task running its handler, and whether the client cancelled it."""

    command: str
    handler: asyncio.Task[Any]
    cancelled_by_client: bool = False
    # Its progress ids (for `cancel` by progressId), those whose progressStart went out, and whether it
    # has been answered (progress after that is not shown).
    progress_ids: list[str] = attrs.field(factory=list)
    progress_started: list[str] = attrs.field(factory=list)
    answered: bool = False


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
        # Requests being served, by seq, for `cancel` and the end of the session.
        self._flights: dict[int, _Flight] = {}
        # Tasks serving concurrent requests (their handler, then their response).
        self._serving: set[asyncio.Task[None]] = set()
        self._progress_ids = itertools.count(1)

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
            await self._wait_for_requests()
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reading
            for task in list(self._serving):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.gather(*self._serving, return_exceptions=True)
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
                    self._cancel_all()
                await self._inbox.put(item)
        finally:
            self._stream_ended = True
            # Nobody is left to read an answer: stop waiting for Delve.
            self._cancel_all()
            with contextlib.suppress(asyncio.QueueFull):
                self._inbox.put_nowait(None)

    def _cancel_all(self) -> None:
        for flight in list(self._flights.values()):
            self._cancel(flight)

    def _cancel(self, flight: _Flight) -> None:
        # Once per request, and never a disconnect or terminate: a second cancellation could cut
        # short the cleanup of the first, and ending Delve is what those requests are for.
        if flight.handler.done() or flight.cancelled_by_client or flight.command in SESSION_ENDING:
            return
        flight.cancelled_by_client = True
        flight.handler.cancel()

    def cancel_request(self, request_id: int | None, progress_id: str | None) -> None:
        """DAP `cancel`: the request named by its seq or by one of its progress ids (unknown or finished
        ones are ignored, as DAP allows)."""
        for seq, flight in list(self._flights.items()):
            if (request_id is not None and seq == request_id) or (progress_id and progress_id in flight.progress_ids):
                self._cancel(flight)

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
        if message.get("type") == "request" and message.get("command") in RUN_ALONE:
            await self._wait_for_requests()
            await self._handle(message)
            return
        task = asyncio.create_task(self._handle(message))
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)

    async def _wait_for_requests(self) -> None:
        """Until every request being served has been answered."""
        while self._serving:
            await asyncio.gather(*list(self._serving), return_exceptions=True)

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
        ctx = RequestContext(
            seq=seq, command=name, capabilities=self._capabilities, cancel=self.cancel_request,
            progress=lambda title: self._start_progress(seq, title),
        )  # fmt: skip
        handler = asyncio.ensure_future(self._dispatch(self._commands.get(name), message, ctx))
        flight = self._flights[seq] = _Flight(name, handler)
        # The order requests are answered in is what the user sees (the crash line before the listings): the
        # verbose log keeps it, with each request's time, for people tracing a slow editor.
        started = time.monotonic()
        log.debug("request %s (seq %d) received", name, seq)
        try:
            body = await handler
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if (me is not None and me.cancelling()) or not flight.cancelled_by_client:
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
            if self._flights.get(seq) is flight:
                del self._flights[seq]
            flight.answered = True
            for progress_id in flight.progress_started:
                await self._send_event("progressEnd", ProgressEndEventBody(progress_id=progress_id))
        await self._respond(seq, name, body=body)
        log.debug("request %s (seq %d) answered in %.0f ms", name, seq, (time.monotonic() - started) * 1000)
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

    # -- progress ----------------------------------------------------------------------------

    def _start_progress(self, seq: int, title: str) -> ProgressFn:
        """Progress of request `seq` as DAP progress events when the client shows them (else nothing):
        returns `update(message, percentage)`; the end is sent when the request is answered."""
        client = self.session.client
        if client is None or not client.supports_progress_reporting or seq not in self._flights:
            return _quiet_progress
        progress_id = f"gocore-dap-{next(self._progress_ids)}"
        flight = self._flights[seq]
        flight.progress_ids.append(progress_id)

        async def update(message: str, percentage: float | None = None) -> None:
            if flight.answered:
                return  # its progress has ended with the response
            pct = None if percentage is None else max(0.0, min(100.0, percentage))
            if progress_id not in flight.progress_started:
                flight.progress_started.append(progress_id)
                await self._send_event(
                    "progressStart",
                    ProgressStartEventBody(
                        progress_id=progress_id, title=title, request_id=seq, cancellable=True,
                        message=message or None, percentage=pct,
                    ),
                )  # fmt: skip
                return
            await self._send_event(
                "progressUpdate",
                ProgressUpdateEventBody(progress_id=progress_id, message=message or None, percentage=pct),
            )

        return update

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


async def _quiet_progress(message: str, percentage: float | None = None) -> None:
    return None


def _internal_error(command: str, exc: BaseException) -> GocoreError:
    return GocoreError(ErrorId.INTERNAL_ERROR, variables={"command": command, "error": f"{type(exc).__name__}: {exc}"})
