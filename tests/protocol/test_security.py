"""Security: who can reach Delve and the adapter, and that launch paths never meet a shell.

- Delve listens only on a unix socket in a directory only the user can open (0700, owned by the
  user), and opens no TCP port (its socket inodes are looked up in /proc/net/tcp{,6}).
- The adapter's TCP mode binds loopback unless told otherwise, says where it listens on stderr, and
  warns when the address is reachable from other machines.
- Paths from launch.json go to Delve as single arguments of an exec, never through a shell: a core
  named `$(touch ...)`, with quotes, spaces, or a leading dash opens (or fails cleanly) and runs
  nothing.
- In TCP mode every connection is its own session with its own Delve, ended with its client.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gocore_dap.corpus import CrashArtifact
from tests.conftest import skip_reviewed
from tests.integration.test_faults import (
    INITIALIZE,
    all_gone,
    corpus_artifact,
    dlv_tree,
    error_id,
    finish,
    only_dlv,
    start_adapter,
    temp_entries,
    wait_gone,
)
from tests.support.dap_client import DapClient, adapter_command
from tests.support.go_extensions_schema import validate_go_extension
from tests.support.tcp_dap import TcpDapClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

DLV_NOT_FOUND = 3000
FILE_NOT_FOUND = 2001


@pytest.fixture(scope="module")
def classic(dlv_path: Path) -> CrashArtifact:
    return corpus_artifact("classic")


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="gdt-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


# --- what a process listens on ----------------------------------------------------------------------


def socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def inet_sockets(pid: int) -> list[tuple[str, str, int, str]]:
    """(table, local address, port, state) of every TCP/UDP socket `pid` holds."""
    mine = socket_inodes(pid)
    found: list[tuple[str, str, int, str]] = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        with contextlib.suppress(OSError):
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
            for line in lines:
                fields = line.split()
                if int(fields[9]) in mine:
                    address, port = fields[1].split(":")
                    found.append((table, _address(address), int(port, 16), fields[3]))
    return found


def _address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return ".".join(str(b) for b in reversed(raw))
    # IPv6 in /proc is four little-endian 32-bit words.
    words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
    import ipaddress

    return str(ipaddress.IPv6Address(b"".join(words)))


def test_delve_listens_only_on_a_private_unix_socket(classic: CrashArtifact, private_tmp: Path) -> None:
    client = start_adapter(private_tmp)
    try:
        client.start_core(classic.binary, classic.core)
        dlv = only_dlv(client)
        args = Path(f"/proc/{dlv}/cmdline").read_bytes().split(b"\0")
        listen = [a.decode() for a in args if a.startswith(b"--listen=")]
        assert len(listen) == 1 and listen[0].startswith("--listen=unix:"), args
        socket_path = Path(listen[0].removeprefix("--listen=unix:"))
        # Delve stops listening once the adapter is connected (Go removes the socket file with
        # the listener): nobody, not even this user, can connect a second client.
        with (
            pytest.raises((FileNotFoundError, ConnectionRefusedError)),
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe,
        ):
            probe.connect(str(socket_path))
        for directory in (socket_path.parent, socket_path.parent.parent):
            info = directory.stat()
            assert stat.S_IMODE(info.st_mode) == 0o700, (directory, oct(info.st_mode))
            assert info.st_uid == os.getuid(), directory
        for pid in dlv_tree(client.process.pid)[1]:  # Delve and its telemetry helper
            assert inet_sockets(pid) == [], f"dlv {pid} opened a TCP/UDP socket"
        assert inet_sockets(client.process.pid) == [], "the stdio adapter opened a TCP/UDP socket"
        finish(client)
    finally:
        client.close()


# --- the adapter's TCP mode -----------------------------------------------------------------------


class TcpAdapter:
    """`gocore-dap --listen ADDRESS`, its stderr read as it comes."""

    def __init__(self, listen: str, tmp: Path) -> None:
        self.process = subprocess.Popen(
            [*adapter_command(), "--listen", listen],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "TMPDIR": str(tmp)},
        )
        self.lines: list[str] = []
        self._announced = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self.lines.append(raw.decode("utf-8", "replace").rstrip())
            if "listening" in self.lines[-1]:
                self._announced.set()
        self._announced.set()

    def announcement(self, timeout: float = 10) -> str:
        assert self._announced.wait(timeout), "the adapter did not say where it listens"
        found = [line for line in self.lines if "listening" in line]
        assert found, self.lines
        return found[0]

    def address(self) -> tuple[str, int]:
        match = re.search(r"on (\[[^\]]+\]|[^\s:]+):(\d+)", self.announcement())
        assert match, self.lines
        return match.group(1).strip("[]"), int(match.group(2))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError("the TCP adapter did not end on SIGTERM") from None
        assert self.process.stdout is not None
        assert self.process.stdout.read() == b"", "the TCP adapter wrote to stdout"
        return self.process.returncode


@pytest.mark.parametrize(
    ("listen", "host"),
    [("127.0.0.1:0", "127.0.0.1"), ("0", "127.0.0.1"), (":0", "127.0.0.1"), ("[::1]:0", "::1")],
)
def test_tcp_mode_binds_loopback_and_says_so(listen: str, host: str, private_tmp: Path) -> None:
    if host == "::1" and not Path("/proc/net/if_inet6").exists():
        skip_reviewed("this machine has no IPv6 (no /proc/net/if_inet6): there is no ::1 to bind")
    adapter = TcpAdapter(listen, private_tmp)
    try:
        line = adapter.announcement()
        assert "loopback only" in line and "WARNING" not in line, line
        bound_host, port = adapter.address()
        assert bound_host == host and port > 0
        listening = [s for s in inet_sockets(adapter.process.pid) if s[3] == "0A"]  # TCP_LISTEN
        assert [(addr, p) for _, addr, p, _ in listening] == [(host, port)], listening
    finally:
        assert adapter.stop() == 0
    assert temp_entries(private_tmp) == []


def test_tcp_mode_warns_when_reachable_from_other_machines(private_tmp: Path) -> None:
    adapter = TcpAdapter("0.0.0.0:0", private_tmp)
    try:
        line = adapter.announcement()
        assert "WARNING" in line and "reachable from other machines" in line and "127.0.0.1" in line, line
    finally:
        adapter.stop()


@pytest.mark.parametrize("listen", ["nonsense", "127.0.0.1:99999", "host:port"])
def test_a_bad_listen_address_is_refused(listen: str) -> None:
    done = subprocess.run([*adapter_command(), "--listen", listen], capture_output=True, text=True, timeout=20)
    assert done.returncode == 2, done
    assert "--listen" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.stdout == ""


def _cmdline(pid: int) -> list[str]:
    return [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]


def _tcp_client(address: tuple[str, int]) -> TcpDapClient:
    """A client of the TCP mode that checks every message it receives (see `assert_clean`)."""
    return TcpDapClient(*address, validate=validate_go_extension)


def _start(client: TcpDapClient, artifact: CrashArtifact) -> dict[str, Any]:
    client.ok("initialize", INITIALIZE)
    client.ok("launch", {"program": str(artifact.binary), "coreFilePath": str(artifact.core)}, timeout=60)
    client.event("initialized")
    client.ok("configurationDone")
    return client.event("stopped", timeout=60)


def test_tcp_connections_are_independent_sessions(classic: CrashArtifact, private_tmp: Path) -> None:
    other = corpus_artifact("nil_deref")
    adapter = TcpAdapter("127.0.0.1:0", private_tmp)
    try:
        address = adapter.address()
        first, second = _tcp_client(address), _tcp_client(address)
        try:
            one = _start(first, classic)["body"]
            two = _start(second, other)["body"]
            # Each session stops on its own crash (the description is only a badge: both are panics).
            assert one["text"] != two["text"]
            delves = dlv_tree(adapter.process.pid)[0]
            assert len(delves) == 2, delves
            family = dlv_tree(adapter.process.pid)[1]
            (of_first,) = [pid for pid in delves if str(classic.core.resolve()) in _cmdline(pid)]

            # The first client leaves: only its Delve ends; the second session goes on.
            first.ok("disconnect", {"terminateDebuggee": True})
            first.close()
            assert wait_gone(of_first, 10)
            assert dlv_tree(adapter.process.pid)[0] == delves - {of_first}
            frames = second.ok("stackTrace", {"threadId": two["threadId"]})["stackFrames"]
            assert frames, "the second session stopped working when the first ended"

            # The second client vanishes without a disconnect (an editor that crashed).
            second.close()
            assert not all_gone(family, 10), "a Delve outlived its TCP client"
            first.assert_clean()
            second.assert_clean()
        finally:
            first.close()
            second.close()
    finally:
        assert adapter.stop() == 0
    assert temp_entries(private_tmp) == []


def test_stopping_the_tcp_adapter_ends_every_session(classic: CrashArtifact, private_tmp: Path) -> None:
    adapter = TcpAdapter("127.0.0.1:0", private_tmp)
    try:
        address = adapter.address()
        clients = [_tcp_client(address) for _ in range(2)]
        for client in clients:
            _start(client, classic)
        family = dlv_tree(adapter.process.pid)[1]
        assert len(dlv_tree(adapter.process.pid)[0]) == 2
        assert adapter.stop() == 0
        assert not all_gone(family, 10)
        for client in clients:
            client.close()
            client.assert_clean()
    finally:
        adapter.stop()
    assert temp_entries(private_tmp) == []


# --- paths never meet a shell -----------------------------------------------------------------------

HOSTILE_NAMES = [
    "core $(touch {marker})",
    "core `touch {marker}`",
    "core; touch {marker}",
    "core with spaces",
    "core \"double\" 'single'",
    "-core-leading-dash",
    "--headless=false",
    "core\nnewline",
    "cœur-ünïcode",
]


@pytest.fixture(scope="module")
def hostile_dir(classic: CrashArtifact, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One copy of the classic core and binary, to be linked under hostile names."""
    root = tmp_path_factory.mktemp("hostile")
    core, binary = root / "core", root / "binary"
    shutil.copyfile(classic.core, core)
    shutil.copy2(classic.binary, binary)
    return core, binary


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_paths_are_opened_never_run(name: str, hostile_dir: tuple[Path, Path], private_tmp: Path) -> None:
    core, binary = hostile_dir
    # A file name cannot hold "/": the command would create the marker in the working directory
    # of whatever ran it (the adapter's, which Delve shares, or the launch's `cwd`).
    marker_name = f"gocore-dap-pwned-{os.getpid()}"
    folder = Path(tempfile.mkdtemp(prefix="gdt-h-", dir="/tmp"))
    markers = [Path.cwd() / marker_name, folder / marker_name, private_tmp / marker_name]
    try:
        filename = name.format(marker=marker_name)
        hostile_core = folder / filename
        hostile_program = folder / f"prog {filename}"
        os.link(core, hostile_core)
        os.link(binary, hostile_program)
        client = start_adapter(private_tmp)
        try:
            # Relative paths (from `cwd`) keep a leading dash at the start of the argument.
            client.start_core(hostile_program.name, hostile_core.name, cwd=str(folder))
            dlv = only_dlv(client)
            args = [a.decode() for a in Path(f"/proc/{dlv}/cmdline").read_bytes().split(b"\0")]
            assert str(hostile_core) in args and str(hostile_program) in args, args
            finish(client)
        finally:
            client.close()
        assert not any(m.exists() for m in markers), f"{name!r} ran a command"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize(
    "hostile_dlv",
    ["/bin/sh -c 'touch {marker}'", "$(touch {marker})", "dlv; touch {marker}"],
)
def test_a_hostile_dlv_path_is_not_run_through_a_shell(
    hostile_dlv: str, classic: CrashArtifact, private_tmp: Path
) -> None:
    marker = private_tmp / "pwned"
    client = start_adapter(private_tmp)
    try:
        client.ok("initialize", INITIALIZE)
        response = client.request(
            "launch",
            {
                "program": str(classic.binary),
                "coreFilePath": str(classic.core),
                "dlvPath": hostile_dlv.format(marker=marker),
            },
            timeout=30,
        )
        assert not response["success"] and error_id(response) == DLV_NOT_FOUND, response
        assert not marker.exists()
        assert dlv_tree(client.process.pid)[1] == set()
        finish(client)
    finally:
        client.close()


def test_a_missing_file_named_like_a_command_is_just_missing(private_tmp: Path, classic: CrashArtifact) -> None:
    marker = private_tmp / "pwned"
    client: DapClient = start_adapter(private_tmp)
    try:
        client.ok("initialize", INITIALIZE)
        response = client.request(
            "launch", {"program": str(classic.binary), "coreFilePath": f"$(touch {marker})"}, timeout=30
        )
        assert error_id(response) == FILE_NOT_FOUND and f"$(touch {marker})" in response["message"]
        assert not marker.exists()
        finish(client)
    finally:
        client.close()
