"""Fixtures of the protocol tests: the real adapter over stdio, and (for the tests that need a loaded core)
the `classic` corpus core built with the local Go."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.support.corpus_fixtures import CorpusCache, CorpusCase, CorpusUnavailable
from tests.support.dap_client import DapClient


@pytest.fixture
def adapter() -> Iterator[DapClient]:
    """A fresh adapter process; ended (disconnect, EOF, kill if it must) after the test."""
    client = DapClient()
    yield client
    with contextlib.suppress(AssertionError):
        client.close(timeout=10)


@pytest.fixture(scope="session")
def classic(dlv_path: Path) -> CorpusCase:
    try:
        return CorpusCache().get("classic", None)
    except CorpusUnavailable as exc:
        require_tool(False, str(exc))
        raise  # not reached: require_tool skips or fails
