"""How a Delve variable reads in the editor: its one-line value, whether and how it expands, how it is
re-read (pure functions over `backends.delve.api.Variable`).

A child that Delve did not load (its recursion limit) is re-read by address with a typed
expression (`*(*"main.T")(0xc000012345)`), which works in any scope; large slices, arrays, maps
and strings are paged by reslicing that expression, which Delve's evaluator supports for all four.
The tree of variables a client walks is `session.variables`.
"""

from __future__ import annotations

from collections.abc import Sequence

from gocore_dap.backends.delve.api import LoadConfig, Variable
from gocore_dap.goviews import kinds

# What a listing loads at once; larger collections are paged by the client.
LISTING_CONFIG = LoadConfig(max_variable_recurse=1, max_string_len=512, max_array_values=64)
PAGE_SIZE = 64
STRING_CHUNK = 1024
SUMMARY_ITEMS = 8
SUMMARY_CHARS = 200


def is_nil(v: Variable) -> bool:
    if v.kind in (kinds.PTR, kinds.UNSAFE_POINTER, kinds.FUNC, kinds.CHAN, kinds.MAP, kinds.SLICE, kinds.INTERFACE):
        if v.kind == kinds.PTR:
            return v.children[0].addr == 0 if v.children else v.base == 0 and v.value in ("", "0")
        if v.kind == kinds.INTERFACE:
            # Delve shows a nil interface's data as a child of kind Invalid (0) and type "void".
            return not v.children or v.children[0].kind == 0
        if v.kind == kinds.UNSAFE_POINTER:
            return _unsafe_pointer_target(v) == 0
        if v.kind in (kinds.MAP, kinds.SLICE):
            return v.base == 0 and v.len == 0 and v.cap == 0
        if v.kind == kinds.CHAN:
            return v.base == 0 and not v.children
        if v.kind == kinds.FUNC:
            return v.value == "" and v.base == 0
    return False


def _unsafe_pointer_target(v: Variable) -> int:
    """The address an unsafe.Pointer holds: Delve leaves `base` 0 and puts it in its child's addr."""
    return v.children[0].addr if v.children else v.base


def has_children(v: Variable) -> bool:
    if v.unreadable:
        return False
    if v.kind == kinds.STRUCT:
        # onlyAddr: Delve stopped at the address (recursion limit); the fields are re-read on expand.
        return v.len > 0 or bool(v.children) or (v.only_addr and v.addr != 0)
    if v.kind in (kinds.ARRAY, kinds.SLICE, kinds.MAP):
        return v.len > 0
    if v.kind == kinds.PTR:
        return not is_nil(v)
    if v.kind == kinds.INTERFACE:
        return bool(v.children) and not is_nil(v) and has_children(v.children[0])
    if v.kind == kinds.CHAN:
        return not is_nil(v)
    if v.kind == kinds.STRING:
        return string_chunks(v) > 0
    if v.kind == kinds.UNSAFE_POINTER:
        return False
    return bool(v.children)


def _loaded_bytes(v: Variable) -> int:
    return len(v.value.encode("utf-8", "surrogatepass"))


def string_chunks(v: Variable) -> int:
    """How many STRING_CHUNK-byte pieces a string cut in the listing is offered as (0: shown whole).

    The listing shows the first LISTING_CONFIG.max_string_len bytes; the pieces let an editor read
    all of a long string, page by page, without loading megabytes into one value.
    """
    if v.kind != kinds.STRING or v.unreadable or v.len <= _loaded_bytes(v):
        return 0
    return -(-v.len // STRING_CHUNK)


def children_loaded(v: Variable) -> bool:
    if v.kind == kinds.STRUCT:
        return not v.only_addr and len(v.children) >= v.len
    if v.kind in (kinds.ARRAY, kinds.SLICE):
        return len(v.children) >= min(v.len, PAGE_SIZE)
    if v.kind == kinds.MAP:
        return len(v.children) // 2 >= min(v.len, PAGE_SIZE)
    if v.kind == kinds.PTR:
        return bool(v.children) and (not has_children(v.children[0]) or children_loaded(v.children[0]))
    if v.kind in (kinds.INTERFACE, kinds.CHAN):
        return bool(v.children)
    return True


def address_expr(v: Variable) -> str:
    """A scope-free expression that reads `v` again from the core, or "" if it has no address."""
    if v.addr == 0 or not v.type or (v.only_addr and v.kind == 0):
        return ""
    return f'*(*"{v.type}")({v.addr:#x})'


def indexed_count(v: Variable) -> int:
    """How many indexed children a paging client should ask for (0: not paged).

    Large maps are announced as indexed too, as `dlv dap` does: clients page only indexed
    children (VS Code fetches named ones in a single request), and Delve can skip map entries.
    A long string is offered as its pieces (string_chunks).
    """
    if v.kind in (kinds.ARRAY, kinds.SLICE, kinds.MAP) and v.len > PAGE_SIZE:
        return v.len
    return string_chunks(v)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def format_value(v: Variable, *, top: bool = True, depth: int = 0) -> str:
    """One line, in Go syntax where it can be: what the editor shows beside the name."""
    if v.unreadable:
        return f"(unreadable {v.unreadable})"
    kind = v.kind
    if kind == kinds.STRING:
        text = _quote(v.value)
        if v.len > len(v.value.encode("utf-8", "surrogatepass")):
            text += f"...+{v.len - len(v.value.encode('utf-8', 'surrogatepass'))} more"
        return text
    if kind == kinds.PTR:
        if is_nil(v):
            return "nil"
        if not v.children:
            return f"({v.type})({v.base:#x})" if v.base else f"({v.type})"
        target = v.children[0]
        if depth > 1 or target.only_addr:
            return f"({v.type})({target.addr:#x})"
        return "*" + format_value(target, top=False, depth=depth + 1)
    if kind == kinds.UNSAFE_POINTER:
        address = _unsafe_pointer_target(v)
        return f"unsafe.Pointer({address:#x})" if address else "unsafe.Pointer(nil)"
    if kind == kinds.FUNC:
        return v.value or "nil"
    if kind == kinds.CHAN:
        if is_nil(v):
            return "nil"
        # Delve shows a channel as its runtime.hchan; len/cap of the channel are hchan's fields.
        hchan = {c.name: c.value for c in v.children}
        if "qcount" in hchan:
            text = f"{v.type} {hchan['qcount']}/{hchan.get('dataqsiz', '?')}"
            return text + (" (closed)" if hchan.get("closed", "0") not in ("0", "") else "")
        return v.type
    if kind == kinds.INTERFACE:
        if is_nil(v):
            return "nil"
        data = v.children[0]
        inner = format_value(data, top=False, depth=depth)
        if data.kind in (kinds.PTR, kinds.STRUCT):
            return inner  # already names its dynamic type
        if data.type == "error" or not data.type:
            return inner
        return f"{data.type}({inner})"
    if kind in (kinds.ARRAY, kinds.SLICE):
        if kind == kinds.SLICE and is_nil(v):
            return "nil"
        prefix = f"{v.type} len: {v.len}, cap: {v.cap}, " if kind == kinds.SLICE and top else ""
        return prefix + _summarise_items([format_value(c, top=False, depth=depth + 1) for c in v.children], v.len)
    if kind == kinds.MAP:
        if is_nil(v):
            return "nil"
        pairs = [
            f"{format_value(v.children[i], top=False, depth=depth + 1)}: "
            f"{format_value(v.children[i + 1], top=False, depth=depth + 1)}"
            for i in range(0, len(v.children) - 1, 2)
        ]
        prefix = f"{v.type} " if top else ""
        return prefix + _summarise_items(pairs, v.len)
    if kind == kinds.STRUCT:
        if depth > 1 or not v.children:
            return f"{v.type} {{...}}" if v.len else f"{v.type} {{}}"
        fields = [f"{c.name}: {format_value(c, top=False, depth=depth + 1)}" for c in v.children]
        return f"{v.type} " + _summarise_items(fields, v.len, braces="{}")
    if kind in (kinds.COMPLEX64, kinds.COMPLEX128) and v.children and len(v.children) == 2:
        return f"({v.children[0].value} + {v.children[1].value}i)"
    if v.value:
        return v.value
    return f"{v.type}" if v.type else ""


def _summarise_items(items: Sequence[str], total: int, *, braces: str = "[]") -> str:
    shown: list[str] = []
    length = 0
    for item in items[:SUMMARY_ITEMS]:
        if length + len(item) > SUMMARY_CHARS and shown:
            break
        shown.append(item)
        length += len(item) + 2
    body = ", ".join(shown)
    if total > len(shown):
        body += f", ...+{total - len(shown)} more" if shown else f"...+{total} more"
    return f"{braces[0]}{body}{braces[1]}"


def child_name_and_expr(parent: Variable, parent_expr: str, index: int, child: Variable) -> tuple[str, str]:
    """The name a child is shown under and the expression that reads it (for evaluateName)."""
    kind = parent.kind
    if kind == kinds.STRUCT:
        return child.name, f"{parent_expr}.{child.name}" if parent_expr else ""
    if kind in (kinds.ARRAY, kinds.SLICE):
        return f"[{index}]", f"{parent_expr}[{index}]" if parent_expr else ""
    if kind == kinds.PTR:
        return f"*{child.name or ''}" if child.name else "*", f"(*{parent_expr})" if parent_expr else ""
    if kind == kinds.INTERFACE:
        return "data", f"{parent_expr}.(data)" if parent_expr else ""
    return child.name or f"[{index}]", ""
