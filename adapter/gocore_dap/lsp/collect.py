"""Read what the language server shows from a loaded core, through the core model's public API.

Every goroutine fact comes from one grouped query of the goroutine model (`groupBy: stack`, on the full
listing: exact counts and states per stack), so a core costs the model's own work plus, for the hover on
the crash line, one Delve stack trace with the crashing frame's variables. The paths are mapped with the
core's `SourceResolver` (the same mapping the debugger uses) and the build facts read from the DWARF
(`lsp.build_lines`); both touch the disk, so they run in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path

import attrs

from gocore_dap.core.loaded import LoadedCore
from gocore_dap.goviews.code_scope import CodeKind, CodeScope, has_source
from gocore_dap.goviews.grouping import MAX_COUNT, parse_query
from gocore_dap.lsp.build_lines import BuildLines, read_build_lines
from gocore_dap.lsp.marks import MAX_IDS, CoreMarks, StackBucket, build_marks
from gocore_dap.lsp.values import HOVER_CONFIG, variable_line

__all__ = ["CoreFacts", "CrashVariables", "collect_facts"]

log = logging.getLogger(__name__)

# Frames of the crashing goroutine read with their variables: the crash site is near the top.
_VARIABLE_DEPTH = 64
_CHECKED_KINDS = frozenset({CodeKind.MAIN_MODULE, CodeKind.DEPENDENCY})


@attrs.frozen
class CrashVariables:
    arguments: tuple[str, ...] = ()
    locals: tuple[str, ...] = ()
    problem: str = ""


@attrs.frozen
class CoreFacts:
    marks: CoreMarks
    variables: CrashVariables
    # Binary path -> local file (None: not on this machine), with the resolver's reason for a miss.
    local_paths: Mapping[str, str | None]
    missing: Mapping[str, str]
    build: BuildLines
    # Binary paths of your code (the main module and dependencies): the files the build check applies to.
    checked_files: frozenset[str]


async def _buckets(loaded: LoadedCore) -> tuple[list[StackBucket], bool]:
    # The counts go on source lines and must be the traceback's: the full listing first, so that the query
    # is answered exactly rather than from the model's sampled first answer (whose states are a sample's).
    await loaded.goroutines.ensure_table()
    buckets: list[StackBucket] = []
    start = 0
    approximate = False
    while True:
        page = await loaded.goroutines.query(
            parse_query({"groupBy": "stack", "start": start, "count": MAX_COUNT, "memberCount": MAX_IDS})
        )
        approximate = approximate or page.approximate
        for group in page.groups:
            buckets.append(
                StackBucket(
                    frames=tuple(group.stack),
                    count=group.count,
                    states=dict(group.states),
                    goroutine_ids=tuple(group.member_ids),
                    representative=group.representative,
                    crashing=group.contains_crashing,
                )
            )
        start += len(page.groups)
        if not page.groups or start >= page.total_groups:
            return buckets, approximate


async def _crash_variables(loaded: LoadedCore, marks: CoreMarks) -> CrashVariables:
    """The crash site's arguments and locals, short form, from one Delve stack trace with variables."""
    crash = marks.crash
    if crash is None or crash.site is None or crash.goroutine_id is None:
        return CrashVariables()
    from gocore_dap.backends.delve.errors import BackendError

    site = crash.site
    try:
        frames = await loaded.api.stacktrace(crash.goroutine_id, _VARIABLE_DEPTH, full=True, cfg=HOVER_CONFIG)
    except BackendError as exc:
        return CrashVariables(problem=f"the variables could not be read: {exc}")
    for frame in frames:
        location = frame.location
        if (location.function_name, location.file, location.line) == (site.function, site.file, site.line):
            if frame.err:
                return CrashVariables(problem=frame.err)
            return CrashVariables(
                arguments=tuple(variable_line(v) for v in frame.arguments),
                locals=tuple(variable_line(v) for v in frame.locals),
            )
    return CrashVariables(problem=f"Delve's stack of goroutine {crash.goroutine_id} has no frame at {site.short}")


def _dwarf_file(loaded: LoadedCore) -> Path:
    """The file with the program's DWARF: the program, or its separate debug information."""
    info = loaded.preflight.debug_info
    return info.file if info is not None else loaded.program


def _map_paths(loaded: LoadedCore, marks: CoreMarks, scope: CodeScope) -> tuple[dict[str, str | None], dict[str, str]]:
    functions: dict[str, str] = {}
    for mark in marks.lines.values():
        functions.setdefault(mark.file, mark.function)
    if marks.crash is not None:
        for frame in marks.crash.stack:
            functions.setdefault(frame.file, frame.function)
    paths: dict[str, str | None] = {}
    missing: dict[str, str] = {}
    for file in sorted(marks.files()):
        if not file:
            continue
        function = functions.get(file)
        resolved = loaded.sources.to_local(file, function)
        paths[file] = resolved.path
        # Generated code (cgo's prologues, `?`) has no source anywhere: not worth a warning.
        readable = has_source(scope.classify(function or "", file)) and resolved.kind != "generated"
        if resolved.path is None and readable:
            missing[file] = resolved.reason or "not found"
    return paths, missing


async def collect_facts(loaded: LoadedCore, scope: CodeScope) -> CoreFacts:
    buckets, approximate = await _buckets(loaded)
    marks = build_marks(buckets, loaded.crash, scope, approximate=approximate)
    variables = await _crash_variables(loaded, marks)
    checked = {mark.file for mark in marks.lines.values() if scope.classify(mark.function, mark.file) in _CHECKED_KINDS}
    functions = {m.function for m in marks.lines.values() if m.file in checked}
    crash = marks.crash
    if crash is not None:
        for frame in crash.stack:
            if scope.classify(frame.function, frame.file) in _CHECKED_KINDS:
                checked.add(frame.file)
                functions.add(frame.function)

    def disk_work() -> tuple[dict[str, str | None], dict[str, str], BuildLines]:
        paths, missing = _map_paths(loaded, marks, scope)
        build = read_build_lines(_dwarf_file(loaded), checked, functions)
        return paths, missing, build

    paths, missing, build = await asyncio.get_running_loop().run_in_executor(None, disk_work)
    if build.problem:
        log.info("%s", build.problem)
    return CoreFacts(
        marks=marks,
        variables=variables,
        local_paths=paths,
        missing=missing,
        build=build,
        checked_files=frozenset(checked),
    )
