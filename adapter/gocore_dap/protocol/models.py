"""attrs models of the DAP messages a core-dump debugger sends and receives (lsprotocol style).

Each class mirrors the definition of the same name in the DAP JSON schema (debugAdapterProtocol.json);
response and event bodies, which the schema defines inline, are named `<Command>ResponseBody` and
`<Event>EventBody`. Attributes are snake_case; `protocol.converter` maps them to the camelCase wire
keys. The few wire keys that snake_case cannot produce (``clientID``, ``supportsANSIStyling``,
``from``) carry an explicit ``metadata={WIRE: ...}``.

Conventions:
- An optional DAP property is ``X | None = None``; None means "absent on the wire".
- A property the schema requires has no default (or, for integers like ``variablesReference``,
  a non-None default), so it is always sent.
- Models of what the client sends are lenient where the schema is strict but nothing depends on
  it (e.g. ``adapterID``), because a debug session should not fail over a client's omission.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import attrs

__all__ = [
    "ALIASES",
    "WIRE",
    "ArgumentValueError",
    "Breakpoint",
    "BreakpointMode",
    "CancelArguments",
    "Capabilities",
    "Checksum",
    "ColumnDescriptor",
    "DisassembleArguments",
    "DisassembleResponseBody",
    "DisassembledInstruction",
    "DisconnectArguments",
    "ErrorResponseBody",
    "EvaluateArguments",
    "EvaluateResponseBody",
    "ExceptionBreakMode",
    "ExceptionBreakpointsFilter",
    "ExceptionDetails",
    "ExceptionFilterOptions",
    "ExceptionInfoArguments",
    "ExceptionInfoResponseBody",
    "ExceptionOptions",
    "ExceptionPathSegment",
    "FunctionBreakpoint",
    "InitializeArguments",
    "InvalidatedEventBody",
    "LaunchArguments",
    "Message",
    "OutputEventBody",
    "ReadMemoryArguments",
    "ReadMemoryResponseBody",
    "Request",
    "Scope",
    "ScopesArguments",
    "ScopesResponseBody",
    "SetBreakpointsArguments",
    "SetBreakpointsResponseBody",
    "SetExceptionBreakpointsArguments",
    "SetExceptionBreakpointsResponseBody",
    "SetFunctionBreakpointsArguments",
    "SetFunctionBreakpointsResponseBody",
    "Source",
    "SourceArguments",
    "SourceBreakpoint",
    "SourceResponseBody",
    "StackFrame",
    "StackFrameFormat",
    "StackTraceArguments",
    "StackTraceResponseBody",
    "StoppedEventBody",
    "SubstitutePath",
    "TerminateArguments",
    "TerminatedEventBody",
    "Thread",
    "ThreadEventBody",
    "ThreadsResponseBody",
    "ValueFormat",
    "Variable",
    "VariablePresentationHint",
    "VariablesArguments",
    "VariablesResponseBody",
    "wire_name",
]

# Field metadata keys read by protocol.converter.
WIRE: Final = "wire"  # the wire key, when camelCase of the attribute name is not it
ALIASES: Final = "aliases"  # other wire keys accepted (not sent) for the attribute


class ArgumentValueError(ValueError):
    """A request argument has the right type but a value the adapter cannot use.

    Raised by model validators; protocol.converter reports it with the command's name. The
    message names the field itself; `field` is its wire key.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _wire(name: str) -> dict[str, Any]:
    return {WIRE: name}


def wire_name(attribute: attrs.Attribute[Any]) -> str:
    """The wire key of an attribute: its WIRE metadata, else the camelCase of its name (a
    trailing underscore, as in ``from_``, only dodges a Python keyword and is dropped)."""
    explicit = attribute.metadata.get(WIRE)
    if isinstance(explicit, str):
        return explicit
    head, *rest = attribute.name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# -- enumerations -------------------------------------------------------------------------------


# Plain string literals rather than an Enum: handlers write break_mode="unhandled", mypy checks
# the spelling, and the converter checks incoming values against the same list.
ExceptionBreakMode = Literal["never", "always", "unhandled", "userUnhandled"]


ChecksumAlgorithm = Literal["MD5", "SHA1", "SHA256", "timestamp"]


# -- types shared by requests, responses and events ---------------------------------------------


@attrs.frozen
class Message:
    """A structured error message (the `error` of an error response's body)."""

    id: int
    format: str
    variables: dict[str, str] | None = None
    send_telemetry: bool | None = None
    show_user: bool | None = None
    url: str | None = None
    url_label: str | None = None


@attrs.frozen
class Checksum:
    algorithm: ChecksumAlgorithm
    checksum: str


@attrs.frozen
class Source:
    name: str | None = None
    path: str | None = None
    source_reference: int | None = None
    presentation_hint: Literal["normal", "emphasize", "deemphasize"] | None = None
    origin: str | None = None
    sources: list[Source] | None = None
    adapter_data: Any = None
    checksums: list[Checksum] | None = None


@attrs.frozen
class Thread:
    id: int
    name: str


@attrs.frozen
class StackFrame:
    id: int
    name: str
    line: int
    column: int
    source: Source | None = None
    end_line: int | None = None
    end_column: int | None = None
    can_restart: bool | None = None
    instruction_pointer_reference: str | None = None
    presentation_hint: Literal["normal", "label", "subtle"] | None = None


@attrs.frozen
class Scope:
    name: str
    variables_reference: int
    expensive: bool
    presentation_hint: str | None = None  # "arguments" | "locals" | "registers" | "returnValue" | ...
    named_variables: int | None = None
    indexed_variables: int | None = None
    source: Source | None = None
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None


@attrs.frozen
class VariablePresentationHint:
    kind: str | None = None  # "property" | "data" | "virtual" | ... (open set in the schema)
    attributes: list[str] | None = None  # "readOnly", "rawString", ...
    visibility: str | None = None
    lazy: bool | None = None


@attrs.frozen
class Variable:
    name: str
    value: str
    variables_reference: int = 0
    type: str | None = None
    presentation_hint: VariablePresentationHint | None = None
    evaluate_name: str | None = None
    named_variables: int | None = None
    indexed_variables: int | None = None
    memory_reference: str | None = None
    declaration_location_reference: int | None = None
    value_location_reference: int | None = None


@attrs.frozen
class ExceptionDetails:
    message: str | None = None
    type_name: str | None = None
    full_type_name: str | None = None
    evaluate_name: str | None = None
    stack_trace: str | None = None
    inner_exception: list[ExceptionDetails] | None = None


@attrs.frozen
class Breakpoint:
    verified: bool
    id: int | None = None
    message: str | None = None
    source: Source | None = None
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    instruction_reference: str | None = None
    offset: int | None = None
    reason: Literal["pending", "failed"] | None = None


@attrs.frozen
class DisassembledInstruction:
    address: str
    instruction: str
    instruction_bytes: str | None = None
    symbol: str | None = None
    location: Source | None = None
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    presentation_hint: Literal["normal", "invalid"] | None = None


@attrs.frozen
class ExceptionBreakpointsFilter:
    filter: str
    label: str
    description: str | None = None
    default: bool | None = None
    supports_condition: bool | None = None
    condition_description: str | None = None


@attrs.frozen
class ColumnDescriptor:
    attribute_name: str
    label: str
    format: str | None = None
    type: Literal["string", "number", "boolean", "unixTimestampUTC"] | None = None
    width: int | None = None


@attrs.frozen
class BreakpointMode:
    mode: str
    label: str
    applies_to: list[str]  # "source" | "exception" | "data" | "instruction"
    description: str | None = None


@attrs.frozen
class Capabilities:
    """The body of the initialize response."""

    supports_configuration_done_request: bool | None = None
    supports_function_breakpoints: bool | None = None
    supports_conditional_breakpoints: bool | None = None
    supports_hit_conditional_breakpoints: bool | None = None
    supports_evaluate_for_hovers: bool | None = None
    exception_breakpoint_filters: list[ExceptionBreakpointsFilter] | None = None
    supports_step_back: bool | None = None
    supports_set_variable: bool | None = None
    supports_restart_frame: bool | None = None
    supports_goto_targets_request: bool | None = None
    supports_step_in_targets_request: bool | None = None
    supports_completions_request: bool | None = None
    completion_trigger_characters: list[str] | None = None
    supports_modules_request: bool | None = None
    additional_module_columns: list[ColumnDescriptor] | None = None
    supported_checksum_algorithms: list[ChecksumAlgorithm] | None = None
    supports_restart_request: bool | None = None
    supports_exception_options: bool | None = None
    supports_value_formatting_options: bool | None = None
    supports_exception_info_request: bool | None = None
    support_terminate_debuggee: bool | None = None
    support_suspend_debuggee: bool | None = None
    supports_delayed_stack_trace_loading: bool | None = None
    supports_loaded_sources_request: bool | None = None
    supports_log_points: bool | None = None
    supports_terminate_threads_request: bool | None = None
    supports_set_expression: bool | None = None
    supports_terminate_request: bool | None = None
    supports_data_breakpoints: bool | None = None
    supports_read_memory_request: bool | None = None
    supports_write_memory_request: bool | None = None
    supports_disassemble_request: bool | None = None
    supports_cancel_request: bool | None = None
    supports_breakpoint_locations_request: bool | None = None
    supports_clipboard_context: bool | None = None
    supports_stepping_granularity: bool | None = None
    supports_instruction_breakpoints: bool | None = None
    supports_exception_filter_options: bool | None = None
    supports_single_thread_execution_requests: bool | None = None
    supports_data_breakpoint_bytes: bool | None = None
    breakpoint_modes: list[BreakpointMode] | None = None
    supports_ansi_styling: bool | None = attrs.field(default=None, metadata=_wire("supportsANSIStyling"))


# -- the request envelope -----------------------------------------------------------------------


@attrs.frozen
class Request:
    """A request as received. Responses and events are built by protocol.messages, because
    their `seq` is assigned by the server's writer when they are sent."""

    seq: int
    command: str
    arguments: Any = None
    type: Literal["request"] = "request"


# -- request arguments --------------------------------------------------------------------------


@attrs.frozen
class InitializeArguments:
    """InitializeRequestArguments. `adapterID` is required by the schema but not needed here."""

    adapter_id: str | None = attrs.field(default=None, metadata=_wire("adapterID"))
    client_id: str | None = attrs.field(default=None, metadata=_wire("clientID"))
    client_name: str | None = None
    locale: str | None = None
    lines_start_at1: bool = True
    columns_start_at1: bool = True
    path_format: str | None = None  # "path" | "uri"
    supports_variable_type: bool | None = None
    supports_variable_paging: bool | None = None
    supports_run_in_terminal_request: bool | None = None
    supports_memory_references: bool | None = None
    supports_progress_reporting: bool | None = None
    supports_invalidated_event: bool | None = None
    supports_memory_event: bool | None = None
    supports_args_can_be_interpreted_by_shell: bool | None = None
    supports_start_debugging_request: bool | None = None
    supports_ansi_styling: bool | None = attrs.field(default=None, metadata=_wire("supportsANSIStyling"))


@attrs.frozen
class SubstitutePath:
    """One source-path rewrite rule, ``{"from": ..., "to": ...}`` as in vscode-go and Delve."""

    from_: str = attrs.field(metadata=_wire("from"))
    to: str


def _only_core_mode(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and value != "core":
        raise ArgumentValueError(
            f"mode {_quote(value)} is not supported: gocore-dap only opens core dumps "
            '(use "mode": "core", or leave it out)',
            field="mode",
        )


def _not_empty(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.strip():
        raise ArgumentValueError(f"'{wire_name(attribute)}' must not be empty", field=wire_name(attribute))


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value <= 0:
        raise ArgumentValueError(
            f"'{wire_name(attribute)}' must be greater than 0, got {value!r}", field=wire_name(attribute)
        )


def _your_code(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    # Imported here: the models are loaded at start-up, Go knowledge only once a core is opened.
    from gocore_dap.goviews.code_scope import parse_your_code

    try:
        parse_your_code(value)
    except ValueError as exc:
        raise ArgumentValueError(str(exc), field=wire_name(attribute)) from None


def _quote(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


@attrs.frozen
class LaunchArguments:
    """The launch configuration: gocore-dap's own, which is also vscode-go's for ``"mode": "core"``.

    Both shapes name the executable ``program`` and the core ``coreFilePath``; vscode-go's extra
    keys (``type``, ``request``, ``name``, ``mode``, ...) are accepted, and ``mode`` must be
    ``"core"`` if present. Unknown keys (``__restart``, ``env``, ...) are ignored.
    """

    program: str = attrs.field(validator=_not_empty)
    core_file_path: str = attrs.field(validator=_not_empty)
    # vscode-go's old name for the Delve binary is accepted too.
    dlv_path: str | None = attrs.field(default=None, metadata={ALIASES: ("dlvToolPath",)})
    substitute_path: list[SubstitutePath] = attrs.Factory(list)
    stack_trace_depth: int = attrs.field(default=50, validator=_positive)
    hide_system_goroutines: bool = False
    show_registers: bool = False
    max_threads: int | None = attrs.field(default=None, validator=_positive)
    dlv_timeout: float | None = attrs.field(default=None, validator=_positive)
    cwd: str | None = None
    # Where the sources are (-trimpath builds, cores from elsewhere) and where the DWARF of a stripped
    # program is: gocore_dap.sources and gocore_dap.preflight.debuginfo.
    source_root: str | None = None
    debug_info_directories: list[str] = attrs.Factory(list)
    symbol_file: str | None = None
    # Read goroutines straight from the core (false: through Delve's listing, slower on big cores).
    direct_reader: bool = True
    # Which frames are the program's own (gocore_dap.goviews.code_scope): "mainModule", "modules", "nonRuntime".
    your_code: str = attrs.field(default="modules", validator=_your_code)
    no_debug: bool = False
    mode: str | None = attrs.field(default=None, validator=_only_core_mode)
    type: str | None = None
    request: str | None = None
    name: str | None = None


@attrs.frozen
class ValueFormat:
    hex: bool | None = None


@attrs.frozen
class StackFrameFormat:
    hex: bool | None = None
    parameters: bool | None = None
    parameter_types: bool | None = None
    parameter_names: bool | None = None
    parameter_values: bool | None = None
    line: bool | None = None
    module: bool | None = None
    include_all: bool | None = None


@attrs.frozen
class StackTraceArguments:
    thread_id: int
    start_frame: int | None = None
    levels: int | None = None
    format: StackFrameFormat | None = None


@attrs.frozen
class ScopesArguments:
    frame_id: int


@attrs.frozen
class VariablesArguments:
    variables_reference: int
    filter: Literal["indexed", "named"] | None = None
    start: int | None = None
    count: int | None = None
    format: ValueFormat | None = None


@attrs.frozen
class EvaluateArguments:
    expression: str
    frame_id: int | None = None
    line: int | None = None
    column: int | None = None
    source: Source | None = None
    context: str | None = None  # "watch" | "repl" | "hover" | "clipboard" | "variables" | ...
    format: ValueFormat | None = None


@attrs.frozen
class ExceptionInfoArguments:
    thread_id: int


@attrs.frozen
class DisassembleArguments:
    memory_reference: str
    instruction_count: int
    offset: int | None = None
    instruction_offset: int | None = None
    resolve_symbols: bool | None = None


@attrs.frozen
class ReadMemoryArguments:
    memory_reference: str
    count: int
    offset: int | None = None


@attrs.frozen
class SourceArguments:
    source_reference: int
    source: Source | None = None


@attrs.frozen
class SourceBreakpoint:
    line: int
    column: int | None = None
    condition: str | None = None
    hit_condition: str | None = None
    log_message: str | None = None
    mode: str | None = None


@attrs.frozen
class SetBreakpointsArguments:
    source: Source
    breakpoints: list[SourceBreakpoint] | None = None
    lines: list[int] | None = None
    source_modified: bool | None = None


@attrs.frozen
class FunctionBreakpoint:
    name: str
    condition: str | None = None
    hit_condition: str | None = None


@attrs.frozen
class SetFunctionBreakpointsArguments:
    breakpoints: list[FunctionBreakpoint]


@attrs.frozen
class ExceptionFilterOptions:
    filter_id: str
    condition: str | None = None
    mode: str | None = None


@attrs.frozen
class ExceptionPathSegment:
    names: list[str]
    negate: bool | None = None


@attrs.frozen
class ExceptionOptions:
    break_mode: ExceptionBreakMode
    path: list[ExceptionPathSegment] | None = None


@attrs.frozen
class SetExceptionBreakpointsArguments:
    filters: list[str]
    filter_options: list[ExceptionFilterOptions] | None = None
    exception_options: list[ExceptionOptions] | None = None


@attrs.frozen
class DisconnectArguments:
    restart: bool | None = None
    terminate_debuggee: bool | None = None
    suspend_debuggee: bool | None = None


@attrs.frozen
class TerminateArguments:
    restart: bool | None = None


@attrs.frozen
class CancelArguments:
    request_id: int | None = None
    progress_id: str | None = None


# -- response bodies ----------------------------------------------------------------------------
# (initialize's body is Capabilities itself)


@attrs.frozen
class ErrorResponseBody:
    error: Message | None = None


@attrs.frozen
class ThreadsResponseBody:
    threads: list[Thread]


@attrs.frozen
class StackTraceResponseBody:
    stack_frames: list[StackFrame]
    total_frames: int | None = None


@attrs.frozen
class ScopesResponseBody:
    scopes: list[Scope]


@attrs.frozen
class VariablesResponseBody:
    variables: list[Variable]


@attrs.frozen
class EvaluateResponseBody:
    result: str
    variables_reference: int = 0
    type: str | None = None
    presentation_hint: VariablePresentationHint | None = None
    named_variables: int | None = None
    indexed_variables: int | None = None
    memory_reference: str | None = None
    value_location_reference: int | None = None


@attrs.frozen
class ExceptionInfoResponseBody:
    exception_id: str
    break_mode: ExceptionBreakMode
    description: str | None = None
    details: ExceptionDetails | None = None


@attrs.frozen
class SetBreakpointsResponseBody:
    breakpoints: list[Breakpoint]


@attrs.frozen
class SetFunctionBreakpointsResponseBody:
    breakpoints: list[Breakpoint]


@attrs.frozen
class SetExceptionBreakpointsResponseBody:
    breakpoints: list[Breakpoint] | None = None


@attrs.frozen
class DisassembleResponseBody:
    instructions: list[DisassembledInstruction]


@attrs.frozen
class ReadMemoryResponseBody:
    address: str
    unreadable_bytes: int | None = None
    data: str | None = None  # base64


@attrs.frozen
class SourceResponseBody:
    content: str
    mime_type: str | None = None


# -- event bodies -------------------------------------------------------------------------------


@attrs.frozen
class StoppedEventBody:
    reason: str  # "exception" | "pause" | "entry" | ... (open set in the schema)
    description: str | None = None
    thread_id: int | None = None
    preserve_focus_hint: bool | None = None
    text: str | None = None
    all_threads_stopped: bool | None = None
    hit_breakpoint_ids: list[int] | None = None


@attrs.frozen
class ProgressStartEventBody:
    progress_id: str
    title: str
    request_id: int | None = None
    cancellable: bool | None = None
    message: str | None = None
    percentage: float | None = None


@attrs.frozen
class ProgressUpdateEventBody:
    progress_id: str
    message: str | None = None
    percentage: float | None = None


@attrs.frozen
class ProgressEndEventBody:
    progress_id: str
    message: str | None = None


@attrs.frozen
class OutputEventBody:
    output: str
    category: str | None = None  # "console" | "important" | "stdout" | "stderr" | "telemetry"
    group: Literal["start", "startCollapsed", "end"] | None = None
    variables_reference: int | None = None
    source: Source | None = None
    line: int | None = None
    column: int | None = None
    data: Any = None
    location_reference: int | None = None


@attrs.frozen
class TerminatedEventBody:
    restart: Any = None


@attrs.frozen
class ThreadEventBody:
    reason: str  # "started" | "exited"
    thread_id: int


@attrs.frozen
class InvalidatedEventBody:
    areas: list[str] | None = None  # "all" | "stacks" | "threads" | "variables"
    thread_id: int | None = None
    stack_frame_id: int | None = None


@attrs.frozen
class GoCapabilities(Capabilities):
    """Capabilities plus gocore-dap's own requests (see go-extensions.json), so a client can tell
    from `initialize` whether the goroutine explorer and the crash summary are there."""

    supports_goroutines_request: bool | None = None
    supports_crash_summary_request: bool | None = None
    supports_reveal_goroutine_request: bool | None = None
