"""Handle tables: small integers the client holds for objects only the adapter can resolve."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Handles(Generic[T]):
    """Maps client-visible integers to objects.

    Handles start at 1 because DAP treats a variablesReference of 0 as "no children". A value
    that is already present keeps its handle, so a frame or variable asked for twice keeps one id.
    """

    def __init__(self, start: int = 1) -> None:
        self._start = start
        self._next = start
        self._by_handle: dict[int, T] = {}
        self._by_value: dict[T, int] = {}

    def create(self, value: T) -> int:
        existing = self._by_value.get(value)
        if existing is not None:
            return existing
        handle = self._next
        self._next += 1
        self._by_handle[handle] = value
        self._by_value[value] = handle
        return handle

    def get(self, handle: int) -> T | None:
        return self._by_handle.get(handle)

    def __len__(self) -> int:
        return len(self._by_handle)

    def clear(self) -> None:
        self._by_handle.clear()
        self._by_value.clear()
        self._next = self._start
