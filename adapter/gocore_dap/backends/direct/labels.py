"""pprof labels (``g.labels``), decoded with the shape the binary's DWARF gives (see ``layouts._label_plan``).

Goroutines started under the same labels share one label set, so each distinct pointer is decoded once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from gocore_dap.backends.direct.layouts import Layouts
from gocore_dap.backends.direct.memory import CoreMemory, MemoryError_

_MAX_LABELS: Final = 4096
# The classic hash map's tophash markers (runtime/map.go): below minTopHash a slot is empty or evacuated.
_MIN_TOP_HASH: Final = 5


class LabelReader:
    def __init__(self, mem: CoreMemory, layouts: Layouts) -> None:
        self.mem = mem
        self.plan: Mapping[str, Any] | None = layouts.labels
        self.errors: list[str] = []

    def read_all(self, pointers: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.int32], list[dict[str, str]]]:
        """Label set id per goroutine (-1: none) and the distinct label sets."""
        uniq, inv = np.unique(pointers, return_inverse=True)
        sets: list[dict[str, str]] = []
        ids: list[int] = []
        interned: dict[tuple[tuple[str, str], ...], int] = {}
        for ptr in uniq.tolist():
            labels = self.read(int(ptr)) if ptr else {}
            if not labels:
                ids.append(-1)
                continue
            key = tuple(labels.items())
            lid = interned.get(key)
            if lid is None:
                lid = interned[key] = len(sets)
                sets.append(labels)
            ids.append(lid)
        return np.array(ids, dtype=np.int32)[inv.reshape(-1)], sets

    def read(self, pointer: int) -> dict[str, str]:
        plan = self.plan
        if plan is None:
            self._error("goroutines have pprof labels, but the binary's DWARF has no label set type")
            return {}
        try:
            if plan["kind"] == "slice":
                return self._read_slice(pointer, plan)
            if plan["kind"] == "hmap":
                return self._read_hmap(self.mem.u64(pointer), plan)
        except MemoryError_ as exc:
            self._error(f"a label set is unreadable: {exc}")
            return {}
        self._error(f"labels of type {plan.get('type')} are not supported")
        return {}

    def _error(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)

    def _read_slice(self, pointer: int, plan: Mapping[str, Any]) -> dict[str, str]:
        mem = self.mem
        base = pointer + int(plan["slice"])
        array, length = mem.u64(base), mem.u64(base + 8)
        if length > _MAX_LABELS:
            raise MemoryError_(f"label set at {pointer:#x} claims {length} labels")
        out: dict[str, str] = {}
        size = int(plan["elem_size"])
        for i in range(length):
            item = array + i * size
            out[mem.go_string(item + int(plan["key"]))] = mem.go_string(item + int(plan["value"]))
        return out

    def _read_hmap(self, hmap: int, plan: Mapping[str, Any]) -> dict[str, str]:
        if hmap == 0:
            return {}
        mem = self.mem
        count = mem.u64(hmap + int(plan["count"]))
        if count == 0:
            return {}
        b = mem.u8(hmap + int(plan["B"]))
        out: dict[str, str] = {}
        for key in ("oldbuckets", "buckets"):
            buckets = mem.u64(hmap + int(plan[key]))
            if buckets == 0:
                continue
            nbuckets = 1 << (b - 1 if key == "oldbuckets" and b > 0 else b)
            for i in range(min(nbuckets, _MAX_LABELS)):
                self._read_bucket(buckets + i * int(plan["bucket_size"]), plan, out)
        return out

    def _read_bucket(self, bucket: int, plan: Mapping[str, Any], out: dict[str, str]) -> None:
        mem = self.mem
        slots = int(plan["bucket_count"])
        for _ in range(_MAX_LABELS):
            if bucket == 0:
                return
            tophash = mem.read(bucket + int(plan["tophash"]), slots)
            for i in range(slots):
                if tophash[i] >= _MIN_TOP_HASH:
                    key = mem.go_string(bucket + int(plan["keys"]) + 16 * i)
                    out[key] = mem.go_string(bucket + int(plan["elems"]) + 16 * i)
            bucket = mem.u64(bucket + int(plan["overflow"]))
