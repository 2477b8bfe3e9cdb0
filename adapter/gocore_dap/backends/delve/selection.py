"""Which dlv a session runs, with which flags: the launch pipeline's one call into Delve's set-up.

`prepare_delve(go_version, explicit)` returns a `DelveLaunch` for `DelveProcess.start`:
- an explicit dlv (launch.json `dlvPath`, else $GOCORE_DAP_DLV) always wins; it runs with its Go version
  check off, so a mismatch is a warning (the session compares Delve's own supported range after the start)
  rather than a refusal;
- otherwise the release `releases.pick_release` chooses for the program's Go version, installed on first
  use (progress reported while `go install` runs), with `--check-go-version=false` only when the program is
  newer than every release known.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Mapping
from pathlib import Path

import attrs

from gocore_dap.backends.delve.install import Progress, ensure_release
from gocore_dap.backends.delve.locate import dlv_version, explicit_dlv, installed_dlv
from gocore_dap.backends.delve.releases import Choice, DelveRelease, pick_release, release_named

__all__ = ["CHECK_GO_VERSION_OFF", "DelveLaunch", "choose_delve", "prepare_delve"]

CHECK_GO_VERSION_OFF = "--check-go-version=false"
# The first release whose `--listen` takes `unix:PATH`.
_FIRST_UNIX_SOCKET_RELEASE = (1, 22, 1)


@attrs.frozen
class DelveLaunch:
    dlv: Path
    # The table's release that was picked; for an explicit dlv, the table's entry of its version if any.
    release: DelveRelease | None
    flags: tuple[str, ...]  # extra `dlv core` flags
    unix_socket: bool  # False: loopback TCP with --only-same-user (Delve < 1.22.1)
    explicit: bool  # dlvPath / GOCORE_DAP_DLV chose it
    warnings: tuple[str, ...] = ()  # for the crash card and the report, always
    caveats: tuple[str, ...] = ()  # known differences for this Go version (releases.Caveat), where they apply


def _version_tuple(version: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in version.removeprefix("v").split("-")[0].split("."))
    except ValueError:
        return None


def _explicit_launch(path: Path) -> DelveLaunch:
    reported = dlv_version(path)  # ~20 ms; only an explicit dlv's abilities are unknown
    numbers = _version_tuple(reported) if reported else None
    unix = numbers is None or numbers >= _FIRST_UNIX_SOCKET_RELEASE
    release = release_named(reported) if reported else None
    return DelveLaunch(path, release, (CHECK_GO_VERSION_OFF,), unix, explicit=True)


def choose_delve(
    go_version: str | None,
    explicit: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    go: str = "go",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> DelveLaunch:
    """Blocking form of `prepare_delve` (an install runs in this thread)."""
    chosen = explicit_dlv(explicit, env=env)
    if chosen is not None:
        return _explicit_launch(chosen)
    choice = pick_release(go_version)
    dlv = ensure_release(choice.release, env=env, go=go, progress=progress, cancel=cancel)
    return _picked_launch(dlv, choice)


def _picked_launch(dlv: Path, choice: Choice) -> DelveLaunch:
    return DelveLaunch(
        dlv,
        choice.release,
        (CHECK_GO_VERSION_OFF,) if choice.check_go_version_off else (),
        choice.release.unix_socket,
        explicit=False,
        warnings=(choice.warning,) if choice.warning else (),
        caveats=choice.caveats,
    )


def installed_launch(go_version: str | None, *, env: Mapping[str, str] | None = None) -> DelveLaunch | None:
    """What `prepare_delve` picks for `go_version` with no explicit dlv, when that release is installed
    already (None when it would be installed first): nothing runs, nothing is downloaded."""
    choice = pick_release(go_version)
    found = installed_dlv(choice.release.version, env=env)
    return _picked_launch(found, choice) if found is not None else None


async def prepare_delve(
    go_version: str | None,
    explicit: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    go: str = "go",
    progress: Progress | None = None,
) -> DelveLaunch:
    """The dlv to run for a program built with `go_version` (`PreflightResult.go_version`), and how.

    Raises DelveUnavailable (errors.py): a bad explicit dlv (DlvNotFound), a Go older than any release
    (GoTooOld), a failed install (DelveInstallError, its message names the command to run by hand).
    `progress` is called on the event loop's thread. Cancelling the call ends a running `go install`.
    """
    chosen = explicit_dlv(explicit, env=env)
    if chosen is not None:
        return await asyncio.to_thread(_explicit_launch, chosen)
    choice = pick_release(go_version)
    found = installed_dlv(choice.release.version, env=env)
    if found is None:
        loop = asyncio.get_running_loop()

        def relay(fraction: float | None, text: str) -> None:
            if progress is not None:
                loop.call_soon_threadsafe(progress, fraction, text)

        cancel = threading.Event()
        work = loop.run_in_executor(
            None, functools.partial(ensure_release, choice.release, env=env, go=go, progress=relay, cancel=cancel)
        )
        try:
            found = await asyncio.shield(work)
        except asyncio.CancelledError:
            cancel.set()  # go install is killed; the lock and staging folder are released by the thread
            raise
    return _picked_launch(found, choice)
