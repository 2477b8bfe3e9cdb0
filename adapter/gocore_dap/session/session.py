"""One DAP session: its lifecycle (initialize, launch, the one stop, the end) over one loaded core.

Before `launch` there is no core at all; `launch` opens it through the core model (`core.open`) and
keeps a `Target`, which serves every inspection request. Events go out through `emit`, which the
server wires to its writer.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.protocol import models as m
from gocore_dap.session.state import SessionState, StateMachine

if TYPE_CHECKING:
    from gocore_dap.core.loaded import LoadedCore
    from gocore_dap.session.target import Target

__all__ = ["CoreSession"]

log = logging.getLogger(__name__)

EmitFn = Callable[[str, Any], Awaitable[None]]
# Seconds a launch may take before its steps are shown as progress.
_QUIET_LAUNCH = 0.5
# Shows a request's progress: (message, percentage or None).
ProgressFn = Callable[[str, float | None], Awaitable[None]]


class CoreSession:
    def __init__(self, emit: EmitFn) -> None:
        self._emit = emit
        self.machine = StateMachine()
        self.client: m.InitializeArguments | None = None
        self._target: Target | None = None
        self._terminated_sent = False
        self._announce_task: asyncio.Task[None] | None = None

    @property
    def state(self) -> SessionState:
        return self.machine.state

    @property
    def core(self) -> LoadedCore | None:
        return self._target.core if self._target is not None else None

    def target(self) -> Target:
        """The loaded core's DAP views; an error response when there is none (yet, or any more)."""
        if self.machine.state is SessionState.TERMINATED:
            raise GocoreError(ErrorId.SESSION_TERMINATED)
        if not self.machine.has_target or self._target is None:
            raise GocoreError(ErrorId.NOT_LAUNCHED)
        return self._target

    async def emit_event(self, event: str, body: Any) -> None:
        await self._emit(event, body)

    # -- lifecycle ---------------------------------------------------------------------------

    def initialize(self, args: m.InitializeArguments) -> None:
        self.client = args
        self.machine.move(SessionState.INITIALIZED)

    async def prepare_for_launch(self) -> None:
        """After the `initialize` answer the client sends `launch`: import what opening a core needs
        meanwhile, so that Delve starts as soon as `launch` arrives (Python's module locks make a
        `launch` that comes first wait for, or do, the same imports)."""
        threading.Thread(target=_import_what_launch_needs, name="gocore-dap-imports", daemon=True).start()

    async def launch(self, args: m.LaunchArguments, progress: ProgressFn | None = None) -> None:
        """Open the core; `progress(message, percentage)` shows its steps (a Delve release being installed,
        a compressed core being decompressed) as the request's progress."""
        if self.machine.state is not SessionState.INITIALIZED:
            raise GocoreError(ErrorId.ALREADY_LAUNCHED if self._target else ErrorId.NOT_INITIALIZED)
        from gocore_dap.core.early_delve import start_early
        from gocore_dap.core.options import DEFAULT_DLV_TIMEOUT, OpenOptions

        self.machine.move(SessionState.LAUNCHING)
        options = OpenOptions(
            program=args.program,
            core=args.core_file_path,
            cwd=args.cwd,
            dlv_path=args.dlv_path,
            dlv_timeout=args.dlv_timeout or DEFAULT_DLV_TIMEOUT,
            substitute_path=tuple((rule.from_, rule.to) for rule in args.substitute_path or ()),
            source_root=args.source_root,
            debug_info_directories=tuple(args.debug_info_directories),
            symbol_file=args.symbol_file,
            direct=args.direct_reader,
            your_code=args.your_code,
        )
        # Delve loads the program while the rest of what opening a core needs is imported.
        early = await start_early(options, on_delve_exit=self._on_delve_exit)
        # Imported on first launch: answering `initialize` must not wait for what opening a core needs.
        from gocore_dap.core.open import open_core
        from gocore_dap.session.target import Target

        shown: list[asyncio.Future[None]] = []
        started = time.monotonic()

        def report(fraction: float | None, text: str) -> None:
            log.info("launch: %s", text)
            # A launch that is over in a moment shows no progress (a flash of a notification is noise);
            # a long one (a Delve release being installed, a large core decompressed) shows every step.
            if progress is not None and (fraction is not None or time.monotonic() - started >= _QUIET_LAUNCH):
                shown.append(asyncio.ensure_future(progress(text, None if fraction is None else 100 * fraction)))

        try:
            core = await open_core(options, progress=report, on_delve_exit=self._on_delve_exit, early=early)
        except BaseException:
            self.machine.move(SessionState.INITIALIZED)
            raise
        finally:
            await asyncio.gather(*shown, return_exceptions=True)
        log.info("core open after %.0f ms", 1000 * (time.monotonic() - started))
        try:
            self._target = Target(
                core, args, self.client, self._emit, self._important, threads_changed=self._threads_changed
            )
            for warning in core.warnings:
                await self._important(f"warning: {warning}\n")
        except BaseException:
            await core.close()
            self.machine.move(SessionState.INITIALIZED)
            raise
        self.machine.move(SessionState.CONFIGURING)

    async def configuration_done(self) -> None:
        self.target()
        if self.machine.state is not SessionState.STOPPED:
            self.machine.move(SessionState.STOPPED)

    async def send_stop(self) -> None:
        """The stop of a core session, sent after the configurationDone response.

        On the thread that crashed, with a short badge as the description (VS Code prints it on the
        thread's row, where a whole panic message squeezes the thread's name away) and the runtime's
        report as the text. When no goroutine crashed (a deadlock, an external signal) that thread is the
        runtime's own; a second stop then sends the editor to the most telling asleep goroutine
        (`core.landing`), and the first one leaves the focus alone so that the second one wins.
        """
        await self._output(self.target().core.crash.headline + "\n", category="stderr")
        await self._stop()
        log.info("stopped on thread %s", self.target().crash_thread_id)

    async def _threads_changed(self) -> None:
        """More threads than the stop had (a big core's goroutines, read after it): the same stop again.
        VS Code marks threads paused only on a stop with `allThreadsStopped` (a thread it learns of from a
        `thread` event is shown as running), and it clears every call stack on such a stop: the stop keeps
        its focus request, or an editor still opening the crash line would be left with nothing open."""
        await self._stop()

    async def _stop(self) -> None:
        from gocore_dap.goviews.presentation import stop_badge

        target = self.target()
        crash = target.core.crash
        badge = stop_badge(crash)
        landing = await target.landing_thread_id()
        await self._emit(
            "stopped",
            m.StoppedEventBody(
                reason="exception",
                description=badge,
                thread_id=target.crash_thread_id,
                text=crash.report,
                all_threads_stopped=True,
                preserve_focus_hint=landing is not None,
            ),
        )
        if landing is not None:
            await self._emit(
                "stopped",
                m.StoppedEventBody(
                    reason="exception",
                    description=badge,
                    thread_id=landing,
                    text=crash.report,
                    all_threads_stopped=False,
                    preserve_focus_hint=False,
                ),
            )

    async def terminate(self) -> None:
        await self.close()
        if self.machine.state is not SessionState.TERMINATED:
            self.machine.move(SessionState.TERMINATED)
        await self._send_terminated()

    async def disconnect(self) -> None:
        await self.close()
        if self.machine.state is not SessionState.TERMINATED:
            self.machine.move(SessionState.TERMINATED)

    async def close(self) -> None:
        """End Delve and remove temporary files, whatever the state (the connection may be gone)."""
        if self._target is not None:
            await self._target.close()

    def _on_delve_exit(self, reason: str) -> None:
        async def announce() -> None:
            await self._important(f"gocore-dap: {reason}; the session is over.\n")
            if self.machine.state is not SessionState.TERMINATED:
                self.machine.move(SessionState.TERMINATED)
            await self._send_terminated()

        # Keep a reference: the loop holds tasks weakly, and this one must run.
        self._announce_task = asyncio.get_running_loop().create_task(announce())

    async def _send_terminated(self) -> None:
        if not self._terminated_sent:
            self._terminated_sent = True
            await self._emit("terminated", m.TerminatedEventBody())

    async def _output(self, text: str, *, category: str = "console") -> None:
        await self._emit("output", m.OutputEventBody(output=text, category=category))

    async def _important(self, text: str) -> None:
        await self._output(text, category="important")


# What `launch` and the first requests after it import, in the order they need it.
_LAUNCH_MODULES = (
    "gocore_dap.core.open",
    "gocore_dap.preflight.checks",
    "gocore_dap.backends.delve.selection",
    "gocore_dap.backends.delve.process",
    "gocore_dap.backends.delve.crash_probe",
    "gocore_dap.goviews.crash",
    "gocore_dap.sources.resolver",
    "gocore_dap.core.loaded",
    "gocore_dap.session.target",
    "gocore_dap.protocol.go_extensions",
)


def _import_what_launch_needs() -> None:
    for name in _LAUNCH_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # the same import in `launch` will report it
            log.debug("importing %s ahead of launch failed", name, exc_info=True)
            return
