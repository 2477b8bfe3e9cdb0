"""Wire JSON of gocore-dap's own requests (`goroutines`, `crashSummary`; docs/custom-requests.md and
go-extensions.json): the core model's typed answers encoded with camelCase keys, optional keys absent.

Built as plain dicts rather than attrs models run through cattrs: a body of thousands of goroutine
records is far cheaper this way. The JSON report embeds the same shapes, so this module imports nothing
of the DAP models (the report does not pay for them).
"""

from __future__ import annotations

from typing import Any

from gocore_dap.core.results import CrashSummary, GoroutineGroup, GoroutinesPage
from gocore_dap.goviews.build_info import BuildInfo
from gocore_dap.goviews.goroutine_info import GoGoroutine, GoLocation

__all__ = [
    "encode_build_info",
    "encode_crash_summary",
    "encode_goroutine",
    "encode_goroutines_page",
    "encode_group",
    "encode_location",
]


def encode_location(location: GoLocation) -> dict[str, Any]:
    return {"function": location.function, "file": location.file, "line": location.line}


def encode_goroutine(g: GoGoroutine) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": g.id,
        "state": g.state,
        "userLocation": encode_location(g.user_location),
        "currentLocation": encode_location(g.current_location),
        "startFunction": g.start_function,
        "labels": dict(g.labels),
        "crashed": g.crashed,
        "system": g.system,
    }
    # Optional properties are absent rather than null, as in DAP's own schema.
    if g.wait_reason is not None:
        body["waitReason"] = g.wait_reason
    if g.wait_minutes is not None:
        body["waitMinutes"] = g.wait_minutes
    if g.creation_location is not None:
        body["creationLocation"] = encode_location(g.creation_location)
    if g.parent_id is not None:
        body["parentId"] = g.parent_id
    if g.thread_id is not None:
        body["threadId"] = g.thread_id
    if g.waiting_in:
        body["waitingIn"] = g.waiting_in
    return body


def encode_group(group: GoroutineGroup) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": group.key,
        "label": group.label,
        "count": group.count,
        "states": dict(group.states),
        "stack": [encode_location(f) for f in group.stack],
        "memberIds": list(group.member_ids),
        "containsCrashing": group.contains_crashing,
    }
    if group.representative is not None:
        body["representative"] = encode_goroutine(group.representative)
    if group.states_sampled is not None:
        body["statesSampled"] = group.states_sampled
    return body


def encode_goroutines_page(page: GoroutinesPage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "total": page.total,
        "totalUnfiltered": page.total_unfiltered,
        "crashing": encode_goroutine(page.crashing) if page.crashing is not None else None,
        "goroutines": [encode_goroutine(g) for g in page.goroutines],
        "groups": [encode_group(g) for g in page.groups],
        "totalGroups": page.total_groups,
        "approximate": page.approximate,
    }
    if page.note is not None:
        body["note"] = page.note
    return body


def encode_build_info(info: BuildInfo) -> dict[str, Any]:
    """The `build` object of the crashSummary response."""
    body: dict[str, Any] = {
        "mainModule": {"path": info.main_module_path, "version": info.main_module_version},
        "trimpath": info.trimpath,
        "settings": dict(info.settings),
    }
    # The target and cgo, named for a crash card (also among the settings, as the toolchain wrote them).
    for key, setting in (("goos", "GOOS"), ("goarch", "GOARCH")):
        if info.settings.get(setting):
            body[key] = info.settings[setting]
    if "CGO_ENABLED" in info.settings:
        body["cgo"] = info.settings["CGO_ENABLED"] == "1"
    if info.vcs_revision is not None:
        body["vcsRevision"] = info.vcs_revision
    if info.vcs_time is not None:
        body["vcsTime"] = info.vcs_time
    if info.vcs_modified is not None:
        body["vcsModified"] = info.vcs_modified
    return body


def encode_crash_summary(summary: CrashSummary) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": summary.kind,
        "headline": summary.headline,
        "message": summary.message,
        "crashingThreadId": summary.crashing_thread_id,
        "panicChain": [
            {"value": p.value_text, "recovered": p.recovered, "goexit": p.goexit} for p in summary.panic_chain
        ],
        "goVersion": summary.go_version,
        "goroutineCount": summary.goroutine_count,
        "build": encode_build_info(summary.build),
        "program": summary.program,
        "core": summary.core,
        "delve": summary.delve,
        "warnings": list(summary.warnings),
    }
    if summary.debug_info is not None:
        body["debugInfo"] = summary.debug_info
    if summary.signal is not None:
        s = summary.signal
        body["signal"] = {"name": s.name, "number": s.number, "code": s.code, "addr": s.addr, "pc": s.pc}
    if summary.crashing_goroutine_id is not None:
        body["crashingGoroutineId"] = summary.crashing_goroutine_id
    if summary.landing is not None:
        body["landing"] = {
            "goroutineId": summary.landing.goroutine_id,
            "location": encode_location(summary.landing.location),
            "asleep": summary.landing.asleep,
        }
    if summary.asleep_order is not None:
        body["asleepOrder"] = list(summary.asleep_order)
    return body
