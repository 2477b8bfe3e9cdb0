"""Typed calls to Delve's JSON-RPC API (v2) and models of the parts of its answers we use.

Delve's JSON mixes key styles (`currentLoc`, `goroutineID`, `Nextg`, `Locals`), so each model reads
its own keys in `from_json`; these are hot paths at 100k goroutines, where a generic structuring
converter would cost several seconds.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs

# Delve's ListGoroutines filter and group kinds (service/api.GoroutineField).
GOROUTINE_FIELD_CURRENT_LOC = 1
GOROUTINE_FIELD_USER_LOC = 2
GOROUTINE_FIELD_GO_LOC = 3
GOROUTINE_FIELD_START_LOC = 4
GOROUTINE_FIELD_LABEL = 5
GOROUTINE_FIELD_RUNNING = 6
GOROUTINE_FIELD_USER = 7


class RpcCaller(Protocol):
    async def call(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any: ...


@attrs.frozen
class LoadConfig:
    """Delve's LoadConfig: how much of a variable to read from the core."""

    follow_pointers: bool = True
    max_variable_recurse: int = 1
    max_string_len: int = 512
    max_array_values: int = 64
    max_struct_fields: int = -1

    def to_json(self) -> dict[str, Any]:
        return {
            "FollowPointers": self.follow_pointers,
            "MaxVariableRecurse": self.max_variable_recurse,
            "MaxStringLen": self.max_string_len,
            "MaxArrayValues": self.max_array_values,
            "MaxStructFields": self.max_struct_fields,
        }


@attrs.frozen
class Function:
    name: str
    value: int = 0
    optimized: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Function | None:
        if not data:
            return None
        return cls(name=data.get("name", ""), value=data.get("value", 0), optimized=bool(data.get("optimized")))


@attrs.frozen
class Location:
    pc: int
    file: str
    line: int
    function: Function | None

    @property
    def function_name(self) -> str:
        return self.function.name if self.function else ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Location | None:
        if not data:
            return None
        return cls(
            pc=data.get("pc", 0),
            file=data.get("file", ""),
            line=data.get("line", 0),
            function=Function.from_json(data.get("function")),
        )


@attrs.frozen
class Goroutine:
    id: int
    current_loc: Location | None
    user_current_loc: Location | None
    go_statement_loc: Location | None
    start_loc: Location | None
    thread_id: int
    status: int
    wait_since: int
    wait_reason: int
    labels: Mapping[str, str]
    unreadable: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Goroutine:
        return cls(
            id=data["id"],
            current_loc=Location.from_json(data.get("currentLoc")),
            user_current_loc=Location.from_json(data.get("userCurrentLoc")),
            go_statement_loc=Location.from_json(data.get("goStatementLoc")),
            start_loc=Location.from_json(data.get("startLoc")),
            thread_id=data.get("threadID", 0) or 0,
            status=data.get("status", 0) or 0,
            wait_since=data.get("waitSince", 0) or 0,
            wait_reason=data.get("waitReason", 0) or 0,
            labels=data.get("labels") or {},
            unreadable=data.get("unreadable", "") or "",
        )


@attrs.frozen
class Thread:
    id: int
    pc: int
    file: str
    line: int
    function: Function | None
    goroutine_id: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Thread:
        return cls(
            id=data["id"],
            pc=data.get("pc", 0),
            file=data.get("file", ""),
            line=data.get("line", 0),
            function=Function.from_json(data.get("function")),
            goroutine_id=data.get("goroutineID", 0) or 0,
        )


@attrs.frozen
class Variable:
    name: str
    addr: int
    only_addr: bool
    type: str
    real_type: str
    flags: int
    kind: int
    value: str
    len: int
    cap: int
    children: Sequence[Variable]
    base: int
    unreadable: str
    decl_line: int

    # Delve's VariableFlags.
    FLAG_ESCAPED = 1
    FLAG_SHADOWED = 2
    FLAG_CONSTANT = 4
    FLAG_ARGUMENT = 8
    FLAG_RETURN_ARGUMENT = 16
    FLAG_FAKE_ADDRESS = 32

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Variable:
        return cls(
            name=data.get("name", ""),
            addr=data.get("addr", 0),
            only_addr=bool(data.get("onlyAddr")),
            type=data.get("type", ""),
            real_type=data.get("realType", ""),
            flags=data.get("flags", 0),
            kind=data.get("kind", 0),
            value=data.get("value", ""),
            len=data.get("len", 0),
            cap=data.get("cap", 0),
            children=tuple(cls.from_json(c) for c in data.get("children") or ()),
            base=data.get("base", 0),
            unreadable=data.get("unreadable", "") or "",
            decl_line=data.get("DeclLine", 0) or 0,
        )


@attrs.frozen
class Stackframe:
    location: Location
    locals: Sequence[Variable]
    arguments: Sequence[Variable]
    frame_offset: int
    frame_pointer_offset: int
    err: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Stackframe:
        location = Location.from_json(data)
        assert location is not None
        return cls(
            location=location,
            locals=tuple(Variable.from_json(v) for v in data.get("Locals") or ()),
            arguments=tuple(Variable.from_json(v) for v in data.get("Arguments") or ()),
            frame_offset=data.get("FrameOffset", 0),
            frame_pointer_offset=data.get("FramePointerOffset", 0),
            err=data.get("Err", "") or "",
        )


@attrs.frozen
class GoroutineGroupInfo:
    """One group of a grouped `ListGoroutines`: its members are goroutines[offset:offset+count] of the
    page, a sample of `total`."""

    name: str
    offset: int
    count: int
    total: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GoroutineGroupInfo:
        return cls(
            name=str(data.get("Name", "")),
            offset=int(data.get("Offset", 0)),
            count=int(data.get("Count", 0)),
            total=int(data.get("Total", 0)),
        )


@attrs.frozen
class GoroutinePage:
    goroutines: Sequence[Goroutine]
    next_index: int  # Delve's Nextg: an index into its list, -1 at the end
    groups: Sequence[GoroutineGroupInfo]
    too_many_groups: bool


@attrs.frozen
class Register:
    name: str
    value: str


@attrs.frozen
class Instruction:
    pc: int
    text: str
    bytes: bytes
    file: str
    line: int
    function: Function | None
    at_pc: bool


def scope(goroutine_id: int, frame: int = 0) -> dict[str, Any]:
    return {"GoroutineID": goroutine_id, "Frame": frame, "DeferredCall": 0}


class DelveApi:
    """The Delve calls the adapter makes, with their arguments spelled out once."""

    def __init__(self, rpc: RpcCaller) -> None:
        self.rpc = rpc

    async def version(self) -> Mapping[str, Any]:
        result: Mapping[str, Any] = await self.rpc.call("GetVersion", {})
        return result

    async def state(self) -> Mapping[str, Any]:
        result = await self.rpc.call("State", {"NonBlocking": True})
        state: Mapping[str, Any] = result["State"]
        return state

    async def list_threads(self) -> list[Thread]:
        result = await self.rpc.call("ListThreads", {})
        return [Thread.from_json(t) for t in result.get("Threads") or ()]

    async def list_goroutines(
        self,
        *,
        start: int = 0,
        count: int = 0,
        filters: Sequence[Mapping[str, Any]] = (),
        group_by: int = 0,
        group_by_key: str = "",
        max_group_members: int = 0,
        max_groups: int = 0,
        timeout: float | None = None,
    ) -> GoroutinePage:
        params: dict[str, Any] = {"Start": start, "Count": count}
        if filters:
            params["Filters"] = list(filters)
        if group_by:
            # GoroutineGroupingOptions is embedded in Delve's ListGoroutinesIn: its fields are top-level.
            params.update(
                GroupBy=group_by,
                GroupByKey=group_by_key,
                MaxGroupMembers=max_group_members,
                MaxGroups=max_groups,
            )
        result = await self.rpc.call("ListGoroutines", params, timeout=timeout)
        return GoroutinePage(
            goroutines=[Goroutine.from_json(g) for g in result.get("Goroutines") or ()],
            next_index=result.get("Nextg", -1),
            groups=[GoroutineGroupInfo.from_json(g) for g in result.get("Groups") or ()],
            too_many_groups=bool(result.get("TooManyGroups")),
        )

    async def all_goroutines(self, *, page: int = 0, timeout: float | None = None) -> list[Goroutine]:
        """Every goroutine; `page` = 0 asks for all in one call (fastest: one pass in Delve)."""
        out: list[Goroutine] = []
        start = 0
        while True:
            result = await self.list_goroutines(start=start, count=page, timeout=timeout)
            out.extend(result.goroutines)
            if result.next_index < 0 or page == 0:
                return out
            start = result.next_index

    async def stacktrace(
        self,
        goroutine_id: int,
        depth: int,
        *,
        full: bool = False,
        cfg: LoadConfig | None = None,
    ) -> list[Stackframe]:
        params: dict[str, Any] = {"Id": goroutine_id, "Depth": depth, "Full": full}
        if full:
            params["Cfg"] = (cfg or LoadConfig()).to_json()
        result = await self.rpc.call("Stacktrace", params)
        return [Stackframe.from_json(f) for f in result.get("Locations") or ()]

    async def stack_locations(self, goroutine_id: int, depth: int) -> tuple[tuple[str, str, int], ...]:
        """(function, file, line) of each frame: what grouping by stack needs, without building full
        `Stackframe` models, which for thousands of stacks costs more than Delve's own work."""
        result = await self.rpc.call("Stacktrace", {"Id": goroutine_id, "Depth": depth, "Full": False})
        return tuple(
            (((loc.get("function") or {}).get("name") or ""), loc.get("file") or "", int(loc.get("line") or 0))
            for loc in result.get("Locations") or ()
        )

    async def switch_thread(self, thread_id: int) -> None:
        await self.rpc.call("Command", {"name": "switchThread", "threadID": thread_id})

    async def switch_goroutine(self, goroutine_id: int) -> None:
        await self.rpc.call("Command", {"name": "switchGoroutine", "goroutineID": goroutine_id})

    async def eval(self, expr: str, goroutine_id: int, frame: int, cfg: LoadConfig | None = None) -> Variable:
        result = await self.rpc.call(
            "Eval",
            {"Scope": scope(goroutine_id, frame), "Expr": expr, "Cfg": (cfg or LoadConfig()).to_json()},
        )
        return Variable.from_json(result["Variable"])

    async def local_vars(self, goroutine_id: int, frame: int, cfg: LoadConfig) -> list[Variable]:
        result = await self.rpc.call("ListLocalVars", {"Scope": scope(goroutine_id, frame), "Cfg": cfg.to_json()})
        return [Variable.from_json(v) for v in result.get("Variables") or ()]

    async def function_args(self, goroutine_id: int, frame: int, cfg: LoadConfig) -> list[Variable]:
        result = await self.rpc.call("ListFunctionArgs", {"Scope": scope(goroutine_id, frame), "Cfg": cfg.to_json()})
        return [Variable.from_json(v) for v in result.get("Args") or ()]

    async def package_vars(self, regex: str, cfg: LoadConfig) -> list[Variable]:
        result = await self.rpc.call("ListPackageVars", {"Filter": regex, "Cfg": cfg.to_json()})
        return [Variable.from_json(v) for v in result.get("Variables") or ()]

    async def registers(self, goroutine_id: int, frame: int) -> list[Register]:
        result = await self.rpc.call(
            "ListRegisters", {"ThreadID": 0, "IncludeFp": False, "Scope": scope(goroutine_id, frame)}
        )
        return [Register(name=r.get("Name", ""), value=r.get("Value", "")) for r in result.get("Regs") or ()]

    async def disassemble(self, start_pc: int, end_pc: int, goroutine_id: int = -1) -> list[Instruction]:
        result = await self.rpc.call(
            "Disassemble",
            {"Scope": scope(goroutine_id, 0), "StartPC": start_pc, "EndPC": end_pc, "Flavour": 0},
        )
        out: list[Instruction] = []
        for ins in result.get("Disassemble") or ():
            loc = ins.get("Loc") or {}
            out.append(
                Instruction(
                    pc=loc.get("pc", 0),
                    text=ins.get("Text", ""),
                    bytes=bytes(ins.get("Bytes") or b"")
                    if not isinstance(ins.get("Bytes"), str)
                    else base64.b64decode(ins["Bytes"]),
                    file=loc.get("file", ""),
                    line=loc.get("line", 0),
                    function=Function.from_json(loc.get("function")),
                    at_pc=bool(ins.get("AtPC")),
                )
            )
        return out

    async def examine_memory(self, address: int, length: int) -> bytes:
        result = await self.rpc.call("ExamineMemory", {"Address": address, "Length": length})
        raw = result.get("Mem")
        if isinstance(raw, str):
            return base64.b64decode(raw)
        return bytes(raw or b"")

    async def find_location(self, spec: str, goroutine_id: int = -1) -> list[Location]:
        result = await self.rpc.call(
            "FindLocation",
            {"Scope": scope(goroutine_id, 0), "Loc": spec, "IncludeNonExecutableLines": False},
        )
        return [loc for d in result.get("Locations") or () if (loc := Location.from_json(d)) is not None]

    async def packages_build_info(self) -> list[Mapping[str, Any]]:
        result = await self.rpc.call("ListPackagesBuildInfo", {"IncludeFiles": False})
        infos: list[Mapping[str, Any]] = result.get("List") or []
        return infos
