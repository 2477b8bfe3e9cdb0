"""The goroutine index: every goroutine of a core, read straight from its memory, in columns.

:func:`open_index` maps the core, takes the runtime's layouts from the binary's DWARF (cached per
build ID), reads ``runtime.allgs``, and unwinds every stack through the pclntab (:mod:`.unwind`). The
result is columnar -- one numpy array per field, with interned frame and stack tables -- so that a
million goroutines fit, and grouping by stack is a ``np.unique`` over ``stack_ids``.

Which goroutines: those the runtime's traceback prints (``tracebackothers``): every entry of
``allgs`` except ``_Gdead`` (and Go 1.26's ``_Gdeadextra``), system goroutines included (as with
GOTRACEBACK=crash and Delve). Goroutines running on a thread when the process died have a stale
saved context; their stacks are left to Delve (``stack_from_delve``), unless they are in a system
call, whose saved PC/SP the runtime itself uses.

Wait objects (channels, semaphores mapped back to their ``sync`` object, ``sync.Cond``; see
:mod:`.waitobjects`) are read on first use (:meth:`GoroutineIndex.wait_objects`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from gocore_dap.backends.direct.binary import GoBinary
from gocore_dap.backends.direct.errors import DirectReaderUnsupported
from gocore_dap.backends.direct.labels import LabelReader
from gocore_dap.backends.direct.layouts import Layouts, load_layouts
from gocore_dap.backends.direct.memory import CoreMemory, MemoryError_
from gocore_dap.backends.direct.pclntab import Pclntab
from gocore_dap.backends.direct.unwind import STATUS_TEXT, Frame, Stack, Unwinder
from gocore_dap.backends.direct.waitobjects import WaitObject, WaitObjectReader
from gocore_dap.preflight.elf import (
    AT_ENTRY,
    EM_X86_64,
    NT_AUXV,
    NT_PRSTATUS,
    PT_NOTE,
    decode_auxv,
    decode_prstatus,
    machine_name,
)

__all__ = ["Creator", "GoroutineIndex", "Location", "Thread", "open_index"]

Progress = Callable[[str], None]
_MAX_GOROUTINES: Final = 50_000_000
# Goroutines read and unwound per batch: the core pages one batch touches are released before the next,
# which bounds the peak RSS (the kernel maps up to 16 neighbouring pages per page touched); fewer
# batches cost less numpy overhead per step.
_BATCH: Final = 16_384


@attrs.frozen
class Location:
    """A function at a PC, with the file and line the runtime would print for it."""

    pc: int
    function: str
    file: str
    line: int
    entry: int  # 0 for a function that only exists inlined
    wrapper: bool = False  # a compiler-generated wrapper (e.g. the closure a `go f(x)` statement runs)


@attrs.frozen
class Creator:
    """The traceback's ``created by FUNCTION in goroutine PARENT`` line and the ``go`` statement's PC."""

    location: Location
    parent_goid: int  # 0 when the runtime did not record one


@attrs.frozen
class Thread:
    """An OS thread of the process (an NT_PRSTATUS note) and the M running on it, if known."""

    lwp: int
    pc: int | None
    sp: int | None
    m_id: int | None
    goid: int | None  # m.curg's id, if any


class GoroutineIndex:
    """All goroutines of one core. Row order is ``runtime.allgs`` order (the traceback's order).

    Columns (numpy arrays, one element per goroutine row): :attr:`goids`, :attr:`statuses` (scan bit
    masked), :attr:`raw_statuses`, :attr:`wait_reasons`, :attr:`wait_since`, :attr:`g_addresses`,
    :attr:`m_ids` (-1: no M), :attr:`lwps` (0: none), :attr:`locked_to_thread`, :attr:`stack_ids`
    (-1: left to Delve, see :attr:`stack_from_delve`), :attr:`stack_status`, :attr:`parent_goids`,
    :attr:`creator_pcs`, :attr:`creator_ids`, :attr:`start_pcs`, :attr:`start_ids`,
    :attr:`label_ids` (-1: no labels).
    """

    def __init__(
        self,
        *,
        binary: GoBinary,
        mem: CoreMemory,
        layouts: Layouts,
        pcln: Pclntab,
        unwinder: Unwinder,
        go_version: str,
        load_bias: int,
        columns: Mapping[str, npt.NDArray[np.generic]],
        wait_reason_strings: Sequence[str],
        status_strings: Sequence[str],
        creators: Sequence[Creator | None],
        starts: Sequence[Location | None],
        label_sets: Sequence[Mapping[str, str]],
        label_errors: Sequence[str],
        threads: Sequence[Thread],
        timings: dict[str, float],
    ) -> None:
        self._binary = binary
        self._mem = mem
        self.layouts = layouts
        self._pcln = pcln
        self._unwinder = unwinder
        self.go_version = go_version
        self.load_bias = load_bias  # PIE: runtime address = address in the executable + load_bias
        self.wait_reason_strings: tuple[str, ...] = tuple(wait_reason_strings)
        self.status_strings: tuple[str, ...] = tuple(status_strings)
        self.goids: npt.NDArray[np.int64] = columns["goid"]  # type: ignore[assignment]
        self.statuses: npt.NDArray[np.uint32] = columns["status"]  # type: ignore[assignment]
        self.raw_statuses: npt.NDArray[np.uint32] = columns["raw_status"]  # type: ignore[assignment]
        self.wait_reasons: npt.NDArray[np.uint8] = columns["wait_reason"]  # type: ignore[assignment]
        self.wait_since: npt.NDArray[np.int64] = columns["wait_since"]  # type: ignore[assignment]
        self.g_addresses: npt.NDArray[np.uint64] = columns["g"]  # type: ignore[assignment]
        self.m_ids: npt.NDArray[np.int64] = columns["m_id"]  # type: ignore[assignment]
        self.lwps: npt.NDArray[np.int64] = columns["lwp"]  # type: ignore[assignment]
        self.locked_to_thread: npt.NDArray[np.bool_] = columns["locked"]  # type: ignore[assignment]
        self.stack_ids: npt.NDArray[np.int32] = columns["stack_id"]  # type: ignore[assignment]
        self.stack_status: npt.NDArray[np.int8] = columns["stack_status"]  # type: ignore[assignment]
        self.stack_from_delve: npt.NDArray[np.bool_] = columns["from_delve"]  # type: ignore[assignment]
        self.parent_goids: npt.NDArray[np.int64] = columns["parent_goid"]  # type: ignore[assignment]
        self.creator_pcs: npt.NDArray[np.uint64] = columns["creator_pc"]  # type: ignore[assignment]
        self.creator_ids: npt.NDArray[np.int32] = columns["creator_id"]  # type: ignore[assignment]
        self.start_pcs: npt.NDArray[np.uint64] = columns["start_pc"]  # type: ignore[assignment]
        self.start_ids: npt.NDArray[np.int32] = columns["start_id"]  # type: ignore[assignment]
        self.label_ids: npt.NDArray[np.int32] = columns["label_id"]  # type: ignore[assignment]
        self._waiting: npt.NDArray[np.uint64] = columns["waiting"]  # type: ignore[assignment]
        self._sched_pc: npt.NDArray[np.uint64] = columns["start_unwind_pc"]  # type: ignore[assignment]
        self._sched_sp: npt.NDArray[np.uint64] = columns["start_unwind_sp"]  # type: ignore[assignment]
        self.creators: tuple[Creator | None, ...] = tuple(creators)
        self.starts: tuple[Location | None, ...] = tuple(starts)
        self.label_sets: tuple[Mapping[str, str], ...] = tuple(label_sets)
        self.label_errors: tuple[str, ...] = tuple(label_errors)
        self.threads: tuple[Thread, ...] = tuple(threads)
        self.timings = timings
        # Entries of runtime.allgs whose g is not in the core (a truncated core); not in the index.
        self.unreadable_goroutines = int(columns["unreadable"][0])
        order = np.argsort(self.goids, kind="stable")
        self._sorted_goids = self.goids[order]
        self._sorted_rows = order
        self._wait: WaitObjectReader | None = None

    # --- lifetime -----------------------------------------------------------------------------------------

    def close(self) -> None:
        self._mem.close()
        self._binary.close()

    def __enter__(self) -> GoroutineIndex:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- rows ---------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.goids)

    def row(self, goid: int) -> int:
        """The row of goroutine ``goid``; KeyError if the index has no such goroutine."""
        i = int(np.searchsorted(self._sorted_goids, goid))
        if i < len(self._sorted_goids) and int(self._sorted_goids[i]) == goid:
            return int(self._sorted_rows[i])
        raise KeyError(goid)

    def rows(self) -> Iterator[int]:
        return iter(range(len(self.goids)))

    # --- state --------------------------------------------------------------------------------------------

    def status_text(self, row: int) -> str:
        """The status as ``gStatusStrings`` names it ("waiting", "running", ...)."""
        status = int(self.statuses[row])
        return self.status_strings[status] if status < len(self.status_strings) else "???"

    def wait_reason_text(self, code: int) -> str:
        if code < len(self.wait_reason_strings):
            return self.wait_reason_strings[code]
        return "unknown wait reason"

    def state_text(self, row: int) -> str:
        """What the traceback prints between the brackets first: the wait reason of a waiting (or
        leaked) goroutine, else its status (``goroutineheader``)."""
        status = int(self.statuses[row])
        reason = int(self.wait_reasons[row])
        if status in self._reason_statuses and reason != self.layouts.consts.get("waitReasonZero", 0):
            return self.wait_reason_text(reason)
        return self.status_text(row)

    @property
    def _reason_statuses(self) -> frozenset[int]:
        statuses = {self.layouts.const("_Gwaiting")}
        if "_Gleaked" in self.layouts.consts:
            statuses.add(self.layouts.consts["_Gleaked"])
        return frozenset(statuses)

    # --- stacks -------------------------------------------------------------------------------------------

    @property
    def frame_table(self) -> Sequence[Frame]:
        """Every distinct frame; stacks refer to frames by index into this table."""
        return self._unwinder.frames

    @property
    def stack_table(self) -> Sequence[Stack]:
        """Every distinct stack (``stack_ids`` index into it)."""
        return self._unwinder.stacks

    def frames(self, stack_id: int) -> list[Frame]:
        """The frames of stack ``stack_id``, innermost first."""
        table = self._unwinder.frames
        return [table[f] for f in self._unwinder.stacks[stack_id].frames]

    def line_stack_ids(self) -> npt.NDArray[np.int32]:
        """Per row, an id shared by goroutines whose stacks show the same frames (function, file, line,
        inlined), ignoring PCs: two calls on one line give one group. -1 where the stack is Delve's."""
        keys: dict[tuple[tuple[str, str, int, bool], ...], int] = {}
        table = self._unwinder.frames
        by_stack = np.array(
            [
                keys.setdefault(
                    tuple((table[f].function, table[f].file, table[f].line, table[f].inlined) for f in s.frames)
                    + ((("...", "", s.elided, False),) if s.elided else ()),
                    len(keys),
                )
                for s in self._unwinder.stacks
            ]
            + [-1],
            dtype=np.int32,
        )
        return by_stack[self.stack_ids]  # -1 indexes the trailing -1

    def stack(self, row: int) -> list[Frame] | None:
        """Goroutine ``row``'s frames, innermost first; None when its stack is left to Delve."""
        sid = int(self.stack_ids[row])
        return None if sid < 0 else self.frames(sid)

    def location(self, pc: int) -> Location | None:
        """The physical function holding ``pc`` and the file/line of ``pc`` itself (not ``pc - 1``)."""
        f = self._pcln.find_func(pc)
        if f is None:
            return None
        file, line = self._pcln.file_line(f, pc)
        return Location(pc, f.name, file, line, f.entry, f.func_id == self.layouts.consts.get("FuncIDWrapper"))

    def stack_error(self, row: int) -> str:
        """Why the walk of ``row``'s stack ended early ("" if it reached the end)."""
        return STATUS_TEXT.get(int(self.stack_status[row]), "")

    # --- other per-goroutine facts ------------------------------------------------------------------------

    def labels(self, row: int) -> Mapping[str, str]:
        lid = int(self.label_ids[row])
        return self.label_sets[lid] if lid >= 0 else {}

    def creator(self, row: int) -> Creator | None:
        cid = int(self.creator_ids[row])
        return self.creators[cid] if cid >= 0 else None

    def start_function(self, row: int) -> Location | None:
        sid = int(self.start_ids[row])
        return self.starts[sid] if sid >= 0 else None

    def wait_objects(self, row: int) -> list[WaitObject]:
        """What goroutine ``row`` is blocked on: channels, sync objects, semaphores (read on first use)."""
        return self.wait_object_reader().objects_of(row)

    def wait_object_reader(self) -> WaitObjectReader:
        if self._wait is None:
            started = time.perf_counter()
            self._wait = WaitObjectReader(self, self._mem, self.layouts, self._pcln, self._unwinder)
            self._mem.release()
            self.timings["wait_objects"] = time.perf_counter() - started
        return self._wait

    def unwind_start(self, row: int) -> tuple[int, int]:
        """The (pc, sp) the stack walk of ``row`` started from."""
        return int(self._sched_pc[row]), int(self._sched_sp[row])

    @property
    def waiting_sudogs(self) -> npt.NDArray[np.uint64]:
        """``g.waiting`` of each goroutine (0 if none)."""
        return self._waiting


# --- opening ----------------------------------------------------------------------------------------------


def open_index(program: Path, core: Path, *, progress: Progress | None = None) -> GoroutineIndex:
    """Read every goroutine of ``core`` (a core dump of ``program``) and unwind its stack.

    Raises :class:`DirectReaderUnsupported` for anything the direct reader cannot read (another
    architecture, an unknown pclntab version, a missing DWARF type or symbol, unreadable runtime
    structures); the caller then uses Delve and can say why.
    """
    say = progress or (lambda _message: None)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    binary = GoBinary(Path(program))
    mem: CoreMemory | None = None
    try:
        if binary.machine != EM_X86_64:
            raise DirectReaderUnsupported(
                f"the program is for {machine_name(binary.machine)}; the direct reader reads amd64 programs only"
            )
        say("reading the runtime's layouts")
        layouts = load_layouts(binary)
        lap("layouts")
        notes = _core_notes(Path(core))
        bias = 0
        if binary.is_pie:
            entry = notes.auxv.get(AT_ENTRY)
            if entry is None:
                raise DirectReaderUnsupported("the core has no AT_ENTRY in its auxiliary vector (PIE load bias)")
            bias = entry - binary.entry
        mem = CoreMemory(Path(core), binary.file_map, binary.load_segments(), bias)
        _check_same_program(mem, binary, bias)
        say("reading the symbol table")
        symbols = {name: (addr + bias, size) for name, (addr, size) in layouts.symbols.items()}
        pcln = Pclntab(mem, layouts, symbols["runtime.firstmoduledata"][0])
        go_version = _go_version(mem, symbols)
        wait_reasons = _string_table(mem, symbols.get("runtime.waitReasonStrings"))
        status_strings = _string_table(mem, symbols.get("runtime.gStatusStrings"))
        lap("pclntab")
        say("reading goroutines")
        columns, g_fields = _read_goroutines(mem, layouts, symbols)
        lap("goroutines")
        threads, m_columns = _read_threads(mem, layouts, symbols, notes.threads, g_fields["m"])
        columns.update(m_columns)
        lap("threads")
        say(f"unwinding {len(columns['goid'])} stacks")
        unwinder = Unwinder(mem, pcln, layouts)
        starts_pc, starts_sp, syscall, from_delve = _unwind_starts(layouts, columns, g_fields, m_columns)
        columns["start_unwind_pc"] = starts_pc
        columns["start_unwind_sp"] = starts_sp
        columns["from_delve"] = from_delve
        todo = np.nonzero(~from_delve)[0]
        stack_ids = np.full(len(from_delve), -1, dtype=np.int32)
        stack_status = np.zeros(len(from_delve), dtype=np.int8)
        mem.release()
        for lo in range(0, len(todo), _BATCH):
            batch = todo[lo : lo + _BATCH]
            result = unwinder.unwind(starts_pc[batch], starts_sp[batch], syscall[batch])
            stack_ids[batch] = result.stack_ids
            stack_status[batch] = result.status
            mem.release()
        columns["stack_id"] = stack_ids
        columns["stack_status"] = stack_status
        lap("unwind")
        creators, columns["creator_id"] = _creators(pcln, columns)
        start_locations, columns["start_id"] = _start_functions(pcln, unwinder, layouts, columns)
        lap("creators")
        label_reader = LabelReader(mem, layouts)
        label_ids, label_sets = label_reader.read_all(g_fields["labels"])
        columns["label_id"] = label_ids
        mem.release()
        lap("labels")
        timings["total"] = sum(timings.values())
        return GoroutineIndex(
            binary=binary,
            mem=mem,
            layouts=layouts,
            pcln=pcln,
            unwinder=unwinder,
            go_version=go_version,
            load_bias=bias,
            columns=columns,
            wait_reason_strings=wait_reasons,
            status_strings=status_strings,
            creators=creators,
            starts=start_locations,
            label_sets=label_sets,
            label_errors=label_reader.errors,
            threads=threads,
            timings=timings,
        )
    except MemoryError_ as exc:
        if mem is not None:
            mem.close()
        binary.close()
        raise DirectReaderUnsupported(f"a runtime structure is unreadable in the core: {exc}") from exc
    except BaseException:
        if mem is not None:
            mem.close()
        binary.close()
        raise


def _check_same_program(mem: CoreMemory, binary: GoBinary, bias: int) -> None:
    """The kernel dumps the first page of the executable's mapping (ELF header, build-ID notes); if the
    core has it and it differs from the executable's, the core is another program's (or another build's)."""
    segments = binary.load_segments()
    if not segments:
        return
    vaddr, offset, filesz = min(segments)
    size = min(filesz, 4096)
    dumped = mem.core_bytes(vaddr + bias, size)
    if dumped is not None and dumped != binary.file_map[offset : offset + size]:
        raise DirectReaderUnsupported(
            f"the core was not dumped by {binary.path}: the executable's first page in the core differs "
            "(another program, or another build of it)"
        )


@attrs.frozen
class _CoreNotes:
    auxv: Mapping[int, int]
    threads: Sequence[tuple[int, int | None, int | None]]  # (lwp, pc, sp)


def _core_notes(core: Path) -> _CoreNotes:
    from gocore_dap.preflight.elf import ElfFile, ElfFormatError

    try:
        with ElfFile(core) as elf:
            auxv: dict[int, int] = {}
            threads: list[tuple[int, int | None, int | None]] = []
            for seg in elf.segments(PT_NOTE):
                notes, _complete = elf.notes_in(seg.offset, seg.filesz, 4)
                for note in notes:
                    if note.n_type == NT_PRSTATUS and note.owner == "CORE":
                        status = decode_prstatus(note.desc, elf.header.e_machine)
                        threads.append((status.tid, status.pc, status.sp))
                    elif note.n_type == NT_AUXV and note.owner == "CORE" and not auxv:
                        auxv = decode_auxv(note.desc)
            return _CoreNotes(auxv, threads)
    except (OSError, ElfFormatError) as exc:
        raise DirectReaderUnsupported(f"cannot read the core {core}: {exc}") from exc


def _go_version(mem: CoreMemory, symbols: Mapping[str, tuple[int, int]]) -> str:
    where = symbols.get("runtime.buildVersion")
    if where is None:
        return ""
    try:
        return mem.go_string(where[0], limit=256)
    except MemoryError_:
        return ""


def _string_table(mem: CoreMemory, where: tuple[int, int] | None) -> list[str]:
    """A ``[N]string`` array global (``waitReasonStrings``, ``gStatusStrings``) as the target has it."""
    if where is None:
        return []
    addr, size = where
    out: list[str] = []
    for i in range(size // 16):
        try:
            out.append(mem.go_string(addr + 16 * i, limit=4096))
        except MemoryError_:
            out.append("")
    return out


_G_FIELDS: Final = (
    "goid",
    "atomicstatus",
    "waitreason",
    "waitsince",
    "sched.sp",
    "sched.pc",
    "syscallsp",
    "syscallpc",
    "m",
    "lockedm",
    "parentGoid",
    "gopc",
    "startpc",
    "waiting",
    "labels",
)


def _read_goroutines(
    mem: CoreMemory, layouts: Layouts, symbols: Mapping[str, tuple[int, int]]
) -> tuple[dict[str, npt.NDArray[np.generic]], dict[str, npt.NDArray[np.uint64]]]:
    allgs = symbols["runtime.allgs"][0]
    count = mem.u64(symbols["runtime.allglen"][0])
    array = mem.u64(allgs)
    if count > _MAX_GOROUTINES or count > mem.u64(allgs + 8):
        raise DirectReaderUnsupported(f"runtime.allglen is {count}, more than runtime.allgs holds")
    addrs = np.arange(count, dtype=np.uint64) * np.uint64(8) + np.uint64(array)
    gs, ok = mem.gather(addrs, 8)
    if not ok.all():
        raise DirectReaderUnsupported("runtime.allgs is not fully in the core")
    goff, gok = mem.offsets(gs, layouts.sizes["g"])
    unreadable = int(np.count_nonzero(~gok))
    if count == 0:
        raise DirectReaderUnsupported("runtime.allglen is 0: the core does not look like one of this program")
    if unreadable == count:
        raise DirectReaderUnsupported(f"none of the {count} goroutine structures is in the core (truncated core?)")
    # A core cut short loses some goroutines; the others are still worth listing (and say how many).
    gs, goff, gok = gs[gok], goff[gok], gok[gok]
    fields: dict[str, npt.NDArray[np.uint64]] = {name: np.zeros(len(gs), dtype=np.uint64) for name in _G_FIELDS}
    present = [(name, layouts.field(f"g.{name}")) for name in _G_FIELDS if layouts.has(f"g.{name}")]
    for lo in range(0, len(gs), _BATCH):
        # All fields of one batch of g's, then release their pages (see CoreMemory.release).
        part = slice(lo, lo + _BATCH)
        for name, f in present:
            fields[name][part] = mem.gather_at(goff[part] + f.offset, gok[part], f.size)
        mem.release()
    raw_status = fields["atomicstatus"].astype(np.uint32)
    status = raw_status & np.uint32(~layouts.const("_Gscan") & 0xFFFFFFFF)
    dead = {layouts.const("_Gdead")}
    if "_Gdeadextra" in layouts.consts:
        dead.add(layouts.consts["_Gdeadextra"])
    live = ~np.isin(status, np.array(sorted(dead), dtype=np.uint32))
    for name in fields:
        fields[name] = fields[name][live]
    gs = gs[live]
    columns: dict[str, npt.NDArray[np.generic]] = {
        "unreadable": np.array([unreadable], dtype=np.int64),
        "goid": fields["goid"].astype(np.int64),
        "status": status[live],
        "raw_status": raw_status[live],
        "wait_reason": fields["waitreason"].astype(np.uint8),
        "wait_since": fields["waitsince"].astype(np.int64),
        "g": gs,
        "locked": fields["lockedm"] != 0,
        "parent_goid": fields["parentGoid"].astype(np.int64),
        "creator_pc": fields["gopc"],
        "start_pc": fields["startpc"],
        "waiting": fields["waiting"],
    }
    return columns, fields


def _read_threads(
    mem: CoreMemory,
    layouts: Layouts,
    symbols: Mapping[str, tuple[int, int]],
    notes: Sequence[tuple[int, int | None, int | None]],
    g_m: npt.NDArray[np.uint64],
) -> tuple[list[Thread], dict[str, npt.NDArray[np.generic]]]:
    """Every M reachable from ``runtime.allm`` and from goroutines, matched to the core's threads."""
    ms: dict[int, tuple[int, int, int, int, int]] = {}  # m -> (id, procid, curg, vdsoSP, vdsoPC)

    def read_m(m: int) -> None:
        if m in ms or m == 0:
            return
        try:
            ms[m] = (
                mem.u64(m + layouts.off("m.id")),
                mem.u64(m + layouts.off("m.procid")),
                mem.u64(m + layouts.off("m.curg")),
                mem.u64(m + layouts.off("m.vdsoSP")),
                mem.u64(m + layouts.off("m.vdsoPC")),
            )
        except MemoryError_:
            return

    allm = symbols.get("runtime.allm")
    if allm is not None:
        try:
            m = mem.u64(allm[0])
            for _ in range(1 << 16):
                if m == 0:
                    break
                read_m(m)
                m = mem.u64(m + layouts.off("m.alllink"))
        except MemoryError_:
            pass
    for m in np.unique(g_m).tolist():
        read_m(int(m))
    m_ids = np.full(len(g_m), -1, dtype=np.int64)
    lwps = np.zeros(len(g_m), dtype=np.int64)
    vdso_sp = np.zeros(len(g_m), dtype=np.uint64)
    vdso_pc = np.zeros(len(g_m), dtype=np.uint64)
    on_m = np.nonzero(g_m)[0]
    for row in on_m.tolist():
        info = ms.get(int(g_m[row]))
        if info is not None:
            m_ids[row], lwps[row], _curg, vdso_sp[row], vdso_pc[row] = info
    by_lwp = {info[1]: (info[0], info[2]) for info in ms.values()}
    threads: list[Thread] = []
    for lwp, pc, sp in notes:
        m_id, curg = by_lwp.get(lwp, (None, 0))
        goid = None
        if curg:
            try:
                goid = mem.u64(curg + layouts.off("g.goid"))
            except MemoryError_:
                goid = None
        threads.append(Thread(lwp=lwp, pc=pc, sp=sp, m_id=m_id, goid=goid))
    return threads, {"m_id": m_ids, "lwp": lwps, "vdso_sp": vdso_sp, "vdso_pc": vdso_pc}


def _unwind_starts(
    layouts: Layouts,
    columns: Mapping[str, npt.NDArray[np.generic]],
    g: Mapping[str, npt.NDArray[np.uint64]],
    m_columns: Mapping[str, npt.NDArray[np.generic]],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Where each walk starts, as ``traceback1``/``unwinder.initAt`` choose: the VDSO PC/SP of the M
    if it is in a VDSO call, else syscallpc/sp if set, else the saved scheduling context."""
    status = columns["status"]
    syscallsp = g["syscallsp"]
    in_syscall = syscallsp != 0
    pcs = np.where(in_syscall, g["syscallpc"], g["sched.pc"])
    sps = np.where(in_syscall, syscallsp, g["sched.sp"])
    vdso_sp = np.asarray(m_columns["vdso_sp"], dtype=np.uint64)
    vdso = vdso_sp != 0
    pcs = np.where(vdso, np.asarray(m_columns["vdso_pc"], dtype=np.uint64), pcs)
    sps = np.where(vdso, vdso_sp, sps)
    is_syscall = in_syscall & ~vdso
    # A goroutine running on a thread when the process died: its saved context is stale, and the
    # runtime itself prints "stack unavailable" for it (unless it is in a system call).
    running = (status == np.uint32(layouts.const("_Grunning"))) & ~in_syscall & ~vdso
    return pcs.astype(np.uint64), sps.astype(np.uint64), is_syscall, running


def _creators(
    pcln: Pclntab, columns: Mapping[str, npt.NDArray[np.generic]]
) -> tuple[list[Creator | None], npt.NDArray[np.int32]]:
    """Intern the creators (``gopc`` + parent id)."""
    quantum = pcln.quantum

    def creator_location(pc: int) -> Location | None:
        f = pcln.find_func(pc)
        if f is None:
            return None
        # printcreatedby1: the physical function's name, file/line at the CALL instruction.
        trace_pc = pc - quantum if pc > f.entry else pc
        file, line = pcln.file_line(f, trace_pc)
        return Location(pc, f.name, file, line, f.entry)

    gopc = np.asarray(columns["creator_pc"], dtype=np.uint64)
    parents = np.asarray(columns["parent_goid"], dtype=np.int64)
    # Few distinct go statements: number them, then pair each with its parent id in one int64 key.
    pcs, pc_index = np.unique(gopc, return_inverse=True)
    key = parents * np.int64(max(1, len(pcs))) + pc_index.reshape(-1).astype(np.int64)
    uniq, inv = np.unique(key, return_inverse=True)
    creators: list[Creator | None] = []
    ids: list[int] = []
    locations: dict[int, Location | None] = {}
    width = max(1, len(pcs))
    for k in uniq.tolist():
        parent, index = divmod(int(k), width)
        pc = int(pcs[index])
        if pc not in locations:
            locations[pc] = creator_location(pc) if pc else None
        loc = locations[pc]
        if loc is None:
            ids.append(-1)
        else:
            ids.append(len(creators))
            creators.append(Creator(loc, parent))
    creator_ids = np.array(ids, dtype=np.int32)[inv.reshape(-1)] if len(gopc) else np.zeros(0, dtype=np.int32)
    return creators, creator_ids


def _start_functions(
    pcln: Pclntab, unwinder: Unwinder, layouts: Layouts, columns: Mapping[str, npt.NDArray[np.generic]]
) -> tuple[list[Location | None], npt.NDArray[np.int32]]:
    """Intern each goroutine's start function: ``startpc``'s function, or, when that is a compiler
    wrapper (``go f(x)`` runs a ``gowrapN`` closure that calls ``f``), the function the wrapper called,
    taken from the goroutine's own stack (so an ``f`` inlined into the wrapper is found too).

    A goroutine whose stack is left to Delve keeps the wrapper.
    """
    wrapper_id = layouts.consts.get("FuncIDWrapper")
    startpc = np.asarray(columns["start_pc"], dtype=np.uint64)
    stack_ids = np.asarray(columns["stack_id"], dtype=np.int64)
    pcs, pc_index = np.unique(startpc, return_inverse=True)
    pc_index = pc_index.reshape(-1).astype(np.int64)
    wrappers = np.zeros(len(pcs), dtype=bool)
    funcs = [pcln.find_func(int(pc)) if pc else None for pc in pcs.tolist()]
    for i, f in enumerate(funcs):
        wrappers[i] = f is not None and wrapper_id is not None and f.func_id == wrapper_id
    # Only wrapper starts depend on the stack.
    sid = np.where(wrappers[pc_index], stack_ids + 1, 0)
    key = pc_index * np.int64(len(unwinder.stacks) + 2) + sid
    uniq, inv = np.unique(key, return_inverse=True)
    out: list[Location | None] = []
    interned: dict[Location, int] = {}
    ids: list[int] = []
    for k in uniq.tolist():
        index, stack_plus_one = divmod(int(k), len(unwinder.stacks) + 2)
        f = funcs[index]
        loc: Location | None = None
        if f is not None:
            file, line = pcln.file_line(f, f.entry)
            loc = Location(f.entry, f.name, file, f.start_line or line, f.entry, bool(wrappers[index]))
            if wrappers[index] and stack_plus_one > 0:
                loc = _wrapped_call(unwinder, stack_plus_one - 1, f.name) or loc
        if loc is None:
            ids.append(-1)
            continue
        lid = interned.get(loc)
        if lid is None:
            lid = interned[loc] = len(out)
            out.append(loc)
        ids.append(lid)
    start_ids = np.array(ids, dtype=np.int32)[inv.reshape(-1)] if len(startpc) else np.zeros(0, dtype=np.int32)
    return out, start_ids


def _wrapped_call(unwinder: Unwinder, stack_id: int, wrapper: str) -> Location | None:
    frames = [unwinder.frames[f] for f in unwinder.stacks[stack_id].frames]
    for i in range(len(frames) - 1, 0, -1):
        if frames[i].function == wrapper and not frames[i].inlined:
            callee = frames[i - 1]
            entry = 0 if callee.inlined else callee.entry
            return Location(entry, callee.function, callee.file, callee.start_line or callee.line, entry)
    return None
