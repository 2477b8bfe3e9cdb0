"""Faults during a session, on real processes: Delve dying or hanging, the editor going away.

Every test drives the real adapter (`.venv/bin/gocore-dap` over stdio) on a real corpus core, with
its own TMPDIR, so that "no temporary file is left" can be checked exactly: the adapter keeps all
of its temporary files (Delve's socket directory, a decompressed core) in one private directory
under TMPDIR, named after its pid, which is removed when it ends.

Waiting is done on events wherever one exists: a DAP message, the adapter's exit (`wait`), a
process's exit (a pidfd becomes readable). Where only a condition can be observed (the adapter
has written its request to a stopped Delve), it is polled with a deadline.

Helpers here are shared with the other fault, bad-input and security tests.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard

from gocore_dap.corpus import CrashArtifact
from tests.conftest import require_tool
from tests.support.corpus_fixtures import corpus_artifact as fixtures_corpus_artifact
from tests.support.dap_client import DapClient
from tests.support.processes import pid_alive, process_table

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

# Error ids of protocol/errors.py, spelled out: a renumbering must fail these tests.
DLV_EXITED = 3002
DLV_TIMEOUT = 3003
SESSION_TERMINATED = 1009
CANCELLED = 1007

INITIALIZE = {
    "clientID": "gocore-dap-fault-tests",
    "adapterID": "go-core",
    "linesStartAt1": True,
    "columnsStartAt1": True,
    "pathFormat": "path",
}


# --- shared helpers ---------------------------------------------------------------------------------


def corpus_artifact(name: str) -> CrashArtifact:
    """A corpus program built with the local Go (cached in .cache/corpus); a build that fails fails the test."""
    return fixtures_corpus_artifact(name)


@pytest.fixture(scope="module")
def classic(dlv_path: Path) -> CrashArtifact:
    return corpus_artifact("classic")


@pytest.fixture(scope="module")
def classic_zst(classic: CrashArtifact, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The classic core compressed as systemd-coredump stores cores (`core.<...>.zst`)."""
    dest = tmp_path_factory.mktemp("zst") / "core.classic.1000.zst"
    compress_zstd(classic.core, dest)
    return dest


def compress_zstd(src: Path, dest: Path) -> Path:
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        zstandard.ZstdCompressor(level=1).copy_stream(fin, fout)
    return dest


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    """A fresh TMPDIR for one adapter: short, so Delve's socket path stays within 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="gdt-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_adapter(tmp: Path, **env: str) -> DapClient:
    return DapClient(env={"TMPDIR": str(tmp), **env})


def launch_core(client: DapClient, program: Path | str, core: Path | str, **launch: Any) -> dict[str, Any]:
    """initialize, launch, configurationDone; the stopped event."""
    return client.start_core(program, core, **launch)


def dlv_tree(pid: int) -> tuple[set[int], set[int]]:
    """The live `dlv` children of `pid`, and every live `dlv` below it (Delve starts a telemetry
    helper, `dlv ** telemetry **`, of its own)."""
    table = process_table()
    children: dict[int, list[int]] = {}
    for child, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(child)
    direct = {c for c in children.get(pid, []) if table[c][1] == "dlv" and table[c][2]}
    below: set[int] = set()
    todo = list(children.get(pid, []))
    while todo:
        current = todo.pop()
        if table[current][1] == "dlv" and table[current][2]:
            below.add(current)
        todo.extend(children.get(current, []))
    return direct, below


def only_dlv(client: DapClient) -> int:
    direct, _ = dlv_tree(client.process.pid)
    assert len(direct) == 1, f"expected one dlv child of the adapter, found {sorted(direct)}"
    return direct.pop()


def all_gone(pids: set[int], timeout: float) -> set[int]:
    """Wait for every pid to end; returns the ones still running at the deadline."""
    deadline = time.monotonic() + timeout
    return {pid for pid in pids if not wait_gone(pid, max(0.0, deadline - time.monotonic()))}


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait for any process (not only a child) to end: a pidfd becomes readable when it exits."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        deadline = time.monotonic() + timeout
        while True:
            readable, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if readable or not pid_alive(pid):
                return True
            if time.monotonic() >= deadline:
                return False
    finally:
        os.close(fd)


def poll_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """For conditions no event announces: check often, give up at a deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting until {what}")
        time.sleep(0.005)


def delve_socket(dlv: int) -> str:
    """The unix socket Delve listens on, from its command line (`--listen=unix:PATH`)."""
    args = Path(f"/proc/{dlv}/cmdline").read_bytes().split(b"\0")
    for arg in args:
        if arg.startswith(b"--listen=unix:"):
            return arg.removeprefix(b"--listen=unix:").decode()
    raise AssertionError(f"dlv {dlv} does not listen on a unix socket: {args}")


def unread_by_delve(socket_path: str) -> int:
    """Bytes waiting in Delve's end of the adapter's connection (`ss` reads the kernel's Recv-Q)."""
    out = subprocess.run(["ss", "-xHa"], capture_output=True, text=True, timeout=10, check=True).stdout
    total = 0
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[4] == socket_path and fields[1] == "ESTAB":
            total += int(fields[2])
    return total


def send_while_delve_is_stopped(client: DapClient, dlv: int, command: str, arguments: dict[str, Any]) -> int:
    """Send a request that needs Delve; return once the adapter has written it to the stopped Delve
    (it sits unread in Delve's socket), so that the request is surely pending in the adapter."""
    require_tool(shutil.which("ss") is not None, "ss (iproute2)")
    socket_path = delve_socket(dlv)
    before = unread_by_delve(socket_path)
    seq = client.send(command, arguments)
    poll_until(lambda: unread_by_delve(socket_path) > before, 10, f"the adapter sent {command} to Delve")
    return seq


def temp_entries(tmp: Path) -> list[str]:
    """Everything under `tmp`, as paths relative to it."""
    return sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))


def adapter_root(tmp: Path, pid: int) -> Path:
    roots = [p for p in tmp.iterdir() if p.name.startswith(f"gocore-dap-{pid}-")]
    assert len(roots) == 1, temp_entries(tmp)
    return roots[0]


def error_id(response: dict[str, Any]) -> int | None:
    error = (response.get("body") or {}).get("error") or {}
    value = error.get("id")
    return value if isinstance(value, int) else None


def crashing_thread(stopped: dict[str, Any]) -> int:
    thread = stopped["body"]["threadId"]
    assert isinstance(thread, int)
    return thread


def evaluate(client: DapClient, expression: str, **kwargs: Any) -> dict[str, Any]:
    return client.request("evaluate", {"expression": expression, "context": "repl", **kwargs}, timeout=30)


def finish(client: DapClient, *, exit_timeout: float = 15.0) -> float:
    """disconnect like an editor, wait for the adapter to exit by itself; returns the time it took."""
    started = time.monotonic()
    response = client.request("disconnect", {"terminateDebuggee": True}, timeout=30)
    assert response["success"], response
    client.process.wait(exit_timeout)
    took = time.monotonic() - started
    client.close()
    client.assert_clean()
    return took


@contextlib.contextmanager
def sigcont_on_exit(pid: int) -> Iterator[None]:
    """A stopped Delve must not outlive a failing test stopped (and so unkillable by SIGTERM)."""
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


# --- Delve dies mid-session -------------------------------------------------------------------------


def test_delve_killed_mid_request_fails_the_pending_request_and_ends_the_session(
    classic: CrashArtifact, private_tmp: Path
) -> None:
    client = start_adapter(private_tmp)
    try:
        stopped = launch_core(client, classic.binary, classic.core, dlvTimeout=60)
        thread = crashing_thread(stopped)
        dlv = only_dlv(client)
        family = dlv_tree(client.process.pid)[1]
        # Stop Delve so that a request is surely pending in the adapter when Delve dies.
        os.kill(dlv, signal.SIGSTOP)
        pending = send_while_delve_is_stopped(client, dlv, "evaluate", {"expression": "1+1", "context": "repl"})
        killed = time.monotonic()
        os.kill(dlv, signal.SIGKILL)

        answer = client.response(pending, timeout=5)
        answered = time.monotonic() - killed
        terminated = client.event("terminated", timeout=5)
        terminated_after = time.monotonic() - killed
        assert not answer["success"] and error_id(answer) == DLV_EXITED, answer
        assert terminated["event"] == "terminated"
        notices = [e["body"]["output"] for e in client.events("output")]
        assert any("killed by SIGKILL" in text and "session is over" in text for text in notices), notices

        # Later requests fail at once, whatever they are.
        for command, arguments in [
            ("threads", None),
            ("stackTrace", {"threadId": thread}),
            ("evaluate", {"expression": "1+1", "context": "repl"}),
        ]:
            started = time.monotonic()
            later = client.request(command, arguments, timeout=5)
            assert not later["success"] and error_id(later) == SESSION_TERMINATED, later
            assert time.monotonic() - started < 1.0
        assert not all_gone(family, 5)
        finish(client)
        print(
            f"\nSIGKILL of Delve -> pending request answered in {answered * 1000:.1f} ms, "
            f"terminated event in {terminated_after * 1000:.1f} ms"
        )
        assert terminated_after < 2.0
    finally:
        client.close()
    assert temp_entries(private_tmp) == []


def test_delve_killed_while_idle_sends_terminated(classic: CrashArtifact, private_tmp: Path) -> None:
    client = start_adapter(private_tmp)
    try:
        launch_core(client, classic.binary, classic.core)
        dlv = only_dlv(client)
        killed = time.monotonic()
        os.kill(dlv, signal.SIGKILL)
        client.event("terminated", timeout=5)
        took = time.monotonic() - killed
        # The editor ends the session as it does on `terminated`: the adapter still exits cleanly.
        finish(client)
        print(f"\nidle Delve SIGKILLed -> terminated in {took * 1000:.1f} ms")
        assert took < 2.0
    finally:
        client.close()
    assert temp_entries(private_tmp) == []


# --- Delve hangs ------------------------------------------------------------------------------------


def test_a_stopped_delve_times_out_and_the_session_goes_on(classic: CrashArtifact, private_tmp: Path) -> None:
    client = start_adapter(private_tmp)
    try:
        stopped = launch_core(client, classic.binary, classic.core, dlvTimeout=2)
        thread = crashing_thread(stopped)
        frames_before = client.ok("stackTrace", {"threadId": thread})["stackFrames"]
        dlv = only_dlv(client)
        with sigcont_on_exit(dlv):
            os.kill(dlv, signal.SIGSTOP)
            started = time.monotonic()
            timed_out = evaluate(client, "1+1")
            took = time.monotonic() - started
            assert not timed_out["success"] and error_id(timed_out) == DLV_TIMEOUT, timed_out
            assert "did not answer" in timed_out["message"] and "dlvTimeout" in timed_out["message"]
            assert 1.9 <= took < 5.0, took
            os.kill(dlv, signal.SIGCONT)

        # Delve now answers the old request first. That late answer must be dropped, not taken
        # as the answer to the next request: 40+2 must be 42, not 2.
        answer = evaluate(client, "40+2")
        assert answer["success"] and answer["body"]["result"] == "42", answer
        answer = evaluate(client, "7*6")
        assert answer["success"] and answer["body"]["result"] == "42", answer
        frames_after = client.ok("stackTrace", {"threadId": thread})["stackFrames"]
        assert [f["name"] for f in frames_after] == [f["name"] for f in frames_before]
        assert not client.events("terminated")
        finish(client)
        print(f"\ndlvTimeout=2 on a stopped Delve -> error after {took:.2f} s")
    finally:
        client.close()
    assert temp_entries(private_tmp) == []


def test_disconnect_does_not_wait_for_a_hung_delve(classic: CrashArtifact, private_tmp: Path) -> None:
    """A request stuck on a hung Delve (with the default 60 s timeout) does not hold up the end."""
    client = start_adapter(private_tmp)
    try:
        launch_core(client, classic.binary, classic.core)
        dlv = only_dlv(client)
        family = dlv_tree(client.process.pid)[1]
        with sigcont_on_exit(dlv):
            os.kill(dlv, signal.SIGSTOP)
            pending = send_while_delve_is_stopped(client, dlv, "evaluate", {"expression": "1+1", "context": "repl"})
            queued = client.send("threads")
            started = time.monotonic()
            ending = client.send("disconnect", {"terminateDebuggee": True})
            first = client.response(pending, timeout=10)
            second = client.response(queued, timeout=10)
            done = client.response(ending, timeout=10)
            took = time.monotonic() - started
            assert not first["success"] and error_id(first) == CANCELLED and first["message"] == "cancelled"
            assert not second["success"] and error_id(second) == CANCELLED
            assert done["success"], done
            client.process.wait(10)
            exited = time.monotonic() - started
        assert not all_gone(family, 5)
        client.close()
        client.assert_clean()
        print(f"\ndisconnect with a hung Delve -> answered in {took:.2f} s, adapter exited after {exited:.2f} s")
        assert exited < 5.0
        # The two requests under way (served concurrently, so answered in either order) before the disconnect.
        order = [m["request_seq"] for m in client.timeline if m.get("type") == "response"]
        assert sorted(order[-3:-1]) == sorted([pending, queued]) and order[-1] == ending
    finally:
        client.close()
    assert temp_entries(private_tmp) == []


# --- the editor goes away ---------------------------------------------------------------------------


def test_stdin_eof_ends_delve_and_removes_temporary_files(
    classic: CrashArtifact, classic_zst: Path, private_tmp: Path
) -> None:
    client = start_adapter(private_tmp)
    try:
        launch_core(client, classic.binary, classic_zst)
        only_dlv(client)
        family = dlv_tree(client.process.pid)[1]
        root = adapter_root(private_tmp, client.process.pid)
        assert any(p.name == "core.classic.1000" for p in root.rglob("*")), temp_entries(private_tmp)
        started = time.monotonic()
        assert client.process.stdin is not None
        client.process.stdin.close()
        client.process.wait(15)
        took = time.monotonic() - started
        assert client.process.returncode == 0, client.stderr_lines
        assert not all_gone(family, 5)
        client.close()
        client.assert_clean()
        print(f"\nstdin EOF -> adapter exited in {took:.2f} s")
    finally:
        client.close()
    assert temp_entries(private_tmp) == []


def test_stdin_eof_while_delve_hangs(classic: CrashArtifact, private_tmp: Path) -> None:
    client = start_adapter(private_tmp)
    try:
        launch_core(client, classic.binary, classic.core)
        dlv = only_dlv(client)
        family = dlv_tree(client.process.pid)[1]
        with sigcont_on_exit(dlv):
            os.kill(dlv, signal.SIGSTOP)
            send_while_delve_is_stopped(client, dlv, "evaluate", {"expression": "1+1", "context": "repl"})
            started = time.monotonic()
            assert client.process.stdin is not None
            client.process.stdin.close()
            client.process.wait(15)
            took = time.monotonic() - started
        assert not all_gone(family, 5)
        client.close()
        client.assert_clean()
        print(f"\nstdin EOF with a hung Delve -> adapter exited in {took:.2f} s")
        assert took < 5.0
    finally:
        client.close()
    assert temp_entries(private_tmp) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_signals_end_delve_and_remove_temporary_files(
    classic: CrashArtifact, classic_zst: Path, private_tmp: Path, sig: signal.Signals
) -> None:
    client = start_adapter(private_tmp)
    try:
        launch_core(client, classic.binary, classic_zst)
        only_dlv(client)
        family = dlv_tree(client.process.pid)[1]
        started = time.monotonic()
        client.process.send_signal(sig)
        client.process.wait(15)
        took = time.monotonic() - started
        assert not all_gone(family, 5)
        client.close()
        client.assert_clean()
        assert not any("Traceback" in line for line in client.stderr_lines), client.stderr_lines
        print(f"\n{sig.name} -> adapter exited (code {client.process.returncode}) in {took:.2f} s")
    finally:
        client.close()
    assert temp_entries(private_tmp) == []


def test_sigkill_of_the_adapter_kills_delve_and_the_next_adapter_cleans_up(
    classic: CrashArtifact, classic_zst: Path, private_tmp: Path
) -> None:
    """No code runs in a SIGKILLed process: Delve ends by PR_SET_PDEATHSIG, and the temporary files
    (here a 40 MB decompressed core) are removed by the next adapter that starts."""
    client = start_adapter(private_tmp)
    try:
        launch_core(client, classic.binary, classic_zst)
        only_dlv(client)
        family = dlv_tree(client.process.pid)[1]
        root = adapter_root(private_tmp, client.process.pid)
        killed = time.monotonic()
        client.process.kill()
        client.process.wait(5)
        assert not all_gone(family, 5), "Delve outlived its SIGKILLed adapter"
        took = time.monotonic() - killed
        client.close()
        client.assert_clean()  # what it sent before it was killed
        assert root.exists() and any(root.rglob("core.classic.1000")), "expected the dead adapter's files"
        print(f"\nadapter SIGKILLed -> Delve gone after {took * 1000:.1f} ms; left behind: {temp_entries(root)}")
    finally:
        client.close()

    # A live adapter's directory is never touched: start one, then the cleaning one.
    bystander = start_adapter(private_tmp)
    try:
        bystander.ok("initialize", INITIALIZE)
        live_root = adapter_root(private_tmp, bystander.process.pid)
        cleaner = start_adapter(private_tmp)
        try:
            cleaner.ok("initialize", INITIALIZE)
            assert not root.exists(), temp_entries(private_tmp)
            assert live_root.exists()
            finish(cleaner)
        finally:
            cleaner.close()
        finish(bystander)
    finally:
        bystander.close()
    assert temp_entries(private_tmp) == []


# --- compressed cores -------------------------------------------------------------------------------


def test_a_compressed_core_opens_like_the_plain_one(
    classic: CrashArtifact, classic_zst: Path, private_tmp: Path
) -> None:
    plain = start_adapter(private_tmp)
    try:
        expected = launch_core(plain, classic.binary, classic.core)["body"]
        finish(plain)
    finally:
        plain.close()

    client = start_adapter(private_tmp)
    try:
        started = time.monotonic()
        stopped = launch_core(client, classic.binary, classic_zst)
        took = time.monotonic() - started
        assert stopped["body"]["description"] == expected["description"]
        assert stopped["body"]["threadId"] == expected["threadId"]
        root = adapter_root(private_tmp, client.process.pid)
        decompressed = list(root.rglob("core.classic.1000"))
        assert len(decompressed) == 1 and decompressed[0].stat().st_size == classic.core.stat().st_size
        assert stat_mode(decompressed[0].parent) == 0o700
        finish(client)
        print(
            f"\n.zst core ({classic_zst.stat().st_size >> 20} MiB -> {classic.core.stat().st_size >> 20} MiB) "
            f"opened in {took:.2f} s"
        )
    finally:
        client.close()
    assert temp_entries(private_tmp) == []


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_long_tmpdir_does_not_break_delves_socket(classic: CrashArtifact, private_tmp: Path) -> None:
    """A unix socket path holds at most 108 bytes; a deep TMPDIR must not stop Delve from starting."""
    deep = private_tmp / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    client = start_adapter(deep)
    try:
        launch_core(client, classic.binary, classic.core)
        # This Delve's own socket (other adapters on the machine make socket directories in /tmp too).
        socket = Path(delve_socket(only_dlv(client)))
        assert len(str(socket).encode()) < 108 and not socket.is_relative_to(deep), socket
        finish(client)
    finally:
        client.close()
    assert temp_entries(deep) == []
    assert not socket.parent.exists(), f"the socket directory outside TMPDIR was left behind: {socket.parent}"


def _big_compressed_core(dest: Path, size: int) -> Path:
    """A zstd file that decompresses to `size` bytes slowly enough to be interrupted (a repeated
    random block: tiny on disk, real bytes to write). Not a core: preflight refuses it afterwards."""
    block = os.urandom(64 << 10)
    with open(dest, "wb") as fout, zstandard.ZstdCompressor(level=1).stream_writer(fout) as writer:
        for _ in range(size // len(block)):
            writer.write(block)
    return dest


def test_ending_the_session_while_a_large_core_decompresses(
    classic: CrashArtifact, private_tmp: Path, tmp_path: Path
) -> None:
    """The editor gives up while a big .zst core is being decompressed: the adapter must stop
    (the launch is cancelled), remove the partial file, and exit."""

    big = _big_compressed_core(tmp_path / "core.big.zst", 1536 << 20)
    client = start_adapter(private_tmp)
    try:
        client.ok("initialize", INITIALIZE)
        launch = client.send("launch", {"program": str(classic.binary), "coreFilePath": str(big)})
        poll_until(lambda: any(private_tmp.rglob("core.big")), 30, "decompression started")
        started = time.monotonic()
        ending = client.send("disconnect", {"terminateDebuggee": True})
        first = client.response(launch, timeout=60)
        client.response(ending, timeout=60)
        answered = time.monotonic() - started
        client.process.wait(15)
        exited = time.monotonic() - started
        client.close()
        client.assert_clean()
    finally:
        client.close()
    assert temp_entries(private_tmp) == []
    print(
        f"\ndisconnect during decompression -> answered in {answered:.2f} s, exited after {exited:.2f} s "
        f"(launch: {first.get('message', '')[:60]!r})"
    )
    assert not first["success"] and error_id(first) == CANCELLED
    assert answered < 1.0
