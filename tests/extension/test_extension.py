"""The VS Code extension's own tests, run with node's test runner on the compiled JavaScript.

- unit: the extension's logic without VS Code (config resolution, ELF core parsing on a real core, adapter
  discovery, the Goroutines tree from a canned `goroutines` body, the adapter proxy, package.json);
- protocol: Microsoft's DebugClient (@vscode/debugadapter-testsupport) against the real gocore-dap on a
  real corpus core, over stdio and TCP.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.extension.support import (
    EXTENSION,
    Core,
    adapter,
    build_extension,
    check_node_result,
    corpus_core,
    run_node_tests,
    strict,
)

# The tests each node suite declares. The wrapper fails when another number ran, so a test that stops being
# registered (or a file that stops being found) does not go unnoticed; adding or removing a test on purpose
# updates its count here.
UNIT_TESTS = {
    "adapterDiscovery": 10,
    "adapterProxy": 4,
    "coreNames": 3,
    "coreSource": 5,
    "crashInfo": 5,
    "elfCore": 10,
    "goroutineTree": 17,
    "launchConfig": 11,
    "manifest": 6,
}
PROTOCOL_TESTS = 8  # 7 over stdio, 1 over TCP

UNIT_SUITES = sorted(p.name.removesuffix(".test.ts") for p in (EXTENSION / "src" / "test" / "unit").glob("*.test.ts"))


@pytest.fixture(scope="session")
def built_extension() -> Path:
    build_extension()
    return EXTENSION / "out"


@pytest.fixture(scope="session")
def classic_core() -> Core | None:
    try:
        return corpus_core("classic")
    except pytest.skip.Exception:
        return None  # the unit suites then skip only the tests that read a real core


def _core_env(core: Core | None) -> dict[str, str]:
    if core is None:
        return {}
    return {"GOCORE_TEST_PROGRAM": str(core.program), "GOCORE_TEST_CORE": str(core.core)}


def test_every_unit_suite_has_an_expected_count() -> None:
    assert sorted(UNIT_TESTS) == UNIT_SUITES


@pytest.mark.parametrize("suite", UNIT_SUITES)
def test_unit(suite: str, built_extension: Path, classic_core: Core | None) -> None:
    if classic_core is None and strict():
        pytest.fail("no corpus core for the extension's unit tests (CI=true)", pytrace=False)
    result = run_node_tests([built_extension / "test" / "unit" / f"{suite}.test.js"], _core_env(classic_core), 120)
    check_node_result(
        result,
        f"extension unit suite {suite}",
        expected_tests=UNIT_TESTS.get(suite, -1),
        inputs_missing="no corpus core could be built" if classic_core is None else None,
    )


@pytest.mark.integration
def test_protocol_debugclient(built_extension: Path) -> None:
    core = corpus_core("classic")
    env = {**_core_env(core), "GOCORE_DAP_PATH": str(adapter())}
    if core.headline:
        env["GOCORE_TEST_HEADLINE"] = core.headline
    result = run_node_tests([built_extension / "test" / "protocol" / "adapter.test.js"], env, 300)
    check_node_result(result, "DebugClient protocol tests", expected_tests=PROTOCOL_TESTS)
