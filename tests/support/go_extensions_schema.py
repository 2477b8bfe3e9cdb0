"""Validation of gocore-dap's custom DAP messages (`goroutines`, `crashSummary`).

Their schema, adapter/gocore_dap/protocol/go-extensions.json, is written in the DAP schema's own format
and refers to the DAP schema's definitions by name (`#/definitions/Request`), so both files are merged
into one document (the DAP definitions plus ours; no name is in both) and registered as one resource.

`validate_go_extension(message)` validates a whole message of a custom command against its definition
(`GoroutinesRequest`, `GoroutinesResponse`, ... or `ErrorResponse` for a failure) and any other message
against the DAP schema, so it can be a DapClient's validator for a whole session.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import referencing
from referencing.jsonschema import DRAFT4

from tests.support.dap_schema import DapSchemaError, format_checker, load_schema, raise_violations, validate_message

__all__ = [
    "CUSTOM_COMMANDS",
    "extension_schema_path",
    "load_extension_schema",
    "validate_go_definition",
    "validate_go_extension",
]

_URI = "urn:gocore-dap:dap-with-go-extensions.json"
_REPO = Path(__file__).resolve().parents[2]

# command -> the prefix of its Request/Response definitions.
CUSTOM_COMMANDS = {"goroutines": "Goroutines", "crashSummary": "CrashSummary", "revealGoroutine": "RevealGoroutine"}


def extension_schema_path() -> Path:
    return _REPO / "adapter" / "gocore_dap" / "protocol" / "go-extensions.json"


@functools.cache
def load_extension_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(extension_schema_path().read_text(encoding="utf-8"))
    return schema


@functools.cache
def _combined() -> dict[str, Any]:
    dap = load_schema()
    ours = load_extension_schema()["definitions"]
    clash = sorted(set(ours) & set(dap["definitions"]))
    if clash:
        raise DapSchemaError(f"go-extensions.json redefines DAP definitions: {clash}")
    return {**dap, "definitions": {**dap["definitions"], **ours}}


@functools.cache
def _registry() -> referencing.Registry[Any]:
    resource = referencing.Resource.from_contents(_combined(), default_specification=DRAFT4)
    return referencing.Registry().with_resource(_URI, resource)


@functools.cache
def _validator(definition: str) -> jsonschema.protocols.Validator:
    if definition not in _combined()["definitions"]:
        raise KeyError(f"no definition {definition!r} in the DAP schema or go-extensions.json")
    return jsonschema.Draft4Validator(
        {"$ref": f"{_URI}#/definitions/{definition}"}, registry=_registry(), format_checker=format_checker()
    )


def validate_go_definition(definition: str, instance: Any) -> None:
    """Raise DapSchemaError listing every violation of `definition` (ours or the DAP schema's)."""
    text = json.dumps(instance, default=repr)
    raise_violations(_validator(definition), instance, f"{text[:300]} does not satisfy {definition!r}")


def validate_go_extension(message: Mapping[str, Any]) -> None:
    """Validate a message of a custom command against go-extensions.json, any other against DAP's."""
    prefix = CUSTOM_COMMANDS.get(str(message.get("command")))
    kind = message.get("type")
    if prefix is None or kind not in ("request", "response"):
        validate_message(dict(message))
        return
    if kind == "request":
        definition = f"{prefix}Request"
    elif message.get("success") is False:
        definition = "ErrorResponse"
    else:
        definition = f"{prefix}Response"
    validate_go_definition(definition, dict(message))
