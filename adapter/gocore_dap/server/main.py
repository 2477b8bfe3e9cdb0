"""Running the DAP server on stdio or TCP, with clean shutdown on any ending.

On stdio the real stdout is kept for DAP alone: Python's sys.stdout is pointed at stderr before
anything else runs, so a stray print (ours or a library's) cannot corrupt the protocol stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import sys

from gocore_dap.server.connection import DapConnection

log = logging.getLogger(__name__)

_READ_CHUNK = 1 << 16


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
    loop = asyncio.get_running_loop()
    out_fd = os.dup(sys.stdout.fileno())
    # From here on, print() goes to stderr; DAP goes to the duplicated descriptor.
    sys.stdout = sys.stderr
    os.dup2(sys.stderr.fileno(), 1)
    in_fd = sys.stdin.fileno()

    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(in_fd, "rb", buffering=0, closefd=False)
    )
    out_file = os.fdopen(out_fd, "wb", buffering=0)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, out_file)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)

    async def read() -> bytes:
        return await reader.read(_READ_CHUNK)

    async def write(data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    connection = DapConnection(read, write)
    stop = asyncio.Event()
    _install_signal_handlers(loop, stop)
    task = asyncio.ensure_future(connection.run())
    await _until_done_or_stopped(task, stop)
    await connection.session.close()
    with contextlib.suppress(Exception):
        await writer.drain()


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
    where = f"{host}:{bound}"
    if _is_loopback(host):
        print(
            f"gocore-dap: listening for DAP clients on {where} (loopback only)", file=sys.stderr, flush=True
        )
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
