"""The core model's answers about goroutines and the crash, as typed values.

Front ends encode them: the DAP server and the JSON report through `protocol.go_extensions` (the wire
shapes of docs/custom-requests.md), the text renderers and the language server read them directly.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from gocore_dap.goviews.build_info import BuildInfo
from gocore_dap.goviews.crash import PanicRecord, SignalInfo
from gocore_dap.goviews.goroutine_info import GoGoroutine, GoLocation

__all__ = ["CrashLanding", "CrashSummary", "GoroutineGroup", "GoroutinesPage"]


@attrs.frozen
class GoroutineGroup:
    """One bucket: goroutines that share a key (a stack, a location, a wait reason...)."""

    key: str
    label: str
    count: int
    states: Mapping[str, int]
    # The representative's stack (for a stack group, the stack every member shares), innermost first.
    stack: tuple[GoLocation, ...]
    member_ids: tuple[int, ...]
    contains_crashing: bool
    representative: GoGoroutine | None
    # Set when `states` were counted over a sample of `count` (the fast path): how many.
    states_sampled: int | None = None


@attrs.frozen
class GoroutinesPage:
    """One answer to a goroutines query: a page of goroutines, or of groups (or one group's members)."""

    total: int  # goroutines that pass the filter
    total_unfiltered: int
    crashing: GoGoroutine | None  # always present when a goroutine crashed, whatever the filter or page
    goroutines: tuple[GoGoroutine, ...]
    groups: tuple[GoroutineGroup, ...]
    total_groups: int
    approximate: bool
    # Set when the goroutines were not read straight from the core: where they came from, and why.
    note: str | None = None


@attrs.frozen
class CrashLanding:
    """Where the editor opens for this crash: a goroutine and its frame of your code (the crashing
    goroutine's, or, when no goroutine crashed, the most telling asleep one's: `core.landing`)."""

    goroutine_id: int
    location: GoLocation
    asleep: bool  # picked among asleep goroutines (a deadlock, an external signal)


@attrs.frozen
class CrashSummary:
    """What a crash card shows: the crash, the program's build and the size of the core."""

    kind: str
    headline: str
    message: str
    crashing_thread_id: int
    crashing_goroutine_id: int | None
    panic_chain: tuple[PanicRecord, ...]
    signal: SignalInfo | None
    go_version: str
    goroutine_count: int
    build: BuildInfo
    program: str
    core: str
    # The Delve release that read the core ("v1.27.2"), or the dlv the user chose.
    delve: str = ""
    # Where the DWARF of a stripped program came from (None when the program has its own).
    debug_info: str | None = None
    # What the user should know before trusting what is shown (a truncated core, a Delve newer or older
    # than the program's Go, ...): the core's warnings.
    warnings: tuple[str, ...] = ()
    landing: CrashLanding | None = None
    # No goroutine crashed: the user goroutines that have a frame of your code, most telling first
    # (`goviews.landing.rank_asleep_goroutines`); None when a goroutine crashed.
    asleep_order: tuple[int, ...] | None = None
