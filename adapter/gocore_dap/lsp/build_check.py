"""Is this source text the text the program was built from? A check against what the binary recorded.

The build machine's files are not here, so the check compares the text with facts the compiler wrote into
the binary (`lsp.build_lines`) and with the stacks themselves. It is sound in one direction: every test
is true of the source that was compiled, so a failure proves the text differs from the build and the
marks would land on the wrong lines. The tests, for each file:

1. the file is long enough for every line the core names;
2. every line the DWARF line table says holds code is a code line here (not blank, not only a comment):
   inserting or deleting a blank line or a comment anywhere above code shifts code onto one;
3. each marked function's declaration line (`DW_AT_decl_line`) holds `func` and, for a named function,
   its name (`func (t *txn) rollback(`); a `go`/`defer` wrapper's holds `go`/`defer`;
4. each marked line calls what the stack says it calls: the frame above it is the callee, so the line
   (or the three before it, for a call split over lines) names it: `Lock` for `sync.(*Mutex).Lock`, `<-`
   for a channel operation, `select`, `panic`, `append`, `[` for an index.

A text that passes may still differ (an edit that keeps every tested line), so the check is a filter,
not a proof of equality; edits made in the editor after the check are followed line by line instead
(`lsp.line_tracking`).

Pure: stdlib and attrs only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import attrs

__all__ = [
    "LineExpectation",
    "Verdict",
    "callee_tokens",
    "check_text",
    "code_line_flags",
    "declaration_tokens",
]

# Runtime functions a line of Go calls without naming them, and what the line shows instead.
_RUNTIME_TOKENS: Mapping[str, tuple[str, ...]] = {
    "runtime.gopanic": ("panic",),
    "panic": ("panic",),
    "runtime.chanrecv1": ("<-",),
    "runtime.chanrecv2": ("<-", "range"),
    "runtime.chansend1": ("<-",),
    "runtime.selectgo": ("select",),
    "runtime.block": ("select",),
    "runtime.selectnbsend": ("select",),
    "runtime.selectnbrecv": ("select",),
    "runtime.growslice": ("append",),
    "runtime.newproc": ("go ",),
    "runtime.closechan": ("close",),
    "runtime.panicdivide": ("/", "%"),
    "runtime.mapaccess1": ("[",),
    "runtime.mapaccess2": ("[",),
    "runtime.mapassign": ("[",),
    "runtime.mapdelete": ("delete",),
}
_RUNTIME_PREFIX_TOKENS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("runtime.goPanicIndex", ("[",)),
    ("runtime.goPanicSlice", ("[",)),
    ("runtime.panicIndex", ("[",)),
    ("runtime.panicSlice", ("[",)),
    ("runtime.mapaccess", ("[",)),
    ("runtime.mapassign", ("[",)),
    ("internal/runtime/maps.runtime_mapaccess", ("[",)),
    ("internal/runtime/maps.runtime_mapassign", ("[",)),
)
_CLOSURE = re.compile(r"^(func|gowrap|deferwrap)\d+$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# How far above a marked line the callee may be named: a call whose arguments span lines.
CALL_WINDOW = 3


def _short_name(function: str) -> str:
    """The last identifier of a Go symbol: `Lock` of `sync.(*Mutex).Lock`, `Put` of `main.(*C[...]).Put`."""
    name = function
    while "[" in name:
        # Type arguments can hold dots: cut them before looking for the last one.
        open_at, close_at = name.find("["), name.find("]", name.find("["))
        if close_at < 0:
            break
        name = name[:open_at] + name[close_at + 1 :]
    return name.rsplit(".", 1)[-1]


def callee_tokens(function: str) -> tuple[str, ...] | None:
    """What a line that calls `function` shows (any one of them), or None when nothing can be said: a
    closure called through a variable, the runtime's park machinery, a fault (no call at all)."""
    if function in _RUNTIME_TOKENS:
        return _RUNTIME_TOKENS[function]
    for prefix, tokens in _RUNTIME_PREFIX_TOKENS:
        if function.startswith(prefix):
            return tokens
    if function.startswith(("runtime.", "internal/")) or not function:
        return None
    short = _short_name(function)
    if short.startswith("_Cfunc_"):
        short = short.removeprefix("_Cfunc_")
    if function.startswith("C."):
        short = function.removeprefix("C.")
    if _CLOSURE.match(short) or not _IDENT.match(short):
        return None
    return (short,)


def declaration_tokens(function: str) -> tuple[str, ...]:
    """Every token the declaration line of `function` holds: `func` and the name of a named function;
    a `go` or `defer` statement's wrapper is declared on that statement's line."""
    short = _short_name(function)
    if short.startswith("gowrap"):
        return ("go",)
    if short.startswith("deferwrap"):
        return ("defer",)
    if _CLOSURE.match(short) or not _IDENT.match(short):
        return ("func",)
    return ("func", short)


@attrs.frozen
class LineExpectation:
    """`line` (1-based) holds every one of `all_of` (declarations) or, alone or with the lines up to
    CALL_WINDOW above it, one of `any_of` (calls); `what` says it in a message."""

    line: int
    what: str
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()


@attrs.frozen
class Verdict:
    matches: bool
    reason: str = ""  # why not, in one sentence a user can check


def code_line_flags(lines: Sequence[str]) -> list[bool]:
    """For each line, whether anything but white space and comments is on it (Go and C comments; string
    literals, raw strings across lines included, count as code)."""
    flags: list[bool] = []
    in_block = False
    in_raw = False
    for text in lines:
        code = in_raw  # a line inside a raw string literal is part of an expression, even a blank one
        i = 0
        n = len(text)
        while i < n:
            ch = text[i]
            if in_block:
                end = text.find("*/", i)
                if end < 0:
                    i = n
                    break
                in_block = False
                i = end + 2
                continue
            if in_raw:
                code = True
                end = text.find("`", i)
                if end < 0:
                    i = n
                    break
                in_raw = False
                i = end + 1
                continue
            if ch in " \t\r\f\v":
                i += 1
            elif text.startswith("//", i):
                break
            elif text.startswith("/*", i):
                in_block = True
                i += 2
            elif ch == "`":
                code = True
                in_raw = True
                i += 1
            elif ch in "\"'":
                code = True
                i += 1
                while i < n and text[i] != ch:
                    i += 2 if text[i] == "\\" else 1
                i += 1
            else:
                code = True
                i += 1
        flags.append(code)
    return flags


def _snippet(text: str) -> str:
    text = text.strip()
    return text if len(text) <= 60 else text[:57] + "..."


def check_text(
    lines: Sequence[str],
    code_lines: Iterable[int],
    expectations: Iterable[LineExpectation],
    *,
    named_lines: Iterable[int] = (),
) -> Verdict:
    """The checks of the module docstring on `lines` (the file's current text, split); the first failure
    found is the verdict's reason."""
    count = len(lines)
    named = sorted(set(named_lines) | set(code_lines))
    if named and named[-1] > count:
        return Verdict(False, f"it has {count} lines, but the build has code on line {named[-1]}")
    flags: list[bool] | None = None
    for line in sorted(set(code_lines)):
        if line <= 0:
            continue
        if flags is None:
            flags = code_line_flags(lines)
        if not flags[line - 1]:
            shown = _snippet(lines[line - 1])
            return Verdict(
                False,
                f"line {line} holds code in the build but is {'a comment' if shown else 'blank'} here"
                + (f" ({shown})" if shown else ""),
            )
    for expect in expectations:
        if not 0 < expect.line <= count:
            return Verdict(False, f"it has {count} lines, but {expect.what} is on line {expect.line}")
        text = lines[expect.line - 1]
        if expect.all_of and not all(token in text for token in expect.all_of):
            return Verdict(False, f"line {expect.line} should hold {expect.what}, but reads: {_snippet(text)}")
        if expect.any_of:
            window = lines[max(0, expect.line - 1 - CALL_WINDOW) : expect.line]
            if not any(token in part for part in window for token in expect.any_of):
                return Verdict(False, f"line {expect.line} should call {expect.what}, but reads: {_snippet(text)}")
    return Verdict(True)
