"""The `dlv core --headless` process behind one session.

Delve listens on a unix socket inside a private 0700 directory, so no other user on the machine
can drive it (a TCP port on loopback would be open to every local user). Releases older than 1.22.1
cannot listen on a unix socket: they listen on an ephemeral loopback port with `--only-same-user`,
with which Delve itself drops connections from other users' processes (it looks the peer up in
/proc/net/tcp). Delve prints its "listening" line before it loads the executable and core, so
readiness is the first answered `State`, and a load failure is read from its stderr and exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import re
import shutil
import signal
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gocore_dap.backends.delve.errors import BackendError, DelveGone, DelveStartError
from gocore_dap.backends.delve.rpc import DelveRpc

_PR_SET_PDEATHSIG = 1
_STDERR_TAIL_LINES = 40
# sun_path holds 108 bytes with its terminating NUL; stay clear of it.
_MAX_SOCKET_PATH = 100
# Delve's own words on stdout once it listens (on TCP, the port it was given by the kernel).
_LISTENING_RE = re.compile(r"API server listening at: (?:tcp:)?(127\.0\.0\.1):(\d+)")
_TOO_OLD_MARKERS = ("is too old for this version of Delve", "Version of Delve is too old for Go version")


@functools.cache
def _prctl() -> Callable[..., int] | None:
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _die_with_parent(prctl: Callable[..., int] | None, parent: int) -> None:
    """Runs in the child before exec: ask the kernel to kill dlv if the adapter dies.

    This is what keeps `dlv` from being orphaned when the adapter is SIGKILLed, where no
    Python cleanup can run. The function was looked up in the parent: loading a library in the
    child of a threaded process can deadlock. If the adapter died before the request was made,
    the kernel will never send the signal, so the child ends itself.
    """
    if prctl is None:
        return
    with contextlib.suppress(Exception):
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _socket_dir() -> Path:
    """A new private (0700) directory for Delve's socket.

    It lives in the temporary directory (the adapter's private one when it serves), unless that
    path is too long for a unix socket; then in /tmp.
    """
    path = Path(tempfile.mkdtemp(prefix="gocore-dap-dlv-"))
    if len(os.fsencode(path / "dlv.sock")) <= _MAX_SOCKET_PATH:
        return path
    path.rmdir()
    return Path(tempfile.mkdtemp(prefix="gocore-dap-dlv-", dir="/tmp"))


class DelveProcess:
    """A running `dlv core` and the RPC connection to it."""

    def __init__(self, process: asyncio.subprocess.Process, socket_dir: Path | None) -> None:
        self._process = process
        self._socket_dir = socket_dir
        self._tcp_address: tuple[str, int] | None = None
        self._listening = asyncio.Event()
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
        self._stdout_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
        self._drains: list[asyncio.Task[None]] = []
        self._watch: asyncio.Task[None] | None = None
        self.rpc: DelveRpc | None = None
        # A pidfd names this very process even after it has exited (its pid may be reused), and
        # signalling through it does not reap it: Popen.kill() would, and the child watcher would
        # then report exit code 255 instead of how Delve ended.
        self._pidfd: int | None = None
        with contextlib.suppress(OSError, AttributeError):
            self._pidfd = os.pidfd_open(process.pid)
        self._started = False
        self._closing = False
        self.started_at = time.monotonic()
        self.ready_seconds: float | None = None

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    def stderr_text(self) -> str:
        return "\n".join(self._stderr_tail).strip()

    @classmethod
    async def start(
        cls,
        dlv: Path,
        program: Path,
        core: Path,
        *,
        startup_timeout: float = 60.0,
        rpc_timeout: float | None = 60.0,
        on_exit: Callable[[str], None] | None = None,
        extra_env: dict[str, str] | None = None,
        unix_socket: bool = True,
        flags: Sequence[str] = (),
    ) -> DelveProcess:
        """Start `dlv core` and wait until it has loaded; `unix_socket=False` for Delve < 1.22.1 (loopback
        TCP), `flags` are more `dlv` flags (`selection.DelveLaunch` gives both)."""
        socket_dir: Path | None = None
        socket_path: Path | None = None
        if unix_socket:
            try:
                socket_dir = _socket_dir()
                os.chmod(socket_dir, 0o700)
            except OSError as exc:
                raise DelveStartError(f"could not create a private directory for Delve's socket: {exc}") from exc
            socket_path = socket_dir / "dlv.sock"
            listen = [f"--listen=unix:{socket_path}"]
        else:
            # Port 0: the kernel picks a free one, which Delve prints; only this user may connect.
            listen = ["--listen=127.0.0.1:0", "--only-same-user=true"]
        env = dict(os.environ)
        env.update(extra_env or {})
        try:
            process = await asyncio.create_subprocess_exec(
                str(dlv),
                "core",
                str(program),
                str(core),
                "--headless",
                "--api-version=2",
                *listen,
                *flags,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                preexec_fn=functools.partial(_die_with_parent, _prctl(), os.getpid()),
                # Keep the editor's Ctrl+C (sent to the adapter's process group) from killing
                # Delve under us mid-request: the adapter ends Delve itself.
                process_group=0,
                env=env,
            )
        except OSError as exc:
            if socket_dir is not None:
                shutil.rmtree(socket_dir, ignore_errors=True)
            raise DelveStartError(f"could not run Delve at {dlv}: {exc.strerror or exc}") from exc
        self = cls(process, socket_dir)
        assert process.stdout is not None and process.stderr is not None
        self._drains = [
            asyncio.create_task(self._drain(process.stdout, self._stdout_tail, self._watch_listening)),
            asyncio.create_task(self._drain(process.stderr, self._stderr_tail)),
        ]
        try:
            await asyncio.wait_for(self._connect(socket_path, rpc_timeout), startup_timeout)
        except TimeoutError:
            await self.close()
            raise DelveStartError(f"Delve did not load {program} and {core} within {startup_timeout:g} s") from None
        except BaseException:
            await self.close()
            raise
        self.ready_seconds = time.monotonic() - self.started_at
        self._started = True
        self._watch = asyncio.create_task(self._watch_exit(on_exit))
        return self

    def _watch_listening(self, line: str) -> None:
        if self._listening.is_set():
            return
        match = _LISTENING_RE.search(line)
        if match is not None:
            self._tcp_address = (match.group(1), int(match.group(2)))
            self._listening.set()

    async def _connect(self, socket_path: Path | None, rpc_timeout: float | None) -> None:
        if socket_path is None:
            reader, writer = await self._connect_tcp()
        else:
            reader, writer = await self._connect_unix(socket_path)
        self.rpc = DelveRpc(reader, writer, default_timeout=rpc_timeout, on_closed=self._on_rpc_closed)
        try:
            # Delve accepts connections before loading; the first answer means it has loaded.
            await self.rpc.call("State", {"NonBlocking": True})
        except DelveGone:
            await self._raise_exited()

    async def _connect_tcp(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        # The port is known only from Delve's "listening" line; an exit before it is a failed start.
        exited = asyncio.create_task(self._process.wait())
        listening = asyncio.create_task(self._listening.wait())
        try:
            await asyncio.wait({exited, listening}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            exited.cancel()
            listening.cancel()
        if self._tcp_address is None:
            await self._raise_exited()
        assert self._tcp_address is not None
        host, port = self._tcp_address
        try:
            return await asyncio.open_connection(host, port, limit=1 << 24)
        except OSError:
            await self._raise_exited()
            raise  # not reached: _raise_exited raises

    async def _connect_unix(self, socket_path: Path) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        # Delve creates the socket a few ms after it starts; poll finely, since this wait is on the
        # path to the first stop, and give up as soon as the process has exited.
        while True:
            if self._process.returncode is not None or not socket_path.exists():
                if self._process.returncode is not None:
                    await self._raise_exited()
                await asyncio.sleep(0.002)
                continue
            try:
                return await asyncio.open_unix_connection(str(socket_path), limit=1 << 24)
            except (ConnectionRefusedError, FileNotFoundError):
                await asyncio.sleep(0.002)

    async def _raise_exited(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._process.wait(), 2.0)
        # Give the drains a moment to capture the last words.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._drains, return_exceptions=True), 1.0)
        words = self.stderr_text() or "\n".join(self._stdout_tail).strip() or "no output"
        if any(marker in words for marker in _TOO_OLD_MARKERS):
            # Delve's advice (--check-go-version=false) is no option the user has here.
            words += (
                '\nThis Delve does not support the program\'s Go version. Without "dlvPath" / GOCORE_DAP_DLV, '
                "gocore-dap picks a Delve release that does (for programs built with Go 1.18 or newer)."
            )
        raise DelveStartError(f"Delve exited with code {self._process.returncode}: {words}")

    async def _drain(
        self, stream: asyncio.StreamReader, tail: deque[str], on_line: Callable[[str], None] | None = None
    ) -> None:
        with contextlib.suppress(Exception):
            while line := await stream.readline():
                text = line.decode("utf-8", "replace").rstrip()
                tail.append(text)
                if on_line is not None:
                    on_line(text)

    def _on_rpc_closed(self, reason: str) -> None:
        # Delve without its connection is of no use, and ending it lets _watch_exit report the
        # end of the session. (Before startup is done, _connect reports a failed load itself.)
        # Usually Delve has just died and closed the socket by dying; the signal then changes
        # nothing, and the exit status stays for _watch_exit to read.
        if self._started and not self._closing and self._process.returncode is None and self._pidfd is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)

    async def _watch_exit(self, on_exit: Callable[[str], None] | None) -> None:
        code = await self._process.wait()
        if self._closing:
            return
        reason = f"Delve exited unexpectedly (code {code})"
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                reason = f"Delve was killed by {signal.Signals(-code).name}"
        tail = self.stderr_text()
        if tail:
            reason += f": {tail.splitlines()[-1]}"
        # The socket usually reports the end first (and already failed the pending calls):
        # the session must hear of it all the same.
        if self.rpc is not None:
            self.rpc.mark_gone(reason)
        if on_exit is not None:
            on_exit(reason)

    async def call(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        if self.rpc is None:
            raise DelveGone("Delve is not connected")
        return await self.rpc.call(method, params, timeout=timeout)

    async def close(self) -> None:
        """End Delve (politely, then by force) and remove the socket directory. Idempotent."""
        try:
            await self._close()
        except asyncio.CancelledError:
            # Cancelled half-way (the session is being torn down in a hurry): never leave Delve
            # running or its directory behind.
            self.kill_now()
            raise

    async def _close(self) -> None:
        self._closing = True
        if self._watch is not None:
            self._watch.cancel()
        rpc = self.rpc
        # A Delve that stopped answering (hung, or SIGSTOPped) would only make us wait: it gets
        # no polite Detach, and no SIGTERM (which a stopped process does not act on) either.
        if rpc is not None and not rpc.closed and self._process.returncode is None and not rpc.unresponsive:
            with contextlib.suppress(BackendError, Exception):
                await rpc.call("Detach", {"Kill": True}, timeout=2.0)
        hung = rpc is not None and rpc.unresponsive
        if rpc is not None:
            await rpc.aclose()
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                if hung:
                    self._process.kill()
                else:
                    self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 2.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self._process.kill()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._process.wait(), 2.0)
        for task in self._drains:
            task.cancel()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    def kill_now(self) -> None:
        """Synchronous last-resort cleanup for interpreter exit paths."""
        self._closing = True
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
