"""session.variables on real Delve answers: what the editor shows beside a name, and whether it can expand.

The values are Delve 1.27.2's JSON for the nil_deref corpus core (Go 1.26.8, built -N -l), recorded in
tests/unit/data/delve_vars/: ListFunctionArgs + ListLocalVars of main.applyFee (the crashing frame),
main.settle and main.main, and Eval results for a few expressions (evals.json), all read with
LISTING_CONFIG. Each file's `_meta` says how it was recorded. A few cases are derived from a recorded
value with attrs.evolve where the core has no such value (a closed channel, a multi-byte string).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from gocore_dap.backends.delve.api import Variable
from gocore_dap.goviews import kinds
from gocore_dap.session.value_format import (
    LISTING_CONFIG,
    PAGE_SIZE,
    SUMMARY_ITEMS,
    address_expr,
    child_name_and_expr,
    children_loaded,
    format_value,
    has_children,
    indexed_count,
    is_nil,
    string_chunks,
)

DATA = Path(__file__).parent / "data" / "delve_vars"
FRAME_FILES = {"main.applyFee": "applyFee.json", "main.settle": "settle.json", "main.main": "main.json"}


@functools.cache
def _json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


def local(function: str, name: str) -> Variable:
    """An argument or local of `function`, as ListFunctionArgs / ListLocalVars returned it."""
    data = _json(FRAME_FILES[function])
    for raw in [*data["args"], *data["locals"]]:
        if raw["name"] == name:
            return Variable.from_json(raw)
    raise KeyError(f"{function} has no variable {name!r}")


def evaluated(expr: str) -> Variable:
    return Variable.from_json(_json("evals.json")["evals"][expr]["variable"])


def field(v: Variable, name: str) -> Variable:
    return next(c for c in v.children if c.name == name)


# --- the recordings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*FRAME_FILES.values(), "evals.json"])
def test_recordings_used_the_listing_config(name: str) -> None:
    # Paging and "loaded" decisions depend on what a listing loads; a recording made with another
    # config would test something the adapter never sees.
    meta = _json(name)["_meta"]
    assert meta["cfg"] == LISTING_CONFIG.to_json()
    assert meta["goroutine"] == 1  # the goroutine that dereferenced the nil *Account


# --- strings -----------------------------------------------------------------------------------------


def test_short_string_is_quoted() -> None:
    currency = local("main.applyFee", "currency")
    assert format_value(currency) == '"EUR"'
    assert not has_children(currency) and not is_nil(currency)
    assert indexed_count(currency) == 0


def test_long_string_says_how_many_bytes_are_left_out() -> None:
    statement = local("main.applyFee", "statement")
    whole = "standard fee;" * 300
    assert statement.len == len(whole) == 3900
    loaded = LISTING_CONFIG.max_string_len
    assert format_value(statement) == f'"{whole[:loaded]}"...+{len(whole) - loaded} more'
    # The rest is reachable: the string is offered as 1 KiB pieces, paged like an array.
    assert has_children(statement)
    assert string_chunks(statement) == indexed_count(statement) == 4


def test_truncation_counts_bytes_not_characters() -> None:
    # Delve's len and MaxStringLen are in bytes: "héllo" is 6 bytes, so 4 of 10 are missing.
    v = attrs.evolve(local("main.applyFee", "currency"), value="héllo", len=10)
    assert format_value(v) == '"héllo"...+4 more'
    assert format_value(attrs.evolve(v, len=6)) == '"héllo"'


def test_string_escapes_use_go_syntax() -> None:
    v = attrs.evolve(local("main.applyFee", "currency"), value='a"b\\c\nd\te', len=9)
    assert format_value(v) == '"a\\"b\\\\c\\nd\\te"'


# --- pointers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("function", "name"), [("main.applyFee", "acct"), ("main.settle", "acct")])
def test_nil_pointer(function: str, name: str) -> None:
    acct = local(function, name)
    # Delve still gives a nil pointer one child: the pointee at address 0.
    assert acct.kind == kinds.PTR and acct.children and acct.children[0].addr == 0
    assert is_nil(acct)
    assert format_value(acct) == "nil"
    assert not has_children(acct)  # nothing to expand behind nil


def test_nil_pointer_global() -> None:
    fing = evaluated("runtime.fing")
    assert is_nil(fing) and format_value(fing) == "nil" and not has_children(fing)


def test_pointer_shows_its_target() -> None:
    parent = local("main.main", "parent")
    assert not is_nil(parent) and has_children(parent) and children_loaded(parent)
    assert format_value(parent) == (
        '*main.Account {ID: 1, Owner: "holding", Balance: 1000000, Frozen: false, Tags: nil, Limits: nil, Parent: nil}'
    )


def test_pointer_past_the_recursion_limit_is_not_loaded() -> None:
    # ledger.accounts[42]: Delve stopped at the map's pointer values; the struct has 7 fields, 0 loaded.
    accounts = field(local("main.main", "ledger"), "accounts")
    acme = accounts.children[1]
    assert acme.kind == kinds.PTR and acme.children[0].len == 7 and not acme.children[0].children
    assert has_children(acme)
    assert not children_loaded(acme)  # the adapter must read it again before listing its fields
    assert address_expr(acme.children[0]) == '*(*"main.Account")(0xceaebeae050)'
    # Deep in a summary, a pointer is shown by address rather than by an empty-looking struct.
    assert "42: (*main.Account)(0xceaebeae050)" in format_value(local("main.main", "ledger"))


def test_pointer_to_unloaded_address_shows_the_address() -> None:
    # `(*main.Account)(0x8)`: Delve marks the pointee onlyAddr (not read at all). It is not an empty
    # struct, and must not be shown as one.
    v = evaluated("(*main.Account)(0x8)")
    assert v.children[0].only_addr and v.children[0].addr == 0x8
    assert not is_nil(v)
    assert format_value(v) == "(*main.Account)(0x8)"


# --- interfaces --------------------------------------------------------------------------------------


def test_nil_error_is_nil() -> None:
    # Delve shows a nil interface as one child of kind Invalid (0) whose type is "void".
    err = local("main.settle", "err")
    assert err.kind == kinds.INTERFACE and err.type == "error"
    assert [(c.kind, c.type) for c in err.children] == [(0, "void")]
    assert is_nil(err)
    assert format_value(err) == "nil"
    assert not has_children(err)


def test_error_holding_a_pointer_shows_the_message() -> None:
    last_err = local("main.settle", "lastErr")
    assert not is_nil(last_err) and has_children(last_err)
    text = format_value(last_err)
    # The interface does not cost a level of detail: the struct behind the pointer shows its fields.
    assert text.startswith('*fmt.wrapError {msg: "lookup 44 in eu-west-1: account not found", err: '), text


def test_writer_holding_a_pointer() -> None:
    out = local("main.applyFee", "out")
    assert out.type == "io.Writer" and out.children[0].type == "*os.File"
    assert format_value(out).startswith("*os.File {file: (*os.file)(0x")
    assert has_children(out) and children_loaded(out)


def test_empty_interface_holding_a_struct_names_its_type_once() -> None:
    note = local("main.applyFee", "note")
    assert note.type == "interface {}" and note.children[0].type == "main.FeeSchedule"
    assert format_value(note) == 'main.FeeSchedule {Name: "standard", Rates: [0, 0.01, 0.015, 0.02]}'
    assert has_children(note)


def test_error_holding_a_named_string_is_a_conversion() -> None:
    v = evaluated("runtime.overflowError")
    assert v.children[0].kind == kinds.STRING
    assert format_value(v) == 'runtime.errorString("integer overflow")'
    assert not has_children(v)  # a string has nothing to expand


# --- slices and arrays -------------------------------------------------------------------------------


def test_short_slice() -> None:
    memo = local("main.applyFee", "memo")
    assert format_value(memo) == '[]string len: 2, cap: 2, ["fee", "standard"]'
    assert has_children(memo) and children_loaded(memo)
    assert indexed_count(memo) == 0


@pytest.mark.parametrize(
    "v",
    [
        pytest.param(field(local("main.main", "ledger"), "journal"), id="ledger.journal"),
        pytest.param(evaluated("l.accounts[43].Tags"), id="accounts[43].Tags"),
    ],
)
def test_nil_slice(v: Variable) -> None:
    assert is_nil(v)
    assert format_value(v) == "nil"
    assert not has_children(v)


def test_empty_slice_is_not_nil() -> None:
    empty = evaluated("ids[:0]")
    assert empty.base != 0 and empty.len == 0 and empty.cap == 3
    assert not is_nil(empty)
    assert format_value(empty) == "[]int len: 0, cap: 3, []"
    assert not has_children(empty)


def test_long_slice_is_paged() -> None:
    history = local("main.applyFee", "history")
    assert history.len == 300 and len(history.children) == PAGE_SIZE
    assert indexed_count(history) == 300  # every element, not only the loaded ones
    assert children_loaded(history)  # the first page is there
    shown = ", ".join(str(round(i * 0.015, 3)).removesuffix(".0") for i in range(SUMMARY_ITEMS))
    assert format_value(history) == (f"[]float64 len: 300, cap: 300, [{shown}, ...+{300 - SUMMARY_ITEMS} more]")


def test_array() -> None:
    rates = local("main.applyFee", "rates")
    assert format_value(rates) == "[0, 0.01, 0.015, 0.02]"  # the type is shown beside it already
    assert has_children(rates) and children_loaded(rates)
    assert indexed_count(rates) == 0
    assert child_name_and_expr(rates, "rates", 2, rates.children[2]) == ("[2]", "rates[2]")
    assert child_name_and_expr(rates, "", 2, rates.children[2]) == ("[2]", "")


def test_paged_slice_children_are_named_by_their_index_in_the_whole_slice() -> None:
    history = local("main.applyFee", "history")
    assert child_name_and_expr(history, "history", 100, history.children[0]) == ("[100]", "history[100]")


# --- maps --------------------------------------------------------------------------------------------


def test_small_map() -> None:
    limits = local("main.settle", "limits")
    assert format_value(limits) == 'map[string]int ["daily": 5000, "monthly": 60000]'
    assert has_children(limits) and children_loaded(limits)
    assert indexed_count(limits) == 0


def test_long_map_is_paged_by_index() -> None:
    caps = local("main.applyFee", "dailyCaps")
    # Delve returns keys and values interleaved: 64 entries, 128 children.
    assert caps.len == 100 and len(caps.children) == 2 * PAGE_SIZE
    # Announced as indexed (as dlv dap does): clients page only indexed children.
    assert indexed_count(caps) == 100
    assert children_loaded(caps)
    text = format_value(caps)
    assert text.startswith('map[string]int ["day-001": 3, "day-005": 15, ')
    assert text.endswith(f", ...+{100 - SUMMARY_ITEMS} more]")


def test_nil_map() -> None:
    limits = evaluated("l.accounts[43].Limits")
    assert is_nil(limits) and format_value(limits) == "nil" and not has_children(limits)


# --- channels ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("function", "type_"), [("main.applyFee", "chan<- string"), ("main.settle", "chan string")])
def test_channel_len_and_cap_come_from_hchan(function: str, type_: str) -> None:
    audit = local(function, "audit")
    # Delve's len for a channel is the number of hchan fields, not the channel's length.
    assert audit.len == len(audit.children) == 13
    assert format_value(audit) == f"{type_} 2/3"  # accounts 42 and 43 sent, capacity 3
    assert not is_nil(audit) and has_children(audit)


def test_closed_channel() -> None:
    audit = local("main.settle", "audit")
    children = [attrs.evolve(c, value="1") if c.name == "closed" else c for c in audit.children]
    assert format_value(attrs.evolve(audit, children=children)) == "chan string 2/3 (closed)"


# --- structs -----------------------------------------------------------------------------------------


def test_struct() -> None:
    sched = local("main.applyFee", "sched")
    assert format_value(sched) == 'main.FeeSchedule {Name: "standard", Rates: [0, 0.01, 0.015, 0.02]}'
    assert has_children(sched) and children_loaded(sched)
    assert address_expr(sched) == '*(*"main.FeeSchedule")(0xceaebecf950)'
    name = sched.children[0]
    assert child_name_and_expr(sched, "sched", 0, name) == ("Name", "sched.Name")
    assert child_name_and_expr(sched, "", 0, name) == ("Name", "")


def test_nested_struct_summary_stops_two_levels_down() -> None:
    ledger = local("main.main", "ledger")
    assert format_value(ledger) == (
        'main.Ledger {Region: "eu-west-1", accounts: [42: (*main.Account)(0xceaebeae050), '
        "43: (*main.Account)(0xceaebeae0a0)], journal: nil}"
    )


def test_struct_with_unloaded_pointer_field() -> None:
    globex = evaluated("*l.accounts[43]")
    assert format_value(globex) == (
        'main.Account {ID: 43, Owner: "globex", Balance: -12.5, Frozen: true, Tags: nil, Limits: nil, '
        "Parent: *main.Account {...}}"
    )


# --- unreadable values -------------------------------------------------------------------------------


def test_unreadable_string() -> None:
    v = evaluated("*(*string)(0x10)")
    assert v.unreadable
    assert format_value(v) == f"(unreadable {v.unreadable})"
    assert not has_children(v)


def test_struct_with_unreadable_fields() -> None:
    v = evaluated("*(*main.Account)(0x8)")
    assert {"ID", "Owner", "Balance", "Parent"} <= {c.name for c in v.children if c.unreadable}
    assert format_value(v).startswith("main.Account {ID: (unreadable error while reading spliced memory at 0x8")
    assert has_children(v)
    assert not any(has_children(c) for c in v.children)


# --- funcs, unsafe pointers, complex -----------------------------------------------------------------


@pytest.mark.parametrize(("expr", "shown"), [("main.applyFee", "main.applyFee"), ("fmt.ppFree.New", "fmt.init.func1")])
def test_func_value_shows_the_function(expr: str, shown: str) -> None:
    v = evaluated(expr)
    assert v.kind == kinds.FUNC
    assert format_value(v) == shown
    assert not is_nil(v) and not has_children(v)


def test_nil_func() -> None:
    v = evaluated("runtime.testSigtrap")
    assert v.kind == kinds.FUNC and v.value == "" and v.base == 0
    assert is_nil(v) and format_value(v) == "nil" and not has_children(v)


def test_unsafe_pointer() -> None:
    # Delve puts an unsafe.Pointer's value in `value` (decimal) and the address of its void child;
    # `base` stays 0.
    local_ = evaluated("fmt.ppFree.local")
    assert local_.kind == kinds.UNSAFE_POINTER and local_.base == 0
    address = int(local_.value)
    assert local_.children[0].addr == address
    assert format_value(local_) == f"unsafe.Pointer({address:#x})"
    assert not is_nil(local_)
    assert not has_children(local_)  # Delve cannot follow it: its child is an unreadable void


def test_nil_unsafe_pointer() -> None:
    victim = evaluated("fmt.ppFree.victim")
    assert format_value(victim) == "unsafe.Pointer(nil)"
    assert is_nil(victim) and not has_children(victim)


def test_complex() -> None:
    assert format_value(evaluated("complex(1,2)")) == "(1 + 2i)"


# --- scalars, address expressions, child names ---------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "name", "shown"),
    [
        ("main.applyFee", "tier", "2"),
        ("main.applyFee", "rate", "0.015"),
        ("main.applyFee", "waived", "false"),
        ("main.settle", "total", "-0.125"),
    ],
)
def test_scalars(function: str, name: str, shown: str) -> None:
    v = local(function, name)
    assert format_value(v) == shown
    assert not has_children(v) and not is_nil(v) and children_loaded(v)


def test_address_expr_reads_a_value_again_from_anywhere() -> None:
    assert address_expr(local("main.applyFee", "tier")) == '*(*"int")(0xceaebecf988)'
    # The quotes keep type names with spaces, brackets and package paths in one piece.
    assert address_expr(local("main.applyFee", "note")) == '*(*"interface {}")(0xceaebecf6f8)'
    assert address_expr(local("main.applyFee", "audit")) == '*(*"chan<- string")(0xceaebecf990)'


@pytest.mark.parametrize(
    "expr",
    ["ids[:0]", "complex(1,2)", "(*main.Account)(0x8)"],
)
def test_address_expr_is_empty_for_values_without_an_address(expr: str) -> None:
    v = evaluated(expr)
    assert v.addr == 0
    assert address_expr(v) == ""


def test_address_expr_is_empty_for_a_void_child() -> None:
    void = local("main.settle", "err").children[0]
    assert address_expr(void) == ""


def test_child_names_of_pointers_and_interfaces() -> None:
    parent = local("main.main", "parent")
    assert child_name_and_expr(parent, "parent", 0, parent.children[0]) == ("*", "(*parent)")
    last_err = local("main.settle", "lastErr")
    assert child_name_and_expr(last_err, "lastErr", 0, last_err.children[0]) == ("data", "lastErr.(data)")
    assert child_name_and_expr(last_err, "", 0, last_err.children[0]) == ("data", "")
