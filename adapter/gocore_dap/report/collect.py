"""Gather a crash report: check the files, start Delve, read the crash and the goroutines, end Delve.

The same analysis as an editor session (backends.delve.crash_probe + goviews.crash + session.explorer), run
without one. The goroutine grouping is always the exact path here (a report is read later, so it may
take the few seconds of the full listing), with a larger stack budget than an interactive request.
"""

from __future__ import annotations

import datetime
import linecache
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gocore_dap
from gocore_dap.backends.delve.api import DelveApi
from gocore_dap.backends.delve.errors import BackendError, DelveStartError, DelveUnavailable
from gocore_dap.backends.delve.process import DelveProcess
from gocore_dap.backends.delve.selection import prepare_delve
from gocore_dap.goviews.crash import CrashAnalysis, CrashFrame, analyze_crash
from gocore_dap.goviews.frames import first_user_frame_index, is_runtime_internal
from gocore_dap.goviews.grouping import ArgumentError, parse_group_by
from gocore_dap.report.model import Report, ReportFrame, SourceLine
from gocore_dap.session.explorer import GoroutineExplorer

__all__ = [
    "REPORT_MAX_GROUPS",
    "ReportDelveError",
    "ReportError",
    "ReportInputError",
    "build_report",
    "parse_group_by_for_report",
]

Progress = Callable[[str], None]

# Groups a report lists (the rest are counted): beyond this a page is no longer read by a person.
REPORT_MAX_GROUPS = 200
REPORT_MEMBER_IDS = 20
# A report may read more stacks than an interactive request: 40,000 is ~10 s of Delve time.
REPORT_STACK_BUDGET = 40_000
CONTEXT_LINES = 2


class ReportError(Exception):
    """The report could not be made; `exit_code` is the command's exit status."""

    exit_code = 1


class ReportInputError(ReportError):
    """PROGRAM or CORE is unusable (the preflight checks say why)."""

    exit_code = 3


class ReportDelveError(ReportError):
    """Delve is missing, could not load the core, or failed while reading it."""

    exit_code = 4


def parse_group_by_for_report(group_by: str) -> None:
    """Raise ValueError unless `group_by` names a grouping (`none` is not one: a report groups)."""
    try:
        parsed = parse_group_by(group_by)
    except ArgumentError as exc:
        raise ValueError(str(exc).replace("goroutines: 'groupBy'", "--group-by")) from None
    if parsed is None:
        raise ValueError("--group-by must name a grouping, not 'none'")


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


def report_frames(frames: Sequence[CrashFrame]) -> tuple[ReportFrame, ...]:
    """The crashing stack with source lines read from disk; the first user frame (where the program's
    own code crashed) gets a few lines of context."""
    origin = first_user_frame_index([f.function for f in frames])
    out = []
    for index, frame in enumerate(frames):
        out.append(
            ReportFrame(
                function=frame.function,
                file=frame.file,
                line=frame.line,
                runtime=is_runtime_internal(frame.function),
                source=_source_line(frame.file, frame.line),
                context=_context(frame.file, frame.line) if index == origin else (),
            )
        )
    return tuple(out)


async def _crash_frames(api: DelveApi, crash: CrashAnalysis) -> tuple[CrashFrame, ...]:
    """The frames the runtime's traceback starts with (the analysis cut the crash machinery off); the
    goroutine's whole stack from Delve when the analysis has none."""
    if crash.frames:
        return crash.frames
    if crash.crashing_goroutine_id is not None:
        frames = await api.stacktrace(crash.crashing_goroutine_id, 64)
    else:
        await api.switch_thread(crash.crashing_thread_id)
        frames = await api.stacktrace(-1, 64)
    return tuple(CrashFrame(f.location.function_name, f.location.file, f.location.line) for f in frames)


def _preflight(program: Path, core: Path, progress: Progress | None) -> tuple[Any, Path, list[str]]:
    """(preflight result or None, the core file Delve opens, warnings); raises ReportInputError."""
    try:
        from gocore_dap.preflight.checks import preflight
    except ImportError:
        # Without the checks, at least say which file is missing rather than Delve's "EOF".
        for role, path in (("program", program), ("core", core)):
            if not path.is_file():
                raise ReportInputError(f"the {role} {path} does not exist or is not a file") from None
        return None, core, []
    result = preflight(program, core, progress=progress)
    if result.errors:
        result.cleanup()
        raise ReportInputError("\n".join(issue.message for issue in result.errors))
    return result, result.core_for_delve, [issue.message for issue in result.warnings]


async def build_report(
    program: Path | str,
    core: Path | str,
    *,
    dlv: Path | str | None = None,
    group_by: str = "stack",
    progress: Progress | None = None,
    stack_budget: int = REPORT_STACK_BUDGET,
) -> Report:
    """Analyse PROGRAM's CORE and return the report; Delve is always ended before this returns.

    Raises ReportInputError (bad files), ReportDelveError (Delve missing or failing) or ValueError (a
    `group_by` that is not a grouping).
    """
    parse_group_by_for_report(group_by)
    program_path = Path(program).expanduser().absolute()
    core_path = Path(core).expanduser().absolute()

    def say(text: str) -> None:
        if progress is not None:
            progress(text)

    say("checking the program and the core")
    checked, core_for_delve, warnings = _preflight(program_path, core_path, progress)
    delve: DelveProcess | None = None
    explorer: GoroutineExplorer | None = None
    try:
        go_version = checked.go_version if checked is not None else None
        try:
            launch = await prepare_delve(
                go_version, str(dlv) if dlv is not None else None, progress=lambda _f, t: say(t)
            )
        except DelveUnavailable as exc:
            raise ReportDelveError(str(exc)) from None
        warnings.extend(launch.warnings)
        say("starting Delve")
        try:
            delve = await DelveProcess.start(
                launch.dlv, program_path, core_for_delve, rpc_timeout=600.0, unix_socket=launch.unix_socket,
                flags=launch.flags,
            )  # fmt: skip
        except DelveStartError as exc:
            raise ReportDelveError(str(exc)) from None
        try:
            from gocore_dap.backends.delve.crash_probe import probe_crash, read_wait_reasons

            say("reading the crash")
            api = DelveApi(delve)
            # The probe reads Delve's current thread: it runs before anything selects another.
            facts = await probe_crash(delve)
            wait_reasons = await read_wait_reasons(delve)
            crash = analyze_crash(facts, wait_reasons)
            explorer = GoroutineExplorer(
                api, wait_reasons, crash, fast_threshold=sys.maxsize, stack_budget=stack_budget,
                background_load=False, progress=progress,
            )  # fmt: skip
            summary = await explorer.crash_summary(program_path, core_path)
            say("reading goroutines")
            goroutines = await explorer.goroutines(
                {"groupBy": group_by, "count": REPORT_MAX_GROUPS, "memberCount": REPORT_MEMBER_IDS}
            )
            frames = report_frames(await _crash_frames(api, crash))
        except BackendError as exc:
            raise ReportDelveError(f"Delve failed while reading the core: {exc}") from None
    finally:
        if explorer is not None:
            await explorer.close()
        if delve is not None:
            say("closing Delve")
            await delve.close()
        if checked is not None:
            checked.cleanup()
    notes = list(crash.notes)
    unreadable = explorer.table.unreadable if explorer is not None and explorer.table is not None else 0
    if unreadable:
        notes.append(f"{unreadable:,} goroutines could not be read from the core and are not counted")
    if goroutines.get("approximate"):
        notes.append(
            "the grouping is approximate: not every goroutine's stack was read; goroutines whose stack "
            "was not read are counted with the stack their look-alikes share, or as 'not all read'"
        )
    return Report(
        program=str(program_path),
        core=str(core_path),
        generated_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        generator_version=gocore_dap.__version__,
        crash={k: v for k, v in summary.items() if k not in ("program", "core")},
        runtime_report=crash.report,
        crashing_goroutine_id=crash.crashing_goroutine_id,
        crashing_thread_id=crash.crashing_thread_id,
        crashing_state=crash.goroutine_state,
        frames=frames,
        group_by=group_by,
        goroutines=goroutines,
        warnings=tuple(warnings),
        notes=tuple(notes),
    )
