"""The DAP side of gocore-dap's errors: a `GocoreError` as the `Message` of an error response, and the
error raised when a request's arguments do not fit its command.

The error-id table itself is not DAP's: it lives in `gocore_dap.errors`, shared by every front end.
"""

from __future__ import annotations

from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.protocol.models import Message

__all__ = ["ProtocolArgumentError", "error_message"]


def error_message(error: GocoreError) -> Message:
    """The DAP `Message` for the `error` field of the error response's body."""
    return Message(
        id=int(error.error_id),
        format=error.format,
        variables=dict(error.variables) or None,
        show_user=error.show_user,
        url=error.url,
    )


class ProtocolArgumentError(GocoreError):
    """A request's arguments do not fit the command (raised by `converter.from_wire`).

    The message is complete and names the command and the field, e.g.
    ``launch: 'stackTraceDepth' must be an integer, got 'abc'``.
    """

    def __init__(self, message: str, *, command: str | None = None, field: str | None = None) -> None:
        super().__init__(ErrorId.BAD_ARGUMENTS, message=message)
        self.command = command
        self.field = field  # wire path of the first offending field, e.g. "substitutePath[0].from"
