"""Running the DAP server on stdio or TCP, with clean shutdown on any ending.

On stdio the real stdout is kept for DAP alone: Python's sys.stdout is pointed at stderr before
anything else runs, so a stray print (ours or a library's) cannot corrupt the protocol stream.

Every temporary file of a serving adapter (Delve's socket directories, decompressed cores) lives in
one private directory, ``$TMPDIR/gocore-dap-<pid>-<start time>-<random>``, removed when the adapter
ends. An adapter that was killed (SIGKILL, OOM) cannot remove its own: each adapter removes, when it
starts, the directories of adapters that no longer run (same user; a pid now used by another process
is told apart by its start time).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Final

from gocore_dap.server.connection import DapConnection

log = logging.getLogger(__name__)

_READ_CHUNK = 1 << 16

TEMP_PREFIX: Final = "gocore-dap-"
_TEMP_ROOT_RE: Final = re.compile(r"^gocore-dap-(\d+)-(\d+)-[A-Za-z0-9_]+$")


def _start_time(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot), or None if it does not run."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from its closing one.
    fields = text[text.rfind(")") + 2 :].split()
    try:
        return int(fields[19])  # field 22 of proc(5)
    except (IndexError, ValueError):
        return None


def remove_stale_temp_roots(parent: Path | None = None) -> list[Path]:
    """Remove the private temporary directories of adapters (of this user) that no longer run."""
    where = Path(parent or tempfile.gettempdir())
    removed: list[Path] = []
    if _start_time(os.getpid()) is None:
        return removed  # without /proc, a live adapter cannot be told from a dead one
    try:
        entries = list(os.scandir(where))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_ROOT_RE.match(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not entry.is_dir(follow_symlinks=False) or info.st_uid != os.getuid():
            continue
        pid, started = int(match.group(1)), int(match.group(2))
        if _start_time(pid) == started:
            continue  # its adapter still runs
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def private_temp_root() -> Iterator[Path]:
    """Point `tempfile` at a new private directory for this adapter's life, then remove it."""
    removed = remove_stale_temp_roots()
    if removed:
        log.info("removed the temporary files of adapters that were killed: %s", removed)
    pid = os.getpid()
    root = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{pid}-{_start_time(pid) or 0}-"))
    previous = tempfile.tempdir
    tempfile.tempdir = str(root)
    try:
        yield root
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(root, ignore_errors=True)


def _install_signal_handlers(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def _until_done_or_stopped(work: asyncio.Future[None], stop: asyncio.Event) -> None:
    stopper: asyncio.Future[None] = asyncio.ensure_future(_wait_event(stop))
    done, _ = await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if work not in done:
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await work
    stopper.cancel()


async def serve_stdio() -> None:
    with private_temp_root():
        await _serve_stdio()


async def _serve_stdio() -> None:
    loop = asyncio.get_running_loop()
    out_fd = os.dup(sys.stdout.fileno())
    # From here on, print() goes to stderr; DAP goes to the duplicated descriptor.
    sys.stdout = sys.stderr
    os.dup2(sys.stderr.fileno(), 1)
    in_fd = sys.stdin.fileno()

    read, write, flush = await _stdio_streams(loop, in_fd, out_fd)
    connection = DapConnection(read, write)
    stop = asyncio.Event()
    _install_signal_handlers(loop, stop)
    task = asyncio.ensure_future(connection.run())
    await _until_done_or_stopped(task, stop)
    await connection.session.close()
    with contextlib.suppress(Exception):
        await flush()


def _is_pollable(fd: int) -> bool:
    # epoll takes pipes and sockets; not regular files, and not every character device (/dev/null).
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


async def _stdio_streams(
    loop: asyncio.AbstractEventLoop, in_fd: int, out_fd: int
) -> tuple[Callable[[], Awaitable[bytes]], Callable[[bytes], Awaitable[None]], Callable[[], Awaitable[None]]]:
    """read, write and flush on stdin/stdout: asyncio pipes when the descriptors are pipes (an
    editor), plain blocking I/O otherwise (a file or /dev/null, e.g. a replayed transcript)."""
    if _is_pollable(in_fd):
        reader = asyncio.StreamReader(limit=1 << 24)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(in_fd, "rb", buffering=0, closefd=False)
        )

        async def read() -> bytes:
            return await reader.read(_READ_CHUNK)

    else:
        chunks: asyncio.Queue[bytes] = asyncio.Queue()

        def pump() -> None:
            # A daemon thread: a read blocked forever cannot keep the process from exiting.
            while True:
                try:
                    chunk = os.read(in_fd, _READ_CHUNK)
                except OSError:
                    chunk = b""
                loop.call_soon_threadsafe(chunks.put_nowait, chunk)
                if not chunk:
                    return

        threading.Thread(target=pump, name="stdin", daemon=True).start()

        async def read() -> bytes:
            return await chunks.get()

    if _is_pollable(out_fd):
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(out_fd, "wb", buffering=0)
        )
        writer = asyncio.StreamWriter(transport, protocol, None, loop)

        async def write(data: bytes) -> None:
            writer.write(data)
            await writer.drain()

        async def flush() -> None:
            await writer.drain()

    else:

        async def write(data: bytes) -> None:
            view = memoryview(data)
            while view:
                view = view[os.write(out_fd, view) :]

        async def flush() -> None:
            return None

    return read, write, flush


async def _wait_event(event: asyncio.Event) -> None:
    await event.wait()


def parse_listen(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", address
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"--listen wants HOST:PORT (e.g. 127.0.0.1:4711), got {address!r}") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"--listen: port {number} is out of range")
    return host, number


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve_tcp(host: str, port: int, *, ready: asyncio.Future[int] | None = None) -> None:
    """A session per connection; each ends its own Delve when its client goes."""
    with private_temp_root():
        await _serve_tcp(host, port, ready)


async def _serve_tcp(host: str, port: int, ready: asyncio.Future[int] | None) -> None:
    connections: set[asyncio.Task[None]] = set()

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def read() -> bytes:
            return await reader.read(_READ_CHUNK)

        async def write(data: bytes) -> None:
            writer.write(data)
            await writer.drain()

        connection = DapConnection(read, write)
        task = asyncio.current_task()
        if task is not None:
            connections.add(task)
        try:
            await connection.run()
        finally:
            with contextlib.suppress(Exception):
                writer.close()
            if task is not None:
                connections.discard(task)

    server = await asyncio.start_server(on_client, host, port, limit=1 << 24)
    bound = server.sockets[0].getsockname()[1]
    where = f"[{host}]:{bound}" if ":" in host else f"{host}:{bound}"
    if _is_loopback(host):
        print(f"gocore-dap: listening for DAP clients on {where} (loopback only)", file=sys.stderr, flush=True)
    else:
        print(
            f"gocore-dap: WARNING: listening on {where}, which is reachable from other machines; "
            "anyone who can connect can read the core's memory. Use 127.0.0.1 unless you mean it.",
            file=sys.stderr,
            flush=True,
        )
    if ready is not None:
        ready.set_result(bound)
    stop = asyncio.Event()
    _install_signal_handlers(asyncio.get_running_loop(), stop)
    async with server:
        serving = asyncio.ensure_future(server.serve_forever())
        await _until_done_or_stopped(serving, stop)
    for task in list(connections):
        task.cancel()
    if connections:
        await asyncio.gather(*connections, return_exceptions=True)
