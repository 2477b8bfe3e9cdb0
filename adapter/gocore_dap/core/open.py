"""`open_core`: the one way every front end opens a core dump.

The steps, in order: check an explicit Delve (before the checks, so a wrong dlvPath does not wait for a
large core to be decompressed); check the program and the core (`preflight`, off the event loop: it
also reads the program's Go version and finds separate debug info); pick the Delve release that reads
that Go version (installing it on first use); start it, with the program's sources being mapped
meanwhile; read the crash (the probe reads Delve's current thread, so it runs before anything selects
another) and the target's wait-reason table. Any failure is a `GocoreError` with its stable id, and
leaves nothing behind: no Delve process, no decompressed core, no private Delve configuration.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from gocore_dap.backends.delve.errors import DelveUnavailable
from gocore_dap.backends.delve.locate import explicit_dlv
from gocore_dap.core.input_errors import input_error
from gocore_dap.core.options import INTERACTIVE, ModelSettings, OpenOptions
from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.goviews.code_scope import YourCode, parse_your_code
from gocore_dap.preflight.checks import PreflightResult, preflight
from gocore_dap.preflight.debuginfo import DebugInfoOptions

if TYPE_CHECKING:
    from gocore_dap.backends.delve.api import DelveApi
    from gocore_dap.backends.delve.process import DelveProcess
    from gocore_dap.core.early_delve import EarlyDelve
    from gocore_dap.core.loaded import LoadedCore
    from gocore_dap.goviews.build_info import BuildInfo
    from gocore_dap.sources.resolver import SourceResolver

__all__ = ["Progress", "open_core"]

log = logging.getLogger(__name__)

# (fraction done from 0 to 1, or None when unknown; what is being done). Called on the event loop's thread.
Progress = Callable[[float | None, str], None]


async def open_core(
    options: OpenOptions,
    *,
    progress: Progress | None = None,
    settings: ModelSettings = INTERACTIVE,
    on_delve_exit: Callable[[str], None] | None = None,
    early: EarlyDelve | None = None,
) -> LoadedCore:
    """Open PROGRAM's CORE (see the module docstring). `progress` hears of each step, of a core being
    decompressed (every 64 MiB) and of a Delve release being installed; `on_delve_exit` is called with a
    reason when Delve ends on its own after the core is open. `early` is a Delve started before the
    checks (`core.early_delve`): adopted when they pick the same one, else ended."""
    try:
        return await _open(options, progress, settings, on_delve_exit, early)
    finally:
        if early is not None:
            await early.discard()  # a no-op once adopted


async def _open(
    options: OpenOptions,
    progress: Progress | None,
    settings: ModelSettings,
    on_delve_exit: Callable[[str], None] | None,
    early: EarlyDelve | None,
) -> LoadedCore:
    report = _on_the_loop(progress or (lambda fraction, text: log.info("%s", text)))

    def say(text: str) -> None:
        report(None, text)

    try:
        your_code = parse_your_code(options.your_code)
    except ValueError as exc:
        raise GocoreError(ErrorId.BAD_ARGUMENTS, message=str(exc)) from None
    program, core = options.resolved()
    try:
        explicit_dlv(options.dlv_path)
    except DelveUnavailable as exc:
        raise GocoreError(ErrorId.DLV_NOT_FOUND, message=str(exc)) from None
    say("checking the program and the core")
    checked = await _preflight_off_the_loop(program, core, _debug_info_options(options), say)
    if checked.errors:
        checked.cleanup()
        raise input_error(checked)
    return await _load(options, your_code, program, core, checked, report, settings, on_delve_exit, early)


def _on_the_loop(progress: Progress) -> Progress:
    """`progress` made safe to call from any thread (the preflight and the source resolver run in worker
    threads): it is always called on the event loop's thread."""
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()

    def report(fraction: float | None, text: str) -> None:
        if threading.get_ident() == loop_thread:
            progress(fraction, text)
        else:
            loop.call_soon_threadsafe(progress, fraction, text)

    return report


async def _load(
    options: OpenOptions,
    your_code: YourCode,
    program: Path,
    core: Path,
    checked: PreflightResult,
    report: Progress,
    settings: ModelSettings,
    on_delve_exit: Callable[[str], None] | None,
    early: EarlyDelve | None = None,
) -> LoadedCore:
    """Start Delve on checked inputs and read the crash. Imported here rather than at the top: a bad
    input is refused before the adapter pays for importing what reading a core needs."""
    from gocore_dap.backends.delve.api import DelveApi
    from gocore_dap.backends.delve.crash_probe import probe_crash, read_wait_reasons
    from gocore_dap.backends.delve.errors import BackendError, DelveStartError
    from gocore_dap.backends.delve.process import DelveProcess
    from gocore_dap.backends.delve.selection import prepare_delve
    from gocore_dap.backends.delve.stack_repair import fault_pc, repair_frame_facts
    from gocore_dap.core.delve_goroutines import DelveGoroutines
    from gocore_dap.core.direct_goroutines import DirectGoroutines
    from gocore_dap.core.failures import backend_error
    from gocore_dap.core.goroutines import GoroutineModel
    from gocore_dap.core.loaded import LoadedCore
    from gocore_dap.core.symbols import open_symbolizer
    from gocore_dap.core.wait_names import WaitObjectNamer, is_main_module_function
    from gocore_dap.goviews.code_scope import CodeScope
    from gocore_dap.goviews.crash import analyze_crash

    def say(text: str) -> None:
        report(None, text)

    delve: DelveProcess | None = None
    temp_dirs: list[Path] = []
    preparing: asyncio.Future[SourceResolver] | None = None
    try:
        delve_program, extra_env = _delve_debug_info(checked, program, temp_dirs)
        exe_build = checked.exe_info.build_info if checked.exe_info is not None else None
        if exe_build is not None:
            # Finding the sources (go env, the workspace's modules) overlaps Delve's start.
            preparing = _prepare_sources(options, exe_build, say)
        try:
            launch = await prepare_delve(checked.go_version, options.dlv_path, progress=report)
        except DelveUnavailable as exc:
            raise GocoreError(ErrorId.DLV_NOT_FOUND, message=str(exc)) from None
        say("starting Delve")
        try:
            if early is not None and early.fits(launch, delve_program, checked.core_for_delve, extra_env):
                delve = await early.adopt()
            else:
                if early is not None:
                    await early.discard()
                delve = await DelveProcess.start(
                    launch.dlv,
                    delve_program,
                    checked.core_for_delve,
                    startup_timeout=max(options.dlv_timeout, 60.0),
                    rpc_timeout=options.dlv_timeout,
                    on_exit=on_delve_exit,
                    extra_env=extra_env,
                    unix_socket=launch.unix_socket,
                    flags=launch.flags,
                )
        except DelveStartError as exc:
            raise backend_error(exc) from None
        say("reading the crash")
        try:
            facts = await probe_crash(delve)
            wait_reasons = await read_wait_reasons(delve)
        except BackendError as exc:
            raise GocoreError(ErrorId.DLV_FAILED, message=f"Delve could not read the core: {exc}") from None
        # A fault in C code under cgo: Delve names the faulting frame at pc-1 (backends.delve.stack_repair);
        # the crash's own frames are re-read at the exact PC before anything reads them.
        handled = facts.handled_signal
        handled_pc = fault_pc(handled.number, handled.pc) if handled is not None else None
        symbolizer = await open_symbolizer(checked, program) if handled_pc is not None else None
        if handled_pc is not None and symbolizer is not None:
            facts = attrs.evolve(
                facts, frames=repair_frame_facts(facts.frames, fault_pc=handled_pc, symbolizer=symbolizer)
            )
        crash = analyze_crash(facts, wait_reasons)
        stack_pc = fault_pc(crash.signal.number, crash.signal.pc) if crash.signal is not None else None
        if stack_pc is not None and symbolizer is None:
            symbolizer = await open_symbolizer(checked, program)
        api = DelveApi(delve)
        source = DelveGoroutines(api)
        build_info = exe_build or await source.build_info(crash.go_version)
        scope = CodeScope.from_build_info(build_info, your_code)
        sources = await (preparing or _prepare_sources(options, build_info, say))
        warnings = [issue.message for issue in checked.warnings] + list(launch.warnings)
        if crash.signal is not None and crash.signal.name == "SIGQUIT":
            # The one caveat known (Go 1.20/1.21): an outside SIGABRT read as the SIGQUIT the runtime relayed.
            warnings.extend(launch.caveats)
        if checked.debug_info is not None:
            warnings.append(f"the program is stripped; {checked.debug_info.describe()}")
        # A picked release covers the program's Go (or has warned); a dlv the user chose may not.
        if launch.explicit and (mismatch := await _delve_version_warning(api, crash.go_version)) is not None:
            warnings.append(mismatch)
        loaded = LoadedCore(
            program=program,
            core=core,
            preflight=checked,
            delve=delve,
            api=api,
            crash=crash,
            wait_reasons=wait_reasons,
            build_info=build_info,
            sources=sources,
            goroutines=GoroutineModel(
                source,
                wait_reasons,
                crash,
                settings,
                direct=DirectGoroutines(source, delve_program, checked.core_for_delve) if options.direct else None,
                namer=WaitObjectNamer(api, is_main_module_function(build_info.main_module_path)),
                progress=say,
                scope=scope,
            ),
            warnings=tuple(warnings),
            delve_release=launch.release.version if launch.release is not None and not launch.explicit else None,
            delve_path=launch.dlv,
            temp_dirs=tuple(temp_dirs),
            fetch_sources=options.fetch_sources,
            scope=scope,
            fault_pc=stack_pc,
            symbolizer=symbolizer,
        )
    except BaseException:
        if preparing is not None and not preparing.done():
            preparing.cancel()
        if delve is not None:
            await delve.close()
        checked.cleanup()
        for folder in temp_dirs:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return loaded


def _debug_info_options(options: OpenOptions) -> DebugInfoOptions:
    base = Path(options.cwd).expanduser() if options.cwd else Path.cwd()
    return DebugInfoOptions(
        directories=tuple(base / Path(d).expanduser() for d in options.debug_info_directories),
        symbol_file=base / Path(options.symbol_file).expanduser() if options.symbol_file else None,
    )


def _delve_debug_info(checked: PreflightResult, program: Path, temp_dirs: list[Path]) -> tuple[Path, dict[str, str]]:
    """What Delve opens as the executable, and the environment that shows it debug info kept apart from a
    stripped program (a private Delve configuration, in a directory added to `temp_dirs`)."""
    from gocore_dap.backends.delve.debuginfo_config import DebugInfoHandoffError, delve_debug_info_env

    info = checked.debug_info
    if info is None:
        return program, {}
    if not info.needs_handoff:
        return info.delve_program, {}
    config_home = Path(tempfile.mkdtemp(prefix="gocore-dap-dlvcfg-"))
    temp_dirs.append(config_home)
    exe = checked.exe_info
    debuglink = exe.debuglink[0] if exe is not None and exe.debuglink else None
    try:
        env = delve_debug_info_env(
            config_home, info.file, info.delve_program, gnu_build_id=info.gnu_build_id, debuglink=debuglink
        )
    except DebugInfoHandoffError as exc:
        raise GocoreError(ErrorId.LAUNCH_FAILED, message=str(exc)) from None
    return info.delve_program, env


def _prepare_sources(
    options: OpenOptions, build_info: BuildInfo, say: Callable[[str], None]
) -> asyncio.Future[SourceResolver]:
    """A source resolver for the program, its one-time work (go env, the workspace's go.mod files, the Go
    release's sources) done in a thread."""
    from gocore_dap.sources.resolver import SourceOptions, SourceResolver

    resolver = SourceResolver(
        build_info,
        SourceOptions(
            substitute_path=options.substitute_path,
            cwd=options.cwd,
            source_root=options.source_root,
            workspace_folders=options.workspace_folders,
        ),
        progress=lambda fraction, text: say(text),
    )

    def prepare() -> SourceResolver:
        resolver.prepare()
        return resolver

    return asyncio.get_running_loop().run_in_executor(None, prepare)


async def _delve_version_warning(api: DelveApi, go_version: str) -> str | None:
    """A sentence when the Delve in use does not claim to support the program's Go version."""
    from gocore_dap.backends.delve.errors import BackendError

    try:
        version = await api.version()
    except BackendError:
        return None
    low, high = version.get("MinSupportedVersionOfGo", ""), version.get("MaxSupportedVersionOfGo", "")
    if not (go_version and low and high) or _version_in_range(go_version, low, high):
        return None
    delve = str(version.get("DelveVersion", "")).splitlines()[0] if version.get("DelveVersion") else "?"
    return (
        f"the program was built with {go_version}, but Delve {delve} supports Go {low} to {high}; "
        "what it shows may be wrong. Set dlvPath to a Delve that supports this Go."
    )


def _version_in_range(target: str, low: str, high: str) -> bool:
    def parse(text: str) -> tuple[int, ...]:
        digits = text.removeprefix("go").split(" ")[0]
        parts: list[int] = []
        for piece in digits.split("."):
            num = "".join(ch for ch in piece if ch.isdigit())
            if not num:
                break
            parts.append(int(num))
        return tuple(parts)

    return parse(low)[:2] <= parse(target)[:2] <= parse(high)[:2]


class _PreflightAbandoned(Exception):
    """Raised in the preflight thread, at its next progress report, once its caller is cancelled."""


async def _preflight_off_the_loop(
    program: Path, core: Path, debug_options: DebugInfoOptions, progress: Callable[[str], None]
) -> PreflightResult:
    """`preflight` in a worker thread: decompressing a large core takes seconds to minutes, and the
    caller must stay able to give up meanwhile (a disconnect, the client's stream closing, SIGTERM).

    When the caller is cancelled the thread stops at its next progress report (every 64 MiB of
    decompressed core), and preflight removes what it wrote; a result that comes all the same is
    cleaned up when it comes.
    """
    abandoned = threading.Event()

    def report(text: str) -> None:
        if abandoned.is_set():
            raise _PreflightAbandoned
        progress(text)

    work = asyncio.get_running_loop().run_in_executor(
        None, functools.partial(preflight, program, core, progress=report, debug_options=debug_options)
    )
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        abandoned.set()
        work.add_done_callback(_clean_up_abandoned)
        raise


def _clean_up_abandoned(work: asyncio.Future[PreflightResult]) -> None:
    if not work.cancelled() and work.exception() is None:
        work.result().cleanup()
