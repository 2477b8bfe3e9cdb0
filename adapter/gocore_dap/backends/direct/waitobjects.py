"""What each blocked goroutine waits on: channels, sync objects, semaphores, condition variables.

* Channels: a goroutine blocked in a channel operation or a select has its ``sudog`` records on
  ``g.waiting`` (linked by ``waitlink``), each naming the channel (``sudog.c``).
* Semaphores: ``sync.Mutex``, ``RWMutex`` and ``WaitGroup`` park through ``runtime.semacquire1``,
  which files the goroutine's sudog under the semaphore's address (``sudog.elem``). Since Go 1.26 the
  sudog is also on ``g.waiting``; before, it is found in ``runtime.semtable`` (251 treaps of sudogs,
  one node per address, further waiters on ``waitlink``). The wait reason says which sync type
  parked, and the DWARF offsets of the semaphore word inside that type map the address back to the
  object (``Mutex.sema``, ``RWMutex.readerSem`` / ``writerSem`` / ``w``, ``WaitGroup.sema``). A writer
  queued on an RWMutex's inner mutex waits for "sync.Mutex.Lock" too; its stack
  (``sync.(*RWMutex).Lock``) tells it apart. Other semaphores (e.g. a netpoll fd lock) are reported as
  "semaphore" at the semaphore's address.
* ``sync.Cond``: since Go 1.26 ``g.waiting``'s sudog names the Cond's notify list. Before, the sudog
  is only on the Cond's own list and nothing in the ``g`` points to it: the Cond is found from the
  goroutine's ``sync.(*Cond).Wait`` frame, each word of which (and of its argument spill slots, where
  the receiver is) is tried as a ``*sync.Cond`` and accepted only if that Cond's notify list holds this
  goroutine -- a candidate that is not a Cond fails that check, so no guess is ever reported. One
  accepted Cond assigns every goroutine on its list at once.

Everything is read once, on first use, into arrays of (goroutine row, object id, operation) edges.
"""

from __future__ import annotations

import functools
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
    """One goroutine waiting on one object, and how (one of :data:`OPERATIONS`)."""

    object_id: int
    operation: str


OPERATIONS: Final = ("receive", "send", "select", "lock", "rlock", "wait", "acquire")
_OP: Final = {name: i for i, name in enumerate(OPERATIONS)}
_KINDS: Final = (KIND_CHAN, KIND_MUTEX, KIND_RWMUTEX, KIND_WAITGROUP, KIND_COND, KIND_SEMAPHORE)


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
        self.errors: list[str] = []
        n = len(index)
        self._rows_by_g = np.argsort(index.g_addresses)
        self._sorted_g = index.g_addresses[self._rows_by_g]
        self._waiting = index.statuses == np.uint32(layouts.const("_Gwaiting"))
        self._reasons = index.wait_reasons
        self._resolved = np.zeros(n, dtype=bool)
        self._parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]] = []
        for step in (self._read_waiting, self._read_semaphores, self._read_conds):
            try:
                step()
            except MemoryError_ as exc:
                self._error(f"{step.__name__.strip('_').replace('_', ' ')}: {exc}")
        self._finish(n)

    # --- answers ------------------------------------------------------------------------------------------

    def edges_of(self, row: int) -> list[WaitEdge]:
        lo, hi = int(self._row_ptr[row]), int(self._row_ptr[row + 1])
        return [
            WaitEdge(int(o), OPERATIONS[int(op)])
            for o, op in zip(self._edge_obj[lo:hi].tolist(), self._edge_op[lo:hi].tolist(), strict=True)
        ]

    def objects_of(self, row: int) -> list[WaitObject]:
        lo, hi = int(self._row_ptr[row]), int(self._row_ptr[row + 1])
        return [self.objects[o] for o in self._edge_obj[lo:hi].tolist()]

    def object_ids(self) -> npt.NDArray[np.int32]:
        """Per goroutine row, the first object it waits on (-1: none); for grouping."""
        out = np.full(len(self._row_ptr) - 1, -1, dtype=np.int32)
        has = self._row_ptr[1:] > self._row_ptr[:-1]
        out[has] = self._edge_obj[self._row_ptr[:-1][has]]
        return out

    def edges(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int8]]:
        """All (row, object id, operation index) edges, sorted by row."""
        return self._edge_row, self._edge_obj, self._edge_op

    def waiters(self, object_id: int) -> npt.NDArray[np.int64]:
        """Rows of the goroutines waiting on ``object_id``."""
        return np.unique(self._edge_row[self._edge_obj == object_id])

    # --- building -----------------------------------------------------------------------------------------

    def _object(self, obj: WaitObject) -> int:
        key = (obj.kind, obj.address)
        oid = self._object_ids.get(key)
        if oid is None:
            oid = self._object_ids[key] = len(self.objects)
            self.objects.append(obj)
        return oid

    def _add(self, rows: npt.NDArray[np.int64], oids: npt.NDArray[np.int64], ops: npt.NDArray[np.int64]) -> None:
        keep = oids >= 0
        rows, oids, ops = rows[keep], oids[keep], ops[keep]
        if len(rows):
            self._parts.append((rows.astype(np.int64), oids.astype(np.int64), ops.astype(np.int64)))
            self._resolved[rows] = True

    def _finish(self, n: int) -> None:
        if self._parts:
            rows = np.concatenate([p[0] for p in self._parts])
            oids = np.concatenate([p[1] for p in self._parts])
            ops = np.concatenate([p[2] for p in self._parts])
        else:
            rows = oids = ops = np.zeros(0, dtype=np.int64)
        # One edge per (goroutine, object), the first found; edges of a goroutine in the order found.
        key = rows * np.int64(len(self.objects) + 1) + oids
        _, first = np.unique(key, return_index=True)
        first.sort()
        order = first[np.argsort(rows[first], kind="stable")]
        self._edge_row = rows[order]
        self._edge_obj = oids[order].astype(np.int32)
        self._edge_op = ops[order].astype(np.int8)
        self._row_ptr = np.searchsorted(self._edge_row, np.arange(n + 1, dtype=np.int64))
        self._parts = []

    def _rows_of(self, gs: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """Rows of the goroutines at addresses ``gs`` (-1 for an address that is no listed goroutine)."""
        if not len(self._sorted_g):
            return np.full(len(gs), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted_g, gs), len(self._sorted_g) - 1)
        return np.where(self._sorted_g[at] == gs, self._rows_by_g[at], -1)

    def _reason(self, name: str) -> int | None:
        return self.layouts.consts.get(name)

    def _error(self, message: str) -> None:
        if len(self.errors) < 50:
            self.errors.append(message)

    # --- g.waiting: channels (all Go versions), semaphores and notify lists (Go 1.26+) --------------------

    def _read_waiting(self) -> None:
        """Objects named by each goroutine's ``g.waiting`` sudogs.

        A channel operation or select links one sudog per channel (``sudog.c``) through ``waitlink``.
        Since Go 1.26 a semaphore or notify-list wait also records its sudog there, with the semaphore
        (or the Cond's notify list) as ``sudog.elem`` and no channel; there ``waitlink`` belongs to the
        semaphore's own queue and is not followed.
        """
        L = self.layouts
        mem = self.mem
        waiting = self.index.waiting_sudogs
        rows = np.nonzero((waiting != 0) & self._waiting)[0]
        first = waiting[rows]
        c_field = L.field("sudog.c")
        elem_field = L.field("sudog.elem")
        chans, ok = mem.gather(first + np.uint64(c_field.offset), c_field.size)
        elems, _ = mem.gather(first + np.uint64(elem_field.offset), elem_field.size)
        is_chan = ok & (chans != 0)
        self._read_channel_chains(rows[is_chan], first[is_chan])
        other = ok & ~is_chan & (elems != 0)
        rows, elems = rows[other], elems[other]
        cond_code = self._reason("waitReasonSyncCondWait")
        is_cond = self._reasons[rows] == (cond_code if cond_code is not None else -1)
        self._add_sync(rows[~is_cond], elems[~is_cond])
        if is_cond.any() and L.has("cond.notify"):
            cond_rows, lists = rows[is_cond], elems[is_cond]
            for notify_list in np.unique(lists).tolist():
                cond = int(notify_list) - L.off("cond.notify")
                members = cond_rows[lists == notify_list]
                waiters = self._cond_waiters(cond)
                if waiters is None:
                    continue
                on_list = np.isin(self.index.g_addresses[members], np.fromiter(waiters, dtype=np.uint64))
                oid = self._object(WaitObject(KIND_COND, cond, KIND_COND))
                found = members[on_list]
                self._add(found, np.full(len(found), oid), np.full(len(found), _OP["wait"]))

    def _read_channel_chains(self, rows: npt.NDArray[np.int64], cur: npt.NDArray[np.uint64]) -> None:
        L = self.layouts
        mem = self.mem
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
        uniq, inv = np.unique(all_chans, return_inverse=True)
        oids = np.array(
            [self._object(obj) if (obj := self._channel(int(c))) is not None else -1 for c in uniq.tolist()],
            dtype=np.int64,
        )[inv.reshape(-1)]
        op_of = np.full(256, _OP["wait"], dtype=np.int64)
        for name, op in (("waitReasonChanReceive", "receive"), ("waitReasonChanSend", "send"),
                         ("waitReasonSelect", "select")):  # fmt: skip
            code = self._reason(name)
            if code is not None and 0 <= code < 256:
                op_of[code] = _OP[op]
        self._add(all_rows, oids, op_of[self._reasons[all_rows]])

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

    # --- semaphores ---------------------------------------------------------------------------------------

    def _read_semaphores(self) -> None:
        """Semaphore waiters not found through ``g.waiting`` (before Go 1.26): walk ``runtime.semtable``."""
        L = self.layouts
        mem = self.mem
        unresolved = self._waiting & ~self._resolved
        sema_reasons = [
            code
            for name in ("waitReasonSyncMutexLock", "waitReasonSyncRWMutexRLock", "waitReasonSyncRWMutexLock",
                         "waitReasonSyncWaitGroupWait", "waitReasonSemacquire")
            if (code := self._reason(name)) is not None
        ]  # fmt: skip
        if sema_reasons and not (unresolved & np.isin(self._reasons, sema_reasons)).any():
            return
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
        # The treaps: one node per semaphore address, children in prev/next.
        frontier = roots[roots != 0]
        nodes: list[npt.NDArray[np.uint64]] = []
        for _ in range(_MAX_CHAIN):
            if not len(frontier):
                break
            nodes.append(frontier)
            left, _ = mem.gather(frontier + np.uint64(L.off("sudog.prev")), 8)
            right, _ = mem.gather(frontier + np.uint64(L.off("sudog.next")), 8)
            frontier = np.concatenate([left[left != 0], right[right != 0]])
        if not nodes:
            return
        # Every waiter on an address: the node, then its waitlink queue.
        sudogs = self._chains(np.unique(np.concatenate(nodes)), L.off("sudog.waitlink"))
        elem_field = L.field("sudog.elem")
        gs, _ = mem.gather(sudogs + np.uint64(L.off("sudog.g")), 8)
        semas, _ = mem.gather(sudogs + np.uint64(elem_field.offset), elem_field.size)
        rows = self._rows_of(gs)
        found = rows >= 0
        found[found] &= unresolved[rows[found]]
        found &= semas != 0
        self._add_sync(rows[found], semas[found])

    def _chains(self, heads: npt.NDArray[np.uint64], link: int) -> npt.NDArray[np.uint64]:
        """Every element of the linked lists starting at ``heads`` (next pointer at offset ``link``).

        Lists are walked together while many are left, then one by one: a mutex with 10,000 waiters
        is one list of 10,000, where a numpy step per element would cost more than a Python loop.
        """
        mem = self.mem
        out: list[npt.NDArray[np.uint64]] = []
        cur = heads
        for _ in range(_MAX_CHAIN):
            if len(cur) < 32:
                break
            out.append(cur)
            nxt, ok = mem.gather(cur + np.uint64(link), 8)
            cur = nxt[ok & (nxt != 0)]
        tail: list[int] = []
        for node in cur.tolist():
            for _ in range(_MAX_COND_WAITERS):
                if node == 0:
                    break
                tail.append(node)
                try:
                    node = mem.u64(node + link)
                except MemoryError_:
                    break
        out.append(np.array(tail, dtype=np.uint64))
        return np.concatenate(out)

    def _add_sync(self, rows: npt.NDArray[np.int64], semas: npt.NDArray[np.uint64]) -> None:
        """Edges from goroutines blocked on semaphores, each semaphore mapped back to its sync object
        by the wait reason and the DWARF offset of the semaphore word in that type."""
        if not len(rows):
            return
        sync = self.layouts.sync
        reasons = self._reasons[rows].astype(np.int64)
        sema = semas.astype(np.int64)
        kind = np.full(len(rows), _KINDS.index(KIND_SEMAPHORE), dtype=np.int64)
        addr = sema.copy()
        op = np.full(len(rows), _OP["acquire"], dtype=np.int64)

        def where(reason: str, key: str) -> npt.NDArray[np.bool_]:
            code = self._reason(reason)
            if code is None or key not in sync:
                return np.zeros(len(rows), dtype=bool)
            mask: npt.NDArray[np.bool_] = reasons == code
            return mask

        mutex = where("waitReasonSyncMutexLock", "mutex_sema")
        if mutex.any():
            kind[mutex] = _KINDS.index(KIND_MUTEX)
            addr[mutex] = sema[mutex] - sync["mutex_sema"]
            op[mutex] = _OP["lock"]
            if "rw_w" in sync:
                # A writer queued behind another writer waits on the RWMutex's inner Mutex.
                stacks = self.index.stack_ids[rows[mutex]]
                writer_stacks = [sid for sid in np.unique(stacks).tolist() if self._stack_has(sid, _RWMUTEX_LOCK)]
                writer = np.zeros(len(rows), dtype=bool)
                writer[np.nonzero(mutex)[0][np.isin(stacks, writer_stacks)]] = True
                kind[writer] = _KINDS.index(KIND_RWMUTEX)
                addr[writer] -= sync["rw_w"]
        for reason_name, key, kind_name, operation in (
            ("waitReasonSyncRWMutexRLock", "rw_readerSem", KIND_RWMUTEX, "rlock"),
            ("waitReasonSyncRWMutexLock", "rw_writerSem", KIND_RWMUTEX, "lock"),
            ("waitReasonSyncWaitGroupWait", "wg_sema", KIND_WAITGROUP, "wait"),
        ):
            mask = where(reason_name, key)
            kind[mask] = _KINDS.index(kind_name)
            addr[mask] = sema[mask] - sync[key] if mask.any() else addr[mask]
            op[mask] = _OP[operation]
        # The object follows from (kind, semaphore); user-space addresses leave the top bits free.
        object_key = (semas.astype(np.uint64) << np.uint64(3)) | kind.astype(np.uint64)
        _, first, inv = np.unique(object_key, return_index=True, return_inverse=True)
        oids = np.array(
            [
                self._object(WaitObject(_KINDS[kind[i]], int(addr[i]), _KINDS[kind[i]], semaphore=int(sema[i])))
                for i in first.tolist()
            ],
            dtype=np.int64,
        )
        self._add(rows, oids[inv.reshape(-1)], op)

    def _stack_has(self, stack_id: int, function: str) -> bool:
        if stack_id < 0:
            return False
        return any(f.function == function for f in self.index.frames(stack_id))

    # --- sync.Cond ----------------------------------------------------------------------------------------

    def _read_conds(self) -> None:
        L = self.layouts
        code = self._reason("waitReasonSyncCondWait")
        if code is None or not (L.has("cond.notify") and L.has("notifyList.head")):
            return
        rows = np.nonzero(self._waiting & ~self._resolved & (self._reasons == code))[0].tolist()
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
                oid = self._object(WaitObject(KIND_COND, candidate, KIND_COND))
                found = [r for r in self._rows_of(np.array(sorted(members), dtype=np.uint64)).tolist() if r in pending]
                pending.difference_update(found)
                self._add(np.array(found, dtype=np.int64), np.full(len(found), oid), np.full(len(found), _OP["wait"]))
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

    @functools.cached_property
    def _g_set(self) -> set[int]:
        return set(self.index.g_addresses.tolist())

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
                if g in members or g not in self._g_set:
                    return None
                members.add(g)
                node = mem.u64(node + L.off("sudog.next"))
        except MemoryError_:
            return None
        return members or None
