"""backends.delve.rpc.DelveRpc over a real socketpair, against a small fake Delve written in each test.

The fake speaks what Delve's headless server speaks: Go net/rpc/jsonrpc, one JSON value per message,
`{"id": N, "result": ..., "error": null}` answers.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gocore_dap.backends.delve.errors import DelveGone, DelveRpcError, DelveTimeout
from gocore_dap.backends.delve.rpc import DelveRpc

pytestmark = pytest.mark.timeout(30)


class FakeDelve:
    """The Delve end of the connection: reads the client's requests and writes what the test says."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def request(self, timeout: float = 5.0) -> dict[str, Any]:
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        assert line.endswith(b"\n"), f"incomplete request {line!r}"
        message: dict[str, Any] = json.loads(line)
        return message

    async def no_request(self, within: float) -> None:
        """Fail if the client sends anything within `within` seconds."""
        try:
            line = await asyncio.wait_for(self.reader.readline(), within)
        except TimeoutError:
            return
        pytest.fail(f"unexpected request {line!r}")

    async def send(self, *messages: dict[str, Any] | bytes) -> None:
        for message in messages:
            data = message if isinstance(message, bytes) else json.dumps(message).encode() + b"\n"
            self.writer.write(data)
        await self.writer.drain()

    async def answer(self, request: dict[str, Any], result: Any) -> None:
        await self.send({"id": request["id"], "result": result, "error": None})

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


Scenario = Callable[[DelveRpc, FakeDelve], Awaitable[None]]


def run(scenario: Scenario, **rpc_options: Any) -> None:
    async def main() -> None:
        client_sock, delve_sock = socket.socketpair()
        client_reader, client_writer = await asyncio.open_connection(sock=client_sock)
        delve_reader, delve_writer = await asyncio.open_connection(sock=delve_sock)
        rpc = DelveRpc(client_reader, client_writer, **rpc_options)
        fake = FakeDelve(delve_reader, delve_writer)
        try:
            await scenario(rpc, fake)
        finally:
            await rpc.aclose()
            delve_writer.close()

    asyncio.run(main())


# --- requests and answers ----------------------------------------------------------------------------


def test_request_is_go_jsonrpc_and_the_answer_is_its_result() -> None:
    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        call = asyncio.ensure_future(rpc.call("State", {"NonBlocking": True}))
        request = await fake.request()
        assert request["method"] == "RPCServer.State"
        assert request["params"] == [{"NonBlocking": True}]  # net/rpc wants the argument in a list
        assert isinstance(request["id"], int)
        await fake.answer(request, {"State": {"Running": False}})
        assert await call == {"State": {"Running": False}}
        assert rpc.calls == 1

    run(scenario)


def test_call_without_params_sends_an_empty_object() -> None:
    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        call = asyncio.ensure_future(rpc.call("ListThreads"))
        request = await fake.request()
        assert request["params"] == [{}]
        await fake.answer(request, {"Threads": []})
        assert await call == {"Threads": []}

    run(scenario)


def test_answers_are_matched_by_id() -> None:
    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        call = asyncio.ensure_future(rpc.call("Eval", {"Expr": "x"}))
        request = await fake.request()
        # Answers to ids nobody asked for come first; they must not be taken for this call's answer.
        await fake.send(
            {"id": request["id"] + 1000, "result": "not yours", "error": None},
            {"id": str(request["id"]), "result": "an id of the wrong type", "error": None},
            {"result": "no id at all", "error": None},
        )
        await fake.answer(request, "yours")
        assert await call == "yours"

        second = asyncio.ensure_future(rpc.call("Eval", {"Expr": "y"}))
        request2 = await fake.request()
        assert request2["id"] != request["id"]
        await fake.answer(request2, "second")
        assert await second == "second"

    run(scenario)


def test_calls_are_sent_one_at_a_time() -> None:
    # Delve serves one request at a time; the second waits for the first answer before it is sent.
    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        first = asyncio.ensure_future(rpc.call("Stacktrace", {"Id": 1}))
        second = asyncio.ensure_future(rpc.call("Stacktrace", {"Id": 2}))
        request1 = await fake.request()
        await fake.no_request(within=0.2)
        await fake.answer(request1, "stack of 1")
        request2 = await fake.request()
        assert request2["params"] == [{"Id": 2}]
        await fake.answer(request2, "stack of 2")
        assert [await first, await second] == ["stack of 1", "stack of 2"]

    run(scenario)


def test_other_json_values_between_answers_are_ignored() -> None:
    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        call = asyncio.ensure_future(rpc.call("State"))
        request = await fake.request()
        await fake.send(b'[1, 2, 3]\n"a string"\n42\n')
        await fake.answer(request, "ok")
        assert await call == "ok"

    run(scenario)


def test_a_large_answer_in_many_chunks() -> None:
    # Several MB (every goroutine of a big process), larger than one read, written in pieces.
    goroutines = [{"id": i, "currentLoc": {"function": {"name": "main.worker"}, "line": i}} for i in range(60_000)]

    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        call = asyncio.ensure_future(rpc.call("ListGoroutines", {"Count": 0}))
        request = await fake.request()
        data = json.dumps({"id": request["id"], "result": {"Goroutines": goroutines}, "error": None}).encode()
        assert len(data) > 4 << 20
        for start in range(0, len(data), 300_001):
            await fake.send(data[start : start + 300_001])
        await fake.send(b"\n")
        result = await call
        assert result["Goroutines"] == goroutines

    run(scenario)


# --- errors ------------------------------------------------------------------------------------------


def test_error_answer_raises_delve_rpc_error_and_the_connection_survives() -> None:
    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        call = asyncio.ensure_future(rpc.call("Eval", {"Expr": "nosuchvar"}))
        request = await fake.request()
        await fake.send({"id": request["id"], "result": None, "error": "could not find symbol value for nosuchvar"})
        with pytest.raises(DelveRpcError, match="could not find symbol value for nosuchvar"):
            await call
        assert not rpc.closed

        again = asyncio.ensure_future(rpc.call("Eval", {"Expr": "x"}))
        await fake.answer(await fake.request(), "1")
        assert await again == "1"

    run(scenario)


def test_timeout_raises_and_the_late_answer_is_dropped() -> None:
    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        slow = asyncio.ensure_future(rpc.call("ListGoroutines", {"Count": 0}, timeout=0.1))
        slow_request = await fake.request()
        with pytest.raises(DelveTimeout, match="ListGoroutines"):
            await slow
        assert not rpc.closed  # a slow Delve is not a dead one

        quick = asyncio.ensure_future(rpc.call("State"))
        quick_request = await fake.request()
        # Delve finally answers the timed-out request, then the new one, in one write.
        await fake.send(
            {"id": slow_request["id"], "result": "late answer to ListGoroutines", "error": None},
            {"id": quick_request["id"], "result": "answer to State", "error": None},
        )
        assert await quick == "answer to State"

    run(scenario)


def test_late_answer_arriving_between_calls_is_dropped() -> None:
    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        slow = asyncio.ensure_future(rpc.call("Stacktrace", timeout=0.05))
        slow_request = await fake.request()
        with pytest.raises(DelveTimeout):
            await slow
        await fake.answer(slow_request, "late")
        await asyncio.sleep(0.05)  # the reader has seen it before the next call starts

        quick = asyncio.ensure_future(rpc.call("State"))
        quick_request = await fake.request()
        await fake.answer(quick_request, "fresh")
        assert await quick == "fresh"

    run(scenario)


def test_default_timeout_applies() -> None:
    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        call = asyncio.ensure_future(rpc.call("State"))
        await fake.request()
        started = time.monotonic()
        with pytest.raises(DelveTimeout):
            await call
        assert time.monotonic() - started < 2.0

    run(scenario, default_timeout=0.1)


# --- Delve going away --------------------------------------------------------------------------------


def test_peer_closing_fails_the_pending_call_and_every_later_one() -> None:
    reasons: list[str] = []

    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        pending = asyncio.ensure_future(rpc.call("ListGoroutines"))
        await fake.request()
        await fake.close()
        with pytest.raises(DelveGone):
            await asyncio.wait_for(pending, 2.0)  # not after the 30 s timeout
        assert rpc.closed and rpc.closed_reason

        started = time.monotonic()
        with pytest.raises(DelveGone):
            await rpc.call("State")
        assert time.monotonic() - started < 0.5  # fails at once, without waiting for an answer

    run(scenario, default_timeout=30.0, on_closed=reasons.append)
    assert len(reasons) == 1, reasons  # told once, however many calls failed


def test_peer_closing_while_idle_is_noticed_without_a_call() -> None:
    reasons: list[str] = []

    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        await fake.close()
        for _ in range(100):
            if rpc.closed:
                break
            await asyncio.sleep(0.01)
        assert rpc.closed
        assert reasons and "closed" in reasons[0]
        with pytest.raises(DelveGone, match="closed"):
            await rpc.call("State")

    run(scenario, on_closed=reasons.append)


def test_garbage_from_the_peer_closes_with_a_clear_reason() -> None:
    reasons: list[str] = []

    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        pending = asyncio.ensure_future(rpc.call("State"))
        await fake.request()
        await fake.send(b"panic: runtime error: index out of range\n")
        with pytest.raises(DelveGone, match="not JSON-RPC") as raised:
            await asyncio.wait_for(pending, 2.0)
        assert rpc.closed
        assert rpc.closed_reason == str(raised.value)
        # Later answers on a stream that cannot be trusted are not read: calls fail at once.
        with pytest.raises(DelveGone, match="not JSON-RPC"):
            await rpc.call("State")

    run(scenario, on_closed=reasons.append)
    assert len(reasons) == 1 and "not JSON-RPC" in reasons[0]


def test_mark_gone_fails_pending_calls_with_the_given_reason() -> None:
    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        pending = asyncio.ensure_future(rpc.call("State"))
        await fake.request()
        rpc.mark_gone("Delve was killed by SIGKILL")
        with pytest.raises(DelveGone, match="killed by SIGKILL"):
            await pending
        with pytest.raises(DelveGone, match="killed by SIGKILL"):
            await rpc.call("State")

    run(scenario)


def test_aclose_fails_pending_calls() -> None:
    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        pending = asyncio.ensure_future(rpc.call("State"))
        await fake.request()
        await rpc.aclose()
        with pytest.raises(DelveGone):
            await pending
        # The fake sees the connection end.
        assert await asyncio.wait_for(fake.reader.read(), 2.0) == b""

    run(scenario)


def test_an_answer_received_before_garbage_is_still_delivered() -> None:
    async def scenario(rpc: DelveRpc, fake: FakeDelve) -> None:
        pending = asyncio.ensure_future(rpc.call("State"))
        request = await fake.request()
        answer = json.dumps({"id": request["id"], "result": "ok", "error": None}).encode()
        await fake.send(answer + b"\nnot json\n")  # one write: one read on the client side
        assert await asyncio.wait_for(pending, 2.0) == "ok"
        assert rpc.closed  # the stream is still not trusted after that

    run(scenario)
