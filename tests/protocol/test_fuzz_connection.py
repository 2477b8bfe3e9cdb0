"""Hypothesis fuzzing of a `DapConnection`, in process: framing bytes and request arguments.

The connection reads and writes through fake callables (a list of chunks in, a DapReader out), so
thousands of messages run in seconds. What must hold for any input:
- the connection never raises and ends when the input ends;
- what it writes is well-framed DAP, valid against the DAP schema (and go-extensions.json), with
  strictly increasing seq;
- every request that can be identified gets exactly one response, in order, and no input ever
  produces an internal error (5000): a bad argument is the client's error (1001), not ours;
- an argument of the wrong JSON type for a field the command knows is refused as BAD_ARGUMENTS
  and the message names the command.

Arguments are generated from the argument definitions of the DAP schema (`StackTraceArguments`,
...), of go-extensions.json (custom commands) and, for `launch`, from the launch configuration
schema in editor-extension/package.json, mixing right types, wrong types, missing required
properties and unknown keys. The real adapter process gets a smaller dose in
test_fuzz_adapter_process.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import os
import time
import types
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gocore_dap.protocol.models import ALIASES, wire_name
from gocore_dap.server.connection import DapConnection
from gocore_dap.server.handlers import COMMANDS
from gocore_dap.session.session import CoreSession
from gocore_dap.transport.dap_framing import DapReader, FramingError, encode_message
from tests.support.dap_schema import load_schema
from tests.support.go_extensions_schema import load_extension_schema, validate_go_extension

REPO = Path(__file__).resolve().parents[2]

INTERNAL_ERROR = 5000
BAD_ARGUMENTS = 1001
SENTINEL_SEQ = 2_000_000_000  # within int32, beyond any seq the strategies use

# Bounded for CI: each example runs a whole connection (a few ms). GOCORE_DAP_FUZZ_EXAMPLES=5000
# runs a longer campaign locally.
fuzz = settings(
    max_examples=int(os.environ.get("GOCORE_DAP_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# --- JSON values ------------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.text(max_size=12)
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)

# JSON values by type, to pick a wrong one for a property (null is never "wrong": an optional
# property may be null).
_BY_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "boolean": st.booleans(),
    "integer": st.integers(-(2**40), 2**40),
    # 5.0 is a fine integer (JavaScript clients send it), so a wrong number has a fraction.
    "number": st.floats(allow_nan=False, allow_infinity=False, width=32).filter(lambda f: not f.is_integer()),
    "string": st.text(max_size=12),
    "array": st.lists(json_scalars, max_size=3),
    "object": st.dictionaries(st.text(max_size=6), json_scalars, max_size=3),
}
# The types a value of each schema type may take and still be right.
_ACCEPTS: dict[str, set[str]] = {
    "boolean": {"boolean"},
    "integer": {"integer"},
    "number": {"number", "integer"},
    "string": {"string"},
    "array": {"array"},
    "object": {"object"},
}


# --- the argument definitions -----------------------------------------------------------------------


@functools.cache
def _definitions() -> dict[str, Any]:
    ours = load_extension_schema()["definitions"]
    return {**load_schema()["definitions"], **ours}


@functools.cache
def _launch_schema() -> dict[str, Any]:
    package = json.loads((REPO / "editor-extension" / "package.json").read_text(encoding="utf-8"))
    debugger = package["contributes"]["debuggers"][0]
    schema: dict[str, Any] = debugger["configurationAttributes"]["launch"]
    return {"type": "object", "properties": schema["properties"], "required": ["program", "coreFilePath"]}


def argument_schema(command: str) -> dict[str, Any] | None:
    if command == "launch":
        return _launch_schema()
    name = command[:1].upper() + command[1:] + "Arguments"
    found: dict[str, Any] | None = _definitions().get(name)
    return found


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow `$ref`s and merge `allOf` parts (StackFrameFormat extends ValueFormat)."""
    while "$ref" in node:
        node = _definitions()[node["$ref"].rsplit("/", 1)[-1]]
    if "allOf" not in node:
        return node
    merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    properties: dict[str, Any] = {}
    for part in node["allOf"]:
        resolved = _resolve(part)
        properties.update(resolved.get("properties", {}))
        for key, value in resolved.items():
            if key != "properties":
                merged.setdefault(key, value)
    merged["properties"] = {**properties, **node.get("properties", {})}
    return merged


def _types(node: Mapping[str, Any]) -> set[str]:
    node = _resolve(node)
    declared = node.get("type")
    if isinstance(declared, list):
        return set(declared)
    if isinstance(declared, str):
        return {declared}
    if "properties" in node:
        return {"object"}
    return set()


def right_value(node: Mapping[str, Any], depth: int = 0, *, lenient: bool = False) -> st.SearchStrategy[Any]:
    """A value the schema allows (nested objects right all the way down); `lenient` lets integers
    inside arrays and objects go out of their range too."""
    node = _resolve(node)
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "_enum" in node and node.get("type") == "string":
        return st.sampled_from(node["_enum"]) | st.text(max_size=12)
    types = _types(node)
    if not types:
        return json_values
    options: list[st.SearchStrategy[Any]] = []
    for kind in sorted(types):
        if kind == "integer":
            low, high = _integer_range(node)
            options.append(st.integers(low, high))
            if lenient and depth > 0:
                options.append(out_of_range(node))
        elif kind == "number":
            low = node.get("minimum", -1e9)
            options.append(st.floats(low, 1e9, allow_nan=False) | st.integers(int(low) + 1, 10**6))
        elif kind == "array" and depth < 2:
            options.append(st.lists(right_value(node.get("items", {}), depth + 1, lenient=lenient), max_size=3))
        elif kind == "object" and depth < 2 and "properties" in node:
            options.append(object_value(node, depth + 1, lenient=lenient).map(lambda pair: pair[0]))
        elif kind in _BY_TYPE:
            options.append(_BY_TYPE[kind])
    return st.one_of(options) if options else json_values


_FORMAT_RANGES: dict[str, tuple[int, int]] = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**53), 2**53 - 1),
    "uint64": (0, 2**53 - 1),
}


def _integer_range(node: Mapping[str, Any]) -> tuple[int, int]:
    low, high = _FORMAT_RANGES.get(node.get("format", ""), (-(2**31), 2**31 - 1))
    return max(low, node.get("minimum", low)), min(high, node.get("maximum", high))


def out_of_range(node: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """An integer of the right JSON type beyond what the schema allows (a negative line, a count
    beyond uint32): the adapter may refuse it or cope, but must not fail or echo it back."""
    node = _resolve(node)
    if "integer" not in _types(node):
        return st.nothing()
    low, high = _integer_range(node)
    return st.sampled_from([low - 1, -1, high + 1, 2**63]).filter(lambda v: not low <= v <= high)


def wrong_value(node: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """A value of a JSON type the schema does not allow for the property."""
    allowed: set[str] = set()
    for kind in _types(node):
        allowed |= _ACCEPTS.get(kind, {kind})
    others = [strategy for kind, strategy in _BY_TYPE.items() if kind not in allowed]
    return st.one_of(others) if others else st.nothing()


def object_value(
    node: Mapping[str, Any], depth: int = 0, *, with_wrong: bool = False, lenient: bool = False
) -> st.SearchStrategy[tuple[dict[str, Any], frozenset[str]]]:
    """An object from a definition: each property present or not, right or (optionally) wrong,
    sometimes with unknown keys; with the set of properties that got a wrong type."""
    node = _resolve(node)
    properties: Mapping[str, Any] = node.get("properties", {})
    entries: dict[str, st.SearchStrategy[tuple[Any, bool]]] = {}
    for name, prop in properties.items():
        choice = right_value(prop, depth, lenient=lenient or with_wrong).map(lambda v: (v, False))
        if with_wrong:
            choice = choice | wrong_value(prop).map(lambda v: (v, True)) | out_of_range(prop).map(lambda v: (v, False))
        entries[name] = choice
    extras = st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: k not in properties), json_scalars, max_size=2
    )

    def assemble(parts: tuple[dict[str, tuple[Any, bool]], dict[str, Any]]) -> tuple[dict[str, Any], frozenset[str]]:
        chosen, unknown = parts
        value = {**unknown, **{k: v for k, (v, _) in chosen.items()}}
        return value, frozenset(k for k, (_, wrong) in chosen.items() if wrong)

    return st.tuples(st.fixed_dictionaries({}, optional=entries), extras).map(assemble)


@functools.cache
def model_fields(command: str) -> frozenset[str]:
    """The wire keys the adapter's arguments class for `command` reads (aliases included)."""
    cmd = COMMANDS.get(command)
    if cmd is None or cmd.arguments is None or not attrs.has(cmd.arguments):
        return frozenset()
    keys: set[str] = set()
    for field in attrs.fields(cmd.arguments):
        keys.add(wire_name(field))
        keys.update(field.metadata.get(ALIASES, ()))
    return frozenset(keys)


def commands() -> list[str]:
    return sorted(COMMANDS)


UNKNOWN_COMMANDS = ["", "frobnicate", "Threads", "launch ", "__proto__", "constructor", "x" * 200]


@st.composite
def requests(draw: st.DrawFn, seq: int, command: str | None = None) -> tuple[dict[str, Any], frozenset[str]]:
    """A request for a (known or unknown) command with generated arguments; and its wrong keys."""
    name = command or draw(st.sampled_from(commands()) | st.sampled_from(UNKNOWN_COMMANDS))
    schema = argument_schema(name)
    message: dict[str, Any] = {"seq": seq, "type": "request", "command": name}
    wrong: frozenset[str] = frozenset()
    if schema is not None:
        arguments, wrong = draw(object_value(schema, with_wrong=True))
        if draw(st.integers(0, 9)) > 0:
            message["arguments"] = arguments
        else:
            message["arguments"] = draw(json_values)  # not even an object, or missing
            wrong = frozenset()
    elif draw(st.booleans()):
        message["arguments"] = draw(json_values)
    return message, wrong & model_fields(name)


# --- running a connection on bytes --------------------------------------------------------------------


@attrs.define
class Outcome:
    messages: list[dict[str, Any]]
    violations: list[str]

    def responses(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == "response"]

    def response_to(self, seq: int) -> list[dict[str, Any]]:
        return [m for m in self.responses() if m.get("request_seq") == seq]


def run_connection(
    chunks: Iterable[bytes | asyncio.Event], *, until_answered: int | None = None, timeout: float = 20
) -> Outcome:
    """Feed `chunks` to a new DapConnection; after them, wait (bounded) until request
    `until_answered` is answered, then end the stream. Returns what the connection wrote.

    An Event among the chunks holds the rest back until it is set (by a test's fake handler).

    Every message written is checked as it comes (schema, framing, increasing seq); any violation fails
    the caller here, so no test can forget to look."""
    outcome = Outcome([], [])

    async def main() -> None:
        pending = deque(chunks)
        answered = asyncio.Event()
        decoder = DapReader()
        last_seq = 0

        async def read() -> bytes:
            while pending:
                item = pending.popleft()
                if isinstance(item, asyncio.Event):
                    await asyncio.wait_for(item.wait(), 5)
                    continue
                return item
            if until_answered is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(answered.wait(), 5)
            return b""

        async def write(data: bytes) -> None:
            nonlocal last_seq
            decoder.receive_data(data)
            while True:
                item = decoder.next_message()
                if isinstance(item, FramingError):
                    outcome.violations.append(f"badly framed output: {item}")
                    continue
                if not isinstance(item, dict):
                    break
                outcome.messages.append(item)
                try:
                    validate_go_extension(item)
                except AssertionError as exc:
                    outcome.violations.append(str(exc))
                seq = item.get("seq")
                if not isinstance(seq, int) or seq <= last_seq:
                    outcome.violations.append(f"seq {seq!r} after {last_seq}")
                else:
                    last_seq = seq
                if item.get("type") == "response" and item.get("request_seq") == until_answered:
                    answered.set()

        connection = DapConnection(read, write)
        await asyncio.wait_for(connection.run(), timeout)

    asyncio.run(main())
    assert not outcome.violations, "\n".join(outcome.violations)
    return outcome


def frame(body: bytes, *, headers: bytes = b"") -> bytes:
    return b"Content-Length: %d\r\n%s\r\n%s" % (len(body), headers, body)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


def sentinel() -> bytes:
    """A request that runs alone (server.connection.RUN_ALONE): it is answered only after every request
    read before it, so its answer means the connection has answered everything sent so far."""
    return encode_message({"seq": SENTINEL_SEQ, "type": "request", "command": "configurationDone"})


def assert_no_internal_errors(outcome: Outcome) -> None:
    for response in outcome.responses():
        error = (response.get("body") or {}).get("error") or {}
        assert error.get("id") != INTERNAL_ERROR, response


# --- request arguments ------------------------------------------------------------------------------


@fuzz
@given(st.data())
def test_arguments_of_every_command(data: st.DataObject) -> None:
    """initialize, then one request with generated arguments, then a sentinel: never a 5000."""
    initialize = encode_message(
        {"seq": 1, "type": "request", "command": "initialize", "arguments": {"adapterID": "go-core"}}
    )
    message, wrong = data.draw(requests(2))
    outcome = run_connection([initialize, encode_message(message), sentinel()], until_answered=SENTINEL_SEQ)
    assert not outcome.violations, outcome.violations
    assert_no_internal_errors(outcome)
    (response,) = outcome.response_to(2)
    assert response["command"] == message["command"]
    if wrong:
        assert not response["success"] and response["body"]["error"]["id"] == BAD_ARGUMENTS, (message, response)
        assert response["message"].startswith(f"{message['command']}:"), response["message"]
    ending = message["command"] == "disconnect" and response["success"]
    assert ending or len(outcome.response_to(SENTINEL_SEQ)) == 1, "the connection stopped serving"


@pytest.mark.parametrize("command", commands())
@settings(fuzz, max_examples=40)
@given(data=st.data())
def test_arguments_per_command(command: str, data: st.DataObject) -> None:
    """The same, a few examples for each command, so that none is left out by chance."""
    message, wrong = data.draw(requests(1, command))
    outcome = run_connection([encode_message(message), sentinel()], until_answered=SENTINEL_SEQ)
    assert not outcome.violations, outcome.violations
    assert_no_internal_errors(outcome)
    (response,) = outcome.response_to(1)
    if wrong and isinstance(message.get("arguments"), dict):
        assert response["body"]["error"]["id"] == BAD_ARGUMENTS, (message, response)


# --- framing ------------------------------------------------------------------------------------------

# Broken bodies, each with the (seq, command) the adapter must still answer, if any. Seqs of
# answerable ones are far from those of the good requests (1..8).
BAD_BODIES: list[tuple[bytes, tuple[int, str] | None]] = [
    (b"{", None),
    (b"[]", None),
    (b"null", None),
    (b"42", None),
    (b'"request"', None),
    (b"\xff\xfe", None),
    (b'{"seq": 701, "type": "request", "command": "threads"', (701, "threads")),  # cut short: salvaged
    (b'{"seq": 702, "type": "request", "command": "stackTrace", "arguments": {"threadId": }}', (702, "stackTrace")),
    (b'{"seq": true, "type": "request", "command": "threads"}', None),
    (b'{"seq": 1.5, "type": "request", "command": "threads"}', None),
    (b'{"seq": "3", "type": "request", "command": "threads"}', None),
    (b'{"seq": 9, "type": "request", "command": 7}', None),
    (b'{"seq": 9, "type": "request"}', None),
    (b'{"seq": 9, "type": "response", "command": "threads", "request_seq": 1, "success": true}', None),
    (b'{"seq": 9, "type": "event", "event": "stopped"}', None),
    (b'{"seq": 9}', None),
    (b"{}", None),
    (b"[" * 100_000, None),  # nested too deeply for the json module
    # A lone surrogate is valid JSON: a request like any other.
    (b'{"seq": 703, "type": "request", "command": "evaluate", "arguments": {"expression": "\\ud800"}}',
     (703, "evaluate")),
]  # fmt: skip
bad_bodies = st.sampled_from(BAD_BODIES) | st.text(max_size=30).filter(lambda t: "seq" not in t).map(
    lambda t: (t.encode(), None)
)
# Header lines a client might send besides Content-Length, and broken ones (none mentions the length,
# so resynchronising cannot land inside them).
extra_headers = st.sampled_from(
    [b"", b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n", b"X-Thing: 1\r\n"]
)
broken_headers = st.sampled_from(
    [b"garbage\r\n\r\n", b"Content-Length: abc\r\n\r\n", b"Content-Length: -5\r\n\r\n", b": 4\r\n\r\n"]
)


@st.composite
def frames(draw: st.DrawFn) -> tuple[list[bytes], list[tuple[int, str]]]:
    """A stream of whole frames, good and bad; and, in stream order, the (seq, command) of each frame
    that must be answered."""
    out: list[bytes] = []
    expected: list[tuple[int, str]] = []
    for seq in range(1, draw(st.integers(1, 8)) + 1):
        kind = draw(st.sampled_from(["request", "request", "bad-body", "bad-header"]))
        if kind == "request":
            message, _ = draw(requests(seq))
            if message["command"] in ("disconnect", "terminate"):
                message["command"] = "threads"  # ending the session is tested on its own
            out.append(frame(json.dumps(message).encode(), headers=draw(extra_headers)))
            expected.append((seq, message["command"]))
        elif kind == "bad-body":
            body, identity = draw(bad_bodies)
            out.append(frame(body))
            if identity is not None:
                expected.append(identity)
        else:
            out.append(draw(broken_headers) + b'{"x": 1}')
        if draw(st.booleans()):
            out.append(b"\r\n")  # stray whitespace between messages is tolerated
    return out, expected


@fuzz
@given(frames(), st.lists(st.integers(min_value=0), max_size=12))
def test_frames_good_and_bad(stream: tuple[list[bytes], list[tuple[int, str]]], cuts: list[int]) -> None:
    parts, expected = stream
    data = b"".join(parts) + sentinel()
    outcome = run_connection(split(data, cuts), until_answered=SENTINEL_SEQ)
    assert not outcome.violations, outcome.violations
    assert_no_internal_errors(outcome)
    # Exactly one response for each answerable frame (requests are served concurrently, so in any
    # order), then the sentinel's: no broken message stopped the connection or made it answer twice.
    answered = [(r["request_seq"], r["command"]) for r in outcome.responses()]
    assert sorted(answered[:-1]) == sorted(expected), (parts, outcome.messages)
    assert answered[-1:] == [(SENTINEL_SEQ, "configurationDone")], (parts, outcome.messages)


fragments = st.sampled_from(
    [
        b"Content-Length: ",
        b"content-length:",
        b"\r\n",
        b"\r\n\r\n",
        b"12",
        b"99999999999999999999",
        b"{",
        b"}",
        b'"seq":3',
        b'"type":"request"',
        b'"command":"threads"',
        b'"arguments":',
        b"\xff",
        b"[",
    ]
)
junk = st.lists(fragments | st.binary(max_size=16), max_size=40).map(b"".join)


@fuzz
@given(junk, st.lists(st.integers(min_value=0), max_size=10))
def test_any_bytes(data: bytes, cuts: list[int]) -> None:
    """Arbitrary bytes: the connection ends with the stream, writes only valid DAP, never a 5000."""
    outcome = run_connection(split(data, cuts))
    assert not outcome.violations, outcome.violations
    assert_no_internal_errors(outcome)


def test_a_flood_of_requests_is_answered() -> None:
    """More requests than the read-ahead queue holds, in one chunk: each answered once."""
    batch = b"".join(encode_message({"seq": seq, "type": "request", "command": "threads"}) for seq in range(1, 501))
    outcome = run_connection([batch, sentinel()], until_answered=SENTINEL_SEQ)
    assert not outcome.violations
    answered = [r["request_seq"] for r in outcome.responses()]
    assert sorted(answered[:-1]) == [*range(1, 501)] and answered[-1] == SENTINEL_SEQ


def test_a_disconnect_ends_the_connection_and_answers_what_came_before() -> None:
    stream = [
        encode_message({"seq": 1, "type": "request", "command": "threads"}),
        encode_message({"seq": 2, "type": "request", "command": "disconnect"}),
        encode_message({"seq": 3, "type": "request", "command": "threads"}),
    ]
    outcome = run_connection(stream)
    assert not outcome.violations
    answered = [r["request_seq"] for r in outcome.responses()]
    assert answered[-1] == 2 and 3 not in answered


# --- ending a session while a request is slow ---------------------------------------------------------
# A handler that waits stands for a slow or hung Delve; the waits below are that, not synchronisation.


def _hang_threads(monkeypatch: pytest.MonkeyPatch, thread_list: Callable[[], Awaitable[list[Any]]]) -> None:
    """Make every session serve `threads` with `thread_list`, as if a core were loaded."""
    monkeypatch.setattr(CoreSession, "target", lambda self: types.SimpleNamespace(thread_list=thread_list))


def _request(seq: int, command: str) -> bytes:
    return encode_message({"seq": seq, "type": "request", "command": command})


def test_the_end_of_the_stream_cancels_a_slow_request(monkeypatch: pytest.MonkeyPatch) -> None:
    running = asyncio.Event()
    cancelled: list[bool] = []

    async def hung_threads() -> list[Any]:
        running.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return []

    _hang_threads(monkeypatch, hung_threads)
    started = time.monotonic()
    outcome = run_connection([_request(1, "threads"), _request(2, "threads"), running])
    assert time.monotonic() - started < 5
    # Both were under way (requests are served concurrently), and both were cancelled.
    assert cancelled == [True, True]
    assert not outcome.violations
    # Whatever is still written after the end of the stream says `cancelled`.
    for response in outcome.responses():
        assert response["request_seq"] in (1, 2) and response["message"] == "cancelled", response


def test_a_disconnect_cancels_the_slow_request_ahead_of_it(monkeypatch: pytest.MonkeyPatch) -> None:
    running = asyncio.Event()

    async def hung_threads() -> list[Any]:
        running.set()
        await asyncio.sleep(60)
        return []

    _hang_threads(monkeypatch, hung_threads)
    started = time.monotonic()
    stream: list[bytes | asyncio.Event] = [
        _request(1, "threads"),
        running,
        _request(2, "threads"),
        _request(3, "disconnect"),
    ]
    outcome = run_connection(stream, until_answered=3)
    assert time.monotonic() - started < 5
    answered = {r["request_seq"]: r for r in outcome.responses()}
    # The two under way are answered (in either order: they run concurrently) before the disconnect.
    assert sorted(r["request_seq"] for r in outcome.responses()[:2]) == [1, 2]
    assert [r["request_seq"] for r in outcome.responses()[2:]] == [3]
    for seq in (1, 2):
        assert answered[seq]["message"] == "cancelled" and answered[seq]["body"]["error"]["id"] == 1007
    assert answered[3]["success"]


def test_a_disconnect_is_never_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither a second disconnect nor the end of the stream cancels a disconnect under way: it is
    what ends Delve and removes the temporary files."""
    steps: list[str] = []
    running = asyncio.Event()
    original = CoreSession.disconnect

    async def slow_disconnect(self: CoreSession) -> None:
        steps.append("start")
        running.set()
        await asyncio.sleep(0.3)
        await original(self)
        steps.append("done")

    monkeypatch.setattr(CoreSession, "disconnect", slow_disconnect)
    outcome = run_connection([_request(1, "disconnect"), running, _request(2, "disconnect")])
    assert steps == ["start", "done"]
    assert [r["request_seq"] for r in outcome.responses()] == [1]
    assert outcome.responses()[0]["success"]


def test_a_bad_breakpoint_line_does_not_come_back() -> None:
    message = {
        "seq": 1,
        "type": "request",
        "command": "setBreakpoints",
        "arguments": {"source": {"path": "/x.go"}, "breakpoints": [{"line": -1}, {"line": 2**63}]},
    }
    outcome = run_connection([encode_message(message)], until_answered=1)
    assert not outcome.violations, outcome.violations
