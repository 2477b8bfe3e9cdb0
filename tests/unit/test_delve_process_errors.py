"""backends.delve.process.DelveProcess.start when Delve cannot be used: fake `dlv` executables, no real Delve.

Each fake is named `dlv`, so the autouse `no_orphaned_dlv` fixture (tests/conftest.py) also fails a test
whose fake outlives it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gocore_dap.backends.delve.errors import DelveStartError
from gocore_dap.backends.delve.process import DelveProcess

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def socket_parent(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where DelveProcess makes its private socket directory, so a test can see it removed.

    Short, because a unix socket path must fit in 108 bytes (a long one would go elsewhere).
    """
    parent = Path(tempfile.mkdtemp(prefix="gd-", dir="/tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(parent))
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


def fake_dlv(folder: Path, body: str, *, interpreter: str = "/bin/sh") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dlv"
    path.write_text(f"#!{interpreter}\n{body}")
    path.chmod(0o755)
    return path


def start(dlv: Path, tmp_path: Path, startup_timeout: float) -> DelveProcess:
    async def main() -> DelveProcess:
        return await DelveProcess.start(
            dlv, tmp_path / "program", tmp_path / "core", startup_timeout=startup_timeout, rpc_timeout=30.0
        )

    return asyncio.run(main())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited


def read_pid(path: Path) -> int:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.01)
    raise AssertionError(f"the fake never wrote {path}")


# --- Delve says no ---------------------------------------------------------------------------------------


def test_delve_that_fails_to_load_reports_its_own_words(tmp_path: Path, socket_parent: Path) -> None:
    dlv = fake_dlv(
        tmp_path / "bin",
        'echo "could not open debug info" >&2\necho "could not load core: not an ELF core file" >&2\nexit 1\n',
    )
    started = time.monotonic()
    with pytest.raises(DelveStartError) as raised:
        start(dlv, tmp_path, startup_timeout=30.0)
    message = str(raised.value)
    assert "could not load core: not an ELF core file" in message
    assert "code 1" in message
    # Noticed when it exits, not when the startup timeout runs out.
    assert time.monotonic() - started < 10.0
    assert list(socket_parent.iterdir()) == []  # the private socket directory is gone


def test_delve_exiting_without_a_word_on_stderr_uses_stdout(tmp_path: Path, socket_parent: Path) -> None:
    dlv = fake_dlv(tmp_path / "bin", 'echo "Error: unknown flag: --api-version"\nexit 3\n')
    with pytest.raises(DelveStartError, match=r"code 3: Error: unknown flag: --api-version"):
        start(dlv, tmp_path, startup_timeout=30.0)


def test_delve_is_asked_to_open_the_core_headless_on_a_private_socket(tmp_path: Path, socket_parent: Path) -> None:
    args_file = tmp_path / "args"
    dlv = fake_dlv(tmp_path / "bin", f'printf "%s\\n" "$@" > {args_file}\nexit 1\n')
    with pytest.raises(DelveStartError):
        start(dlv, tmp_path, startup_timeout=30.0)
    args = args_file.read_text().splitlines()
    assert args[:3] == ["core", str(tmp_path / "program"), str(tmp_path / "core")]
    assert "--headless" in args and "--api-version=2" in args
    listen = next(a for a in args if a.startswith("--listen="))
    socket_path = Path(listen.removeprefix("--listen=unix:"))
    assert listen.startswith("--listen=unix:") and socket_path.parent.parent == socket_parent
    assert not socket_path.parent.exists()  # removed after the failure


# --- Delve never gets ready ------------------------------------------------------------------------------


def test_delve_that_hangs_without_listening_times_out_and_is_killed(tmp_path: Path, socket_parent: Path) -> None:
    pid_file = tmp_path / "pid"
    dlv = fake_dlv(tmp_path / "bin", f"echo $$ > {pid_file}\nexec sleep 600\n")
    started = time.monotonic()
    with pytest.raises(DelveStartError, match=r"within 0\.5 s"):
        start(dlv, tmp_path, startup_timeout=0.5)
    elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 3.0, elapsed  # the timeout, then a polite terminate
    assert not alive(read_pid(pid_file))
    assert list(socket_parent.iterdir()) == []


def test_delve_that_ignores_sigterm_is_killed(tmp_path: Path, socket_parent: Path) -> None:
    pid_file = tmp_path / "pid"
    dlv = fake_dlv(
        tmp_path / "bin",
        "import os, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(600)\n",
        interpreter=sys.executable,
    )
    started = time.monotonic()
    with pytest.raises(DelveStartError, match="within"):
        start(dlv, tmp_path, startup_timeout=0.5)
    assert time.monotonic() - started < 0.5 + 6.0  # terminate, wait 2 s, kill
    assert not alive(read_pid(pid_file))


def test_delve_that_listens_but_never_answers_times_out_and_is_killed(tmp_path: Path, socket_parent: Path) -> None:
    # Delve accepts connections before it has loaded the core; readiness is its first answer.
    pid_file = tmp_path / "pid"
    dlv = fake_dlv(
        tmp_path / "bin",
        "import os, socket, sys, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "path = next(a for a in sys.argv if a.startswith('--listen=unix:')).removeprefix('--listen=unix:')\n"
        "server = socket.socket(socket.AF_UNIX)\n"
        "server.bind(path)\n"
        "server.listen()\n"
        "connection, _ = server.accept()\n"
        "time.sleep(600)\n",
        interpreter=sys.executable,
    )
    started = time.monotonic()
    with pytest.raises(DelveStartError, match=r"within 1 s"):
        start(dlv, tmp_path, startup_timeout=1.0)
    assert time.monotonic() - started < 1.0 + 6.0
    assert not alive(read_pid(pid_file))
    assert list(socket_parent.iterdir()) == []


# --- no Delve to run -------------------------------------------------------------------------------------


def test_nonexistent_dlv_is_named(tmp_path: Path, socket_parent: Path) -> None:
    missing = tmp_path / "nowhere" / "dlv"
    with pytest.raises(DelveStartError) as raised:
        start(missing, tmp_path, startup_timeout=5.0)
    assert str(missing) in str(raised.value)
    assert "No such file" in str(raised.value)
    assert list(socket_parent.iterdir()) == []


def test_dlv_that_is_not_executable_is_named(tmp_path: Path, socket_parent: Path) -> None:
    dlv = fake_dlv(tmp_path / "bin", "exit 0\n")
    dlv.chmod(0o644)
    with pytest.raises(DelveStartError) as raised:
        start(dlv, tmp_path, startup_timeout=5.0)
    assert str(dlv) in str(raised.value)
    assert list(socket_parent.iterdir()) == []
