"""Builders for outgoing DAP messages (wire dicts).

They leave out `seq`: the server's writer assigns it when it sends the message, so that sequence
numbers follow the order of the stream. The first message gets 1, never 0: the schema sets
``"minimum": 1`` for `seq` and `request_seq` (Delve's own DAP server starts at 0, which strict
clients reject).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from gocore_dap.errors import GocoreError
from gocore_dap.protocol.converter import converter, to_wire
from gocore_dap.protocol.errors import error_message
from gocore_dap.protocol.models import ErrorResponseBody, Request

__all__ = ["body_to_wire", "make_error_response", "make_event", "make_request", "make_response"]


class _RequestIdentity(Protocol):
    """Anything that knows which request it answers, e.g. transport's FramingError."""

    @property
    def seq(self) -> int | None: ...

    @property
    def command(self) -> str | None: ...


def body_to_wire(body: Any) -> Any:
    """A body as JSON-ready data: attrs models go through the converter, plain data as is."""
    if attrs.has(type(body)):
        return to_wire(body)
    return converter.unstructure(body)


def make_request(command: str, arguments: Any = None) -> dict[str, Any]:
    """A request (for reverse requests such as runInTerminal, and for tests)."""
    message: dict[str, Any] = {"type": "request", "command": command}
    if arguments is not None:
        message["arguments"] = body_to_wire(arguments)
    return message


def make_response(
    request_seq: int,
    command: str,
    body: Any = None,
    *,
    success: bool = True,
    message: str | None = None,
) -> dict[str, Any]:
    """A response to request `request_seq`; `body` may be an attrs model, plain data or None."""
    response: dict[str, Any] = {
        "type": "response",
        "request_seq": request_seq,
        "success": success,
        "command": command,
    }
    if message is not None:
        response["message"] = message
    if body is not None:
        response["body"] = body_to_wire(body)
    return response


def make_error_response(request: Request | Mapping[str, Any] | _RequestIdentity, error: GocoreError) -> dict[str, Any]:
    """The error response (success=false) for `request`, with `error` as the structured message.

    `request` is the parsed Request, the raw request dict, or anything with `seq` and `command`
    (a FramingError whose body was readable enough). Raises ValueError when there is no usable
    `seq`, because a response must name the request it answers.
    """
    if isinstance(request, Mapping):
        seq, command = request.get("seq"), request.get("command")
    else:
        seq, command = request.seq, request.command
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise ValueError(f"cannot answer a request without a valid seq (got {seq!r})")
    return make_response(
        seq,
        command if isinstance(command, str) else "",
        ErrorResponseBody(error=error_message(error)),
        success=False,
        message=error.short_message(),
    )


def make_event(event: str, body: Any = None) -> dict[str, Any]:
    """An event; `body` may be an attrs model (e.g. StoppedEventBody), plain data or None."""
    message: dict[str, Any] = {"type": "event", "event": event}
    if body is not None:
        message["body"] = body_to_wire(body)
    return message
