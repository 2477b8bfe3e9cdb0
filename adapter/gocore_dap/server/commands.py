"""Commands and how handlers declare them: the arguments class, the handler, and the capabilities it gives.

Each handler module owns a `CommandSet` and registers its commands on it; `server.handlers` gathers the
sets into the server's table, and `capabilities_of` derives the `initialize` answer from that table, as
pygls builds its capabilities from its features. No handler imports the table, so nothing imports in a
circle.

Handlers are thin: they turn decoded arguments into one session call and the answer into a response
body. Work that must follow the response on the wire (the `initialized` event after `launch`, the
`stopped` event after `configurationDone`) is queued on the request context.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from gocore_dap.protocol import models as m

if TYPE_CHECKING:
    from gocore_dap.session.session import CoreSession

__all__ = ["Command", "CommandSet", "RequestContext", "capabilities_of", "merge"]

AfterFn = Callable[[], Awaitable[None]]
# Reports a request's progress: (message, percentage or None); see DapConnection's progress.
ProgressFn = Callable[[str, float | None], Awaitable[None]]


async def _no_progress(message: str, percentage: float | None = None) -> None:
    return None


def _no_cancel(request_id: int | None, progress_id: str | None) -> None:
    return None


# The capability that says a client may send a command (DAP's `supports<Command>Request` and the like).
_COMMAND_CAPABILITY: Mapping[str, str] = {
    "configurationDone": "supports_configuration_done_request",
    "exceptionInfo": "supports_exception_info_request",
    "terminate": "supports_terminate_request",
    "disassemble": "supports_disassemble_request",
    "readMemory": "supports_read_memory_request",
    "loadedSources": "supports_loaded_sources_request",
    "cancel": "supports_cancel_request",
    "restart": "supports_restart_request",
    "gotoTargets": "supports_goto_targets_request",
    "setVariable": "supports_set_variable",
    "setExpression": "supports_set_expression",
    "stepBack": "supports_step_back",
    "setInstructionBreakpoints": "supports_instruction_breakpoints",
    "goroutines": "supports_goroutines_request",
    "crashSummary": "supports_crash_summary_request",
    "revealGoroutine": "supports_reveal_goroutine_request",
}


@attrs.define
class RequestContext:
    seq: int
    command: str
    capabilities: m.GoCapabilities = attrs.field(factory=m.GoCapabilities)
    # Cancels another request being served (DAP `cancel`), by its seq or progress id.
    cancel: Callable[[int | None, str | None], None] = _no_cancel
    # Starts a progress of this request titled so; shown only to clients that support progress.
    progress: Callable[[str], ProgressFn] = lambda title: _no_progress
    after_response: list[AfterFn] = attrs.field(factory=list)
    end_connection: bool = False

    def then(self, fn: AfterFn) -> None:
        self.after_response.append(fn)


Handler = Callable[["CoreSession", Any, RequestContext], Awaitable[Any]]
H = TypeVar("H", bound=Handler)


@attrs.frozen
class Command:
    name: str
    arguments: type | None
    handler: Handler
    # Capability fields (snake_case names of `GoCapabilities`) this command decides, and their values.
    capabilities: Mapping[str, Any] = attrs.field(factory=dict)


class CommandSet:
    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}

    def command(
        self, name: str, arguments: type | None = None, *, refuses: bool = False, **capabilities: Any
    ) -> Callable[[H], H]:
        """Register a handler. A command with a capability of its own advertises it as supported, unless
        the handler only `refuses` it (a core cannot run or change: those commands answer an error);
        `capabilities` sets the argument-level ones it decides (e.g. supports_evaluate_for_hovers)."""

        def register(fn: H) -> H:
            if name in self.commands:
                raise RuntimeError(f"command {name!r} registered twice")
            decided = dict(capabilities)
            if name in _COMMAND_CAPABILITY:
                decided[_COMMAND_CAPABILITY[name]] = not refuses
            self.commands[name] = Command(name, arguments, fn, decided)
            return fn

        return register


def merge(sets: Iterable[CommandSet]) -> dict[str, Command]:
    table: dict[str, Command] = {}
    for commands in sets:
        for name, cmd in commands.commands.items():
            if name in table:
                raise RuntimeError(f"command {name!r} registered twice")
            table[name] = cmd
    return table


def capabilities_of(commands: Mapping[str, Command]) -> m.GoCapabilities:
    """The `initialize` answer: what the registered commands decide (a command's own capability is
    true when it is served, false when it is refused; a command not registered leaves it unsaid)."""
    decided: dict[str, Any] = {}
    for cmd in commands.values():
        for field, value in cmd.capabilities.items():
            if field in decided and decided[field] != value:
                raise RuntimeError(f"commands disagree about capability {field!r}")
            decided[field] = value
    return m.GoCapabilities(**decided)
