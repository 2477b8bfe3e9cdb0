"""The Go runtime's symbol table (pclntab), reached through ``runtime.firstmoduledata`` in the core.

What the runtime's own traceback uses, re-implemented over the target's bytes (see the Go sources
``runtime/symtab.go`` and ``runtime/symtabinl.go``): function lookup by PC (``findfunc``), the
pc-value tables (``pcvalue``: frame size from pcsp, file from pcfile, line from pcln, pcdata such as
the inline-tree index), function names, and the inline tree (``FUNCDATA_InlTree``), which turns one
physical frame into the logical frames the traceback prints.

Every table is decoded once and cached, so symbolising a PC costs a dict lookup after the first time.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from gocore_dap.backends.direct.errors import DirectReaderUnsupported
from gocore_dap.backends.direct.layouts import Layouts
from gocore_dap.backends.direct.memory import CoreMemory, MemoryError_

# pcHeader.magic values whose _func/functab layouts follow moduledata as read here (Go 1.18+). Older
# tables (1.16/1.17) store entry PCs as pointers and are refused.
KNOWN_MAGICS: Final = {0xFFFFFFF0: "Go 1.18-1.19", 0xFFFFFFF1: "Go 1.20+"}


def read_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """The runtime's ``readvarint``: unsigned LEB128, returns (value, position after it)."""
    value = 0
    shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def decode_pcvalue_table(
    data: bytes | memoryview, offset: int, entry: int, quantum: int
) -> tuple[list[int], list[int]]:
    """Decode a pc-value table into (end PCs, values): value ``values[i]`` holds for PCs in
    ``[end[i-1], end[i])`` (the first range starts at ``entry``), as ``runtime.pcvalue`` walks it."""
    ends: list[int] = []
    values: list[int] = []
    pc = entry
    value = -1
    pos = offset
    first = True
    size = len(data)
    while pos < size:
        uvdelta = data[pos]
        if uvdelta == 0 and not first:
            break
        if uvdelta & 0x80:
            uvdelta, pos = read_varint(data, pos)
        else:
            pos += 1
        # zig-zag: -(u & 1) ^ (u >> 1)
        value += -(uvdelta & 1) ^ (uvdelta >> 1)
        pcdelta = data[pos]
        if pcdelta & 0x80:
            pcdelta, pos = read_varint(data, pos)
        else:
            pos += 1
        pc += pcdelta * quantum
        ends.append(pc)
        values.append(value)
        first = False
    return ends, values


def lookup_pcvalue(table: tuple[list[int], list[int]], target: int) -> int:
    """The value at ``target`` in a decoded table; -1 past its end (as the runtime's non-strict lookup)."""
    ends, values = table
    i = bisect.bisect_right(ends, target)
    return values[i] if i < len(values) else -1


@attrs.frozen
class FuncInfo:
    """One ``_func`` record, with the absolute entry PC and the offsets the walker needs."""

    index: int
    entry: int
    name: str
    name_off: int
    pcsp: int
    pcfile: int
    pcln: int
    cu_offset: int
    func_id: int
    flag: int
    deferreturn: int
    start_line: int  # line of the func keyword (0 if the runtime does not record it)
    pcdata: tuple[int, ...]
    inline_tree: int  # address of the inline tree, 0 if none


@attrs.frozen
class LogicalFrame:
    """One frame as the traceback prints it: a function (maybe inlined) at a file and line."""

    function: str
    file: str
    line: int
    inlined: bool
    func_id: int
    start_line: int = 0


@attrs.frozen
class InlinedCall:
    """One entry of a function's inline tree (``runtime.inlinedCall``), with its name resolved."""

    name: str
    func_id: int
    parent_pc: int  # offset from the physical function's entry of a PC at the call site
    start_line: int = 0


def expand_inlined(
    f: FuncInfo,
    sym_pc: int,
    *,
    tree_index: Callable[[int], int],
    inlined_call: Callable[[int], InlinedCall | None],
    file_line: Callable[[int], tuple[str, int]],
) -> tuple[LogicalFrame, ...]:
    """The logical frames of physical function ``f`` at ``sym_pc``, innermost first.

    As ``runtime.inlineUnwinder``: ``tree_index(pc)`` (pcdata PCDATA_InlTreeIndex) names the innermost
    inlined call at ``pc`` (-1: none); that call's file and line are those of ``pc`` itself, and its
    ``parent_pc`` is a PC at its call site in the caller, where the walk continues until it reaches
    ``f`` itself.
    """
    frames: list[LogicalFrame] = []
    pc = sym_pc
    index = tree_index(pc)
    for _ in range(1024):  # the inline tree is a tree; a cycle would be corrupt data
        file, line = file_line(pc)
        call = inlined_call(index) if index >= 0 else None
        if call is None:
            frames.append(LogicalFrame(f.name, file, line, False, f.func_id, f.start_line))
            break
        frames.append(LogicalFrame(call.name, file, line, True, call.func_id, call.start_line))
        pc = f.entry + call.parent_pc
        index = tree_index(pc)
    return tuple(frames)


class Pclntab:
    """The first module's pclntab (the executable's; plugins and shared libraries are not read)."""

    def __init__(self, mem: CoreMemory, layouts: Layouts, moduledata: int) -> None:
        self.mem = mem
        self.layouts = layouts
        L = layouts

        def word(key: str) -> int:
            return mem.u64(moduledata + L.off(key))

        def table(key: str, elem_size: int = 1) -> memoryview:
            base = moduledata + L.off(key)
            ptr, length = mem.u64(base), mem.u64(base + 8) * elem_size
            if length == 0:
                return memoryview(b"")
            try:
                return mem.view(ptr, length)
            except MemoryError_ as exc:
                raise DirectReaderUnsupported(f"the pclntab table {key} is unreadable: {exc}") from exc

        try:
            header = word("md.pcHeader")
            magic = mem.u32(header)
            self.quantum = mem.u8(header + 6)
            ptr_size = mem.u8(header + 7)
            if magic not in KNOWN_MAGICS:
                raise DirectReaderUnsupported(f"unknown pclntab version (magic {magic:#x})")
            if ptr_size != 8 or self.quantum not in (1, 2, 4):
                raise DirectReaderUnsupported(f"unexpected pclntab header (ptrSize {ptr_size}, minLC {self.quantum})")
            self.magic = magic
            self.funcnametab = table("md.funcnametab")
            self.cutab = table("md.cutab", 4)
            self.filetab = table("md.filetab")
            self.pctab = table("md.pctab")
            self.pclntable = table("md.pclntable")
            ftab = table("md.ftab", L.sizes["functab"])
            self.minpc = word("md.minpc")
            self.maxpc = word("md.maxpc")
            self.text = word("md.text")
            self.etext = word("md.etext")
            self.types = word("md.types")
            self.gofunc = word("md.gofunc")
            textsects = mem.u64(moduledata + L.off("md.textsectmap") + 8)
        except MemoryError_ as exc:
            raise DirectReaderUnsupported(f"runtime.firstmoduledata is unreadable in the core: {exc}") from exc
        if textsects > 1:
            raise DirectReaderUnsupported(f"the program has {textsects} text sections; only one is supported")
        stride = L.sizes["functab"]
        if stride != 8:
            raise DirectReaderUnsupported(f"unexpected functab entry size {stride}")
        pairs = np.frombuffer(ftab, dtype="<u4").reshape(-1, 2)
        entry_at = L.off("functab.entryoff") // 4
        self._entryoffs: npt.NDArray[np.uint32] = np.ascontiguousarray(pairs[:, entry_at])
        self._funcoffs: npt.NDArray[np.uint32] = np.ascontiguousarray(pairs[:, 1 - entry_at])
        # The last ftab entry is a sentinel (etext); real functions are the ones before it.
        self.nfunc = max(0, len(self._entryoffs) - 1)
        self._entry_list = self._entryoffs.tolist()
        self._funcs: dict[int, FuncInfo] = {}
        self._tables: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
        self._names: dict[int, str] = {}
        self._files: dict[tuple[int, int], str] = {}
        self._inline: dict[int, tuple[int, int, int, int]] = {}
        self._logical: dict[int, tuple[LogicalFrame, ...]] = {}
        self._func_fields = {
            key: (L.off(f"func.{key}"), L.field(f"func.{key}").size)
            for key in ("entryOff", "nameOff", "pcsp", "pcfile", "pcln", "npcdata", "cuOffset", "funcID", "flag",
                        "nfuncdata")
        }  # fmt: skip
        self._deferreturn = L.fields.get("func.deferreturn")
        self._start_line = L.fields.get("func.startLine")
        inl_start = L.fields.get("inl.startLine")
        self._inl_startline = inl_start.offset if inl_start is not None else -1
        self._func_size = L.sizes["func"]
        self._inl_size = L.sizes["inl"]
        self._inl_funcid = L.off("inl.funcID")
        self._inl_nameoff = L.off("inl.nameOff")
        self._inl_parentpc = L.off("inl.parentPc")
        self._pcdata_inl = L.const("PCDATA_InlTreeIndex")
        self._funcdata_inl = L.const("FUNCDATA_InlTree")

    # --- lookup -------------------------------------------------------------------------------------------

    def find_index(self, pc: int) -> int:
        """Index of the function holding ``pc`` (``findfunc``), -1 if none."""
        if not self.minpc <= pc < self.maxpc:
            return -1
        off = pc - self.text
        i = bisect.bisect_right(self._entry_list, off) - 1
        return i if 0 <= i < self.nfunc else -1

    def find_indexes(self, pcs: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """:meth:`find_index` for many PCs at once."""
        pcs = np.asarray(pcs, dtype=np.uint64)
        off = (pcs - np.uint64(self.text)).astype(np.int64)
        idx = np.searchsorted(self._entryoffs.astype(np.int64), off, side="right").astype(np.int64) - 1
        ok = (pcs >= np.uint64(self.minpc)) & (pcs < np.uint64(self.maxpc)) & (idx >= 0) & (idx < self.nfunc)
        return np.where(ok, idx, -1)

    def func(self, index: int) -> FuncInfo:
        info = self._funcs.get(index)
        if info is None:
            info = self._funcs[index] = self._read_func(index)
        return info

    def find_func(self, pc: int) -> FuncInfo | None:
        i = self.find_index(pc)
        return self.func(i) if i >= 0 else None

    def _read_func(self, index: int) -> FuncInfo:
        base = int(self._funcoffs[index])
        raw = self.pclntable
        if base + self._func_size > len(raw):
            raise DirectReaderUnsupported(f"_func record {index} lies outside the pclntab")

        def get(key: str) -> int:
            off, size = self._func_fields[key]
            return int.from_bytes(raw[base + off : base + off + size], "little")

        npcdata = get("npcdata")
        nfuncdata = get("nfuncdata")
        tail = base + self._func_size
        pcdata = tuple(struct.unpack_from(f"<{npcdata}I", raw, tail)) if npcdata else ()
        inline_tree = 0
        if self._funcdata_inl < nfuncdata:
            (off,) = struct.unpack_from("<I", raw, tail + 4 * npcdata + 4 * self._funcdata_inl)
            if off != 0xFFFFFFFF:
                inline_tree = self.gofunc + off
        name_off = get("nameOff")
        deferreturn = start_line = 0
        if self._deferreturn is not None:
            d = self._deferreturn
            deferreturn = int.from_bytes(raw[base + d.offset : base + d.offset + d.size], "little")
        if self._start_line is not None:
            d = self._start_line
            start_line = int.from_bytes(raw[base + d.offset : base + d.offset + d.size], "little", signed=True)
        return FuncInfo(
            index=index,
            entry=self.text + get("entryOff"),
            name=self.name_at(name_off),
            name_off=name_off,
            pcsp=get("pcsp"),
            pcfile=get("pcfile"),
            pcln=get("pcln"),
            cu_offset=get("cuOffset"),
            func_id=get("funcID"),
            flag=get("flag"),
            deferreturn=deferreturn,
            start_line=start_line,
            pcdata=pcdata,
            inline_tree=inline_tree,
        )

    def name_at(self, name_off: int) -> str:
        name = self._names.get(name_off)
        if name is None:
            tab = self.funcnametab
            if not 0 <= name_off < len(tab):
                name = "?"
            else:
                end = bytes(tab[name_off : name_off + 4096]).find(b"\0")
                name = bytes(tab[name_off : name_off + (end if end >= 0 else 4096)]).decode("utf-8", "replace")
            self._names[name_off] = name
        return name

    def file_name(self, f: FuncInfo, fileno: int) -> str:
        key = (f.cu_offset, fileno)
        name = self._files.get(key)
        if name is None:
            name = "?"
            at = 4 * (f.cu_offset + fileno)
            if fileno >= 0 and at + 4 <= len(self.cutab):
                (fileoff,) = struct.unpack_from("<I", self.cutab, at)
                if fileoff != 0xFFFFFFFF and fileoff < len(self.filetab):
                    raw = bytes(self.filetab[fileoff : fileoff + 4096])
                    end = raw.find(b"\0")
                    name = raw[: end if end >= 0 else len(raw)].decode("utf-8", "replace")
            self._files[key] = name
        return name

    # --- pc-value tables ----------------------------------------------------------------------------------

    def pcvalue(self, f: FuncInfo, table_off: int, target: int) -> int:
        if table_off == 0:
            return -1
        key = (table_off, f.entry)
        decoded = self._tables.get(key)
        if decoded is None:
            decoded = self._tables[key] = decode_pcvalue_table(self.pctab, table_off, f.entry, self.quantum)
        return lookup_pcvalue(decoded, target)

    def spdelta(self, f: FuncInfo, pc: int) -> int:
        return self.pcvalue(f, f.pcsp, pc)

    def pcdata(self, f: FuncInfo, table: int, pc: int) -> int:
        if table >= len(f.pcdata):
            return -1
        return self.pcvalue(f, f.pcdata[table], pc)

    def file_line(self, f: FuncInfo, pc: int) -> tuple[str, int]:
        """``funcline1`` (non-strict): the file and line of ``pc``; ("?", 0) when unknown."""
        fileno = self.pcvalue(f, f.pcfile, pc)
        line = self.pcvalue(f, f.pcln, pc)
        if fileno == -1 or line == -1:
            return "?", 0
        return self.file_name(f, fileno), line

    # --- inlining -----------------------------------------------------------------------------------------

    def _inlined_call(self, f: FuncInfo, index: int) -> tuple[int, int, int, int]:
        """(funcID, nameOff, parentPc, startLine) of entry ``index`` of ``f``'s inline tree."""
        addr = f.inline_tree + index * self._inl_size
        entry = self._inline.get(addr)
        if entry is None:
            raw = self.mem.read(addr, self._inl_size)
            func_id = raw[self._inl_funcid]
            (name_off,) = struct.unpack_from("<i", raw, self._inl_nameoff)
            (parent_pc,) = struct.unpack_from("<i", raw, self._inl_parentpc)
            start_line = struct.unpack_from("<i", raw, self._inl_startline)[0] if self._inl_startline >= 0 else 0
            entry = self._inline[addr] = (func_id, name_off, parent_pc, start_line)
        return entry

    def logical_frames(self, f: FuncInfo, sym_pc: int) -> tuple[LogicalFrame, ...]:
        """The frames at ``sym_pc`` (a "call PC"), innermost first: inlined calls, then ``f`` itself.

        As ``runtime.inlineUnwinder``: the inline-tree index at the PC names the innermost inlined
        function; its ``parentPc`` (relative to the entry) is a PC whose file/line is the call site.
        """
        cached = self._logical.get(sym_pc)
        if cached is not None:
            return cached

        def inlined_call(index: int) -> InlinedCall | None:
            try:
                func_id, name_off, parent_pc, start_line = self._inlined_call(f, index)
            except MemoryError_:
                return None
            return InlinedCall(self.name_at(name_off), func_id, parent_pc, start_line)

        result = expand_inlined(
            f,
            sym_pc,
            tree_index=lambda pc: self.pcdata(f, self._pcdata_inl, pc) if f.inline_tree else -1,
            inlined_call=inlined_call,
            file_line=lambda pc: self.file_line(f, pc),
        )
        self._logical[sym_pc] = result
        return result

    # --- runtime type names -------------------------------------------------------------------------------

    def type_name(self, type_addr: int) -> str:
        """The name of the runtime type at ``type_addr`` (``abi.Type.Str``, a nameOff into types)."""
        L = self.layouts
        mem = self.mem
        str_off = mem.u32(type_addr + L.off("type.str"))
        tflag = mem.u8(type_addr + L.off("type.tflag"))
        addr = self.types + str_off
        # abi.Name: one flag byte, a varint length, the bytes.
        head = mem.read(addr + 1, 10)
        length, pos = read_varint(head, 0)
        name = mem.read(addr + 1 + pos, length).decode("utf-8", "replace")
        if tflag & L.const("TFlagExtraStar") and name.startswith("*"):
            name = name[1:]
        return name


def traceback_name(function: str) -> str:
    """The name as the runtime's traceback prints it (``printFuncName``): ``runtime.gopanic`` is
    ``panic``, and the type arguments of a generic function are ``[...]``."""
    if function == "runtime.gopanic":
        return "panic"
    i = function.find("[")
    if i < 0:
        return function
    j = function.rfind("]")
    if j <= i:
        return function
    return function[:i] + "[...]" + function[j + 1 :]
