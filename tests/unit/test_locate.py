"""backends.delve.locate: which dlv gocore-dap runs, and why no other."""

from __future__ import annotations

from pathlib import Path

import pytest

import gocore_dap
from gocore_dap.backends.delve.locate import (
    DELVE_DIR_ENV_VAR,
    ENV_VAR,
    DlvNotFound,
    dlv_version,
    explicit_dlv,
    find_dlv,
    installed_dlv,
    project_tools_dir,
    release_dir,
    repo_root,
    user_install_dir,
    version_matches,
)

PINNED = gocore_dap.DELVE_VERSION
VERSION_OUTPUT = "Delve Debugger\nVersion: 1.27.2\nBuild: $Id: 360e7b2181d3da54115aaee4f569954bca95cfe3 $\n"


def make_executable(path: Path, script: str = "exit 0\n", *, mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(mode)
    return path


def fake_dlv(path: Path, output: str = VERSION_OUTPUT, *, exit_code: int = 0) -> Path:
    return make_executable(path, f"cat <<'EOF'\n{output}EOF\nexit {exit_code}\n")


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake source checkout that gocore_dap appears to be imported from."""
    root = tmp_path / "checkout"
    (root / "adapter" / "gocore_dap").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'gocore-dap'\n")
    monkeypatch.setattr(gocore_dap, "__file__", str(root / "adapter" / "gocore_dap" / "__init__.py"))
    return root


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """gocore_dap appears installed in a site-packages folder: no checkout, so no project tools folder."""
    package = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "gocore_dap"
    package.mkdir(parents=True)
    monkeypatch.setattr(gocore_dap, "__file__", str(package / "__init__.py"))
    return package


def empty_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home)}


# --- where the project and user installs live -----------------------------------------------------


def test_repo_root_of_the_real_checkout_has_the_package() -> None:
    root = repo_root()
    assert root is not None
    assert (root / "adapter" / "gocore_dap" / "__init__.py").is_file()


def test_checkout_is_recognised(checkout: Path) -> None:
    assert repo_root() == checkout.resolve()
    assert project_tools_dir() == checkout.resolve() / ".tools" / "delve"
    assert release_dir("v1.25.2") == checkout.resolve() / ".tools" / "delve" / "v1.25.2"


def test_site_packages_install_is_no_checkout(installed: Path, tmp_path: Path) -> None:
    assert repo_root() is None
    assert project_tools_dir() is None
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    assert release_dir("v1.25.2", env=env) == tmp_path / "data" / "gocore-dap" / "delve-v1.25.2"


def test_user_install_dir_follows_xdg_data_home(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": "/nonexistent"}
    assert user_install_dir("v9.9.9", env=env) == tmp_path / "data" / "gocore-dap" / "delve-v9.9.9"


@pytest.mark.parametrize("xdg", [None, "", "relative/data"])
def test_user_install_dir_defaults_to_local_share(tmp_path: Path, xdg: str | None) -> None:
    env = {"HOME": str(tmp_path)}
    if xdg is not None:
        env["XDG_DATA_HOME"] = xdg
    expected = tmp_path / ".local" / "share" / "gocore-dap" / f"delve-{gocore_dap.DELVE_VERSION}"
    assert user_install_dir(env=env) == expected


# --- find_dlv: order ------------------------------------------------------------------------------


def test_explicit_path_wins_over_everything(checkout: Path, tmp_path: Path) -> None:
    fake_dlv(checkout / ".tools" / "delve" / PINNED / "dlv")
    from_env = fake_dlv(tmp_path / "env" / "dlv")
    explicit = fake_dlv(tmp_path / "explicit" / "dlv")
    env = {**empty_env(tmp_path), ENV_VAR: str(from_env)}
    assert find_dlv(str(explicit), env=env) == explicit


def test_relative_explicit_path_is_made_absolute(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dlv(tmp_path / "bin" / "dlv")
    monkeypatch.chdir(tmp_path)
    assert find_dlv("bin/dlv", env=empty_env(tmp_path)) == tmp_path / "bin" / "dlv"


def test_env_var_wins_over_tools_and_user_install(checkout: Path, tmp_path: Path) -> None:
    fake_dlv(checkout / ".tools" / "delve" / PINNED / "dlv")
    env = {**empty_env(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    fake_dlv(user_install_dir(env=env) / "dlv")
    from_env = fake_dlv(tmp_path / "env" / "dlv")
    env[ENV_VAR] = str(from_env)
    assert find_dlv(None, env=env) == from_env


def test_empty_explicit_and_env_count_as_unset(checkout: Path, tmp_path: Path) -> None:
    tools_dlv = fake_dlv(checkout / ".tools" / "delve" / PINNED / "dlv")
    env = {**empty_env(tmp_path), ENV_VAR: ""}
    assert find_dlv("", env=env) == tools_dlv.resolve()
    assert explicit_dlv("", env=env) is None


def test_in_a_checkout_the_release_folder_under_tools(checkout: Path, tmp_path: Path) -> None:
    tools_dlv = fake_dlv(checkout / ".tools" / "delve" / PINNED / "dlv")
    env = {**empty_env(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    fake_dlv(user_install_dir(env=env) / "dlv")  # not a checkout's place
    assert find_dlv(None, env=env) == tools_dlv.resolve()


def test_each_release_in_its_own_folder(checkout: Path, tmp_path: Path) -> None:
    old = fake_dlv(checkout / ".tools" / "delve" / "v1.22.1" / "dlv")
    env = empty_env(tmp_path)
    assert find_dlv(None, env=env, version="v1.22.1") == old.resolve()
    assert installed_dlv("v1.22.1", env=env) == old.resolve()
    assert installed_dlv("v1.25.2", env=env) is None


def test_user_install_without_a_checkout(installed: Path, tmp_path: Path) -> None:
    env = empty_env(tmp_path)
    user_dlv = fake_dlv(user_install_dir(env=env) / "dlv")
    assert find_dlv(None, env=env) == user_dlv


def test_non_executable_release_dlv_is_not_installed(checkout: Path, tmp_path: Path) -> None:
    make_executable(checkout / ".tools" / "delve" / PINNED / "dlv", mode=0o644)
    assert installed_dlv(PINNED, env=empty_env(tmp_path)) is None
    with pytest.raises(DlvNotFound, match="is not executable"):
        find_dlv(None, env=empty_env(tmp_path))


# --- find_dlv: errors -----------------------------------------------------------------------------


def test_missing_explicit_path_is_an_error_naming_it(checkout: Path, tmp_path: Path) -> None:
    fake_dlv(checkout / ".tools" / "delve" / PINNED / "dlv")  # must not be used as a fallback
    missing = tmp_path / "no" / "dlv"
    with pytest.raises(DlvNotFound) as caught:
        find_dlv(str(missing), env=empty_env(tmp_path))
    message = str(caught.value)
    assert "dlvPath" in message
    assert str(missing) in message
    assert "does not exist" in message


def test_non_executable_explicit_path_is_an_error(installed: Path, tmp_path: Path) -> None:
    plain = make_executable(tmp_path / "dlv", mode=0o644)
    with pytest.raises(DlvNotFound, match="is not executable"):
        find_dlv(str(plain), env=empty_env(tmp_path))


def test_directory_as_explicit_path_is_an_error(installed: Path, tmp_path: Path) -> None:
    with pytest.raises(DlvNotFound, match="is not a file"):
        find_dlv(str(tmp_path), env=empty_env(tmp_path))


def test_bad_env_var_is_an_error_naming_it(checkout: Path, tmp_path: Path) -> None:
    fake_dlv(checkout / ".tools" / "delve" / PINNED / "dlv")  # must not be used as a fallback
    missing = tmp_path / "gone" / "dlv"
    env = {**empty_env(tmp_path), ENV_VAR: str(missing)}
    with pytest.raises(DlvNotFound) as caught:
        find_dlv(None, env=env)
    assert ENV_VAR in str(caught.value)
    assert str(missing) in str(caught.value)


def test_path_is_never_searched(installed: Path, tmp_path: Path) -> None:
    on_path = fake_dlv(tmp_path / "path-bin" / "dlv")
    env = {**empty_env(tmp_path), "PATH": str(on_path.parent)}
    with pytest.raises(DlvNotFound) as caught:
        find_dlv(None, env=env)
    assert "PATH is not searched" in str(caught.value)


def test_not_found_lists_what_was_tried_and_the_fix(checkout: Path, tmp_path: Path) -> None:
    env = empty_env(tmp_path)
    with pytest.raises(DlvNotFound) as caught:
        find_dlv(None, env=env)
    message = str(caught.value)
    assert "dlvPath" in message
    assert ENV_VAR in message
    assert str(checkout.resolve() / ".tools" / "delve" / PINNED / "dlv") in message
    assert f"gocore-dap install-delve --release {PINNED}" in message


def test_not_found_outside_a_checkout_names_the_user_folder(installed: Path, tmp_path: Path) -> None:
    env = empty_env(tmp_path)
    with pytest.raises(DlvNotFound) as caught:
        find_dlv(None, env=env)
    assert str(user_install_dir(env=env) / "dlv") in str(caught.value)


def test_uses_the_process_environment_by_default(
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = fake_dlv(tmp_path / "env" / "dlv")
    monkeypatch.setenv(ENV_VAR, str(from_env))
    assert find_dlv() == from_env


# --- dlv_version ----------------------------------------------------------------------------------


def test_dlv_version_parses_the_version_line(tmp_path: Path) -> None:
    assert dlv_version(fake_dlv(tmp_path / "dlv")) == "1.27.2"


def test_dlv_version_drops_a_leading_v(tmp_path: Path) -> None:
    assert dlv_version(fake_dlv(tmp_path / "dlv", "Delve Debugger\nVersion: v1.30.0\n")) == "1.30.0"


def test_dlv_version_of_something_else_is_none(tmp_path: Path) -> None:
    assert dlv_version(fake_dlv(tmp_path / "dlv", "hello\n")) is None


def test_dlv_version_of_a_failing_program_is_none(tmp_path: Path) -> None:
    assert dlv_version(fake_dlv(tmp_path / "dlv", exit_code=3)) is None


def test_dlv_version_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert dlv_version(tmp_path / "missing") is None


def test_dlv_version_of_a_non_executable_is_none(tmp_path: Path) -> None:
    assert dlv_version(make_executable(tmp_path / "dlv", mode=0o644)) is None


def test_dlv_version_gives_up_after_the_timeout(tmp_path: Path) -> None:
    # exec, so that the timeout kills the sleeping process itself rather than a shell whose child lingers.
    hang = make_executable(tmp_path / "dlv", "exec sleep 30\n")
    assert dlv_version(hang, timeout=0.2) is None


def test_version_matches_ignores_the_v_prefix() -> None:
    assert version_matches("1.27.2", "v1.27.2")
    assert version_matches("v1.27.2", "1.27.2")
    assert not version_matches("1.27.1", "v1.27.2")
    assert not version_matches(None, "v1.27.2")


def test_delve_dir_env_var_replaces_the_default_places(checkout: Path, tmp_path: Path) -> None:
    env = {**empty_env(tmp_path), DELVE_DIR_ENV_VAR: str(tmp_path / "shared")}
    assert release_dir("v1.22.1", env=env) == tmp_path / "shared" / "v1.22.1"
    shared = fake_dlv(tmp_path / "shared" / PINNED / "dlv")
    fake_dlv(checkout / ".tools" / "delve" / PINNED / "dlv")
    assert find_dlv(None, env=env) == shared


def test_relative_delve_dir_is_ignored(checkout: Path, tmp_path: Path) -> None:
    env = {**empty_env(tmp_path), DELVE_DIR_ENV_VAR: "relative/dir"}
    assert release_dir("v1.22.1", env=env) == checkout.resolve() / ".tools" / "delve" / "v1.22.1"
