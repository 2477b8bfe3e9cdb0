"""Thread names carry the runtime's traceback header, minutes waited included."""

from __future__ import annotations

from gocore_dap.backends.delve.api import Function, Goroutine, Location
from gocore_dap.goviews.wait_reasons import WaitReasonTable
from gocore_dap.session.threads import goroutine_entry

MINUTE = 60 * 1_000_000_000
REASONS = WaitReasonTable.from_strings(["", "GC assist marking", "IO wait", "chan receive"])


def goroutine(status: int, wait_reason: int = 0, wait_since: int = 0) -> Goroutine:
    loc = Location(pc=1, file="/src/main.go", line=7, function=Function("main.worker"))
    return Goroutine(
        id=42, current_loc=loc, user_current_loc=loc, go_statement_loc=None, start_loc=None, thread_id=0,
        status=status, wait_since=wait_since, wait_reason=wait_reason, labels={}, unreadable="",
    )  # fmt: skip


def name_of(g: Goroutine, now_ns: int | None) -> str:
    return goroutine_entry(g, REASONS, crashed=False, now_ns=now_ns).name


def test_a_long_wait_shows_its_minutes_like_the_runtime() -> None:
    g = goroutine(status=4, wait_reason=3, wait_since=1_000 * MINUTE)
    assert name_of(g, 1_005 * MINUTE + 30) == "goroutine 42 [chan receive, 5 minutes] main.worker"


def test_under_a_minute_or_unknown_shows_no_minutes() -> None:
    g = goroutine(status=4, wait_reason=2, wait_since=1_000 * MINUTE)
    assert name_of(g, 1_000 * MINUTE + MINUTE - 1) == "goroutine 42 [IO wait] main.worker"
    assert name_of(g, None) == "goroutine 42 [IO wait] main.worker"
    never_seen_by_gc = goroutine(status=4, wait_reason=2, wait_since=0)
    assert name_of(never_seen_by_gc, 9_999 * MINUTE) == "goroutine 42 [IO wait] main.worker"


def test_running_goroutines_have_no_wait_time() -> None:
    g = goroutine(status=2, wait_reason=3, wait_since=1)  # a stale waitsince from an earlier wait
    assert name_of(g, 500 * MINUTE) == "goroutine 42 [running] main.worker"
