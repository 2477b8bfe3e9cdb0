"""Goroutine state text, as the runtime prints it in a traceback header (`goroutine 7 [chan receive]:`).

The wait-reason enum is renumbered by almost every Go release (insertions in 1.20, 1.22, 1.24, 1.25; 1.26
reorders it), so the text always comes from the TARGET's own `runtime.waitReasonStrings`, read through
Delve (`backends.delve.crash_probe.read_wait_reasons`). The status names can come from the target's
`runtime.gStatusStrings` too (1.26 added `leaked` and `waiting for cgo callback`); the numbers of
docs/architecture.md are the fallback when they were not read.

Pure: stdlib and attrs only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

__all__ = [
    "DEFAULT_STATUS_NAMES",
    "SCAN_BIT",
    "STATUS_WAITING",
    "WaitReasonTable",
    "goroutine_state",
    "is_dead",
    "status_name",
]

# g.atomicstatus carries this bit while the GC scans the stack; the state underneath is what matters.
SCAN_BIT = 0x1000
# _Gwaiting: the only status (with 1.26's _Gleaked) whose text is replaced by the wait reason.
STATUS_WAITING = 4

# The contract of docs/architecture.md: the status numbers every supported Go version shares.
DEFAULT_STATUS_NAMES: Mapping[int, str] = {
    0: "idle",
    1: "runnable",
    2: "running",
    3: "syscall",
    4: "waiting",
    6: "dead",
    8: "copystack",
    9: "preempted",
}

# The runtime's name for 1.26's leaked-goroutine status; found by name because its number is new.
_LEAKED = "leaked"


@attrs.frozen
class WaitReasonTable:
    """The target's `runtime.waitReasonStrings` (index = waitReason) and, if read, `gStatusStrings`."""

    reasons: tuple[str, ...]
    status_names: tuple[str, ...] = ()
    go_version: str = ""

    @classmethod
    def from_strings(
        cls, reasons: Sequence[str], status_names: Sequence[str] = (), go_version: str = ""
    ) -> WaitReasonTable:
        return cls((*reasons,), (*status_names,), go_version)

    def reason(self, wait_reason: int) -> str:
        """The reason text; an int the table does not cover (a newer runtime, a torn read) stays visible."""
        if 0 <= wait_reason < len(self.reasons) and self.reasons[wait_reason]:
            return self.reasons[wait_reason]
        return f"wait reason {wait_reason}"


# _Gdead, and Go 1.26's _Gdeadextra (a goroutine kept for cgo callbacks, printed by gStatusStrings
# as "waiting for cgo callback"): the runtime's traceback skips both, and so do we.
_DEAD_STATUS = 6
_DEAD_NAMES = frozenset({"dead", "waiting for cgo callback"})


def is_dead(status: int, table: WaitReasonTable | None = None) -> bool:
    masked = status & ~SCAN_BIT
    if masked == _DEAD_STATUS:
        return True
    if table is not None and 0 <= masked < len(table.status_names):
        return table.status_names[masked] in _DEAD_NAMES
    return False


def status_name(status: int, table: WaitReasonTable | None = None) -> str:
    """The name of a raw g status (scan bit ignored): the target's own name when known."""
    base = status & ~SCAN_BIT
    if table is not None and 0 <= base < len(table.status_names) and table.status_names[base]:
        return table.status_names[base]
    return DEFAULT_STATUS_NAMES.get(base, f"status {base}")


def goroutine_state(status: int, wait_reason: int, table: WaitReasonTable | None) -> str:
    """The bracketed state of a traceback header, e.g. `running`, `chan receive`, `sync.Mutex.Lock`.

    Mirrors runtime.goroutineheader: a waiting (or 1.26 leaked) goroutine shows its wait reason unless the
    reason is zero; every other status shows its name, whatever stale reason the g still carries.
    """
    base = status & ~SCAN_BIT
    text = status_name(base, table)
    leaked = text == _LEAKED
    if (base == STATUS_WAITING or leaked) and wait_reason != 0:
        text = table.reason(wait_reason) if table is not None else f"wait reason {wait_reason}"
    # The runtime appends the marker even to the bare status name ("leaked (leaked)").
    return f"{text} ({_LEAKED})" if leaked else text
