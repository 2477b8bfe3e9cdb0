"""Gather a crash report: open the core (`core.open.open_core`, the same way the editor does), read the
crash and the goroutines, close it.

The goroutine grouping is always exact here (`core.goroutines.BATCH`: a report is read later, so it may
take the few seconds of the full listing), with a larger stack budget than an interactive query.
"""

from __future__ import annotations

import datetime
import linecache
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import gocore_dap
from gocore_dap.core.open import open_core
from gocore_dap.core.options import BATCH, OpenOptions
from gocore_dap.goviews.code_scope import CodeScope, parse_your_code
from gocore_dap.goviews.frames import is_runtime_internal, traceback_name
from gocore_dap.goviews.grouping import ArgumentError, GoroutinesQuery, parse_group_by, parse_query
from gocore_dap.goviews.landing import landing_frame_index
from gocore_dap.report.model import Report, ReportFrame, SourceLine

if TYPE_CHECKING:
    from gocore_dap.core.loaded import LoadedCore
    from gocore_dap.goviews.crash import CrashFrame

__all__ = [
    "REPORT_MAX_GROUPS",
    "build_report",
    "parse_group_by_for_report",
    "parse_your_code_for_report",
]

Progress = Callable[[str], None]

# Groups a report lists (the rest are counted): beyond this a page is no longer read by a person.
REPORT_MAX_GROUPS = 200
REPORT_MEMBER_IDS = 20
CONTEXT_LINES = 2


def parse_group_by_for_report(group_by: str) -> None:
    """Raise ValueError unless `group_by` names a grouping (`none` is not one: a report groups)."""
    try:
        parsed = parse_group_by(group_by)
    except ArgumentError as exc:
        raise ValueError(str(exc).replace("goroutines: 'groupBy'", "--group-by")) from None
    if parsed is None:
        raise ValueError("--group-by must name a grouping, not 'none'")


def parse_your_code_for_report(value: str) -> None:
    """Raise ValueError unless `value` names a scope of your code (`main-module`, `modules`, `non-runtime`,
    or the launch attribute's spelling)."""
    try:
        parse_your_code(value)
    except ValueError as exc:
        raise ValueError(
            f"--your-code must be one of main-module, modules, non-runtime (or mainModule, nonRuntime), got {value!r}"
        ) from exc


def _source_line(path: str, line: int) -> str | None:
    if not path or line <= 0:
        return None
    text = linecache.getline(path, line)
    return text.rstrip("\n") if text else None


def _context(path: str, line: int) -> tuple[SourceLine, ...]:
    out = []
    for number in range(max(1, line - CONTEXT_LINES), line + CONTEXT_LINES + 1):
        text = _source_line(path, number)
        if text is not None:
            out.append(SourceLine(number, text))
    return tuple(out)


def report_frames(
    frames: Sequence[CrashFrame],
    local: Callable[[str, str], str | None] = lambda file, function: file,
    scope: CodeScope | None = None,
) -> tuple[ReportFrame, ...]:
    """The crashing stack with source lines read from disk (`local` maps a file the binary names, and its
    frame's function, to this machine, or None), each frame with whose code it is (`scope`); the landing
    frame (your line the crash came through, `goviews.landing`) gets a few lines of context."""
    scope = scope if scope is not None else CodeScope()
    landing = landing_frame_index(frames, scope)
    out = []
    for index, frame in enumerate(frames):
        path = local(frame.file, frame.function) or ""
        out.append(
            ReportFrame(
                function=traceback_name(frame.function),
                file=frame.file,
                line=frame.line,
                runtime=is_runtime_internal(frame.function),
                source=_source_line(path, frame.line),
                context=_context(path, frame.line) if index == landing else (),
                kind=scope.classify(frame.function, frame.file).value,
                landing=index == landing,
            )
        )
    return tuple(out)


async def _crash_frames(core: LoadedCore) -> tuple[CrashFrame, ...]:
    """The frames the runtime's traceback starts with (the analysis cut the crash machinery off); the
    goroutine's (or thread's) whole stack from Delve when the analysis has none."""
    from gocore_dap.core.stacks import StackOwner
    from gocore_dap.goviews.crash import CrashFrame

    crash = core.crash
    if crash.frames:
        return crash.frames
    if crash.crashing_goroutine_id is not None:
        owner = StackOwner.goroutine(crash.crashing_goroutine_id)
    else:
        owner = StackOwner.thread(crash.crashing_thread_id)
    shown = [s.frame.location for s in await core.shown_stack(owner, 64)]
    return tuple(CrashFrame(loc.function_name, loc.file, loc.line) for loc in shown)


async def build_report(
    program: Path | str,
    core: Path | str,
    *,
    dlv: Path | str | None = None,
    group_by: str = "stack",
    progress: Progress | None = None,
    source_root: str | None = None,
    debug_info_directories: Sequence[str] = (),
    symbol_file: str | None = None,
    your_code: str = "modules",
) -> Report:
    """Analyse PROGRAM's CORE and return the report; the core is always closed before this returns.

    Raises GocoreError (with the same id and message the editor shows for the same files; see
    `exit_code_of`) or ValueError (a `group_by` that is not a grouping).
    """
    parse_group_by_for_report(group_by)
    parse_your_code_for_report(your_code)
    query: GoroutinesQuery = parse_query(
        {"groupBy": group_by, "count": REPORT_MAX_GROUPS, "memberCount": REPORT_MEMBER_IDS}
    )
    options = OpenOptions(
        program=str(program),
        core=str(core),
        dlv_path=str(dlv) if dlv is not None else None,
        dlv_timeout=600.0,
        source_root=source_root,
        # A report is read later: it uses the sources that are here, and says what is missing.
        fetch_sources=False,
        debug_info_directories=tuple(debug_info_directories),
        symbol_file=symbol_file,
        your_code=your_code,
    )
    loaded = await open_core(
        options, progress=(lambda fraction, text: progress(text)) if progress is not None else None, settings=BATCH
    )
    # Only now: bad input files are refused before the command pays for importing the rest.
    from gocore_dap.backends.delve.errors import BackendError
    from gocore_dap.core.failures import backend_error
    from gocore_dap.protocol.go_extensions import encode_crash_summary, encode_goroutines_page

    try:
        summary = await loaded.crash_summary()
        if progress is not None:
            progress("reading goroutines")
        goroutines = await loaded.goroutines.query(query)
        frames = report_frames(
            await _crash_frames(loaded),
            lambda file, function: loaded.sources.to_local(file, function).path,
            loaded.scope,
        )
    except BackendError as exc:
        raise backend_error(exc) from None
    finally:
        if progress is not None:
            progress("closing Delve")
        await loaded.close()
    crash = loaded.crash
    notes = list(crash.notes)
    landing = summary.landing
    if landing is not None and landing.asleep:
        # No goroutine crashed: the stack above is the runtime's own thread; say where the program stood.
        where = landing.location
        notes.append(
            f"no goroutine crashed; the most telling asleep goroutine is goroutine {landing.goroutine_id}, at "
            f"{traceback_name(where.function)} ({where.file}:{where.line})"
        )
    if loaded.goroutines.unreadable:
        notes.append(f"{loaded.goroutines.unreadable:,} goroutines could not be read from the core and are not counted")
    if goroutines.approximate:
        notes.append(
            "the grouping is approximate: not every goroutine's stack was read; goroutines whose stack "
            "was not read are counted with the stack their look-alikes share, or as 'not all read'"
        )
    crash_body = encode_crash_summary(summary)
    return Report(
        program=str(loaded.program),
        core=str(loaded.core),
        generated_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        generator_version=gocore_dap.__version__,
        crash={k: v for k, v in crash_body.items() if k not in ("program", "core")},
        runtime_report=crash.report,
        crashing_goroutine_id=crash.crashing_goroutine_id,
        crashing_thread_id=crash.crashing_thread_id,
        crashing_state=crash.goroutine_state,
        frames=frames,
        group_by=group_by,
        goroutines=encode_goroutines_page(goroutines),
        warnings=loaded.warnings,
        notes=tuple(notes),
    )
