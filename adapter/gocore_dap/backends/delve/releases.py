"""The Delve releases gocore-dap uses, the Go versions each reads, and the choice of one for a core.

Each Delve release refuses binaries outside a narrow window of Go versions (its `pkg/goversion/compat.go`:
"Go version go1.24.9 is too old for this version of Delve"), and production services lag the newest Go by
years. So the release is picked per core from the Go version in the program's build info, preferring the
newest release that covers it (fixes for older Go keep landing in newer Delve while it supports them).

The ranges below are each release's own `MinSupportedVersionOfGo*` / `MaxSupportedVersionOfGo*`;
tests/unit/test_releases.py checks them against that file of each release in the Go module cache.
Releases older than v1.22.1 cannot listen on a unix socket: they are driven over loopback TCP.
"""

from __future__ import annotations

import re
from typing import Final

import attrs

from gocore_dap.backends.delve.errors import BackendError, DelveUnavailable

__all__ = [
    "RELEASES",
    "Caveat",
    "Choice",
    "DelveRelease",
    "GoTooOld",
    "GoVersion",
    "UnknownGoVersion",
    "newest_release",
    "oldest_supported_go",
    "parse_go_version",
    "pick_release",
    "release_named",
]

GoVersion = tuple[int, int]  # (major, minor): Delve's ranges are by minor release


@attrs.frozen
class Caveat:
    """A known difference from what the runtime printed, measured with a release on some Go versions."""

    min_go: GoVersion
    max_go: GoVersion
    text: str

    def applies(self, go: GoVersion) -> bool:
        return self.min_go <= go <= self.max_go


# Measured with the corpus program external_abrt (a healthy server killed with SIGABRT from outside).
_EXTERNAL_SIGNAL_GO_1_20_1_21 = Caveat(
    (1, 20),
    (1, 21),
    "A core made by a signal from outside (kill -ABRT) shows 'SIGQUIT: quit' instead of 'SIGABRT: abort': on "
    "Go 1.20 and 1.21 the core's current thread is one the runtime relayed SIGQUIT to. Goroutines and stacks "
    "are right.",
)


@attrs.frozen
class DelveRelease:
    version: str  # "v1.25.2", as `go install ...@VERSION` takes it
    min_go: GoVersion
    max_go: GoVersion
    # `--listen=unix:PATH` (Delve >= 1.22.1); otherwise loopback TCP with --only-same-user.
    unix_socket: bool = True
    # Differences from what the runtime printed, measured with this release on some of its Go versions.
    caveats: tuple[Caveat, ...] = ()

    def covers(self, go: GoVersion) -> bool:
        return self.min_go <= go <= self.max_go

    @property
    def go_range(self) -> str:
        return f"Go {_dotted(self.min_go)} to {_dotted(self.max_go)}"


# Newest first; the first is gocore_dap.DELVE_VERSION (the pinned release setup installs). Every minor
# from the oldest supported Go up to the newest is covered by at least one release;
# `pick_release` takes the first (newest) that covers a version.
RELEASES: Final[tuple[DelveRelease, ...]] = (
    DelveRelease("v1.27.2", (1, 25), (1, 27)),
    DelveRelease("v1.26.2", (1, 24), (1, 26)),
    DelveRelease("v1.25.2", (1, 22), (1, 25)),
    DelveRelease("v1.24.2", (1, 21), (1, 24), caveats=(_EXTERNAL_SIGNAL_GO_1_20_1_21,)),
    DelveRelease("v1.22.1", (1, 19), (1, 22), caveats=(_EXTERNAL_SIGNAL_GO_1_20_1_21,)),
    DelveRelease("v1.21.0", (1, 18), (1, 21), unix_socket=False),
)

_GO_VERSION_RE = re.compile(r"(?:^|\s|devel\s+)go(\d+)\.(\d+)")


class UnknownGoVersion(BackendError):
    """Not a Go version string (`go1.22.12`, `go1.21rc2`, `devel go1.27-abc123 ...`)."""


class GoTooOld(DelveUnavailable):
    """The program was built with a Go older than any Delve release gocore-dap can use reads."""

    def __init__(self, go_version: str) -> None:
        oldest = oldest_supported_go()
        release = RELEASES[-1]
        super().__init__(
            f"The program was built with {go_version}, which no Delve release that gocore-dap can install "
            f"reads: the oldest Go supported is go{_dotted(oldest)} (Delve {release.version}, {release.go_range}). "
            "A core of this program cannot be opened; rebuild it with a newer Go to debug its next crash. "
            'To try anyway, set "dlvPath" (or GOCORE_DAP_DLV) to a Delve release that supports '
            f"{go_version}."
        )
        self.go_version = go_version


@attrs.frozen
class Choice:
    release: DelveRelease
    # The core is newer than every release in the table: run the newest one with --check-go-version=false.
    check_go_version_off: bool = False
    # For the crash card (and the report): why what is shown may be wrong, or None.
    warning: str | None = None
    # The release's known caveats for this Go version: to show only where they apply (e.g. an external signal).
    caveats: tuple[str, ...] = ()


def _dotted(go: GoVersion) -> str:
    return f"{go[0]}.{go[1]}"


def parse_go_version(text: str) -> GoVersion:
    """(1, 22) from `go1.22.12`, `go1.22`, `go1.22rc1`, `devel go1.27-abc123 Tue ...`; UnknownGoVersion else."""
    match = _GO_VERSION_RE.search(text.strip())
    if match is None:
        raise UnknownGoVersion(f"not a Go version: {text!r}")
    return int(match.group(1)), int(match.group(2))


def newest_release() -> DelveRelease:
    return RELEASES[0]


def oldest_supported_go() -> GoVersion:
    return min(release.min_go for release in RELEASES)


def release_named(version: str) -> DelveRelease | None:
    """The table's entry for `v1.25.2` (or `1.25.2`), or None."""
    wanted = "v" + version.removeprefix("v")
    return next((r for r in RELEASES if r.version == wanted), None)


def pick_release(go_version: str | None) -> Choice:
    """The Delve release for a program built with `go_version` (its build info's `go1.X.Y`).

    Newer than every release: the newest, with its version check off and a warning. Older than every release:
    GoTooOld. Unknown (no build info, or a layout older than Go 1.18's): the newest release with a warning;
    Delve itself then refuses a Go it does not support, in its own words.
    """
    newest = newest_release()
    if not go_version:
        return Choice(
            newest,
            warning="The program's Go version could not be read from its build information (a Go older than "
            f"1.18, or the build information was removed); gocore-dap uses Delve {newest.version}, which "
            f"reads {newest.go_range}.",
        )
    try:
        go = parse_go_version(go_version)
    except UnknownGoVersion:
        return Choice(
            newest,
            warning=f"The program's Go version {go_version!r} is not one gocore-dap understands; it uses Delve "
            f"{newest.version}, which reads {newest.go_range}.",
        )
    for release in RELEASES:
        if release.covers(go):
            return Choice(release, caveats=tuple(c.text for c in release.caveats if c.applies(go)))
    if go > newest.max_go:
        return Choice(
            newest,
            check_go_version_off=True,
            warning=f"The program was built with {go_version}, newer than any Delve release gocore-dap knows "
            f"(the newest, {newest.version}, reads {newest.go_range}); it was opened with {newest.version} "
            "anyway. Goroutines, stacks and variables may be shown wrong where the runtime changed. "
            "A newer gocore-dap may know a newer Delve.",
        )
    raise GoTooOld(go_version)
