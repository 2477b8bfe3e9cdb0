"""backends.delve.releases: the table of Delve releases, and which one a core of each Go version gets.

The table is checked against each release's own `pkg/goversion/compat.go`, fetched into the Go module cache
with `go mod download` (network to the module proxy the first time; the module cache keeps it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import gocore_dap
from gocore_dap.backends.delve.releases import (
    RELEASES,
    DelveRelease,
    GoTooOld,
    UnknownGoVersion,
    newest_release,
    oldest_supported_go,
    parse_go_version,
    pick_release,
    release_named,
)
from tests.conftest import require_tool

NEWEST = RELEASES[0]


# --- parsing Go versions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("go1.22.12", (1, 22)),
        ("go1.20", (1, 20)),
        ("go1.21rc2", (1, 21)),
        ("go1.23beta1", (1, 23)),
        ("go1.26.8 X:nocoverageredesign", (1, 26)),
        ("devel go1.28-4f7a2b1c3d Tue Nov 4 10:00:00 2026 +0000", (1, 28)),
        ("  go1.9.7\n", (1, 9)),
        ("go2.0", (2, 0)),
    ],
)
def test_parse_go_version(text: str, expected: tuple[int, int]) -> None:
    assert parse_go_version(text) == expected


@pytest.mark.parametrize("text", ["", "1.22", "gox.y", "go", "golang1.22", "devel +abc"])
def test_parse_go_version_refuses_what_is_not_one(text: str) -> None:
    with pytest.raises(UnknownGoVersion):
        parse_go_version(text)


# --- the table --------------------------------------------------------------------------------------------


def test_the_newest_release_is_the_pinned_one() -> None:
    assert newest_release() is NEWEST
    assert NEWEST.version == gocore_dap.DELVE_VERSION


def test_releases_are_newest_first_and_distinct() -> None:
    def key(version: str) -> tuple[int, ...]:
        return tuple(int(p) for p in version.removeprefix("v").split("."))

    versions = [r.version for r in RELEASES]
    assert len(set(versions)) == len(versions)
    assert sorted(versions, key=key, reverse=True) == versions
    assert all(re.fullmatch(r"v\d+\.\d+\.\d+", v) for v in versions)


def test_every_minor_from_the_oldest_to_the_newest_is_covered() -> None:
    oldest, newest = oldest_supported_go(), NEWEST.max_go
    assert oldest <= (1, 20), "the issue asks for Go 1.20 or older when a served Delve reads it"
    for minor in range(oldest[1], newest[1] + 1):
        assert any(r.covers((1, minor)) for r in RELEASES), f"no release covers go1.{minor}"


def test_unix_sockets_from_delve_1_22_1_on() -> None:
    for release in RELEASES:
        numbers = tuple(int(p) for p in release.version.removeprefix("v").split("."))
        assert release.unix_socket == (numbers >= (1, 22, 1)), release


def test_release_named_takes_either_spelling() -> None:
    assert release_named("v1.25.2") is release_named("1.25.2") is not None
    assert release_named("v0.0.1") is None


# --- the choice -----------------------------------------------------------------------------------------------


def newest_covering(minor: int) -> str:
    """Independent of pick_release's loop: the highest version among the releases covering go1.<minor>."""
    covering = [r for r in RELEASES if r.min_go <= (1, minor) <= r.max_go]
    return max(covering, key=lambda r: tuple(int(p) for p in r.version[1:].split("."))).version


@pytest.mark.parametrize("minor", range(oldest_supported_go()[1], NEWEST.max_go[1] + 1))
def test_each_supported_minor_gets_the_newest_release_that_covers_it(minor: int) -> None:
    for spelled in (f"go1.{minor}", f"go1.{minor}.7", f"go1.{minor}rc1"):
        choice = pick_release(spelled)
        assert choice.release.version == newest_covering(minor)
        assert choice.release.covers((1, minor))
        assert not choice.check_go_version_off
        assert choice.warning is None


@pytest.mark.parametrize(
    ("go", "release"),
    [
        ("go1.27.4", "v1.27.2"),
        ("go1.26.8", "v1.27.2"),
        ("go1.25.0", "v1.27.2"),
        ("go1.24.9", "v1.26.2"),
        ("go1.23.12", "v1.25.2"),
        ("go1.22.12", "v1.25.2"),
        ("go1.21.13", "v1.24.2"),
        ("go1.20.14", "v1.22.1"),
        ("go1.19.13", "v1.22.1"),
        ("go1.18.10", "v1.21.0"),
    ],
)
def test_the_releases_measured_here(go: str, release: str) -> None:
    assert pick_release(go).release.version == release


@pytest.mark.parametrize("go", ["go1.28.0", "go1.30", "devel go1.28-abc123 Mon Jan 1 2027", "go2.0.1"])
def test_newer_than_every_release_takes_the_newest_unchecked_with_a_warning(go: str) -> None:
    choice = pick_release(go)
    assert choice.release is NEWEST
    assert choice.check_go_version_off
    assert choice.warning is not None
    assert go in choice.warning
    assert NEWEST.version in choice.warning
    assert "may be shown wrong" in choice.warning


@pytest.mark.parametrize("go", ["go1.17.13", "go1.16", "go1.9.7", "go1.0"])
def test_older_than_every_release_is_refused_naming_the_oldest_that_works(go: str) -> None:
    with pytest.raises(GoTooOld) as caught:
        pick_release(go)
    message = str(caught.value)
    oldest = oldest_supported_go()
    assert go in message
    assert f"go{oldest[0]}.{oldest[1]}" in message
    assert RELEASES[-1].version in message
    assert "dlvPath" in message


@pytest.mark.parametrize("go", [None, "", "weird"])
def test_unknown_go_version_takes_the_newest_with_a_warning(go: str | None) -> None:
    choice = pick_release(go)
    assert choice.release is NEWEST
    assert not choice.check_go_version_off
    assert choice.warning is not None and NEWEST.version in choice.warning


# --- against each release's own compat.go --------------------------------------------------------------------

_COMPAT_RE = re.compile(r"^\s*(Min|Max)SupportedVersionOfGo(Major|Minor)\s*=\s*(\d+)", re.MULTILINE)


def module_dir(version: str) -> Path:
    """The release's source in the Go module cache (downloaded from the module proxy if missing)."""
    require_tool(shutil.which("go") is not None, "the go command")
    done = subprocess.run(
        ["go", "mod", "download", "-json", f"github.com/go-delve/delve@{version}"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tempfile.gettempdir(),
        check=False,
    )
    info = json.loads(done.stdout) if done.stdout.strip() else {}
    assert done.returncode == 0 and "Dir" in info, (
        f"`go mod download github.com/go-delve/delve@{version}` failed: {info.get('Error') or done.stderr}"
    )
    return Path(info["Dir"])


@pytest.mark.parametrize("release", RELEASES, ids=[r.version for r in RELEASES])
def test_the_table_says_what_each_release_says_of_itself(release: DelveRelease) -> None:
    source = module_dir(release.version)
    compat = (source / "pkg" / "goversion" / "compat.go").read_text(encoding="utf-8")
    values = {(bound, part): int(number) for bound, part, number in _COMPAT_RE.findall(compat)}
    assert len(values) == 4, f"compat.go of {release.version} no longer has the four constants:\n{compat[:800]}"
    assert release.min_go == (values["Min", "Major"], values["Min", "Minor"])
    assert release.max_go == (values["Max", "Major"], values["Max", "Minor"])
    # Unix sockets came with Delve 1.22.1 (`--listen=unix:PATH`, in cmd/dlv/cmds/commands.go).
    commands = (source / "cmd" / "dlv" / "cmds" / "commands.go").read_text(encoding="utf-8")
    assert release.unix_socket == ('"unix:"' in commands or "unix:" in commands)


def test_caveats_come_only_for_the_go_versions_they_were_measured_on() -> None:
    assert pick_release("go1.20.14").caveats and "SIGQUIT" in pick_release("go1.20.14").caveats[0]
    assert pick_release("go1.21.13").caveats
    for go in ("go1.19.13", "go1.22.12", "go1.26.8"):
        assert pick_release(go).caveats == ()
