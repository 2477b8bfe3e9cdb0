"""Source files as the editor opens them: each path the binary names, mapped to this machine.

The mapping is the core's (`sources.SourceResolver`: explicit substitutePath rules, then -trimpath and
other-machine paths through the build info, the module cache and the exact Go release's sources). A
frame whose file is not on this machine keeps the binary's path, is deemphasised, and says why in its
source's `origin`; the reasons also go to the debug console once per module. Sources that `go mod
download` can bring (the Go release's standard library, dependency modules) are fetched in the
background, with progress, and the editor is told to read the stacks again.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from gocore_dap.protocol import models as m
from gocore_dap.sources.resolver import SourceResolver

__all__ = ["ClientPaths"]

log = logging.getLogger(__name__)

Emit = Callable[[str, Any], Awaitable[None]]


class ClientPaths:
    def __init__(
        self, resolver: SourceResolver, emit: Emit, *, fetch: bool, client: m.InitializeArguments | None
    ) -> None:
        self._resolver = resolver
        self._emit = emit
        self._fetch = fetch
        self._client = client
        self._told: set[str] = set()
        self._fetching: asyncio.Task[None] | None = None

    def to_client(self, file: str, function: str | None = None) -> str:
        """The local path of `file`, or the binary's own path when it is not on this machine."""
        return self._resolver.to_local(file, function).path or file

    def source(self, file: str, function: str | None, *, deemphasize: bool) -> m.Source:
        resolved = self._resolver.to_local(file, function)
        if resolved.path is not None:
            return m.Source(
                name=os.path.basename(resolved.path),
                path=resolved.path,
                presentation_hint="deemphasize" if deemphasize else None,
            )
        return m.Source(name=os.path.basename(file), path=file, presentation_hint="deemphasize", origin=resolved.reason)

    async def after_frames(self) -> None:
        """Once frames were shown: say what did not open (once per owner), fetch what can be fetched."""
        for missing in self._resolver.summary():
            if missing.owner in self._told:
                continue
            self._told.add(missing.owner)
            await self._output(
                f"gocore-dap: the sources of {missing.owner} are not on this machine "
                f"(e.g. {missing.example}): {missing.reason}\n"
            )
        if self._fetch and self._fetching is None and self._resolver.downloads_wanted():
            self._fetching = asyncio.get_running_loop().create_task(self._fetch_missing())

    async def close(self) -> None:
        if self._fetching is not None and not self._fetching.done():
            self._fetching.cancel()
            try:
                await self._fetching
            except (asyncio.CancelledError, Exception):
                log.debug("source download stopped with the session")

    async def _fetch_missing(self) -> None:
        commands = self._resolver.downloads_wanted()
        progress_id = "gocore-dap-sources"
        shows_progress = bool(self._client and self._client.supports_progress_reporting)
        loop = asyncio.get_running_loop()
        updates: list[asyncio.Future[None]] = []

        async def send(body: m.ProgressUpdateEventBody) -> None:
            await self._emit("progressUpdate", body)

        def progress(fraction: float | None, text: str) -> None:
            if shows_progress:
                body = m.ProgressUpdateEventBody(
                    progress_id=progress_id, message=text, percentage=None if fraction is None else 100 * fraction
                )
                # Called in the download's thread: the event is written on the loop's.
                loop.call_soon_threadsafe(
                    lambda: updates.append(asyncio.ensure_future(self._emit("progressUpdate", body)))
                )

        if shows_progress:
            await self._emit(
                "progressStart",
                m.ProgressStartEventBody(progress_id=progress_id, title="Downloading Go sources", message=commands[0]),
            )
        else:
            await self._output(f"gocore-dap: downloading sources: {'; '.join(commands)}\n")
        try:
            failures = await loop.run_in_executor(None, self._resolver.fetch_missing, progress)
        finally:
            await asyncio.gather(*updates, return_exceptions=True)
            if shows_progress:
                await self._emit("progressEnd", m.ProgressEndEventBody(progress_id=progress_id))
        for failure in failures:
            await self._output(f"gocore-dap: {failure}\n")
        if len(failures) < len(commands):
            # The files are there now: the editor reads the stacks again and opens them.
            self._told.clear()
            if self._client and self._client.supports_invalidated_event:
                await self._emit("invalidated", m.InvalidatedEventBody(areas=["stacks"]))

    async def _output(self, text: str) -> None:
        await self._emit("output", m.OutputEventBody(output=text, category="console"))
