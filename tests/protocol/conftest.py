"""Fixtures of the protocol tests: the real adapter over stdio, and (for the tests that need a loaded core)
the `classic` corpus core built with the local Go."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.support.corpus_fixtures import CorpusCache, CorpusCase, CorpusUnavailable
from tests.support.dap_client import DapClient
from tests.support.go_extensions_schema import validate_go_extension


@pytest.fixture
def adapter() -> Iterator[DapClient]:
    """A fresh adapter process, ended after the test as an editor ends it (disconnect, EOF).

    The teardown fails the test if the adapter had to be killed (it did not exit after disconnect and
    EOF), and if any message it sent broke the DAP schema (go-extensions.json for the custom requests)
    or the seq order, whether or not the test itself looked."""
    client = DapClient(validate=validate_go_extension)
    yield client
    client.close(timeout=10)  # raises AssertionError when the adapter had to be killed
    client.assert_clean()


@pytest.fixture(scope="session")
def classic(dlv_path: Path) -> CorpusCase:
    try:
        return CorpusCache().get("classic", None)
    except CorpusUnavailable as exc:
        require_tool(False, str(exc))
        raise  # not reached: require_tool skips or fails
