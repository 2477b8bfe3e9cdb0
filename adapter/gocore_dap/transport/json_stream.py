"""Sans-IO codec for Delve's JSON-RPC: Go's net/rpc/jsonrpc, a bare stream of JSON values.

Go's codec writes each message with json.Encoder (compact JSON plus ``\\n``) and nothing else: no
length prefix. The decoder has to find where each value ends itself. Delve answers can be tens of
megabytes (every goroutine of a large process), arriving in many chunks, so the decoder keeps its
scanning state between chunks and never re-reads bytes it has already classified: the work is
linear in the size of the stream. Only complete values are handed to json.loads (C speed).

Finding the end of a value needs only bracket depth and whether the scanner is inside a string.
A pre-built regex skips, in one C-level match, everything that cannot change that state: text
outside strings, whole strings, and whole nested containers up to twelve levels deep. Python code
runs only at the boundaries those matches stop at, which for Delve's output is rare.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

__all__ = ["JsonStreamDecoder", "JsonStreamError", "encode_request"]

# A complete JSON string, or a run of bytes that are neither brackets nor quotes.
_ATOM: Final = rb'[^"{}\[\]]++|"(?:[^"\\]++|\\.)*+"'


def _skip_pattern(levels: int) -> re.Pattern[bytes]:
    # _SKIP matches atoms and balanced bracket groups nested up to `levels` deep. The brackets are
    # not paired by kind ({ with ]) because only the depth matters here; json.loads rejects a
    # mismatch later. Possessive quantifiers mean no backtracking, so a failed match is cheap.
    inner = rb"(?:" + _ATOM + rb")*+"
    for _ in range(levels):
        inner = rb"(?:" + _ATOM + rb"|[\[{]" + inner + rb"[\]}])*+"
    return re.compile(inner, re.DOTALL)


# Twelve levels cover Delve answers (goroutine lists nest about six deep, variable trees a few
# more) so that Python rarely sees a bracket; deeper input is still handled, only more slowly.
_SKIP: Final = _skip_pattern(12)
# The rest of a string that started in an earlier chunk: stops at its closing quote, or before a
# backslash that is the last byte received (its escaped character has not arrived yet).
_STRING_REST: Final = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)
_WHITESPACE: Final = re.compile(rb"[ \t\r\n]*+")
# A top-level number or literal (true, false, null) runs until whitespace or a structural byte.
_SCALAR: Final = re.compile(rb'[^ \t\r\n{}\[\]",:]*+')

_OPENERS: Final = frozenset(b"[{")
_CLOSERS: Final = frozenset(b"]}")
_QUOTE: Final = ord('"')
_COMPACT_AT: Final = 1 << 16


class JsonStreamError(ValueError):
    """The stream is not a sequence of JSON values; the connection cannot be trusted further.

    `offset` is the position in the whole stream where the broken value starts, and `values`
    holds the values decoded from the same `feed` call before the error, which the caller may
    still want to dispatch.
    """

    def __init__(self, message: str, *, offset: int, values: list[Any] | None = None) -> None:
        super().__init__(f"{message} (at stream offset {offset})")
        self.offset = offset
        self.values: list[Any] = values if values is not None else []


class JsonStreamDecoder:
    """Splits a byte stream into top-level JSON values, across arbitrary chunk boundaries.

    After a JsonStreamError the decoder is poisoned: further `feed` calls raise again, because
    a byte stream without framing has no reliable point to resynchronise at.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._consumed = 0  # bytes dropped from the front of _buf, for stream offsets
        self._pos = 0  # everything before _pos in _buf is classified
        self._value_start = -1  # start of the value being scanned, -1 between values
        self._depth = 0
        self._in_string = False
        self._in_scalar = False
        self._error: JsonStreamError | None = None

    @property
    def buffered(self) -> int:
        """Bytes held for a value that is not complete yet."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Any]:
        """Add bytes; return every value completed by them, in stream order."""
        if self._error is not None:
            raise JsonStreamError("the stream was already broken", offset=self._error.offset)
        self._buf += data
        values: list[Any] = []
        try:
            self._scan(values)
        except JsonStreamError as exc:
            exc.values = values
            self._error = exc
            raise
        self._compact()
        return values

    def close(self) -> list[Any]:
        """The stream ended: return a trailing top-level number or literal that only EOF can
        terminate, and raise JsonStreamError if a value was cut off."""
        if self._error is not None:
            raise JsonStreamError("the stream was already broken", offset=self._error.offset)
        values: list[Any] = []
        if self._in_scalar:
            self._in_scalar = False
            values.append(self._decode(self._value_start, len(self._buf)))
            self._value_start = -1
            self._pos = len(self._buf)
        elif self._value_start >= 0:
            self._error = JsonStreamError(
                "the stream ended inside a JSON value", offset=self._consumed + self._value_start
            )
            raise self._error
        self._compact()
        return values

    def _scan(self, values: list[Any]) -> None:
        buf = self._buf
        n = len(buf)
        pos = self._pos
        try:
            while pos < n:
                if self._in_string:
                    match = _STRING_REST.match(buf, pos)
                    pos = match.end() if match else pos
                    if pos >= n or buf[pos] != _QUOTE:
                        break  # the string (or an escape in it) continues in the next chunk
                    pos += 1
                    self._in_string = False
                    if self._depth == 0:
                        values.append(self._decode(self._value_start, pos))
                        self._value_start = -1
                    continue

                if self._depth > 0:
                    match = _SKIP.match(buf, pos)
                    pos = match.end() if match else pos
                    if pos >= n:
                        break
                    byte = buf[pos]
                    pos += 1
                    if byte in _OPENERS:
                        self._depth += 1
                    elif byte in _CLOSERS:
                        self._depth -= 1
                        if self._depth == 0:
                            values.append(self._decode(self._value_start, pos))
                            self._value_start = -1
                    else:  # a quote: a string that does not end in this chunk
                        self._in_string = True
                    continue

                if self._in_scalar:
                    match = _SCALAR.match(buf, pos)
                    pos = match.end() if match else pos
                    if pos >= n:
                        break  # a number may go on in the next chunk
                    self._in_scalar = False
                    values.append(self._decode(self._value_start, pos))
                    self._value_start = -1
                    continue

                # Between values.
                match = _WHITESPACE.match(buf, pos)
                pos = match.end() if match else pos
                if pos >= n:
                    break
                byte = buf[pos]
                self._value_start = pos
                if byte in _OPENERS:
                    self._depth = 1
                    pos += 1
                elif byte == _QUOTE:
                    self._in_string = True
                    pos += 1
                elif byte in _CLOSERS or byte in b",:":
                    raise JsonStreamError(f"unexpected {chr(byte)!r} between JSON values", offset=self._consumed + pos)
                else:
                    self._in_scalar = True
        finally:
            self._pos = pos

    def _decode(self, start: int, end: int) -> Any:
        offset = self._consumed + start
        try:
            # Decoding straight from the buffer saves copying a value that may be 80 MB, and
            # decoding before json.loads keeps json's UTF-16/32 guessing from misreading garbage
            # and makes invalid UTF-8 an error. The views must be released before the buffer
            # is resized, hence the with.
            with memoryview(self._buf) as view, view[start:end] as raw:
                text = str(raw, "utf-8")
        except UnicodeDecodeError as exc:
            raise JsonStreamError(f"invalid UTF-8 in a JSON value: {exc.reason}", offset=offset) from None
        try:
            return json.loads(text)
        except RecursionError:
            raise JsonStreamError("JSON value nested too deeply", offset=offset) from None
        except ValueError as exc:
            preview = _preview(bytes(self._buf[start : min(end, start + 100)]), end - start)
            raise JsonStreamError(f"invalid JSON value {preview}: {exc}", offset=offset) from None

    def _compact(self) -> None:
        # Drop what is classified and not part of the pending value; bytearray deletes from the
        # front cheaply, but doing it once per feed call also keeps the buffer small.
        keep_from = self._value_start if self._value_start >= 0 else self._pos
        if keep_from >= _COMPACT_AT or keep_from == len(self._buf):
            del self._buf[:keep_from]
            self._consumed += keep_from
            self._pos -= keep_from
            if self._value_start >= 0:
                self._value_start -= keep_from


def _preview(raw: bytes, total: int, limit: int = 80) -> str:
    text = raw[:limit].decode("utf-8", errors="replace")
    return repr(text + ("..." if total > limit else ""))


def encode_request(method: str, params: Any, id: int) -> bytes:
    """One net/rpc/jsonrpc request, newline-terminated.

    `params` is the single argument of the Go method (e.g. ``{"Count": 100}`` for
    ``RPCServer.ListGoroutines``); Go's server codec expects it wrapped in a one-element array,
    which this function does.
    """
    request = {"method": method, "params": [params], "id": id}
    # ASCII-only output is always valid UTF-8, even for strings holding lone surrogates.
    return json.dumps(request, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii") + b"\n"
