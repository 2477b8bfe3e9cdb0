"""The server's command table, gathered from the handler modules (each owns a `CommandSet`)."""

from __future__ import annotations

from gocore_dap.server.commands import Command, merge
from gocore_dap.server.handlers import goroutines, inspect, lifecycle, machine, readonly

__all__ = ["COMMANDS"]

COMMANDS: dict[str, Command] = merge(module.commands for module in (lifecycle, inspect, machine, readonly, goroutines))
