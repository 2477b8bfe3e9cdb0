"""Placeholder, replaced below."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class WaitObject:
    kind: str
    address: int


class WaitObjectReader:
    def __init__(self, *args: Any) -> None:
        pass

    def objects_of(self, row: int) -> list[WaitObject]:
        return []
