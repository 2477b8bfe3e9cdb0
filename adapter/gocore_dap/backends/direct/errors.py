"""The one exception of the direct reader that callers act on."""

from __future__ import annotations


class DirectReaderUnsupported(Exception):
    """The direct reader cannot read this program/core; the caller falls back to Delve.

    ``reason`` says what was missing or unknown (an architecture, a pclntab version, a DWARF type, an
    unreadable address), worded so that the caller can show it next to "using Delve instead".
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
