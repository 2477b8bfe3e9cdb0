"""The rules that keep a run from passing without testing: CI=true turns skips into failures, and the node
wrappers fail on a skipped, todo or missing node test. Checked on canned inputs, so that a change to the
rules themselves cannot make them silently lenient."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.extension.support import NodeResult, check_node_result, parse_tap

# --- CI=true: no pass by skipping ----------------------------------------------------------------------

SKIPPING_TESTS = """
import pytest
from tests.conftest import require_tool, skip_reviewed

def test_plain():
    pytest.skip("plain")

@pytest.mark.skipif(True, reason="a condition")
def test_skipif():
    pass

@pytest.mark.parametrize("x", [])
def test_no_parameters(x):
    pass

@pytest.fixture
def skipping_fixture():
    pytest.skip("in a fixture")

def test_fixture(skipping_fixture):
    pass

def test_missing_tool():
    require_tool(False, "a tool")

def test_reviewed():
    skip_reviewed("the machine has no such thing")

def test_passes():
    pass
"""


def outcomes(tmp_path: Path, *, ci: bool) -> dict[str, str]:
    """Run the tests above with the rules of tests/conftest.py; test name -> PASSED, SKIPPED, FAILED, ERROR."""
    module = tmp_path / "test_skipping.py"
    module.write_text(SKIPPING_TESTS)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": "true"} if ci else {})
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-q", "-rA",
         "--rootdir", str(tmp_path), str(module)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    found: dict[str, str] = {}
    for line in done.stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED", "ERROR"):
            found[rest.split("::")[1].split(" ")[0].split("[")[0]] = word
        elif word == "SKIPPED":  # "SKIPPED [1] path:line: reason"
            found[rest.split(": ", 1)[1]] = word
    assert found, done.stdout + done.stderr
    return found


def test_under_ci_every_skip_but_a_reviewed_one_fails(tmp_path: Path) -> None:
    found = outcomes(tmp_path, ci=True)
    for name in ("test_plain", "test_missing_tool"):
        assert found.get(name) == "FAILED", found
    for name in ("test_skipif", "test_no_parameters", "test_fixture"):  # skipped before the test ran
        assert found.get(name) == "ERROR", found
    assert found.get("test_passes") == "PASSED", found
    assert [reason for reason, word in found.items() if word == "SKIPPED"] == [
        "reviewed skip: the machine has no such thing"
    ], found


def test_locally_skips_stay_skips(tmp_path: Path) -> None:
    found = outcomes(tmp_path, ci=False)
    assert "FAILED" not in found.values() and "ERROR" not in found.values(), found
    assert list(found.values()).count("SKIPPED") == 6, found


# --- node's TAP output --------------------------------------------------------------------------------

TAP_PASSING = """TAP version 13
# Subtest: a suite
    # Subtest: first
    ok 1 - first
    # Subtest: second \\# with a hash
    ok 2 - second \\# with a hash
    1..2
ok 1 - a suite
# Subtest: alone
ok 2 - alone
1..2
# tests 3
# suites 1
# pass 3
# fail 0
# cancelled 0
# skipped 0
# todo 0
"""


def node_result(tap: str, returncode: int = 0) -> NodeResult:
    counts = {line.split()[1]: int(line.split()[2]) for line in tap.splitlines() if line.startswith("# ")
              and len(line.split()) == 3 and line.split()[2].isdigit()}  # fmt: skip
    return NodeResult(returncode, tap, parse_tap(tap), counts)


def test_tap_results_tell_tests_from_suites() -> None:
    results = parse_tap(TAP_PASSING)
    assert [(r.name, r.depth, r.leaf, r.ok) for r in results] == [
        ("first", 1, True, True),
        ("second # with a hash", 1, True, True),
        ("a suite", 0, False, True),
        ("alone", 0, True, True),
    ]


def test_all_expected_tests_passed() -> None:
    check_node_result(node_result(TAP_PASSING), "suite", expected_tests=3)


def test_a_test_that_did_not_run_fails_the_count() -> None:
    with pytest.raises(pytest.fail.Exception, match="3 node tests ran, 4 expected"):
        check_node_result(node_result(TAP_PASSING), "suite", expected_tests=4)


@pytest.mark.parametrize(
    "line",
    ["    ok 2 - second # SKIP no core", "    ok 2 - second # TODO later", "ok 2 - second # skip lower case"],
)
def test_a_skipped_or_todo_test_fails(line: str) -> None:
    tap = TAP_PASSING.replace("    ok 2 - second \\# with a hash", line)
    with pytest.raises(pytest.fail.Exception, match="skipped although their inputs were given"):
        check_node_result(node_result(tap), "suite", expected_tests=3)


def test_a_skipped_suite_fails_though_node_counts_it_nowhere() -> None:
    tap = "TAP version 13\nok 1 - a suite # SKIP no adapter\n1..1\n# tests 0\n# suites 1\n# pass 0\n# skipped 0\n"
    with pytest.raises(pytest.fail.Exception, match="skipped although"):
        check_node_result(node_result(tap), "suite", expected_tests=0)


def test_a_failure_fails() -> None:
    tap = TAP_PASSING.replace("    ok 1 - first", "    not ok 1 - first").replace("# fail 0", "# fail 1")
    with pytest.raises(pytest.fail.Exception, match="NOT OK first"):
        check_node_result(node_result(tap, returncode=1), "suite", expected_tests=3)


def test_skips_by_design_must_be_exactly_those() -> None:
    tap = TAP_PASSING.replace("ok 2 - alone", "ok 2 - alone # SKIP other mode")
    check_node_result(node_result(tap), "suite", expected_tests=2, skipped_by_design=frozenset({"alone"}))
    with pytest.raises(pytest.fail.Exception, match="to be skipped by design"):
        check_node_result(node_result(TAP_PASSING), "suite", expected_tests=3, skipped_by_design=frozenset({"alone"}))


def test_a_missing_input_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    tap = TAP_PASSING.replace("ok 2 - alone", "ok 2 - alone # SKIP no corpus core")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        check_node_result(node_result(tap), "suite", expected_tests=3, inputs_missing="no core")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        check_node_result(node_result(tap), "suite", expected_tests=3, inputs_missing="no core")
