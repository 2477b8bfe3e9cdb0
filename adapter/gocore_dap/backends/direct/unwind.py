"""Unwinding every goroutine's stack at once, as the runtime's traceback does (``runtime/traceback.go``).

One numpy step per depth level for all goroutines still being walked: their PCs are grouped
(``np.unique``) and each distinct (PC, trap, syscall) is resolved once through the pclntab into a
*physical frame*: the frame size (pcsp at the real PC), whether the walk stops after it (top frame,
SPWRITE, no pcsp), whether it is an injected call (sigpanic, asyncPreempt, debugCallV2: its caller's
PC is a trapping instruction, symbolised as is rather than PC-1), and its logical frames (the inline
tree at the symbolisation PC). Then all return addresses are gathered from the stacks in one go.

Stacks are interned as they grow: a goroutine's position is a node of a trie of physical frames, so
goroutines with the same stack end on the same node, and each distinct stack is expanded once.

Very deep stacks: the first ``INNER_LIMIT`` physical frames are kept; past them only the last
``OUTER_LIMIT`` are (like the runtime, which prints the innermost and outermost 50 and elides the
rest), and the walk gives up after ``WALK_LIMIT`` frames.
"""

from __future__ import annotations

from collections import deque
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from gocore_dap.backends.direct.errors import DirectReaderUnsupported
from gocore_dap.backends.direct.layouts import Layouts
from gocore_dap.backends.direct.memory import CoreMemory, MemoryError_
from gocore_dap.backends.direct.pclntab import FuncInfo, Pclntab

INNER_LIMIT: Final = 1024
OUTER_LIMIT: Final = 64
WALK_LIMIT: Final = 1_000_000
# Below this many goroutines still being walked, a plain Python loop beats numpy's per-call overhead.
_SCALAR_BELOW: Final = 8
_PTR: Final = 8
_PC_MASK: Final = (1 << 32) - 1
_MAX_NODES: Final = (1 << 29) - 1

# Why a walk ended early (UnwindResult.status); 0 = it reached the end of the stack.
STATUS_OK: Final = 0
STATUS_UNKNOWN_PC: Final = 1  # the first PC is in no function
STATUS_BAD_RETURN_PC: Final = 2  # a return address is in no function ("unexpected return pc")
STATUS_UNREADABLE: Final = 3  # a stack word is not in the core
STATUS_TRUNCATED: Final = 4  # WALK_LIMIT frames and still going
STATUS_STUCK: Final = 5  # the same frame twice ("traceback stuck")
STATUS_TEXT: Final = {
    STATUS_OK: "",
    STATUS_UNKNOWN_PC: "unknown pc",
    STATUS_BAD_RETURN_PC: "unexpected return pc",
    STATUS_UNREADABLE: "stack memory not in the core",
    STATUS_TRUNCATED: f"more than {WALK_LIMIT} frames, walk stopped",
    STATUS_STUCK: "traceback stuck",
}


@attrs.frozen
class Frame:
    """One logical frame: ``pc`` is its physical frame's PC (a return address, or the trapping PC),
    ``entry`` the physical function's entry (``pc - entry`` is the traceback's ``+0x..``)."""

    function: str
    file: str
    line: int
    pc: int
    entry: int
    inlined: bool
    start_line: int = 0  # line of the function's func keyword (0 if unknown)


@attrs.frozen
class Stack:
    """A distinct stack: frame ids innermost first; ``elided`` frames are missing at ``elided_at``."""

    frames: tuple[int, ...]
    elided: int = 0
    elided_at: int = -1


@attrs.frozen
class _Phys:
    valid: bool
    fp_delta: int = 0
    stop: bool = True
    injected: bool = False
    id: int = -1  # physical frame id (index into Unwinder.physical)


_INVALID: Final = _Phys(False)


@attrs.frozen
class UnwindResult:
    stack_ids: npt.NDArray[np.int32]
    status: npt.NDArray[np.int8]


class Unwinder:
    """Walks stacks; keeps the frame, physical-frame and stack tables across calls."""

    def __init__(self, mem: CoreMemory, pcln: Pclntab, layouts: Layouts) -> None:
        self.mem = mem
        self.pcln = pcln
        self._top = layouts.const("FuncFlagTopFrame")
        self._spwrite = layouts.const("FuncFlagSPWrite")
        self._cgocallback = layouts.const("FuncID_cgocallback")
        self._injected = frozenset(
            layouts.const(k) for k in ("FuncID_sigpanic", "FuncID_asyncPreempt", "FuncID_debugCallV2")
        )
        # Walk keys pack (trie node, PC offset in the text, trap, syscall) into 64 bits.
        self._minpc = pcln.minpc
        if pcln.maxpc - pcln.minpc > _PC_MASK:
            raise DirectReaderUnsupported(f"the program's text is {pcln.maxpc - pcln.minpc} bytes, over 4 GiB")
        self.frames: list[Frame] = []
        self._frame_ids: dict[Frame, int] = {}
        self.physical: list[tuple[int, ...]] = []  # physical frame id -> its logical frame ids
        self._physical_ids: dict[tuple[int, int], int] = {}  # (pc, trap) -> id
        self._phys: dict[int, _Phys] = {}
        self._node_ids: dict[tuple[int, int], int] = {}  # (parent node, physical id) -> node
        self._node_parent: list[int] = []
        self._node_phys: list[int] = []
        self.stacks: list[Stack] = []
        self._stack_ids: dict[Stack, int] = {}

    # --- frames -------------------------------------------------------------------------------------------

    def _frame_id(self, frame: Frame) -> int:
        fid = self._frame_ids.get(frame)
        if fid is None:
            fid = self._frame_ids[frame] = len(self.frames)
            self.frames.append(frame)
        return fid

    def _physical_id(self, f: FuncInfo, pc: int, trap: bool) -> int:
        key = (pc, trap)
        pid = self._physical_ids.get(key)
        if pid is None:
            # symPC: a return address is backed up into the CALL; a trapping PC or a PC at the entry is not.
            sym_pc = pc if trap or pc <= f.entry else pc - 1
            logical = self.pcln.logical_frames(f, sym_pc)
            ids = tuple(
                self._frame_id(Frame(lf.function, lf.file, lf.line, pc, f.entry, lf.inlined, lf.start_line))
                for lf in logical
            )
            pid = self._physical_ids[key] = len(self.physical)
            self.physical.append(ids)
        return pid

    def _phys_info(self, key: int) -> _Phys:
        info = self._phys.get(key)
        if info is None:
            info = self._phys[key] = self._resolve(key >> 2, bool(key & 2), bool(key & 1))
        return info

    def _resolve(self, pc: int, trap: bool, syscall: bool) -> _Phys:
        """``unwinder.resolveInternal`` for one (pc, trap, innermost-syscall) combination."""
        f = self.pcln.find_func(pc)
        if f is None or f.pcsp == 0:
            # No function, or no frame information (external code): the runtime ends the walk here
            # without printing the frame (finishInternal).
            return _INVALID
        flag = f.flag
        if f.func_id == self._cgocallback or syscall:
            # cgocallback keeps both stacks unwindable; a syscall frame is taken from the PC/SP saved
            # before any SP write.
            flag &= ~self._spwrite
        spdelta = self.pcln.spdelta(f, pc)
        stop = bool(flag & (self._top | self._spwrite)) or spdelta < 0
        return _Phys(
            valid=True,
            fp_delta=max(spdelta, 0) + _PTR,
            stop=stop,
            injected=f.func_id in self._injected,
            id=self._physical_id(f, pc, trap),
        )

    # --- the trie of stacks -------------------------------------------------------------------------------

    def _node(self, parent: int, phys: int) -> int:
        node = self._node_ids.get((parent, phys))
        if node is None:
            if len(self._node_parent) >= _MAX_NODES:
                raise DirectReaderUnsupported(f"more than {_MAX_NODES} distinct stack prefixes")
            node = self._node_ids[(parent, phys)] = len(self._node_parent)
            self._node_parent.append(parent)
            self._node_phys.append(phys)
        return node

    def _inner_physical(self, node: int) -> list[int]:
        out: list[int] = []
        while node >= 0:
            out.append(self._node_phys[node])
            node = self._node_parent[node]
        out.reverse()
        return out

    def _stack_id(self, node: int, outer: tuple[int, ...] = (), elided_logical: int = 0) -> int:
        inner = [fid for pid in self._inner_physical(node) for fid in self.physical[pid]]
        elided = 0
        elided_at = -1
        frames = inner
        if outer:
            frames = inner + [fid for pid in outer for fid in self.physical[pid]]
            if elided_logical:
                elided = elided_logical
                elided_at = len(inner)
        stack = Stack(tuple(frames), elided, elided_at)
        sid = self._stack_ids.get(stack)
        if sid is None:
            sid = self._stack_ids[stack] = len(self.stacks)
            self.stacks.append(stack)
        return sid

    # --- the walk -----------------------------------------------------------------------------------------

    def unwind(
        self, pcs: npt.NDArray[np.uint64], sps: npt.NDArray[np.uint64], syscall: npt.NDArray[np.bool_]
    ) -> UnwindResult:
        """Walk the stacks starting at (pc, sp); ``syscall`` marks starts taken from syscallpc/sp."""
        n = len(pcs)
        pc = np.array(pcs, dtype=np.uint64)
        sp = np.array(sps, dtype=np.uint64)
        status = np.zeros(n, dtype=np.int8)
        leaf = np.full(n, -1, dtype=np.int64)
        # A nil function call leaves PC 0; the caller's PC is at SP (initAt).
        zero = np.nonzero(pc == 0)[0]
        if len(zero):
            lr, ok = self.mem.gather(sp[zero], _PTR)
            pc[zero] = lr
            sp[zero] += np.uint64(_PTR)
            status[zero[~ok]] = STATUS_UNREADABLE
        act = np.nonzero(status == 0)[0]
        pc, sp = pc[act], sp[act]
        minpc, maxpc = np.uint64(self._minpc), np.uint64(self._minpc + _PC_MASK + 1)
        trap = np.zeros(len(act), dtype=np.uint64)
        sysc = np.asarray(syscall, dtype=np.uint64)[act]
        depth = 0
        deep: dict[int, tuple[int, int, int, deque[int], int]] = {}  # row -> walking state past INNER_LIMIT
        while len(act):
            if depth >= INNER_LIMIT or (len(act) < _SCALAR_BELOW and depth > 0):
                for i, row in enumerate(act.tolist()):
                    deep[row] = (int(pc[i]), int(sp[i]), int(trap[i]), deque(maxlen=OUTER_LIMIT), 0)
                break
            # PCs outside the module's text are in no function: the walk ends there.
            inside = (pc >= minpc) & (pc < maxpc)
            if not inside.all():
                status[act[~inside]] = STATUS_UNKNOWN_PC if depth == 0 else STATUS_BAD_RETURN_PC
                act, pc, sp, trap, sysc = act[inside], pc[inside], sp[inside], trap[inside], sysc[inside]
                if not len(act):
                    break
            # One sort per level: goroutines with the same trie node (stack so far) and the same
            # (PC, trap, syscall) share everything about this frame, its node in the trie included.
            key = (
                ((leaf[act] + 1).astype(np.uint64) << np.uint64(34))
                | ((pc - minpc) << np.uint64(2))
                | (trap << np.uint64(1))
                | sysc
            )
            uniq, inv = np.unique(key, return_inverse=True)
            inv = inv.reshape(-1)
            infos: list[_Phys] = []
            node_list: list[int] = []
            for k in uniq.tolist():
                info = self._phys_info((((k >> 2) & _PC_MASK) + self._minpc) << 2 | (k & 3))
                infos.append(info)
                node_list.append(self._node((k >> 34) - 1, info.id) if info.valid else -1)
            valid_u = np.array([p.valid for p in infos], dtype=bool)
            valid = valid_u[inv]
            if not valid.all():
                status[act[~valid]] = STATUS_UNKNOWN_PC if depth == 0 else STATUS_BAD_RETURN_PC
                act, pc, sp, inv = act[valid], pc[valid], sp[valid], inv[valid]
                if not len(act):
                    break
            fp_u = np.array([p.fp_delta for p in infos], dtype=np.uint64)
            stop_u = np.array([p.stop for p in infos], dtype=bool)
            inj_u = np.array([p.injected for p in infos], dtype=np.uint64)
            leaf[act] = np.array(node_list, dtype=np.int64)[inv]
            fp = sp + fp_u[inv]
            stop = stop_u[inv]
            lr, ok = self.mem.gather(fp - np.uint64(_PTR), _PTR)
            unreadable = ~ok & ~stop
            status[act[unreadable]] = STATUS_UNREADABLE
            stuck = (lr == pc) & (fp == sp)
            status[act[stuck & ~stop]] = STATUS_STUCK
            go_on = ~stop & ok & (lr != 0) & ~stuck
            act, pc, sp, trap = act[go_on], lr[go_on], fp[go_on], inj_u[inv][go_on]
            sysc = np.zeros(len(act), dtype=np.uint64)
            depth += 1
        stack_ids = np.empty(n, dtype=np.int32)
        by_leaf: dict[int, int] = {}
        finished = np.ones(n, dtype=bool)
        if deep:
            finished[np.fromiter(deep, dtype=np.int64, count=len(deep))] = False  # their leaf is not final
        leaves = np.unique(leaf[finished])
        for node in leaves.tolist():
            by_leaf[node] = self._stack_id(node)
        lookup = np.array([by_leaf[node] for node in leaves.tolist()], dtype=np.int32)
        stack_ids[finished] = lookup[np.searchsorted(leaves, leaf[finished])]
        for row, (rpc, rsp, rtrap, outer, _n) in deep.items():
            stack_ids[row], status[row] = self._walk_deep(int(leaf[row]), rpc, rsp, bool(rtrap), depth, outer)
        return UnwindResult(stack_ids, status)

    def _walk_deep(self, node: int, pc: int, sp: int, trap: bool, depth: int, outer: deque[int]) -> tuple[int, int]:
        """Finish one goroutine's walk frame by frame; past INNER_LIMIT only the outermost frames are kept."""
        status = STATUS_OK
        elided = 0
        mem = self.mem
        while True:
            info = self._phys_info((pc << 2) | (int(trap) << 1))
            if not info.valid:
                status = STATUS_BAD_RETURN_PC if depth > 0 else STATUS_UNKNOWN_PC
                break
            if depth < INNER_LIMIT:
                node = self._node(node, info.id)
            else:
                if len(outer) == outer.maxlen:
                    elided += len(self.physical[outer[0]])
                outer.append(info.id)
            depth += 1
            if info.stop:
                break
            if depth >= WALK_LIMIT:
                status = STATUS_TRUNCATED
                break
            fp = sp + info.fp_delta
            try:
                lr = mem.u64(fp - _PTR)
            except MemoryError_:
                status = STATUS_UNREADABLE
                break
            if lr == 0:
                break
            if lr == pc and fp == sp:
                status = STATUS_STUCK
                break
            pc, sp, trap = lr, fp, info.injected
        return self._stack_id(node, tuple(outer), elided), status
