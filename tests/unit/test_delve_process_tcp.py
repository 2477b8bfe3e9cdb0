"""DelveProcess over loopback TCP (Delve < 1.22.1 has no `unix:` listen), with fake `dlv` executables.

The fake speaks Delve's wire (a bare stream of JSON-RPC 1.0 objects) on the port the kernel gives it and
prints Delve's "API server listening at:" line, as Delve does, before it is ready.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from gocore_dap.backends.delve.errors import DelveStartError
from gocore_dap.backends.delve.process import DelveProcess

pytestmark = pytest.mark.timeout(60)

FAKE_TCP_DELVE = """
import json, socket, sys
args = sys.argv[1:]
open(ARGS_FILE, "w").write(json.dumps(args))
listen = next(a for a in args if a.startswith("--listen="))
assert listen == "--listen=127.0.0.1:0", listen
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
print("some banner first")
print("API server listening at: 127.0.0.1:%d" % server.getsockname()[1], flush=True)
connection, _ = server.accept()
stream = connection.makefile("rw")
decoder = json.JSONDecoder()
buffer = ""
while True:
    chunk = connection.recv(65536).decode()
    if not chunk:
        break
    buffer += chunk
    while buffer.strip():
        try:
            request, end = decoder.raw_decode(buffer.lstrip())
        except ValueError:
            break
        buffer = buffer.lstrip()[end:]
        method = request["method"].removeprefix("RPCServer.")
        result = {"State": {"Running": False, "echo": args}, "Detach": {}}.get(method)
        connection.sendall((json.dumps({"id": request["id"], "result": result, "error": None}) + "\\n").encode())
        if method == "Detach":
            sys.exit(0)
"""


def fake_dlv(folder: Path, body: str, args_file: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dlv"
    path.write_text(f"#!{sys.executable}\nARGS_FILE = {str(args_file)!r}\n{body}")
    path.chmod(0o755)
    return path


def test_tcp_delve_is_reached_on_the_port_it_prints(tmp_path: Path) -> None:
    args_file = tmp_path / "args.json"
    dlv = fake_dlv(tmp_path / "bin", FAKE_TCP_DELVE, args_file)

    async def main() -> tuple[Any, int | None]:
        delve = await DelveProcess.start(
            dlv,
            tmp_path / "program",
            tmp_path / "core",
            startup_timeout=30.0,
            unix_socket=False,
            flags=("--check-go-version=false",),
        )
        try:
            state = await delve.call("State", {"NonBlocking": True})
        finally:
            await delve.close()
        return state, delve.returncode

    state, code = asyncio.run(main())
    args = json.loads(args_file.read_text())
    assert args[:3] == ["core", str(tmp_path / "program"), str(tmp_path / "core")]
    assert "--headless" in args and "--api-version=2" in args
    assert "--listen=127.0.0.1:0" in args  # loopback only, a port the kernel picks
    assert "--only-same-user=true" in args  # Delve drops other users' connections
    assert "--check-go-version=false" in args
    assert not any(a.startswith("--listen=unix:") for a in args)
    assert state["echo"] == args
    assert code is not None  # ended by close()


def test_tcp_delve_that_exits_before_listening_reports_its_words(tmp_path: Path) -> None:
    dlv = fake_dlv(
        tmp_path / "bin",
        "import sys\n"
        "print('Version of Delve is too old for Go version go1.22.12 (maximum supported version 1.21, "
        "suppress this error with --check-go-version=false)', file=sys.stderr)\n"
        "sys.exit(1)\n",
        tmp_path / "args.json",
    )

    async def main() -> None:
        await DelveProcess.start(dlv, tmp_path / "program", tmp_path / "core", startup_timeout=30.0, unix_socket=False)

    with pytest.raises(DelveStartError) as caught:
        asyncio.run(main())
    message = str(caught.value)
    assert "code 1" in message and "too old for Go version go1.22.12" in message
    # Delve's advice is no option here; ours is.
    assert 'Without "dlvPath" / GOCORE_DAP_DLV, gocore-dap picks a Delve release' in message


def test_tcp_delve_that_never_listens_times_out(tmp_path: Path) -> None:
    dlv = fake_dlv(tmp_path / "bin", "import time\nprint('loading', flush=True)\ntime.sleep(600)\n", tmp_path / "a")

    async def main() -> None:
        await DelveProcess.start(dlv, tmp_path / "program", tmp_path / "core", startup_timeout=1.0, unix_socket=False)

    with pytest.raises(DelveStartError, match=r"within 1 s"):
        asyncio.run(main())
