"""Sans-IO framing of Debug Adapter Protocol messages (in the style of h11).

The wire format is an HTTP-like header section, ``Content-Length: N\\r\\n`` (other headers are
allowed and ignored, names are case-insensitive), a blank line, then exactly N bytes of UTF-8 JSON.

`DapReader` never does I/O: the caller feeds it bytes with `receive_data` and pulls results with
`next_message`, which returns a message dict, `NEED_DATA`, a `FramingError` or `END_OF_STREAM`.
A client that sends something broken gets a `FramingError` it can answer, and the reader carries
on with the next message it can find: an editor must not lose its debug session because one
message was mangled. Memory stays bounded (header section capped, oversized bodies skipped
without being buffered) and every call makes progress, so hostile input cannot make it loop.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from typing import Any, Final

import attrs

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_MAX_HEADER_SIZE",
    "END_OF_STREAM",
    "NEED_DATA",
    "DapReader",
    "EndOfStream",
    "FramingError",
    "FramingErrorKind",
    "NeedData",
    "encode_message",
]

DEFAULT_MAX_HEADER_SIZE: Final = 8 * 1024
DEFAULT_MAX_BODY_SIZE: Final = 64 * 1024 * 1024

_HEADER_END: Final = b"\r\n\r\n"
_CONTENT_LENGTH: Final = b"content-length"
# Where to look for the next message after a broken header section. Case-insensitive because
# header names are; a regex searches the buffer in place, without a lowered copy per error.
_RESYNC_RE: Final = re.compile(re.escape(_CONTENT_LENGTH), re.IGNORECASE)
# Enough digits for any length a sane peer sends; longer ones are "too large", and capping the
# digit count keeps int() away from Python's 4300-digit conversion limit.
_MAX_LENGTH_DIGITS: Final = 18
# Best-effort recovery of the request's identity from a body that does not parse, so that the
# server can still answer it with an error response instead of leaving the client waiting.
_SEQ_RE: Final = re.compile(r'"seq"\s*:\s*(\d{1,10})\b')
_COMMAND_RE: Final = re.compile(r'"command"\s*:\s*"([A-Za-z0-9_.\-]{1,100})"')
# How much of an oversized body is read to find its request's seq and command (they come first).
_PEEK_SIZE: Final = 1024
# Bytes the reader drops silently between messages (some clients end a body with a newline).
_INTERMESSAGE_WHITESPACE_RE: Final = re.compile(rb"[ \t\r\n]*")


class NeedData:
    """`next_message` needs more bytes before it can return anything."""

    _instance: NeedData | None = None

    def __new__(cls) -> NeedData:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEED_DATA"


class EndOfStream:
    """The peer closed the stream and every complete message has been returned."""

    _instance: EndOfStream | None = None

    def __new__(cls) -> EndOfStream:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "END_OF_STREAM"


NEED_DATA: Final = NeedData()
END_OF_STREAM: Final = EndOfStream()


class FramingErrorKind(enum.Enum):
    MISSING_CONTENT_LENGTH = "missing Content-Length"
    DUPLICATE_CONTENT_LENGTH = "duplicate Content-Length"
    INVALID_CONTENT_LENGTH = "invalid Content-Length"
    NEGATIVE_CONTENT_LENGTH = "negative Content-Length"
    MALFORMED_HEADER = "malformed header"
    HEADER_TOO_LONG = "header section too long"
    BODY_TOO_LARGE = "body too large"
    INVALID_UTF8 = "invalid UTF-8"
    INVALID_JSON = "invalid JSON"
    NOT_AN_OBJECT = "not a JSON object"
    TRUNCATED = "truncated message"


@attrs.frozen
class FramingError:
    """One broken message. `seq` and `command` are set when the body parsed far enough to find
    them, so that the server can send an error response for that request."""

    kind: FramingErrorKind
    message: str
    seq: int | None = None
    command: str | None = None


class _State(enum.Enum):
    HEADERS = enum.auto()
    BODY = enum.auto()
    PEEK_BODY = enum.auto()  # reading the start of an oversized body, for the request's identity
    SKIP_BODY = enum.auto()  # discarding the body of an oversized message
    RESYNC = enum.auto()  # discarding bytes up to the next "Content-Length"
    DONE = enum.auto()  # EOF seen and reported


class DapReader:
    """Incremental parser for a stream of DAP messages (the server's or the client's side)."""

    def __init__(
        self,
        *,
        max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        if max_header_size < len(_CONTENT_LENGTH) + 8 or max_body_size < 0:
            raise ValueError("max_header_size or max_body_size is too small")
        self.max_header_size = max_header_size
        self.max_body_size = max_body_size
        # Bytes before _start are consumed; dropping them lazily keeps many small messages in
        # one large chunk linear instead of shifting the buffer once per message.
        self._buf = bytearray()
        self._start = 0
        self._state = _State.HEADERS
        self._eof = False
        self._body_length = 0
        self._skip_remaining = 0
        # Where the search for the end of the header section resumes, so that headers arriving
        # a byte at a time are not rescanned from the start each time.
        self._header_scan = 0

    @property
    def buffered(self) -> int:
        """Bytes received and not yet consumed (for tests and diagnostics)."""
        return len(self._buf) - self._start

    def receive_data(self, data: bytes) -> None:
        """Add bytes from the peer; ``b""`` means the peer closed the stream."""
        if self._eof:
            if data:
                raise RuntimeError("receive_data() after end of stream")
            return
        if not data:
            self._eof = True
            return
        if self._state is _State.SKIP_BODY and self._start == len(self._buf):
            # Discard an oversized body as it arrives instead of buffering up to its length.
            dropped = min(self._skip_remaining, len(data))
            self._skip_remaining -= dropped
            data = data[dropped:]
            if self._skip_remaining == 0:
                self._state = _State.HEADERS
        self._buf += data

    def next_message(self) -> dict[str, Any] | NeedData | FramingError | EndOfStream:
        """Return the next complete message, the next error, or what the reader waits for."""
        while True:
            result = self._step()
            if result is not None:
                self._compact()
                return result

    # -- the state machine: each _step consumes bytes, changes state, or returns a result ----

    def _step(self) -> dict[str, Any] | NeedData | FramingError | EndOfStream | None:
        state = self._state
        if state is _State.HEADERS:
            return self._read_headers()
        if state is _State.BODY:
            return self._read_body()
        if state is _State.PEEK_BODY:
            return self._peek_body()
        if state is _State.SKIP_BODY:
            return self._skip_body()
        if state is _State.RESYNC:
            return self._resync()
        return END_OF_STREAM

    def _read_headers(self) -> NeedData | FramingError | EndOfStream | None:
        buf = self._buf
        # Whitespace between messages is tolerated silently: it cannot start a header.
        blank = _INTERMESSAGE_WHITESPACE_RE.match(buf, self._start)
        start = self._start = blank.end() if blank else self._start
        self._header_scan = max(self._header_scan, start)
        limit = start + self.max_header_size + len(_HEADER_END)
        scan_from = max(start, self._header_scan - len(_HEADER_END) + 1)
        end = buf.find(_HEADER_END, scan_from, limit)
        if end < 0:
            if len(buf) - start > self.max_header_size + len(_HEADER_END) - 1:
                error = FramingError(
                    FramingErrorKind.HEADER_TOO_LONG,
                    f"no end of the header section within {self.max_header_size} bytes",
                )
                return self._header_error(error, bad_line=start)
            self._header_scan = len(buf)
            if self._eof:
                return self._end_of_stream(start < len(buf))
            return NEED_DATA

        header_block = bytes(buf[start:end])
        parsed = self._parse_headers(header_block)
        if isinstance(parsed, tuple):
            error, bad_line = parsed
            return self._header_error(error, bad_line=start + bad_line)
        self._start = end + len(_HEADER_END)
        self._header_scan = self._start
        if parsed > self.max_body_size:
            self._state = _State.PEEK_BODY
            self._skip_remaining = parsed
            return None
        self._state = _State.BODY
        self._body_length = parsed
        return None

    @staticmethod
    def _parse_headers(block: bytes) -> int | tuple[FramingError, int]:
        """The Content-Length, or the error and the offset of the line where resyncing should
        look past (see _header_error)."""
        length: int | None = None
        length_line = 0
        line_start = 0
        for line in block.split(b"\r\n"):
            here, line_start = line_start, line_start + len(line) + 2
            name, colon, value = line.partition(b":")
            if not colon or not name.strip() or name != name.strip():
                error = FramingError(FramingErrorKind.MALFORMED_HEADER, f"malformed header line {_show(line)}")
                return error, here
            if name.lower() != _CONTENT_LENGTH:
                continue
            if length is not None:
                # Blame the first one: the second may be a real header that follows junk.
                error = FramingError(FramingErrorKind.DUPLICATE_CONTENT_LENGTH, "more than one Content-Length header")
                return error, length_line
            text = value.strip(b" \t")
            digits = text[1:] if text[:1] in (b"-", b"+") else text
            if not digits.isdigit():  # bytes.isdigit() is ASCII-only, unlike int()
                error = FramingError(
                    FramingErrorKind.INVALID_CONTENT_LENGTH, f"Content-Length {_show(text)} is not a number"
                )
                return error, here
            if text[:1] == b"-":
                error = FramingError(
                    FramingErrorKind.NEGATIVE_CONTENT_LENGTH, f"Content-Length {_show(text)} is negative"
                )
                return error, here
            # An absurdly long number is some huge length: cap it so the caller reports "too large".
            length = int(digits) if len(digits) <= _MAX_LENGTH_DIGITS else 10**_MAX_LENGTH_DIGITS
            length_line = here
        if length is None:
            return FramingError(FramingErrorKind.MISSING_CONTENT_LENGTH, "no Content-Length header"), 0
        return length

    def _header_error(self, error: FramingError, *, bad_line: int) -> FramingError:
        # The body length is unknown, so the next message can only be found by looking for the
        # next "Content-Length", starting just inside the offending line: a valid header that
        # follows junk (even on the same line) is recovered, and a body that follows a broken
        # header is skipped unless it contains a header itself.
        self._start = min(bad_line + 1, len(self._buf))
        self._state = _State.RESYNC
        return error

    def _resync(self) -> NeedData | EndOfStream | None:
        buf = self._buf
        match = _RESYNC_RE.search(buf, self._start)
        if match is not None:
            self._start = match.start()
            self._header_scan = self._start
            self._state = _State.HEADERS
            return None
        # Keep only a tail that could be the beginning of "Content-Length" split across chunks.
        self._start = max(self._start, len(buf) - len(_CONTENT_LENGTH) + 1)
        if self._eof:
            self._start = len(buf)
            self._state = _State.DONE
            return END_OF_STREAM
        return NEED_DATA

    def _peek_body(self) -> FramingError | NeedData:
        want = min(_PEEK_SIZE, self._skip_remaining)
        head = self._buf[self._start : self._start + want]
        if len(head) < want and not self._eof:
            return NEED_DATA
        seq, command = _salvage_identity(bytes(head).decode("utf-8", errors="replace"))
        self._state = _State.SKIP_BODY
        return FramingError(
            FramingErrorKind.BODY_TOO_LARGE,
            f"body of {self._skip_remaining} bytes exceeds the limit of {self.max_body_size} bytes",
            seq,
            command,
        )

    def _skip_body(self) -> NeedData | EndOfStream | None:
        available = len(self._buf) - self._start
        dropped = min(available, self._skip_remaining)
        self._start += dropped
        self._skip_remaining -= dropped
        if self._skip_remaining == 0:
            self._state = _State.HEADERS
            self._header_scan = self._start
            return None
        if self._eof:
            # The oversized message was already reported; its missing tail adds nothing.
            self._state = _State.DONE
            return END_OF_STREAM
        return NEED_DATA

    def _read_body(self) -> dict[str, Any] | NeedData | FramingError | EndOfStream:
        end = self._start + self._body_length
        if len(self._buf) < end:
            if self._eof:
                return self._end_of_stream(True)
            return NEED_DATA
        body = bytes(self._buf[self._start : end])
        self._start = end
        self._header_scan = end
        self._state = _State.HEADERS
        return _decode_body(body)

    def _end_of_stream(self, partial: bool) -> FramingError | EndOfStream:
        self._state = _State.DONE
        self._start = len(self._buf)
        if partial:
            return FramingError(FramingErrorKind.TRUNCATED, "the stream ended inside a message")
        return END_OF_STREAM

    def _compact(self) -> None:
        if self._start > 65536 and self._start * 2 > len(self._buf):
            del self._buf[: self._start]
            self._header_scan = max(0, self._header_scan - self._start)
            self._start = 0


def _decode_body(body: bytes) -> dict[str, Any] | FramingError:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        seq, command = _salvage_identity(body.decode("utf-8", errors="replace"))
        return FramingError(
            FramingErrorKind.INVALID_UTF8,
            f"body is not valid UTF-8 (byte offset {exc.start})",
            seq,
            command,
        )
    try:
        value = json.loads(text)
    except RecursionError:
        seq, command = _salvage_identity(text)
        return FramingError(FramingErrorKind.INVALID_JSON, "body is nested too deeply", seq, command)
    except ValueError as exc:  # JSONDecodeError, and int() limits on huge numbers
        seq, command = _salvage_identity(text)
        return FramingError(FramingErrorKind.INVALID_JSON, f"body is not valid JSON: {exc}", seq, command)
    if not isinstance(value, dict):
        return FramingError(FramingErrorKind.NOT_AN_OBJECT, f"body is a JSON {_json_type(value)}, not an object")
    return value


def _salvage_identity(text: str) -> tuple[int | None, str | None]:
    if len(text) > 1024 * 1024:
        text = text[: 1024 * 1024]  # identity fields sit near the top level; bound the regex work
    seq_match = _SEQ_RE.search(text)
    command_match = _COMMAND_RE.search(text)
    seq = int(seq_match.group(1)) if seq_match else None
    return seq, command_match.group(1) if command_match else None


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def _show(raw: bytes, limit: int = 60) -> str:
    text = raw[:limit].decode("utf-8", errors="replace")
    return repr(text + ("..." if len(raw) > limit else ""))


def encode_message(message: Mapping[str, Any]) -> bytes:
    """Frame one message: compact UTF-8 JSON behind a ``Content-Length`` header.

    Raises ValueError for NaN or infinite floats, which JSON cannot express (a client's
    JSON.parse would reject the whole message).
    """
    try:
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (e.g. from bytes decoded with surrogateescape) have no UTF-8 form;
        # as \\u escapes they are still valid JSON that JavaScript clients accept.
        body = json.dumps(message, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode("ascii")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
