"""The variable tree a client walks: scopes of a frame, lazily read children, paging, evaluate.

One handle map serves scopes and variables (as in Delve's service/dap): a `variablesReference` names a
`ScopeRef` or a `VarContainer`, and `variables` tells them apart by what it finds. How each value reads
(its one-line text, whether it expands, how it is re-read) is `session.value_format`.
"""

from __future__ import annotations

import re

import attrs

from gocore_dap.backends.delve.api import LoadConfig, Variable
from gocore_dap.backends.delve.errors import BackendError
from gocore_dap.core.failures import backend_error, fails_as
from gocore_dap.core.loaded import LoadedCore
from gocore_dap.core.stacks import StackOwner
from gocore_dap.errors import ErrorId, GocoreError
from gocore_dap.goviews import kinds
from gocore_dap.goviews.frames import package_path
from gocore_dap.protocol import models as m
from gocore_dap.session.frames import FrameRef, Frames
from gocore_dap.session.handles import Handles
from gocore_dap.session.threads import owner_of
from gocore_dap.session.value_format import (
    LISTING_CONFIG,
    PAGE_SIZE,
    STRING_CHUNK,
    address_expr,
    child_name_and_expr,
    children_loaded,
    format_value,
    has_children,
    indexed_count,
    string_chunks,
)

__all__ = ["ScopeRef", "VarContainer", "VariableTree"]

REPL_CONFIG = LoadConfig(max_variable_recurse=1, max_string_len=4096, max_array_values=64)
CLIPBOARD_CONFIG = LoadConfig(max_variable_recurse=1, max_string_len=1 << 20, max_array_values=64)

_ARGUMENTS = "arguments"
_LOCALS = "locals"
_GLOBALS = "globals"
_REGISTERS = "registers"


@attrs.frozen
class ScopeRef:
    frame: FrameRef
    kind: str  # _ARGUMENTS, _LOCALS, _GLOBALS or _REGISTERS


@attrs.frozen
class VarContainer:
    """What a variablesReference stands for: a Delve variable read in one goroutine's frame."""

    goroutine_id: int  # Delve scope; -1 with `thread_id` set for an OS thread without goroutine
    thread_id: int | None
    frame: int
    expr: str  # evaluates to this variable in that scope ("" when it cannot be re-read)
    variable: Variable


class VariableTree:
    def __init__(self, core: LoadedCore, frames: Frames, *, show_registers: bool) -> None:
        self._core = core
        self._frames = frames
        self._show_registers = show_registers
        self._handles: Handles[ScopeRef | VarContainer] = Handles()

    # -- scopes -------------------------------------------------------------------------------------

    @fails_as(ErrorId.DLV_FAILED)
    async def scopes(self, frame_id: int) -> list[m.Scope]:
        ref = self._frames.get(frame_id)
        frame = await self._frames.frame(ref)
        optimized = bool(frame and frame.location.function and frame.location.function.optimized)
        suffix = " (warning: optimized function, values may be wrong or missing)" if optimized else ""
        scopes = [
            m.Scope(name=f"Arguments{suffix}", presentation_hint="arguments",
                    variables_reference=self._handles.create(ScopeRef(ref, _ARGUMENTS)), expensive=False),
            m.Scope(name=f"Locals{suffix}", presentation_hint="locals",
                    variables_reference=self._handles.create(ScopeRef(ref, _LOCALS)), expensive=False),
        ]  # fmt: skip
        package = package_path(frame.location.function_name) if frame else None
        if package:
            scopes.append(
                m.Scope(
                    name=f"Globals (package {package})",
                    variables_reference=self._handles.create(ScopeRef(ref, _GLOBALS)),
                    expensive=True,
                )
            )
        if self._show_registers:
            scopes.append(
                m.Scope(
                    name="Registers",
                    presentation_hint="registers",
                    variables_reference=self._handles.create(ScopeRef(ref, _REGISTERS)),
                    expensive=True,
                )
            )
        return scopes

    # -- variables -----------------------------------------------------------------------------------

    @fails_as(ErrorId.VARIABLES_FAILED)
    async def variables(
        self, reference: int, start: int | None, count: int | None, filter_: str | None
    ) -> list[m.Variable]:
        found = self._handles.get(reference)
        if isinstance(found, ScopeRef):
            return await self._scope_variables(found)
        if isinstance(found, VarContainer):
            return await self._children(found, start, count, filter_)
        raise GocoreError(ErrorId.UNKNOWN_VARIABLES_REFERENCE, variables={"id": str(reference)})

    async def _scope_variables(self, scope: ScopeRef) -> list[m.Variable]:
        api, ref = self._core.api, scope.frame
        owner = owner_of(ref.dap_thread_id)
        goroutine = await self._core.stacks.delve_scope(owner)
        if scope.kind == _ARGUMENTS:
            found = await api.function_args(goroutine, ref.index, LISTING_CONFIG)
        elif scope.kind == _LOCALS:
            found = await api.local_vars(goroutine, ref.index, LISTING_CONFIG)
        elif scope.kind == _REGISTERS:
            regs = await api.registers(goroutine, ref.index)
            return [m.Variable(name=r.name, value=r.value, variables_reference=0) for r in regs]
        else:
            frame = await self._frames.frame(ref)
            package = package_path(frame.location.function_name) if frame else None
            if not package:
                return []
            found = await api.package_vars(f"^{re.escape(package)}\\.[^.]+$", LISTING_CONFIG)
        out = []
        for v in found:
            name, expr = v.name, v.name
            if v.flags & Variable.FLAG_SHADOWED:
                name, expr = f"({v.name})", address_expr(v)
            out.append(self._dap_variable(VarContainer(goroutine, owner.lwp, ref.index, expr, v), name))
        return out

    def _dap_variable(self, container: VarContainer, name: str) -> m.Variable:
        v = container.variable
        reference = self._handles.create(container) if has_children(v) else 0
        hint = None
        if v.unreadable:
            hint = m.VariablePresentationHint(attributes=["failedEvaluation"])
        elif v.flags & Variable.FLAG_CONSTANT:
            hint = m.VariablePresentationHint(kind="data", attributes=["constant", "readOnly"])
        memory = f"{v.addr:#x}" if v.addr and not (v.flags & Variable.FLAG_FAKE_ADDRESS) else None
        if v.kind == kinds.PTR and v.children:  # pointers: show the pointee's memory
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
        expression = expr or address_expr(container.variable) or container.expr
        if not expression:
            raise GocoreError(ErrorId.VARIABLES_FAILED, message="this value cannot be read again from the core")
        goroutine = container.goroutine_id
        if container.thread_id is not None:
            goroutine = await self._core.stacks.delve_scope(StackOwner.thread(container.thread_id))
        return await self._core.api.eval(expression, goroutine, container.frame, cfg)

    async def _children(
        self, container: VarContainer, start: int | None, count: int | None, filter_: str | None
    ) -> list[m.Variable]:
        v = container.variable
        paged = start is not None or count is not None
        if v.kind == kinds.STRING:
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
        if v.kind == kinds.PTR and v.children and has_children(v.children[0]):
            # A pointer expands straight into what it points at, as Go developers read `p.field`.
            target = v.children[0]
            expr = f"(*{container.expr})" if container.expr else address_expr(target)
            inner = attrs.evolve(container, expr=expr, variable=target)
            if not children_loaded(target):
                inner = attrs.evolve(inner, variable=await self._reload(inner, LISTING_CONFIG))
            return await self._children(inner, None, None, filter_)
        if v.kind == kinds.INTERFACE and v.children:
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
        if v.kind == kinds.MAP:
            for i in range(0, len(v.children) - 1, 2):
                key, value = v.children[i], v.children[i + 1]
                key_text = format_value(key, top=False)
                expr = f"{container.expr}[{key_text}]" if container.expr and key.kind in kinds.LITERAL_KEYS else ""
                out.append(
                    self._dap_variable(
                        attrs.evolve(container, expr=expr or address_expr(value), variable=value), key_text
                    )
                )
            return out
        for i, child in enumerate(v.children):
            name, expr = child_name_and_expr(v, container.expr, offset + i, child)
            if v.kind == kinds.PTR:
                name = f"*{container.expr}" if container.expr else "*"
            out.append(
                self._dap_variable(attrs.evolve(container, expr=expr or address_expr(child), variable=child), name)
            )
        return out

    # -- evaluate -------------------------------------------------------------------------------------

    async def evaluate(
        self, expression: str, frame_id: int | None, context: str | None, default_thread: int
    ) -> m.Variable:
        ref = self._frames.get(frame_id) if frame_id is not None else FrameRef(default_thread, 0)
        owner = owner_of(ref.dap_thread_id)
        cfg = CLIPBOARD_CONFIG if context == "clipboard" else REPL_CONFIG if context == "repl" else LISTING_CONFIG
        try:
            goroutine = await self._core.stacks.delve_scope(owner)
            v = await self._core.api.eval(expression, goroutine, ref.index, cfg)
        except BackendError as exc:
            # A failed evaluation pops up only where the user typed it: hovers and watches fail quietly.
            raise backend_error(
                exc, ErrorId.EVALUATE_FAILED, show_user=context == "repl", expression=expression
            ) from None
        result = self._dap_variable(VarContainer(goroutine, owner.lwp, ref.index, expression, v), expression)
        if context == "clipboard" and v.kind == kinds.STRING:
            result = attrs.evolve(result, value=v.value)
        return result
