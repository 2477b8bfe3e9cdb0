"""session.handles (the integers the client holds) and session.state (which request may come when)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import attrs
import pytest

from gocore_dap.backends.delve.api import Variable
from gocore_dap.session.handles import Handles
from gocore_dap.session.state import InvalidTransition, SessionState, StateMachine
from gocore_dap.session.variables import VarContainer

# --- Handles -----------------------------------------------------------------------------------------


def test_handles_start_at_one_by_default() -> None:
    # DAP reads a variablesReference of 0 as "no children": 0 must never be handed out.
    handles: Handles[str] = Handles()
    assert handles.create("a") == 1
    assert handles.create("b") == 2


@pytest.mark.parametrize("start", [1, 1000, 1 << 20])
def test_handles_start_at_the_given_base(start: int) -> None:
    handles: Handles[str] = Handles(start)
    assert [handles.create(name) for name in "abc"] == [start, start + 1, start + 2]


def test_same_value_same_handle() -> None:
    handles: Handles[tuple[int, int]] = Handles()
    first = handles.create((18, 0))
    other = handles.create((18, 1))
    assert handles.create((18, 0)) == first
    assert other != first
    assert len(handles) == 2


def _settle_local(name: str) -> VarContainer:
    """A fresh VarContainer for a local of main.settle, as Delve returned it (a new object each call)."""
    data = json.loads((Path(__file__).parent / "data" / "delve_vars" / "settle.json").read_text(encoding="utf-8"))
    raw = next(v for v in data["locals"] + data["args"] if v["name"] == name)
    return VarContainer(goroutine_id=1, thread_id=None, frame=11, expr=name, variable=Variable.from_json(raw))


def test_an_equal_variable_read_again_keeps_its_handle() -> None:
    # The adapter builds new objects each time a scope is listed; a variable expanded twice must keep
    # one variablesReference, and the table must not grow with every listing.
    handles: Handles[VarContainer] = Handles()
    ledger = handles.create(_settle_local("l"))  # a pointer to a struct with a map inside: deep children
    audit = handles.create(_settle_local("audit"))
    again = _settle_local("l")
    assert handles.create(again) == ledger
    assert handles.get(ledger) == again
    assert audit != ledger
    assert len(handles) == 2
    # Another frame is another variable, even with the same name and value.
    assert handles.create(attrs.evolve(again, frame=12)) not in (ledger, audit)


def test_get_returns_what_was_stored() -> None:
    handles: Handles[str] = Handles(100)
    ids = {name: handles.create(name) for name in ("goroutine 1", "goroutine 18", "thread 855")}
    assert len(set(ids.values())) == 3
    for name, handle in ids.items():
        assert handles.get(handle) == name


@pytest.mark.parametrize("handle", [0, -1, 99, 103, 10**9])
def test_unknown_handles_are_none(handle: int) -> None:
    handles: Handles[str] = Handles(100)
    for name in "abc":
        handles.create(name)
    assert handles.get(handle) is None


def test_clear_forgets_everything_and_starts_over() -> None:
    handles: Handles[str] = Handles(1000)
    old = [handles.create(name) for name in ("a", "b", "c")]
    handles.clear()
    assert len(handles) == 0
    assert all(handles.get(h) is None for h in old)
    # Numbering restarts at the base, and a value seen before the clear gets a fresh entry.
    assert handles.create("c") == 1000
    assert handles.get(1000) == "c"
    assert handles.get(1001) is None
    assert handles.create("z") == 1001


def test_many_values_get_distinct_consecutive_handles() -> None:
    handles: Handles[int] = Handles(7)
    values = list(range(0, 5000, 3))
    created = [handles.create(v) for v in values]
    assert created == list(range(7, 7 + len(values)))
    assert [handles.get(h) for h in created] == values


# --- StateMachine ------------------------------------------------------------------------------------

S = SessionState

# The lifecycle of a session on a core: initialize, launch (which may fail and be retried), the
# initialized event and configurationDone, then inspection until the end. Any state can end.
LIFECYCLE: dict[SessionState, set[SessionState]] = {
    S.NEW: {S.INITIALIZED, S.TERMINATED},
    S.INITIALIZED: {S.LAUNCHING, S.TERMINATED},
    S.LAUNCHING: {S.CONFIGURING, S.INITIALIZED, S.TERMINATED},
    S.CONFIGURING: {S.STOPPED, S.TERMINATED},
    S.STOPPED: {S.TERMINATED},
    S.TERMINATED: set(),
}

# How each state is reached from NEW.
PATH_TO: dict[SessionState, list[SessionState]] = {
    S.NEW: [],
    S.INITIALIZED: [S.INITIALIZED],
    S.LAUNCHING: [S.INITIALIZED, S.LAUNCHING],
    S.CONFIGURING: [S.INITIALIZED, S.LAUNCHING, S.CONFIGURING],
    S.STOPPED: [S.INITIALIZED, S.LAUNCHING, S.CONFIGURING, S.STOPPED],
    S.TERMINATED: [S.TERMINATED],
}


def machine_in(state: SessionState) -> StateMachine:
    machine = StateMachine()
    for step in PATH_TO[state]:
        machine.move(step)
    assert machine.state is state
    return machine


def test_a_session_starts_new_without_a_target() -> None:
    machine = StateMachine()
    assert machine.state is S.NEW
    assert not machine.has_target


def test_the_whole_life_of_a_session() -> None:
    machine = StateMachine()
    seen = []
    for step in (S.INITIALIZED, S.LAUNCHING, S.CONFIGURING, S.STOPPED, S.TERMINATED):
        machine.move(step)
        seen.append((machine.state, machine.has_target))
    assert seen == [
        (S.INITIALIZED, False),
        (S.LAUNCHING, False),  # Delve is still loading: nothing to inspect yet
        (S.CONFIGURING, True),
        (S.STOPPED, True),
        (S.TERMINATED, False),
    ]


def test_a_failed_launch_goes_back_to_initialized_and_can_be_retried() -> None:
    machine = machine_in(S.LAUNCHING)
    machine.move(S.INITIALIZED)
    machine.move(S.LAUNCHING)
    machine.move(S.CONFIGURING)
    assert machine.has_target


@pytest.mark.parametrize(
    ("old", "new"), [(o, n) for o, n in itertools.product(S, S) if o is not n and n in LIFECYCLE[o]]
)
def test_allowed_transitions(old: SessionState, new: SessionState) -> None:
    machine = machine_in(old)
    machine.move(new)
    assert machine.state is new


@pytest.mark.parametrize(
    ("old", "new"), [(o, n) for o, n in itertools.product(S, S) if o is not n and n not in LIFECYCLE[o]]
)
def test_refused_transitions(old: SessionState, new: SessionState) -> None:
    machine = machine_in(old)
    with pytest.raises(InvalidTransition) as raised:
        machine.move(new)
    assert machine.state is old  # a refused move changes nothing
    assert old.value in str(raised.value) and new.value in str(raised.value)


@pytest.mark.parametrize("state", list(S))
def test_moving_to_the_current_state_is_a_no_op(state: SessionState) -> None:
    # A repeated disconnect (TERMINATED -> TERMINATED) or a second configurationDone must not raise.
    machine = machine_in(state)
    machine.move(state)
    assert machine.state is state


@pytest.mark.parametrize("state", [s for s in S if s is not S.TERMINATED])
def test_every_state_can_end(state: SessionState) -> None:
    machine = machine_in(state)
    machine.move(S.TERMINATED)
    assert machine.state is S.TERMINATED and not machine.has_target


def test_nothing_leaves_terminated() -> None:
    machine = machine_in(S.TERMINATED)
    for state in S:
        if state is not S.TERMINATED:
            with pytest.raises(InvalidTransition):
                machine.move(state)
    assert machine.state is S.TERMINATED


def test_refused_examples_that_matter() -> None:
    # Inspecting before the core is loaded, or launching twice in one session.
    with pytest.raises(InvalidTransition):
        machine_in(S.INITIALIZED).move(S.STOPPED)
    with pytest.raises(InvalidTransition):
        machine_in(S.STOPPED).move(S.LAUNCHING)
    with pytest.raises(InvalidTransition):
        machine_in(S.NEW).move(S.LAUNCHING)  # launch before initialize
