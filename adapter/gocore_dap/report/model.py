"""The crash report as data: what `collect` gathers and every renderer shows.

Its JSON form (`Report.to_json`) is the `--format json` output, documented by report-schema.json next
to this module; `SCHEMA_VERSION` changes only when a key changes meaning or disappears.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = ["SCHEMA_VERSION", "Report", "ReportFrame", "SourceLine", "is_runtime_group"]

SCHEMA_VERSION = 1
# CodeKind values of code somebody wrote and can read (goviews.code_scope.has_source).
_READABLE_KINDS = frozenset({"mainModule", "dependency", "standardLibrary"})


def build_line(build: Mapping[str, Any]) -> str:
    """The main module, its VCS state and how it was built, on one line."""
    module = build.get("mainModule") or {}
    text = f"{module.get('path') or '?'} {module.get('version') or ''}".strip()
    revision = build.get("vcsRevision")
    if revision:
        text += f", revision {revision[:12]}"
        if build.get("vcsModified"):
            text += " (modified)"
    if build.get("vcsTime"):
        text += f", {build['vcsTime']}"
    if build.get("trimpath"):
        text += ", -trimpath"
    if build.get("goos") and build.get("goarch"):
        text += f", {build['goos']}/{build['goarch']}"
    if build.get("cgo"):
        text += ", cgo"
    return text


def is_runtime_group(group: Mapping[str, Any]) -> bool:
    """A goroutine group of the runtime's own (GC workers, the finalizer, the scavenger...): it does not
    hold the crashing goroutine and its representative is a system goroutine (`goviews.presentation.
    is_system_goroutine`, the runtime's own isSystemGoroutine rule). The same rule as the extension's
    Goroutines view (editor-extension/src/goroutineTree.ts), which folds these groups into "Go runtime"."""
    representative = group.get("representative") or {}
    return not group.get("containsCrashing") and bool(representative.get("system"))


@attrs.frozen
class SourceLine:
    line: int
    text: str


@attrs.frozen
class ReportFrame:
    """One frame of the crashing goroutine's (or thread's) stack, with its source line when the file
    is on this machine."""

    function: str
    file: str
    line: int
    runtime: bool  # the Go runtime's own frame (goviews.frames.is_runtime_internal)
    source: str | None = None
    context: tuple[SourceLine, ...] = ()  # a few lines around `line`, for the frame that crashed
    # Whose code it is (goviews.code_scope.CodeKind value), when the collector classified it.
    kind: str | None = None
    # The frame the editor opens for this crash (goviews.landing.landing_frame_index).
    landing: bool = False

    @property
    def dimmed(self) -> bool:
        """Shown faintly: the runtime's frames, generated wrappers, C without source, unknown frames."""
        if self.kind is not None:
            return self.kind not in _READABLE_KINDS
        return self.runtime

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"function": self.function, "file": self.file, "line": self.line,
                               "runtime": self.runtime}  # fmt: skip
        if self.kind is not None:
            out["kind"] = self.kind
        if self.landing:
            out["landing"] = True
        if self.source is not None:
            out["source"] = self.source
        if self.context:
            out["context"] = [{"line": c.line, "text": c.text} for c in self.context]
        return out


@attrs.frozen
class Report:
    program: str
    core: str
    generated_at: str  # RFC 3339, UTC
    generator_version: str
    # The crashSummary body (docs/custom-requests.md) without program/core.
    crash: Mapping[str, Any]
    # What the runtime printed before the traceback (`panic: ...` and the lines around it).
    runtime_report: str
    crashing_goroutine_id: int | None
    crashing_thread_id: int
    crashing_state: str | None
    frames: Sequence[ReportFrame]
    group_by: str
    # The goroutines body of the grouped request (total, totalGroups, approximate, groups).
    goroutines: Mapping[str, Any]
    warnings: Sequence[str] = ()
    notes: Sequence[str] = ()

    @property
    def headline(self) -> str:
        return str(self.crash.get("headline", ""))

    @property
    def groups(self) -> list[Mapping[str, Any]]:
        return list(self.goroutines.get("groups") or [])

    @property
    def program_groups(self) -> list[Mapping[str, Any]]:
        """The groups of the program's own goroutines (and the crasher's), in the report's order."""
        return [g for g in self.groups if not is_runtime_group(g)]

    @property
    def runtime_groups(self) -> list[Mapping[str, Any]]:
        """The runtime's own groups (`is_runtime_group`), which the text and Markdown reports fold into
        one "Go runtime" row; the JSON and HTML reports keep every group."""
        return [g for g in self.groups if is_runtime_group(g)]

    def card_facts(self) -> list[tuple[str, str]]:
        """The crash card's facts, name and value, in the order every human-readable format shows them."""
        crash = self.crash
        who = "none (no goroutine on the crashing thread)"
        if self.crashing_goroutine_id is not None:
            who = f"goroutine {self.crashing_goroutine_id} [{self.crashing_state or '?'}]"
        facts = [("Kind", str(crash.get("kind", ""))), ("Crashed in", f"{who}, thread {self.crashing_thread_id}")]
        signal = crash.get("signal")
        if signal:
            facts.append(("Signal", f"{signal.get('name') or signal.get('number')} code={signal.get('code'):#x} "
                                    f"addr={signal.get('addr'):#x} pc={signal.get('pc'):#x}"))  # fmt: skip
        facts += [
            ("Go", str(crash.get("goVersion", ""))),
            ("Module", build_line(crash.get("build") or {})),
            ("Delve", str(crash.get("delve", ""))),
            ("Goroutines", f"{crash.get('goroutineCount', 0):,}"),
            ("Program", self.program),
            ("Core", self.core),
        ]
        return facts

    def to_json(self) -> dict[str, Any]:
        crash = {k: v for k, v in self.crash.items() if k not in ("program", "core")}
        crash["report"] = self.runtime_report
        stack: dict[str, Any] = {"threadId": self.crashing_thread_id,
                                 "frames": [f.to_json() for f in self.frames]}  # fmt: skip
        if self.crashing_goroutine_id is not None:
            stack["goroutineId"] = self.crashing_goroutine_id
        if self.crashing_state is not None:
            stack["state"] = self.crashing_state
        return {
            "schemaVersion": SCHEMA_VERSION,
            "generator": {"name": "gocore-dap", "version": self.generator_version},
            "generatedAt": self.generated_at,
            "program": self.program,
            "core": self.core,
            "crash": crash,
            "crashingStack": stack,
            "goroutines": {
                "groupBy": self.group_by,
                "total": self.goroutines.get("total", 0),
                "totalGroups": self.goroutines.get("totalGroups", 0),
                "approximate": bool(self.goroutines.get("approximate", False)),
                "groups": self.groups,
            },
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }
