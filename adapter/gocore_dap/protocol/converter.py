"""The one cattrs converter between attrs models and DAP wire dicts.

Unstructuring (to the wire): attribute names become camelCase keys (`models.wire_name`), and an
attribute whose default is None is left out while it is None, because DAP optional properties
must be absent rather than null (the schema types most of them as plain "string", "integer", ...).

Structuring (from the wire): camelCase keys map back, unknown keys are ignored (clients add their
own, e.g. ``__restart`` or vscode-go's launch keys), and values are checked strictly. cattrs on its
own would coerce: ``bool("false")`` is True, ``int(True)`` is 1 and a string is a perfectly good
iterable for ``list[str]``. A launch configuration is typed by hand, so a wrong type must become
an error that names the field, e.g. ``launch: 'stackTraceDepth' must be an integer, got 'abc'``.

Both directions are generated per class by hook factories registered for all attrs classes, so a
new model needs no converter code.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from gocore_dap.protocol.errors import ProtocolArgumentError
from gocore_dap.protocol.models import ALIASES, ArgumentValueError, wire_name

# ProtocolArgumentError is re-exported because callers of from_wire catch it.
__all__ = ["ProtocolArgumentError", "WireTypeError", "converter", "from_wire", "to_wire"]

T = TypeVar("T")

converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)


class WireTypeError(TypeError):
    """A wire value has the wrong JSON type for the attribute it goes into."""

    def __init__(self, expected: str, value: Any) -> None:
        super().__init__(f"must be {expected}, got {_show(value)}")
        self.expected = expected
        self.value = value


# -- to the wire --------------------------------------------------------------------------------


def _make_unstructure_hook(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    # Typed Any only because mypy cannot tell these keywords from the factory's _cattrs_* flags.
    overrides: dict[str, Any] = {
        # omit_if_default on a None default means exactly "leave out while None"; attributes
        # with a real default (variablesReference=0) must always be sent.
        a.name: override(rename=wire_name(a), omit_if_default=a.default is None)
        for a in attrs.fields(cls)
    }
    return make_dict_unstructure_fn(cls, converter, **overrides)


converter.register_unstructure_hook_factory(attrs.has, _make_unstructure_hook)


# -- from the wire ------------------------------------------------------------------------------


def _make_structure_hook(cls: type[Any]) -> Callable[[Any, Any], Any]:
    fields = attrs.fields(cls)
    renames: dict[str, Any] = {a.name: override(rename=wire_name(a)) for a in fields}
    base = make_dict_structure_fn(cls, converter, **renames)
    aliases = [(wire_name(a), alias) for a in fields for alias in a.metadata.get(ALIASES, ())]

    def structure(obj: Any, _: Any) -> Any:
        if not isinstance(obj, Mapping):
            raise WireTypeError("an object", obj)
        for key, alias in aliases:
            if key not in obj and alias in obj:
                obj = {**obj, key: obj[alias]}
        return base(obj, cls)

    return structure


converter.register_structure_hook_factory(attrs.has, _make_structure_hook)


def _structure_int(obj: Any, _: Any) -> int:
    # bool is an int subclass in Python, but `true` is not a number in JSON.
    if isinstance(obj, int) and not isinstance(obj, bool):
        return obj
    # JavaScript clients may send 5.0 for 5; a fractional value is an error, not truncated.
    if isinstance(obj, float) and obj.is_integer():
        return int(obj)
    raise WireTypeError("an integer", obj)


def _structure_float(obj: Any, _: Any) -> float:
    if isinstance(obj, int | float) and not isinstance(obj, bool):
        try:
            value = float(obj)  # an int beyond float range overflows
        except OverflowError:
            pass
        else:
            if math.isfinite(value):
                return value
    raise WireTypeError("a number", obj)


def _structure_str(obj: Any, _: Any) -> str:
    if isinstance(obj, str):
        return obj
    raise WireTypeError("a string", obj)


def _structure_bool(obj: Any, _: Any) -> bool:
    if isinstance(obj, bool):
        return obj
    raise WireTypeError("a boolean (true or false)", obj)


converter.register_structure_hook(int, _structure_int)
converter.register_structure_hook(float, _structure_float)
converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(bool, _structure_bool)


def _is_list(type_: Any) -> bool:
    return type_ is list or get_origin(type_) is list


def _make_list_hook(type_: Any) -> Callable[[Any, Any], list[Any]]:
    (item_type,) = get_args(type_) or (Any,)
    item_hook = converter.get_structure_hook(item_type)

    def structure(obj: Any, _: Any) -> list[Any]:
        if not isinstance(obj, list):
            raise WireTypeError("an array", obj)
        result: list[Any] = []
        errors: list[Exception] = []
        for index, item in enumerate(obj):
            try:
                result.append(item_hook(item, item_type))
            except Exception as exc:
                exc.add_note(IterableValidationNote(f"Structuring item @ index {index}", index, item_type))
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
        return result

    return structure


def _is_dict(type_: Any) -> bool:
    return type_ is dict or get_origin(type_) is dict


def _make_dict_hook(type_: Any) -> Callable[[Any, Any], dict[Any, Any]]:
    key_type, value_type = get_args(type_) or (Any, Any)
    key_hook = converter.get_structure_hook(key_type)
    value_hook = converter.get_structure_hook(value_type)

    def structure(obj: Any, _: Any) -> dict[Any, Any]:
        if not isinstance(obj, dict):
            raise WireTypeError("an object", obj)
        result: dict[Any, Any] = {}
        errors: list[Exception] = []
        for key, value in obj.items():
            try:
                result[key_hook(key, key_type)] = value_hook(value, value_type)
            except Exception as exc:
                exc.add_note(IterableValidationNote(f"Structuring value @ key {key!r}", key, value_type))
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
        return result

    return structure


def _is_literal(type_: Any) -> bool:
    return get_origin(type_) is Literal


def _make_literal_hook(type_: Any) -> Callable[[Any, Any], Any]:
    allowed = get_args(type_)
    expected = "one of " + ", ".join(_show(v) for v in allowed)

    def structure(obj: Any, _: Any) -> Any:
        # Compare type as well: `True in (1,)` is true in Python.
        if any(type(obj) is type(v) and obj == v for v in allowed):
            return obj
        raise WireTypeError(expected, obj)

    return structure


def _structure_enum(obj: Any, type_: type[enum.Enum]) -> Any:
    if isinstance(obj, str | int) and not isinstance(obj, bool):
        try:
            return type_(obj)
        except ValueError:
            pass
    raise WireTypeError("one of " + ", ".join(_show(member.value) for member in type_), obj)


# The primitive hooks above go through singledispatch, which matches subclasses: StrEnum is a
# str and IntEnum an int, so both need their own registration to take precedence (the MRO of a
# StrEnum lists str before Enum).
for _enum_base in (enum.Enum, enum.StrEnum, enum.IntEnum):
    converter.register_structure_hook(_enum_base, _structure_enum)
    # Plain values, so that a wire dict compares equal to parsed JSON and holds no Python enums.
    converter.register_unstructure_hook(_enum_base, lambda member: member.value)


converter.register_structure_hook_factory(_is_list, _make_list_hook)
converter.register_structure_hook_factory(_is_dict, _make_dict_hook)
converter.register_structure_hook_factory(_is_literal, _make_literal_hook)


# -- the public helpers -------------------------------------------------------------------------


def to_wire(obj: Any) -> dict[str, Any]:
    """The wire dict of an attrs model (camelCase keys, no None-valued optional properties)."""
    if not attrs.has(type(obj)):
        raise TypeError(f"to_wire() needs an attrs model, got {type(obj).__name__}")
    result: dict[str, Any] = converter.unstructure(obj)
    return result


def from_wire(cls: type[T], data: Any, *, command: str | None = None) -> T:
    """Build `cls` from a wire dict, e.g. a request's `arguments`.

    Missing arguments (None) count as an empty object, since DAP lets a client leave out
    `arguments` when every property is optional. Raises ProtocolArgumentError, whose message
    names the command, the offending field and what it must be; `command` defaults to the
    command the class is named after (LaunchArguments -> "launch").
    """
    what = command or _command_of(cls)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ProtocolArgumentError(f"{what}: arguments must be an object, got {_show(data)}", command=what)
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, ArgumentValueError, WireTypeError) as exc:
        problems = _problems(exc, [])
        details = "; ".join(problem for _, problem in problems)
        first_field = _format_path(problems[0][0]) if problems and problems[0][0] else None
        raise ProtocolArgumentError(f"{what}: {details}", command=what, field=first_field) from exc


def _command_of(cls: type[Any]) -> str:
    name = cls.__name__.removesuffix("Arguments")
    return name[:1].lower() + name[1:]


# A path into the wire value: keys of objects and indices of arrays.
_Path = list[str | int]


def _problems(exc: BaseException, path: _Path) -> list[tuple[_Path, str]]:
    """Flatten cattrs' exception groups into (wire path, human problem) pairs."""
    if isinstance(exc, ClassValidationError):
        with_notes, others = exc.group_exceptions()
        found: list[tuple[_Path, str]] = []
        names = {a.name: wire_name(a) for a in attrs.fields(exc.cl)} if attrs.has(exc.cl) else {}
        for sub, note in with_notes:
            found += _problems(sub, [*path, names.get(note.name, note.name)])
        for sub in others:
            found += _problems(sub, path)
        return found
    if isinstance(exc, IterableValidationError):
        found = []
        for sub in exc.exceptions:
            index = next(
                (n.index for n in getattr(sub, "__notes__", []) if isinstance(n, IterableValidationNote)),
                None,
            )
            found += _problems(sub, path if index is None else [*path, index])
        return found
    if isinstance(exc, KeyError):
        return [(path, f"'{_format_path(path)}' is required")]
    if isinstance(exc, ArgumentValueError):
        # Validators run in the constructor, so `path` leads to the object, not the attribute;
        # the message names the attribute itself.
        prefix = f"in '{_format_path(path)}': " if path else ""
        return [([*path, exc.field] if exc.field else path, prefix + str(exc))]
    if isinstance(exc, WireTypeError):
        if not path:
            return [(path, f"arguments {exc}")]
        return [(path, f"'{_format_path(path)}' {exc}")]
    return [(path, f"'{_format_path(path)}' is invalid ({exc})" if path else f"invalid arguments ({exc})")]


def _format_path(path: _Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _show(value: Any, limit: int = 60) -> str:
    """A value as the user wrote it in JSON (strings quoted Python-style, for readability)."""
    if isinstance(value, str):
        text = value if len(value) <= limit else value[:limit] + "..."
        return repr(text)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):  # not JSON data, or an int past the digit limit
        return f"a value of type {type(value).__name__}"
    return text if len(text) <= limit else text[:limit] + "..."
