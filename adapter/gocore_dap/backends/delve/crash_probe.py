"""The Delve queries that recover how a Go program died: panic values, fatal error text, signals.

`probe_crash` runs on the way to the first stop, so it stays small: one State, one Stacktrace of the
crashing goroutine (or thread), and a handful of Evals/ExamineMemory calls chosen by what that stack
shows (see goviews.crash for how the kind is decided). It never lists goroutines. Every step that fails
is recorded in `CrashFacts.probe_errors` and the probe goes on: a partial answer beats none.

Facts measured on Delve 1.27.2 with Go 1.25.0 and 1.26.8 cores (linux/amd64):
* `runtime.curg._panic.arg` holds the printed text for error/Stringer values (preprintpanics replaced
  them). Delve 1.27 cannot resolve the dynamic type of many interface values in 1.25 binaries ("could
  not resolve interface type"), and its type names carry import paths, so every non-string value is
  read through `*(*runtime.eface)(addr)` and the runtime's own type name from the module's type data.
* `runtime.sighandler`'s arguments are optimised away ("could not find loclist entry") on both
  versions, but `runtime.sigtrampgo`'s `sig`/`info`/`gp` are readable, and Delve unwinds through the
  signal frame, so the frame after sigtrampgo is the interrupted PC.
* `runtime.printBacklog` holds "fatal error: ...\\n" (the runtime stops recording once panicking is
  set, so never the panic text); `runtime.fatal`'s `s` is readable, `runtime.throw`'s often is not.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

import attrs

from gocore_dap.backends.delve.errors import DelveRpcError
from gocore_dap.goviews.crash import (
    CrashFacts,
    FrameFact,
    GoroutineSignalFact,
    HandledSignalFact,
    PanicFact,
    locate_crash,
)
from gocore_dap.goviews.wait_reasons import WaitReasonTable

__all__ = ["RpcCaller", "probe_crash", "read_build_version", "read_wait_reasons"]

_T = TypeVar("_T")


class RpcCaller(Protocol):
    """What the probe needs from the RPC client: `RPCServer.<method>` -> the JSON `result`."""

    async def call(self, method: str, params: dict[str, Any]) -> Any: ...


class _Unreadable(Exception):
    """Delve answered, but the value it loaded is unreadable or not what the runtime layout promises."""


# Load configurations. Scalars: no pointer following, struct fields without recursion (runtime.curg is
# ~20 KB of JSON that way, one call instead of five).
_CFG_SCALAR = {"FollowPointers": False, "MaxVariableRecurse": 0, "MaxStringLen": 64,
               "MaxArrayValues": 0, "MaxStructFields": -1}  # fmt: skip
# A panic record: follow `arg` one level so a string value arrives in the same answer.
_CFG_PANIC = {"FollowPointers": True, "MaxVariableRecurse": 1, "MaxStringLen": 64 * 1024,
              "MaxArrayValues": 0, "MaxStructFields": -1}  # fmt: skip
_CFG_TEXT = {"FollowPointers": True, "MaxVariableRecurse": 0, "MaxStringLen": 64 * 1024,
             "MaxArrayValues": 0, "MaxStructFields": 0}  # fmt: skip
_CFG_TABLE = {"FollowPointers": True, "MaxVariableRecurse": 1, "MaxStringLen": 128,
              "MaxArrayValues": 256, "MaxStructFields": -1}  # fmt: skip

_MAX_PANICS = 64  # a longer chain is a loop in corrupted memory
_MAX_MODULES = 64
_EXAMINE_LIMIT = 1000  # Delve's ExamineMemory refuses more per call
_KIND_MASK = 0x1F  # abi.KindMask: 1.25 keeps flag bits above it in Kind_
_TFLAG_EXTRA_STAR = 1 << 1  # abi.TFlagExtraStar: the stored name has a '*' the type does not
_BASIC_VALUE_KINDS = range(1, 17)  # abi.Bool .. abi.Complex128: printed by value
_KIND_STRING = 24
_INSTRUCTION_BYTES = 16  # runtime.fatalsignal prints up to 16 bytes at the PC of SIGILL/SIGFPE
_NUMBER_RE = re.compile(r"\((-?\d+)\)\s*$")


# --- small helpers ----------------------------------------------------------------------------------------


@attrs.define
class _Probe:
    rpc: RpcCaller
    goroutine_id: int | None
    errors: list[str] = attrs.field(factory=list)
    modules: list[tuple[int, int]] | None = None

    def scope(self, frame: int = 0) -> dict[str, int]:
        # -1 is Delve's "current goroutine", which falls back to the current thread without one.
        gid = self.goroutine_id if self.goroutine_id is not None else -1
        return {"GoroutineID": gid, "Frame": frame, "DeferredCall": 0}

    async def attempt(self, what: str, call: Awaitable[_T]) -> _T | None:
        try:
            return await call
        except (DelveRpcError, _Unreadable, KeyError, ValueError, TypeError, IndexError) as exc:
            self.errors.append(f"{what}: {exc}")
            return None

    async def eval(self, expr: str, cfg: dict[str, Any], frame: int = 0) -> dict[str, Any]:
        result = await self.rpc.call("Eval", {"Scope": self.scope(frame), "Expr": expr, "Cfg": cfg})
        variable: dict[str, Any] = result["Variable"]
        if variable.get("unreadable"):
            raise _Unreadable(f"{expr}: {variable['unreadable']}")
        return variable

    async def eval_int(self, expr: str, frame: int = 0) -> int:
        return _int_value(await self.eval(expr, _CFG_SCALAR, frame))

    async def examine(self, address: int, length: int) -> bytes:
        """Target memory, always returned little-endian-as-stored (amd64/arm64 are little-endian)."""
        data = b""
        while len(data) < length:
            chunk = min(_EXAMINE_LIMIT, length - len(data))
            result = await self.rpc.call("ExamineMemory", {"Address": address + len(data), "Length": chunk})
            data += base64.b64decode(result["Mem"])
        return data


def _int_value(variable: dict[str, Any]) -> int:
    """An integer, pointer or bool value as Delve prints it ("42", "0x..", "Name (7)", "A|B (54)")."""
    value = str(variable.get("value", ""))
    if value in ("true", "false"):
        return int(value == "true")
    match = _NUMBER_RE.search(value)
    if match is not None:
        return int(match[1])
    return int(value, 0)


def _fields(variable: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {child["name"]: child for child in variable.get("children") or []}


# --- the probe --------------------------------------------------------------------------------------------


async def probe_crash(rpc: RpcCaller, *, stack_depth: int = 64) -> CrashFacts:
    """Read the facts of the crash from a freshly loaded core.

    Call it before any switchThread/switchGoroutine: Delve's current thread is the one the kernel
    dumped, which crash mode makes the thread that ran the crash.
    """
    state = (await rpc.call("State", {"NonBlocking": True}))["State"]
    thread = state.get("currentThread") or {}
    goroutine = state.get("currentGoroutine") or None
    gid = int(goroutine["id"]) if goroutine and goroutine.get("id") else None
    probe = _Probe(rpc, gid)

    go_version = await probe.attempt("runtime.buildVersion", read_build_version(rpc)) or ""
    frames = await probe.attempt("Stacktrace", _stacktrace(probe, stack_depth)) or []
    site = locate_crash([f.function for f in frames])

    panic_address = 0
    goroutine_signal: GoroutineSignalFact | None = None
    if gid is not None:
        curg = await probe.attempt("runtime.curg", probe.eval("runtime.curg", _CFG_SCALAR))
        if curg is not None:
            fields = _fields(curg)
            panic_address = _int_value(fields["_panic"])
            goroutine_signal = GoroutineSignalFact(
                _int_value(fields["sig"]), _int_value(fields["sigcode0"]),
                _int_value(fields["sigcode1"]), _int_value(fields["sigpc"]),
            )  # fmt: skip

    panics: list[PanicFact] = []
    if panic_address and site.kind != "signal":
        panics = await probe.attempt("panic chain", _read_panics(probe, panic_address)) or []

    backlog: str | None = None
    throw_text: str | None = None
    if site.kind in ("fatal error", "unknown"):
        backlog = await probe.attempt("runtime.printBacklog", _read_backlog(probe))
        origin = site.origin_index
        if origin is not None and frames[origin].function in ("runtime.throw", "runtime.fatal"):
            # Optimised runtime code often loses throw's `s`; fatal's survives. Both are only a
            # cross-check of the backlog (and its stand-in when the message wrapped the 512-byte ring).
            # Not worth a probe error when lost: the backlog is the primary source.
            with contextlib.suppress(DelveRpcError, _Unreadable, KeyError):
                throw_text = str((await probe.eval("s", _CFG_TEXT, origin))["value"])

    signal_numbers = set()
    if goroutine_signal is not None and goroutine_signal.sig:
        signal_numbers.add(goroutine_signal.sig)
    handled_number: int | None = None
    if site.kind == "signal" and site.sigtramp_index is not None:
        handled_number = await probe.attempt("sigtrampgo sig", probe.eval_int("sig", site.sigtramp_index))
        if handled_number is not None:
            signal_numbers.add(handled_number)
    signal_names: dict[int, str] = {}
    for number in sorted(signal_numbers):
        name = await probe.attempt(
            f"runtime.sigtable[{number}]", probe.eval(f"runtime.sigtable[{number}].name", _CFG_TEXT)
        )
        if name is not None:
            signal_names[number] = str(name["value"])

    handled: HandledSignalFact | None = None
    if handled_number is not None and site.sigtramp_index is not None and site.origin_index is not None:
        handled = await probe.attempt(
            "signal context",
            _read_handled_signal(
                probe, handled_number, site.sigtramp_index, frames[site.origin_index].pc,
                signal_names.get(handled_number, ""),
            ),
        )  # fmt: skip

    return CrashFacts(
        go_version=go_version,
        crashing_thread_id=int(thread.get("id", 0)),
        goroutine_id=gid,
        goroutine_status=int(goroutine["status"]) if goroutine else None,
        goroutine_wait_reason=int(goroutine.get("waitReason", 0)) if goroutine else None,
        frames=tuple(frames),
        panics=tuple(panics),
        goroutine_signal=goroutine_signal,
        handled_signal=handled,
        signal_names=signal_names,
        print_backlog=backlog,
        throw_text=throw_text,
        probe_errors=tuple(probe.errors),
    )


async def read_build_version(rpc: RpcCaller) -> str:
    """The target's `runtime.buildVersion` (e.g. "go1.26.8")."""
    result = await rpc.call(
        "Eval", {"Scope": {"GoroutineID": -1, "Frame": 0, "DeferredCall": 0},
                 "Expr": "runtime.buildVersion", "Cfg": _CFG_TEXT},
    )  # fmt: skip
    variable = result["Variable"]
    if variable.get("unreadable"):
        raise _Unreadable(f"runtime.buildVersion: {variable['unreadable']}")
    return str(variable["value"])


async def read_wait_reasons(rpc: RpcCaller) -> WaitReasonTable:
    """The target's wait-reason and status strings (one Eval each, ~1-3 ms)."""
    probe = _Probe(rpc, None)
    reasons = await _read_string_array(probe, "runtime.waitReasonStrings")
    # Older runtimes may lack the status table; the numbers of docs/architecture.md cover them.
    statuses = await probe.attempt("runtime.gStatusStrings", _read_string_array(probe, "runtime.gStatusStrings"))
    version = await probe.attempt("runtime.buildVersion", read_build_version(rpc))
    return WaitReasonTable.from_strings(reasons, statuses or [], version or "")


async def _read_string_array(probe: _Probe, expr: str) -> list[str]:
    variable = await probe.eval(expr, _CFG_TABLE)
    length = int(variable.get("len", 0))
    if length > len(variable.get("children") or []):
        variable = await probe.eval(expr, {**_CFG_TABLE, "MaxArrayValues": length})
    return [str(child.get("value", "")) for child in variable.get("children") or []]


async def _stacktrace(probe: _Probe, depth: int) -> list[FrameFact]:
    gid = probe.goroutine_id if probe.goroutine_id is not None else -1
    result = await probe.rpc.call("Stacktrace", {"Id": gid, "Depth": depth, "Full": False, "Cfg": None})
    frames: list[FrameFact] = []
    for location in result.get("Locations") or []:
        function = location.get("function") or {}
        frames.append(
            FrameFact(
                function=str(function.get("name", "")),
                file=str(location.get("file", "")),
                line=int(location.get("line", 0)),
                pc=int(location.get("pc", 0)),
                frame_offset=int(location.get("FrameOffset", 0)),
            )
        )
    return frames


async def _read_backlog(probe: _Probe) -> str:
    index = await probe.eval_int("runtime.printBacklogIndex")
    ring = await probe.eval("runtime.printBacklog", {**_CFG_SCALAR, "MaxArrayValues": 0})
    data = await probe.examine(int(ring["addr"]), int(ring["len"]))
    if not 0 <= index < len(data):
        raise _Unreadable(f"printBacklogIndex {index} outside a {len(data)}-byte buffer")
    # Oldest byte first; a ring that never wrapped still has its zero bytes in front.
    ordered = (data[index:] + data[:index]).lstrip(b"\0")
    return ordered.decode("utf-8", errors="replace")


async def _read_panics(probe: _Probe, address: int) -> list[PanicFact]:
    records: list[PanicFact] = []
    seen: set[int] = set()
    while address and address not in seen and len(records) < _MAX_PANICS:
        seen.add(address)
        loaded = await probe.attempt(
            f"runtime._panic at {address:#x}", probe.eval(f"*(*runtime._panic)({address:#x})", _CFG_PANIC)
        )
        if loaded is None:
            break  # keep the newer records already read
        record = _fields(loaded)
        value = await probe.attempt("panic value", _read_panic_value(probe, record["arg"]))
        if value is None:
            value = PanicFact("", 0, unreadable=probe.errors[-1])
        records.append(
            attrs.evolve(
                value,
                recovered=bool(_int_value(record["recovered"])),
                repanicked=bool(_int_value(record["repanicked"])) if "repanicked" in record else False,
                goexit=bool(_int_value(record["goexit"])),
            )
        )
        address = _int_value(record["link"])
    return records


async def _read_panic_value(probe: _Probe, arg: dict[str, Any]) -> PanicFact:
    children = arg.get("children") or []
    if children and children[0].get("type") == "string" and not children[0].get("unreadable"):
        # The common case, and every error/Stringer value: the runtime stored the printed text.
        text, length = str(children[0]["value"]), int(children[0]["len"])
        return PanicFact("string", _KIND_STRING, text=text, text_len=length)
    eface = _fields(await probe.eval(f"*(*runtime.eface)({int(arg['addr']):#x})", _CFG_PANIC))
    type_address = _int_value(eface["_type"])
    data = _int_value(eface["data"])
    if type_address == 0:
        return PanicFact("", 0)
    rtype = _fields((eface["_type"].get("children") or [{}])[0])
    if not rtype:
        raise _Unreadable(f"abi.Type at {type_address:#x} did not load")
    kind = _int_value(rtype["Kind_"]) & _KIND_MASK
    name = await probe.attempt(
        "runtime type name",
        _runtime_type_name(probe, type_address, _int_value(rtype["Str"]), _int_value(rtype["TFlag"])),
    )
    if name is None:
        # Delve's name has import paths ("math/big.Word"); the runtime prints package names ("big.Word").
        name = re.sub(r"[\w.\-~]+/", "", str(children[0].get("type", ""))) if children else "?"
    if kind == _KIND_STRING:
        loaded = await probe.eval(f"*(*string)({data:#x})", _CFG_TEXT)
        text, length = str(loaded["value"]), int(loaded["len"])
        return PanicFact(name, kind, text=text, text_len=length, data_pointer=data)
    if kind in _BASIC_VALUE_KINDS:
        size = _int_value(rtype["Size_"])
        raw = await probe.examine(data, size) if 0 < size <= 16 else b""
        return PanicFact(name, kind, value_hex=raw.hex(), data_pointer=data)
    return PanicFact(name, kind, data_pointer=data)


async def _runtime_type_name(probe: _Probe, type_address: int, name_off: int, tflag: int) -> str:
    """The runtime's rtype.string(): resolveNameOff in the module holding the type, then abi.Name."""
    if probe.modules is None:
        probe.modules = await _modules(probe)
    for types, etypes in probe.modules:
        if types <= type_address < etypes:
            break
    else:
        raise _Unreadable(f"type {type_address:#x} is in no module's type data")
    name_address = types + name_off
    if not types <= name_address < etypes:
        raise _Unreadable(f"name offset {name_off} leaves the module's type data")
    # abi.Name: one flag byte, a uvarint length, the bytes.
    head = await probe.examine(name_address, min(16, etypes - name_address))
    length, shift, pos = 0, 0, 1
    while pos < len(head):
        byte = head[pos]
        length |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            break
        shift += 7
    else:
        raise _Unreadable("unterminated type name length")
    if name_address + pos + length > etypes:
        raise _Unreadable(f"type name of {length} bytes leaves the module's type data")
    text = (await probe.examine(name_address + pos, length)).decode("utf-8", errors="replace")
    return text[1:] if tflag & _TFLAG_EXTRA_STAR else text


async def _modules(probe: _Probe) -> list[tuple[int, int]]:
    modules: list[tuple[int, int]] = []
    expr = "runtime.firstmoduledata"
    for _ in range(_MAX_MODULES):
        modules.append((await probe.eval_int(f"{expr}.types"), await probe.eval_int(f"{expr}.etypes")))
        following = await probe.eval_int(f"{expr}.next")
        if not following:
            break
        expr = f"(*runtime.moduledata)({following:#x})"
    return modules


async def _read_handled_signal(probe: _Probe, number: int, tramp: int, pc: int, name: str) -> HandledSignalFact:
    # Each piece on its own: the signal's number and name matter most, the rest is detail.
    code = await probe.attempt("siginfo.si_code", probe.eval_int("info.si_code", tramp))
    addr = await probe.attempt("siginfo.si_addr", probe.eval_int("info.si_addr", tramp))
    m_id: int | None = None
    in_cgo = False
    m = await probe.attempt("the signalled M", _signalled_m(probe, tramp))
    if m is not None:
        m_id, in_cgo = m
    instruction: str | None = None
    if name.startswith(("SIGILL:", "SIGFPE:")):
        instruction = await probe.attempt("instruction bytes", _instruction_bytes(probe, pc))
    return HandledSignalFact(number, code or 0, (addr or 0) & 0xFFFF_FFFF_FFFF_FFFF, pc, m_id, in_cgo, instruction)


async def _signalled_m(probe: _Probe, tramp: int) -> tuple[int, bool] | None:
    """The M's id, and whether the signal hit C code: sigtrampgo's gp is the g the signal interrupted,
    and fatalsignal's cgo note needs it to be the M's g0 while the M runs a goroutine
    (mp.incgo && gp == mp.g0 && mp.curg != nil)."""
    gp = await probe.eval_int("gp", tramp)
    if not gp:
        return None
    m = _fields(await probe.eval("*gp.m", _CFG_SCALAR, tramp))
    in_cgo = bool(_int_value(m["incgo"])) and gp == _int_value(m["g0"]) and _int_value(m["curg"]) != 0
    return _int_value(m["id"]), in_cgo


async def _instruction_bytes(probe: _Probe, pc: int) -> str:
    # Like the runtime: up to 16 bytes, but never past the end of the PC's page.
    page = await probe.eval_int("runtime.physPageSize")
    count = min(_INSTRUCTION_BYTES, page - pc % page) if page > 0 else _INSTRUCTION_BYTES
    return (await probe.examine(pc, count)).hex()
