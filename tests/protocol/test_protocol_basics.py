"""The adapter as a DAP server, without a core (and, for its ending, with one): capabilities, requests out of
order, bad launch configurations, unknown commands, broken frames, a clean stdout, and ending on EOF or a
signal. Every message the adapter sends is checked against the DAP schema by `DapClient` as it arrives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.corpus_fixtures import CorpusCase
from tests.support.dap_client import DapClient
from tests.support.dap_schema import validate_definition
from tests.support.processes import dlv_descendants, pid_alive

INITIALIZE = {
    "clientID": "gocore-dap-tests",
    "clientName": "protocol tests",
    "adapterID": "go-core",
    "linesStartAt1": True,
    "columnsStartAt1": True,
    "pathFormat": "path",
    "supportsVariableType": True,
    "supportsVariablePaging": True,
    "supportsMemoryReferences": True,
}


def assert_clean_error(response: dict[str, Any], *, mentions: tuple[str, ...] = ()) -> str:
    """An error response a user can read: success false, a message, an error id, no Python internals."""
    assert response.get("success") is False, response
    message = response.get("message") or ""
    assert message, response
    for internal in ("Traceback", 'File "', "NameError", "AttributeError", "KeyError", "TypeError"):
        assert internal not in message, message
    error = (response.get("body") or {}).get("error") or {}
    assert isinstance(error.get("id"), int) and error.get("format"), response
    for word in mentions:
        assert word in message, (word, message)
    return message


def wait_exit(client: DapClient, timeout: float) -> int | None:
    try:
        return client.process.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


# --- initialize --------------------------------------------------------------------------------------------


def test_initialize_answers_truthful_capabilities(adapter: DapClient) -> None:
    capabilities = adapter.ok("initialize", INITIALIZE)
    validate_definition("Capabilities", capabilities)
    # What a core can do is advertised...
    for name in (
        "supportsConfigurationDoneRequest",
        "supportsExceptionInfoRequest",
        "supportsEvaluateForHovers",
        "supportsDisassembleRequest",
        "supportsReadMemoryRequest",
        "supportsClipboardContext",
        "supportsTerminateRequest",
        "supportsDelayedStackTraceLoading",
    ):
        assert capabilities.get(name) is True, name
    # ... and nothing that would run or change the program is.
    for name in (
        "supportsSetVariable",
        "supportsSetExpression",
        "supportsStepBack",
        "supportsRestartFrame",
        "supportsRestartRequest",
        "supportsGotoTargetsRequest",
        "supportsStepInTargetsRequest",
        "supportsDataBreakpoints",
        "supportsInstructionBreakpoints",
        "supportsConditionalBreakpoints",
        "supportsFunctionBreakpoints",
        "supportsLogPoints",
        "supportsWriteMemoryRequest",
    ):
        assert not capabilities.get(name), name
    adapter.assert_clean()


def test_a_second_initialize_is_harmless(adapter: DapClient) -> None:
    first = adapter.ok("initialize", INITIALIZE)
    again = adapter.request("initialize", INITIALIZE)
    if again.get("success"):
        assert again.get("body") == first  # the same capabilities, nothing reset
    else:
        assert_clean_error(again)
        assert again["body"]["error"]["id"] != 5000, again  # refused on purpose, not an internal error
    assert adapter.request("threads")["command"] == "threads"  # still serving
    adapter.assert_clean()


# --- before launch -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        ("threads", None),
        ("stackTrace", {"threadId": 1}),
        ("scopes", {"frameId": 1}),
        ("variables", {"variablesReference": 1}),
        ("evaluate", {"expression": "x", "context": "repl"}),
        ("exceptionInfo", {"threadId": 1}),
        ("disassemble", {"memoryReference": "0x401000", "instructionCount": 4}),
        ("readMemory", {"memoryReference": "0x401000", "count": 8}),
        ("configurationDone", None),
    ],
)
def test_requests_before_launch_fail_cleanly(
    adapter: DapClient, command: str, arguments: dict[str, Any] | None
) -> None:
    adapter.ok("initialize", INITIALIZE)
    message = assert_clean_error(adapter.request(command, arguments))
    assert "launch" in message, message
    # Still serving.
    assert adapter.request("threads")["command"] == "threads"
    adapter.assert_clean()


def test_launch_before_initialize_fails_cleanly(adapter: DapClient, tmp_path: Path) -> None:
    message = assert_clean_error(
        adapter.request("launch", {"program": str(tmp_path / "p"), "coreFilePath": str(tmp_path / "c")})
    )
    assert "initialize" in message, message
    adapter.assert_clean()


# --- bad launch configurations ---------------------------------------------------------------------------


def _launch(adapter: DapClient, **arguments: Any) -> dict[str, Any]:
    adapter.ok("initialize", INITIALIZE)
    return adapter.request("launch", arguments, timeout=60)


def test_launch_with_a_missing_program(adapter: DapClient, tmp_path: Path) -> None:
    core = tmp_path / "core"
    core.write_bytes(b"\x7fELF" + b"\0" * 60)
    program = tmp_path / "no-such-program"
    message = assert_clean_error(_launch(adapter, program=str(program), coreFilePath=str(core)))
    assert str(program) in message and "does not exist" in message, message
    assert not adapter.events("initialized") and not adapter.events("stopped")
    adapter.assert_clean()


def test_launch_with_a_missing_core(adapter: DapClient, tmp_path: Path) -> None:
    program = Path(os.__file__)  # any existing file: the core is checked too, and named
    core = tmp_path / "core.4242"
    message = assert_clean_error(_launch(adapter, program=str(program), coreFilePath=str(core)))
    assert str(core) in message and "does not exist" in message, message
    adapter.assert_clean()


def test_launch_with_text_files(adapter: DapClient, tmp_path: Path) -> None:
    program, core = tmp_path / "server", tmp_path / "core"
    program.write_text("#!/bin/sh\necho not go\n")
    core.write_text("not a core dump\n")
    message = assert_clean_error(_launch(adapter, program=str(program), coreFilePath=str(core)))
    assert "ELF" in message or "core" in message, message
    # The session is still usable: a second launch is answered (and fails the same clean way).
    message = assert_clean_error(adapter.request("launch", {"program": str(program), "coreFilePath": str(core)}))
    adapter.assert_clean()


@pytest.mark.parametrize("missing", ["program", "coreFilePath"])
def test_launch_without_a_required_argument(adapter: DapClient, tmp_path: Path, missing: str) -> None:
    arguments = {"program": str(tmp_path / "p"), "coreFilePath": str(tmp_path / "c")}
    del arguments[missing]
    assert_clean_error(_launch(adapter, **arguments), mentions=(missing,))
    adapter.assert_clean()


def test_launch_with_a_wrongly_typed_argument(adapter: DapClient, tmp_path: Path) -> None:
    response = _launch(adapter, program=str(tmp_path / "p"), coreFilePath=str(tmp_path / "c"), stackTraceDepth="deep")
    assert_clean_error(response, mentions=("stackTraceDepth",))
    adapter.assert_clean()


def test_attach_is_refused_with_a_reason(adapter: DapClient) -> None:
    adapter.ok("initialize", INITIALIZE)
    assert_clean_error(adapter.request("attach", {"processId": 1}), mentions=("launch",))
    adapter.assert_clean()


# --- unknown commands and broken frames -----------------------------------------------------------------


def test_unknown_commands_get_error_responses(adapter: DapClient) -> None:
    adapter.ok("initialize", INITIALIZE)
    response = adapter.request("frobnicate", {"x": 1})
    assert_clean_error(response, mentions=("frobnicate",))
    assert response["command"] == "frobnicate"
    assert adapter.request("threads")["command"] == "threads"  # still serving
    adapter.assert_clean()


def _frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_invalid_json_with_an_identifiable_request_gets_an_error_response(adapter: DapClient) -> None:
    adapter.ok("initialize", INITIALIZE)
    adapter.send_raw(_frame(b'{"seq": 41, "type": "request", "command": "evaluate", "arguments": {"expression": "x}'))
    response = adapter.wait_for(lambda m: m.get("type") == "response" and m.get("request_seq") == 41, 10)
    assert response["command"] == "evaluate"
    assert_clean_error(response, mentions=("JSON",))
    assert adapter.request("threads")["command"] == "threads"  # still serving
    adapter.assert_clean()


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(_frame(b"[1, 2, 3]"), id="json-array"),
        pytest.param(_frame(b"\xff\xfe not utf-8"), id="not-utf8"),
        pytest.param(b"Hello: there\r\n\r\n", id="no-content-length"),
        pytest.param(b"Content-Length: abc\r\n\r\n", id="bad-content-length"),
        pytest.param(_frame(b'{"type": "request", "command": "threads"}'), id="request-without-seq"),
        pytest.param(_frame(b'{"seq": 5, "type": "event", "event": "stopped"}'), id="event-from-client"),
    ],
)
def test_unidentifiable_messages_do_not_stop_the_adapter(adapter: DapClient, garbage: bytes) -> None:
    adapter.ok("initialize", INITIALIZE)
    adapter.send_raw(garbage)
    # Whatever it says about the garbage (an output event, or nothing), the next request is answered.
    response = adapter.request("threads", timeout=10)
    assert response["command"] == "threads"
    stray = [
        m
        for m in adapter.timeline
        if m.get("type") == "response" and m.get("request_seq") not in {r["seq"] for r in adapter.sent}
    ]
    assert not stray, f"responses to requests nobody sent: {stray}"
    adapter.assert_clean()


def test_request_split_across_writes_and_two_in_one_write(adapter: DapClient) -> None:
    body = json.dumps({"seq": 1, "type": "request", "command": "initialize", "arguments": INITIALIZE}).encode()
    framed = _frame(body)
    for piece in (framed[:7], framed[7:30], framed[30:]):
        adapter.send_raw(piece)
        time.sleep(0.05)
    assert adapter.wait_for(lambda m: m.get("request_seq") == 1, 10)["success"]
    both = _frame(b'{"seq": 2, "type": "request", "command": "threads"}') + _frame(
        b'{"seq": 3, "type": "request", "command": "frobnicate"}'
    )
    adapter.send_raw(both)
    second = adapter.wait_for(lambda m: m.get("request_seq") == 2, 10)
    third = adapter.wait_for(lambda m: m.get("request_seq") == 3, 10)
    assert second["command"] == "threads" and third["command"] == "frobnicate"
    # Requests are served concurrently (server.connection): each answered once, in any order.
    answers = [m["request_seq"] for m in adapter.timeline if m.get("type") == "response"]
    assert sorted(answers) == [1, 2, 3]
    adapter.assert_clean()


def test_stdout_carries_nothing_but_dap(tmp_path: Path) -> None:
    """Warnings, logging and errors of every kind go to stderr; stdout stays a clean DAP stream."""
    client = DapClient(env={"PYTHONWARNINGS": "always", "GOCORE_DAP_LOG": ""})
    try:
        client.ok("initialize", INITIALIZE)
        client.request("launch", {"program": str(tmp_path / "p"), "coreFilePath": str(tmp_path / "c")})
        client.request("frobnicate")
        client.send_raw(_frame(b'{"seq": 99, "type": "request", "command": "threads", '))
        client.request("threads")
    finally:
        code = client.close()
    client.assert_clean()  # a stray byte on stdout would be a violation
    assert code == 0, client.stderr_lines[-20:]


# --- ending ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("initialized", [False, True], ids=["fresh", "initialized"])
def test_eof_on_stdin_ends_the_adapter_promptly(initialized: bool) -> None:
    client = DapClient()
    try:
        if initialized:
            client.ok("initialize", INITIALIZE)
        assert client.process.stdin is not None
        started = time.monotonic()
        client.process.stdin.close()
        code = wait_exit(client, 5)
        assert code is not None, "the adapter still runs 5 s after its stdin closed"
        assert code == 0, client.stderr_lines[-20:]
        assert time.monotonic() - started < 5
    finally:
        if client.process.poll() is None:
            client.process.kill()
            client.process.wait()
    client.assert_clean()


@pytest.mark.integration
@pytest.mark.parametrize("ending", ["eof", "sigterm", "sigkill"])
def test_the_adapter_ending_ends_delve(classic: CorpusCase, ending: str) -> None:
    client = DapClient()
    try:
        client.start_core(classic.artifact.binary, classic.artifact.core)
        delve = dlv_descendants(client.process.pid)
        assert delve, "no dlv below the adapter"
        if ending == "eof":
            assert client.process.stdin is not None
            client.process.stdin.close()
        else:
            client.process.send_signal(signal.SIGTERM if ending == "sigterm" else signal.SIGKILL)
        code = wait_exit(client, 10)
        assert code is not None, f"the adapter still runs 10 s after {ending}"
        if ending != "sigkill":
            assert code == 0 or code == -signal.SIGTERM, (code, client.stderr_lines[-20:])
        deadline = time.monotonic() + 5
        while any(pid_alive(pid) for pid in delve) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(pid_alive(pid) for pid in delve), f"dlv {delve} outlived the adapter ({ending})"
    finally:
        if client.process.poll() is None:
            client.process.kill()
            client.process.wait()
    client.assert_clean()
