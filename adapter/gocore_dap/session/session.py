"""One debug session on one core dump: launch, the crash stop, and every inspection request.

The server layer decodes arguments and encodes bodies; everything a request means on a core is
decided here. Events go out through `emit`, which the server wires to its writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs

from gocore_dap.backends.delve.api import DelveApi, LoadConfig, Stackframe, Variable
from gocore_dap.backends.delve.crash_probe import probe_crash, read_wait_reasons
from gocore_dap.backends.delve.errors import (
    BackendError,
    DelveGone,
    DelveRpcError,
    DelveStartError,
    DelveTimeout,
    DelveUnavailable,
)
from gocore_dap.backends.delve.locate import explicit_dlv
from gocore_dap.backends.delve.process import DelveProcess
from gocore_dap.backends.delve.selection import prepare_delve
from gocore_dap.goviews import presentation
from gocore_dap.goviews.crash import CrashAnalysis, analyze_crash, format_details
from gocore_dap.goviews.paths import PathMapper
from gocore_dap.preflight.checks import PreflightResult, preflight
from gocore_dap.protocol import models as m
from gocore_dap.protocol.errors import DapError, ErrorId, ProtocolArgumentError
from gocore_dap.session.core_view import CoreView, ThreadEntry
from gocore_dap.session.explorer import GoroutineExplorer
from gocore_dap.session.handles import Handles
from gocore_dap.session.launch_errors import launch_error
from gocore_dap.session.state import SessionState, StateMachine
from gocore_dap.session.variables import (
    KIND_INTERFACE,
    KIND_MAP,
    KIND_PTR,
    KIND_STRING,
    LISTING_CONFIG,
    PAGE_SIZE,
    STRING_CHUNK,
    VarContainer,
    address_expr,
    child_name_and_expr,
    children_loaded,
    format_value,
    has_children,
    indexed_count,
    string_chunks,
)

log = logging.getLogger(__name__)

EmitFn = Callable[[str, Any], Awaitable[None]]

# Reading one register set per frame or all globals of a package can be slow on big cores.
_REGISTERS = "registers"
_GLOBALS = "globals"
_LOCALS = "locals"
_ARGUMENTS = "arguments"

REPL_CONFIG = LoadConfig(max_variable_recurse=1, max_string_len=4096, max_array_values=64)
CLIPBOARD_CONFIG = LoadConfig(max_variable_recurse=1, max_string_len=1 << 20, max_array_values=64)
READ_MEMORY_CHUNK = 1000  # Delve's ExamineMemory limit per call
# Per request: clients page through memory and code in far smaller pieces, and one request for
# 2**31 bytes or instructions must not keep the adapter busy (or out of memory) for good.
MAX_READ_MEMORY = 16 << 20
MAX_DISASSEMBLE = 100_000
# How many goroutines the thread list holds unless the launch configuration says otherwise:
# editors slow down past about a thousand threads; the explorer serves the rest.
DEFAULT_MAX_THREADS = 1000


@attrs.frozen
class FrameRef:
    dap_thread_id: int
    index: int


@attrs.frozen
class ScopeRef:
    frame: FrameRef
    kind: str


class CoreSession:
    def __init__(self, emit: EmitFn) -> None:
        self._emit = emit
        self.machine = StateMachine()
        self.client_capabilities: m.InitializeArguments | None = None
        self.launch_args: m.LaunchArguments | None = None
        self.delve: DelveProcess | None = None
        self.api: DelveApi | None = None
        self.view: CoreView | None = None
        self.crash: CrashAnalysis | None = None
        self.preflight_result: PreflightResult | None = None
        self.paths = PathMapper(())
        self.stop_thread_id: int | None = None
        self._frames: Handles[FrameRef] = Handles()
        self._scopes: Handles[ScopeRef] = Handles()
        self._vars: Handles[VarContainer] = Handles(start=1 << 20)
        self._stack_depth = 50
        self._terminated_sent = False
        self._said_thread_cap = False
        self._announce_task: Any = None
        self._explorer: GoroutineExplorer | None = None

    @property
    def state(self) -> SessionState:
        return self.machine.state

    async def emit_event(self, event: str, body: Any) -> None:
        await self._emit(event, body)

    # -- lifecycle ---------------------------------------------------------------------------

    def initialize(self, args: m.InitializeArguments) -> m.GoCapabilities:
        self.client_capabilities = args
        self.machine.move(SessionState.INITIALIZED)
        return m.GoCapabilities(
            supports_goroutines_request=True,
            supports_crash_summary_request=True,
            supports_configuration_done_request=True,
            supports_evaluate_for_hovers=True,
            supports_exception_info_request=True,
            supports_delayed_stack_trace_loading=True,
            supports_value_formatting_options=False,
            supports_terminate_request=True,
            supports_disassemble_request=True,
            supports_read_memory_request=True,
            supports_instruction_breakpoints=False,
            supports_stepping_granularity=False,
            supports_clipboard_context=True,
            supports_loaded_sources_request=False,
            support_terminate_debuggee=True,
            supports_set_variable=False,
            supports_set_expression=False,
            supports_restart_request=False,
            supports_goto_targets_request=False,
            supports_step_back=False,
            supports_conditional_breakpoints=False,
            supports_function_breakpoints=False,
            supports_log_points=False,
            supports_single_thread_execution_requests=False,
            exception_breakpoint_filters=[],
        )

    async def launch(self, args: m.LaunchArguments) -> None:
        if self.machine.state is not SessionState.INITIALIZED:
            raise DapError(ErrorId.ALREADY_LAUNCHED if self.delve else ErrorId.NOT_INITIALIZED)
        self.launch_args = args
        self.paths = PathMapper([(s.from_, s.to) for s in args.substitute_path or ()])
        self._stack_depth = max(1, args.stack_trace_depth or 50)
        self.machine.move(SessionState.LAUNCHING)
        try:
            await self._start(args)
        except BaseException:
            await self._stop_delve()
            self.machine.move(SessionState.INITIALIZED)
            raise
        self.machine.move(SessionState.CONFIGURING)

    async def _start(self, args: m.LaunchArguments) -> None:
        base = Path(args.cwd) if args.cwd else Path.cwd()
        program = (base / os.path.expanduser(args.program)).resolve()
        core = (base / os.path.expanduser(args.core_file_path)).resolve()
        # Before the checks: a missing Delve should not wait for a large core to be decompressed.
        try:
            explicit_dlv(args.dlv_path)
        except DelveUnavailable as exc:
            raise DapError(ErrorId.DLV_NOT_FOUND, message=str(exc)) from None
        result = await _preflight_off_the_loop(program, core, self._progress_sync)
        self.preflight_result = result
        errors = [i for i in result.issues if i.severity == "error"]
        if errors:
            result.cleanup()
            raise launch_error(result, errors)
        for issue in result.issues:
            await self._output(f"warning: {issue.message}\n", category="important")
        core_to_open = result.core_for_delve
        timeout = args.dlv_timeout or 60.0
        try:
            dlv = await prepare_delve(result.go_version, args.dlv_path, progress=lambda _f, t: self._progress_sync(t))
        except DelveUnavailable as exc:
            raise DapError(ErrorId.DLV_NOT_FOUND, message=str(exc)) from None
        for warning in dlv.warnings:
            await self._output(f"warning: {warning}\n", category="important")
        try:
            self.delve = await DelveProcess.start(
                dlv.dlv,
                program,
                core_to_open,
                startup_timeout=max(timeout, 60.0),
                rpc_timeout=timeout,
                on_exit=self._on_delve_exit,
                unix_socket=dlv.unix_socket,
                flags=dlv.flags,
            )
        except DelveStartError as exc:
            raise DapError(ErrorId.DLV_START_FAILED, message=str(exc)) from None
        self.api = DelveApi(self.delve)
        try:
            # The probe reads Delve's current thread, so it runs before anything selects another.
            facts = await probe_crash(self.delve)
            wait_reasons = await read_wait_reasons(self.delve)
            self.crash = analyze_crash(facts, wait_reasons)
            self.view = CoreView(self.api, wait_reasons)
        except BackendError as exc:
            raise DapError(ErrorId.DLV_FAILED, message=f"Delve could not read the core: {exc}") from None
        if dlv.explicit:  # a picked release covers the core, or has warned above
            await self._check_go_version()

    async def _check_go_version(self) -> None:
        assert self.api is not None
        with contextlib.suppress(BackendError):
            version = await self.api.version()
            low, high = version.get("MinSupportedVersionOfGo", ""), version.get("MaxSupportedVersionOfGo", "")
            target = self.crash.go_version if self.crash else ""
            if target and low and high and not _version_in_range(target, low, high):
                await self._output(
                    f"warning: the program was built with {target}, but Delve "
                    f"{version.get('DelveVersion', '').splitlines()[0]} supports Go {low} to {high}; "
                    "what it shows may be wrong. Set dlvPath to a Delve that supports this Go.\n",
                    category="important",
                )

    async def configuration_done(self) -> None:
        if not self.machine.has_target or self.crash is None or self.view is None:
            raise DapError(ErrorId.NOT_LAUNCHED)
        if self.machine.state is SessionState.STOPPED:
            return
        self.machine.move(SessionState.STOPPED)

    async def send_stop(self) -> None:
        """The one stop of a core session, sent after the configurationDone response."""
        assert self.crash is not None and self.view is not None
        crash = self.crash
        thread_id = crash.crashing_goroutine_id or presentation.os_thread_dap_id(crash.crashing_thread_id)
        self.stop_thread_id = thread_id
        await self._output(crash.headline + "\n", category="stderr")
        await self._emit(
            "stopped",
            m.StoppedEventBody(
                reason="exception",
                description=crash.headline,
                thread_id=thread_id,
                text=crash.report,
                all_threads_stopped=True,
                preserve_focus_hint=False,
            ),
        )

    async def terminate(self) -> None:
        await self._stop_delve()
        if self.machine.state is not SessionState.TERMINATED:
            self.machine.move(SessionState.TERMINATED)
        await self._send_terminated()

    async def disconnect(self) -> None:
        await self._stop_delve()
        if self.machine.state is not SessionState.TERMINATED:
            self.machine.move(SessionState.TERMINATED)

    async def close(self) -> None:
        """The connection is gone: end Delve and remove temporary files, whatever the state."""
        await self._stop_delve()

    async def _stop_delve(self) -> None:
        # The explorer may be reading stacks in the background: stop it before its Delve goes.
        explorer, self._explorer = self._explorer, None
        if explorer is not None:
            with contextlib.suppress(Exception):
                await explorer.close()
        delve, self.delve = self.delve, None
        if delve is not None:
            await delve.close()
        if self.preflight_result is not None:
            self.preflight_result.cleanup()

    def _on_delve_exit(self, reason: str) -> None:
        import asyncio

        async def announce() -> None:
            await self._output(f"gocore-dap: {reason}; the session is over.\n", category="important")
            if self.machine.state is not SessionState.TERMINATED:
                self.machine.move(SessionState.TERMINATED)
            await self._send_terminated()

        # Keep a reference: the loop holds tasks weakly, and this one must run.
        self._announce_task = asyncio.get_running_loop().create_task(announce())

    async def _send_terminated(self) -> None:
        if not self._terminated_sent:
            self._terminated_sent = True
            await self._emit("terminated", m.TerminatedEventBody())

    def explorer(self) -> GoroutineExplorer:
        """The goroutine explorer, made on first use; it keeps the goroutine listing for the session."""
        view = self._need_target()
        assert self.api is not None
        if self._explorer is None:
            self._explorer = GoroutineExplorer(self.api, view.wait_reasons, self.crash)
        return self._explorer

    # -- threads and stacks ------------------------------------------------------------------

    def _need_target(self) -> CoreView:
        if self.machine.state is SessionState.TERMINATED:
            raise DapError(ErrorId.SESSION_TERMINATED)
        if not self.machine.has_target or self.view is None:
            raise DapError(ErrorId.NOT_LAUNCHED)
        return self.view

    async def thread_entries(self) -> list[ThreadEntry]:
        view = self._need_target()
        assert self.crash is not None and self.launch_args is not None
        crash = self.crash
        limit = self.launch_args.max_threads or DEFAULT_MAX_THREADS
        entries: list[ThreadEntry] = []
        crashed_g = crash.crashing_goroutine_id
        if crashed_g:
            # Name the crasher after its first user frame on our own stack: Delve's user
            # location stops at the signal frames when the crash came from C code.
            frames = await view.stack(crashed_g, self._stack_depth)
            user = view.first_user_frame(frames)
            function = frames[user].location.function_name if user is not None else ""
            state = crash.goroutine_state or "running"
            entries.append(
                ThreadEntry(
                    dap_id=crashed_g,
                    name=presentation.goroutine_thread_name(crashed_g, state, function, crashed=True),
                    goroutine_id=crashed_g,
                    lwp=None,
                )
            )
        else:
            entries.append(await view.os_thread_entry(crash.crashing_thread_id, crashed=True))
        goroutines, more = await view.first_goroutines(limit)
        # The crash time is read only when some goroutine has a wait start to measure from.
        now_ns = await self.explorer().crash_time_ns() if any(g.wait_since > 0 for g in goroutines) else None
        hide_system = self.launch_args.hide_system_goroutines
        for g in goroutines:
            if g.id == crashed_g:
                continue
            if hide_system and presentation.is_system_goroutine(g.start_loc.function_name if g.start_loc else ""):
                continue
            entries.append(view.goroutine_entry(g, crashed=False, now_ns=now_ns))
        if more and not self._said_thread_cap:
            self._said_thread_cap = True
            await self._output(
                f"gocore-dap: this core has more than {limit} goroutines. The thread list shows the crashing "
                f"one and the first {len(entries) - 1} user goroutines; the Goroutines view (the 'goroutines' "
                "request) lists, filters and groups all of them, and every goroutine's stack can still be read. "
                "Raise the launch attribute 'maxThreads' to list more here.\n",
                category="important",
            )
        return entries

    async def threads(self) -> list[m.Thread]:
        return [m.Thread(id=e.dap_id, name=e.name) for e in await self.thread_entries()]

    async def stack_trace(self, thread_id: int, start: int, levels: int) -> tuple[list[m.StackFrame], int]:
        view = self._need_target()
        await self._check_thread(thread_id)
        start = max(0, start)
        want = start + (levels if levels > 0 else self._stack_depth)
        depth = max(want, self._stack_depth)
        try:
            frames = await view.stack(thread_id, depth)
        except DelveRpcError as exc:
            raise DapError(
                ErrorId.STACK_FAILED, message=f"cannot read the stack of {thread_id}: {exc}"
            ) from None
        functions = [f.location.function_name for f in frames]
        on_goroutine = presentation.lwp_of_dap_id(thread_id) is None
        dim = presentation.deemphasized_frames(functions, on_goroutine=on_goroutine)
        out: list[m.StackFrame] = []
        for index in range(start, min(want, len(frames))):
            out.append(self._stack_frame(thread_id, index, frames[index], dim[index]))
        total = len(frames) if view.stack_is_complete(thread_id) else len(frames) + self._stack_depth
        return out, total

    def _stack_frame(self, thread_id: int, index: int, frame: Stackframe, dim: bool) -> m.StackFrame:
        loc = frame.location
        frame_id = self._frames.create(FrameRef(thread_id, index))
        name = loc.function_name or f"{loc.pc:#x}"
        if frame.err:
            name += f" (error: {frame.err})"
        source = None
        if loc.file:
            path = self.paths.to_client(loc.file)
            source = m.Source(
                name=os.path.basename(path),
                path=path,
                presentation_hint="deemphasize" if dim else None,
            )
        return m.StackFrame(
            id=frame_id,
            name=name,
            source=source,
            line=max(loc.line, 0),
            column=1 if loc.line > 0 else 0,
            instruction_pointer_reference=f"{loc.pc:#x}",
            presentation_hint="subtle" if dim else "normal",
        )

    async def _check_thread(self, thread_id: int) -> None:
        """OS threads are checked here; a goroutine id is checked by Delve when its stack is read."""
        assert self.view is not None
        lwp = presentation.lwp_of_dap_id(thread_id)
        if lwp is not None and not any(t.id == lwp for t in await self.view.threads()):
            raise DapError(ErrorId.UNKNOWN_THREAD, id=thread_id)

    def _frame(self, frame_id: int) -> FrameRef:
        ref = self._frames.get(frame_id)
        if ref is None:
            raise DapError(ErrorId.UNKNOWN_FRAME, variables={"id": str(frame_id)})
        return ref

    # -- scopes and variables ----------------------------------------------------------------

    async def scopes(self, frame_id: int) -> list[m.Scope]:
        view = self._need_target()
        ref = self._frame(frame_id)
        frames = await view.stack(ref.dap_thread_id, max(ref.index + 1, self._stack_depth))
        frame = frames[ref.index] if ref.index < len(frames) else None
        optimized = bool(frame and frame.location.function and frame.location.function.optimized)
        suffix = " (warning: optimized function, values may be wrong or missing)" if optimized else ""
        scopes = [
            m.Scope(
                name=f"Arguments{suffix}",
                presentation_hint="arguments",
                variables_reference=self._scopes_ref(ref, _ARGUMENTS),
                expensive=False,
            ),
            m.Scope(
                name=f"Locals{suffix}",
                presentation_hint="locals",
                variables_reference=self._scopes_ref(ref, _LOCALS),
                expensive=False,
            ),
        ]
        package = _package_of(frame.location.function_name) if frame else ""
        if package:
            scopes.append(
                m.Scope(
                    name=f"Globals (package {package})",
                    variables_reference=self._scopes_ref(ref, _GLOBALS),
                    expensive=True,
                )
            )
        if self.launch_args is not None and self.launch_args.show_registers:
            scopes.append(
                m.Scope(
                    name="Registers",
                    presentation_hint="registers",
                    variables_reference=self._scopes_ref(ref, _REGISTERS),
                    expensive=True,
                )
            )
        return scopes

    def _scopes_ref(self, frame: FrameRef, kind: str) -> int:
        # Scope and variable handles share one number space so `variables` can tell them apart.
        return self._scopes.create(ScopeRef(frame, kind))

    async def variables(
        self, reference: int, start: int | None, count: int | None, filter_: str | None
    ) -> list[m.Variable]:
        view = self._need_target()
        scope = self._scopes.get(reference) if reference < (1 << 20) else None
        if scope is not None:
            return await self._scope_variables(view, scope)
        container = self._vars.get(reference)
        if container is None:
            raise DapError(ErrorId.UNKNOWN_VARIABLES_REFERENCE, variables={"id": str(reference)})
        return await self._children(container, start, count, filter_)

    async def _scope_variables(self, view: CoreView, scope: ScopeRef) -> list[m.Variable]:
        assert self.api is not None
        ref = scope.frame
        goroutine = await view.scope_for(ref.dap_thread_id)
        thread = presentation.lwp_of_dap_id(ref.dap_thread_id)
        try:
            if scope.kind == _ARGUMENTS:
                found = await self.api.function_args(goroutine, ref.index, LISTING_CONFIG)
            elif scope.kind == _LOCALS:
                found = await self.api.local_vars(goroutine, ref.index, LISTING_CONFIG)
            elif scope.kind == _REGISTERS:
                regs = await self.api.registers(goroutine, ref.index)
                return [m.Variable(name=r.name, value=r.value, variables_reference=0) for r in regs]
            else:
                frames = await view.stack(ref.dap_thread_id, max(ref.index + 1, self._stack_depth))
                package = _package_of(frames[ref.index].location.function_name)
                found = await self.api.package_vars(f"^{_regex_escape(package)}\\.[^.]+$", LISTING_CONFIG)
        except DelveRpcError as exc:
            raise DapError(ErrorId.VARIABLES_FAILED, message=str(exc)) from None
        out = []
        for v in found:
            name = v.name
            expr = name
            if v.flags & Variable.FLAG_SHADOWED:
                name = f"({name})"
                expr = address_expr(v)
            out.append(self._dap_variable(VarContainer(goroutine, thread, ref.index, expr, v), name))
        return out

    def _dap_variable(self, container: VarContainer, name: str) -> m.Variable:
        v = container.variable
        reference = 0
        if has_children(v):
            reference = self._vars.create(container)
        hint = None
        if v.unreadable:
            hint = m.VariablePresentationHint(attributes=["failedEvaluation"])
        elif v.flags & Variable.FLAG_CONSTANT:
            hint = m.VariablePresentationHint(kind="data", attributes=["constant", "readOnly"])
        memory = f"{v.addr:#x}" if v.addr and not (v.flags & Variable.FLAG_FAKE_ADDRESS) else None
        if v.kind == KIND_PTR and v.children:  # pointers: show the pointee's memory
            memory = f"{v.children[0].addr:#x}" if v.children[0].addr else memory
        return m.Variable(
            name=name,
            value=format_value(v),
            type=v.type or None,
            variables_reference=reference,
            indexed_variables=indexed_count(v) or None,
            evaluate_name=container.expr or None,
            memory_reference=memory,
            presentation_hint=hint,
        )

    async def _reload(self, container: VarContainer, cfg: LoadConfig, expr: str | None = None) -> Variable:
        assert self.api is not None and self.view is not None
        expression = expr or address_expr(container.variable) or container.expr
        if not expression:
            raise DapError(ErrorId.VARIABLES_FAILED, message="this value cannot be read again from the core")
        goroutine = container.goroutine_id
        if container.thread_id is not None:
            goroutine = await self.view.scope_for(presentation.os_thread_dap_id(container.thread_id))
        try:
            return await self.api.eval(expression, goroutine, container.frame, cfg)
        except DelveRpcError as exc:
            raise DapError(ErrorId.VARIABLES_FAILED, message=str(exc)) from None

    async def _children(
        self, container: VarContainer, start: int | None, count: int | None, filter_: str | None
    ) -> list[m.Variable]:
        v = container.variable
        paged = start is not None or count is not None
        if v.kind == KIND_STRING:
            return await self._string_pieces(container, start or 0, count or PAGE_SIZE)
        if paged and indexed_count(v):
            first = start or 0
            n = count or PAGE_SIZE
            base = address_expr(v) or container.expr
            page = await self._reload(
                container, LoadConfig(max_variable_recurse=1, max_array_values=n), expr=f"({base})[{first}:]"
            )
            return self._child_list(container, page, offset=first)
        if not children_loaded(v):
            v = await self._reload(container, LISTING_CONFIG)
            container = attrs.evolve(container, variable=v)
        if v.kind == KIND_PTR and v.children and has_children(v.children[0]):
            # A pointer expands straight into what it points at, as Go developers read `p.field`.
            target = v.children[0]
            expr = f"(*{container.expr})" if container.expr else address_expr(target)
            inner = attrs.evolve(container, expr=expr, variable=target)
            if not children_loaded(target):
                inner = attrs.evolve(inner, variable=await self._reload(inner, LISTING_CONFIG))
            return await self._children(inner, None, None, filter_)
        if v.kind == KIND_INTERFACE and v.children:
            data = v.children[0]
            expr = f"{container.expr}.(data)" if container.expr else address_expr(data)
            inner = attrs.evolve(container, expr=expr, variable=data)
            if has_children(data):
                return await self._children(inner, None, None, filter_)
            return [self._dap_variable(inner, "data")]
        return self._child_list(container, v, offset=0)

    async def _string_pieces(self, container: VarContainer, start: int, count: int) -> list[m.Variable]:
        """Pieces `[a:b]` (byte offsets) of a string too long for one value, read by reslicing it."""
        v = container.variable
        base = address_expr(v) or container.expr
        out: list[m.Variable] = []
        for index in range(max(start, 0), min(start + count, string_chunks(v))):
            low, high = index * STRING_CHUNK, min(v.len, (index + 1) * STRING_CHUNK)
            expr = f"({base})[{low}:{high}]"
            piece = await self._reload(container, LoadConfig(max_string_len=STRING_CHUNK), expr=expr)
            out.append(self._dap_variable(attrs.evolve(container, expr=expr, variable=piece), f"[{low}:{high}]"))
        return out

    def _child_list(self, container: VarContainer, v: Variable, *, offset: int) -> list[m.Variable]:
        out: list[m.Variable] = []
        if v.kind == KIND_MAP:
            for i in range(0, len(v.children) - 1, 2):
                key, value = v.children[i], v.children[i + 1]
                key_text = format_value(key, top=False)
                expr = (
                    f"{container.expr}[{key_text}]"
                    if container.expr and key.kind in (1, 2, 3, 4, 5, 6, 24)
                    else ""
                )
                out.append(
                    self._dap_variable(
                        attrs.evolve(container, expr=expr or address_expr(value), variable=value), key_text
                    )
                )
            return out
        for i, child in enumerate(v.children):
            name, expr = child_name_and_expr(v, container.expr, offset + i, child)
            if v.kind == KIND_PTR:
                name = f"*{container.expr}" if container.expr else "*"
            out.append(
                self._dap_variable(
                    attrs.evolve(container, expr=expr or address_expr(child), variable=child), name
                )
            )
        return out

    # -- evaluate ----------------------------------------------------------------------------

    async def evaluate(self, expression: str, frame_id: int | None, context: str | None) -> m.Variable:
        view = self._need_target()
        assert self.api is not None
        ref = self._frame(frame_id) if frame_id is not None else FrameRef(self.stop_thread_id or -1, 0)
        goroutine = await view.scope_for(ref.dap_thread_id) if ref.dap_thread_id != -1 else -1
        cfg = (
            CLIPBOARD_CONFIG
            if context == "clipboard"
            else REPL_CONFIG
            if context == "repl"
            else LISTING_CONFIG
        )
        try:
            v = await self.api.eval(expression, goroutine, ref.index, cfg)
        except DelveRpcError as exc:
            raise DapError(
                ErrorId.EVALUATE_FAILED,
                variables={"expression": expression, "error": str(exc)},
                show_user=context == "repl",
            ) from None
        thread = presentation.lwp_of_dap_id(ref.dap_thread_id)
        result = self._dap_variable(VarContainer(goroutine, thread, ref.index, expression, v), expression)
        if context == "clipboard" and v.kind == KIND_STRING:
            result = attrs.evolve(result, value=v.value)
        return result

    # -- exception info ------------------------------------------------------------------------

    async def exception_info(self, thread_id: int) -> m.ExceptionInfoResponseBody:
        view = self._need_target()
        assert self.crash is not None
        crash = self.crash
        crashed = thread_id == self.stop_thread_id
        if not crashed:
            raise DapError(ErrorId.NO_EXCEPTION_INFO, id=thread_id)
        frames = await view.stack(thread_id, self._stack_depth)
        # The runtime's own traceback starts where the crash began, not in the signal machinery.
        shown = frames[crash.origin_frame_index or 0 :] if crash.origin_frame_index is not None else frames
        traceback = format_details(
            crash,
            [
                (f.location.function_name, self.paths.to_client(f.location.file), f.location.line)
                for f in shown
            ],
        )
        # DAP nests the cause inside the effect: the newest panic outside, the first one innermost.
        inner: m.ExceptionDetails | None = None
        for record in crash.panic_chain[:-1]:
            inner = m.ExceptionDetails(
                message=record.value_text,
                type_name="panic",
                full_type_name=record.type_name or None,
                inner_exception=[inner] if inner else None,
            )
        details = m.ExceptionDetails(
            message=crash.message,
            type_name=crash.exception_id,
            full_type_name=crash.headline,
            stack_trace=traceback,
            inner_exception=[inner] if inner else None,
        )
        return m.ExceptionInfoResponseBody(
            exception_id=crash.exception_id,
            description=crash.message,
            break_mode="unhandled",
            details=details,
        )

    # -- machine level -------------------------------------------------------------------------

    async def disassemble(
        self, memory_reference: str, offset: int, instruction_offset: int, count: int
    ) -> list[m.DisassembledInstruction]:
        _check_count("disassemble", "instructionCount", count, MAX_DISASSEMBLE)
        self._need_target()
        assert self.api is not None
        address = _parse_address(memory_reference) + offset
        try:
            listing = await self.api.disassemble(address, 0)
        except DelveRpcError as exc:
            raise DapError(ErrorId.DISASSEMBLE_FAILED, message=str(exc)) from None
        index = next((i for i, ins in enumerate(listing) if ins.pc >= address), len(listing))
        first = index + instruction_offset
        out: list[m.DisassembledInstruction] = []
        last_file = ""
        for i in range(first, first + count):
            if 0 <= i < len(listing):
                ins = listing[i]
                source = None
                if ins.file and ins.file != last_file:
                    path = self.paths.to_client(ins.file)
                    source = m.Source(name=os.path.basename(path), path=path)
                    last_file = ins.file
                out.append(
                    m.DisassembledInstruction(
                        address=f"{ins.pc:#x}",
                        instruction=ins.text,
                        instruction_bytes=ins.bytes.hex(" ") or None,
                        symbol=ins.function.name if ins.function else None,
                        location=source,
                        line=ins.line or None,
                    )
                )
            else:
                # Outside the function Delve disassembled: the client still wants `count` rows.
                pc = (listing[0].pc if i < 0 and listing else listing[-1].pc if listing else address) + (
                    i - (0 if i < 0 else len(listing) - 1)
                )
                out.append(
                    m.DisassembledInstruction(
                        address=f"{max(pc, 0):#x}", instruction="??", presentation_hint="invalid"
                    )
                )
        return out

    async def read_memory(self, memory_reference: str, offset: int, count: int) -> m.ReadMemoryResponseBody:
        _check_count("readMemory", "count", count, MAX_READ_MEMORY)
        self._need_target()
        assert self.api is not None
        address = _parse_address(memory_reference) + offset
        data = bytearray()
        while len(data) < count:
            chunk = min(READ_MEMORY_CHUNK, count - len(data))
            try:
                data += await self.api.examine_memory(address + len(data), chunk)
            except DelveRpcError:
                break
        import base64

        return m.ReadMemoryResponseBody(
            address=f"{address:#x}",
            unreadable_bytes=(count - len(data)) or None,
            data=base64.b64encode(bytes(data)).decode("ascii"),
        )

    # -- helpers --------------------------------------------------------------------------------

    async def _output(self, text: str, *, category: str = "console") -> None:
        await self._emit("output", m.OutputEventBody(output=text, category=category))

    def _progress_sync(self, text: str) -> None:
        log.info("%s", text)


class _PreflightAbandoned(Exception):
    """Raised in the preflight thread, at its next progress report, once its launch is cancelled."""


async def _preflight_off_the_loop(
    program: Path, core: Path, progress: Callable[[str], None]
) -> PreflightResult:
    """`preflight` in a worker thread: decompressing a large core takes seconds to minutes, and the
    session must stay able to end meanwhile (disconnect, the client's stream closing, SIGTERM).

    When the launch is cancelled the thread stops at its next progress report (every 64 MiB of
    decompressed core), and preflight removes what it wrote; a result that comes all the same is
    cleaned up when it comes.
    """
    abandoned = threading.Event()

    def report(text: str) -> None:
        if abandoned.is_set():
            raise _PreflightAbandoned
        progress(text)

    work = asyncio.get_running_loop().run_in_executor(
        None, functools.partial(preflight, program, core, progress=report)
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


def _package_of(function: str) -> str:
    """`main.(*T).m` -> `main`, `net/http.(*Server).Serve` -> `net/http`."""
    if not function:
        return ""
    slash = function.rfind("/")
    dot = function.find(".", slash + 1)
    return function[:dot] if dot > 0 else ""


def _regex_escape(text: str) -> str:
    import re

    return re.escape(text)


def _check_count(command: str, field: str, value: int, limit: int) -> None:
    if not 0 <= value <= limit:
        raise ProtocolArgumentError(
            f"{command}: '{field}' must be between 0 and {limit:,}, got {value}", command=command, field=field
        )


def _parse_address(reference: str) -> int:
    try:
        return int(reference, 0)
    except ValueError:
        raise DapError(ErrorId.BAD_MEMORY_REFERENCE, variables={"reference": reference}) from None


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

    t = parse(target)[:2]
    return parse(low)[:2] <= t <= parse(high)[:2]


__all__ = ["CoreSession", "DelveGone", "DelveTimeout"]
