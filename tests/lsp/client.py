"""A real LSP client for the language server's tests: pygls's own `LanguageClient` over stdio against
`.venv/bin/gocore-dap lsp`, recording every notification the server sends.

`LspSession` starts the server, initializes it (with initializationOptions and client capabilities as an
editor would send them), and offers the requests the tests make. The server's stderr is drained (and
kept) so that a chatty server can never block on a full pipe. Used with `asyncio.run` from plain pytest
tests (no async plugin needed).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / ".venv" / "bin" / "gocore-dap"

CAPABILITIES = lsp.ClientCapabilities(
    window=lsp.WindowClientCapabilities(work_done_progress=True),
    workspace=lsp.WorkspaceClientCapabilities(
        inlay_hint=lsp.InlayHintWorkspaceClientCapabilities(refresh_support=True),
        code_lens=lsp.CodeLensWorkspaceClientCapabilities(refresh_support=True),
    ),
    text_document=lsp.TextDocumentClientCapabilities(
        publish_diagnostics=lsp.PublishDiagnosticsClientCapabilities(related_information=True),
        hover=lsp.HoverClientCapabilities(content_format=[lsp.MarkupKind.Markdown]),
        inlay_hint=lsp.InlayHintClientCapabilities(),
        code_lens=lsp.CodeLensClientCapabilities(),
    ),
)


def uri_of(path: Path | str) -> str:
    uri = from_fs_path(str(path))
    assert uri is not None
    return uri


class LspSession:
    def __init__(self, *, capabilities: lsp.ClientCapabilities = CAPABILITIES) -> None:
        self.client = LanguageClient("gocore-dap-tests", "1")
        self.capabilities = capabilities
        self.diagnostics: dict[str, list[lsp.Diagnostic]] = {}
        self.messages: list[lsp.ShowMessageParams] = []
        self.progress: list[Any] = []
        self.refreshes: list[str] = []
        self.stderr: list[str] = []
        self._changed = asyncio.Event()
        self._drain: asyncio.Task[None] | None = None
        client = self.client

        @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
            self.diagnostics[params.uri] = list(params.diagnostics)
            self._changed.set()

        @client.feature(lsp.WINDOW_SHOW_MESSAGE)
        def show_message(params: lsp.ShowMessageParams) -> None:
            self.messages.append(params)
            self._changed.set()

        @client.feature(lsp.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create_progress(params: lsp.WorkDoneProgressCreateParams) -> None:
            self.progress.append(("create", params.token))

        @client.feature(lsp.PROGRESS)
        def progress(params: lsp.ProgressParams) -> None:
            self.progress.append(("progress", params.token, params.value))

        @client.feature(lsp.WORKSPACE_INLAY_HINT_REFRESH)
        def inlay_refresh(_params: Any) -> None:
            self.refreshes.append("inlayHint")

        @client.feature(lsp.WORKSPACE_CODE_LENS_REFRESH)
        def lens_refresh(_params: Any) -> None:
            self.refreshes.append("codeLens")

    async def start(self, root: Path | None = None, options: dict[str, Any] | None = None) -> lsp.InitializeResult:
        await self.client.start_io(str(SERVER), "lsp")
        process = self.client._server
        assert process is not None and process.stderr is not None
        self._drain = asyncio.get_running_loop().create_task(self._read_stderr(process.stderr))
        result = await asyncio.wait_for(
            self.client.initialize_async(
                lsp.InitializeParams(
                    capabilities=self.capabilities,
                    root_uri=uri_of(root) if root else None,
                    workspace_folders=[lsp.WorkspaceFolder(uri=uri_of(root), name=root.name)] if root else None,
                    initialization_options=options,
                )
            ),
            60,
        )
        self.client.initialized(lsp.InitializedParams())
        return result

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr.append(line.decode(errors="replace").rstrip())

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 120, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"timed out waiting for {what or predicate}; messages: {[m.message for m in self.messages]}; "
                    f"server stderr:\n" + "\n".join(self.stderr[-40:])
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))

    def open_document(self, path: Path, text: str | None = None, version: int = 1) -> str:
        uri = uri_of(path)
        self.client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                lsp.TextDocumentItem(
                    uri=uri, language_id="go", version=version, text=path.read_text() if text is None else text
                )
            )
        )
        return uri

    def change_document(self, uri: str, text: str, version: int) -> None:
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    def edit_document(self, uri: str, line: int, text: str, version: int) -> None:
        """Insert `text` at the start of 0-based `line` (an incremental change, as editors send)."""
        position = lsp.Position(line=line, character=0)
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    lsp.TextDocumentContentChangePartial(range=lsp.Range(start=position, end=position), text=text)
                ],
            )
        )

    async def hover(self, uri: str, line: int) -> lsp.Hover | None:
        return await self.client.text_document_hover_async(
            lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(line=line, character=2))
        )

    async def inlay_hints(self, uri: str) -> list[lsp.InlayHint]:
        hints = await self.client.text_document_inlay_hint_async(
            lsp.InlayHintParams(
                text_document=lsp.TextDocumentIdentifier(uri),
                range=lsp.Range(lsp.Position(0, 0), lsp.Position(100_000, 0)),
            )
        )
        return list(hints or [])

    async def code_lenses(self, uri: str) -> list[lsp.CodeLens]:
        return list(
            await self.client.text_document_code_lens_async(lsp.CodeLensParams(lsp.TextDocumentIdentifier(uri))) or []
        )

    async def command(self, name: str, *arguments: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command=name, arguments=list(arguments))
        )

    async def request(self, method: str, params: Any) -> Any:
        return await self.client.protocol.send_request_async(method, params)

    async def stop(self) -> int | None:
        """shutdown + exit, as an editor ends a server; the process's exit code."""
        process = self.client._server
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.shutdown_async(None), 60)
            self.client.exit(None)
        code = None
        if process is not None:
            try:
                code = await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        with contextlib.suppress(Exception):
            await self.client.stop()
        if self._drain is not None:
            self._drain.cancel()
        return code
