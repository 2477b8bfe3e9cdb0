"""Backend failures as the errors users read: the one place where a Delve failure gets its error id.

Every front end shows a `GocoreError`; the backends raise their own exceptions (`backends.delve.errors`).
A failure of the whole backend has one id wherever it happens (Delve exited, Delve timed out, Delve
could not load the core); a failed read gets the id of what was being done (`fails_as`), so the
client learns "Unable to read the variables: <Delve's words>".
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from gocore_dap.backends.delve.errors import BackendError, DelveGone, DelveStartError, DelveTimeout
from gocore_dap.errors import ErrorId, GocoreError

__all__ = ["backend_error", "fails_as"]

P = ParamSpec("P")
R = TypeVar("R")


def backend_error(
    exc: BackendError,
    doing: ErrorId = ErrorId.DLV_REQUEST_FAILED,
    *,
    show_user: bool | None = None,
    **variables: object,
) -> GocoreError:
    """The error a user reads for a backend failure that happened while `doing` something; `variables`
    fill the placeholders of `doing`'s format (e.g. the expression of a failed evaluation)."""
    if isinstance(exc, DelveGone):
        return GocoreError(ErrorId.DLV_EXITED, message=str(exc))
    if isinstance(exc, DelveTimeout):
        return GocoreError(ErrorId.DLV_TIMEOUT, message=str(exc))
    if isinstance(exc, DelveStartError):
        return GocoreError(ErrorId.DLV_START_FAILED, message=str(exc))
    return GocoreError(doing, variables, message=str(exc), show_user=show_user)


def fails_as(doing: ErrorId) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorate an async function whose backend failures mean "`doing` failed"."""

    def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await fn(*args, **kwargs)
            except BackendError as exc:
                raise backend_error(exc, doing) from None

        return wrapper

    return decorate
