"""Stack frames as the editor shows them: paged `stackTrace`, frame handles, and where the editor lands."""

from __future__ import annotations

import attrs

from gocore_dap.backends.delve.api import Stackframe
from gocore_dap.core.failures import fails_as
from gocore_dap.core.loaded import LoadedCore
from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.goviews import presentation
from gocore_dap.protocol import models as m
from gocore_dap.session.handles import Handles
from gocore_dap.session.source_paths import ClientPaths
from gocore_dap.session.threads import owner_of

__all__ = ["FrameRef", "Frames"]


@attrs.frozen
class FrameRef:
    """What a frame id stands for: frame `index` (0 = innermost) of a DAP thread's stack."""

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
        frames = await self._core.stacks.stack(owner, max(want, self._depth))
        functions = [f.location.function_name for f in frames]
        dim = presentation.deemphasized_frames(functions, on_goroutine=owner.lwp is None)
        out = [self._stack_frame(thread_id, i, frames[i], dim[i]) for i in range(start, min(want, len(frames)))]
        total = len(frames) if self._core.stacks.is_complete(owner) else len(frames) + self._depth
        await self._paths.after_frames()
        return out, total

    def _stack_frame(self, thread_id: int, index: int, frame: Stackframe, dim: bool) -> m.StackFrame:
        loc = frame.location
        name = loc.function_name or f"{loc.pc:#x}"
        if frame.err:
            name += f" (error: {frame.err})"
        source = self._paths.source(loc.file, loc.function_name, deemphasize=dim) if loc.file else None
        return m.StackFrame(
            id=self._handles.create(FrameRef(thread_id, index)),
            name=name,
            source=source,
            line=max(loc.line, 0),
            column=1 if loc.line > 0 else 0,
            instruction_pointer_reference=f"{loc.pc:#x}",
            presentation_hint="subtle" if dim else "normal",
        )
