"""Every goroutine and its whole stack, read straight from the core (`backends.direct`), for the goroutine
model; Delve only for what the direct reader leaves to it.

The direct index reads 100,000 goroutines and unwinds all their stacks in well under a second, so the
model groups them exactly at any size. Goroutines that were running on a thread when the process died
(at most GOMAXPROCS, the crashing one among them) have a stale saved context: their stacks come from
Delve, which unwinds them from the thread's registers. When the direct reader cannot read a core (another
architecture, a pclntab or runtime layout it does not know), the model falls back to Delve's listing and
says so (`DirectGoroutines.note`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gocore_dap.core.delve_goroutines import DelveGoroutines
from gocore_dap.goviews.code_scope import CodeScope
from gocore_dap.goviews.frames import first_user_frame_index
from gocore_dap.goviews.goroutine_info import GoroutineTable, LocationTuple
from gocore_dap.goviews.grouping import GroupKey, StackTable
from gocore_dap.goviews.wait_objects import WaitTarget, describe_wait, wait_key
from gocore_dap.goviews.wait_reasons import WaitReasonTable

if TYPE_CHECKING:
    from gocore_dap.backends.direct import GoroutineIndex

__all__ = ["DirectGoroutines", "IndexedTable"]

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
# The crashing goroutine's stack as the runtime printed it: (goroutine id, frames) -> frames.
CrashCut = Callable[[int, tuple[LocationTuple, ...]], tuple[LocationTuple, ...]]
# Frames read from Delve for a running goroutine: as deep as the model's stacks.
_DELVE_DEPTH = 64


class IndexedTable:
    """What the index gives the model: the table, every goroutine's stack, and each one's parent."""

    def __init__(self, table: GoroutineTable, stacks: StackTable, parents: dict[int, int]) -> None:
        self.table = table
        self.stacks = stacks
        self.parents = parents


class DirectGoroutines:
    """Opens the direct index on first use (in a worker thread) and builds the model's table from it."""

    def __init__(self, delve: DelveGoroutines, program: Path, core: Path) -> None:
        self.delve = delve
        self._program = program
        self._core = core
        self._index: GoroutineIndex | None = None
        # Why the index is not used ("" while it is, or before it was tried).
        self.note = ""
        self.failed = False
        self._wait_keys: list[GroupKey] | None = None

    async def load(
        self,
        wait_reasons: WaitReasonTable | None,
        progress: Progress | None,
        crash_cut: CrashCut,
        scope: CodeScope | None = None,
        crashing_id: int | None = None,
    ) -> IndexedTable | None:
        """The whole table from the core, or None when the direct reader cannot read it (`note` says why;
        the caller lists goroutines through Delve instead)."""
        try:
            # The import too runs in the worker thread: numpy takes a few hundred milliseconds to load, and
            # the event loop is serving the editor's first requests meanwhile.
            index = await asyncio.to_thread(_open_index, self._program, self._core, progress)
        except _unsupported() as exc:
            self.failed = True
            reason = getattr(exc, "reason", str(exc))
            self.note = f"goroutines listed through Delve: the direct reader cannot read this core ({reason})"
            log.info("%s", self.note)
            return None
        self._index = index
        return await self._build(index, wait_reasons, crash_cut, scope, crashing_id)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    @property
    def index(self) -> GoroutineIndex | None:
        return self._index

    def wait_keys(self, table: GoroutineTable) -> list[GroupKey]:
        """Each row's wait-object group (rows are the index's rows): the objects it is blocked on and how,
        or, for a goroutine blocked on none, its state. Read from the core on first use (blocking)."""
        if self._wait_keys is None:
            from gocore_dap.backends.direct import OPERATIONS

            assert self._index is not None
            reader = self._index.wait_object_reader()
            rows, object_ids, operations = reader.edges()
            targets: dict[int, list[WaitTarget]] = {}
            for row, oid, op in zip(rows.tolist(), object_ids.tolist(), operations.tolist(), strict=True):
                obj = reader.objects[oid]
                targets.setdefault(row, []).append(
                    WaitTarget(
                        OPERATIONS[op], obj.kind, obj.address, obj.type_name, obj.length, obj.capacity, obj.closed
                    )
                )
            by_targets: dict[tuple[WaitTarget, ...], GroupKey] = {}
            by_state: dict[str, GroupKey] = {}
            keys: list[GroupKey] = []
            for row in range(len(table)):
                found = targets.get(row)
                if found:
                    key = tuple(found)
                    group = by_targets.get(key)
                    if group is None:
                        group = by_targets[key] = GroupKey(wait_key(found), describe_wait(found))
                else:
                    state = table.state(row)
                    group = by_state.get(state)
                    if group is None:
                        group = by_state[state] = GroupKey(f"waitObject:none:{state}", f"{state} (no wait object)")
                keys.append(group)
            self._wait_keys = keys
        return self._wait_keys

    async def _build(
        self,
        index: GoroutineIndex,
        wait_reasons: WaitReasonTable | None,
        crash_cut: CrashCut,
        scope: CodeScope | None,
        crashing_id: int | None,
    ) -> IndexedTable:
        import numpy as np

        # Running goroutines: their stacks from Delve (a handful), as the crasher's is shown everywhere.
        # ... and the crashing goroutine's as the crash shows it everywhere (where the crash began, C frames
        # under cgo included), even when the index unwound it (a goroutine in a cgo call is in a syscall).
        delve_rows = [int(r) for r in np.flatnonzero(index.stack_ids < 0)]
        if crashing_id is not None:
            with contextlib.suppress(KeyError):
                crashing_row = index.row(crashing_id)
                if crashing_row not in delve_rows:
                    delve_rows.append(crashing_row)
        delve_frames: dict[int, tuple[LocationTuple, ...]] = {}
        for row in delve_rows:
            goroutine_id = int(index.goids[row])
            delve_frames[row] = crash_cut(goroutine_id, await self.delve.stack(goroutine_id, _DELVE_DEPTH))
        # Seconds of Python over every row: in a worker thread, so that the editor's requests (the crash
        # summary, variables) are served meanwhile.
        return await asyncio.to_thread(_assemble, index, wait_reasons, scope, delve_frames)


def _assemble(
    index: GoroutineIndex,
    wait_reasons: WaitReasonTable | None,
    scope: CodeScope | None,
    delve_frames: dict[int, tuple[LocationTuple, ...]],
) -> IndexedTable:
    """The goroutine and stack tables of every row of the index, with Delve's stacks where it gave them."""
    import numpy as np

    table = GoroutineTable(wait_reasons)
    stacks = StackTable(scope)
    rows = len(index)
    stack_ids = index.stack_ids
    # Each distinct stack once: its frames, its current (innermost) and user locations.
    distinct: list[tuple[LocationTuple, ...]] = []
    for sid in range(len(index.stack_table)):
        distinct.append(tuple((f.function, f.file, f.line) for f in index.frames(sid)))
    current_of = [table.intern_location(frames[0]) if frames else 0 for frames in distinct]
    user_of = [table.intern_location(_user_frame(frames)) for frames in distinct]
    current = np.asarray([*current_of, 0], dtype=np.int64)[stack_ids]
    user = np.asarray([*user_of, 0], dtype=np.int64)[stack_ids]
    for row, frames in delve_frames.items():
        current[row] = table.intern_location(frames[0]) if frames else 0
        user[row] = table.intern_location(_user_frame(frames))
    go_of = [table.intern_location(_location(c.location)) if c is not None else 0 for c in index.creators]
    start_of = [table.intern_location(_location(s)) if s is not None else 0 for s in index.starts]
    labels_of = [table.intern_labels(labels) for labels in index.label_sets]
    table.extend(
        goroutine_ids=index.goids.tolist(),
        statuses=index.statuses.tolist(),
        wait_reasons=index.wait_reasons.tolist(),
        wait_since=index.wait_since.tolist(),
        thread_ids=index.lwps.tolist(),
        current=current.tolist(),
        user=user.tolist(),
        go=_take(go_of, index.creator_ids),
        start=_take(start_of, index.start_ids),
        label_sets=_take(labels_of, index.label_ids),
    )
    stacks.ensure_rows(rows)
    order = np.argsort(stack_ids, kind="stable")
    sorted_ids = stack_ids[order]
    bounds = np.flatnonzero(np.diff(sorted_ids)) + 1
    for group in np.split(order, bounds):
        sid = int(stack_ids[group[0]])
        if sid >= 0:
            stacks.assign_rows(group.tolist(), distinct[sid])
    for row, frames in delve_frames.items():
        stacks.assign(row, frames)
    parents = {int(g): int(p) for g, p in zip(index.goids.tolist(), index.parent_goids.tolist(), strict=True) if p}
    return IndexedTable(table, stacks, parents)


def _open_index(program: Path, core: Path, progress: Progress | None) -> GoroutineIndex:
    from gocore_dap.backends.direct import open_index

    return open_index(program, core, progress=progress)


def _unsupported() -> type[Exception]:
    from gocore_dap.backends.direct import DirectReaderUnsupported

    return DirectReaderUnsupported


def _user_frame(frames: Sequence[LocationTuple]) -> LocationTuple | None:
    """Delve's user location (what `filter.function` matches, as on the Delve path): the first frame that
    is not the runtime's, else the innermost. Records and groups name your code from the stack instead."""
    if not frames:
        return None
    index = first_user_frame_index([f[0] for f in frames])
    return frames[index if index is not None else 0]


def _location(location: object) -> LocationTuple:
    return (getattr(location, "function", ""), getattr(location, "file", ""), int(getattr(location, "line", 0)))


def _take(values: Sequence[int], ids: object) -> list[int]:
    """values[id] per row, 0 where the id is -1 (none)."""
    import numpy as np

    table = np.asarray([*values, 0], dtype=np.int64)
    result: list[int] = table[np.asarray(ids)].tolist()
    return result
