"""`--debugpy [HOST:]PORT`: make gocore-dap wait for a Python debugger before it starts serving.

For people who work on gocore-dap itself: the DAP server and the language server run as child processes of
an editor, where a debugger cannot start them. With this option the process listens with debugpy (the
optional extra `pip install 'gocore-dap[debug]'`) and blocks until a debugger attaches (VS Code's Python
debugger with an "attach" configuration on that port, or any DAP client); README "Development".

debugpy starts an adapter process that lives on after this one: it must not inherit stdin and stdout,
which carry the editor's protocol (it would hold the pipe open after gocore-dap ends, or read from it).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = ["DEFAULT_HOST", "parse_address", "wait_for_debugger"]

DEFAULT_HOST = "127.0.0.1"
INSTALL_HINT = "--debugpy needs debugpy: pip install 'gocore-dap[debug]' (or pip install debugpy)"


def parse_address(text: str) -> tuple[str, int]:
    """`5678` or `HOST:5678` (IPv6 as `[::1]:5678`); ValueError with what is wrong."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        host = DEFAULT_HOST
    host = host.removeprefix("[").removesuffix("]") or DEFAULT_HOST
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"--debugpy: expected [HOST:]PORT, got {text!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"--debugpy: the port must be between 1 and 65535, got {port}")
    return host, port


@contextlib.contextmanager
def _protocol_streams_hidden() -> Iterator[None]:
    """stdin from /dev/null and stdout to stderr while a child is spawned, then back."""
    saved_in, saved_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        for fd in (saved_in, saved_out, null):
            os.close(fd)


def wait_for_debugger(address: str) -> None:
    """Listen on `address` with debugpy and block until a debugger attaches. Raises ValueError for a bad
    address and ImportError (with the install command) when debugpy is missing."""
    host, port = parse_address(address)
    try:
        import debugpy
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    with _protocol_streams_hidden():
        debugpy.listen((host, port))
    print(f"gocore-dap: waiting for a Python debugger (debugpy) on {host}:{port} ...", file=sys.stderr, flush=True)
    debugpy.wait_for_client()
    print("gocore-dap: debugger attached", file=sys.stderr, flush=True)
