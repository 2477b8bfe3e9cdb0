"""Stack frames as the editor shows them: paged `stackTrace`, frame handles, and where the editor lands.

The frames are the core's shown stacks (`LoadedCore.shown_stack`: the faulting C frame at its exact PC, no
function-less pc-0 frame), presented by `goviews.presentation.frame_hints`: every frame above the landing
frame (the innermost frame of your code) has its source deemphasised, since editors open the first frame
whose source is not. VS Code (1.100) reads a frame's own hint before its source's (`isFrameDeemphasized`:
`frame.presentationHint ?? source.presentationHint`), so a library frame above the landing carries no
frame hint at all: with "normal" the editor would land on `time.Sleep` instead of the line that called
it. Names are printed as the runtime's traceback prints them (`main.(*Cache[...]).Put`); the full name of
a generic function is the source's `origin` (shown when hovering the frame's file).
"""

from __future__ import annotations

import os

import attrs

from gocore_dap.backends.delve.api import Stackframe
from gocore_dap.backends.delve.stack_repair import ShownFrame
from gocore_dap.core.failures import fails_as
from gocore_dap.core.landing import shown_locations
from gocore_dap.core.loaded import LoadedCore
from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.goviews.code_scope import CodeKind, is_cgo_generated_file
from gocore_dap.goviews.frames import traceback_name
from gocore_dap.goviews.presentation import FrameHint, frame_hints
from gocore_dap.protocol import models as m
from gocore_dap.session.handles import Handles
from gocore_dap.session.source_paths import ClientPaths
from gocore_dap.session.threads import owner_of

__all__ = ["FrameRef", "Frames"]


@attrs.frozen
class FrameRef:
    """What a frame id stands for: Delve's frame `index` (0 = innermost) of a DAP thread's stack.

    Delve's numbering, not the shown one: scopes, variables and evaluate address Delve's frames, and a
    shown frame (a C function inlined at the faulting PC) may have no Delve frame of its own."""

    dap_thread_id: int
    index: int


class Frames:
    def __init__(self, core: LoadedCore, paths: ClientPaths, depth: int) -> None:
        self._core = core
        self._paths = paths
        self._depth = depth
        self._handles: Handles[FrameRef] = Handles()

    def get(self, frame_id: int) -> FrameRef:
        ref = self._handles.get(frame_id)
        if ref is None:
            raise GocoreError(ErrorId.UNKNOWN_FRAME, variables={"id": str(frame_id)})
        return ref

    async def frame(self, ref: FrameRef) -> Stackframe | None:
        """The Delve frame a frame id reads its variables from."""
        frames = await self._core.stacks.stack(owner_of(ref.dap_thread_id), max(ref.index + 1, self._depth))
        return frames[ref.index] if ref.index < len(frames) else None

    @fails_as(ErrorId.STACK_TRACE_FAILED)
    async def stack_trace(self, thread_id: int, start: int, levels: int) -> tuple[list[m.StackFrame], int]:
        owner = owner_of(thread_id)
        if owner.lwp is not None and not await self._core.stacks.has_thread(owner.lwp):
            # A goroutine id is checked by Delve when its stack is read.
            raise GocoreError(ErrorId.UNKNOWN_THREAD, id=thread_id)
        start = max(0, start)
        want = start + (levels if levels > 0 else self._depth)
        depth = max(want, self._depth)
        shown = await self._core.shown_stack(owner, depth)
        hints = frame_hints(shown_locations(shown), self._core.scope, on_goroutine=owner.lwp is None)
        out = [self._stack_frame(thread_id, shown[i], hints[i]) for i in range(start, min(want, len(shown)))]
        total = len(shown) if self._core.stacks.is_complete(owner) else len(shown) + self._depth
        await self._paths.after_frames()
        return out, total

    def _stack_frame(self, thread_id: int, shown: ShownFrame, hint: FrameHint) -> m.StackFrame:
        frame = shown.frame
        loc = frame.location
        name = traceback_name(loc.function_name) or f"{loc.pc:#x}"
        if frame.err:
            name += f" (error: {frame.err})"
        return m.StackFrame(
            id=self._handles.create(FrameRef(thread_id, shown.delve_index)),
            name=name,
            source=self._source(loc.file, loc.function_name, hint) if loc.file else None,
            line=max(loc.line, 0),
            column=1 if loc.line > 0 else 0,
            instruction_pointer_reference=f"{loc.pc:#x}",
            presentation_hint=None if hint.source == "deemphasize" and hint.frame == "normal" else hint.frame,
        )

    def _source(self, file: str, function: str, hint: FrameHint) -> m.Source:
        origins = [hint.origin] if hint.origin else []
        shown_name = traceback_name(function)
        if shown_name != function:
            # A generic function's name as the compiler instantiated it (go.shape...): kept where a
            # reader can reach it, the tooltip of the frame's file.
            origins.append(function)
        if hint.kind is CodeKind.CGO_GENERATED and is_cgo_generated_file(file):
            # cgo's generated files exist only in the build's work directory: no path to open.
            return m.Source(name=os.path.basename(file), presentation_hint="deemphasize", origin="; ".join(origins))
        source = self._paths.source(file, function, deemphasize=hint.source == "deemphasize")
        if source.origin:
            origins.insert(0, source.origin)
        return attrs.evolve(source, origin="; ".join(origins) or None)
