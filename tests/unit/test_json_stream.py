"""transport.json_stream: Delve's bare JSON-RPC stream, split into values across any chunking."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gocore_dap.transport import json_stream
from gocore_dap.transport.json_stream import JsonStreamDecoder, JsonStreamError, encode_request


def decode_all(chunks: list[bytes]) -> list[Any]:
    decoder = JsonStreamDecoder()
    values: list[Any] = []
    for chunk in chunks:
        values += decoder.feed(chunk)
    values += decoder.close()
    assert decoder.buffered == 0
    return values


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in itertools.pairwise([0, *points, len(data)])]


RESPONSE = {
    "id": 1,
    "result": {"State": {"Running": False, "Threads": [{"id": 7, "file": "/x/y.go"}]}},
    "error": None,
}


def test_go_style_stream() -> None:
    stream = b"".join(json.dumps(v, separators=(",", ":")).encode() + b"\n" for v in (RESPONSE, RESPONSE))
    assert decode_all([stream]) == [RESPONSE, RESPONSE]
    assert decode_all(bytewise(stream)) == [RESPONSE, RESPONSE]


def test_value_is_returned_as_soon_as_it_is_complete() -> None:
    decoder = JsonStreamDecoder()
    data = json.dumps(RESPONSE).encode()
    assert decoder.feed(data[:-1]) == []
    assert decoder.feed(data[-1:]) == [RESPONSE]  # no newline needed for an object
    assert decoder.feed(b"\n") == []


def test_values_without_separators_and_with_odd_whitespace() -> None:
    stream = b'{"a":1}{"b":[2,3]}[4] \t\r\n "five"\n\n{"six" : { "x" : [ ] } }'
    assert decode_all([stream]) == [{"a": 1}, {"b": [2, 3]}, [4], "five", {"six": {"x": []}}]
    assert decode_all(bytewise(stream)) == [{"a": 1}, {"b": [2, 3]}, [4], "five", {"six": {"x": []}}]


def test_top_level_scalars_need_a_delimiter_or_close() -> None:
    decoder = JsonStreamDecoder()
    assert decoder.feed(b"12") == []  # 12 might go on as 123
    assert decoder.feed(b"3 true null") == [123, True]
    assert decoder.close() == [None]


def test_tricky_strings_split_anywhere() -> None:
    value = {"s": 'brackets ]}[{ quote " backslash \\ end\\', "t": '\\\\\\"', "u": "\u00e9\U0001f600\u4e16"}
    for ensure_ascii in (True, False):
        data = json.dumps(value, ensure_ascii=ensure_ascii).encode()
        assert decode_all(bytewise(data)) == [value]


def test_multibyte_utf8_split_between_chunks() -> None:
    data = '{"k":"日本語 🌍"}\n'.encode()
    for cut in range(len(data)):
        assert decode_all([data[:cut], data[cut:]]) == [{"k": "日本語 🌍"}]


def test_deep_nesting_beyond_the_regex_levels() -> None:
    value: Any = "leaf"
    for depth in range(60):
        value = {"d": depth, "child": [value]}
    data = json.dumps(value).encode() + b"\n"
    assert decode_all([data]) == [value]
    assert decode_all(split(data, list(range(0, len(data), 7)))) == [value]


def test_garbage_between_values_raises_with_an_offset() -> None:
    decoder = JsonStreamDecoder()
    with pytest.raises(JsonStreamError) as caught:
        decoder.feed(b'{"ok":1}\n}{"x":2}')
    assert caught.value.offset == 9
    assert caught.value.values == [{"ok": 1}]  # decoded before the error, still deliverable
    assert isinstance(caught.value, ValueError)  # callers may catch ValueError
    with pytest.raises(JsonStreamError):  # poisoned: there is no safe point to resync
        decoder.feed(b'{"y":3}')


@pytest.mark.parametrize(
    "bad",
    [b'{"a":}', b"{'a':1}", b'{"a":1,}', b"[1 2]", b"nope ", b'"unterminated\n"', b'{"a":"\xff"}', b"NaNa "],
)
def test_invalid_values_raise(bad: bytes) -> None:
    with pytest.raises(JsonStreamError, match="at stream offset 0"):
        decode_all([bad])


def test_close_inside_a_value_raises() -> None:
    decoder = JsonStreamDecoder()
    decoder.feed(b'{"a": [1, 2')
    with pytest.raises(JsonStreamError, match="ended inside"):
        decoder.close()


def test_each_value_is_parsed_once() -> None:
    # The decoder must not re-parse its buffer as chunks arrive: json.loads runs once per value.
    calls = 0
    real_loads = json.loads

    def counting_loads(text: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return real_loads(text, **kwargs)

    big = {"Goroutines": [{"id": i, "loc": {"file": f"/src/f{i}.go", "line": i}} for i in range(20_000)]}
    data = json.dumps(big).encode() + b"\n"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_stream.json, "loads", counting_loads)
        assert decode_all(split(data, list(range(0, len(data), 4096)))) == [big]
    assert calls == 1


def test_small_chunks_of_a_large_value_stay_linear() -> None:
    # 1 MB in 200-byte chunks: a decoder that rescans its buffer per chunk does ~2.5 GB of work.
    big = [{"name": "runtime.gopark", "args": ["[x]", "{y}", '"z"'], "n": i} for i in range(15_000)]
    data = json.dumps(big).encode()
    assert len(data) > 1_000_000
    start = time.perf_counter()
    assert decode_all(split(data, list(range(0, len(data), 200)))) == [big]
    assert time.perf_counter() - start < 10


def test_large_delve_answer() -> None:
    function = {"name": "runtime.gopark", "value": 4300000, "type": 0, "goType": 0, "optimized": True}
    location = {"pc": 4300000, "file": "/usr/local/go/src/runtime/proc.go", "line": 425, "function": function}
    goroutine = {"currentLoc": location, "userCurrentLoc": location, "startLoc": location, "status": 4}
    labels = {"k": 'v [x] {y} "q"'}
    goroutines = [{"id": i, **goroutine, "waitReason": 2, "labels": labels} for i in range(20_000)]
    response = {"id": 9, "result": {"Goroutines": goroutines, "Nextg": -1}, "error": None}
    data = json.dumps(response, separators=(",", ":")).encode() + b"\n"
    start = time.perf_counter()
    assert decode_all(split(data, list(range(0, len(data), 65536)))) == [response]
    assert time.perf_counter() - start < 20


# -- encode_request ------------------------------------------------------------------------------------


def test_encode_request_matches_go_net_rpc_jsonrpc() -> None:
    assert encode_request("RPCServer.State", {"NonBlocking": True}, 1) == (
        b'{"method":"RPCServer.State","params":[{"NonBlocking":true}],"id":1}\n'
    )


def test_encode_request_is_ascii_and_round_trips() -> None:
    data = encode_request("RPCServer.Eval", {"Expr": 'm["ключ"]', "Bad": "\udcff"}, 42)
    data.decode("ascii")
    assert decode_all([data]) == [
        {"method": "RPCServer.Eval", "params": [{"Expr": 'm["ключ"]', "Bad": "\udcff"}], "id": 42}
    ]


# -- fuzzing ------------------------------------------------------------------------------------------

# No deadline: a loaded CI machine must not turn a slow example into a failure.
fuzz = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=25,
)
whitespace = st.text(alphabet=" \t\r\n", max_size=3)


@fuzz
@given(
    st.lists(st.tuples(values, whitespace, st.sampled_from([None, 0, 2]), st.booleans()), max_size=8),
    st.lists(st.integers(min_value=0), max_size=30),
)
def test_any_chunking_round_trips(items: list[tuple[Any, str, int | None, bool]], cuts: list[int]) -> None:
    stream = b""
    for value, gap, indent, ensure_ascii in items:
        text = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)
        # A bare number or literal only ends at a delimiter; containers and strings end themselves.
        if not gap and not isinstance(value, dict | list | str):
            gap = "\n"
        stream += text.encode() + gap.encode()
    assert decode_all(split(stream, cuts)) == [value for value, *_ in items]


# JSON-ish fragments reach the scanner's string, escape and depth states far more often than
# random bytes do.
fragments = st.sampled_from([b"{", b"}", b"[", b"]", b'"', b"\\", b":", b",", b" ", b"\n", b"1", b"true", b"\xe6"])
garbage = st.lists(fragments | st.binary(max_size=8), max_size=40).map(b"".join)


@fuzz
@given(garbage, st.lists(st.integers(min_value=0), max_size=10))
def test_garbage_only_ever_raises_json_stream_error(data: bytes, cuts: list[int]) -> None:
    decoder = JsonStreamDecoder()
    try:
        for chunk in split(data, cuts):
            decoder.feed(chunk)
        decoder.close()
    except JsonStreamError:
        pass


def outcome(chunks: list[bytes]) -> tuple[list[Any], int | None]:
    decoder = JsonStreamDecoder()
    values: list[Any] = []
    try:
        for chunk in chunks:
            values += decoder.feed(chunk)
        values += decoder.close()
    except JsonStreamError as exc:
        return values + exc.values, exc.offset
    return values, None


@fuzz
@given(garbage, st.lists(st.integers(min_value=0), max_size=10))
def test_chunking_never_changes_the_outcome(data: bytes, cuts: list[int]) -> None:
    assert outcome(split(data, cuts)) == outcome([data])
