"""transport.dap_framing: Content-Length framing, its errors, and recovery from them."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gocore_dap.transport.dap_framing import (
    DEFAULT_MAX_HEADER_SIZE,
    END_OF_STREAM,
    NEED_DATA,
    DapReader,
    EndOfStream,
    FramingError,
    FramingErrorKind,
    NeedData,
    encode_message,
)

Result = dict[str, Any] | FramingError


def drain(reader: DapReader) -> list[Result]:
    """Every result available now, stopping at NEED_DATA or END_OF_STREAM (not included)."""
    results: list[Result] = []
    # A generous bound that still catches a reader that loops without consuming input.
    for _ in range(reader.buffered + 10):
        item = reader.next_message()
        if isinstance(item, NeedData | EndOfStream):
            return results
        results.append(item)
    raise AssertionError("the reader produced more results than it had bytes")


def feed(data: bytes | Iterable[bytes], *, reader: DapReader | None = None, eof: bool = True) -> list[Result]:
    reader = reader or DapReader()
    chunks = [data] if isinstance(data, bytes) else list(data)
    results: list[Result] = []
    for chunk in chunks:
        reader.receive_data(chunk)
        results += drain(reader)
    if eof:
        reader.receive_data(b"")
        results += drain(reader)
        assert reader.next_message() is END_OF_STREAM
    return results


def frame(body: bytes, headers: bytes = b"") -> bytes:
    return b"Content-Length: %d\r\n%s\r\n%s" % (len(body), headers, body)


def kinds(results: list[Result]) -> list[FramingErrorKind | str]:
    return [r.kind if isinstance(r, FramingError) else "message" for r in results]


INIT = {"seq": 1, "type": "request", "command": "initialize", "arguments": {"adapterID": "gocore"}}
THREADS = {"seq": 2, "type": "request", "command": "threads"}


# -- well-formed streams ------------------------------------------------------------------------------


def test_one_message() -> None:
    assert feed(encode_message(INIT)) == [INIT]


def test_several_messages_in_one_chunk_and_byte_by_byte() -> None:
    stream = encode_message(INIT) + encode_message(THREADS) + encode_message(INIT)
    assert feed(stream) == [INIT, THREADS, INIT]
    assert feed([stream[i : i + 1] for i in range(len(stream))]) == [INIT, THREADS, INIT]


def test_need_data_until_complete() -> None:
    reader = DapReader()
    data = encode_message(THREADS)
    reader.receive_data(data[:-1])
    assert reader.next_message() is NEED_DATA
    reader.receive_data(data[-1:])
    assert reader.next_message() == THREADS
    assert reader.next_message() is NEED_DATA


def test_header_names_are_case_insensitive_and_other_headers_ignored() -> None:
    body = json.dumps(THREADS).encode()
    stream = (
        b"content-length: %d\r\n\r\n%s" % (len(body), body)
        + b"CONTENT-LENGTH:%d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n%s" % (len(body), body)
        + b"X-Other: 1\r\nContent-Length:   %d  \r\n\r\n%s" % (len(body), body)
    )
    assert feed(stream) == [THREADS, THREADS, THREADS]


def test_whitespace_between_messages_is_tolerated() -> None:
    assert feed(b"\r\n" + encode_message(INIT) + b"\n\r\n  " + encode_message(THREADS) + b"\r\n") == [
        INIT,
        THREADS,
    ]


def test_length_counts_utf8_bytes() -> None:
    message = {
        "seq": 3,
        "type": "event",
        "event": "output",
        "body": {"output": "héllo 🌍 世界\r\n\r\nContent-Length: 3"},
    }
    data = encode_message(message)
    assert feed([data[i : i + 3] for i in range(0, len(data), 3)]) == [message]


def test_object_without_seq_or_type_is_still_returned() -> None:
    # The server decides what to do with it (it knows which request to fail, if any).
    assert feed(frame(b'{"command":"threads"}') + frame(b"{}")) == [{"command": "threads"}, {}]


# -- errors, each followed by a message that must still get through -------------------------------------


@pytest.mark.parametrize(
    ("bad", "kind"),
    [
        (b"Content-Type: json\r\n\r\n{}", FramingErrorKind.MISSING_CONTENT_LENGTH),
        (b"Content-Length: two\r\n\r\n{}", FramingErrorKind.INVALID_CONTENT_LENGTH),
        (b"Content-Length: \r\n\r\n{}", FramingErrorKind.INVALID_CONTENT_LENGTH),
        (b"Content-Length: 1.5\r\n\r\n{}", FramingErrorKind.INVALID_CONTENT_LENGTH),
        (b"Content-Length: \xd9\xa3\r\n\r\n{}", FramingErrorKind.INVALID_CONTENT_LENGTH),  # Arabic-Indic 3
        (b"Content-Length: -2\r\n\r\n{}", FramingErrorKind.NEGATIVE_CONTENT_LENGTH),
        (b"garbage\r\n\r\n", FramingErrorKind.MALFORMED_HEADER),
        (b"Content-Length : 2\r\n\r\n{}", FramingErrorKind.MALFORMED_HEADER),
    ],
)
def test_header_errors_resync(bad: bytes, kind: FramingErrorKind) -> None:
    results = feed(bad + encode_message(THREADS))
    assert isinstance(results[0], FramingError)
    assert results[0].kind is kind
    assert results[0].message
    assert results[-1] == THREADS
    assert all(isinstance(r, FramingError) for r in results[:-1])


def test_duplicate_length_resyncs_at_the_second_header() -> None:
    # Either header may be the real one; the later one is, when junk came first.
    results = feed(b"Content-Length: 5\r\n" + encode_message(THREADS))
    assert kinds(results) == [FramingErrorKind.DUPLICATE_CONTENT_LENGTH, "message"]
    assert results[1] == THREADS


def test_junk_on_the_same_line_as_a_header() -> None:
    results = feed(b"Content-Length: x" + encode_message(INIT) + b"Content-Type: 1" + encode_message(THREADS))
    assert kinds(results) == [
        FramingErrorKind.INVALID_CONTENT_LENGTH,
        "message",
        FramingErrorKind.MISSING_CONTENT_LENGTH,
        "message",
    ]


def test_junk_before_a_header_in_the_same_section() -> None:
    results = feed(b"oops\r\n" + encode_message(INIT) + encode_message(THREADS))
    assert kinds(results) == [FramingErrorKind.MALFORMED_HEADER, "message", "message"]
    assert results[1:] == [INIT, THREADS]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'{"seq": 1, "type": "request", "command": "thre', FramingErrorKind.INVALID_JSON),
        (b"", FramingErrorKind.INVALID_JSON),
        (b"[1, 2]", FramingErrorKind.NOT_AN_OBJECT),
        (b'"text"', FramingErrorKind.NOT_AN_OBJECT),
        (b"null", FramingErrorKind.NOT_AN_OBJECT),
        (b'{"a": "\xff\xfe"}', FramingErrorKind.INVALID_UTF8),
        (b"[" * 100_000 + b"]" * 100_000, FramingErrorKind.INVALID_JSON),  # nested too deeply
        (b'{"n": ' + b"9" * 5000 + b"}", FramingErrorKind.INVALID_JSON),  # beyond int() digit limits
    ],
)
def test_body_errors_keep_the_framing(body: bytes, kind: FramingErrorKind) -> None:
    results = feed(frame(body) + encode_message(THREADS))
    assert kinds(results) == [kind, "message"]
    assert results[1] == THREADS


def test_body_errors_carry_the_request_identity_when_visible() -> None:
    invalid_json = b'{"command":"evaluate","arguments":{"expression":"x"},"type":"request","seq":17,}'
    bad_utf8 = b'{"seq":18,"type":"request","command":"variables","arguments":{"x":"\xc3"}}'
    results = feed(frame(invalid_json) + frame(bad_utf8) + frame(b"[1]"))
    assert [(r.kind, r.seq, r.command) for r in results if isinstance(r, FramingError)] == [
        (FramingErrorKind.INVALID_JSON, 17, "evaluate"),
        (FramingErrorKind.INVALID_UTF8, 18, "variables"),
        (FramingErrorKind.NOT_AN_OBJECT, None, None),
    ]


def test_header_section_too_long() -> None:
    reader = DapReader()
    reader.receive_data(b"X-Padding: " + b"a" * DEFAULT_MAX_HEADER_SIZE)
    error = reader.next_message()
    assert isinstance(error, FramingError)
    assert error.kind is FramingErrorKind.HEADER_TOO_LONG
    assert reader.next_message() is NEED_DATA
    assert reader.buffered < 64  # the junk is not kept
    assert feed(encode_message(THREADS), reader=reader) == [THREADS]


def test_header_section_at_the_limit_is_fine() -> None:
    reader = DapReader(max_header_size=64)
    header = b"Content-Length: 2\r\nX: " + b"a" * (64 - len(b"Content-Length: 2\r\nX: "))
    assert len(header) == 64
    assert feed(header + b"\r\n\r\n{}", reader=reader) == [{}]
    reader = DapReader(max_header_size=64)
    assert kinds(feed(header + b"a\r\n\r\n{}", reader=reader))[0] is FramingErrorKind.HEADER_TOO_LONG


def test_oversized_body_is_skipped_without_buffering() -> None:
    reader = DapReader(max_body_size=1000)
    size = 10_000_000
    reader.receive_data(b"Content-Length: %d\r\n\r\n" % size)
    # The start of the body names the request, so that the server can answer it with an error.
    assert reader.next_message() is NEED_DATA
    head = b'{"seq": 12, "type": "request", "command": "evaluate", "arguments": {"expression": "'
    reader.receive_data(head)
    assert reader.next_message() is NEED_DATA
    chunk = b"x" * 65536
    reader.receive_data(chunk)
    sent = len(head) + len(chunk)
    error = reader.next_message()
    assert isinstance(error, FramingError) and error.kind is FramingErrorKind.BODY_TOO_LARGE
    assert "10000000" in error.message and (error.seq, error.command) == (12, "evaluate")
    assert reader.next_message() is NEED_DATA
    assert reader.buffered == 0
    while sent + len(chunk) <= size:
        reader.receive_data(chunk)
        sent += len(chunk)
        assert reader.next_message() is NEED_DATA
        assert reader.buffered == 0
    tail = b"y" * (size - sent)
    assert feed(tail + encode_message(THREADS), reader=reader) == [THREADS]


def test_absurd_lengths_are_too_large_not_a_crash() -> None:
    results = feed(b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n")
    assert kinds(results) == [FramingErrorKind.BODY_TOO_LARGE]


def test_eof_inside_a_message_is_reported_once() -> None:
    data = encode_message(INIT)
    for cut in (5, data.index(b"\r\n\r\n") + 4, len(data) - 1):
        reader = DapReader()
        reader.receive_data(data[:cut])
        assert reader.next_message() is NEED_DATA
        reader.receive_data(b"")
        error = reader.next_message()
        assert isinstance(error, FramingError) and error.kind is FramingErrorKind.TRUNCATED
        assert reader.next_message() is END_OF_STREAM
        assert reader.next_message() is END_OF_STREAM


def test_eof_between_messages() -> None:
    reader = DapReader()
    reader.receive_data(encode_message(THREADS) + b"\r\n")
    reader.receive_data(b"")
    reader.receive_data(b"")  # repeated EOF is harmless
    assert reader.next_message() == THREADS
    assert reader.next_message() is END_OF_STREAM
    with pytest.raises(RuntimeError):
        reader.receive_data(b"more")


# -- encoding -----------------------------------------------------------------------------------------


def test_encode_is_compact_utf8() -> None:
    data = encode_message({"seq": 1, "type": "event", "event": "output", "body": {"output": "ü\n"}})
    header, _, body = data.partition(b"\r\n\r\n")
    assert body == '{"seq":1,"type":"event","event":"output","body":{"output":"ü\\n"}}'.encode()
    assert header == b"Content-Length: %d" % len(body)


def test_encode_survives_lone_surrogates() -> None:
    message = {"seq": 1, "type": "event", "event": "output", "body": {"output": "bad \udcff byte"}}
    data = encode_message(message)
    data.decode("ascii")  # fell back to \\u escapes, which are valid JSON
    assert feed(data) == [message]


def test_encode_rejects_nan() -> None:
    with pytest.raises(ValueError):
        encode_message({"x": float("nan")})


def test_many_small_messages_parse_in_linear_time() -> None:
    stream = encode_message(THREADS) * 50_000
    start = time.perf_counter()
    results = feed(stream)
    assert len(results) == 50_000
    assert time.perf_counter() - start < 10


# -- fuzzing ------------------------------------------------------------------------------------------

# No deadline: a loaded CI machine must not turn a slow example into a failure.
fuzz = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
messages = st.dictionaries(st.text(max_size=8), json_values, max_size=5)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    # No empty chunks: receive_data(b"") means EOF.
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


@fuzz
@given(st.lists(messages, max_size=6), st.lists(st.integers(min_value=0), max_size=20))
def test_any_chunking_gives_the_same_messages(batch: list[dict[str, Any]], cuts: list[int]) -> None:
    stream = b"".join(encode_message(message) for message in batch)
    assert feed(split(stream, cuts)) == batch


# Header-like fragments make the garbage reach deeper states than random bytes would.
fragments = st.sampled_from(
    [
        *(b"Content-Length: ", b"content-length:", b"\r\n", b"\r\n\r\n", b":", b" ", b"-", b"7", b"12"),
        *(b"99999999999", b"{", b"}", b'"seq":3', b'"command":"x"', b"\xff", b"\xc3", b"[", b"X-A: b\r\n"),
    ]
)
garbage = st.lists(fragments | st.binary(max_size=12), max_size=30).map(b"".join)


@fuzz
@given(garbage, st.lists(st.integers(min_value=0), max_size=10))
def test_garbage_never_raises_or_loops(junk: bytes, cuts: list[int]) -> None:
    reader = DapReader(max_header_size=256, max_body_size=64)
    chunks = split(junk, cuts)
    results: list[Result] = []
    for chunk in chunks:
        reader.receive_data(chunk)
        results += drain(reader)
        assert reader.buffered <= 256 + 64 + len(chunk)
    reader.receive_data(b"")
    results += drain(reader)
    assert reader.next_message() is END_OF_STREAM
    # Every result consumed at least one byte.
    assert len(results) <= len(junk) + 1


@fuzz
@given(garbage, messages, st.lists(st.integers(min_value=0), max_size=10))
def test_reader_recovers_after_garbage(junk: bytes, message: dict[str, Any], cuts: list[int]) -> None:
    # Garbage that declares a length can legitimately swallow what follows (that is what a length
    # means), so recovery is promised once the garbage stops declaring lengths.
    junk = junk.lower().replace(b"content-length", b"content_length")
    reader = DapReader(max_header_size=256, max_body_size=64 * 1024)
    results = feed(split(junk + encode_message(message), cuts), reader=reader)
    assert results, "the message was lost"
    assert results[-1] == message
    assert all(isinstance(r, FramingError) for r in results[:-1])


@fuzz
@given(
    st.lists(
        messages.map(encode_message) | st.sampled_from([b"{", b"[]", b"\xff", b"nul", b'{"seq":1']).map(frame),
        max_size=8,
    ),
    st.lists(st.integers(min_value=0), max_size=12),
)
def test_bad_bodies_do_not_disturb_their_neighbours(frames: list[bytes], cuts: list[int]) -> None:
    results = feed(split(b"".join(frames), cuts))
    assert len(results) == len(frames)
    for data, result in zip(frames, results, strict=True):
        body = data.partition(b"\r\n\r\n")[2]
        if isinstance(result, FramingError):
            with pytest.raises(ValueError):
                value = json.loads(body.decode("utf-8"))
                if not isinstance(value, dict):
                    raise ValueError("not an object")
        else:
            assert result == json.loads(body)


@fuzz
@given(garbage, st.lists(st.integers(min_value=0), max_size=10))
def test_chunking_never_changes_the_results(junk: bytes, cuts: list[int]) -> None:
    def results(chunks: list[bytes]) -> list[Result]:
        return feed(chunks, reader=DapReader(max_header_size=256, max_body_size=64))

    assert results(split(junk, cuts)) == results([junk] if junk else [])
