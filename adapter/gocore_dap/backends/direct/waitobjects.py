"""What each blocked goroutine waits on: channels, sync objects, semaphores, condition variables.

* Channels: a goroutine blocked in a channel operation or a select has its ``sudog`` records on
  ``g.waiting`` (linked by ``waitlink``), each naming the channel (``sudog.c``).
* Semaphores: ``sync.Mutex``, ``RWMutex`` and ``WaitGroup`` park through ``runtime.semacquire1``,
  which files the goroutine's sudog under the semaphore's address in ``runtime.semtable`` (251
  treaps of sudogs, one node per address, further waiters on ``waitlink``; ``sudog.elem`` is the
  address). The wait reason says which sync type parked, and the DWARF offsets of the semaphore word
  inside that type map the address back to the object (``Mutex.sema``, ``RWMutex.readerSem`` /
  ``writerSem`` / ``w``, ``WaitGroup.sema``). A writer queued on an RWMutex's inner mutex waits for
  "sync.Mutex.Lock" too; its stack (``sync.(*RWMutex).Lock``) tells it apart.
* ``sync.Cond``: ``notifyListWait`` keeps the sudog only on the Cond's own list, and nothing in the
  ``g`` points to it. The Cond is found from the goroutine's ``sync.(*Cond).Wait`` frame: each word
  of that frame (and its argument spill slots, where the receiver is) is tried as a ``*sync.Cond``,
  and accepted only if that Cond's notify list holds this goroutine's sudog -- a candidate that is
  not a Cond fails that check, so no guess is ever reported. One accepted Cond assigns every
  goroutine on its list at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

import attrs
import numpy as np
import numpy.typing as npt

from gocore_dap.backends.direct.layouts import Layouts
from gocore_dap.backends.direct.memory import CoreMemory, MemoryError_
from gocore_dap.backends.direct.pclntab import Pclntab
from gocore_dap.backends.direct.unwind import Unwinder

if TYPE_CHECKING:
    from gocore_dap.backends.direct.index import GoroutineIndex

_MAX_CHAIN: Final = 1 << 16  # select cases / treap depth / waiters per address, as a loop bound
_MAX_COND_WAITERS: Final = 10_000_000
_COND_FRAME: Final = "sync.(*Cond).Wait"
_RWMUTEX_LOCK: Final = "sync.(*RWMutex).Lock"
# Words past a frame's FP to try as the receiver: the argument spill slots of the callee's args.
_SPILL_WORDS: Final = 4

KIND_CHAN: Final = "chan"
KIND_MUTEX: Final = "sync.Mutex"
KIND_RWMUTEX: Final = "sync.RWMutex"
KIND_WAITGROUP: Final = "sync.WaitGroup"
KIND_COND: Final = "sync.Cond"
KIND_SEMAPHORE: Final = "semaphore"


@attrs.frozen
class WaitObject:
    """An object goroutines block on.

    ``kind`` is one of "chan", "sync.Mutex", "sync.RWMutex", "sync.WaitGroup", "sync.Cond",
    "semaphore" (a runtime semaphore not inside a known sync type, e.g. an fd lock); ``address`` is
    the object's own address (the ``hchan`` for a channel, the sync value, or the semaphore word);
    ``type_name`` is "chan T" for a channel (T from the channel's element type), else the kind.
    ``length``/``capacity``/``closed`` describe a channel's buffer. ``semaphore`` is the semaphore
    word's address for semaphore-based kinds.
    """

    kind: str
    address: int
    type_name: str
    length: int | None = None
    capacity: int | None = None
    closed: bool | None = None
    semaphore: int | None = None


@attrs.frozen
class WaitEdge:
    """One goroutine waiting on one object, and how (``receive``, ``send``, ``select``, ``lock``,
    ``rlock``, ``wait``, ``acquire``)."""

    object_id: int
    operation: str


class WaitObjectReader:
    """Reads every goroutine's wait objects once; then answers per goroutine and per object."""

    def __init__(
        self, index: GoroutineIndex, mem: CoreMemory, layouts: Layouts, pcln: Pclntab, unwinder: Unwinder
    ) -> None:
        self.index = index
        self.mem = mem
        self.layouts = layouts
        self.pcln = pcln
        self.unwinder = unwinder
        self.objects: list[WaitObject] = []
        self._object_ids: dict[tuple[str, int], int] = {}
        self._edges: dict[int, list[WaitEdge]] = {}
        self.errors: list[str] = []
        self._rows_by_g = np.argsort(index.g_addresses)
        self._sorted_g = index.g_addresses[self._rows_by_g]
        self._g_set = set(index.g_addresses.tolist())
        self._waiting = index.statuses == np.uint32(layouts.const("_Gwaiting"))
        self._reasons = index.wait_reasons
        for step in (self._read_channels, self._read_semaphores, self._read_conds):
            try:
                step()
            except MemoryError_ as exc:
                self.errors.append(f"{step.__name__.strip('_').replace('_', ' ')}: {exc}")

    # --- answers ------------------------------------------------------------------------------------------

    def objects_of(self, row: int) -> list[WaitObject]:
        return [self.objects[e.object_id] for e in self._edges.get(row, ())]

    def edges_of(self, row: int) -> list[WaitEdge]:
        return list(self._edges.get(row, ()))

    def object_ids(self) -> npt.NDArray[np.int32]:
        """Per goroutine row, the first object it waits on (-1: none); for grouping."""
        out = np.full(len(self.index), -1, dtype=np.int32)
        for row, edges in self._edges.items():
            out[row] = edges[0].object_id
        return out

    def waiters(self, object_id: int) -> list[int]:
        """Rows of the goroutines waiting on ``object_id``."""
        return [row for row, edges in self._edges.items() if any(e.object_id == object_id for e in edges)]

    # --- building -----------------------------------------------------------------------------------------

    def _object(self, obj: WaitObject) -> int:
        key = (obj.kind, obj.address)
        oid = self._object_ids.get(key)
        if oid is None:
            oid = self._object_ids[key] = len(self.objects)
            self.objects.append(obj)
        return oid

    def _add(self, row: int, obj: WaitObject, operation: str) -> None:
        edges = self._edges.setdefault(row, [])
        oid = self._object(obj)
        if all(e.object_id != oid for e in edges):
            edges.append(WaitEdge(oid, operation))

    def _rows_of(self, gs: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """Rows of the goroutines at addresses ``gs`` (-1 for an address that is no listed goroutine)."""
        if not len(self._sorted_g):
            return np.full(len(gs), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted_g, gs), len(self._sorted_g) - 1)
        return np.where(self._sorted_g[at] == gs, self._rows_by_g[at], -1)

    def _reason(self, name: str) -> int | None:
        return self.layouts.consts.get(name)

    # --- channels -----------------------------------------------------------------------------------------

    def _read_channels(self) -> None:
        L = self.layouts
        mem = self.mem
        waiting = self.index.waiting_sudogs
        rows = np.nonzero((waiting != 0) & self._waiting)[0]
        cur = waiting[rows]
        c_field = L.field("sudog.c")
        pair_rows: list[npt.NDArray[np.int64]] = []
        pair_chans: list[npt.NDArray[np.uint64]] = []
        for _ in range(_MAX_CHAIN):
            if not len(cur):
                break
            chans, ok = mem.gather(cur + np.uint64(c_field.offset), c_field.size)
            keep = ok & (chans != 0)
            pair_rows.append(rows[keep])
            pair_chans.append(chans[keep])
            nxt, ok2 = mem.gather(cur + np.uint64(L.off("sudog.waitlink")), 8)
            more = ok2 & (nxt != 0)
            rows, cur = rows[more], nxt[more]
        if not pair_rows:
            return
        all_rows = np.concatenate(pair_rows)
        all_chans = np.concatenate(pair_chans)
        receive, send, select = (
            self._reason("waitReasonChanReceive"),
            self._reason("waitReasonChanSend"),
            self._reason("waitReasonSelect"),
        )
        ops = {receive: "receive", send: "send", select: "select"}
        chans = {int(c): self._channel(int(c)) for c in np.unique(all_chans).tolist()}
        for row, chan in zip(all_rows.tolist(), all_chans.tolist(), strict=True):
            obj = chans[int(chan)]
            if obj is not None:
                self._add(int(row), obj, ops.get(int(self._reasons[row]), "wait"))

    def _channel(self, hchan: int) -> WaitObject | None:
        L = self.layouts
        mem = self.mem
        try:
            qcount = mem.uint(hchan + L.off("hchan.qcount"), L.field("hchan.qcount").size)
            dataqsiz = mem.uint(hchan + L.off("hchan.dataqsiz"), L.field("hchan.dataqsiz").size)
            closed = mem.uint(hchan + L.off("hchan.closed"), L.field("hchan.closed").size)
            elemtype = mem.u64(hchan + L.off("hchan.elemtype"))
        except MemoryError_ as exc:
            self._error(f"channel {hchan:#x} is unreadable: {exc}")
            return None
        type_name = "chan ?"
        if elemtype:
            try:
                type_name = "chan " + self.pcln.type_name(elemtype)
            except (MemoryError_, UnicodeError) as exc:
                self._error(f"the element type of channel {hchan:#x} is unreadable: {exc}")
        return WaitObject(KIND_CHAN, hchan, type_name, qcount, dataqsiz, closed != 0)

    def _error(self, message: str) -> None:
        if len(self.errors) < 50:
            self.errors.append(message)

    # --- semaphores ---------------------------------------------------------------------------------------

    def _read_semaphores(self) -> None:
        L = self.layouts
        mem = self.mem
        table = L.symbols.get("runtime.semtable")
        stride = L.semtable_stride
        if table is None or stride == 0:
            self._error("runtime.semtable is not in the binary: semaphore waits are not reported")
            return
        base = table[0] + self.index.load_bias
        size = L.const("semTabSize")
        roots, ok = mem.gather(
            np.arange(size, dtype=np.uint64) * np.uint64(stride) + np.uint64(base + L.off("semaRoot.treap")), 8
        )
        if not ok.all():
            raise MemoryError_("runtime.semtable is not in the core")
        frontier = roots[roots != 0]
        nodes: list[npt.NDArray[np.uint64]] = []
        seen = 0
        for _ in range(_MAX_CHAIN):
            if not len(frontier):
                break
            nodes.append(frontier)
            seen += len(frontier)
            left, _ = mem.gather(frontier + np.uint64(L.off("sudog.prev")), 8)
            right, _ = mem.gather(frontier + np.uint64(L.off("sudog.next")), 8)
            frontier = np.concatenate([left[left != 0], right[right != 0]])
        if not nodes:
            return
        cur = np.unique(np.concatenate(nodes))
        elem_field = L.field("sudog.elem")
        sudogs: list[npt.NDArray[np.uint64]] = []
        for _ in range(_MAX_CHAIN):
            if not len(cur):
                break
            sudogs.append(cur)
            nxt, ok = mem.gather(cur + np.uint64(L.off("sudog.waitlink")), 8)
            cur = nxt[ok & (nxt != 0)]
        every = np.concatenate(sudogs)
        gs, _ = mem.gather(every + np.uint64(L.off("sudog.g")), 8)
        semas, _ = mem.gather(every + np.uint64(elem_field.offset), elem_field.size)
        rows = self._rows_of(gs)
        for row, sema in zip(rows.tolist(), semas.tolist(), strict=True):
            if row >= 0 and self._waiting[row] and sema:
                obj, op = self._sync_object(int(row), int(sema))
                self._add(int(row), obj, op)

    def _sync_object(self, row: int, sema: int) -> tuple[WaitObject, str]:
        sync = self.layouts.sync
        reason = int(self._reasons[row])
        if reason == self._reason("waitReasonSyncMutexLock") and "mutex_sema" in sync:
            mutex = sema - sync["mutex_sema"]
            if "rw_w" in sync and self._stack_has(row, _RWMUTEX_LOCK):
                rw = mutex - sync["rw_w"]
                return WaitObject(KIND_RWMUTEX, rw, KIND_RWMUTEX, semaphore=sema), "lock"
            return WaitObject(KIND_MUTEX, mutex, KIND_MUTEX, semaphore=sema), "lock"
        if reason == self._reason("waitReasonSyncRWMutexRLock") and "rw_readerSem" in sync:
            rw = sema - sync["rw_readerSem"]
            return WaitObject(KIND_RWMUTEX, rw, KIND_RWMUTEX, semaphore=sema), "rlock"
        if reason == self._reason("waitReasonSyncRWMutexLock") and "rw_writerSem" in sync:
            rw = sema - sync["rw_writerSem"]
            return WaitObject(KIND_RWMUTEX, rw, KIND_RWMUTEX, semaphore=sema), "lock"
        if reason == self._reason("waitReasonSyncWaitGroupWait") and "wg_sema" in sync:
            wg = sema - sync["wg_sema"]
            return WaitObject(KIND_WAITGROUP, wg, KIND_WAITGROUP, semaphore=sema), "wait"
        return WaitObject(KIND_SEMAPHORE, sema, KIND_SEMAPHORE, semaphore=sema), "acquire"

    def _stack_has(self, row: int, function: str) -> bool:
        frames = self.index.stack(row) or ()
        return any(f.function == function for f in frames)

    # --- sync.Cond ----------------------------------------------------------------------------------------

    def _read_conds(self) -> None:
        L = self.layouts
        code = self._reason("waitReasonSyncCondWait")
        if code is None or not (L.has("cond.notify") and L.has("notifyList.head")):
            return
        rows = np.nonzero(self._waiting & (self._reasons == code))[0].tolist()
        pending = set(rows)
        tried: set[int] = set()
        for row in rows:
            if row not in pending:
                continue
            g = int(self.index.g_addresses[row])
            for candidate in self._cond_candidates(row):
                if candidate in tried:
                    continue
                tried.add(candidate)
                members = self._cond_waiters(candidate)
                if members is None or g not in members:
                    continue
                obj = WaitObject(KIND_COND, candidate, KIND_COND)
                for member_row in self._rows_of(np.array(sorted(members), dtype=np.uint64)).tolist():
                    if member_row in pending:
                        self._add(int(member_row), obj, "wait")
                        pending.discard(member_row)
                break
        if pending:
            self._error(f"{len(pending)} goroutine(s) in sync.Cond.Wait: their sync.Cond was not found")

    def _cond_candidates(self, row: int) -> Iterable[int]:
        """Words of the physical frame running ``sync.(*Cond).Wait`` (receiver spill slot first)."""
        frame = self._frame_of(row, _COND_FRAME)
        if frame is None:
            return
        sp, fp = frame
        mem = self.mem
        for addr in [fp + 8 * i for i in range(_SPILL_WORDS)] + list(range(sp, fp, 8)):
            try:
                word = mem.u64(addr)
            except MemoryError_:
                continue
            if word and word % 8 == 0:
                yield word

    def _frame_of(self, row: int, function: str) -> tuple[int, int] | None:
        """(sp, fp) of the physical frame of ``row``'s stack that runs ``function`` (maybe inlined)."""
        unwinder = self.unwinder
        pc, sp = self.index.unwind_start(row)
        trap = False
        for _ in range(4096):
            info = unwinder._phys_info((pc << 2) | (int(trap) << 1))
            if not info.valid:
                return None
            fp = sp + info.fp_delta
            if any(unwinder.frames[f].function == function for f in unwinder.physical[info.id]):
                return sp, fp
            if info.stop:
                return None
            try:
                lr = self.mem.u64(fp - 8)
            except MemoryError_:
                return None
            if lr == 0:
                return None
            pc, sp, trap = lr, fp, info.injected
        return None

    def _cond_waiters(self, cond: int) -> set[int] | None:
        """The goroutines (g addresses) on the notify list of the sync.Cond at ``cond``, or None if
        ``cond`` does not look like one (unreadable, or a sudog whose g is no goroutine of the core)."""
        L = self.layouts
        mem = self.mem
        try:
            node = mem.u64(cond + L.off("cond.notify") + L.off("notifyList.head"))
            members: set[int] = set()
            for _ in range(_MAX_COND_WAITERS):
                if node == 0:
                    break
                g = mem.u64(node + L.off("sudog.g"))
                if g not in self._g_set or g in members:
                    return None
                members.add(g)
                node = mem.u64(node + L.off("sudog.next"))
        except MemoryError_:
            return None
        return members or None
