"""install_delve: the error paths and the bookkeeping around `go install`, with a fake `go` (no network).

The real `go install` of the pinned Delve is exercised by scripts/setup.sh.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

import gocore_dap
from gocore_dap import cli
from gocore_dap.backends.delve.install import (
    DELVE_PACKAGE,
    DelveInstallError,
    default_dest,
    install_delve,
    run_install_delve,
)
from gocore_dap.backends.delve.locate import user_install_dir

PINNED = gocore_dap.DELVE_VERSION.removeprefix("v")


def write_script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def dlv_body(version: str) -> str:
    return f"printf 'Delve Debugger\\nVersion: {version}\\nBuild: fake\\n'\n"


def fake_go(
    bin_dir: Path, *, builds_version: str | None = PINNED, exit_code: int = 0, output: str = ""
) -> Path:
    """A `go` that records its arguments and GOBIN, prints `output`, and puts a fake dlv into $GOBIN."""
    log = bin_dir / "go.log"
    build = ""
    if builds_version is not None:
        build = (
            f'cat > "$GOBIN/dlv" <<\'EOF\'\n#!/bin/sh\n{dlv_body(builds_version)}EOF\nchmod +x "$GOBIN/dlv"\n'
        )
    return write_script(
        bin_dir / "go",
        f'echo "$*" > {shlex.quote(str(log))}\n'
        f'echo "GOBIN=$GOBIN GOOS=${{GOOS:-}}" >> {shlex.quote(str(log))}\n'
        f"printf %s {shlex.quote(output)} >&2\n"
        f"{build}"
        f"exit {exit_code}\n",
    )


def test_installs_the_pinned_package_and_returns_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOS", "windows")  # must not leak into go: dlv has to run here
    go = fake_go(tmp_path / "gobin")
    dest = tmp_path / "dest"
    installed = install_delve(dest, go=str(go))
    assert installed == dest / "dlv"
    assert installed.is_file()
    args, gobin_line = (tmp_path / "gobin" / "go.log").read_text().splitlines()
    assert args == f"install {DELVE_PACKAGE}@{gocore_dap.DELVE_VERSION}"
    gobin = gobin_line.split()[0].removeprefix("GOBIN=")
    assert Path(gobin).is_absolute()
    assert Path(gobin).parent == dest.absolute()  # built in a staging folder beside the destination
    assert gobin_line.endswith("GOOS=")
    assert list(dest.iterdir()) == [installed]  # the staging folder is gone


def test_relative_dest_is_made_absolute_for_gobin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    go = fake_go(tmp_path / "gobin")
    monkeypatch.chdir(tmp_path)
    assert install_delve(Path("rel"), go=str(go)) == tmp_path / "rel" / "dlv"


def test_go_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(DelveInstallError, match=r"Go is needed to build Delve.*not found on PATH"):
        install_delve(tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_go_at_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DelveInstallError, match="Go is needed to build Delve"):
        install_delve(tmp_path / "dest", go=str(tmp_path / "no" / "go"))


def test_failed_go_install_shows_the_end_of_gos_output(tmp_path: Path) -> None:
    output = "".join(f"line {i}\n" for i in range(100)) + "go: proxy.example: no such host\n"
    go = fake_go(tmp_path / "gobin", builds_version=None, exit_code=1, output=output)
    dest = tmp_path / "dest"
    with pytest.raises(DelveInstallError) as caught:
        install_delve(dest, go=str(go))
    message = str(caught.value)
    assert "exit code 1" in message
    assert "no such host" in message
    assert "line 99" in message
    assert "line 0\n" not in message  # only the tail
    assert list(dest.iterdir()) == []  # no staging folder left behind


def test_failed_install_keeps_the_previous_dlv(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    previous = write_script(dest / "dlv", dlv_body("1.0.0"))
    go = fake_go(tmp_path / "gobin", builds_version=None, exit_code=1, output="boom\n")
    with pytest.raises(DelveInstallError):
        install_delve(dest, go=str(go))
    assert "Version: 1.0.0" in previous.read_text()


def test_success_without_a_dlv_is_an_error(tmp_path: Path) -> None:
    go = fake_go(tmp_path / "gobin", builds_version=None)
    with pytest.raises(DelveInstallError, match="produced no dlv"):
        install_delve(tmp_path / "dest", go=str(go))
    assert not (tmp_path / "dest" / "dlv").exists()


def test_wrong_version_is_not_installed(tmp_path: Path) -> None:
    go = fake_go(tmp_path / "gobin", builds_version="0.0.1")
    with pytest.raises(DelveInstallError, match=r"reports version '0\.0\.1'"):
        install_delve(tmp_path / "dest", go=str(go))
    assert list((tmp_path / "dest").iterdir()) == []


def test_unwritable_destination_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    go = fake_go(tmp_path / "gobin")
    with pytest.raises(DelveInstallError, match="Cannot create the install folder"):
        install_delve(blocker / "bin", go=str(go))


# --- the command ----------------------------------------------------------------------------------


def test_command_skips_when_the_pinned_version_is_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "dest"
    write_script(dest / "dlv", dlv_body(PINNED))
    # go does not exist: the command must not need it.
    assert run_install_delve(dest, go=str(tmp_path / "no" / "go")) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(dest / "dlv")
    assert "already installed" in err


def test_command_replaces_another_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "dest"
    write_script(dest / "dlv", dlv_body("1.0.0"))
    go = fake_go(tmp_path / "gobin")
    assert run_install_delve(dest, go=str(go)) == 0
    assert f"Version: {PINNED}" in (dest / "dlv").read_text()


def test_command_force_reinstalls(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    write_script(dest / "dlv", dlv_body(PINNED))
    go = fake_go(tmp_path / "gobin")
    assert run_install_delve(dest, force=True, go=str(go)) == 0
    assert (tmp_path / "gobin" / "go.log").exists()


def test_command_reports_errors_with_exit_code_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_install_delve(tmp_path / "dest", go=str(tmp_path / "no" / "go")) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "error: Go is needed" in err


def test_cli_install_delve_uses_go_from_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_go(tmp_path / "gobin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'gobin'}{os.pathsep}{os.environ['PATH']}")
    dest = tmp_path / "dest"
    assert cli.main(["install-delve", "--dest", str(dest)]) == 0
    assert capsys.readouterr().out.strip() == str(dest / "dlv")


def test_default_dest_in_a_checkout_is_the_tools_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "checkout"
    (root / "adapter" / "gocore_dap").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    monkeypatch.setattr(gocore_dap, "__file__", str(root / "adapter" / "gocore_dap" / "__init__.py"))
    assert default_dest() == root.resolve() / ".tools" / "bin"


def test_default_dest_when_installed_is_the_user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site-packages" / "gocore_dap"
    package.mkdir(parents=True)
    monkeypatch.setattr(gocore_dap, "__file__", str(package / "__init__.py"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert (
        default_dest()
        == user_install_dir()
        == tmp_path / "data" / "gocore-dap" / f"delve-{gocore_dap.DELVE_VERSION}"
    )
