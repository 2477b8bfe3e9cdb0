"""Runtime layouts of one Go binary, taken from its DWARF and symbol table, cached per build ID.

Everything the direct reader needs to know about the target's runtime -- field offsets of ``runtime.g``,
``m``, ``sudog``, ``hchan``, ``moduledata``, ``_func``..., the runtime's constants (goroutine states,
wait reasons, function flags and IDs, pcdata/funcdata indexes), the addresses of a few globals, the
shape of the pprof label set and of the sync types -- is read here from the binary itself, never from
a per-version table: field names are looked up, with alternatives where the runtime renamed them.

Reading DWARF costs 0.05-0.5 s per binary, so the result (a small JSON document) is cached in
``$XDG_CACHE_HOME/gocore-dap/layouts/<build id>.json`` (default ``~/.cache``).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from gocore_dap.backends.direct import dwarf as D
from gocore_dap.backends.direct.binary import GoBinary
from gocore_dap.backends.direct.errors import DirectReaderUnsupported

# Bump when what is extracted changes, so that old cache files are ignored.
SCHEMA: Final = 6

# Go's reflect kinds (internal/abi.Kind) as DW_AT_go_kind carries them; part of the DWARF format
# the Go linker writes rather than of the runtime's layout.
_KIND_MAP: Final = 21
_KIND_SLICE: Final = 23
_KIND_STRING: Final = 24
_KIND_STRUCT: Final = 25


@attrs.frozen
class FieldSpec:
    """A field to look up: ``key`` is what the reader asks for, e.g. ``g.sched.sp``."""

    key: str
    struct: tuple[str, ...]  # candidate type names, first found wins
    paths: tuple[str, ...]  # candidate dotted member paths, first found wins
    required: bool = True


def _f(key: str, struct: str | Sequence[str], *paths: str, required: bool = True) -> FieldSpec:
    structs = (struct,) if isinstance(struct, str) else tuple(struct)
    return FieldSpec(key, structs, paths or (key.split(".", 1)[1],), required)


_ABI_TYPE = ("internal/abi.Type", "runtime._type")

FIELDS: Final[tuple[FieldSpec, ...]] = (
    # runtime.g
    _f("g.stack.lo", "runtime.g"),
    _f("g.stack.hi", "runtime.g"),
    _f("g.m", "runtime.g"),
    _f("g.sched.sp", "runtime.g"),
    _f("g.sched.pc", "runtime.g"),
    _f("g.sched.lr", "runtime.g"),
    _f("g.syscallsp", "runtime.g"),
    _f("g.syscallpc", "runtime.g"),
    _f("g.atomicstatus", "runtime.g"),
    _f("g.goid", "runtime.g"),
    _f("g.waitsince", "runtime.g"),
    _f("g.waitreason", "runtime.g"),
    _f("g.lockedm", "runtime.g"),
    _f("g.parentGoid", "runtime.g", required=False),
    _f("g.gopc", "runtime.g"),
    _f("g.startpc", "runtime.g"),
    _f("g.waiting", "runtime.g"),
    _f("g.labels", "runtime.g"),
    _f("g.bubble", "runtime.g", required=False),
    # runtime.m
    _f("m.g0", "runtime.m"),
    _f("m.procid", "runtime.m"),
    _f("m.curg", "runtime.m"),
    _f("m.id", "runtime.m"),
    _f("m.alllink", "runtime.m"),
    _f("m.vdsoSP", "runtime.m"),
    _f("m.vdsoPC", "runtime.m"),
    _f("m.lockedg", "runtime.m", required=False),
    # runtime.sudog
    _f("sudog.g", "runtime.sudog"),
    _f("sudog.next", "runtime.sudog"),
    _f("sudog.prev", "runtime.sudog"),
    _f("sudog.elem", "runtime.sudog"),
    _f("sudog.isSelect", "runtime.sudog"),
    _f("sudog.waitlink", "runtime.sudog"),
    _f("sudog.c", "runtime.sudog"),
    # runtime.hchan
    _f("hchan.qcount", "runtime.hchan"),
    _f("hchan.dataqsiz", "runtime.hchan"),
    _f("hchan.elemtype", "runtime.hchan"),
    _f("hchan.closed", "runtime.hchan"),
    # internal/abi.Type
    _f("type.str", _ABI_TYPE, "Str", "str"),
    _f("type.tflag", _ABI_TYPE, "TFlag", "tflag"),
    # runtime.moduledata
    _f("md.pcHeader", "runtime.moduledata", "pcHeader"),
    _f("md.funcnametab", "runtime.moduledata", "funcnametab"),
    _f("md.cutab", "runtime.moduledata", "cutab"),
    _f("md.filetab", "runtime.moduledata", "filetab"),
    _f("md.pctab", "runtime.moduledata", "pctab"),
    _f("md.pclntable", "runtime.moduledata", "pclntable"),
    _f("md.ftab", "runtime.moduledata", "ftab"),
    _f("md.minpc", "runtime.moduledata", "minpc"),
    _f("md.maxpc", "runtime.moduledata", "maxpc"),
    _f("md.text", "runtime.moduledata", "text"),
    _f("md.etext", "runtime.moduledata", "etext"),
    _f("md.types", "runtime.moduledata", "types"),
    _f("md.etypes", "runtime.moduledata", "etypes"),
    _f("md.gofunc", "runtime.moduledata", "gofunc"),
    _f("md.textsectmap", "runtime.moduledata", "textsectmap"),
    _f("md.next", "runtime.moduledata", "next"),
    # runtime._func and the tables it points to
    _f("func.entryOff", "runtime._func", "entryOff", "entryoff"),
    _f("func.nameOff", "runtime._func", "nameOff", "nameoff"),
    _f("func.deferreturn", "runtime._func", required=False),
    _f("func.pcsp", "runtime._func"),
    _f("func.pcfile", "runtime._func"),
    _f("func.pcln", "runtime._func"),
    _f("func.npcdata", "runtime._func"),
    _f("func.cuOffset", "runtime._func", "cuOffset"),
    _f("func.startLine", "runtime._func", "startLine", required=False),
    _f("func.funcID", "runtime._func", "funcID"),
    _f("func.flag", "runtime._func"),
    _f("func.nfuncdata", "runtime._func"),
    _f("functab.entryoff", "runtime.functab", "entryoff", "entryOff"),
    _f("functab.funcoff", "runtime.functab", "funcoff", "funcOff"),
    _f("inl.funcID", "runtime.inlinedCall", "funcID"),
    _f("inl.nameOff", "runtime.inlinedCall", "nameOff", "func_"),
    _f("inl.parentPc", "runtime.inlinedCall", "parentPc"),
    _f("inl.startLine", "runtime.inlinedCall", "startLine", required=False),
    # semaphores and condition variables
    _f("semaRoot.treap", "runtime.semaRoot"),
    _f("notifyList.head", "runtime.notifyList", required=False),
    _f("cond.notify", "sync.Cond", "notify", required=False),
)

SIZES: Final[Mapping[str, tuple[str, ...]]] = {
    "g": ("runtime.g",),
    "sudog": ("runtime.sudog",),
    "func": ("runtime._func",),
    "functab": ("runtime.functab",),
    "inl": ("runtime.inlinedCall",),
    "hchan": ("runtime.hchan",),
}

# Constants: key -> candidate DWARF names (the runtime moved some between packages).
CONSTS: Final[Mapping[str, tuple[str, ...]]] = {
    "FuncFlagTopFrame": ("internal/abi.FuncFlagTopFrame", "runtime.funcFlag_TOPFRAME"),
    "FuncFlagSPWrite": ("internal/abi.FuncFlagSPWrite", "runtime.funcFlag_SPWRITE"),
    "FuncID_sigpanic": ("internal/abi.FuncID_sigpanic", "runtime.funcID_sigpanic"),
    "FuncID_asyncPreempt": ("internal/abi.FuncID_asyncPreempt", "runtime.funcID_asyncPreempt"),
    "FuncID_debugCallV2": ("internal/abi.FuncID_debugCallV2", "runtime.funcID_debugCallV2"),
    "FuncID_cgocallback": ("internal/abi.FuncID_cgocallback", "runtime.funcID_cgocallback"),
    "FUNCDATA_InlTree": ("internal/abi.FUNCDATA_InlTree", "runtime._FUNCDATA_InlTree"),
    "PCDATA_InlTreeIndex": ("internal/abi.PCDATA_InlTreeIndex", "runtime._PCDATA_InlTreeIndex"),
    "TFlagExtraStar": ("internal/abi.TFlagExtraStar", "runtime.tflagExtraStar"),
    "_Grunning": ("runtime._Grunning",),
    "_Gsyscall": ("runtime._Gsyscall",),
    "_Gwaiting": ("runtime._Gwaiting",),
    "_Gdead": ("runtime._Gdead",),
    "_Gscan": ("runtime._Gscan",),
    "semTabSize": ("runtime.semTabSize",),
}
OPTIONAL_CONSTS: Final[Mapping[str, tuple[str, ...]]] = {
    "FuncIDWrapper": ("internal/abi.FuncIDWrapper", "runtime.funcID_wrapper"),
    "_Gdeadextra": ("runtime._Gdeadextra",),
    "_Gleaked": ("runtime._Gleaked",),
    "waitReasonZero": ("runtime.waitReasonZero",),
    "waitReasonSyncMutexLock": ("runtime.waitReasonSyncMutexLock",),
    "waitReasonSyncRWMutexRLock": ("runtime.waitReasonSyncRWMutexRLock",),
    "waitReasonSyncRWMutexLock": ("runtime.waitReasonSyncRWMutexLock",),
    "waitReasonSyncWaitGroupWait": ("runtime.waitReasonSyncWaitGroupWait",),
    "waitReasonSyncCondWait": ("runtime.waitReasonSyncCondWait",),
    "waitReasonSemacquire": ("runtime.waitReasonSemacquire",),
    "waitReasonChanReceive": ("runtime.waitReasonChanReceive",),
    "waitReasonChanSend": ("runtime.waitReasonChanSend",),
    "waitReasonSelect": ("runtime.waitReasonSelect",),
    "tracebackInnerFrames": ("runtime.tracebackInnerFrames",),
    "tracebackOuterFrames": ("runtime.tracebackOuterFrames",),
}

SYMBOLS: Final[tuple[str, ...]] = (
    "runtime.allgs",
    "runtime.allglen",
    "runtime.allm",
    "runtime.firstmoduledata",
    "runtime.waitReasonStrings",
    "runtime.gStatusStrings",
    "runtime.semtable",
    "runtime.buildVersion",
)
REQUIRED_SYMBOLS: Final = ("runtime.allgs", "runtime.allglen", "runtime.firstmoduledata")

_LABEL_TYPES: Final = ("internal/runtime/pprof/label.Set", "runtime/pprof.labelMap")


@attrs.frozen
class Field:
    offset: int
    size: int


@attrs.frozen
class Layouts:
    """What one binary's DWARF and symbol table say; JSON-serialisable through :meth:`to_json`."""

    build_id: str
    ptr_size: int
    fields: Mapping[str, Field]
    sizes: Mapping[str, int]
    consts: Mapping[str, int]
    symbols: Mapping[str, tuple[int, int]]  # name -> (address as linked, size)
    labels: Mapping[str, Any] | None  # see _label_plan
    sync: Mapping[str, int]  # offsets of semaphores inside sync types, see _sync_offsets
    semtable_stride: int
    dwarf_seconds: float = 0.0

    def field(self, key: str) -> Field:
        try:
            return self.fields[key]
        except KeyError:
            raise DirectReaderUnsupported(f"the runtime has no field {key} (not in the binary's DWARF)") from None

    def off(self, key: str) -> int:
        return self.field(key).offset

    def has(self, key: str) -> bool:
        return key in self.fields

    def const(self, key: str, default: int | None = None) -> int:
        value = self.consts.get(key, default)
        if value is None:
            raise DirectReaderUnsupported(f"the binary's DWARF has no constant {key}")
        return value

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "build_id": self.build_id,
            "ptr_size": self.ptr_size,
            "fields": {k: [f.offset, f.size] for k, f in self.fields.items()},
            "sizes": dict(self.sizes),
            "consts": dict(self.consts),
            "symbols": {k: list(v) for k, v in self.symbols.items()},
            "labels": self.labels,
            "sync": dict(self.sync),
            "semtable_stride": self.semtable_stride,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Layouts:
        return cls(
            build_id=data["build_id"],
            ptr_size=int(data["ptr_size"]),
            fields={k: Field(int(v[0]), int(v[1])) for k, v in data["fields"].items()},
            sizes={k: int(v) for k, v in data["sizes"].items()},
            consts={k: int(v) for k, v in data["consts"].items()},
            symbols={k: (int(v[0]), int(v[1])) for k, v in data["symbols"].items()},
            labels=data.get("labels"),
            sync={k: int(v) for k, v in data.get("sync", {}).items()},
            semtable_stride=int(data["semtable_stride"]),
        )


# --- the cache --------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gocore-dap" / "layouts"


def load_layouts(binary: GoBinary, *, use_cache: bool = True) -> Layouts:
    """The binary's layouts, from the cache when it has them, else from DWARF (and then cached)."""
    build_id = binary.build_id()
    path = cache_dir() / f"{build_id}.json"
    if use_cache:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(path.read_text())
            if data.get("schema") == SCHEMA and data.get("build_id") == build_id:
                return Layouts.from_json(data)
    layouts = extract_layouts(binary, build_id)
    if use_cache:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write-then-rename: concurrent readers never see half a file.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w") as fh:
                json.dump(layouts.to_json(), fh)
            os.replace(tmp, path)
    return layouts


# --- extraction -------------------------------------------------------------------------------------------


class TypeGraph:
    """Named types, constants and DIEs by offset, from the units that hold the runtime's types."""

    def __init__(self, dies: Iterable[D.Die], address_size: int) -> None:
        self.address_size = address_size
        self.by_offset: dict[int, D.Die] = {}
        self.by_name: dict[str, D.Die] = {}
        self.consts: dict[str, int] = {}
        for die in dies:
            self._index(die)

    def _index(self, die: D.Die) -> None:
        self.by_offset[die.offset] = die
        name = die.name
        if name is not None:
            if die.tag == D.TAG_CONSTANT:
                value = die.int_attr(D.AT_CONST_VALUE)
                if value is not None:
                    self.consts.setdefault(name, value)
            elif name not in self.by_name or self.by_name[name].tag == D.TAG_TYPEDEF:
                # A struct and its typedef share a name; the struct wins.
                self.by_name[name] = die
        for child in die.children:
            self._index(child)

    def named(self, name: str) -> D.Die | None:
        die = self.by_name.get(name)
        return self.strip(die) if die is not None else None

    def strip(self, die: D.Die) -> D.Die:
        seen = 0
        while die.tag == D.TAG_TYPEDEF and seen < 16:
            target = die.int_attr(D.AT_TYPE)
            if target is None or target not in self.by_offset:
                break
            die = self.by_offset[target]
            seen += 1
        return die

    def type_of(self, die: D.Die) -> D.Die | None:
        target = die.int_attr(D.AT_TYPE)
        if target is None:
            return None
        found = self.by_offset.get(target)
        return self.strip(found) if found is not None else None

    def size(self, die: D.Die) -> int:
        size = die.int_attr(D.AT_BYTE_SIZE)
        if size is not None:
            return size
        if die.tag == D.TAG_POINTER_TYPE:
            return self.address_size
        inner = self.type_of(die)
        return self.size(inner) if inner is not None and inner is not die else 0

    def members(self, die: D.Die) -> list[D.Die]:
        return [c for c in die.children if c.tag == D.TAG_MEMBER]

    def member(self, die: D.Die, name: str) -> D.Die | None:
        for child in die.children:
            if child.tag == D.TAG_MEMBER and child.name == name:
                return child
        return None

    def kind(self, die: D.Die) -> int | None:
        return die.int_attr(D.AT_GO_KIND)

    def resolve_path(self, struct: D.Die, path: str) -> Field | None:
        """Offset and size of the scalar at ``path`` (dotted member names) inside ``struct``."""
        offset = 0
        current = struct
        for part in path.split("."):
            member = self.member(current, part)
            if member is None:
                return None
            offset += member.int_attr(D.AT_DATA_MEMBER_LOCATION) or 0
            inner = self.type_of(member)
            if inner is None:
                return None
            current = inner
        return self._scalar(current, offset)

    def _scalar(self, die: D.Die, offset: int) -> Field:
        # Wrapper structs (atomic.Uint32, guintptr-like maybeTraceablePtr) hold one scalar; the
        # runtime's maybeTraceablePtr keeps the truth in `vu`, its other word only for the GC.
        for _ in range(8):
            if die.tag != D.TAG_STRUCTURE_TYPE or self.kind(die) in (_KIND_STRING, _KIND_SLICE):
                break
            members = self.members(die)
            pick = next((m for m in members if m.name == "vu"), None)
            if pick is None:
                pick = next((m for m in members if (t := self.type_of(m)) is not None and self.size(t) > 0), None)
            if pick is None:
                break
            inner = self.type_of(pick)
            if inner is None:
                break
            offset += pick.int_attr(D.AT_DATA_MEMBER_LOCATION) or 0
            die = inner
        return Field(offset, self.size(die))

    def find_member_path(self, struct: D.Die, name: str, depth: int = 4) -> int | None:
        """Offset of the first member called ``name`` anywhere inside ``struct`` (embedded structs too)."""
        for member in self.members(struct):
            base = member.int_attr(D.AT_DATA_MEMBER_LOCATION) or 0
            if member.name == name:
                return base
            inner = self.type_of(member)
            if depth > 0 and inner is not None and inner.tag == D.TAG_STRUCTURE_TYPE:
                found = self.find_member_path(inner, name, depth - 1)
                if found is not None:
                    return base + found
        return None


_WANTED_UNITS: Final = frozenset({"runtime", "internal/abi"})
_KEEP_CHILDREN: Final = frozenset({D.TAG_COMPILE_UNIT, D.TAG_STRUCTURE_TYPE, D.TAG_ARRAY_TYPE})


def read_type_graph(binary: GoBinary) -> TypeGraph:
    info = binary.section_data(".debug_info")
    abbrev = binary.section_data(".debug_abbrev")
    if info is None or abbrev is None:
        raise DirectReaderUnsupported(
            f"{binary.path} has no DWARF debug info (.debug_info); was it built with -ldflags=-w or stripped?"
        )
    strings = D.StringSections(
        binary.section_data(".debug_str") or b"",
        binary.section_data(".debug_line_str") or b"",
        binary.section_data(".debug_str_offsets") or b"",
    )
    reader = D.UnitReader(info, abbrev, strings)
    roots: list[D.Die] = []
    address_size = 8
    try:
        for unit in D.iter_unit_headers(info):
            if unit.unit_type not in (D.DW_UT_COMPILE, D.DW_UT_PARTIAL):
                continue
            # Units are picked by name from their first DIE: decoding the others would cost most of the time.
            if reader.unit_die(unit).name not in _WANTED_UNITS:
                continue
            address_size = unit.address_size
            roots.extend(reader.read_unit(unit, keep_children=lambda die: die.tag in _KEEP_CHILDREN))
    except D.DwarfError as exc:
        raise DirectReaderUnsupported(f"cannot read the DWARF of {binary.path}: {exc}") from exc
    return TypeGraph(roots, address_size)


def extract_layouts(binary: GoBinary, build_id: str) -> Layouts:
    import time

    started = time.perf_counter()
    graph = read_type_graph(binary)
    fields: dict[str, Field] = {}
    for spec in FIELDS:
        struct = next((s for name in spec.struct if (s := graph.named(name)) is not None), None)
        found = None
        if struct is not None:
            found = next((f for path in spec.paths if (f := graph.resolve_path(struct, path)) is not None), None)
        if found is not None:
            fields[spec.key] = found
        elif spec.required:
            where = " or ".join(spec.struct)
            raise DirectReaderUnsupported(
                f"the binary's DWARF has no field {' / '.join(spec.paths)} in {where}"
                + ("" if struct is not None else f" (no type {where})")
            )
    sizes: dict[str, int] = {}
    for key, names in SIZES.items():
        die = next((s for name in names if (s := graph.named(name)) is not None), None)
        if die is None:
            raise DirectReaderUnsupported(f"the binary's DWARF has no type {' or '.join(names)}")
        sizes[key] = graph.size(die)
    consts: dict[str, int] = {}
    for key, names in {**CONSTS, **OPTIONAL_CONSTS}.items():
        value = next((graph.consts[n] for n in names if n in graph.consts), None)
        if value is not None:
            consts[key] = value
        elif key in CONSTS:
            raise DirectReaderUnsupported(f"the binary's DWARF has no constant {' or '.join(names)}")
    symbols = {s.name: (s.value, s.size) for s in binary.symbols(list(SYMBOLS)).values()}
    missing = [name for name in REQUIRED_SYMBOLS if name not in symbols]
    if missing:
        raise DirectReaderUnsupported(f"the binary's symbol table has no {', '.join(missing)} (stripped?)")
    return Layouts(
        build_id=build_id,
        ptr_size=graph.address_size,
        fields=fields,
        sizes=sizes,
        consts=consts,
        symbols=symbols,
        labels=_label_plan(graph),
        sync=_sync_offsets(graph),
        semtable_stride=_semtable_stride(graph, consts) or _stride_from_symbol(symbols, consts),
        dwarf_seconds=time.perf_counter() - started,
    )


def _semtable_stride(graph: TypeGraph, consts: Mapping[str, int]) -> int:
    table = graph.named("runtime.semTable")
    if table is None or table.tag != D.TAG_ARRAY_TYPE:
        return 0
    element = graph.type_of(table)
    if element is None:
        return 0
    size = graph.size(element)
    root = graph.member(element, "root")
    if root is not None and (root.int_attr(D.AT_DATA_MEMBER_LOCATION) or 0) != 0:
        return 0  # not the shape the walker expects; semaphores are then not reported
    return size


def _stride_from_symbol(symbols: Mapping[str, tuple[int, int]], consts: Mapping[str, int]) -> int:
    """Before Go 1.19 the table's type has no name; its size over its length gives the stride (the
    root is the element's first field in every release)."""
    table = symbols.get("runtime.semtable")
    count = consts.get("semTabSize", 0)
    if table is None or count <= 0 or table[1] % count:
        return 0
    return table[1] // count


def _sync_offsets(graph: TypeGraph) -> dict[str, int]:
    """Where the semaphore word sits inside each sync type, to map a semaphore back to its object.

    Keys: ``mutex_sema`` (sync.Mutex), ``rw_w`` / ``rw_writerSem`` / ``rw_readerSem`` (sync.RWMutex),
    ``wg_sema`` (sync.WaitGroup). A type the program never uses is absent from DWARF and here.
    """
    out: dict[str, int] = {}
    mutex = graph.named("sync.Mutex")
    if mutex is not None:
        sema = graph.find_member_path(mutex, "sema")
        if sema is not None:
            out["mutex_sema"] = sema
    rw = graph.named("sync.RWMutex")
    if rw is not None:
        for name in ("w", "writerSem", "readerSem"):
            off = graph.find_member_path(rw, name, depth=0)
            if off is not None:
                out[f"rw_{name}"] = off
    wg = graph.named("sync.WaitGroup")
    if wg is not None:
        sema = graph.find_member_path(wg, "sema")
        if sema is not None:
            out["wg_sema"] = sema
    return out


def _label_plan(graph: TypeGraph) -> dict[str, Any] | None:
    """How to read the label set ``g.labels`` points to, from the type the runtime stores there.

    Shapes seen across Go releases: a struct holding (possibly through an embedded struct) a slice of
    {key, value string} (Go 1.24+: ``runtime/pprof.labelMap`` / ``internal/runtime/pprof/label.Set``),
    and ``map[string]string`` (older releases: ``runtime/pprof.labelMap``), read as a classic hash map.
    """
    for name in _LABEL_TYPES:
        die = graph.named(name)
        if die is None:
            continue
        if die.tag == D.TAG_STRUCTURE_TYPE:
            plan = _slice_label_plan(graph, die)
            if plan is not None:
                return plan
        if graph.kind(die) == _KIND_MAP or (die.name or "").startswith("map["):
            return _hmap_label_plan(graph, die) or {"kind": "unsupported", "type": name}
        return {"kind": "unsupported", "type": name}
    return None


def _slice_label_plan(graph: TypeGraph, struct: D.Die, base: int = 0, depth: int = 3) -> dict[str, Any] | None:
    for member in graph.members(struct):
        inner = graph.type_of(member)
        if inner is None:
            continue
        offset = base + (member.int_attr(D.AT_DATA_MEMBER_LOCATION) or 0)
        if graph.kind(inner) == _KIND_SLICE:
            array = graph.member(inner, "array")
            pointer = graph.type_of(array) if array is not None else None
            element = graph.type_of(pointer) if pointer is not None else None
            if element is None:
                continue
            strings = [m for m in graph.members(element) if (t := graph.type_of(m)) and graph.kind(t) == _KIND_STRING]
            if len(strings) != 2:
                continue
            return {
                "kind": "slice",
                "slice": offset,
                "elem_size": graph.size(element),
                "key": strings[0].int_attr(D.AT_DATA_MEMBER_LOCATION) or 0,
                "value": strings[1].int_attr(D.AT_DATA_MEMBER_LOCATION) or 0,
            }
        if depth > 0 and inner.tag == D.TAG_STRUCTURE_TYPE and graph.kind(inner) != _KIND_STRING:
            found = _slice_label_plan(graph, inner, offset, depth - 1)
            if found is not None:
                return found
    return None


def _hmap_label_plan(graph: TypeGraph, map_die: D.Die) -> dict[str, Any] | None:
    # A Go map type in DWARF is a pointer to the runtime's header struct, named hash<K,V> for the
    # classic hash map; its `buckets` point to bucket<K,V> {tophash [N]uint8; keys; elems; overflow}.
    header = graph.type_of(map_die) if map_die.tag == D.TAG_POINTER_TYPE else None
    if header is None or header.tag != D.TAG_STRUCTURE_TYPE or not (header.name or "").startswith("hash<"):
        return None
    buckets = graph.member(header, "buckets")
    bucket_ptr = graph.type_of(buckets) if buckets is not None else None
    bucket = graph.type_of(bucket_ptr) if bucket_ptr is not None else None
    if bucket is None:
        return None
    offsets: dict[str, int] = {}
    for name in ("count", "B", "buckets", "oldbuckets"):
        member = graph.member(header, name)
        if member is None:
            return None
        offsets[name] = member.int_attr(D.AT_DATA_MEMBER_LOCATION) or 0
    tophash = graph.member(bucket, "tophash")
    keys = graph.member(bucket, "keys")
    elems = graph.member(bucket, "elems") or graph.member(bucket, "values")
    overflow = graph.member(bucket, "overflow")
    if tophash is None or keys is None or elems is None or overflow is None:
        return None
    tophash_type = graph.type_of(tophash)
    return {
        "kind": "hmap",
        **offsets,
        "bucket_size": graph.size(bucket),
        "bucket_count": graph.size(tophash_type) if tophash_type is not None else 8,
        "tophash": tophash.int_attr(D.AT_DATA_MEMBER_LOCATION) or 0,
        "keys": keys.int_attr(D.AT_DATA_MEMBER_LOCATION) or 0,
        "elems": elems.int_attr(D.AT_DATA_MEMBER_LOCATION) or 0,
        "overflow": overflow.int_attr(D.AT_DATA_MEMBER_LOCATION) or 0,
    }


def describe(layouts: Layouts, keys: Callable[[str], bool] = lambda k: True) -> str:
    """A readable dump of the fields, for debugging."""
    return "\n".join(f"{k:28} +{f.offset:<5} {f.size}" for k, f in sorted(layouts.fields.items()) if keys(k))
