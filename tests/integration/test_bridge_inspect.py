"""Reading a core through the adapter: scopes, variables, evaluate, disassemble, readMemory, registers,
and the answers a read-only core owes to requests that would run or change the program.

Most tests share one live adapter session per toolchain on `nil_deref` (built with -N -l, so every local
is readable). Its crash is known down to the values: applyFee(nil, standard schedule, tier 2, audit) is
the third call of settle over accounts 42, 43, 44, and stderr's own frame line
`main.applyFee(0x0, {{0x..., 0x8}, {0x0, 0x3f847ae147ae147b, ...}}, 0x2, 0x...)` confirms the arguments.
"""

from __future__ import annotations

import base64
import json
import shutil
import struct
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from gocore_dap.goviews.frames import is_runtime_internal
from gocore_dap.goviews.traceback_text import TracebackFrame
from tests.integration.conftest import Adapters
from tests.support.corpus_fixtures import CorpusCase
from tests.support.dap_client import DapClient

pytestmark = [pytest.mark.integration, pytest.mark.corpus("nil_deref")]

READ_ONLY = "read-only"


def _source_path(frame: dict[str, Any]) -> str | None:
    path: str | None = (frame.get("source") or {}).get("path")
    return path


@attrs.define
class Live:
    """One adapter session on a core, stopped on the crash, with helpers to walk what it shows."""

    client: DapClient
    case: CorpusCase
    stopped: dict[str, Any]
    frames: list[dict[str, Any]]

    @property
    def stop(self) -> int:
        thread: int = self.stopped["body"]["threadId"]
        return thread

    def frame(self, function: str) -> dict[str, Any]:
        found = [f for f in self.frames if f["name"] == function]
        assert found, f"{function} is not on the stack: {[f['name'] for f in self.frames]}"
        return found[0]

    def scopes(self, function: str) -> dict[str, dict[str, Any]]:
        body = self.client.ok("scopes", {"frameId": self.frame(function)["id"]})
        return {scope["name"].split(" (")[0]: scope for scope in body["scopes"]}

    def variables(self, reference: int, **paging: int) -> list[dict[str, Any]]:
        assert reference > 0
        variables: list[dict[str, Any]] = self.client.ok("variables", {"variablesReference": reference, **paging})[
            "variables"
        ]
        return variables

    def scope_vars(self, function: str, scope: str) -> dict[str, dict[str, Any]]:
        found = self.variables(self.scopes(function)[scope]["variablesReference"])
        return {v["name"]: v for v in found}

    def children(self, variable: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {v["name"]: v for v in self.variables(variable["variablesReference"])}

    def evaluate(self, expression: str, context: str, function: str | None = "main.applyFee") -> dict[str, Any]:
        arguments: dict[str, Any] = {"expression": expression, "context": context}
        if function is not None:
            arguments["frameId"] = self.frame(function)["id"]
        return self.client.request("evaluate", arguments)

    def crash_frame(self) -> TracebackFrame:
        """stderr's main.applyFee frame: its arguments are the ground truth for the adapter's."""
        crashing = self.case.parsed.crashing_goroutine()
        assert crashing is not None
        return next(f for f in crashing.frames if f.function == "main.applyFee")


def start_live(adapters: Adapters, case: CorpusCase, **launch: Any) -> Live:
    client = adapters.start()
    stopped = client.start_core(case.artifact.binary, case.artifact.core, **launch)
    frames = client.ok("stackTrace", {"threadId": stopped["body"]["threadId"]})["stackFrames"]
    return Live(client, case, stopped, frames)


@pytest.fixture(scope="module")
def live(adapters: Adapters, corpus_case: CorpusCase) -> Iterator[Live]:
    session = start_live(adapters, corpus_case)
    yield session
    ended = adapters.finish(session.client)
    ended.assert_clean()


@pytest.fixture
def clean(live: Live) -> Iterator[Live]:
    """The shared session, checked after each test: every message valid DAP, the adapter still serving."""
    yield live
    live.client.assert_clean()
    assert live.client.ok("threads")["threads"], "the adapter stopped answering"


# --- scopes and variables ---------------------------------------------------------------------------------


def test_scopes_of_the_crashing_frame(clean: Live) -> None:
    body = clean.client.ok("scopes", {"frameId": clean.frame("main.applyFee")["id"]})
    by_name = {s["name"]: s for s in body["scopes"]}
    assert list(by_name)[:2] == ["Arguments", "Locals"], list(by_name)
    assert by_name["Arguments"].get("presentationHint") == "arguments"
    assert by_name["Locals"].get("presentationHint") == "locals"
    assert not by_name["Arguments"]["expensive"] and not by_name["Locals"]["expensive"]
    assert by_name.get("Globals (package main)", {}).get("expensive") is True, by_name
    # Built with -N -l: no optimisation warning; registers only when showRegisters asks for them.
    assert not any("optimi" in name.lower() for name in by_name), by_name
    assert not any(s.get("presentationHint") == "registers" for s in body["scopes"])


def test_arguments_match_what_stderr_printed(clean: Live) -> None:
    args = clean.scope_vars("main.applyFee", "Arguments")
    # stderr: main.applyFee(0x0, {{0x4cb99e, 0x8}, {0x0, 0x3f847ae147ae147b, ...}}, 0x2, 0xc000082000): acct,
    # sched.Name (pointer, length), sched.Rates (four float64 bit patterns), tier, audit.
    words = [w.strip("{} ") for w in clean.crash_frame().args.split(",")]
    assert len(words) == 9, words
    assert [name for name in args if not name.startswith("~")] == ["acct", "sched", "tier", "audit"]

    assert args["acct"]["type"] == "*main.Account"
    assert int(words[0], 16) == 0 and args["acct"]["value"] == "nil"
    assert args["acct"]["variablesReference"] == 0  # nothing to expand behind a nil pointer

    assert args["tier"]["type"] == "int" and args["tier"]["value"] == str(int(words[7], 16)) == "2"

    sched = args["sched"]
    assert sched["type"] == "main.FeeSchedule" and '"standard"' in sched["value"]
    fields = clean.children(sched)
    assert list(fields) == ["Name", "Rates"]
    assert fields["Name"]["value"] == '"standard"' and int(words[2], 16) == len("standard")
    rates = clean.children(fields["Rates"])
    assert list(rates) == ["[0]", "[1]", "[2]", "[3]"]
    printed_rates = [struct.unpack("<d", int(w, 16).to_bytes(8, "little"))[0] for w in words[3:7]]
    assert [float(v["value"]) for v in rates.values()] == printed_rates == [0, 0.01, 0.015, 0.02]

    audit = args["audit"]
    assert audit["type"] == "chan<- string"
    assert "2/3" in audit["value"], audit  # two labels sent (accounts 42 and 43), capacity 3
    assert audit["variablesReference"] > 0


class Expect:
    """Collects every failed expectation of a test, so one run shows all of them."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)

    def done(self) -> None:
        assert not self.failures, "\n".join(self.failures)


def test_locals_of_every_kind(clean: Live) -> None:
    expect = Expect()
    local = clean.scope_vars("main.applyFee", "Locals")
    # label and fee are declared after the faulting line: not in scope yet.
    names = {"rates", "rate", "waived", "currency", "memo", "out", "note", "history", "dailyCaps", "statement"}
    expect(names <= set(local), f"locals {sorted(names - set(local))} missing from {list(local)}")
    expect("label" not in local and "fee" not in local, f"locals declared after the crash line: {list(local)}")

    def shown(scope: dict[str, dict[str, Any]], name: str) -> tuple[str, str]:
        variable = scope.get(name, {})
        return variable.get("type", "?"), variable.get("value", "?")

    # float, bool, string, array, slice
    expect(shown(local, "rate") == ("float64", "0.015"), f"rate: {shown(local, 'rate')}")
    expect(shown(local, "waived") == ("bool", "false"), f"waived: {shown(local, 'waived')}")
    expect(shown(local, "currency") == ("string", '"EUR"'), f"currency: {shown(local, 'currency')}")
    expect(local["rates"]["type"] == "[4]float64", f"rates: {local['rates']}")
    rates = [float(v["value"]) for v in clean.children(local["rates"]).values()]
    expect(rates == [0, 0.01, 0.015, 0.02], f"rates children: {rates}")
    expect(local["memo"]["type"] == "[]string", f"memo: {local['memo']}")
    memo = [v["value"] for v in clean.children(local["memo"]).values()]
    expect(memo == ['"fee"', '"standard"'], f"memo children: {memo}")
    # Interfaces: the type is the static one (Delve's own DAP adds the dynamic type in parentheses).
    out = local["out"]
    expect(
        out["type"].startswith("io.Writer") and "os.File" in out["value"] and out["variablesReference"] > 0,
        f"out: {out}",
    )
    note = local["note"]
    expect(note["type"].startswith("interface {}") and '"standard"' in note["value"], f"note: {note}")

    settle = clean.scope_vars("main.settle", "Locals") | clean.scope_vars("main.settle", "Arguments")
    # int, pointer (nil), error (non-nil and nil), named result, map, channel
    expect(shown(settle, "retries") == ("int", "3"), f"retries: {shown(settle, 'retries')}")
    expect(shown(settle, "i")[1] == "2" and shown(settle, "id")[1] == "44", "i, id")
    expect(shown(settle, "acct") == ("*main.Account", "nil"), f"acct: {shown(settle, 'acct')}")
    last_err = shown(settle, "lastErr")
    expect(
        last_err[0] == "error" and "lookup 44 in eu-west-1: account not found" in last_err[1],
        f"lastErr: the error's message should show in its value, got {last_err}",
    )
    expect(settle.get("lerr", {}).get("variablesReference", 0) > 0, f"lerr has no children: {settle.get('lerr')}")
    expect(shown(settle, "err") == ("error", "nil"), f"err (a nil error): {shown(settle, 'err')}")
    expect(float(settle["total"]["value"]) == -12.5 * 0.01, f"total: {settle['total']}")  # 42 at tier 0, 43 at 1
    expect(settle["seen"]["type"] == "map[int]bool", f"seen: {settle['seen']}")
    seen = {k: v["value"] for k, v in clean.children(settle["seen"]).items()}
    expect(seen == {"42": "true", "43": "true", "44": "true"}, f"seen children: {seen}")
    limits = {k: v["value"] for k, v in clean.children(settle["limits"]).items()}
    expect(limits == {'"daily"': "5000", '"monthly"': "60000"}, f"limits children: {limits}")
    expect(shown(settle, "audit") == ("chan string", "chan string 2/3"), f"audit: {shown(settle, 'audit')}")

    main = clean.scope_vars("main.main", "Locals")
    expect(main["batch"]["type"] == "[]int", f"batch: {main['batch']}")
    batch = [v["value"] for v in clean.children(main["batch"]).values()]
    expect(batch == ["42", "43", "44"], f"batch children: {batch}")
    expect(shown(main, "dryRun")[1] == "false" and shown(main, "operator")[1] == '"OPS"', "dryRun, operator")
    expect(
        main["parent"]["type"] == "*main.Account" and '"holding"' in main["parent"]["value"],
        f"parent: {main['parent']}",
    )
    expect.done()


def test_lazy_children_go_deeper_than_one_listing(clean: Live) -> None:
    """ledger -> accounts -> [42] -> Parent -> Owner: four levels below what a listing loads at once."""
    ledger = clean.scope_vars("main.main", "Locals")["ledger"]
    assert ledger["type"] == "main.Ledger"
    fields = clean.children(ledger)
    assert fields["Region"]["value"] == '"eu-west-1"'
    accounts = clean.children(fields["accounts"])
    assert set(accounts) == {"42", "43"}
    acme = clean.children(accounts["42"])
    assert acme["Owner"]["value"] == '"acme"' and acme["ID"]["value"] == "42"
    assert float(acme["Balance"]["value"]) == 1250.75
    assert [v["value"] for v in clean.children(acme["Tags"]).values()] == ['"gold"', '"eu"']
    assert {k: v["value"] for k, v in clean.children(acme["Limits"]).items()} == {'"daily"': "500"}
    holding = clean.children(acme["Parent"])
    assert holding["Owner"]["value"] == '"holding"' and holding["ID"]["value"] == "1"
    assert clean.children(accounts["43"])["Frozen"]["value"] == "true"
    # evaluateName (what "Add to Watch" uses) reads the same value again, four levels down.
    owner = acme["Owner"]
    assert owner.get("evaluateName"), owner
    again = clean.evaluate(owner["evaluateName"], "watch", "main.main")
    assert again.get("success") and again["body"]["result"] == '"acme"', again


def children_as_vscode_reads_them(live: Live, variable: dict[str, Any]) -> list[dict[str, Any]]:
    """Every child the way VS Code's variables view fetches them (debugModel.ts, ExpressionContainer):
    named children in one unpaged request (filter "named"); indexed children in chunks of 100
    (filter "indexed", start, count) when there are more than 100, else in one request; with neither
    hint, one plain request."""
    reference = variable["variablesReference"]
    named, indexed = variable.get("namedVariables") or 0, variable.get("indexedVariables") or 0
    if not indexed:
        return live.variables(reference)
    children = (
        live.client.ok("variables", {"variablesReference": reference, "filter": "named"})["variables"] if named else []
    )
    chunk = 100
    for start in range(0, indexed, chunk):
        count = min(chunk, indexed - start)
        arguments = {"variablesReference": reference, "filter": "indexed", "start": start, "count": count}
        children += live.client.ok("variables", arguments)["variables"]
    return children


def test_big_slice_is_paged(clean: Live) -> None:
    history = clean.scope_vars("main.applyFee", "Locals")["history"]
    assert history["type"] == "[]float64" and history.get("indexedVariables") == 300, history
    assert "len: 300" in history["value"]
    rate = 0.015
    for start, count in ((0, 10), (100, 10), (290, 10), (250, 50)):
        arguments = {
            "variablesReference": history["variablesReference"],
            "filter": "indexed",
            "start": start,
            "count": count,
        }
        page = clean.client.ok("variables", arguments)["variables"]
        assert [v["name"] for v in page] == [f"[{i}]" for i in range(start, start + count)], (start, count)
        assert [float(v["value"]) for v in page] == [float(i) * rate for i in range(start, start + count)]
    every = children_as_vscode_reads_them(clean, history)
    assert [float(v["value"]) for v in every] == [float(i) * rate for i in range(300)]


def test_big_map_is_paged(clean: Live) -> None:
    """All 100 entries reach a client that follows DAP's paging hints (not only the first page)."""
    caps = clean.scope_vars("main.applyFee", "Locals")["dailyCaps"]
    assert caps["type"] == "map[string]int"
    assert "100" in caps["value"] or "+92 more" in caps["value"], caps["value"]
    entries = [v for v in children_as_vscode_reads_them(clean, caps) if v["name"] != "len()"]
    names = [v["name"] for v in entries]
    assert len(names) == len(set(names)), "an entry is listed twice"
    # tier 2: each day's cap is day * 3.
    got = {v["name"]: v["value"] for v in entries}
    want = {f'"day-{day:03d}"': str(day * 3) for day in range(100)}
    assert got == want, (
        f"{len(got)} of {len(want)} entries reachable; hints: namedVariables={caps.get('namedVariables')}, "
        f"indexedVariables={caps.get('indexedVariables')}"
    )


def test_big_string_is_cut_in_listings_and_whole_on_the_clipboard(clean: Live) -> None:
    whole = "standard fee;" * 300
    statement = clean.scope_vars("main.applyFee", "Locals")["statement"]
    value = statement["value"]
    assert value.startswith('"standard fee;standard fee;')
    assert len(value) < len(whole), "a 3900-byte string is shown whole in a variables listing"
    assert "more" in value, value[-60:]  # says how much is left out
    copied = clean.evaluate("statement", "clipboard")
    assert copied.get("success"), copied
    assert copied["body"]["result"] in (whole, '"' + whole + '"')


def test_big_string_is_paged_in_pieces_that_add_up_to_it(clean: Live) -> None:
    whole = "standard fee;" * 300
    statement = clean.scope_vars("main.applyFee", "Locals")["statement"]
    pieces_count = statement.get("indexedVariables")
    assert pieces_count == -(-len(whole) // 1024), statement  # offered as 1 KiB pieces
    assert statement["variablesReference"] > 0
    first = clean.variables(statement["variablesReference"], start=0, count=2)
    rest = clean.variables(statement["variablesReference"], start=2, count=pieces_count - 2)
    pieces = first + rest
    assert [p["name"] for p in pieces] == [f"[{a}:{min(a + 1024, len(whole))}]" for a in range(0, len(whole), 1024)]
    text = "".join(json.loads(p["value"]) for p in pieces)  # Go-quoted, ASCII here: JSON string syntax
    assert text == whole
    # Each piece can be evaluated again by its evaluateName.
    again = clean.evaluate(pieces[1]["evaluateName"], "repl")
    assert again.get("success") and again["body"]["result"] == pieces[1]["value"], again


# --- evaluate -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("context", ["watch", "hover", "repl", "clipboard"])
def test_evaluate_in_every_context(clean: Live, context: str) -> None:
    expect = Expect()
    cases = {
        "tier": "2",
        "tier * 3 + 1": "7",
        "sched.Rates[3]": "0.02",
        "len(history)": "300",
        "currency": '"EUR"',
        'dailyCaps["day-042"]': "126",
    }
    for expression, expected in cases.items():
        response = clean.evaluate(expression, context)
        result = (response.get("body") or {}).get("result")
        if context == "clipboard" and expected.startswith('"'):
            expect(result in (expected, expected.strip('"')), f"{expression}: {response}")
        else:
            expect(result == expected, f"{expression}: {response}")
    # Another frame: settle's error value.
    response = clean.evaluate("lastErr", context, "main.settle")
    expect(
        "account not found" in (response.get("body") or {}).get("result", ""),
        f"lastErr in main.settle: the error's message should show: {response}",
    )
    # A struct to expand.
    response = clean.evaluate("sched", context)
    reference = (response.get("body") or {}).get("variablesReference", 0)
    expect(reference > 0 and {"Name", "Rates"} <= set(clean.children(response["body"])), f"sched: {response}")
    expect.done()


def test_evaluate_without_a_frame_reads_globals(clean: Live) -> None:
    # DAP: with no frameId the expression is evaluated in the global scope.
    response = clean.evaluate("main.errNotFound", "repl", None)
    assert response.get("success"), response
    assert "account not found" in response["body"]["result"]


@pytest.mark.parametrize("expression", ["acct.ID", "no_such_variable", "tier +", "history[1000]", "*acct"])
@pytest.mark.parametrize("context", ["watch", "hover", "repl"])
def test_bad_expressions_fail_cleanly(clean: Live, expression: str, context: str) -> None:
    response = clean.evaluate(expression, context)
    assert response.get("success") is False, response
    assert response.get("message"), response
    assert "Traceback" not in response["message"]
    error = (response.get("body") or {}).get("error") or {}
    assert isinstance(error.get("id"), int), response
    # The adapter keeps serving: the same frame still evaluates.
    assert clean.evaluate("tier", context)["body"]["result"] == "2"


# --- machine level ----------------------------------------------------------------------------------------


def test_disassemble_around_the_faulting_instruction(clean: Live) -> None:
    frame = clean.frame("main.applyFee")
    ipr = frame["instructionPointerReference"]
    # The fault's pc as the runtime printed it: [signal SIGSEGV: ... pc=0x...].
    signal = clean.case.parsed.signal
    assert signal is not None and signal.pc is not None
    assert int(ipr, 16) == signal.pc, (ipr, hex(signal.pc))
    body = clean.client.ok(
        "disassemble", {"memoryReference": ipr, "instructionOffset": -5, "instructionCount": 12, "resolveSymbols": True}
    )
    instructions = body["instructions"]
    assert len(instructions) == 12
    addresses = [int(i["address"], 16) for i in instructions]
    assert addresses == sorted(addresses) and len(set(addresses)) == 12
    assert addresses[5] == signal.pc, [i["address"] for i in instructions]
    faulting = instructions[5]
    assert faulting["instruction"] and faulting.get("presentationHint") != "invalid"
    assert faulting.get("symbol", "").startswith("main.applyFee"), faulting
    assert faulting.get("line") in (None, frame["line"]) or any(
        i.get("line") == frame["line"] for i in instructions[:6]
    ), instructions
    sources = {(i.get("location") or {}).get("path") for i in instructions} - {None}
    assert sources <= {_source_path(frame)}, sources


def _read(live: Live, reference: str, count: int, offset: int = 0) -> bytes:
    body = live.client.ok("readMemory", {"memoryReference": reference, "offset": offset, "count": count})
    assert int(body["address"], 16) == int(reference, 16) + offset
    assert not body.get("unreadableBytes"), body
    data = base64.b64decode(body.get("data", ""))
    assert len(data) == count
    return data


def test_read_memory_through_memory_references(clean: Live) -> None:
    local = clean.scope_vars("main.applyFee", "Locals") | clean.scope_vars("main.applyFee", "Arguments")
    tier = local["tier"]
    assert tier.get("memoryReference"), tier
    assert int.from_bytes(_read(clean, tier["memoryReference"], 8), "little") == 2
    rates = local["rates"]
    assert rates.get("memoryReference"), rates
    assert list(struct.unpack("<4d", _read(clean, rates["memoryReference"], 32))) == [0, 0.01, 0.015, 0.02]
    # A pointer's reference is where it points (DAP: "the memory address contained in the pointer").
    parent = clean.scope_vars("main.main", "Locals")["parent"]
    assert parent.get("memoryReference"), parent
    assert int.from_bytes(_read(clean, parent["memoryReference"], 8), "little") == 1  # Account.ID
    # A slice's reference is its header (data pointer, len, cap); behind the data pointer, 300 float64s read
    # in one request: more than one Delve ExamineMemory call (1000 bytes), the bytes checked.
    big = clean.evaluate("history", "watch")["body"]
    assert big.get("memoryReference"), big
    data_pointer, length, capacity = struct.unpack("<3Q", _read(clean, big["memoryReference"], 24))
    assert (length, capacity) == (300, 300)
    elements = struct.unpack("<300d", _read(clean, hex(data_pointer), 2400))
    assert list(elements) == [float(i) * 0.015 for i in range(300)]


def test_read_memory_at_an_unmapped_address(clean: Live) -> None:
    response = clean.client.request("readMemory", {"memoryReference": "0x0", "count": 16})
    if response.get("success"):
        assert response["body"].get("unreadableBytes") == 16 and not base64.b64decode(
            response["body"].get("data") or ""
        ), response
    else:
        assert response.get("message") and "Traceback" not in response["message"]


# --- a core is read-only -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        ("continue", {"threadId": 0}),
        ("next", {"threadId": 0}),
        ("stepIn", {"threadId": 0}),
        ("stepOut", {"threadId": 0}),
        ("pause", {"threadId": 0}),
        ("setVariable", {"variablesReference": 0, "name": "tier", "value": "3"}),
    ],
)
def test_requests_that_would_run_or_change_the_program(clean: Live, command: str, arguments: dict[str, Any]) -> None:
    arguments = {k: (clean.stop if k == "threadId" else v) for k, v in arguments.items()}
    if command == "setVariable":
        arguments["variablesReference"] = clean.scopes("main.applyFee")["Arguments"]["variablesReference"]
    stops_before = len(clean.client.events("stopped"))
    response = clean.client.request(command, arguments)
    assert response.get("success") is False, response
    assert READ_ONLY in response.get("message", ""), response.get("message")
    assert len(clean.client.events("stopped")) == stops_before, "a fake stop after a refused request"
    assert not clean.client.events("continued")
    assert clean.evaluate("tier", "watch")["body"]["result"] == "2"


def test_breakpoints_are_answered_unverified(clean: Live) -> None:
    source = {"path": _source_path(clean.frame("main.applyFee"))}
    body = clean.client.ok("setBreakpoints", {"source": source, "breakpoints": [{"line": 66}, {"line": 86}]})
    assert len(body["breakpoints"]) == 2
    for breakpoint in body["breakpoints"]:
        assert breakpoint["verified"] is False and breakpoint.get("message"), breakpoint
    body = clean.client.ok("setFunctionBreakpoints", {"breakpoints": [{"name": "main.settle"}]})
    assert [b["verified"] for b in body["breakpoints"]] == [False]
    clean.client.ok("setExceptionBreakpoints", {"filters": []})


# --- launch options ---------------------------------------------------------------------------------------


def test_show_registers(adapters: Adapters, corpus_case: CorpusCase) -> None:
    session = start_live(adapters, corpus_case, showRegisters=True)
    try:
        frame = session.frame("main.applyFee")
        scopes = session.client.ok("scopes", {"frameId": frame["id"]})["scopes"]
        registers = [s for s in scopes if s.get("presentationHint") == "registers"]
        assert len(registers) == 1 and registers[0]["expensive"], scopes
        listed = session.variables(registers[0]["variablesReference"])
        values = {v["name"].lower(): v["value"] for v in listed}
        assert {"rip", "rsp", "rbp"} <= set(values), sorted(values)
        # The frame's own registers (unwound), not the thread's: rip is this frame's pc.
        pc = int(frame["instructionPointerReference"], 16)
        assert int(values["rip"].split()[0], 16) == pc, values["rip"]
        session.client.assert_clean()
    finally:
        ended = adapters.finish(session.client)
    ended.assert_clean()


def test_substitute_path_rewrites_source_paths(adapters: Adapters, corpus_case: CorpusCase, tmp_path: Any) -> None:
    built_in = str(corpus_case.artifact.source_dir)  # the path the binary's DWARF names
    # The user's checkout of the same sources elsewhere: an explicit rule wins where its file exists.
    editor = str(tmp_path / "workspace" / "nil_deref")
    shutil.copytree(built_in, editor)
    session = start_live(adapters, corpus_case, substitutePath=[{"from": editor, "to": built_in}])
    try:
        frame = session.frame("main.applyFee")
        assert _source_path(frame) == f"{editor}/main.go"
        runtime_frames = [f for f in session.frames if f["name"].startswith("runtime.")]
        assert runtime_frames and all(not (_source_path(f) or "").startswith(editor) for f in runtime_frames)
        details = session.client.ok("exceptionInfo", {"threadId": session.stop})["details"]
        assert f"\t{editor}/main.go:" in details.get("stackTrace", ""), details.get("stackTrace")
        session.client.assert_clean()
    finally:
        ended = adapters.finish(session.client)
    ended.assert_clean()


def test_hide_system_goroutines(adapters: Adapters, corpus_case: CorpusCase) -> None:
    # stderr's own judgement: a goroutine is the runtime's when the function it started in (the frame
    # above runtime.goexit) is runtime-internal, runtime.main (the main goroutine) excepted.
    user = set()
    for gid, g in corpus_case.parsed.goroutines_by_id().items():
        functions = [f.function for f in g.frames]
        start = functions[-2] if len(functions) >= 2 and functions[-1] == "runtime.goexit" else functions[-1]
        if start == "runtime.main" or not is_runtime_internal(start):
            user.add(gid)
    assert user and user != set(corpus_case.parsed.goroutines_by_id())
    session = start_live(adapters, corpus_case, hideSystemGoroutines=True)
    try:
        threads = session.client.ok("threads")["threads"]
        assert threads[0]["id"] == session.stop
        assert {t["id"] for t in threads} == user, [t["name"] for t in threads]
        session.client.assert_clean()
    finally:
        ended = adapters.finish(session.client)
    ended.assert_clean()


def test_stack_trace_depth(adapters: Adapters, corpus_case: CorpusCase, live: Live) -> None:
    """stackTraceDepth bounds what one stackTrace without `levels` returns; the rest stays reachable."""
    depth = 4
    full = [(f["name"], f["line"]) for f in live.frames]
    assert len(full) > 2 * depth
    session = start_live(adapters, corpus_case, stackTraceDepth=depth)
    try:
        first = session.client.ok("stackTrace", {"threadId": session.stop})
        assert len(first["stackFrames"]) == depth
        assert first.get("totalFrames", 0) > depth, "totalFrames must say that more frames exist"
        frames = [(f["name"], f["line"]) for f in first["stackFrames"]]
        while len(frames) < len(full):
            page = session.client.ok(
                "stackTrace", {"threadId": session.stop, "startFrame": len(frames), "levels": depth}
            )
            assert page["stackFrames"], f"no frames after {len(frames)} of {len(full)}"
            frames += [(f["name"], f["line"]) for f in page["stackFrames"]]
        assert frames == full
        session.client.assert_clean()
    finally:
        ended = adapters.finish(session.client)
    ended.assert_clean()


def test_vscode_go_launch_shape(adapters: Adapters, corpus_case: CorpusCase) -> None:
    expected = corpus_case.parsed.crashing_goroutine()
    assert expected is not None
    vscode_go = {
        "type": "go",
        "request": "launch",
        "mode": "core",
        "name": "Core (vscode-go)",
        "__configurationTarget": 6,
        "cwd": str(corpus_case.artifact.build_dir),
    }
    session = start_live(adapters, corpus_case, **vscode_go)
    try:
        assert session.stop == expected.id
        session.client.assert_clean()
    finally:
        ended = adapters.finish(session.client)
    ended.assert_clean()


def test_vscode_go_shape_with_another_mode_is_refused(adapters: Adapters, corpus_case: CorpusCase) -> None:
    client = adapters.start()
    try:
        client.ok("initialize", {"clientID": "vscode", "adapterID": "go", "pathFormat": "path"})
        response = client.request(
            "launch",
            {
                "type": "go",
                "request": "launch",
                "mode": "exec",
                "program": str(corpus_case.artifact.binary),
                "coreFilePath": str(corpus_case.artifact.core),
            },
        )
        assert response.get("success") is False
        assert "core" in response.get("message", ""), response.get("message")
        assert "Traceback" not in response.get("message", "")
        client.assert_clean()
    finally:
        ended = adapters.finish(client)
    ended.assert_clean()


@pytest.mark.corpus("optimized_inlined")
def test_optimized_function_warning(adapters: Adapters, corpus_case: CorpusCase) -> None:
    session = start_live(adapters, corpus_case)
    try:
        crashing = corpus_case.parsed.crashing_goroutine()
        assert crashing is not None
        user = next(f for f in session.frames if (f.get("source") or {}).get("presentationHint") != "deemphasize")
        assert user["name"] == "main.sampleAt", user
        scopes = session.client.ok("scopes", {"frameId": user["id"]})["scopes"]
        warned = [s["name"] for s in scopes if "optimi" in s["name"].lower()]
        assert warned, f"no optimisation warning on an optimised frame: {[s['name'] for s in scopes]}"
        session.client.assert_clean()
    finally:
        ended = adapters.finish(session.client)
    ended.assert_clean()
