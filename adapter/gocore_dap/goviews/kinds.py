"""reflect.Kind numbers (the runtime's abi.Kind), as the runtime's type descriptors and Delve report them."""

from __future__ import annotations

from typing import Final

INVALID: Final = 0
BOOL: Final = 1
INT: Final = 2
INT8: Final = 3
INT16: Final = 4
INT32: Final = 5
INT64: Final = 6
UINT: Final = 7
UINT8: Final = 8
UINT16: Final = 9
UINT32: Final = 10
UINT64: Final = 11
UINTPTR: Final = 12
FLOAT32: Final = 13
FLOAT64: Final = 14
COMPLEX64: Final = 15
COMPLEX128: Final = 16
ARRAY: Final = 17
CHAN: Final = 18
FUNC: Final = 19
INTERFACE: Final = 20
MAP: Final = 21
PTR: Final = 22
SLICE: Final = 23
STRING: Final = 24
STRUCT: Final = 25
UNSAFE_POINTER: Final = 26

SIGNED_INTS: Final = frozenset({INT, INT8, INT16, INT32, INT64})
UNSIGNED_INTS: Final = frozenset({UINT, UINT8, UINT16, UINT32, UINT64})
# Kinds whose values Go can write as a literal: a map key of one of these can be indexed by its text.
LITERAL_KEYS: Final = frozenset({BOOL, *SIGNED_INTS, STRING})

# The predeclared basic types by name.
BASIC_TYPES: Final = {
    "bool": BOOL, "int": INT, "int8": INT8, "int16": INT16, "int32": INT32, "int64": INT64, "uint": UINT,
    "uint8": UINT8, "uint16": UINT16, "uint32": UINT32, "uint64": UINT64, "uintptr": UINTPTR,
    "float32": FLOAT32, "float64": FLOAT64, "complex64": COMPLEX64, "complex128": COMPLEX128, "string": STRING,
}  # fmt: skip
