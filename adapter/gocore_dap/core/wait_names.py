"""The program's own name for an object goroutines wait on: `d.jobs in main.(*dispatcher).receiveJob`,
`main.mu`.

The direct reader knows the object's address; a name needs variables, so Delve is asked: the main
package's globals once, then the frames of the user's code on a few of the waiting goroutines (and the
crashing one), for a variable that is the object, points at it, or holds it as a field. Optimised code
often cannot show a frame's variables at a park point; then the object keeps its address alone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence

from gocore_dap.backends.delve.api import DelveApi, LoadConfig, Variable
from gocore_dap.backends.delve.errors import BackendError
from gocore_dap.goviews import kinds
from gocore_dap.goviews.frames import is_runtime_internal, package_path

__all__ = ["WaitObjectNamer", "is_main_module_function"]

# Frames of the user's code looked at per goroutine, goroutines tried per object: a name is a help, not
# worth seconds of Delve time on a big core.
_FRAMES_PER_GOROUTINE = 4
_GOROUTINES_PER_OBJECT = 3
_STACK_DEPTH = 32
_CONFIG = LoadConfig(follow_pointers=True, max_variable_recurse=2, max_string_len=0, max_array_values=0)


class _OutOfTime(Exception):
    """The naming budget of a request is spent."""


def _holds(v: Variable, address: int, kind: str, path: str, depth: int = 0) -> str | None:
    """`path` (or a field path below it) when variable `v` is, points at, or contains the object."""
    if v.unreadable:
        return None
    if kind == "chan":
        if v.kind == kinds.CHAN and v.base == address:
            return path
    elif v.kind == kinds.STRUCT and v.addr == address:
        return path
    if v.kind == kinds.PTR and v.children:
        target = v.children[0]
        if kind != "chan" and target.addr == address:
            return path
        if target.kind == kinds.STRUCT and depth < 2:
            return _in_fields(target, address, kind, path, depth + 1)
    if v.kind == kinds.STRUCT and depth < 2:
        return _in_fields(v, address, kind, path, depth + 1)
    return None


def _in_fields(v: Variable, address: int, kind: str, path: str, depth: int) -> str | None:
    for field in v.children:
        found = _holds(field, address, kind, f"{path}.{field.name}", depth)
        if found is not None:
            return found
    return None


class WaitObjectNamer:
    def __init__(self, api: DelveApi, is_yours: Callable[[str], bool], main_package: str = "main") -> None:
        self._api = api
        self._is_yours = is_yours
        self._main_package = main_package
        self._globals: list[Variable] | None = None
        self._names: dict[tuple[str, int], str | None] = {}

    async def name(
        self, kind: str, address: int, goroutine_ids: Iterable[int], *, deadline: float | None = None
    ) -> str | None:
        """The variable that holds the object, as `path in function` or a global's name; None if none, or
        if the search would go on past `deadline` (time.monotonic()): then a later call tries again."""
        key = (kind, address)
        if key not in self._names:
            ids = list(goroutine_ids)[:_GOROUTINES_PER_OBJECT]
            try:
                self._names[key] = await self._find(kind, address, ids, deadline)
            except _OutOfTime:
                return None
        return self._names[key]

    async def _find(self, kind: str, address: int, goroutine_ids: Sequence[int], deadline: float | None) -> str | None:
        def in_time() -> None:
            # Each Delve call that names a goroutine finds it among all of them first: on a core with a
            # million goroutines a call takes a good part of a second.
            if deadline is not None and time.monotonic() > deadline:
                raise _OutOfTime

        for v in await self._package_globals():
            found = _holds(v, address, kind, v.name)
            if found is not None:
                return found
        for goroutine_id in goroutine_ids:
            in_time()
            try:
                frames = await self._api.stacktrace(goroutine_id, _STACK_DEPTH)
            except BackendError:
                continue
            looked = 0
            for index, frame in enumerate(frames):
                function = frame.location.function_name
                if not function or is_runtime_internal(function) or not self._is_yours(function):
                    continue
                looked += 1
                in_time()
                try:
                    found_vars = [
                        *await self._api.function_args(goroutine_id, index, _CONFIG),
                        *await self._api.local_vars(goroutine_id, index, _CONFIG),
                    ]
                except BackendError:
                    found_vars = []
                for v in found_vars:
                    found = _holds(v, address, kind, v.name)
                    if found is not None:
                        return f"{found} in {function}"
                if looked >= _FRAMES_PER_GOROUTINE:
                    break
        return None

    async def _package_globals(self) -> list[Variable]:
        if self._globals is None:
            try:
                pattern = f"^{re.escape(self._main_package)}\\.[^.]+$"
                self._globals = list(await self._api.package_vars(pattern, _CONFIG))
            except BackendError:
                self._globals = []
        return self._globals


def is_main_module_function(main_module: str) -> Callable[[str], bool]:
    """A cheap "your code" test for naming: functions of package main or of the main module's packages."""

    def yours(function: str) -> bool:
        package = package_path(function) or ""
        return package == "main" or (
            bool(main_module) and (package == main_module or package.startswith(main_module + "/"))
        )

    return yours
