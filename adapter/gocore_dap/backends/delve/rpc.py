"""Async JSON-RPC client for Delve's headless API (Go net/rpc JSON-RPC 1.0 over a bare JSON stream).

A single reader task owns the socket's read side, so that Delve dying is noticed at once (every
pending call fails with DelveGone) and a late answer to a request that already timed out is
dropped by id instead of being mistaken for the answer to the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from gocore_dap.backends.delve.errors import DelveGone, DelveRpcError, DelveTimeout
from gocore_dap.transport.json_stream import JsonStreamDecoder, JsonStreamError, encode_request

log = logging.getLogger(__name__)

_READ_CHUNK = 1 << 20


class DelveRpc:
    """Sends `RPCServer.<method>` requests and matches answers by id."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        default_timeout: float | None = 60.0,
        on_closed: Callable[[str], None] | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._default_timeout = default_timeout
        self._on_closed = on_closed
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        # Delve serves one request at a time; serialising here keeps a slow request from
        # making a quick one look timed out.
        self._lock = asyncio.Lock()
        self._closed_reason: str | None = None
        self._reader_task = asyncio.get_running_loop().create_task(self._read_loop())
        self.calls = 0
        # Ids sent and not answered yet, including calls that timed out or were cancelled.
        self._unanswered: set[int] = set()

    @property
    def unresponsive(self) -> bool:
        """Delve owes an answer (to a call that timed out, was cancelled, or is in flight).

        It serves one request at a time, so anything sent now would wait behind that answer:
        when the session ends, such a Delve (hung, or SIGSTOPped) is not worth a polite Detach.
        """
        return bool(self._unanswered)

    @property
    def closed(self) -> bool:
        return self._closed_reason is not None

    @property
    def closed_reason(self) -> str | None:
        return self._closed_reason

    async def call(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        """Call `RPCServer.<method>` and return its `result`.

        Raises DelveRpcError when Delve answers with an error, DelveTimeout when it does not
        answer in time (the session survives) and DelveGone when Delve is not there any more.
        """
        if self._closed_reason is not None:
            raise DelveGone(self._closed_reason)
        limit = self._default_timeout if timeout is None else timeout
        async with self._lock:
            if self._closed_reason is not None:
                raise DelveGone(self._closed_reason)
            request_id = next(self._ids)
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._pending[request_id] = future
            self._unanswered.add(request_id)
            self.calls += 1
            try:
                self._writer.write(encode_request(f"RPCServer.{method}", params or {}, request_id))
                await self._writer.drain()
            except (ConnectionError, OSError) as exc:
                self._pending.pop(request_id, None)
                self._close(f"lost the connection to Delve: {exc}")
                raise DelveGone(self._closed_reason or str(exc)) from exc
            sent = time.monotonic()
            try:
                result = await asyncio.wait_for(asyncio.shield(future), limit)
                log.debug("Delve %s answered in %.0f ms", method, (time.monotonic() - sent) * 1000)
                return result
            except TimeoutError:
                raise DelveTimeout(
                    f"Delve did not answer {method} within {limit:g} s "
                    "(raise the launch attribute 'dlvTimeout' for very large cores)"
                ) from None
            finally:
                # Timed out or cancelled: forget the id, so that the reader drops Delve's late
                # answer instead of leaving a future nobody awaits.
                self._pending.pop(request_id, None)

    async def _read_loop(self) -> None:
        decoder = JsonStreamDecoder()
        reason = "Delve closed its connection"
        try:
            while True:
                chunk = await self._reader.read(_READ_CHUNK)
                if not chunk:
                    break
                for message in decoder.feed(chunk):
                    self._dispatch(message)
        except (ConnectionError, OSError) as exc:
            reason = f"lost the connection to Delve: {exc}"
        except JsonStreamError as exc:
            # Answers that arrived whole before the garbage still belong to their callers.
            for message in exc.values:
                self._dispatch(message)
            reason = f"Delve sent data that is not JSON-RPC: {exc}"
        except ValueError as exc:
            reason = f"Delve sent data that is not JSON-RPC: {exc}"
        self._close(reason)

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        request_id = message.get("id")
        if isinstance(request_id, int):
            self._unanswered.discard(request_id)
        future = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if future is None or future.done():
            return
        error = message.get("error")
        if error:
            future.set_exception(DelveRpcError(str(error)))
        else:
            future.set_result(message.get("result"))

    def _close(self, reason: str) -> None:
        if self._closed_reason is not None:
            return
        self._closed_reason = reason
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(DelveGone(reason))
        if self._on_closed is not None:
            self._on_closed(reason)

    def mark_gone(self, reason: str) -> None:
        """Fail everything pending because the process is known to be dead."""
        self._close(reason)

    async def aclose(self) -> None:
        self._close("the session closed the connection to Delve")
        self._reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader_task
        with contextlib.suppress(Exception):
            self._writer.close()
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)
