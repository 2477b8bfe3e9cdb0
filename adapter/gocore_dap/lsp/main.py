"""Run the language server on stdio, with nothing but LSP on stdout.

The process's file descriptor 1 is handed to the LSP writer alone and then pointed at stderr, so that a
stray `print`, a library's warning or a child process (`go env`, Delve) can never write into the
protocol stream.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["run_lsp"]


def _private_stdout() -> tuple[object, object]:
    """(binary stream for LSP, binary stream for stdin); fd 1 becomes a copy of stderr."""
    lsp_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(lsp_fd, "wb", buffering=0), sys.stdin.buffer


def _expected_errors(record: logging.LogRecord) -> bool:
    """pygls logs a traceback for every error answer; an LSP error the server raises on purpose (a bad
    argument, no core open) is an answer, not a failure of the server."""
    from pygls.exceptions import JsonRpcException

    error = record.exc_info[1] if record.exc_info else None
    return not isinstance(error, JsonRpcException)


def run_lsp(log_file: Path | None = None, verbose: bool = False) -> int:
    log_path = log_file or (Path(os.environ["GOCORE_DAP_LOG"]) if os.environ.get("GOCORE_DAP_LOG") else None)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO if log_path else logging.WARNING,
        filename=str(log_path) if log_path else None,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # pygls logs every message it sends at INFO: only a verbose log wants that.
    logging.getLogger("pygls").setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_expected_errors)
    out, stdin = _private_stdout()

    from gocore_dap.lsp.server import create_server
    from gocore_dap.lsp.transport import GoCoreProtocol, serve

    server = create_server()
    protocol = server.protocol
    assert isinstance(protocol, GoCoreProtocol)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lsp-stdin")
    try:
        code = asyncio.run(serve(protocol, stdin, out, executor, server.close_all))  # type: ignore[arg-type]
    except KeyboardInterrupt:
        code = 130
    executor.shutdown(wait=False, cancel_futures=True)
    if any(t.name.startswith("lsp-stdin") and t.is_alive() for t in threading.enumerate()):
        # stdin is a terminal (or a file) read in a thread that is blocked in read(): the interpreter would
        # wait for it at exit. Every core is closed by now.
        logging.shutdown()
        os._exit(code)
    return code
