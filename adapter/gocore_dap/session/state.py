"""The session's explicit state machine.

A core dump never runs, so the life of a session is short and linear; the table below is the whole
truth about which state may follow which. The session moves through it (`launch`, `configurationDone`,
the end) and its `target()` refuses inspection requests outside `NEEDS_TARGET`.
"""

from __future__ import annotations

import enum


class SessionState(enum.Enum):
    NEW = "new"  # before `initialize`
    INITIALIZED = "initialized"  # capabilities sent, waiting for `launch`
    LAUNCHING = "launching"  # Delve is loading the core
    CONFIGURING = "configuring"  # core loaded, `initialized` event sent, waiting for `configurationDone`
    STOPPED = "stopped"  # the crash is shown; inspection requests are served
    TERMINATED = "terminated"  # Delve ended (by request or by dying); only `disconnect` is useful


_ALLOWED: dict[SessionState, frozenset[SessionState]] = {
    SessionState.NEW: frozenset({SessionState.INITIALIZED, SessionState.TERMINATED}),
    SessionState.INITIALIZED: frozenset({SessionState.LAUNCHING, SessionState.TERMINATED}),
    SessionState.LAUNCHING: frozenset({SessionState.CONFIGURING, SessionState.INITIALIZED, SessionState.TERMINATED}),
    SessionState.CONFIGURING: frozenset({SessionState.STOPPED, SessionState.TERMINATED}),
    SessionState.STOPPED: frozenset({SessionState.TERMINATED}),
    SessionState.TERMINATED: frozenset(),
}

# Requests that need the core loaded (a target to inspect).
NEEDS_TARGET = frozenset({SessionState.CONFIGURING, SessionState.STOPPED})


class InvalidTransition(Exception):
    pass


class StateMachine:
    def __init__(self) -> None:
        self.state = SessionState.NEW

    def move(self, new: SessionState) -> None:
        if new is self.state:
            return
        if new not in _ALLOWED[self.state]:
            raise InvalidTransition(f"cannot go from {self.state.value} to {new.value}")
        self.state = new

    @property
    def has_target(self) -> bool:
        return self.state in NEEDS_TARGET
