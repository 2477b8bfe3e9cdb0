"""`gocore-dap lsp`: a language server that shows a Go core dump on the source itself.

Which core: `initializationOptions` (launch attributes, or `{"cores": [...]}`), the command
`gocore.openCore`, or the first `go-core` configuration of a workspace folder's `.vscode/launch.json`
(`{"launchConfiguration": NAME}` picks another; `{"autoOpen": false}` none). Several cores can be open.
Opening runs as a task on the event loop (preflight and file work in threads), with `$/progress` when the
client supports it; a failure is shown with `window/showMessage`, with the debugger's error id and text.

What it shows (docs/lsp.md): an Error diagnostic where the program died and on each line of a nested
panic, Information diagnostics and inlay hints where goroutines are parked or running, hovers, code lenses
on functions that hold goroutines, and the `gocore/goroutinesAt` request. Diagnostics are published for
every marked file of the workspace, and for any other marked file (the standard library's) once it is
open in the editor.

Commands (`workspace/executeCommand`): `gocore.openCore` [attributes] -> the core's summary;
`gocore.closeCore` [name or core path, optional] -> {closed: [names]}; `gocore.listCores` -> summaries;
`gocore.goroutinesIn` [{function, core?}] -> the marked locations (what a code lens runs in
editors without the Goroutines view).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

import gocore_dap
from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.goviews.goroutine_info import GoLocation
from gocore_dap.lsp import render
from gocore_dap.lsp.core_request import CoreRequest, parse_core_request
from gocore_dap.lsp.cores import OpenCore, OpenCores
from gocore_dap.lsp.file_view import Placed
from gocore_dap.lsp.launch_json import find_configurations
from gocore_dap.lsp.transport import GoCoreProtocol

__all__ = ["GoCoreLanguageServer", "create_server"]

log = logging.getLogger(__name__)

CMD_OPEN = "gocore.openCore"
CMD_CLOSE = "gocore.closeCore"
CMD_LIST = "gocore.listCores"
CMD_GOROUTINES_IN = "gocore.goroutinesIn"
REQUEST_GOROUTINES_AT = "gocore/goroutinesAt"
# LSP's RequestFailed: the request was valid but could not be carried out (a core that does not open).
REQUEST_FAILED = -32803
_CHANGE_DELAY = 0.15
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Lines as LSP counts them (\\n, \\r\\n or \\r)."""
    return _LINE_BREAK.split(text)


def request_failed(message: str, error_id: int | None = None) -> JsonRpcException:
    return JsonRpcException(message=message, code=REQUEST_FAILED, data={"id": error_id} if error_id else None)


def no_core_error(what: str) -> JsonRpcException:
    return request_failed(
        f"{what}: no core dump is open: open one with the command {CMD_OPEN} (launch attributes 'program' and "
        "'coreFilePath'), initializationOptions, or a go-core configuration in .vscode/launch.json",
        int(ErrorId.NOT_LAUNCHED),
    )


def error_text(error: GocoreError) -> str:
    return f"error {int(error.error_id)}: {error.text}"


class GoCoreLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("gocore-dap", gocore_dap.__version__, protocol_cls=GoCoreProtocol)
        self.cores = OpenCores()
        self.options: dict[str, Any] = {}
        self._opening: dict[tuple[str, str], asyncio.Task[OpenCore]] = {}
        self._pending_publish: dict[str, asyncio.TimerHandle] = {}
        self._published: set[str] = set()
        self._tokens = itertools.count(1)
        self._background: set[asyncio.Task[Any]] = set()
        self.closed = False

    # -- client facts ---------------------------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        return str(self.workspace.position_encoding or lsp.PositionEncodingKind.Utf16)

    def _client_has(self, dotted: str) -> bool:
        value: Any = self.client_capabilities
        for part in dotted.split("."):
            value = getattr(value, part, None)
            if value is None:
                return False
        return bool(value)

    def workspace_folders(self) -> list[str]:
        try:
            workspace = self.workspace
        except RuntimeError:
            return []
        folders = [to_fs_path(f.uri) for f in workspace.folders.values()]
        if not folders and workspace.root_path:
            folders = [workspace.root_path]
        return [str(Path(f).resolve()) for f in folders if f]

    def in_workspace(self, path: str) -> bool:
        return any(path == f or path.startswith(f.rstrip("/") + "/") for f in self.workspace_folders())

    def open_documents(self) -> dict[str, str]:
        """Local path -> uri of the documents open in the editor."""
        out = {}
        for uri in self.workspace.text_documents:
            path = to_fs_path(uri)
            if path:
                out[str(Path(path).resolve())] = uri
        return out

    def text_of(self, path: str) -> list[str] | None:
        uri = self.open_documents().get(path)
        if uri is not None:
            return split_lines(self.workspace.get_text_document(uri).source)
        try:
            return split_lines(Path(path).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return None

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # -- messages -------------------------------------------------------------------------------------------

    def show(self, kind: lsp.MessageType, text: str) -> None:
        self.window_show_message(lsp.ShowMessageParams(type=kind, message=text))

    async def _progress_start(self, title: str) -> str | None:
        if not self._client_has("window.work_done_progress"):
            return None
        token = f"gocore-dap-open-{next(self._tokens)}"
        try:
            await asyncio.wait_for(self.work_done_progress.create_async(token), 10)
        except Exception as exc:  # a client that refuses the token: open without progress
            log.info("no progress token: %s", exc)
            return None
        self.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(title=title, cancellable=False))
        return token

    # -- opening and closing --------------------------------------------------------------------------------

    async def open_core(self, request: CoreRequest) -> OpenCore:
        """Open a core (or return it if it is open or opening); raises GocoreError."""
        program, core_path = request.options.resolved()
        key = (str(program), str(core_path))
        existing = self.cores.by_key(key)
        if existing is not None:
            return existing
        task = self._opening.get(key)
        if task is None:
            task = self.spawn(self._open(request, program, core_path))
            self._opening[key] = task
            task.add_done_callback(lambda _t: self._opening.pop(key, None))
        return await asyncio.shield(task)

    async def _open(self, request: CoreRequest, program: Path, core_path: Path) -> OpenCore:
        from gocore_dap.core.open import open_core
        from gocore_dap.lsp.collect import collect_facts

        loop = asyncio.get_running_loop()
        token = await self._progress_start(f"Opening {core_path.name}")

        def progress(fraction: float | None, text: str) -> None:
            # open_core calls this on the loop's thread (it hands worker threads' reports over itself).
            if token is not None:
                self.work_done_progress.report(token, lsp.WorkDoneProgressReport(message=text))

        loaded = None
        started = loop.time()
        try:
            loaded = await open_core(request.options, progress=progress, on_delve_exit=self._delve_exited)
            opened_at = loop.time()
            # The model's own scope (build info and yourCode, read by open_core): the marks and the debugger
            # agree on whose code a frame is.
            scope = loaded.scope
            progress(None, "reading goroutines and sources")
            facts = await collect_facts(loaded, scope)
            log.info(
                "%s: open_core %.2f s, goroutines and sources %.2f s",
                core_path, opened_at - started, loop.time() - opened_at,
            )  # fmt: skip
        except BaseException:
            if loaded is not None:
                await loaded.close()
            raise
        finally:
            if token is not None:
                self.work_done_progress.end(token, lsp.WorkDoneProgressEnd())
        if self.closed:
            await loaded.close()
            raise GocoreError(ErrorId.SESSION_TERMINATED)
        opened = OpenCore(self.cores.unique_name(core_path), request, loaded, scope, facts)
        self.cores.add(opened)
        for warning in loaded.warnings:
            self.show(lsp.MessageType.Warning, f"gocore-dap ({opened.name}): {warning}")
        if facts.missing:
            files = ", ".join(sorted(facts.missing)[:3])
            self.show(
                lsp.MessageType.Warning,
                f"gocore-dap ({opened.name}): {len(facts.missing)} source file(s) of the stacks are not on this "
                f"machine (e.g. {files}); set sourceRoot or substitutePath to show their marks.",
            )
        log.info("opened %s: %s", opened.name, loaded.crash.headline)
        self.refresh_all()
        return opened

    def _delve_exited(self, reason: str) -> None:
        self.show(lsp.MessageType.Error, f"gocore-dap: Delve ended: {reason}")

    async def open_and_report(self, request: CoreRequest) -> OpenCore | None:
        """Open a core; a failure goes to the user as a message (the debugger's error id and text)."""
        try:
            return await self.open_core(request)
        except GocoreError as exc:
            core = request.options.core
            self.show(lsp.MessageType.Error, f"gocore-dap could not open {core}: {error_text(exc)}")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("opening a core failed")
            self.show(lsp.MessageType.Error, f"gocore-dap could not open {request.options.core}: {exc}")
        return None

    async def close_core(self, core: OpenCore) -> None:
        self.cores.remove(core.name)
        await core.close()
        self.refresh_all()

    async def close_all(self) -> None:
        self.closed = True
        for task in list(self._opening.values()):
            task.cancel()
        for task in list(self._opening.values()):
            with contextlib.suppress(BaseException):
                await task
        for core in self.cores:
            self.cores.remove(core.name)
            await core.close()

    async def open_from_workspace(self) -> None:
        """At `initialized`: the cores named in initializationOptions, else a launch.json configuration."""
        options = self.options
        folders = self.workspace_folders()
        requests: list[tuple[object, str]] = []
        if isinstance(options.get("cores"), list):
            requests = [(raw, f"initializationOptions.cores[{i}]") for i, raw in enumerate(options["cores"])]
        elif options.get("program") is not None or options.get("coreFilePath") is not None or options.get("core"):
            requests = [(options, "initializationOptions")]
        elif options.get("autoOpen", True) is not False:
            configurations, problems = find_configurations(folders)
            wanted = options.get("launchConfiguration")
            for problem in problems:
                self.show(lsp.MessageType.Warning, f"gocore-dap: {problem}")
            if wanted:
                chosen = [c for c in configurations if c.name == wanted]
                if not chosen:
                    names = ", ".join(repr(c.name) for c in configurations) or "none"
                    self.show(
                        lsp.MessageType.Error,
                        f"gocore-dap: .vscode/launch.json has no go-core configuration named {wanted!r} "
                        f"(found: {names})",
                    )
                configurations = chosen
            for configuration in configurations[:1]:
                attributes = dict(configuration.attributes)
                attributes.setdefault("cwd", configuration.folder)
                requests.append((attributes, f'launch.json "{configuration.name}"'))
        for raw, where in requests:
            try:
                request = parse_core_request(raw, where=where, workspace_folders=folders)
            except GocoreError as exc:
                self.show(lsp.MessageType.Error, f"gocore-dap: {error_text(exc)}")
                continue
            await self.open_and_report(request)

    # -- publishing -----------------------------------------------------------------------------------------

    def placements(self, path: str, lines: Sequence[str]) -> list[tuple[OpenCore, list[Placed]]]:
        out = []
        for core in self.cores:
            view = core.view(path)
            if view is None:
                continue
            view.sync(lines)
            placed, _dropped = view.placed()
            out.append((core, placed))
        return out

    def locate(self, core: OpenCore) -> render.Locate:
        def locate(frame: GoLocation) -> lsp.Location | None:
            local = core.local_of(frame.file)
            if local is None:
                return None
            line = frame.line - 1
            view = core.view(local)
            if view is not None:
                text = self.text_of(local)
                if text is not None:
                    view.sync(text)
                    current = view.current_line(frame.line)
                    line = current if current is not None else line
            return lsp.Location(
                uri=from_fs_path(local) or local,
                range=lsp.Range(start=lsp.Position(line=line, character=0), end=lsp.Position(line=line, character=0)),
            )

        return locate

    def diagnostics_for(self, path: str) -> list[lsp.Diagnostic] | None:
        lines = self.text_of(path)
        if lines is None:
            return None
        several = len(self.cores) > 1
        out: list[lsp.Diagnostic] = []
        for core in self.cores:
            view = core.view(path)
            if view is None:
                continue
            view.sync(lines)
            out.extend(render.diagnostics(core.label(several), view, lines, self.encoding, self.locate(core)))
        return out

    def publish(self, path: str) -> None:
        uri = self.open_documents().get(path) or from_fs_path(path) or path
        shown = path in self.open_documents() or self.in_workspace(path)
        found = self.diagnostics_for(path) if shown else None
        if not found:
            if path in self._published:
                self._published.discard(path)
                self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
            return
        self._published.add(path)
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=found))

    def publish_later(self, path: str) -> None:
        """Typing sends a change per key: publish once it pauses."""
        pending = self._pending_publish.pop(path, None)
        if pending is not None:
            pending.cancel()
        self._pending_publish[path] = asyncio.get_running_loop().call_later(_CHANGE_DELAY, self._publish_now, path)

    def _publish_now(self, path: str) -> None:
        self._pending_publish.pop(path, None)
        try:
            self.publish(path)
        except Exception:
            log.exception("publishing diagnostics for %s failed", path)

    def refresh_all(self) -> None:
        paths = set(self._published)
        for core in self.cores:
            paths.update(core.by_local)
        for path in sorted(paths):
            self.publish(path)
        if self._client_has("workspace.inlay_hint.refresh_support"):
            self.workspace_inlay_hint_refresh(None)
        if self._client_has("workspace.code_lens.refresh_support"):
            self.workspace_code_lens_refresh(None)

    # -- answers --------------------------------------------------------------------------------------------

    def path_of(self, uri: str) -> str | None:
        path = to_fs_path(uri)
        return str(Path(path).resolve()) if path else None

    def goroutines_at(self, path: str, line: int) -> list[dict[str, Any]]:
        lines = self.text_of(path)
        if lines is None:
            return []
        out = []
        for core, placed in self.placements(path, lines):
            for item in placed:
                if item.line != line:
                    continue
                entry: dict[str, Any] = {"core": core.name, "line": item.line}
                if item.mark is not None:
                    mark = item.mark
                    entry.update(
                        function=mark.function,
                        buildLine=mark.line,
                        goroutines=mark.count,
                        states=dict(mark.states),
                        waitMinutes=dict(mark.minutes),
                        goroutineIds=list(mark.goroutine_ids),
                        creators=dict(mark.creators),
                        waitingIn=dict(mark.waiting_in),
                        callers=dict(mark.callers),
                        labels=[{"goroutine": g, "labels": dict(labels)} for labels, g in mark.labels],
                        crashing=mark.crashing,
                    )
                if item.crash is not None:
                    entry.update(crash=item.crash.headline, crashGoroutine=item.crash.goroutine_id,
                                 crashed=item.crash.crashed)  # fmt: skip
                if item.panic is not None:
                    entry.update(panic=item.panic.text, panicIndex=item.panic.index)
                out.append(entry)
        return out

    def locations_of(self, core: OpenCore, function: str) -> list[lsp.Location]:
        mark = core.facts.marks.functions.get(function)
        if mark is None:
            return []
        local = core.local_of(mark.file)
        if local is None:
            return []
        locate = self.locate(core)
        found = [locate(GoLocation(function, mark.file, line)) for line in sorted(mark.lines)]
        return [location for location in found if location is not None]


def _plain(value: Any) -> Any:
    """pygls hands a custom request's params over as namedtuples: back to plain JSON values."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _position_params(params: Any, method: str) -> tuple[str, int]:
    """(uri, line) of `{textDocument: {uri}, position: {line}}`."""
    params = _plain(params)
    try:
        uri = params["textDocument"]["uri"]
        line = params["position"]["line"]
    except (TypeError, KeyError):
        raise JsonRpcException(
            message=f"{method}: params must be {{textDocument: {{uri}}, position: {{line, character}}}}", code=-32602
        ) from None
    if not isinstance(uri, str) or not isinstance(line, int) or isinstance(line, bool) or line < 0:
        raise JsonRpcException(message=f"{method}: 'uri' must be a string and 'line' a number >= 0", code=-32602)
    return uri, line


def create_server() -> GoCoreLanguageServer:
    server = GoCoreLanguageServer()

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: GoCoreLanguageServer, params: lsp.InitializeParams) -> None:
        options = params.initialization_options
        ls.options = dict(options) if isinstance(options, dict) else {}

    @server.feature(lsp.INITIALIZED)
    def initialized(ls: GoCoreLanguageServer, params: lsp.InitializedParams) -> None:
        ls.spawn(ls.open_from_workspace())

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: GoCoreLanguageServer, params: lsp.DidChangeConfigurationParams) -> None:
        settings = params.settings
        section = settings.get("gocore") if isinstance(settings, dict) else None
        if isinstance(section, dict):
            ls.options.update(section)

    @server.feature(lsp.SHUTDOWN)
    async def shutdown(ls: GoCoreLanguageServer, *args: Any) -> None:
        await ls.close_all()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: GoCoreLanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
        path = ls.path_of(params.text_document.uri)
        if path is not None:
            ls.publish(path)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: GoCoreLanguageServer, params: lsp.DidChangeTextDocumentParams) -> None:
        path = ls.path_of(params.text_document.uri)
        if path is not None:
            ls.publish_later(path)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: GoCoreLanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
        path = ls.path_of(params.text_document.uri)
        if path is not None:
            ls.publish(path)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: GoCoreLanguageServer, params: lsp.HoverParams) -> lsp.Hover | None:
        path = ls.path_of(params.text_document.uri)
        lines = ls.text_of(path) if path else None
        if path is None or lines is None:
            return None
        line = params.position.line
        several = len(ls.cores) > 1
        parts = []
        for core, placed in ls.placements(path, lines):
            here = [p for p in placed if p.line == line]
            if here:
                parts.append(render.hover_markdown(core.label(several), here, core.facts))
        if not parts:
            return None
        return lsp.Hover(
            contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)),
            range=render.line_range(lines, line, ls.encoding),
        )

    @server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT, lsp.InlayHintOptions(resolve_provider=False))
    def inlay_hints(ls: GoCoreLanguageServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint] | None:
        path = ls.path_of(params.text_document.uri)
        lines = ls.text_of(path) if path else None
        if path is None or lines is None:
            return None
        first, last = params.range.start.line, params.range.end.line
        several = len(ls.cores) > 1
        hints = []
        for core, placed in ls.placements(path, lines):
            for item in placed:
                if first <= item.line <= last:
                    hint = render.inlay_hint(core.label(several), item, lines, ls.encoding)
                    if hint is not None:
                        hints.append(hint)
        return hints

    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS, lsp.CodeLensOptions(resolve_provider=False))
    def code_lenses(ls: GoCoreLanguageServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens] | None:
        path = ls.path_of(params.text_document.uri)
        lines = ls.text_of(path) if path else None
        if path is None or lines is None:
            return None
        several = len(ls.cores) > 1
        command = ls.options.get("goroutinesCommand")
        lenses = []
        for core in ls.cores:
            view = core.view(path)
            if view is None:
                continue
            view.sync(lines)
            for function in view.placed_functions():
                arguments: dict[str, object] = {
                    "core": core.name,
                    "coreFile": str(core.loaded.core),
                    "program": str(core.loaded.program),
                    "function": function.function.function,
                    "uri": params.text_document.uri,
                    "lines": list(function.marked_lines),
                    "goroutines": function.function.count,
                }
                lenses.append(
                    render.code_lens(
                        core.label(several), function, lines, ls.encoding,
                        command if isinstance(command, str) and command else CMD_GOROUTINES_IN, arguments,
                    )
                )  # fmt: skip
        return lenses

    @server.feature(REQUEST_GOROUTINES_AT)
    def goroutines_at(ls: GoCoreLanguageServer, params: Any) -> dict[str, Any]:
        uri, line = _position_params(params, REQUEST_GOROUTINES_AT)
        if not len(ls.cores):
            raise no_core_error(REQUEST_GOROUTINES_AT)
        path = ls.path_of(uri)
        return {"uri": uri, "line": line, "marks": ls.goroutines_at(path, line) if path else []}

    @server.command(CMD_OPEN)
    async def open_command(ls: GoCoreLanguageServer, *args: Any) -> dict[str, object]:
        if len(args) != 1:
            raise JsonRpcException(
                message=f"{CMD_OPEN}: give one argument, an object of launch attributes ('program', 'coreFilePath')",
                code=-32602,
            )
        try:
            request = parse_core_request(args[0], where=CMD_OPEN, workspace_folders=ls.workspace_folders())
        except GocoreError as exc:
            raise JsonRpcException(message=error_text(exc), code=-32602, data={"id": int(exc.error_id)}) from None
        try:
            core = await ls.open_core(request)
        except GocoreError as exc:
            ls.show(lsp.MessageType.Error, f"gocore-dap could not open {request.options.core}: {error_text(exc)}")
            raise request_failed(error_text(exc), int(exc.error_id)) from None
        return core.summary()

    @server.command(CMD_CLOSE)
    async def close_command(ls: GoCoreLanguageServer, *args: Any) -> dict[str, object]:
        if not len(ls.cores):
            raise no_core_error(CMD_CLOSE)
        if args and not all(isinstance(a, str) for a in args):
            raise JsonRpcException(message=f"{CMD_CLOSE}: arguments are core names or core file paths", code=-32602)
        targets = []
        for spec in args:
            core = ls.cores.find(spec)
            if core is None:
                names = ", ".join(c.name for c in ls.cores)
                raise request_failed(f"{CMD_CLOSE}: no open core is named {spec!r} (open: {names})")
            targets.append(core)
        closed = []
        for core in targets or list(ls.cores):
            await ls.close_core(core)
            closed.append(core.name)
        return {"closed": closed}

    @server.command(CMD_LIST)
    def list_command(ls: GoCoreLanguageServer, *args: Any) -> list[dict[str, object]]:
        return [core.summary() for core in ls.cores]

    @server.command(CMD_GOROUTINES_IN)
    def goroutines_in_command(ls: GoCoreLanguageServer, *args: Any) -> list[lsp.Location]:
        if not len(ls.cores):
            raise no_core_error(CMD_GOROUTINES_IN)
        spec = args[0] if len(args) == 1 else None
        if not isinstance(spec, dict) or not isinstance(spec.get("function"), str):
            raise JsonRpcException(
                message=f'{CMD_GOROUTINES_IN}: give one argument {{"function": NAME, "core": NAME?}}', code=-32602
            )
        cores = [c for c in ls.cores if spec.get("core") in (None, c.name)]
        if not cores:
            raise request_failed(f"{CMD_GOROUTINES_IN}: no open core is named {spec.get('core')!r}")
        return [location for core in cores for location in ls.locations_of(core, spec["function"])]

    return server
