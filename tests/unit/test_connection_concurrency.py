"""The connection serves independent requests concurrently, honours `cancel`, and reports progress.

In process, with a fake loaded core behind the session (the real adapter and real cores are tested in
tests/protocol and tests/integration): what is tested here is the connection's scheduling.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gocore_dap.protocol import models as m
from gocore_dap.server.connection import DapConnection
from gocore_dap.session.session import CoreSession
from gocore_dap.transport.dap_framing import DapReader, encode_message


class Client:
    """Drives one DapConnection: send requests, read what it writes."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self.messages: list[dict[str, Any]] = []
        self._decoder = DapReader()
        self._arrived = asyncio.Condition()
        self.connection = DapConnection(self._read, self._write)
        self._seq = 0

    async def _read(self) -> bytes:
        return await self.incoming.get()

    async def _write(self, data: bytes) -> None:
        self._decoder.receive_data(data)
        async with self._arrived:
            while isinstance(item := self._decoder.next_message(), dict):
                self.messages.append(item)
            self._arrived.notify_all()

    def send(self, command: str, arguments: Any = None) -> int:
        self._seq += 1
        message: dict[str, Any] = {"seq": self._seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = arguments
        self.incoming.put_nowait(encode_message(message))
        return self._seq

    async def response(self, seq: int, timeout: float = 5.0) -> dict[str, Any]:
        async def found() -> dict[str, Any]:
            async with self._arrived:
                while True:
                    for message in self.messages:
                        if message.get("type") == "response" and message.get("request_seq") == seq:
                            return message
                    await self._arrived.wait()

        return await asyncio.wait_for(found(), timeout)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [x for x in self.messages if x.get("type") == "event" and x.get("event") == name]

    def end(self) -> None:
        self.incoming.put_nowait(b"")


def fake_target(**methods: Callable[..., Awaitable[Any]]) -> Any:
    frames = types.SimpleNamespace(stack_trace=methods.pop("stack_trace", None))
    # Thread 0 is no thread: the stacks these tests ask for are never the crash's.
    return types.SimpleNamespace(frames=frames, crash_thread_id=0, **methods)


def run(body: Callable[[Client], Awaitable[None]]) -> None:
    async def main() -> None:
        client = Client()
        serving = asyncio.create_task(client.connection.run())
        try:
            await body(client)
        finally:
            client.end()
            await asyncio.wait_for(serving, 10)

    asyncio.run(main())


def test_a_slow_listing_does_not_delay_a_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    release = asyncio.Event()

    async def goroutines(query: Any) -> Any:
        await release.wait()
        raise AssertionError("not reached: the test ends first")

    async def stack_trace(thread_id: int, start: int, levels: int) -> tuple[list[m.StackFrame], int]:
        return [m.StackFrame(id=1, name="main.main", line=7, column=1)], 1

    target = fake_target(goroutines=goroutines, stack_trace=stack_trace)
    monkeypatch.setattr(CoreSession, "target", lambda self: target)

    async def body(client: Client) -> None:
        slow = client.send("goroutines", {"groupBy": "stack"})
        quick = client.send("stackTrace", {"threadId": 1})
        answer = await client.response(quick, timeout=2)
        assert answer["success"] and answer["body"]["stackFrames"][0]["name"] == "main.main"
        assert not [x for x in client.messages if x.get("request_seq") == slow]
        cancel = client.send("cancel", {"requestId": slow})
        cancelled = await client.response(slow)
        assert not cancelled["success"] and cancelled["message"] == "cancelled"
        assert (await client.response(cancel))["success"]

    run(body)


def test_cancel_by_progress_id_and_progress_events(monkeypatch: pytest.MonkeyPatch) -> None:
    started = asyncio.Event()

    async def goroutines(query: Any, progress: Any = None) -> Any:
        await asyncio.sleep(30)

    monkeypatch.setattr(CoreSession, "target", lambda self: fake_target(goroutines=goroutines))

    async def body(client: Client) -> None:
        await client.response(client.send("initialize", {"adapterID": "go-core", "supportsProgressReporting": True}))
        seq = client.send("goroutines", {})
        await asyncio.sleep(0.05)
        flight = client.connection._flights[seq]
        ctx_progress = client.connection._start_progress(seq, "Reading goroutines")
        await ctx_progress("listing", 10.0)
        await ctx_progress("grouping", 150.0)
        started.set()
        [start] = client.events("progressStart")
        assert start["body"]["requestId"] == seq and start["body"]["cancellable"] is True
        assert start["body"]["title"] == "Reading goroutines" and start["body"]["percentage"] == 10.0
        [update] = client.events("progressUpdate")
        assert update["body"]["percentage"] == 100.0  # clamped to DAP's range
        client.send("cancel", {"progressId": start["body"]["progressId"]})
        answer = await client.response(seq)
        assert answer["message"] == "cancelled"
        [end] = client.events("progressEnd")
        assert end["body"]["progressId"] == start["body"]["progressId"]
        assert flight.answered
        # Progress after the answer is not shown.
        await ctx_progress("late", None)
        assert len(client.events("progressUpdate")) == 1

    run(body)


def test_no_progress_events_for_a_client_without_them(monkeypatch: pytest.MonkeyPatch) -> None:
    async def goroutines(query: Any) -> Any:
        await asyncio.sleep(30)

    monkeypatch.setattr(CoreSession, "target", lambda self: fake_target(goroutines=goroutines))

    async def body(client: Client) -> None:
        await client.response(client.send("initialize", {"adapterID": "go-core"}))
        seq = client.send("goroutines", {})
        await asyncio.sleep(0.05)
        await client.connection._start_progress(seq, "Reading goroutines")("listing", 5.0)
        client.send("cancel", {"requestId": seq})
        await client.response(seq)
        assert not client.events("progressStart") and not client.events("progressEnd")

    run(body)


def test_a_state_change_waits_for_the_requests_before_it(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []

    async def stack_trace(thread_id: int, start: int, levels: int) -> tuple[list[m.StackFrame], int]:
        await asyncio.sleep(0.2)
        order.append("stackTrace")
        return [], 0

    monkeypatch.setattr(CoreSession, "target", lambda self: fake_target(stack_trace=stack_trace))

    async def configuration_done(self: CoreSession) -> None:
        order.append("configurationDone")

    monkeypatch.setattr(CoreSession, "configuration_done", configuration_done)
    monkeypatch.setattr(CoreSession, "send_stop", lambda self: asyncio.sleep(0))

    async def body(client: Client) -> None:
        first = client.send("stackTrace", {"threadId": 1})
        done = client.send("configurationDone")
        await client.response(done)
        await client.response(first)
        assert order == ["stackTrace", "configurationDone"]

    run(body)


def test_cancel_is_advertised_and_unknown_ids_are_fine() -> None:
    async def body(client: Client) -> None:
        capabilities = (await client.response(client.send("initialize", {"adapterID": "go-core"})))["body"]
        assert capabilities["supportsCancelRequest"] is True
        answer = await client.response(client.send("cancel", {"requestId": 999}))
        assert answer["success"]

    run(body)
