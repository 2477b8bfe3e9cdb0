"""The direct goroutine index: goroutines, stacks, labels and wait objects read straight from a core.

``open_index(program, core)`` -> :class:`GoroutineIndex`; :class:`DirectReaderUnsupported` says why a
core cannot be read this way (the caller then uses Delve). Importing this package imports numpy: the
adapter imports it on first use, never at start-up.
"""

from gocore_dap.backends.direct.errors import DirectReaderUnsupported
from gocore_dap.backends.direct.index import Creator, GoroutineIndex, Location, Thread, open_index
from gocore_dap.backends.direct.unwind import Frame, Stack
from gocore_dap.backends.direct.waitobjects import WaitObject

__all__ = [
    "Creator",
    "DirectReaderUnsupported",
    "Frame",
    "GoroutineIndex",
    "Location",
    "Stack",
    "Thread",
    "WaitObject",
    "open_index",
]
