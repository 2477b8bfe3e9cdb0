"""Exceptions raised by the Delve backend."""

from __future__ import annotations


class BackendError(Exception):
    """Base class: something went wrong talking to Delve."""


class DelveRpcError(BackendError):
    """Delve answered a request with an error string."""


class DelveGone(BackendError):
    """The Delve process exited or its connection closed; no further request can succeed."""


class DelveTimeout(BackendError):
    """Delve did not answer within the configured time; the session can go on."""


class DelveStartError(BackendError):
    """Delve could not load the executable and core (its own words are in the message)."""


class DelveUnavailable(BackendError):
    """No Delve can be run for this core: none found, the install failed, or no release reads its Go version.
    The message says why and what to do."""
