"""The differential check: nil_deref's crashing user frame (main.applyFee), and its callers main.settle and
main.main, as gocore-dap shows them, against Delve's own DAP server (`dlv dap`, launch `mode: core`) on the
same core: every argument and local, its type and value, and one level of children, all of them: a big
collection is read page by page, as a client following DAP's paging hints reads it, and the two adapters must
show the same number of children with the same names, types and values.

Delve's DAP server is the reference for what the core holds; where the two present the same value
differently, the difference is normalised below, one rule per difference, each with its reason:

* `scopes`: Delve puts arguments (and the unnamed result `~r0`) first in one "Locals" scope; gocore-dap has
  "Arguments" then "Locals". Compared: Arguments + Locals, in order, against Delve's Locals.
* unsigned integers: Delve writes `2 = 0x2`, gocore-dap `2`.
* nil values: Delve writes the type first (`*main.Account nil`, `error nil`, `map[string]int nil`,
  `[]string len: 0, cap: 0, nil`), gocore-dap just `nil`.
* interfaces: Delve's type carries the dynamic type (`io.Writer(*os.File)`), gocore-dap's is the static
  type (`io.Writer`); Delve shows the dynamic value as one child `data`, and a pointer as one child `` (its
  pointee), where gocore-dap expands straight into the content. Children are compared after going through
  these single-child levels on both sides.
* maps: Delve adds a `len()` child (announced as one named child) and types each entry `K: V`; gocore-dap
  types it `V`. The `len()` child is dropped before children are counted and compared; nothing else is.
* paging hints: Delve announces `indexedVariables` on every array, slice and map, gocore-dap only where one
  listing does not hold them all (more than 64). The counts announced are compared where either side pages;
  the children themselves are compared all, whatever was announced.
* truncated strings: Delve puts `...+N more` inside the closing quote, gocore-dap after it.
* one-line summaries of composite values (structs, arrays, slices, maps, pointers to them): the layout is
  each adapter's own (`[4]float64 [0,0.01]` against `[0, 0.01]`, elements shown up to different limits),
  so they are compared through their children, which hold the same information, not as strings. Channel
  summaries (`chan<- string 2/3`) are the same on both sides and are compared as strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from tests.integration.conftest import Adapters
from tests.support.corpus_fixtures import CorpusCase
from tests.support.tcp_dap import DelveDapServer

pytestmark = [pytest.mark.integration, pytest.mark.corpus("nil_deref")]

FRAMES = ("main.applyFee", "main.settle", "main.main")  # the crashing user frame first
_UNSIGNED = {"uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "byte"}
_UNSIGNED_VALUE_RE = re.compile(r"^(\d+) = 0x[0-9a-f]+$")
_MORE_RE = re.compile(r'^(?P<shown>".*?)(?:"\.\.\.\+(?P<a>\d+) more|\.\.\.\+(?P<b>\d+) more")$', re.S)

Var = dict[str, Any]
Fetch = Callable[[int], list[Var]]


@attrs.frozen
class FrameView:
    """The variables of one frame, each with one level of (normalised) children."""

    line: int
    variables: list[Var]
    children: dict[str, list[Var]]


@attrs.frozen
class SessionView:
    stop_thread: int
    frames: dict[str, FrameView]


def _single_wrapper(parent: Var, children: list[Var]) -> bool:
    """A level that only wraps the content: an interface's `data`, a pointer's pointee (`` or `*x`)."""
    if len(children) != 1:
        return False
    name = children[0]["name"]
    return bool(children[0].get("variablesReference")) and (name in ("data", "") or name.startswith("*"))


PAGE = 100  # the chunk VS Code asks for when it pages indexed children (debugModel.ts)


def every_child(parent: Var, request: Callable[..., dict[str, Any]]) -> list[Var]:
    """All children of `parent`, read the way VS Code reads them: with paging hints, the named children in
    one request and the indexed ones in chunks; without, one plain request."""
    reference = parent["variablesReference"]
    indexed, named = parent.get("indexedVariables") or 0, parent.get("namedVariables") or 0
    if not indexed:
        found: list[Var] = request("variables", {"variablesReference": reference})["variables"]
        return found
    children: list[Var] = []
    if named:
        children += request("variables", {"variablesReference": reference, "filter": "named"})["variables"]
    for start in range(0, indexed, PAGE):
        arguments = {
            "variablesReference": reference,
            "filter": "indexed",
            "start": start,
            "count": min(PAGE, indexed - start),
        }
        page: list[Var] = request("variables", arguments)["variables"]
        children += page
    return children


def content(parent: Var, request: Callable[..., dict[str, Any]]) -> list[Var]:
    """Every child, after the single-child levels of interfaces and pointers, without Delve's `len()`."""
    children = every_child(parent, request)
    while _single_wrapper(parent, children):
        parent = children[0]
        children = every_child(parent, request)
    return [c for c in children if c["name"] != "len()"]  # Delve's pseudo-child of a map


def session_view(stopped: dict[str, Any], request: Callable[..., dict[str, Any]]) -> SessionView:
    def fetch(reference: int) -> list[Var]:
        found: list[Var] = request("variables", {"variablesReference": reference})["variables"]
        return found

    thread = stopped["body"]["threadId"]
    frames = request("stackTrace", {"threadId": thread})["stackFrames"]
    views: dict[str, FrameView] = {}
    for name in FRAMES:
        frame = next(f for f in frames if f["name"] == name)
        scopes = request("scopes", {"frameId": frame["id"]})["scopes"]
        variables: list[Var] = []
        for scope in scopes:
            if scope["name"].split(" (")[0] in ("Arguments", "Locals"):
                variables += fetch(scope["variablesReference"])
        children = {v["name"]: content(v, request) for v in variables if v.get("variablesReference")}
        views[name] = FrameView(frame["line"], variables, children)
    return SessionView(thread, views)


@pytest.fixture(scope="module")
def delve_view(corpus_case: CorpusCase, dlv_path: Path) -> Iterator[SessionView]:
    server = DelveDapServer(dlv_path)
    try:
        client = server.connect()
        try:
            client.ok(
                "initialize",
                {
                    "clientID": "gocore-dap-tests",
                    "adapterID": "go",
                    "pathFormat": "path",
                    "linesStartAt1": True,
                    "columnsStartAt1": True,
                    "supportsVariableType": True,
                    "supportsVariablePaging": True,
                },
            )
            client.ok(
                "launch",
                {
                    "mode": "core",
                    "program": str(corpus_case.artifact.binary),
                    "coreFilePath": str(corpus_case.artifact.core),
                },
                timeout=120,
            )
            client.event("initialized")
            client.ok("configurationDone")
            stopped = client.event("stopped", timeout=120)
            view = session_view(stopped, client.ok)
            client.request("disconnect", {}, timeout=30)
        finally:
            client.close()
    finally:
        server.stop()
    yield view


@pytest.fixture(scope="module")
def our_view(adapters: Adapters, corpus_case: CorpusCase) -> Iterator[SessionView]:
    client = adapters.start()
    try:
        stopped = client.start_core(corpus_case.artifact.binary, corpus_case.artifact.core)
        view = session_view(stopped, client.ok)
        client.assert_clean()
    finally:
        ended = adapters.finish(client)
    ended.assert_clean()
    yield view


# --- normalisation (see the module docstring) -------------------------------------------------------------


def _is_composite(v: Var) -> bool:
    return bool(v.get("variablesReference"))


def delve_type(d: Var, ours: Var, *, in_map: bool) -> str:
    shown: str = d.get("type", "")
    if in_map and ": " in shown:
        shown = shown.split(": ", 1)[1]
    static: str = ours.get("type", "")
    if static and shown.startswith(static + "(") and shown.endswith(")"):
        return static  # an interface: Delve adds the dynamic type
    return shown


def _truncated(value: str) -> tuple[str, int] | None:
    match = _MORE_RE.match(value)
    if match is None:
        return None
    return match["shown"].removesuffix('"'), int(match["a"] or match["b"])


def same_value(d: Var, ours: Var) -> str | None:
    """None if the values agree (after the normalisations), else why not."""
    theirs, mine = d.get("value", ""), ours.get("value", "")
    if _is_composite(d) and _is_composite(ours) and not d.get("type", "").startswith(("chan", "<-chan")):
        return None  # compared through the children
    if d.get("type") in _UNSIGNED and (match := _UNSIGNED_VALUE_RE.match(theirs)):
        theirs = match[1]
    if theirs in (f"{d.get('type')} nil", f"{d.get('type')} len: 0, cap: 0, nil"):
        theirs = "nil"
    cut_theirs, cut_mine = _truncated(theirs), _truncated(mine)
    if cut_theirs is not None and cut_mine is not None:
        # Same string, both cut: the shown parts agree and say the same total length.
        (shown_t, more_t), (shown_m, more_m) = cut_theirs, cut_mine
        short = min(len(shown_t), len(shown_m))
        if shown_t[:short] == shown_m[:short] and len(shown_t) + more_t == len(shown_m) + more_m:
            return None
    if theirs == mine:
        return None
    return f"value {mine!r} (dlv dap: {d.get('value')!r})"


def announced(v: Var, *, delve: bool) -> int:
    """How many children the variable announces (indexed + named) for a client to page through."""
    count: int = v.get("indexedVariables", 0) + v.get("namedVariables", 0)
    if delve and v.get("type", "").startswith("map[") and v.get("namedVariables"):
        count -= 1  # Delve's `len()` child
    return count


def compare(delve: list[Var], ours: list[Var], *, where: str, in_map: bool = False) -> list[str]:
    problems: list[str] = []
    names_d, names_o = [v["name"] for v in delve], [v["name"] for v in ours]
    if names_d != names_o:
        missing = [n for n in names_d if n not in names_o]
        extra = [n for n in names_o if n not in names_d]
        if missing or extra:
            problems.append(f"{where}: children missing in gocore-dap {missing[:20]}, not in dlv dap {extra[:20]}")
        else:
            problems.append(f"{where}: children in another order {names_o[:20]}... (dlv dap: {names_d[:20]}...)")
    ours_by_name = {v["name"]: v for v in ours}
    for d in delve:
        o = ours_by_name.get(d["name"])
        if o is None:
            continue
        label = f"{where}{d['name']}"
        if delve_type(d, o, in_map=in_map) != o.get("type"):
            problems.append(f"{label}: type {o.get('type')!r} (dlv dap: {d.get('type')!r})")
        # gocore-dap offers a string too long for one value as 1 KiB pieces (dlv dap cuts it, with no way to
        # read the rest): expandable only there, by design. Nothing else may differ in expandability.
        long_string = o.get("type") == "string" and bool(o.get("indexedVariables")) and not _is_composite(d)
        if _is_composite(d) != _is_composite(o) and not long_string:
            problems.append(f"{label}: expandable {_is_composite(o)} (dlv dap: {_is_composite(d)})")
        if (why := same_value(d, o)) is not None:
            problems.append(f"{label}: {why}")
        theirs_count, ours_count = announced(d, delve=True), announced(o, delve=False)
        if max(theirs_count, ours_count) > 64 and theirs_count != ours_count and not long_string:
            problems.append(f"{label}: {ours_count} children announced for paging (dlv dap: {theirs_count})")
    return problems


# --- the tests -------------------------------------------------------------------------------------------


def test_same_crash_stop(delve_view: SessionView, our_view: SessionView) -> None:
    assert our_view.stop_thread == delve_view.stop_thread
    assert [our_view.frames[f].line for f in FRAMES] == [delve_view.frames[f].line for f in FRAMES]


@pytest.mark.parametrize("frame", FRAMES)
def test_locals_and_arguments_match_dlv_dap(delve_view: SessionView, our_view: SessionView, frame: str) -> None:
    problems = compare(delve_view.frames[frame].variables, our_view.frames[frame].variables, where=f"{frame}: ")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("frame", FRAMES)
def test_one_level_of_children_matches_dlv_dap(delve_view: SessionView, our_view: SessionView, frame: str) -> None:
    theirs_frame, ours_frame = delve_view.frames[frame], our_view.frames[frame]
    problems: list[str] = []
    types = {v["name"]: v.get("type", "") for v in ours_frame.variables}
    assert theirs_frame.children, f"{frame}: dlv dap shows nothing to expand; the comparison would be empty"
    for name, theirs in theirs_frame.children.items():
        ours = ours_frame.children.get(name)
        if ours is None:
            problems.append(f"{frame}: {name}: not expandable in gocore-dap")
            continue
        if len(ours) != len(theirs):
            problems.append(f"{frame}: {name}: {len(ours)} children (dlv dap: {len(theirs)})")
        in_map = types.get(name, "").startswith("map[")
        problems += compare(theirs, ours, where=f"{frame}: {name}.", in_map=in_map)
    assert not problems, "\n".join(problems)
