"""Validation of DAP wire messages against the official JSON schema (debugAdapterProtocol.json).

The schema lives outside the repository, in ``shared/dap`` next to the checkout (``/work/shared``
beside ``/work/main``; CI clones the repository with ``shared/`` beside it). The environment
variable ``GOCORE_DAP_SCHEMA`` points elsewhere.

`validate_message` picks the definition a whole message must satisfy: ``<Command>Request``,
``<Command>Response``, ``<Event>Event``, or ``ErrorResponse`` for ``success: false``; a command or
event the schema does not know (a custom one) falls back to the generic ``Request``, ``Response``
or ``Event``. `validate_definition` checks any value against a named definition (``StackFrame``).

Beyond the schema's own keywords, the integer formats it annotates (``int32``, ``uint32``, ...)
are checked too, since a goroutine id that overflows int32 breaks real clients.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import referencing
from referencing.jsonschema import DRAFT4

__all__ = [
    "SCHEMA_ENV_VAR",
    "DapSchemaError",
    "definition_for",
    "definition_properties",
    "load_schema",
    "schema_path",
    "validate_definition",
    "validate_message",
]

SCHEMA_ENV_VAR = "GOCORE_DAP_SCHEMA"
_SCHEMA_URI = "urn:dap:debugAdapterProtocol.json"
_REPO_ROOT = Path(__file__).resolve().parents[2]

_INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


class DapSchemaError(AssertionError):
    """A message does not satisfy its DAP schema definition (an AssertionError, so that pytest
    shows it as a plain test failure)."""


def schema_path() -> Path:
    override = os.environ.get(SCHEMA_ENV_VAR)
    if override:
        return Path(override)
    return _REPO_ROOT.parent / "shared" / "dap" / "debugAdapterProtocol.json"


@functools.cache
def load_schema() -> dict[str, Any]:
    path = schema_path()
    try:
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"DAP schema not found at {path}; set {SCHEMA_ENV_VAR} to debugAdapterProtocol.json"
        ) from None
    return schema


@functools.cache
def _registry() -> referencing.Registry[Any]:
    resource = referencing.Resource.from_contents(load_schema(), default_specification=DRAFT4)
    return referencing.Registry().with_resource(_SCHEMA_URI, resource)


def format_checker() -> jsonschema.FormatChecker:
    """Checks the integer sizes (int32, uint64, ...) that the DAP schema only names in `format`."""
    checker = jsonschema.FormatChecker()
    for name, (low, high) in _INT_RANGES.items():

        def check(value: object, low: int = low, high: int = high) -> bool:
            # Non-integers are the "type" keyword's business, not the format's.
            if not isinstance(value, int) or isinstance(value, bool):
                return True
            return low <= value <= high

        checker.checks(name)(check)
    return checker


@functools.cache
def _validator(definition: str) -> jsonschema.protocols.Validator:
    if definition not in load_schema()["definitions"]:
        raise KeyError(f"the DAP schema has no definition {definition!r}")
    return jsonschema.Draft4Validator(
        {"$ref": f"{_SCHEMA_URI}#/definitions/{definition}"},
        registry=_registry(),
        format_checker=format_checker(),
    )


@functools.cache
def _names_by_command() -> tuple[dict[str, str], dict[str, str]]:
    """Map each command to its ``XRequest`` definition and each event to its ``XEvent``."""
    commands: dict[str, str] = {}
    events: dict[str, str] = {}
    for name, definition in load_schema()["definitions"].items():
        for part in definition.get("allOf", [])[1:]:
            properties = part.get("properties", {})
            if name.endswith("Request") and "enum" in properties.get("command", {}):
                commands[properties["command"]["enum"][0]] = name
            elif name.endswith("Event") and "enum" in properties.get("event", {}):
                events[properties["event"]["enum"][0]] = name
    return commands, events


def definition_for(message: Mapping[str, Any]) -> str:
    """The name of the schema definition `message` must satisfy."""
    commands, events = _names_by_command()
    kind = message.get("type")
    if kind == "request":
        return commands.get(str(message.get("command")), "Request")
    if kind == "response":
        if message.get("success") is False:
            return "ErrorResponse"
        request = commands.get(str(message.get("command")))
        return request.removesuffix("Request") + "Response" if request else "Response"
    if kind == "event":
        return events.get(str(message.get("event")), "Event")
    raise DapSchemaError(f"not a DAP message (type {kind!r}): {_preview(message)}")


def validate_definition(definition: str, instance: Any) -> None:
    """Raise DapSchemaError, listing every violation, if `instance` does not satisfy `definition`."""
    raise_violations(
        _validator(definition), instance, f"{_preview(instance)} does not satisfy DAP definition {definition!r}"
    )


def raise_violations(validator: jsonschema.protocols.Validator, instance: Any, title: str) -> None:
    """Raise DapSchemaError listing every violation of `validator` by `instance` (nothing if none)."""
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    lines = [f"{title}:"]
    for error in errors:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        lines.append(f"  at {where}: {error.message}")
        # allOf/anyOf failures hide the precise cause in their context; show the deepest one.
        if error.context:
            best = jsonschema.exceptions.best_match(error.context)
            inner = "/".join(str(p) for p in best.absolute_path) or "(top level)"
            lines.append(f"    because at {inner}: {best.message}")
    raise DapSchemaError("\n".join(lines))


def validate_message(msg: dict[str, Any]) -> None:
    """Validate a whole wire message (request, response or event) against its definition."""
    validate_definition(definition_for(msg), msg)


def definition_properties(definition: str, *, body: bool = False) -> tuple[set[str], set[str]]:
    """The property names and required names of a definition, following ``allOf`` and
    ``$ref``; with ``body=True``, those of its inline ``body`` (for response and event bodies)."""
    definitions = load_schema()["definitions"]

    def collect(node: Mapping[str, Any], properties: set[str], required: set[str]) -> None:
        if "$ref" in node:
            collect(definitions[node["$ref"].rsplit("/", 1)[-1]], properties, required)
        for part in node.get("allOf", []):
            collect(part, properties, required)
        properties.update(node.get("properties", {}))
        required.update(node.get("required", []))

    node: Mapping[str, Any] = definitions[definition]
    if body:
        bodies = [part["properties"]["body"] for part in node.get("allOf", []) if "body" in part.get("properties", {})]
        if not bodies:
            raise KeyError(f"{definition} defines no body")
        node = bodies[-1]
    properties: set[str] = set()
    required: set[str] = set()
    collect(node, properties, required)
    return properties, required


def _preview(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= limit else text[:limit] + "..."
