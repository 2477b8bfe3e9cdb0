"""The `dlv core --headless` process behind one session.

Delve listens on a unix socket inside a private 0700 directory, so no other user on the machine
can drive it (a TCP port on loopback would be open to every local user). Delve prints its
"listening" line before it loads the executable and core, so readiness is the first answered
`State`, and a load failure is read from its stderr and exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gocore_dap.backend.errors import BackendError, DelveGone, DelveStartError
from gocore_dap.backend.rpc import DelveRpc

_PR_SET_PDEATHSIG = 1
_STDERR_TAIL_LINES = 40


def _die_with_parent() -> None:
    """Runs in the child before exec: ask the kernel to kill dlv if the adapter dies.

    This is what keeps `dlv` from being orphaned when the adapter is SIGKILLed, where no
    Python cleanup can run.
    """
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # Keep the editor's Ctrl+C (sent to the adapter's process group) from killing Delve under
    # us mid-request: the adapter ends Delve itself.
    with contextlib.suppress(Exception):
        os.setpgid(0, 0)


class DelveProcess:
    """A running `dlv core` and the RPC connection to it."""

    def __init__(self, process: asyncio.subprocess.Process, socket_dir: Path) -> None:
        self._process = process
        self._socket_dir = socket_dir
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
        self._stdout_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
        self._drains: list[asyncio.Task[None]] = []
        self._watch: asyncio.Task[None] | None = None
        self.rpc: DelveRpc | None = None
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
    ) -> DelveProcess:
        socket_dir = Path(tempfile.mkdtemp(prefix="gocore-dap-"))
        os.chmod(socket_dir, 0o700)
        socket_path = socket_dir / "dlv.sock"
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
                f"--listen=unix:{socket_path}",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                preexec_fn=_die_with_parent,
                env=env,
            )
        except OSError as exc:
            shutil.rmtree(socket_dir, ignore_errors=True)
            raise DelveStartError(f"could not run Delve at {dlv}: {exc.strerror or exc}") from exc
        self = cls(process, socket_dir)
        assert process.stdout is not None and process.stderr is not None
        self._drains = [
            asyncio.create_task(self._drain(process.stdout, self._stdout_tail)),
            asyncio.create_task(self._drain(process.stderr, self._stderr_tail)),
        ]
        try:
            await asyncio.wait_for(self._connect(socket_path, rpc_timeout), startup_timeout)
        except TimeoutError:
            await self.close()
            raise DelveStartError(
                f"Delve did not load {program} and {core} within {startup_timeout:g} s"
            ) from None
        except BaseException:
            await self.close()
            raise
        self.ready_seconds = time.monotonic() - self.started_at
        self._watch = asyncio.create_task(self._watch_exit(on_exit))
        return self

    async def _connect(self, socket_path: Path, rpc_timeout: float | None) -> None:
        while True:
            if self._process.returncode is not None or not socket_path.exists():
                if self._process.returncode is not None:
                    await self._raise_exited()
                await asyncio.sleep(0.01)
                continue
            try:
                reader, writer = await asyncio.open_unix_connection(str(socket_path), limit=1 << 24)
                break
            except (ConnectionRefusedError, FileNotFoundError):
                await asyncio.sleep(0.01)
        self.rpc = DelveRpc(reader, writer, default_timeout=rpc_timeout)
        try:
            # Delve accepts connections before loading; the first answer means it has loaded.
            await self.rpc.call("State", {"NonBlocking": True})
        except DelveGone:
            await self._raise_exited()

    async def _raise_exited(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._process.wait(), 2.0)
        # Give the drains a moment to capture the last words.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._drains, return_exceptions=True), 1.0)
        words = self.stderr_text() or "\n".join(self._stdout_tail).strip() or "no output"
        raise DelveStartError(f"Delve exited with code {self._process.returncode}: {words}")

    async def _drain(self, stream: asyncio.StreamReader, tail: deque[str]) -> None:
        with contextlib.suppress(Exception):
            while line := await stream.readline():
                tail.append(line.decode("utf-8", "replace").rstrip())

    async def _watch_exit(self, on_exit: Callable[[str], None] | None) -> None:
        code = await self._process.wait()
        reason = f"Delve exited unexpectedly (code {code})"
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                reason = f"Delve was killed by {signal.Signals(-code).name}"
        tail = self.stderr_text()
        if tail:
            reason += f": {tail.splitlines()[-1]}"
        if self.rpc is not None and not self.rpc.closed:
            self.rpc.mark_gone(reason)
            if on_exit is not None:
                on_exit(reason)

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        if self.rpc is None:
            raise DelveGone("Delve is not connected")
        return await self.rpc.call(method, params, timeout=timeout)

    async def close(self) -> None:
        """End Delve (politely, then by force) and remove the socket directory. Idempotent."""
        if self._watch is not None:
            self._watch.cancel()
        rpc = self.rpc
        if rpc is not None and not rpc.closed and self._process.returncode is None:
            with contextlib.suppress(BackendError, Exception):
                await rpc.call("Detach", {"Kill": True}, timeout=2.0)
        if rpc is not None:
            await rpc.aclose()
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
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
        shutil.rmtree(self._socket_dir, ignore_errors=True)

    def kill_now(self) -> None:
        """Synchronous last-resort cleanup for interpreter exit paths."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        shutil.rmtree(self._socket_dir, ignore_errors=True)
