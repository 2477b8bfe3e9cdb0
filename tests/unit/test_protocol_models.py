"""protocol: the attrs models against the DAP schema, the converter, the error table, the builders."""

from __future__ import annotations

import enum
import inspect
import types
import typing
from typing import Any, Literal, get_args, get_origin

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gocore_dap import errors as errors_module
from gocore_dap.errors import ERROR_TABLE, ErrorId, GocoreError, expand_format, placeholders
from gocore_dap.protocol import models as m
from gocore_dap.protocol.converter import converter, from_wire, to_wire
from gocore_dap.protocol.errors import ProtocolArgumentError, error_message
from gocore_dap.protocol.messages import make_error_response, make_event, make_request, make_response
from gocore_dap.transport.dap_framing import FramingError, FramingErrorKind
from tests.support.dap_schema import (
    DapSchemaError,
    definition_for,
    definition_properties,
    validate_definition,
    validate_message,
)

# No deadline: a loaded CI machine must not turn a slow example into a failure.
fuzz = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- which schema definition each model mirrors ---------------------------------------------------

# Models the adapter sends, validated as whole definitions.
SENT_TYPES: dict[type[Any], str] = {
    m.Capabilities: "Capabilities",
    m.Thread: "Thread",
    m.Source: "Source",
    m.StackFrame: "StackFrame",
    m.Scope: "Scope",
    m.Variable: "Variable",
    m.VariablePresentationHint: "VariablePresentationHint",
    m.ExceptionDetails: "ExceptionDetails",
    m.Breakpoint: "Breakpoint",
    m.DisassembledInstruction: "DisassembledInstruction",
    m.Message: "Message",
    m.Checksum: "Checksum",
    m.ExceptionBreakpointsFilter: "ExceptionBreakpointsFilter",
    m.ColumnDescriptor: "ColumnDescriptor",
    m.BreakpointMode: "BreakpointMode",
}

# Bodies the adapter sends: (command or event, the definition that holds the body inline).
SENT_BODIES: dict[type[Any], tuple[str, str]] = {
    m.ThreadsResponseBody: ("threads", "ThreadsResponse"),
    m.StackTraceResponseBody: ("stackTrace", "StackTraceResponse"),
    m.ScopesResponseBody: ("scopes", "ScopesResponse"),
    m.VariablesResponseBody: ("variables", "VariablesResponse"),
    m.EvaluateResponseBody: ("evaluate", "EvaluateResponse"),
    m.ExceptionInfoResponseBody: ("exceptionInfo", "ExceptionInfoResponse"),
    m.SetBreakpointsResponseBody: ("setBreakpoints", "SetBreakpointsResponse"),
    m.SetFunctionBreakpointsResponseBody: ("setFunctionBreakpoints", "SetFunctionBreakpointsResponse"),
    m.SetExceptionBreakpointsResponseBody: ("setExceptionBreakpoints", "SetExceptionBreakpointsResponse"),
    m.DisassembleResponseBody: ("disassemble", "DisassembleResponse"),
    m.ReadMemoryResponseBody: ("readMemory", "ReadMemoryResponse"),
    m.SourceResponseBody: ("source", "SourceResponse"),
    m.ErrorResponseBody: ("", "ErrorResponse"),
    m.StoppedEventBody: ("stopped", "StoppedEvent"),
    m.OutputEventBody: ("output", "OutputEvent"),
    m.ProgressStartEventBody: ("progressStart", "ProgressStartEvent"),
    m.ProgressUpdateEventBody: ("progressUpdate", "ProgressUpdateEvent"),
    m.ProgressEndEventBody: ("progressEnd", "ProgressEndEvent"),
    m.TerminatedEventBody: ("terminated", "TerminatedEvent"),
    m.ThreadEventBody: ("thread", "ThreadEvent"),
    m.InvalidatedEventBody: ("invalidated", "InvalidatedEvent"),
}

# Models of what the client sends.
RECEIVED_TYPES: dict[type[Any], str] = {
    m.Request: "Request",
    m.InitializeArguments: "InitializeRequestArguments",
    m.StackTraceArguments: "StackTraceArguments",
    m.ScopesArguments: "ScopesArguments",
    m.VariablesArguments: "VariablesArguments",
    m.EvaluateArguments: "EvaluateArguments",
    m.ExceptionInfoArguments: "ExceptionInfoArguments",
    m.DisassembleArguments: "DisassembleArguments",
    m.ReadMemoryArguments: "ReadMemoryArguments",
    m.SourceArguments: "SourceArguments",
    m.SetBreakpointsArguments: "SetBreakpointsArguments",
    m.SetFunctionBreakpointsArguments: "SetFunctionBreakpointsArguments",
    m.SetExceptionBreakpointsArguments: "SetExceptionBreakpointsArguments",
    m.DisconnectArguments: "DisconnectArguments",
    m.TerminateArguments: "TerminateArguments",
    m.CancelArguments: "CancelArguments",
    m.ValueFormat: "ValueFormat",
    m.StackFrameFormat: "StackFrameFormat",
    m.SourceBreakpoint: "SourceBreakpoint",
    m.FunctionBreakpoint: "FunctionBreakpoint",
    m.ExceptionFilterOptions: "ExceptionFilterOptions",
    m.ExceptionOptions: "ExceptionOptions",
    m.ExceptionPathSegment: "ExceptionPathSegment",
}

# The product's own launch configuration has no counterpart in the schema beyond `noDebug`.
# gocore-dap's own: the launch configuration, and Capabilities plus the Go extension requests' flags.
PRODUCT_TYPES = {m.LaunchArguments, m.SubstitutePath, m.GoCapabilities}

# Schema-required properties that the received models accept missing, on purpose (see models).
LENIENT_REQUIRED = {(m.InitializeArguments, "adapterID")}


def all_models() -> list[type[Any]]:
    return [obj for _, obj in inspect.getmembers(m, inspect.isclass) if attrs.has(obj) and obj.__module__ == m.__name__]


def wire_keys(cls: type[Any]) -> dict[str, attrs.Attribute[Any]]:
    return {m.wire_name(a): a for a in attrs.fields(cls)}


def is_optional_attribute(attribute: attrs.Attribute[Any]) -> bool:
    return attribute.default is not attrs.NOTHING


def test_every_model_is_mapped_to_the_schema() -> None:
    mapped = set(SENT_TYPES) | set(SENT_BODIES) | set(RECEIVED_TYPES) | PRODUCT_TYPES
    assert set(all_models()) == mapped


def schema_node(cls: type[Any]) -> tuple[set[str], set[str]]:
    if cls in SENT_BODIES:
        return definition_properties(SENT_BODIES[cls][1], body=True)
    return definition_properties({**SENT_TYPES, **RECEIVED_TYPES}[cls])


@pytest.mark.parametrize("cls", [*SENT_TYPES, *SENT_BODIES, *RECEIVED_TYPES], ids=lambda c: c.__name__)
def test_wire_names_exist_in_the_schema(cls: type[Any]) -> None:
    # The schema allows additional properties, so a misspelt key (supportsAnsiStyling) would pass
    # validation and be silently ignored by clients: check the names themselves.
    properties, required = schema_node(cls)
    keys = wire_keys(cls)
    assert set(keys) <= properties, f"not in the schema: {sorted(set(keys) - properties)}"
    if cls is m.Request:
        return
    for name in required:
        assert name in keys, f"{cls.__name__} lacks the required property {name!r}"
        if (cls, name) in LENIENT_REQUIRED:
            continue
        # A required property must never be left out, so it must not default to None.
        assert keys[name].default is not None, f"{cls.__name__}.{keys[name].name} is required"
    for name, attribute in keys.items():
        if name not in required:
            assert is_optional_attribute(attribute), f"{cls.__name__}.{attribute.name} is optional in DAP"


# -- generic instances: every field set, or only the required ones --------------------------------


def sample_value(tp: Any, depth: int) -> Any:
    origin = get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        return sample_value(next(a for a in get_args(tp) if a is not type(None)), depth)
    if origin is Literal:
        return get_args(tp)[-1]
    if origin is list:
        (item,) = get_args(tp)
        return [] if depth > 2 and attrs.has(item) else [sample_value(item, depth + 1)]
    if origin is dict:
        return {"name": "värde"}
    if tp is Any:
        return {"any": [1, "two"]}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return list(tp)[-1]
    if tp is bool:
        return True
    if tp is int:
        return 7
    if tp is float:
        return 2.5
    if tp is str:
        return "näme ✓"
    if attrs.has(tp):
        return full_instance(tp, depth + 1)
    raise AssertionError(f"no sample for {tp!r}")


def full_instance(cls: type[Any], depth: int = 0) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(**{a.alias: sample_value(hints[a.name], depth) for a in attrs.fields(cls) if a.init})


def minimal_instance(cls: type[Any]) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(**{a.alias: sample_value(hints[a.name], 1) for a in attrs.fields(cls) if not is_optional_attribute(a)})


def with_seq(message: dict[str, Any], seq: int = 1) -> dict[str, Any]:
    return {"seq": seq, **message}


@pytest.mark.parametrize("cls", list(SENT_TYPES), ids=lambda c: c.__name__)
@pytest.mark.parametrize("build", [full_instance, minimal_instance], ids=["full", "minimal"])
def test_sent_types_validate_against_the_schema(cls: type[Any], build: Any) -> None:
    wire = to_wire(build(cls))
    validate_definition(SENT_TYPES[cls], wire)
    assert None not in wire.values()


@pytest.mark.parametrize("cls", list(SENT_BODIES), ids=lambda c: c.__name__)
@pytest.mark.parametrize("build", [full_instance, minimal_instance], ids=["full", "minimal"])
def test_sent_bodies_validate_in_their_messages(cls: type[Any], build: Any) -> None:
    name, definition = SENT_BODIES[cls]
    body = build(cls)
    if definition == "ErrorResponse":
        message = make_response(3, "stackTrace", body, success=False, message="boom")
    elif definition.endswith("Event"):
        message = make_event(name, body)
    else:
        message = make_response(3, name, body)
    assert definition_for(message) == definition
    validate_message(with_seq(message))


@pytest.mark.parametrize("build", [full_instance, minimal_instance], ids=["full", "minimal"])
def test_initialize_response_carries_capabilities(build: Any) -> None:
    validate_message(with_seq(make_response(1, "initialize", build(m.Capabilities))))


@pytest.mark.parametrize("command", ["configurationDone", "launch", "disconnect", "terminate", "attach"])
def test_empty_responses_validate(command: str) -> None:
    message = make_response(2, command)
    assert "body" not in message
    validate_message(with_seq(message, 5))


def test_events_without_bodies_validate() -> None:
    validate_message(with_seq(make_event("initialized")))
    validate_message(with_seq(make_event("terminated")))


@pytest.mark.parametrize("cls", [c for c in RECEIVED_TYPES if c is not m.Request], ids=lambda c: c.__name__)
def test_received_types_round_trip_through_the_wire(cls: type[Any]) -> None:
    lenient = any(c is cls for c, _ in LENIENT_REQUIRED)
    for instance in (full_instance(cls), minimal_instance(cls)):
        wire = to_wire(instance)
        if instance == full_instance(cls) or not lenient:
            validate_definition(RECEIVED_TYPES[cls], wire)
        assert from_wire(cls, wire) == instance


def test_request_envelope_round_trips() -> None:
    raw = {"seq": 4, "type": "request", "command": "scopes", "arguments": {"frameId": 1000}}
    validate_message(raw)
    request = from_wire(m.Request, raw)
    assert request == m.Request(seq=4, command="scopes", arguments={"frameId": 1000})
    assert to_wire(request) == raw
    assert from_wire(m.ScopesArguments, request.arguments, command=request.command).frame_id == 1000


# -- the converter ----------------------------------------------------------------------------------


def test_snake_case_becomes_camel_case() -> None:
    wire = to_wire(
        m.Capabilities(
            supports_configuration_done_request=True,
            supports_exception_info_request=True,
            supports_ansi_styling=False,
            support_terminate_debuggee=True,
        )
    )
    assert wire == {
        "supportsConfigurationDoneRequest": True,
        "supportsExceptionInfoRequest": True,
        "supportTerminateDebuggee": True,
        "supportsANSIStyling": False,
    }


def test_none_is_absent_and_real_defaults_are_sent() -> None:
    frame = m.StackFrame(id=1, name="main.main", line=0, column=0)
    assert to_wire(frame) == {"id": 1, "name": "main.main", "line": 0, "column": 0}
    # variablesReference is required by the schema even when 0; False is a value, not absence.
    assert to_wire(m.Variable(name="x", value="1")) == {"name": "x", "value": "1", "variablesReference": 0}
    assert to_wire(m.Scope(name="Locals", variables_reference=0, expensive=False))["expensive"] is False


def test_awkward_names() -> None:
    frame = m.StackFrame(
        id=1000,
        name="main.crash",
        line=12,
        column=1,
        instruction_pointer_reference="0x4a2f10",
        presentation_hint="subtle",
    )
    assert to_wire(frame)["instructionPointerReference"] == "0x4a2f10"
    assert to_wire(frame)["presentationHint"] == "subtle"
    assert to_wire(m.SubstitutePath(from_="/build", to="/src")) == {"from": "/build", "to": "/src"}
    assert to_wire(m.Variable(name="p", value="*T", type="*main.T"))["type"] == "*main.T"
    assert to_wire(m.Message(id=1, format="{x}")) == {"id": 1, "format": "{x}"}
    args = from_wire(m.VariablesArguments, {"variablesReference": 5, "format": {"hex": True}, "filter": "indexed"})
    assert args.format == m.ValueFormat(hex=True)
    assert args.filter == "indexed"
    init = from_wire(m.InitializeArguments, {"clientID": "vscode", "adapterID": "gocore", "supportsANSIStyling": True})
    assert (init.client_id, init.adapter_id, init.supports_ansi_styling) == ("vscode", "gocore", True)
    assert init.lines_start_at1 is True


def test_break_mode_is_a_plain_string() -> None:
    body = m.ExceptionInfoResponseBody(exception_id="panic", break_mode="unhandled")
    wire = to_wire(body)
    assert wire == {"exceptionId": "panic", "breakMode": "unhandled"}
    assert type(wire["breakMode"]) is str


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    LOW = 1


@attrs.frozen
class Palette:
    colour: Colour
    level: Level | None = None


def test_enums_in_any_model_use_their_values() -> None:
    assert to_wire(Palette(Colour.RED, Level.LOW)) == {"colour": "red", "level": 1}
    assert from_wire(Palette, {"colour": "red", "level": 1}) == Palette(Colour.RED, Level.LOW)
    with pytest.raises(ProtocolArgumentError, match=r"^palette: 'colour' must be one of 'red', got 'blue'$"):
        from_wire(Palette, {"colour": "blue"})
    with pytest.raises(ProtocolArgumentError, match=r"'level' must be one of 1, got true"):
        from_wire(Palette, {"colour": "red", "level": True})


def test_unknown_keys_are_ignored() -> None:
    args = from_wire(m.StackTraceArguments, {"threadId": 1, "levels": 20, "somethingNew": {"x": 1}})
    assert args == m.StackTraceArguments(thread_id=1, levels=20)


def test_missing_arguments_count_as_empty() -> None:
    assert from_wire(m.DisconnectArguments, None) == m.DisconnectArguments()
    with pytest.raises(ProtocolArgumentError, match=r"^stackTrace: 'threadId' is required$"):
        from_wire(m.StackTraceArguments, None)


@pytest.mark.parametrize(
    ("cls", "data", "expected"),
    [
        (
            m.LaunchArguments,
            {"program": "p", "coreFilePath": "c", "stackTraceDepth": "abc"},
            "launch: 'stackTraceDepth' must be an integer, got 'abc'",
        ),
        (
            m.LaunchArguments,
            {"program": "p", "coreFilePath": "c", "stackTraceDepth": True},
            "launch: 'stackTraceDepth' must be an integer, got true",
        ),
        (
            m.LaunchArguments,
            {"program": "p", "coreFilePath": "c", "stackTraceDepth": 2.5},
            "launch: 'stackTraceDepth' must be an integer, got 2.5",
        ),
        (
            m.LaunchArguments,
            {"program": "p", "coreFilePath": "c", "showRegisters": "false"},
            "launch: 'showRegisters' must be a boolean (true or false), got 'false'",
        ),
        (m.LaunchArguments, {"program": 5, "coreFilePath": "c"}, "launch: 'program' must be a string, got 5"),
        (m.LaunchArguments, {"program": "p"}, "launch: 'coreFilePath' is required"),
        (
            m.LaunchArguments,
            {"program": "p", "coreFilePath": "c", "substitutePath": "/a:/b"},
            "launch: 'substitutePath' must be an array, got '/a:/b'",
        ),
        (
            m.LaunchArguments,
            {"program": "p", "coreFilePath": "c", "substitutePath": [{"from": 1, "to": "/b"}]},
            "launch: 'substitutePath[0].from' must be a string, got 1",
        ),
        (
            m.LaunchArguments,
            {"program": "p", "coreFilePath": "c", "substitutePath": [{"to": "/b"}]},
            "launch: 'substitutePath[0].from' is required",
        ),
        (
            m.LaunchArguments,
            {"program": "p", "coreFilePath": "c", "dlvTimeout": "10s"},
            "launch: 'dlvTimeout' must be a number, got '10s'",
        ),
        (
            m.LaunchArguments,
            {"program": "p", "coreFilePath": "c", "maxThreads": None, "cwd": ["x"]},
            "launch: 'cwd' must be a string, got an array",
        ),
        (
            m.VariablesArguments,
            {"variablesReference": 1, "filter": "all"},
            "variables: 'filter' must be one of 'indexed', 'named', got 'all'",
        ),
        (
            m.StackTraceArguments,
            {"threadId": 1, "format": {"hex": "yes"}},
            "stackTrace: 'format.hex' must be a boolean (true or false), got 'yes'",
        ),
        (
            m.SetExceptionBreakpointsArguments,
            {"filters": [], "exceptionOptions": [{"breakMode": "sometimes"}]},
            "setExceptionBreakpoints: 'exceptionOptions[0].breakMode' must be one of 'never', 'always', "
            "'unhandled', 'userUnhandled', got 'sometimes'",
        ),
        (
            m.SetExceptionBreakpointsArguments,
            {"filters": "panic"},
            "setExceptionBreakpoints: 'filters' must be an array, got 'panic'",
        ),
        (
            m.SourceArguments,
            {"sourceReference": 1, "source": "main.go"},
            "source: 'source' must be an object, got 'main.go'",
        ),
        (m.ScopesArguments, [1], "scopes: arguments must be an object, got an array"),
    ],
)
def test_argument_errors_name_the_field(cls: type[Any], data: Any, expected: str) -> None:
    with pytest.raises(ProtocolArgumentError) as caught:
        from_wire(cls, data)
    assert str(caught.value) == expected
    assert caught.value.error_id is ErrorId.BAD_ARGUMENTS


def test_all_argument_errors_are_reported_together() -> None:
    with pytest.raises(ProtocolArgumentError) as caught:
        from_wire(m.LaunchArguments, {"program": 1, "stackTraceDepth": "x"})
    text = str(caught.value)
    assert text.startswith("launch: ")
    for part in (
        "'program' must be a string",
        "'coreFilePath' is required",
        "'stackTraceDepth' must be an integer",
    ):
        assert part in text
    assert caught.value.field == "program"
    assert caught.value.command == "launch"


def test_command_name_can_be_given() -> None:
    with pytest.raises(ProtocolArgumentError, match=r"^myCommand: 'frameId' is required$"):
        from_wire(m.ScopesArguments, {}, command="myCommand")


def test_integral_floats_are_integers() -> None:
    # JavaScript has one number type; a client may well send 20.0.
    assert from_wire(m.StackTraceArguments, {"threadId": 1.0, "levels": 20.0}) == m.StackTraceArguments(1, levels=20)


def test_numbers_out_of_range_are_errors_not_crashes() -> None:
    with pytest.raises(ProtocolArgumentError, match="'dlvTimeout' must be a number"):
        from_wire(m.LaunchArguments, {"program": "p", "coreFilePath": "c", "dlvTimeout": 10**400})
    with pytest.raises(ProtocolArgumentError, match="'levels' must be an integer, got Infinity"):
        from_wire(m.StackTraceArguments, {"threadId": 1, "levels": float("inf")})


def test_null_means_absent_for_optional_fields() -> None:
    assert from_wire(m.StackTraceArguments, {"threadId": 1, "levels": None}).levels is None


@fuzz
@given(
    st.builds(
        m.StackFrame,
        id=st.integers(0, 2**31 - 1),
        name=st.text(),
        line=st.integers(0, 2**53 - 1),
        column=st.integers(0, 2**53 - 1),
        source=st.none() | st.builds(m.Source, name=st.none() | st.text(), path=st.none() | st.text()),
        instruction_pointer_reference=st.none() | st.text(),
        presentation_hint=st.none() | st.sampled_from(["normal", "label", "subtle"]),
    )
)
def test_stack_frames_survive_the_wire(frame: m.StackFrame) -> None:
    wire = to_wire(frame)
    validate_definition("StackFrame", wire)
    assert from_wire(m.StackFrame, wire) == frame


# -- the launch configuration -----------------------------------------------------------------------


def test_launch_own_shape() -> None:
    args = from_wire(
        m.LaunchArguments,
        {
            "type": "gocore",
            "request": "launch",
            "name": "Open crash",
            "program": "/build/server",
            "coreFilePath": "/tmp/core.1234",
            "dlvPath": "/opt/dlv",
            "substitutePath": [{"from": "/build", "to": "/home/me/src"}],
            "stackTraceDepth": 100,
            "hideSystemGoroutines": True,
            "showRegisters": True,
            "maxThreads": 500,
            "dlvTimeout": 30,
            "cwd": "/home/me",
            "noDebug": False,
            "__restart": {"whatever": 1},
            "__sessionId": "abc",
        },
    )
    assert args == m.LaunchArguments(
        program="/build/server",
        core_file_path="/tmp/core.1234",
        dlv_path="/opt/dlv",
        substitute_path=[m.SubstitutePath(from_="/build", to="/home/me/src")],
        stack_trace_depth=100,
        hide_system_goroutines=True,
        show_registers=True,
        max_threads=500,
        dlv_timeout=30.0,
        cwd="/home/me",
        type="gocore",
        request="launch",
        name="Open crash",
    )


def test_launch_defaults() -> None:
    args = from_wire(m.LaunchArguments, {"program": "a.out", "coreFilePath": "core"})
    assert args.stack_trace_depth == 50
    assert args.hide_system_goroutines is False
    assert args.show_registers is False
    assert args.substitute_path == []
    assert args.dlv_path is None and args.max_threads is None and args.dlv_timeout is None and args.cwd is None


def test_launch_accepts_vscode_go_core_configuration() -> None:
    # As written in a vscode-go launch.json for a core dump.
    vscode_go = {
        "name": "Launch core",
        "type": "go",
        "request": "launch",
        "mode": "core",
        "program": "${workspaceFolder}/server",
        "coreFilePath": "${workspaceFolder}/core",
        "substitutePath": [{"from": "${workspaceFolder}", "to": "/build"}],
        "showGlobalVariables": True,
        "env": {},
        "args": [],
        "dlvFlags": ["--check-go-version=false"],
        "trace": "verbose",
        "dlvToolPath": "/usr/local/bin/dlv",
    }
    args = from_wire(m.LaunchArguments, vscode_go)
    assert (args.program, args.core_file_path) == ("${workspaceFolder}/server", "${workspaceFolder}/core")
    assert args.substitute_path == [m.SubstitutePath(from_="${workspaceFolder}", to="/build")]
    assert args.mode == "core"
    assert args.dlv_path == "/usr/local/bin/dlv"
    # The product's own key wins over vscode-go's older one.
    both = from_wire(m.LaunchArguments, {**vscode_go, "dlvPath": "/opt/dlv"})
    assert both.dlv_path == "/opt/dlv"


@pytest.mark.parametrize("mode", ["debug", "exec", "test", "remote", "replay", "auto"])
def test_launch_rejects_other_modes(mode: str) -> None:
    with pytest.raises(ProtocolArgumentError) as caught:
        from_wire(m.LaunchArguments, {"type": "go", "mode": mode, "program": "p", "coreFilePath": "c"})
    assert str(caught.value) == (
        f"launch: mode '{mode}' is not supported: gocore-dap only opens core dumps "
        '(use "mode": "core", or leave it out)'
    )
    assert caught.value.field == "mode"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"program": "", "coreFilePath": "c"}, "launch: 'program' must not be empty"),
        ({"program": "p", "coreFilePath": "  "}, "launch: 'coreFilePath' must not be empty"),
        (
            {"program": "p", "coreFilePath": "c", "stackTraceDepth": 0},
            "launch: 'stackTraceDepth' must be greater than 0, got 0",
        ),
        (
            {"program": "p", "coreFilePath": "c", "dlvTimeout": -1},
            "launch: 'dlvTimeout' must be greater than 0, got -1.0",
        ),
    ],
)
def test_launch_rejects_unusable_values(data: dict[str, Any], expected: str) -> None:
    with pytest.raises(ProtocolArgumentError) as caught:
        from_wire(m.LaunchArguments, data)
    assert str(caught.value) == expected


# -- the error table --------------------------------------------------------------------------------

AREAS = {
    1: {
        "UNKNOWN_COMMAND",
        "BAD_ARGUMENTS",
        "FRAMING_ERROR",
        "INVALID_MESSAGE",
        "NOT_INITIALIZED",
        "NOT_LAUNCHED",
    },
    2: {
        "LAUNCH_FAILED",
        "FILE_NOT_FOUND",
        "FILE_NOT_READABLE",
        "FILE_EMPTY",
        "FILE_IS_DIRECTORY",
        "NOT_ELF",
        "NOT_A_CORE",
        "FILES_SWAPPED",
        "CORE_TRUNCATED",
        "CORE_MISMATCH",
        "NO_DWARF",
        "NOT_GO",
        "DECOMPRESSION_FAILED",
    },
    3: {"DLV_NOT_FOUND", "DLV_START_FAILED", "DLV_EXITED", "DLV_TIMEOUT"},
    4: {
        "READ_ONLY_CORE",
        "UNKNOWN_THREAD",
        "UNKNOWN_FRAME",
        "UNKNOWN_VARIABLES_REFERENCE",
        "EVALUATE_FAILED",
    },
    5: {"INTERNAL_ERROR"},
}


def test_error_ids_are_grouped_by_area() -> None:
    for thousands, names in AREAS.items():
        for name in names:
            assert ErrorId[name] // 1000 == thousands, name
    assert all(1000 <= error_id < 6000 for error_id in ErrorId)


def test_every_error_id_has_a_spec_and_is_documented() -> None:
    assert set(ERROR_TABLE) == set(ErrorId)
    doc = errors_module.__doc__ or ""
    for error_id in ErrorId:
        assert f"{int(error_id)}  {error_id.name} " in doc, error_id
    # Synonyms are aliases, not new numbers.
    assert ErrorId.DLV_GONE is ErrorId.DLV_EXITED
    assert len({int(e) for e in ErrorId}) == len(list(ErrorId))


def test_read_only_core_is_one_id() -> None:
    error = GocoreError(ErrorId.READ_ONLY_CORE, command="setVariable")
    assert error.text == "A core dump is read-only: setVariable is not possible"
    assert int(ErrorId.READ_ONLY_CORE) == 4000


@pytest.mark.parametrize("error_id", list(ErrorId), ids=lambda e: e.name)
def test_formats_are_well_formed(error_id: ErrorId) -> None:
    fmt = error_id.format
    # Every brace belongs to a placeholder, so DAP clients expand them all.
    assert fmt.count("{") == fmt.count("}") == len(placeholders(fmt))
    if "{error}" in fmt:
        assert fmt == "{error}" or (fmt.endswith(": {error}") and fmt.count("{error}") == 1)


@pytest.mark.parametrize("error_id", list(ErrorId), ids=lambda e: e.name)
def test_every_error_makes_a_valid_error_response(error_id: ErrorId) -> None:
    variables = {name: f"<{name}>" for name in placeholders(error_id.format)}
    error = GocoreError(error_id, variables)
    assert "{" not in error.text
    response = make_error_response({"seq": 9, "type": "request", "command": "threads"}, error)
    assert definition_for(response) == "ErrorResponse"
    validate_message(with_seq(response, 12))
    assert response["body"]["error"]["id"] == int(error_id)
    assert response["body"]["error"]["format"] == error.format
    assert response["request_seq"] == 9
    assert response["success"] is False


def test_dap_error_variables_and_detail() -> None:
    error = GocoreError(ErrorId.EVALUATE_FAILED, {"expression": "x.y"}, message="could not find symbol value for x")
    assert error.text == "Cannot evaluate 'x.y': could not find symbol value for x"
    assert str(error) == error.text
    assert error.variables == {"expression": "x.y", "error": "could not find symbol value for x"}
    assert error.show_user is False
    message = error_message(error)
    assert message.id == 4004
    assert expand_format(message.format, message.variables or {}) == error.text
    # Keyword variables are stringified, as DAP requires.
    assert GocoreError(ErrorId.UNKNOWN_FRAME, id=1003).variables == {"id": "1003"}


def test_error_detail_is_optional_and_never_lost() -> None:
    assert GocoreError(ErrorId.DLV_EXITED).text == "Delve exited unexpectedly"
    assert GocoreError(ErrorId.DLV_EXITED, message="signal: killed").text == "Delve exited unexpectedly: signal: killed"
    assert GocoreError(ErrorId.NOT_LAUNCHED, message="still loading").text == (
        "No core dump is loaded: send 'launch' first: still loading"
    )


def test_show_user_and_url_can_be_overridden() -> None:
    error = GocoreError(ErrorId.EVALUATE_FAILED, expression="x", show_user=True, url="https://example.org/e")
    wire = to_wire(error_message(error))
    assert wire["showUser"] is True and wire["url"] == "https://example.org/e"


def test_cancelled_uses_the_predefined_short_message() -> None:
    response = make_error_response(m.Request(seq=3, command="stackTrace"), GocoreError(ErrorId.CANCELLED))
    assert response["message"] == "cancelled"
    validate_message(with_seq(response))


def test_protocol_argument_error_is_a_bad_arguments_dap_error() -> None:
    error = ProtocolArgumentError("launch: 'x' must be an integer, got 'y'", command="launch", field="x")
    assert isinstance(error, GocoreError)
    assert error.error_id is ErrorId.BAD_ARGUMENTS
    assert error.text == "launch: 'x' must be an integer, got 'y'"
    assert make_error_response({"seq": 1, "command": "launch"}, error)["message"] == error.text


# -- message builders -------------------------------------------------------------------------------


def test_builders_leave_seq_to_the_writer() -> None:
    assert make_response(1, "threads", m.ThreadsResponseBody(threads=[m.Thread(1, "main")])) == {
        "type": "response",
        "request_seq": 1,
        "success": True,
        "command": "threads",
        "body": {"threads": [{"id": 1, "name": "main"}]},
    }
    assert make_event("stopped", m.StoppedEventBody(reason="exception", thread_id=1, all_threads_stopped=True)) == {
        "type": "event",
        "event": "stopped",
        "body": {"reason": "exception", "threadId": 1, "allThreadsStopped": True},
    }
    assert make_request("runInTerminal", {"args": ["x"]}) == {
        "type": "request",
        "command": "runInTerminal",
        "arguments": {"args": ["x"]},
    }


def test_error_response_for_a_framing_error_with_identity() -> None:
    framing = FramingError(FramingErrorKind.INVALID_JSON, "body is not valid JSON", seq=7, command="evaluate")
    response = make_error_response(framing, GocoreError(ErrorId.FRAMING_ERROR, message=framing.message))
    assert (response["request_seq"], response["command"]) == (7, "evaluate")
    validate_message(with_seq(response))


@pytest.mark.parametrize("seq", [None, 0, -1, "3", True])
def test_error_response_needs_a_real_seq(seq: Any) -> None:
    with pytest.raises(ValueError, match="seq"):
        make_error_response({"seq": seq, "command": "threads"}, GocoreError(ErrorId.INTERNAL_ERROR))


# -- the schema validator itself ----------------------------------------------------------------------


def test_validator_picks_definitions() -> None:
    assert definition_for({"type": "request", "command": "stackTrace"}) == "StackTraceRequest"
    assert definition_for({"type": "response", "command": "stackTrace", "success": True}) == "StackTraceResponse"
    assert definition_for({"type": "response", "command": "stackTrace", "success": False}) == "ErrorResponse"
    assert definition_for({"type": "response", "command": "gocoreReport", "success": True}) == "Response"
    assert definition_for({"type": "event", "event": "stopped"}) == "StoppedEvent"
    assert definition_for({"type": "event", "event": "gocoreCrash"}) == "Event"
    assert definition_for({"type": "event", "event": "loadedSource"}) == "LoadedSourceEvent"


def test_validator_rejects_with_a_readable_error() -> None:
    bad = with_seq(make_response(1, "stackTrace", {"stackFrames": [{"id": 1, "name": "f", "line": "3"}]}))
    with pytest.raises(DapSchemaError) as caught:
        validate_message(bad)
    text = str(caught.value)
    assert "StackTraceResponse" in text
    assert "column" in text  # the missing required property is named
    with pytest.raises(DapSchemaError, match="minimum"):
        validate_message({"seq": 0, "type": "event", "event": "initialized"})
    with pytest.raises(DapSchemaError, match=r"int32|2147483648"):
        validate_definition("Thread", {"id": 2**31, "name": "g"})
    with pytest.raises(DapSchemaError, match="not a DAP message"):
        validate_message({"seq": 1, "type": "notification"})
    # Custom messages still have to be well-formed envelopes.
    validate_message({"seq": 2, "type": "event", "event": "gocoreCrash", "body": {"anything": 1}})
    with pytest.raises(DapSchemaError):
        validate_message({"seq": 2, "type": "response", "command": "custom", "success": True})


def test_converter_is_the_one_module_level_converter() -> None:
    from gocore_dap.protocol import converter as converter_module

    assert converter_module.converter is converter
