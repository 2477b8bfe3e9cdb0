"""The direct goroutine index: goroutines, stacks, labels and wait objects read straight from a core.

Delve needs seconds to list 100,000 goroutines and many more for their stacks; this package reads the
same facts from the core's memory in a fraction of a second (see ``bench/bench_index.py``), so that
grouping by stack is exact at any size. Delve stays the engine for everything per variable.

Use::

    from gocore_dap.backends.direct import DirectReaderUnsupported, open_index

    try:
        index = open_index(program, core, progress=log)
    except DirectReaderUnsupported as exc:
        ...  # use Delve's listing; exc.reason says why (architecture, pclntab version, DWARF type...)
    with index:
        ids, counts = np.unique(index.stack_ids, return_counts=True)  # exact grouping (by PCs)
        groups = index.line_stack_ids()        # ... or by the frames a client shows (function/file/line)
        row = index.row(goid)                  # rows are in runtime.allgs order
        index.state_text(row), index.stack(row), index.labels(row), index.creator(row)
        index.start_function(row), index.wait_objects(row)

Columns (numpy arrays over rows) are attributes of :class:`GoroutineIndex`; ``stack_ids`` index
``stack_table`` (each distinct stack once, frame ids into ``frame_table``). ``stack_from_delve`` marks the
goroutines running on a thread when the process died (at most GOMAXPROCS, the crashing one among them):
their saved context is stale and their stacks are Delve's to show. ``timings`` says where the time went.

Importing this package imports numpy: the adapter imports it on first use, never at start-up.
"""

from gocore_dap.backends.direct.errors import DirectReaderUnsupported
from gocore_dap.backends.direct.index import Creator, GoroutineIndex, Location, Thread, open_index
from gocore_dap.backends.direct.unwind import Frame, Stack
from gocore_dap.backends.direct.waitobjects import OPERATIONS, WaitEdge, WaitObject, WaitObjectReader

__all__ = [
    "OPERATIONS",
    "Creator",
    "DirectReaderUnsupported",
    "Frame",
    "GoroutineIndex",
    "Location",
    "Stack",
    "Thread",
    "WaitEdge",
    "WaitObject",
    "WaitObjectReader",
    "open_index",
]
