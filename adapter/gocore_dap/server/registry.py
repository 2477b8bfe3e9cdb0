"""The typed command registry: each DAP command names its arguments class and its handler.

Handlers are thin: they turn decoded arguments into one session call and the session's answer into
a response body. Work that must follow the response on the wire (the `initialized` event after
`launch`, the `stopped` event after `configurationDone`) is queued on the request context.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs

from gocore_dap.session.session import CoreSession

AfterFn = Callable[[], Awaitable[None]]


@attrs.define
class RequestContext:
    seq: int
    command: str
    after_response: list[AfterFn] = attrs.field(factory=list)
    end_connection: bool = False

    def then(self, fn: AfterFn) -> None:
        self.after_response.append(fn)


Handler = Callable[[CoreSession, Any, RequestContext], Awaitable[Any]]


@attrs.frozen
class Command:
    name: str
    arguments: type | None
    handler: Handler


COMMANDS: dict[str, Command] = {}

H = TypeVar("H", bound=Handler)


def command(name: str, arguments: type | None = None) -> Callable[[H], H]:
    def register(fn: H) -> H:
        if name in COMMANDS:
            raise RuntimeError(f"command {name!r} registered twice")
        COMMANDS[name] = Command(name, arguments, fn)
        return fn

    return register


def load_handlers() -> dict[str, Command]:
    # Importing the handler modules fills COMMANDS.
    from gocore_dap.server.handlers import (  # noqa: F401
        goroutines,
        inspect,
        lifecycle,
        machine,
        readonly,
    )

    return COMMANDS
