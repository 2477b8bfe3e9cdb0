"""Malformed DAP input against the real adapter process (stdio), then a smaller dose of fuzzing.

Each broken message must get an error response when its request can be identified (its `seq` and
`command` are readable), an `output` event saying what was dropped otherwise, and the adapter must
go on serving: a valid request sent afterwards is answered. The DapClient fails the test on anything
but well-framed, schema-valid DAP on stdout.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.protocol.test_fuzz_connection import (
    INTERNAL_ERROR,
    SENTINEL_SEQ,
    commands,
    frame,
    frames,
    requests,
)
from tests.support.dap_client import DapClient
from tests.support.go_extensions_schema import validate_go_extension

pytestmark = pytest.mark.timeout(120)

UNKNOWN_COMMAND = 1000
BAD_ARGUMENTS = 1001
FRAMING_ERROR = 1002
NOT_LAUNCHED = 1005

INITIALIZE = {"clientID": "fuzz", "adapterID": "go-core", "linesStartAt1": True, "columnsStartAt1": True}
MAX_BODY = 64 * 1024 * 1024

_unique = itertools.count(1)


@pytest.fixture
def adapter() -> Iterator[DapClient]:
    client = DapClient(validate=validate_go_extension)
    client.ok("initialize", INITIALIZE)
    yield client
    client.close()
    client.assert_clean()


def error_id(response: dict[str, Any]) -> int | None:
    value = ((response.get("body") or {}).get("error") or {}).get("id")
    return value if isinstance(value, int) else None


def body(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


def still_serving(client: DapClient) -> None:
    """A valid request after the broken input is answered as it would be anyway (`threads` before
    `launch`: "No core dump is loaded")."""
    response = client.request("threads", timeout=10)
    assert response["success"] or error_id(response) == NOT_LAUNCHED, response


def wait_for_notice(client: DapClient, text: str, timeout: float = 10) -> str:
    event = client.wait_for(
        lambda m: m.get("event") == "output" and text in m.get("body", {}).get("output", ""), timeout
    )
    output: str = event["body"]["output"]
    return output


# --- headers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"this is not a header\r\n\r\n{}", "malformed header"),
        (b"Content-Type: application/json\r\n\r\n{}", "no Content-Length"),
        (b"Content-Length: twelve\r\n\r\n{}", "is not a number"),
        (b"Content-Length: -3\r\n\r\n{}", "is negative"),
        (b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", "more than one Content-Length"),
        (b"X" * 9000 + b"\r\n\r\n", "no end of the header section"),
    ],
    ids=["no-colon", "no-length", "length-not-a-number", "negative-length", "two-lengths", "endless-header"],
)
def test_bad_headers(adapter: DapClient, raw: bytes, says: str) -> None:
    adapter.send_raw(raw)
    assert says in wait_for_notice(adapter, "dropped a malformed message")
    still_serving(adapter)


def test_content_length_too_short(adapter: DapClient) -> None:
    """The body is cut at the declared length: the request is still identified and answered."""
    data = body({"seq": 42, "type": "request", "command": "threads", "arguments": {}})
    adapter.send_raw(b"Content-Length: %d\r\n\r\n" % (len(data) - 2) + data)
    response = adapter.response(42, timeout=10)
    assert not response["success"] and error_id(response) == FRAMING_ERROR
    assert "not valid JSON" in response["message"]
    still_serving(adapter)


def test_content_length_too_long(adapter: DapClient) -> None:
    """A too-long length swallows the start of the next message: the first request is answered with
    an error, the swallowed one is lost (no one can tell it was a request), the next one works."""
    first = body({"seq": 50, "type": "request", "command": "threads"})
    second = frame(body({"seq": 51, "type": "request", "command": "threads"}))
    adapter.send_raw(b"Content-Length: %d\r\n\r\n" % (len(first) + 10) + first + second)
    response = adapter.response(50, timeout=10)
    assert not response["success"] and error_id(response) == FRAMING_ERROR
    still_serving(adapter)
    assert not [m for m in adapter.timeline if m.get("request_seq") == 51]


def test_stream_ends_inside_a_message(adapter: DapClient) -> None:
    adapter.send_raw(b'Content-Length: 100\r\n\r\n{"seq": 3')
    assert adapter.process.stdin is not None
    adapter.process.stdin.close()
    adapter.process.wait(10)
    assert adapter.process.returncode == 0


# --- bodies -------------------------------------------------------------------------------------------


def test_invalid_json_with_a_visible_seq_gets_an_error_response(adapter: DapClient) -> None:
    adapter.send_raw(frame(b'{"seq": 60, "type": "request", "command": "stackTrace", "arguments": {,}}'))
    response = adapter.response(60, timeout=10)
    assert response["command"] == "stackTrace"
    assert not response["success"] and error_id(response) == FRAMING_ERROR
    still_serving(adapter)


@pytest.mark.parametrize(
    "raw",
    [b"[1, 2, 3]", b"42", b'"request"', b"null", b"{not json at all", b"\xff\xfe\xfd", b"[" * 50_000],
    ids=["array", "number", "string", "null", "garbage", "not-utf8", "too-deep"],
)
def test_unidentifiable_bodies_are_reported_and_dropped(adapter: DapClient, raw: bytes) -> None:
    adapter.send_raw(frame(raw))
    wait_for_notice(adapter, "dropped a malformed message")
    still_serving(adapter)


@pytest.mark.parametrize(
    "message",
    [
        {"seq": True, "type": "request", "command": "threads"},
        {"seq": "7", "type": "request", "command": "threads"},
        {"seq": 7, "type": "request", "command": 7},
        {"seq": 7, "type": "request"},
        {"type": "request", "command": "threads"},
    ],
    ids=["seq-true", "seq-string", "command-number", "no-command", "no-seq"],
)
def test_requests_without_a_usable_identity(adapter: DapClient, message: dict[str, Any]) -> None:
    adapter.send_raw(frame(body(message)))
    wait_for_notice(adapter, "ignored a request without an integer seq")
    still_serving(adapter)
    seqs = [m["request_seq"] for m in adapter.timeline if m.get("type") == "response"]
    assert all(type(s) is int for s in seqs), seqs


def test_responses_and_events_from_the_client_are_ignored(adapter: DapClient) -> None:
    adapter.send_raw(frame(body({"seq": 8, "type": "response", "request_seq": 1, "success": True, "command": "x"})))
    adapter.send_raw(frame(body({"seq": 9, "type": "event", "event": "stopped"})))
    still_serving(adapter)


# --- commands and arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["frobnicate", "", "THREADS", "x" * 100])
def test_unknown_commands(adapter: DapClient, command: str) -> None:
    response = adapter.request(command, {"a": 1}, timeout=10)
    assert not response["success"] and error_id(response) == UNKNOWN_COMMAND
    assert response["command"] == command
    still_serving(adapter)


@pytest.mark.parametrize(
    ("command", "arguments", "says"),
    [
        ("launch", {"program": "p", "coreFilePath": "c", "stackTraceDepth": "abc"},
         "launch: 'stackTraceDepth' must be an integer, got 'abc'"),
        ("launch", {"program": 5, "coreFilePath": "c"}, "'program' must be a string"),
        ("launch", {"program": "p", "coreFilePath": "c", "dlvTimeout": True}, "'dlvTimeout' must be a number"),
        ("launch", {"program": "p", "coreFilePath": "c", "substitutePath": "x"}, "'substitutePath'"),
        ("launch", {"coreFilePath": "c"}, "'program'"),
        ("stackTrace", {"threadId": "x"}, "stackTrace: 'threadId' must be an integer"),
        ("stackTrace", {"threadId": 1.5}, "'threadId' must be an integer"),
        ("variables", {"variablesReference": None}, "'variablesReference'"),
        ("evaluate", {"expression": ["1"]}, "'expression' must be a string"),
        ("readMemory", {"memoryReference": "0x1000", "count": "16"}, "'count' must be an integer"),
        ("readMemory", {"memoryReference": "0x1000", "count": 2**31}, "'count' must be between 0 and"),
        ("readMemory", {"memoryReference": "0x1000", "count": -1}, "'count' must be between 0 and"),
        ("disassemble", {"memoryReference": "0x1000", "instructionCount": 2**31}, "'instructionCount' must be"),
        ("scopes", "not an object", "must be an object"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None,
)  # fmt: skip
def test_wrong_argument_types(adapter: DapClient, command: str, arguments: Any, says: str) -> None:
    adapter.send_raw(frame(body({"seq": 90, "type": "request", "command": command, "arguments": arguments})))
    response = adapter.response(90, timeout=10)
    assert not response["success"] and error_id(response) == BAD_ARGUMENTS, response
    assert says in response["message"], response["message"]
    still_serving(adapter)


# --- size -------------------------------------------------------------------------------------------


def _stream(client: DapClient, header: bytes, size: int, filler: bytes = b" " * (1 << 20)) -> None:
    """Send a body of `size` bytes in pieces, never holding it in memory."""
    assert client.process.stdin is not None
    client.process.stdin.write(header)
    left = size
    while left:
        piece = filler[: min(left, len(filler))]
        client.process.stdin.write(piece)
        left -= len(piece)
    client.process.stdin.flush()


def test_a_message_over_the_limit_is_skipped_without_being_buffered(adapter: DapClient) -> None:
    size = MAX_BODY + 1
    rss_before = _rss_kib(adapter.process.pid)
    started = time.monotonic()
    head = b'{"seq": 70, "type": "request", "command": "evaluate", "arguments": {"expression": "'
    adapter.send_raw(b"Content-Length: %d\r\n\r\n" % size + head)
    _stream(adapter, b"", size - len(head), filler=b"a" * (1 << 20))
    # An error response when the reader salvages the request's identity from the start of the
    # body, else an output event: either way the client is told, and the adapter goes on.
    told = adapter.wait_for(
        lambda m: (
            m.get("request_seq") == 70
            or (m.get("event") == "output" and "exceeds the limit" in m["body"].get("output", ""))
        ),
        timeout=30,
    )
    still_serving(adapter)
    took = time.monotonic() - started
    if told["type"] == "response":
        assert not told["success"] and error_id(told) == FRAMING_ERROR and told["command"] == "evaluate"
        text = told["message"]
    else:
        text = told["body"]["output"]
    assert "exceeds the limit" in text and f"{size}" in text, text
    grown = _rss_kib(adapter.process.pid) - rss_before
    print(f"\n64 MiB + 1 message skipped, next request answered after {took:.2f} s; RSS grew {grown} KiB")
    assert grown < 16 * 1024, "the oversized body was buffered"


def test_a_large_message_under_the_limit_is_answered(adapter: DapClient) -> None:
    size = 24 * 1024 * 1024
    head = b'{"seq": 80, "type": "request", "command": "evaluate", "arguments": {"expression": "'
    tail = b'"}}'
    started = time.monotonic()
    adapter.send_raw(b"Content-Length: %d\r\n\r\n" % size + head)
    _stream(adapter, b"", size - len(head) - len(tail), filler=b"a" * (1 << 20))
    adapter.send_raw(tail)
    response = adapter.response(80, timeout=60)
    took = time.monotonic() - started
    assert not response["success"] and error_id(response) == NOT_LAUNCHED
    still_serving(adapter)
    print(f"\n24 MiB request answered in {took:.2f} s")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


# --- fuzzing the real process -----------------------------------------------------------------------

process_fuzz = settings(
    max_examples=int(os.environ.get("GOCORE_DAP_FUZZ_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)


@process_fuzz
@given(frames())
def test_fuzzed_frames_against_the_process(
    adapter: DapClient, stream: tuple[list[bytes], list[tuple[int, str]]]
) -> None:
    """Good and bad frames; afterwards a sentinel request must be answered. One adapter for all
    examples: what one example sends must not break the next."""
    parts, _ = stream
    sentinel_seq = SENTINEL_SEQ - next(_unique)
    adapter.send_raw(b"".join(parts) + frame(body({"seq": sentinel_seq, "type": "request", "command": "threads"})))
    sentinel = adapter.response(sentinel_seq, timeout=20)
    assert sentinel["success"] or error_id(sentinel) == NOT_LAUNCHED, sentinel
    for response in adapter.timeline:
        if response.get("type") == "response":
            assert error_id(response) != INTERNAL_ERROR, response


@process_fuzz
@given(st.data())
def test_fuzzed_arguments_against_the_process(adapter: DapClient, data: st.DataObject) -> None:
    seq = 100_000 + next(_unique)
    message, wrong = data.draw(requests(seq))
    if message["command"] in ("disconnect", "terminate"):
        return
    adapter.send_raw(frame(body(message)))
    response = adapter.response(seq, timeout=20)
    assert error_id(response) != INTERNAL_ERROR, (message, response)
    if wrong:
        assert error_id(response) == BAD_ARGUMENTS, (message, response)
    still_serving(adapter)


# --- fuzzing a session on a real core -----------------------------------------------------------------

# Requests that would end or restart the session are left out: the point is to survive the others.
_SESSION_COMMANDS = ("launch", "disconnect", "terminate", "initialize", "attach")


@pytest.fixture(scope="module")
def live(dlv_path: Path) -> Iterator[tuple[DapClient, dict[str, list[int]]]]:
    """One adapter on the classic core, and real ids to aim the fuzzed arguments at."""
    from tests.integration.test_faults import corpus_artifact

    artifact = corpus_artifact("classic")
    client = DapClient(validate=validate_go_extension)
    stopped = client.start_core(artifact.binary, artifact.core)
    thread = stopped["body"]["threadId"]
    frames = client.ok("stackTrace", {"threadId": thread})["stackFrames"]
    scopes = client.ok("scopes", {"frameId": frames[0]["id"]})["scopes"]
    ids = {
        "threadId": [thread, *(t["id"] for t in client.ok("threads")["threads"][:5])],
        "frameId": [f["id"] for f in frames[:5]],
        "variablesReference": [s["variablesReference"] for s in scopes],
    }
    yield client, ids
    client.close()
    client.assert_clean()


@pytest.mark.integration
@process_fuzz
@given(st.data())
def test_fuzzed_arguments_on_a_loaded_core(live: tuple[DapClient, dict[str, list[int]]], data: st.DataObject) -> None:
    client, ids = live
    seq = 200_000 + next(_unique)
    command = data.draw(st.sampled_from([c for c in commands() if c not in _SESSION_COMMANDS]))
    message, wrong = data.draw(requests(seq, command))
    arguments = message.get("arguments")
    if isinstance(arguments, dict):
        for key, choices in ids.items():
            if key in arguments and data.draw(st.booleans()):
                arguments[key] = data.draw(st.sampled_from(choices))  # a real one: reach deeper
                wrong -= {key}
    client.send_raw(frame(body(message)))
    response = client.response(seq, timeout=30)
    assert error_id(response) != INTERNAL_ERROR, (message, response)
    if wrong:
        assert error_id(response) == BAD_ARGUMENTS, (message, response)
    # The session is intact: the crashing thread's stack still reads.
    check = client.request("stackTrace", {"threadId": ids["threadId"][0], "levels": 1}, timeout=30)
    assert check["success"], check
