"""DWARF for a program that was shipped without it: find the debug information kept apart.

Release pipelines strip the binary they ship and keep its DWARF elsewhere. Three ways lead back to it,
tried in this order by :func:`find_debug_info`:

1. ``symbolFile``: a file the user says is this program with its DWARF (the unstripped build, or an
   ``objcopy --only-keep-debug`` file). It must carry the same build ID; a different one is an error,
   never a silent fallback, because the stacks would be wrong.
2. Debug-info directories: those of the launch configuration, then the program's own directory (for
   its ``.gnu_debuglink`` name, as gdb and Delve do) and the system's ``/usr/lib/debug``. Looked up by
   GNU build ID (``.build-id/xx/rest.debug``) and by the ``.gnu_debuglink`` name, whose CRC-32 must
   match the file.
3. debuginfod: the local client caches first, then each server of ``DEBUGINFOD_URLS``
   (``GET URL/buildid/ID/debuginfo``) with timeouts, into a private cache directory.

Every place looked at is recorded (:class:`Looked`) so that a refusal can list them. What Delve is given
follows from how the file was found (:class:`DebugInfo`): a complete executable (an unstripped build) is
opened by Delve instead of the stripped one; a debug-only file is handed over through a private Delve
config (``backends/delve/debuginfo_config.py``), because Delve looks only in its configured directories
and would not find, say, a debuginfod download in this module's cache.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final, Literal

import attrs

from gocore_dap.preflight.elf import (
    PT_LOAD,
    SHT_NOBITS,
    SHT_NOTE,
    BuildIds,
    ElfFile,
    ElfFormatError,
    build_ids_from_notes,
)
from gocore_dap.preflight.exeinfo import ExeInfo

__all__ = [
    "SYSTEM_DEBUG_DIR",
    "DebugInfo",
    "DebugInfoOptions",
    "DebugInfoSearch",
    "Looked",
    "Progress",
    "default_cache_dir",
    "find_debug_info",
]

Progress = Callable[[float | None, str], None]
Source = Literal["symbol-file", "directory", "debuginfod"]

SYSTEM_DEBUG_DIR: Final = Path("/usr/lib/debug")
DEFAULT_TIMEOUT: Final = 20.0
_CHUNK: Final = 256 * 1024
# A debuginfod answer bigger than this is not the debug info of one Go program.
_MAX_DOWNLOAD: Final = 4 << 30


@attrs.frozen
class DebugInfoOptions:
    """Where to look; the defaults are what a user without launch attributes gets."""

    directories: tuple[Path, ...] = ()
    symbol_file: Path | None = None
    # None: from the DEBUGINFOD_URLS environment variable (space-separated, as elfutils reads it).
    debuginfod_urls: tuple[str, ...] | None = None
    system_directories: tuple[Path, ...] = (SYSTEM_DEBUG_DIR,)
    # Where debuginfod downloads are kept (None: $XDG_CACHE_HOME/gocore-dap/debuginfod).
    cache_dir: Path | None = None
    # Seconds for connecting and for each read of a debuginfod answer.
    timeout: float = DEFAULT_TIMEOUT
    # How the messages name two of the three ways: the same words from every front end, so that an
    # editor and `gocore-dap report` give one message for the same files.
    directories_option: str = 'the launch attribute "debugInfoDirectories" (report: --debug-info-dir)'
    symbol_file_option: str = '"symbolFile" (report: --symbol-file)'

    def urls(self, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
        if self.debuginfod_urls is not None:
            return self.debuginfod_urls
        value = (os.environ if environ is None else environ).get("DEBUGINFOD_URLS", "")
        return tuple(u for u in value.split() if u)


@attrs.frozen
class Looked:
    """One place looked at, and what was there."""

    how: Literal["symbol-file", "build-id", "debuglink", "debuginfod-cache", "debuginfod"]
    where: str
    answer: str  # "found", "not there", "CRC mismatch ...", "HTTP 404 Not Found", ...

    @property
    def found(self) -> bool:
        return self.answer == "found"

    def __str__(self) -> str:
        return f"{self.where}: {self.answer}"


@attrs.frozen
class DebugInfo:
    """Debug information found for a stripped program, and how Delve gets to it."""

    source: Source
    file: Path
    # What Delve opens as the executable: the program, or the unstripped build given as symbolFile.
    delve_program: Path
    # True when Delve must be told where the file is (a private config; see debuginfo_config.py).
    needs_handoff: bool
    gnu_build_id: str | None

    def describe(self) -> str:
        how = {
            "symbol-file": "the symbol file",
            "directory": "a debug-info directory",
            "debuginfod": "debuginfod",
        }[self.source]
        return f"debug information from {how}: {self.file}"


@attrs.frozen
class DebugInfoSearch:
    """The outcome of :func:`find_debug_info`: a find, or where it looked and why that failed."""

    found: DebugInfo | None
    looked: tuple[Looked, ...]
    # A symbolFile that cannot be used: (issue code, message). An error when the program needs it.
    symbol_file_problem: tuple[str, str] | None = None
    seconds: float = 0.0


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gocore-dap" / "debuginfod"


# ---------------------------------------------------------------------------------------------
# Candidate files


@attrs.frozen
class _Candidate:
    """What a possible debug file is: usable when it has DWARF."""

    has_dwarf: bool
    build_ids: BuildIds
    # A complete executable (code in the file), which Delve can open in place of the stripped one.
    is_executable: bool


def _inspect(path: Path) -> _Candidate | str:
    """The candidate's DWARF and build IDs, or why it cannot be used."""
    try:
        with ElfFile(path) as elf:
            sections = elf.sections
            names = {s.name: s for s in sections}
            dwarf = names.get(".debug_info") or names.get(".zdebug_info")
            has_dwarf = dwarf is not None and dwarf.sh_type != SHT_NOBITS and dwarf.size > 0
            ids = BuildIds()
            for s in sections:
                if s.sh_type == SHT_NOTE and s.size:
                    ids = ids.merged(build_ids_from_notes(elf.notes_in(s.offset, s.size)[0]))
            text = names.get(".text")
            is_exe = (
                elf.header.e_type in (2, 3)
                and text is not None
                and text.sh_type != SHT_NOBITS
                and any(p.p_type == PT_LOAD for p in elf.program_headers)
            )
    except FileNotFoundError:
        return "not there"
    except IsADirectoryError:
        return "a directory, not a file"
    except PermissionError:
        return "not readable by this user"
    except ElfFormatError as exc:
        return f"not a usable ELF file ({exc})"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return _Candidate(has_dwarf, ids, is_exe)


def _ids_match(exe: BuildIds, other: BuildIds) -> bool | None:
    """True/False when a build ID present in both decides; None when none can be compared."""
    if exe.gnu and other.gnu:
        return exe.gnu == other.gnu
    if exe.go and other.go:
        return exe.go == other.go
    return None


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc


# ---------------------------------------------------------------------------------------------
# The search


def find_debug_info(
    exe: ExeInfo,
    options: DebugInfoOptions | None = None,
    *,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
) -> DebugInfoSearch:
    """Find DWARF for ``exe`` (which has none of its own); see the module's docstring for the order."""
    options = options or DebugInfoOptions()
    started = time.monotonic()
    looked: list[Looked] = []

    def done(found: DebugInfo | None, problem: tuple[str, str] | None = None) -> DebugInfoSearch:
        return DebugInfoSearch(found, tuple(looked), problem, time.monotonic() - started)

    if options.symbol_file is not None:
        found, problem = _try_symbol_file(exe, options.symbol_file, looked)
        if found is not None or problem is not None:
            return done(found, problem)

    found = _search_directories(exe, options, looked)
    if found is None:
        found = _try_debuginfod(exe, options, looked, progress, environ)
    return done(found)


def _try_symbol_file(
    exe: ExeInfo, symbol_file: Path, looked: list[Looked]
) -> tuple[DebugInfo | None, tuple[str, str] | None]:
    path = symbol_file.expanduser()
    what = _inspect(path)
    if isinstance(what, str):
        looked.append(Looked("symbol-file", str(path), what))
        return None, (
            "symbol-file-unusable",
            f"The symbol file '{path}' given for the program '{exe.path}' is {what}. Give the unstripped "
            "build of the program that crashed (or the debug file `objcopy --only-keep-debug` made from it).",
        )
    if not what.has_dwarf:
        looked.append(Looked("symbol-file", str(path), "has no DWARF either"))
        return None, (
            "symbol-file-unusable",
            f"The symbol file '{path}' given for the program '{exe.path}' has no DWARF debug information "
            "either (it is stripped or linked with -ldflags='-s -w' too). Give the unstripped build of "
            "the program that crashed.",
        )
    match = _ids_match(exe.build_ids, what.build_ids)
    if match is not True:
        why = (
            f"'{exe.path}' has {exe.build_ids.describe()}, but '{path}' has {what.build_ids.describe()}"
            if match is False
            else f"neither file carries a build ID that both share ('{exe.path}' has "
            f"{exe.build_ids.describe()}, '{path}' has {what.build_ids.describe()}), so they cannot be "
            "told to be the same program"
        )
        looked.append(Looked("symbol-file", str(path), "a different program (build IDs differ)"))
        return None, (
            "symbol-file-mismatch",
            f"The symbol file '{path}' is not the same program as '{exe.path}': {why}. A symbol file "
            "must come from the very build that was shipped (the same source, Go version, flags and "
            "dependencies); with another build Delve would show wrong stacks and variables. Use the "
            "unstripped binary or debug file kept by that build.",
        )
    looked.append(Looked("symbol-file", str(path), "found"))
    return (
        DebugInfo(
            source="symbol-file",
            file=path,
            delve_program=path if what.is_executable else exe.path,
            needs_handoff=not what.is_executable,
            gnu_build_id=exe.build_ids.gnu,
        ),
        None,
    )


def _search_directories(exe: ExeInfo, options: DebugInfoOptions, looked: list[Looked]) -> DebugInfo | None:
    """The first verified debug file in the directories, in the order of the module's docstring."""
    gnu = exe.build_ids.gnu
    link = exe.debuglink
    # As Delve does: the directory of the path given, symlinks not resolved.
    program_dir = exe.path.absolute().parent

    def by_build_id(directory: Path) -> list[Path]:
        if gnu is None or len(gnu) <= 2:
            return []
        paths = [directory / ".build-id" / gnu[:2] / f"{gnu[2:]}.debug"]
        if directory.name == ".build-id":  # the directory itself is the .build-id tree (Delve's default)
            paths.append(directory / gnu[:2] / f"{gnu[2:]}.debug")
        return paths

    def by_debuglink(directory: Path) -> list[Path]:
        if link is None:
            return []
        # gdb's rule (the program's directory under the debug directory), and the file at the top of
        # the directory, which is where people put it.
        return [directory / str(program_dir).lstrip("/") / link[0], directory / link[0]]

    def by_program_dir() -> list[Path]:
        return [program_dir / link[0], program_dir / ".debug" / link[0]] if link else []

    plan: list[tuple[Literal["build-id", "debuglink"], Path]] = []
    for given in options.directories:
        directory = given.expanduser()
        if not directory.is_dir():
            # Named by the user: a typo must show, not read as "the file is not there".
            looked.append(Looked("build-id", str(directory), "no such directory"))
            continue
        plan += [("build-id", p) for p in by_build_id(directory)]
        plan += [("debuglink", p) for p in by_debuglink(directory)]
    plan += [("debuglink", p) for p in by_program_dir()]
    for directory in options.system_directories:
        plan += [("build-id", p) for p in by_build_id(directory)]
        plan += [("debuglink", p) for p in by_debuglink(directory)]

    seen: set[Path] = set()
    for how, path in plan:
        if path in seen:
            continue
        seen.add(path)
        verdict = _verify_candidate(exe, path, how)
        if isinstance(verdict, str):
            looked.append(Looked(how, str(path), verdict))
            continue
        looked.append(Looked(how, str(path), "found"))
        return DebugInfo(source="directory", file=path, delve_program=exe.path, needs_handoff=True, gnu_build_id=gnu)
    return None


def _verify_candidate(exe: ExeInfo, path: Path, how: str) -> _Candidate | str:
    if not path.exists():
        return "not there"
    what = _inspect(path)
    if isinstance(what, str):
        return what
    if not what.has_dwarf:
        return "has no DWARF"
    if how == "debuglink" and exe.debuglink is not None:
        try:
            crc = _crc32(path)
        except OSError as exc:
            return f"cannot be read ({exc.strerror or exc})"
        if crc != exe.debuglink[1]:
            return (
                f"CRC mismatch (the program's .gnu_debuglink wants {exe.debuglink[1]:08x}, the file has "
                f"{crc:08x}): a debug file of another build"
            )
    if _ids_match(exe.build_ids, what.build_ids) is False:
        return f"a different program ({what.build_ids.describe()})"
    return what


# ---------------------------------------------------------------------------------------------
# debuginfod


def _client_cache_dirs(environ: Mapping[str, str]) -> list[Path]:
    """Where elfutils' debuginfod client (debuginfod-find, gdb, Delve) keeps what it fetched."""
    if environ.get("DEBUGINFOD_CACHE_PATH"):
        return [Path(environ["DEBUGINFOD_CACHE_PATH"])]
    dirs = []
    if environ.get("XDG_CACHE_HOME"):
        dirs.append(Path(environ["XDG_CACHE_HOME"]) / "debuginfod_client")
    with contextlib.suppress(RuntimeError):
        dirs.append(Path.home() / ".cache" / "debuginfod_client")
    return dirs


def _try_debuginfod(
    exe: ExeInfo,
    options: DebugInfoOptions,
    looked: list[Looked],
    progress: Progress | None,
    environ: Mapping[str, str] | None,
) -> DebugInfo | None:
    env = os.environ if environ is None else environ
    urls = options.urls(env)
    gnu = exe.build_ids.gnu
    if gnu is None:
        for url in urls:
            looked.append(
                Looked(
                    "debuginfod",
                    url,
                    "not asked: the program has no GNU build ID, which debuginfod needs "
                    f"(the Go linker of {exe.go_version or 'this program'} did not write one)",
                )
            )
        return None
    cache = options.cache_dir or default_cache_dir(env)
    for directory in (cache, *_client_cache_dirs(env)):
        path = directory / gnu / "debuginfo"
        verdict = _verify_candidate(exe, path, "build-id")
        looked.append(Looked("debuginfod-cache", str(path), "found" if not isinstance(verdict, str) else verdict))
        if not isinstance(verdict, str):
            return _debuginfod_result(exe, path)
    for url in urls:
        dest = cache / gnu / "debuginfo"
        answer = _download(url, gnu, dest, options.timeout, progress)
        if answer == "found":
            verdict = _verify_candidate(exe, dest, "build-id")
            if isinstance(verdict, str):
                answer = f"answered with a file that cannot be used ({verdict})"
                with contextlib.suppress(OSError):
                    dest.unlink()
        looked.append(Looked("debuginfod", url, answer))
        if answer == "found":
            return _debuginfod_result(exe, dest)
    return None


def _debuginfod_result(exe: ExeInfo, path: Path) -> DebugInfo:
    # Even a complete executable is handed over as debug info: the program stays what Delve opens.
    return DebugInfo(
        source="debuginfod", file=path, delve_program=exe.path, needs_handoff=True, gnu_build_id=exe.build_ids.gnu
    )


def _download(url: str, build_id: str, dest: Path, timeout: float, progress: Progress | None) -> str:
    """Fetch ``URL/buildid/ID/debuginfo`` into ``dest``; "found" or what went wrong."""
    address = f"{url.rstrip('/')}/buildid/{build_id}/debuginfo"
    if urllib.parse.urlsplit(address).scheme not in ("http", "https"):
        return "not an http:// or https:// URL"
    request = urllib.request.Request(address, headers={"User-Agent": "gocore-dap"})
    if progress is not None:
        progress(None, f"Asking {url} for the debug information of build {build_id[:12]}...")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        return f"not asked: the cache directory {dest.parent} cannot be created ({exc.strerror or exc})"
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason}" + (" (it does not have this build)" if exc.code == 404 else "")
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            return f"no answer within {timeout:g} s"
        return f"unreachable ({getattr(exc.reason, 'strerror', None) or exc.reason})"
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except OSError as exc:
        return f"failed ({exc.strerror or exc})"
    try:
        with response:
            total = int(response.headers.get("Content-Length") or 0) or None
            if total is not None and total > _MAX_DOWNLOAD:
                return f"answered with {total:,} bytes, too large for debug information"
            fd, scratch = tempfile.mkstemp(prefix=".debuginfo-", dir=dest.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    got = _copy(response.read, out.write, total, url, progress)
                if got == 0:
                    return "answered with an empty file"
                os.replace(scratch, dest)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(scratch)
    except TimeoutError:
        return f"stopped sending (no data for {timeout:g} s)"
    except OSError as exc:
        return f"failed while sending ({exc.strerror or exc})"
    return "found"


def _copy(
    read: Callable[[int], bytes],
    write: Callable[[bytes], object],
    total: int | None,
    url: str,
    progress: Progress | None,
) -> int:
    got = 0
    last = 0.0
    while chunk := read(_CHUNK):
        got += len(chunk)
        if got > _MAX_DOWNLOAD:
            raise OSError(f"more than {_MAX_DOWNLOAD:,} bytes")
        write(chunk)
        now = time.monotonic()
        if progress is not None and now - last > 0.25:
            last = now
            size = f"{got / (1 << 20):.1f} MiB" + (f" of {total / (1 << 20):.1f} MiB" if total else "")
            progress(got / total if total else None, f"Downloading debug information from {url}: {size}")
    return got


# ---------------------------------------------------------------------------------------------
# The refusal


def describe_not_found(exe: ExeInfo, search: DebugInfoSearch, options: DebugInfoOptions | None = None) -> str:
    """Where the search looked and the three ways to provide debug information (for PROGRAM_NO_DWARF)."""
    options = options or DebugInfoOptions()
    ids = exe.build_ids
    keys = []
    if ids.gnu:
        keys.append(f"GNU build ID {ids.gnu}")
    if exe.debuglink:
        keys.append(f".gnu_debuglink '{exe.debuglink[0]}' (CRC {exe.debuglink[1]:08x})")
    key_text = " and ".join(keys) if keys else "no GNU build ID and no .gnu_debuglink to look it up by"
    places = _summarise_looked(search.looked)
    build_id_path = f".build-id/{ids.gnu[:2]}/{ids.gnu[2:]}.debug" if ids.gnu and len(ids.gnu) > 2 else None
    dir_hint = (
        f"a directory holding {build_id_path}"
        + (f" or {exe.debuglink[0]}" if exe.debuglink else "")
        + " (made with `objcopy --only-keep-debug`)"
        if build_id_path
        else (
            f"a directory holding {exe.debuglink[0]} (made with `objcopy --only-keep-debug`)"
            if exe.debuglink
            else "a directory of debug files (this program has no GNU build ID or .gnu_debuglink to find "
            "one by, so use the symbol file instead)"
        )
    )
    return (
        f"No separate debug information was found for it ({key_text}). Looked in: {places}. "
        f"Provide it in one of three ways: {options.directories_option}: [{dir_hint}]; "
        f"{options.symbol_file_option}: the unstripped build of this same program (same build ID); or a "
        "debuginfod server that has this build, in DEBUGINFOD_URLS."
    )


def _summarise_looked(looked: Sequence[Looked]) -> str:
    if not looked:
        return "nowhere (no directory, symbol file or debuginfod server to ask)"
    parts = []
    misses_in_dirs: dict[str, list[str]] = {}
    for item in looked:
        if item.how in ("build-id", "debuglink") and item.answer == "not there":
            parent = str(Path(item.where).parent)
            misses_in_dirs.setdefault(parent, []).append(Path(item.where).name)
            continue
        if item.how == "debuginfod-cache" and item.answer == "not there":
            continue  # the caches are an implementation detail unless they held something wrong
        label = "debuginfod " if item.how == "debuginfod" else ""
        parts.append(f"{label}{item.where} ({item.answer})")
    missing = [
        f"{d}/{{{', '.join(names)}}}" if len(names) > 1 else f"{d}/{names[0]}" for d, names in misses_in_dirs.items()
    ]
    if missing:
        parts.insert(0, "; ".join(missing) + " (not there)")
    if not any(i.how == "debuginfod" for i in looked):
        parts.append("no debuginfod server (DEBUGINFOD_URLS is not set)")
    return "; ".join(parts)


def remove_cached(build_id: str, options: DebugInfoOptions | None = None) -> None:
    """Forget a debuginfod download (tests; a user who replaced a server's file)."""
    cache = (options.cache_dir if options and options.cache_dir else default_cache_dir()) / build_id
    shutil.rmtree(cache, ignore_errors=True)
