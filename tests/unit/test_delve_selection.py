"""backends.delve.selection.prepare_delve: which dlv a session runs and with which flags (fake dlv and go)."""

from __future__ import annotations

import asyncio
import shlex
import threading
import time
from pathlib import Path

import pytest

import gocore_dap
from gocore_dap.backends.delve.errors import DelveUnavailable
from gocore_dap.backends.delve.install import DelveInstallError
from gocore_dap.backends.delve.locate import ENV_VAR, DlvNotFound
from gocore_dap.backends.delve.releases import GoTooOld
from gocore_dap.backends.delve.selection import CHECK_GO_VERSION_OFF, DelveLaunch, prepare_delve
from tests.support.processes import pid_alive

pytestmark = pytest.mark.timeout(60)


def write_script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def fake_dlv(path: Path, version: str) -> Path:
    return write_script(path, f"printf 'Delve Debugger\\nVersion: {version}\\n'\n")


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "checkout"
    (root / "adapter" / "gocore_dap").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    monkeypatch.setattr(gocore_dap, "__file__", str(root / "adapter" / "gocore_dap" / "__init__.py"))
    return root


def tools(checkout: Path, version: str) -> Path:
    return checkout.resolve() / ".tools" / "delve" / version / "dlv"


def prepare(go_version: str | None, explicit: str | None = None, **kwargs: object) -> DelveLaunch:
    kwargs.setdefault("env", {})
    return asyncio.run(prepare_delve(go_version, explicit, **kwargs))  # type: ignore[arg-type]


# --- a picked release ---------------------------------------------------------------------------------------


def test_installed_release_for_the_cores_go(checkout: Path) -> None:
    dlv = fake_dlv(tools(checkout, "v1.25.2"), "1.25.2")
    launch = prepare("go1.22.12", go="/nonexistent/go")  # installed: go is not needed
    assert launch == DelveLaunch(dlv, launch.release, (), True, explicit=False, warnings=())
    assert launch.release is not None and launch.release.version == "v1.25.2"


def test_release_without_unix_sockets_is_driven_over_tcp(checkout: Path) -> None:
    fake_dlv(tools(checkout, "v1.21.0"), "1.21.0")
    launch = prepare("go1.18.10")
    assert not launch.unix_socket
    assert launch.flags == ()


def test_newer_than_every_release_turns_the_check_off_and_warns(checkout: Path) -> None:
    fake_dlv(tools(checkout, gocore_dap.DELVE_VERSION), gocore_dap.DELVE_VERSION[1:])
    launch = prepare("go1.29.1")
    assert launch.flags == (CHECK_GO_VERSION_OFF,)
    assert len(launch.warnings) == 1 and "go1.29.1" in launch.warnings[0]


def test_older_than_every_release_is_refused(checkout: Path) -> None:
    with pytest.raises(GoTooOld) as caught:
        prepare("go1.16.15")
    assert isinstance(caught.value, DelveUnavailable)


def test_missing_release_is_installed_with_progress_on_the_loop_thread(checkout: Path, tmp_path: Path) -> None:
    go = write_script(
        tmp_path / "gobin" / "go",
        "echo 'go: downloading github.com/go-delve/delve v1.24.2'\n"
        "cat > \"$GOBIN/dlv\" <<'EOF'\n#!/bin/sh\nprintf 'Delve Debugger\\nVersion: 1.24.2\\n'\nEOF\n"
        'chmod +x "$GOBIN/dlv"\n',
    )
    seen: list[tuple[float | None, str, int]] = []

    async def main() -> DelveLaunch:
        loop_thread = threading.get_ident()
        launch = await prepare_delve(
            "go1.21.13", go=str(go), env={}, progress=lambda f, t: seen.append((f, t, threading.get_ident()))
        )
        assert {thread for _, _, thread in seen} == {loop_thread}
        return launch

    launch = asyncio.run(main())
    assert launch.dlv == tools(checkout, "v1.24.2")
    assert [f for f, _, _ in seen] == [0.0, None, 1.0]
    assert "go: downloading" in seen[1][1]


def test_failed_install_names_the_command(checkout: Path, tmp_path: Path) -> None:
    go = write_script(tmp_path / "gobin" / "go", "echo 'dial tcp: lookup proxy.golang.org: no such host'\nexit 1\n")
    with pytest.raises(DelveInstallError) as caught:
        prepare("go1.23.1", go=str(go))
    assert isinstance(caught.value, DelveUnavailable)
    assert "gocore-dap install-delve --release v1.25.2" in str(caught.value)
    assert "no such host" in str(caught.value)


def test_cancelling_the_launch_ends_go_install(checkout: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "go.pid"
    go = write_script(tmp_path / "gobin" / "go", f"echo $$ > {shlex.quote(str(pid_file))}\nexec sleep 60\n")

    async def main() -> None:
        task = asyncio.create_task(prepare_delve("go1.23.1", go=str(go), env={}))
        while not pid_file.exists() or not pid_file.read_text().strip():
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid)


# --- an explicit dlv ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "unix", "known"),
    [("1.27.2", True, True), ("1.22.1", True, True), ("1.21.2", False, False), ("1.30.0", True, False)],
)
def test_explicit_dlv_runs_unchecked_over_what_it_supports(
    checkout: Path, tmp_path: Path, version: str, unix: bool, known: bool
) -> None:
    fake_dlv(tools(checkout, "v1.25.2"), "1.25.2")  # the picked one must not be used
    explicit = fake_dlv(tmp_path / "mine" / "dlv", version)
    launch = prepare("go1.22.12", str(explicit))
    assert launch.dlv == explicit
    assert launch.explicit
    assert launch.flags == (CHECK_GO_VERSION_OFF,)  # a mismatch is a warning after the start, not a refusal
    assert launch.unix_socket is unix
    assert (launch.release is not None) is known


def test_env_var_is_explicit_too_and_works_for_any_go(checkout: Path, tmp_path: Path) -> None:
    explicit = fake_dlv(tmp_path / "env" / "dlv", "1.27.2")
    launch = prepare("go1.10", env={ENV_VAR: str(explicit)})  # too old for every release: not our call
    assert launch.dlv == explicit and launch.explicit


def test_explicit_dlv_that_does_not_answer_its_version_is_assumed_modern(checkout: Path, tmp_path: Path) -> None:
    explicit = write_script(tmp_path / "dlv", "exit 3\n")
    assert prepare("go1.22.12", str(explicit)).unix_socket


def test_bad_explicit_dlv_is_an_error(checkout: Path, tmp_path: Path) -> None:
    with pytest.raises(DlvNotFound, match="dlvPath"):
        prepare("go1.22.12", str(tmp_path / "missing" / "dlv"))
