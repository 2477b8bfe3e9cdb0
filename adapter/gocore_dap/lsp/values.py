"""A variable as one short line of a hover: `o = main.order {id: 102, customer: "acme", quantity: -2}`.

The hover on the crash line shows the crashing frame's arguments and locals the way a reader skims them;
the debugger (Variables view) is where they are explored. Pure over Delve's variable records.
"""

from __future__ import annotations

from collections.abc import Sequence

from gocore_dap.backends.delve.api import LoadConfig, Variable
from gocore_dap.goviews import kinds

__all__ = ["HOVER_CONFIG", "short_value", "variable_line"]

# What one hover reads from the core per variable: a level of fields, short strings, a few elements.
HOVER_CONFIG = LoadConfig(follow_pointers=True, max_variable_recurse=1, max_string_len=80, max_array_values=4,
                          max_struct_fields=8)  # fmt: skip
MAX_CHARS = 120
_FIELDS = 4


def _clip(text: str, limit: int = MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _string(v: Variable) -> str:
    quoted = '"' + v.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return quoted + ("…" if v.len > len(v.value) else "")


def _items(children: Sequence[Variable], total: int, depth: int, named: bool) -> str:
    shown = [
        f"{c.name}: {short_value(c, depth + 1)}" if named else short_value(c, depth + 1) for c in children[:_FIELDS]
    ]
    if total > len(shown):
        shown.append("…")
    return ", ".join(shown)


def short_value(v: Variable, depth: int = 0) -> str:
    """The value alone, one line, nested at most two levels."""
    if v.unreadable:
        return f"(unreadable: {v.unreadable})"
    kind = v.kind
    if kind == kinds.STRING:
        return _string(v)
    if (
        kind in (kinds.BOOL, kinds.FLOAT32, kinds.FLOAT64, kinds.COMPLEX64, kinds.COMPLEX128)
        or kind in kinds.SIGNED_INTS
    ):
        return v.value
    if kind in kinds.UNSIGNED_INTS or kind == kinds.UINTPTR:
        return v.value
    if kind == kinds.PTR:
        target = v.children[0] if v.children else None
        if target is None or target.addr == 0:
            return "nil"
        if depth >= 1 or target.only_addr:
            return f"*{v.type} {target.addr:#x}" if not v.type.startswith("*") else f"({v.type}) {target.addr:#x}"
        return "&" + short_value(target, depth + 1)
    if kind == kinds.STRUCT:
        if depth >= 2 or v.only_addr:
            return f"{v.type} {{…}}"
        return f"{v.type} {{{_items(v.children, max(v.len, len(v.children)), depth, named=True)}}}"
    if kind == kinds.INTERFACE:
        if not v.children or v.children[0].kind == kinds.INVALID:
            return "nil"
        inner = v.children[0]
        return f"{inner.type}({short_value(inner, depth + 1)})" if depth < 2 else inner.type
    if kind in (kinds.SLICE, kinds.ARRAY):
        if kind == kinds.SLICE and v.base == 0 and v.len == 0:
            return "nil"
        return f"{v.type} len={v.len} [{_items(v.children, v.len, depth, named=False)}]"
    if kind == kinds.MAP:
        if v.base == 0 and v.len == 0:
            return "nil"
        return f"{v.type} len={v.len}"
    if kind == kinds.CHAN:
        return f"{v.type} {v.value}".strip() if v.base else "nil"
    if kind == kinds.FUNC:
        return v.value or "nil"
    return v.value or v.type


def variable_line(v: Variable) -> str:
    return _clip(f"{v.name} = {short_value(v)}")
