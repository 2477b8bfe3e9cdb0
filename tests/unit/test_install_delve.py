"""install_delve / ensure_release / install-delve: the bookkeeping around `go install`, with a fake `go`
(no network).

The real `go install` of every release is exercised by scripts/setup.sh and tests/integration/test_go_versions.py.
"""

from __future__ import annotations

import os
import shlex
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import gocore_dap
from gocore_dap import cli
from gocore_dap.backends.delve.install import (
    DELVE_PACKAGE,
    DelveInstallError,
    default_dest,
    ensure_release,
    install_delve,
    releases_to_install,
    run_install_delve,
)
from gocore_dap.backends.delve.locate import user_install_dir
from gocore_dap.backends.delve.releases import RELEASES, release_named
from tests.support.processes import pid_alive

PINNED = gocore_dap.DELVE_VERSION.removeprefix("v")


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake source checkout that gocore_dap appears to be imported from."""
    root = tmp_path / "checkout"
    (root / "adapter" / "gocore_dap").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    monkeypatch.setattr(gocore_dap, "__file__", str(root / "adapter" / "gocore_dap" / "__init__.py"))
    return root


@pytest.fixture
def installed_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """gocore_dap appears installed in site-packages: no checkout."""
    package = tmp_path / "site-packages" / "gocore_dap"
    package.mkdir(parents=True)
    monkeypatch.setattr(gocore_dap, "__file__", str(package / "__init__.py"))
    return package


def write_script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def dlv_body(version: str) -> str:
    return f"printf 'Delve Debugger\\nVersion: {version}\\nBuild: fake\\n'\n"


def fake_go(bin_dir: Path, *, builds_version: str | None = PINNED, exit_code: int = 0, output: str = "") -> Path:
    """A `go` that records its arguments and GOBIN, prints `output`, and puts a fake dlv into $GOBIN."""
    log = bin_dir / "go.log"
    build = ""
    if builds_version is not None:
        build = f'cat > "$GOBIN/dlv" <<\'EOF\'\n#!/bin/sh\n{dlv_body(builds_version)}EOF\nchmod +x "$GOBIN/dlv"\n'
    return write_script(
        bin_dir / "go",
        # `go env GOVERSION` (asked when install-delve is told no release): the fake has no version.
        'if [ "$1" != install ]; then exit 1; fi\n'
        f'echo "$*" >> {shlex.quote(str(log))}\n'
        f'echo "GOBIN=$GOBIN GOOS=${{GOOS:-}} GOFLAGS=${{GOFLAGS:-}} PWD=$PWD" >> {shlex.quote(str(log))}\n'
        f"printf %s {shlex.quote(output)} >&2\n"
        f"{build}"
        f"exit {exit_code}\n",
    )


def test_installs_the_pinned_package_and_returns_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOS", "windows")  # must not leak into go: dlv has to run here
    monkeypatch.setenv("GOFLAGS", "-mod=vendor")  # nor the caller's project settings
    go = fake_go(tmp_path / "gobin")
    dest = tmp_path / "dest"
    installed = install_delve(dest, go=str(go))
    assert installed == dest / "dlv"
    assert installed.is_file()
    args, env_line = (tmp_path / "gobin" / "go.log").read_text().splitlines()
    assert args == f"install {DELVE_PACKAGE}@{gocore_dap.DELVE_VERSION}"
    fields = dict(field.split("=", 1) for field in env_line.split())
    gobin = Path(fields["GOBIN"])
    assert gobin.is_absolute()
    assert gobin.parent == dest.absolute()  # built in a staging folder beside the destination
    assert fields["GOOS"] == fields["GOFLAGS"] == ""
    assert fields["PWD"] == str(gobin)  # no go.mod of the caller's chooses the toolchain
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
    # The exact commands to run by hand, for when the network is back.
    assert f"gocore-dap install-delve --release {gocore_dap.DELVE_VERSION}" in message
    assert f"GOBIN={dest.absolute()} go install {DELVE_PACKAGE}@{gocore_dap.DELVE_VERSION}" in message
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


def test_command_skips_when_the_pinned_version_is_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
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


def test_default_dest_in_a_checkout_is_the_tools_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "checkout"
    (root / "adapter" / "gocore_dap").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    monkeypatch.setattr(gocore_dap, "__file__", str(root / "adapter" / "gocore_dap" / "__init__.py"))
    assert default_dest() == root.resolve() / ".tools" / "delve" / gocore_dap.DELVE_VERSION
    assert default_dest("v1.22.1") == root.resolve() / ".tools" / "delve" / "v1.22.1"


def test_default_dest_when_installed_is_the_user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site-packages" / "gocore_dap"
    package.mkdir(parents=True)
    monkeypatch.setattr(gocore_dap, "__file__", str(package / "__init__.py"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert (
        default_dest() == user_install_dir() == tmp_path / "data" / "gocore-dap" / f"delve-{gocore_dap.DELVE_VERSION}"
    )


# --- progress, cancelling, the lock ---------------------------------------------------------------------------


def test_progress_starts_at_zero_passes_go_lines_and_ends_at_one(tmp_path: Path) -> None:
    go = fake_go(tmp_path / "gobin", output="go: downloading github.com/go-delve/delve v1.27.2\n\ngo: building\n")
    seen: list[tuple[float | None, str]] = []
    install_delve(tmp_path / "dest", go=str(go), progress=lambda f, t: seen.append((f, t)))
    assert seen[0][0] == 0.0 and gocore_dap.DELVE_VERSION in seen[0][1]
    assert (None, "go: downloading github.com/go-delve/delve v1.27.2") in seen
    assert (None, "go: building") in seen
    assert all(text for _, text in seen)  # blank lines are not progress
    assert seen[-1] == (1.0, f"installed Delve {gocore_dap.DELVE_VERSION} at {tmp_path / 'dest' / 'dlv'}")


def test_cancelling_kills_go_and_everything_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    go = write_script(
        tmp_path / "gobin" / "go",
        # go's compile and link children share its process group; this one must die with it.
        f"sleep 60 & echo $! > {shlex.quote(str(pid_file))}\nwait\n",
    )
    cancel = threading.Event()
    timer = threading.Timer(0.5, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(DelveInstallError, match=r"cancelled.*gocore-dap install-delve --release"):
        install_delve(tmp_path / "dest", go=str(go), cancel=cancel)
    assert time.monotonic() - started < 10
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(child)
    assert list((tmp_path / "dest").iterdir()) == []


def test_ensure_release_uses_an_installed_release_without_go(checkout: Path, tmp_path: Path) -> None:
    installed = write_script(checkout / ".tools" / "delve" / "v1.25.2" / "dlv", dlv_body("1.25.2"))
    assert ensure_release("v1.25.2", go=str(tmp_path / "no" / "go")) == installed.resolve()


def test_ensure_release_installs_a_missing_release_into_its_folder(checkout: Path, tmp_path: Path) -> None:
    go = fake_go(tmp_path / "gobin", builds_version="1.22.1")
    release = release_named("v1.22.1")
    assert release is not None
    path = ensure_release(release, go=str(go))
    assert path == checkout.resolve() / ".tools" / "delve" / "v1.22.1" / "dlv"
    assert "Version: 1.22.1" in path.read_text()


def test_ensure_release_outside_a_checkout_uses_the_user_folder(installed_package: Path, tmp_path: Path) -> None:
    go = fake_go(tmp_path / "gobin", builds_version="1.24.2")
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path)}
    path = ensure_release("v1.24.2", env=env, go=str(go))
    assert path == tmp_path / "data" / "gocore-dap" / "delve-v1.24.2" / "dlv"


def test_concurrent_first_uses_build_once(checkout: Path, tmp_path: Path) -> None:
    go = write_script(
        tmp_path / "gobin" / "go",
        f"echo built >> {shlex.quote(str(tmp_path / 'builds.log'))}\nsleep 0.5\n"
        f'cat > "$GOBIN/dlv" <<\'EOF\'\n#!/bin/sh\n{dlv_body("1.25.2")}EOF\nchmod +x "$GOBIN/dlv"\n',
    )
    messages: list[str] = []
    with ThreadPoolExecutor(3) as pool:
        paths = list(
            pool.map(
                lambda _: ensure_release("v1.25.2", go=str(go), progress=lambda _f, t: messages.append(t)), range(3)
            )
        )
    assert len(set(paths)) == 1 and paths[0].is_file()
    assert (tmp_path / "builds.log").read_text() == "built\n"
    # The lock file sits beside the release folders; no staging folder is left.
    assert sorted(p.name for p in paths[0].parent.iterdir()) == ["dlv"]


# --- which releases the command installs ---------------------------------------------------------------------


def go_answering_version(bin_dir: Path, version: str) -> Path:
    return write_script(bin_dir / "go", f'[ "$1 $2" = "env GOVERSION" ] && echo {version} && exit 0\nexit 1\n')


def test_nothing_named_means_the_release_for_the_local_go(tmp_path: Path) -> None:
    go = go_answering_version(tmp_path / "gobin", "go1.20.3")
    assert releases_to_install(go=str(go)) == ["v1.22.1"]


def test_nothing_named_without_go_means_the_newest(tmp_path: Path) -> None:
    assert releases_to_install(go=str(tmp_path / "no" / "go")) == [gocore_dap.DELVE_VERSION]


def test_all_and_for_and_release(tmp_path: Path) -> None:
    assert releases_to_install(everything=True) == [r.version for r in RELEASES]
    assert releases_to_install(go_versions=["go1.22", "1.23.4", "go1.22.12"]) == ["v1.25.2"]
    assert releases_to_install(go_versions=["go1.40"]) == [gocore_dap.DELVE_VERSION]  # newer than all
    assert releases_to_install(releases=["1.24.2"], go_versions=["go1.21"]) == ["v1.24.2"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"go_versions": ["go1.16"]}, r"--for go1\.16: .*oldest Go supported is go1\.18"),
        ({"go_versions": ["latest"]}, r"--for latest: not a Go version"),
        ({"releases": ["v1.23.0"]}, r"--release v1\.23\.0: not a Delve release gocore-dap uses"),
    ],
)
def test_bad_choices_are_usage_errors(kwargs: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        releases_to_install(**kwargs)  # type: ignore[arg-type]


def test_cli_for_with_dest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    fake_go(tmp_path / "gobin", builds_version="1.25.2")
    monkeypatch.setenv("PATH", f"{tmp_path / 'gobin'}{os.pathsep}{os.environ['PATH']}")
    dest = tmp_path / "dest"
    assert cli.main(["install-delve", "--for", "go1.22", "--dest", str(dest)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(dest / "dlv")
    assert "installing Delve v1.25.2" in err
    assert "@v1.25.2" in (tmp_path / "gobin" / "go.log").read_text()


def test_cli_dest_takes_one_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["install-delve", "--all", "--dest", str(tmp_path)]) == 2
    assert "--dest takes one release" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_bad_for_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["install-delve", "--for", "go1.12"]) == 2
    assert "oldest Go supported" in capsys.readouterr().err


def test_cli_all_installs_each_release_into_its_folder(
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A go that builds whatever version it is asked for.
    write_script(
        tmp_path / "gobin" / "go",
        "v=${2##*@v}\n"
        "cat > \"$GOBIN/dlv\" <<EOF\n#!/bin/sh\nprintf 'Delve Debugger\\\\nVersion: $v\\\\n'\nEOF\n"
        'chmod +x "$GOBIN/dlv"\n',
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'gobin'}{os.pathsep}{os.environ['PATH']}")
    assert cli.main(["install-delve", "--all"]) == 0
    out = capsys.readouterr().out.split()
    assert out == [str(checkout.resolve() / ".tools" / "delve" / r.version / "dlv") for r in RELEASES]
    # A second run finds them all.
    assert cli.main(["install-delve", "--all"]) == 0
    assert capsys.readouterr().err.count("already installed") == len(RELEASES)
