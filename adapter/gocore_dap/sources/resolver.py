"""From the source paths in a Go binary to files on this machine, and back.

A core often comes from elsewhere: a `-trimpath` build names `example.com/svc/main.go`, a build on a CI
machine names `/build/src/svc/main.go`, and the standard library of the Go release that built it is
rarely the one installed here. :class:`SourceResolver` derives the mapping from the binary's build info
(`goviews.build_info.BuildInfo`) and the launch (`substitutePath`, `sourceRoot`, workspace folders,
`cwd`):

- explicit `substitutePath` rules first (vscode-go's direction, as `goviews.paths.PathMapper`), when the
  file they lead to exists;
- the main module: the directory whose go.mod declares its module path (:mod:`.workspace`);
- dependencies: the module cache at the exact versions recorded (or the `replace` target);
- the standard library: the sources of the exact Go release (the local Go root when it is that release,
  else the `golang.org/toolchain` module of that version in the module cache, which the go command can
  fetch when the caller allows it);
- compiler-generated code has no source and says so.

Every answer is cached; a miss carries a reason a user can act on, and :meth:`SourceResolver.summary`
gathers them for one message per session. Nothing here talks to Delve or the network unless the caller
set ``allow_fetch``; the first answers may read directories (bounded) and run `go env` once, so callers
on an event loop run it in a thread. The object is thread-safe.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final, Literal

import attrs

from gocore_dap.goviews.build_info import BuildInfo
from gocore_dap.goviews.paths import PathMapper
from gocore_dap.sources.gopaths import (
    STDLIB_TOP_LEVEL,
    TOOLCHAIN_MODULE,
    ModuleFile,
    escape_module_path,
    go_release,
    is_generated,
    split_module_file,
    split_toolchain_path,
    toolchain_version,
)
from gocore_dap.sources.gotool import DownloadFailed, GoTool, Progress, download_command
from gocore_dap.sources.workspace import ModuleFinder

__all__ = ["Kind", "Resolved", "SourceOptions", "SourceResolver", "Unresolved"]

Kind = Literal["main", "dependency", "stdlib", "generated", "unknown"]

_EXPLICIT_MISS: Final = "substitutePath maps it to '{target}', which does not exist"


@attrs.frozen
class Resolved:
    """Where a binary's source path is on this machine; ``path`` None means not found, ``reason`` why."""

    path: str | None
    reason: str | None
    kind: Kind
    # What the file belongs to: a module path, "example.com/lib@v1.2.3", or "go1.25.0" for the standard library.
    owner: str | None = None


@attrs.frozen
class SourceOptions:
    substitute_path: Sequence[tuple[str, str]] = ()  # (editor path, path in the binary), as vscode-go
    cwd: str | None = None
    source_root: str | None = None
    workspace_folders: Sequence[str] = ()
    # Override what `go env` says (tests; a user with an unusual setup).
    gomodcache: str | None = None
    goroot: str | None = None
    # Run `go mod download` for a missing module or standard library. Never without the caller asking.
    allow_fetch: bool = False


@attrs.frozen
class Unresolved:
    """Source files of one owner that could not be found, for the one-time message."""

    kind: Kind
    owner: str
    reason: str
    files: int
    example: str


@attrs.frozen
class _Download:
    module: str
    version: str


class SourceResolver:
    def __init__(
        self,
        build_info: BuildInfo | None,
        options: SourceOptions | None = None,
        *,
        progress: Progress | None = None,
        go: GoTool | None = None,
        binary_files: Iterable[str] = (),
    ) -> None:
        self.build_info = build_info or BuildInfo()
        self.options = options or SourceOptions()
        self.progress = progress
        self.go = go or GoTool()
        self.release = go_release(self.build_info.go_version)
        self._explicit = PathMapper(self.options.substitute_path)
        self._has_explicit = bool(self.options.substitute_path)
        starts = [s for s in (self.options.source_root, *self.options.workspace_folders, self.options.cwd) if s]
        self._finder = ModuleFinder(starts)
        self._starts = starts
        self._deps: dict[str, str] = dict(self.build_info.dependencies)
        self._lock = threading.RLock()
        self._cache: dict[str, Resolved] = {}
        self._hinted: set[str] = set()
        # Learnt prefixes of an absolute build: where the main module and the Go root were on the build machine.
        self._orig_main_root: str | None = None
        self._orig_goroot: str | None = None
        self._stdlib_dir: Path | bool | None = False  # False: not looked for yet
        self._module_dirs: dict[tuple[str, str], Path | None] = {}
        self._failed_downloads: dict[tuple[str, str], str] = {}
        self._wanted: set[_Download] = set()
        self._binary_files = list(binary_files)
        self._binary_set = set(self._binary_files)
        for path in self._binary_files[:4096]:
            self._learn_goroot(path)

    # -- public ----------------------------------------------------------------------------------------------

    @property
    def main_module(self) -> str:
        return self.build_info.main_module_path

    def prepare(self) -> None:
        """Do the one-time work now (`go env`, indexing the workspace's go.mod files, finding the Go release's
        sources): a caller may run it in a thread while Delve starts, so that the first frames answer at once."""
        with self._lock:
            self.go.env()
            self._main_roots()
            if self.release is not None:
                self._stdlib_src(self.release)

    def to_local(self, path: str, function: str | None = None) -> Resolved:
        """The local file for a path named in the binary (a frame's file). ``function`` (the frame's
        function name) helps to place the main module of a non-trimpath build from another machine."""
        with self._lock:
            hit = self._cache.get(path)
            # A miss is tried once more when a function name comes along: it can place the file.
            if hit is not None and (hit.path is not None or function is None or path in self._hinted):
                return hit
            if function is not None:
                self._hinted.add(path)
            resolved = self._resolve(path, function)
            self._cache[path] = resolved
            return resolved

    def to_binary(self, local_path: str) -> str | None:
        """The path the binary uses for a local file (breakpoints, the language server); None if none."""
        with self._lock:
            return self._to_binary(os.path.normpath(local_path))

    def summary(self) -> list[Unresolved]:
        """Owners whose files could not be found, most files first."""
        with self._lock:
            groups: dict[tuple[Kind, str], list[tuple[str, Resolved]]] = {}
            for binary_path, r in self._cache.items():
                if r.path is None and r.kind != "generated":
                    groups.setdefault((r.kind, r.owner or binary_path), []).append((binary_path, r))
            out = [
                Unresolved(kind, owner, items[0][1].reason or "", len(items), items[0][0])
                for (kind, owner), items in groups.items()
            ]
            return sorted(out, key=lambda u: (-u.files, u.owner))

    def summary_text(self) -> str | None:
        """One message for the session's output: what did not open and what to do; None if all opened."""
        missing = self.summary()
        if not missing:
            return None
        lines = [f"Source files not found for {sum(u.files for u in missing)} path(s) of the program:"]
        for u in missing:
            lines.append(f"- {u.owner} ({u.files} file{'s' if u.files != 1 else ''}, e.g. {u.example}): {u.reason}")
        return "\n".join(lines)

    def downloads_wanted(self) -> list[str]:
        """`go mod download` commands that would bring missing sources (what allow_fetch would run)."""
        with self._lock:
            return sorted(download_command(d.module, d.version) for d in self._wanted)

    def fetch_missing(self, progress: Progress | None = None) -> list[str]:
        """Download what :meth:`downloads_wanted` lists (blocking: run it in a thread); forget the misses
        so that the next answers see the new files. Returns the failures' messages."""
        with self._lock:
            wanted = sorted(self._wanted, key=lambda d: (d.module, d.version))
        errors = []
        for item in wanted:
            try:
                self._download(item.module, item.version, progress or self.progress)
            except DownloadFailed as exc:
                errors.append(str(exc))
        with self._lock:
            self._wanted.clear()
            self._cache = {k: v for k, v in self._cache.items() if v.path is not None}
            self._module_dirs = {k: v for k, v in self._module_dirs.items() if v is not None}
            if self._stdlib_dir is None:
                self._stdlib_dir = False
        return errors

    # -- classification and lookup ---------------------------------------------------------------------------

    def _resolve(self, path: str, function: str | None) -> Resolved:
        if is_generated(path):
            return Resolved(None, "compiler-generated code: there is no source file for it", "generated")
        explicit_miss = None
        if self._has_explicit:
            mapped = self._explicit.to_client(path)
            if mapped != path:
                if os.path.isfile(mapped):
                    return Resolved(mapped, None, self._kind_of_local(mapped))
                explicit_miss = _EXPLICIT_MISS.format(target=mapped)
        resolved = self._derive(path, function)
        if explicit_miss is not None and resolved.path is None:
            resolved = attrs.evolve(resolved, reason=f"{explicit_miss}; {resolved.reason}")
        return resolved

    def _derive(self, path: str, function: str | None) -> Resolved:
        if not path.startswith("/"):
            return self._derive_trimmed(path)
        return self._derive_absolute(path, function)

    def _derive_trimmed(self, path: str) -> Resolved:
        module_file = split_module_file(path, self._deps)
        if module_file is not None:
            if module_file.module == self.main_module:
                return self._main_file(module_file.rel, path, version=module_file.version)
            return self._dependency_file(module_file)
        main = self.main_module
        if main and (path.startswith(main + "/")):
            return self._main_file(path[len(main) + 1 :], path)
        for module, version in self._deps.items():  # workspace modules carry no version in their paths
            if version in ("", "(devel)") and path.startswith(module + "/"):
                return self._workspace_module_file(module, path[len(module) + 1 :], path)
        first = path.split("/", 1)[0]
        if "." not in first and (first in STDLIB_TOP_LEVEL or "/" in path):
            return self._stdlib_file(path, path)
        return Resolved(
            None,
            f"'{path}' is neither in the main module ({main or 'unknown'}), a dependency of the build info, "
            "nor the standard library; add a substitutePath rule for it",
            "unknown",
        )

    def _derive_absolute(self, path: str, function: str | None) -> Resolved:
        toolchain = split_toolchain_path(path)
        if toolchain is not None:
            return self._stdlib_file(toolchain[1], path, release=toolchain[0])
        module_file = split_module_file(path, self._deps)
        if module_file is not None and module_file.prefix:
            return self._dependency_file(module_file)
        self._learn_goroot(path)
        if self._orig_goroot is not None and path.startswith(self._orig_goroot + "/src/"):
            return self._stdlib_file(path[len(self._orig_goroot) + 5 :], path)
        local_root = self._local_goroot_of(path)
        if local_root is not None:
            return self._stdlib_file(path[len(str(local_root)) + 5 :], path)
        if os.path.isfile(path):
            return Resolved(path, None, self._kind_of_local(path), self._owner_of_local(path))
        main = self._main_file_absolute(path, function)
        if main.path is None and self._orig_goroot is None:
            guessed = self._guess_stdlib_rel(path)
            if guessed is not None:
                return self._stdlib_file(guessed, path)
        return main

    # -- the main module ------------------------------------------------------------------------------------

    def _main_roots(self, version: str = "") -> list[Path]:
        roots = self._finder.roots(self.main_module) if self.main_module else []
        if version and version != "(devel)":
            cached = self._module_dir(self.main_module, version, fetch=False)
            if cached is not None:
                roots.append(cached)
        return roots

    def _main_file(self, rel: str, binary_path: str, *, version: str = "") -> Resolved:
        owner = self.main_module or "the main module"
        roots = self._main_roots(version)
        for root in roots:
            candidate = root / rel
            if candidate.is_file():
                return Resolved(str(candidate), None, "main", owner)
        if roots:
            revision = self.build_info.vcs_revision
            hint = f" (the program was built from revision {revision[:12]})" if revision else ""
            return Resolved(
                None,
                f"'{rel}' is not in the module at {', '.join(str(r) for r in roots)}: the sources there may be "
                f"of another revision{hint}",
                "main",
                owner,
            )
        return Resolved(None, self._no_main_root_reason(), "main", owner)

    def _no_main_root_reason(self) -> str:
        where = ", ".join(self._starts) if self._starts else "nowhere (no workspace folder, cwd or sourceRoot)"
        truncated = " (the search stopped early: the folders are large)" if self._finder.truncated else ""
        return (
            f"no go.mod declaring `module {self.main_module}` was found (searched {where}){truncated}; open the "
            'module\'s folder in the editor or set "sourceRoot" in the launch configuration to it'
        )

    def _main_file_absolute(self, path: str, function: str | None) -> Resolved:
        """A path of a non-trimpath build made elsewhere: find which tail of it is inside the local module."""
        owner = self.main_module or "the main module"
        if self._orig_main_root is not None and path.startswith(self._orig_main_root + "/"):
            return self._main_file(path[len(self._orig_main_root) + 1 :], path)
        roots = self._main_roots()
        if not roots:
            if not self.main_module:
                return Resolved(
                    None, "not on this machine, and the program has no build info to place it by", "unknown"
                )
            return Resolved(None, f"'{path}' is not on this machine, and {self._no_main_root_reason()}", "main", owner)
        parts = path.strip("/").split("/")
        package_rel = _package_rel(function, self.main_module)
        for root in roots:
            if package_rel is not None:
                # The frame's package says how deep the file is in the module.
                depth = package_rel.count("/") + 2 if package_rel else 1
                tails = [depth] if depth <= len(parts) else []
            else:
                tails = list(range(len(parts) - 1, 0, -1))  # the longest tail that exists wins
            for n in tails:
                rel = "/".join(parts[-n:])
                if (root / rel).is_file():
                    if len(parts) > n:
                        self._orig_main_root = "/" + "/".join(parts[:-n])
                    return Resolved(str(root / rel), None, "main", owner)
        return Resolved(
            None,
            f"'{path}' is not on this machine and no file with its name is in the module at "
            f"{', '.join(str(r) for r in roots)}; add a substitutePath rule if the sources are elsewhere",
            "main",
            owner,
        )

    def _workspace_module_file(self, module: str, rel: str, binary_path: str) -> Resolved:
        for root in self._finder.roots(module):
            if (root / rel).is_file():
                return Resolved(str(root / rel), None, "dependency", module)
        return Resolved(
            None,
            f"no go.mod declaring `module {module}` (a module of the build's workspace) holds '{rel}'; open the "
            "go.work folder in the editor",
            "dependency",
            module,
        )

    # -- dependencies -----------------------------------------------------------------------------------------

    def _dependency_file(self, mf: ModuleFile) -> Resolved:
        owner = f"{mf.module}@{mf.version}"
        replacement = self.build_info.replacements.get(mf.module)
        if replacement is not None:
            target, target_version = replacement
            if not target_version:  # a directory
                return self._replaced_by_dir(mf, target, owner)
            module_dir = self._module_dir(target, target_version)
            if module_dir is not None and (module_dir / mf.rel).is_file():
                return Resolved(str(module_dir / mf.rel), None, "dependency", owner)
            return self._module_miss(target, target_version, mf.rel, owner, f" (it replaces {mf.module})")
        for root in self._main_roots():
            vendored = root / "vendor" / mf.module / mf.rel
            if vendored.is_file():
                return Resolved(str(vendored), None, "dependency", owner)
        module_dir = self._module_dir(mf.module, mf.version)
        if module_dir is not None and (module_dir / mf.rel).is_file():
            return Resolved(str(module_dir / mf.rel), None, "dependency", owner)
        return self._module_miss(mf.module, mf.version, mf.rel, owner, "")

    def _replaced_by_dir(self, mf: ModuleFile, target: str, owner: str) -> Resolved:
        candidates: list[Path] = []
        if target.startswith("/"):
            candidates.append(Path(target))
        else:
            candidates += [(root / target).resolve() for root in self._main_roots()]
        candidates += self._finder.roots(mf.module)
        for directory in candidates:
            if (directory / mf.rel).is_file():
                return Resolved(str(directory / mf.rel), None, "dependency", owner)
        where = ", ".join(str(c) for c in candidates) or f"'{target}' next to the main module, which was not found"
        return Resolved(
            None,
            f"{mf.module} is replaced by the directory '{target}' in the build, and '{mf.rel}' is not in {where}",
            "dependency",
            owner,
        )

    def _module_miss(self, module: str, version: str, rel: str, owner: str, note: str) -> Resolved:
        modcache = self._modcache()
        failure = self._failed_downloads.get((module, version))
        if (module, version) in self._module_dirs and self._module_dirs[(module, version)] is not None:
            reason = f"'{rel}' is not in {module}@{version}{note} in the module cache"
        elif failure is not None:
            reason = failure
        else:
            self._wanted.add(_Download(module, version))
            reason = (
                f"{module}@{version}{note} is not in the module cache ({modcache}); run "
                f"`{download_command(module, version)}` or let gocore-dap fetch it"
            )
        return Resolved(None, reason, "dependency", owner)

    def _module_dir(self, module: str, version: str, *, fetch: bool = True) -> Path | None:
        key = (module, version)
        if key in self._module_dirs and (self._module_dirs[key] is not None or not fetch):
            return self._module_dirs[key]
        modcache = self._modcache()
        found: Path | None = None
        if modcache is not None:
            candidate = Path(modcache) / f"{escape_module_path(module)}@{escape_module_path(version)}"
            found = candidate if candidate.is_dir() else None
        if found is None and fetch and self.options.allow_fetch and key not in self._failed_downloads:
            try:
                found = self._download(module, version, self.progress)
            except DownloadFailed as exc:
                self._failed_downloads[key] = str(exc)
        self._module_dirs[key] = found
        return found

    def _modcache(self) -> Path | None:
        return Path(self.options.gomodcache) if self.options.gomodcache else self.go.env().gomodcache

    def _download(self, module: str, version: str, progress: Progress | None) -> Path:
        directory = self.go.download(module, version, progress=progress)
        self._module_dirs[(module, version)] = directory
        self._failed_downloads.pop((module, version), None)
        return directory

    # -- the standard library ---------------------------------------------------------------------------------

    def _stdlib_file(self, rel: str, binary_path: str, *, release: str | None = None) -> Resolved:
        release = release or self.release
        if release is None:
            version = self.build_info.go_version
            why = f"is not a release ({version})" if version else "is not known (no build info)"
            return Resolved(
                None,
                f"the Go version that built the program {why}, so the sources of its standard library cannot "
                "be found; add a substitutePath rule to a Go root of that version",
                "stdlib",
            )
        src = self._stdlib_src(release)
        if src is not None:
            candidate = src / rel
            if candidate.is_file():
                return Resolved(str(candidate), None, "stdlib", release)
            return Resolved(None, f"'{rel}' is not in the {release} sources at {src}", "stdlib", release)
        goos, goarch = self._platform()
        module_version = toolchain_version(release, goos, goarch)
        failure = self._failed_downloads.get((TOOLCHAIN_MODULE, module_version))
        if failure is not None:
            return Resolved(None, failure, "stdlib", release)
        self._wanted.add(_Download(TOOLCHAIN_MODULE, module_version))
        return Resolved(
            None,
            f"the standard library sources of {release}, which built the program, are not on this machine; run "
            f"`{download_command(TOOLCHAIN_MODULE, module_version)}` (about 70 MB) or let gocore-dap fetch them",
            "stdlib",
            release,
        )

    def _platform(self) -> tuple[str, str]:
        # The toolchain of this machine's platform: its src/ is the same for every platform of a release, and
        # it is the one the go command would fetch to build with that release here.
        env = self.go.env()
        return env.goos or "linux", env.goarch or "amd64"

    def _stdlib_src(self, release: str) -> Path | None:
        if release == self.release and self._stdlib_dir is not False:
            return self._stdlib_dir if isinstance(self._stdlib_dir, Path) else None
        found = self._find_stdlib_src(release)
        if found is None and self.options.allow_fetch:
            goos, goarch = self._platform()
            version = toolchain_version(release, goos, goarch)
            if (TOOLCHAIN_MODULE, version) not in self._failed_downloads:
                try:
                    directory = self._download(TOOLCHAIN_MODULE, version, self.progress)
                    found = directory / "src" if (directory / "src").is_dir() else None
                except DownloadFailed as exc:
                    self._failed_downloads[(TOOLCHAIN_MODULE, version)] = str(exc)
        if release == self.release:
            self._stdlib_dir = found
        return found

    def _find_stdlib_src(self, release: str) -> Path | None:
        local = self._local_goroot()
        if local is not None and _goroot_release(local) == release:
            return local / "src"
        if self._orig_goroot is not None and _goroot_release(Path(self._orig_goroot)) == release:
            return Path(self._orig_goroot) / "src"
        modcache = self._modcache()
        if modcache is not None:
            goos, goarch = self._platform()
            preferred = Path(modcache) / f"{TOOLCHAIN_MODULE}@{toolchain_version(release, goos, goarch)}"
            others = sorted((Path(modcache) / "golang.org").glob(f"toolchain@v0.0.1-{release}.*"))
            for candidate in (preferred, *others):
                if (candidate / "src" / "runtime").is_dir():
                    return candidate / "src"
        return None

    def _local_goroot(self) -> Path | None:
        if self.options.goroot:
            return Path(self.options.goroot)
        return self.go.env().goroot

    def _local_goroot_of(self, path: str) -> Path | None:
        """The Go root an existing absolute path is under (a VERSION file beside src/runtime)."""
        marker = "/src/"
        at = path.find(marker)
        while at >= 0:
            root = Path(path[:at])
            if (root / "src" / "runtime").is_dir() and (root / "VERSION").is_file():
                return root
            at = path.find(marker, at + 1)
        return None

    def _guess_stdlib_rel(self, path: str) -> str | None:
        """For a Go root the runtime has not shown yet: `<anything>/src/<std package>/...` whose file the
        release's sources have."""
        if self.release is None:
            return None
        src = self._stdlib_src(self.release)
        at = path.find("/src/")
        while at >= 0:
            rel = path[at + 5 :]
            if rel.split("/", 1)[0] in STDLIB_TOP_LEVEL and (src is None or (src / rel).is_file()):
                return rel
            at = path.find("/src/", at + 1)
        return None

    def _learn_goroot(self, path: str) -> None:
        """Every Go binary has the runtime package: `<GOROOT>/src/runtime/<file>` tells the build's Go root."""
        if self._orig_goroot is not None or not path.startswith("/"):
            return
        at = path.rfind("/src/runtime/")
        if at > 0 and path.count("/", at + len("/src/runtime/")) == 0 and split_module_file(path) is None:
            self._orig_goroot = path[:at]

    # -- local paths --------------------------------------------------------------------------------------------

    def _kind_of_local(self, path: str) -> Kind:
        if self._local_goroot_of(path) is not None or split_toolchain_path(path) is not None:
            return "stdlib"
        modcache = self._modcache()
        if modcache is not None and path.startswith(str(modcache) + "/"):
            return "dependency"
        if any(path.startswith(str(r) + "/") for r in self._main_roots()):
            return "main"
        return "unknown"

    def _owner_of_local(self, path: str) -> str | None:
        kind = self._kind_of_local(path)
        if kind == "main":
            return self.main_module or None
        if kind == "stdlib":
            return self.release
        return None

    def _to_binary(self, local: str) -> str | None:
        if self._has_explicit:
            mapped = self._explicit.to_binary(local)
            if mapped != local:
                return mapped
        candidates = list(self._binary_candidates(local))
        if self._binary_set:
            for candidate in candidates:
                if candidate in self._binary_set:
                    return candidate
            return None
        return candidates[0] if candidates else None

    def _binary_candidates(self, local: str) -> list[str]:
        """Binary paths a local file may have, the most specific directory's first (a replaced module
        inside the main module's folder is that module's, not the main module's)."""
        trimmed = self.build_info.trimpath
        ranked: list[tuple[int, list[str]]] = []
        for root in self._main_roots():
            prefix = str(root) + "/"
            if local.startswith(prefix):
                rel = local[len(prefix) :]
                if trimmed:
                    names = [f"{self.main_module}/{rel}"]
                    version = self.build_info.main_module_version
                    if version and version != "(devel)":
                        names.append(f"{self.main_module}@{version}/{rel}")
                else:
                    names = [f"{self._orig_main_root}/{rel}" if self._orig_main_root else local]
                ranked.append((len(prefix), names))
        if self.release is not None:
            src = self._stdlib_src(self.release)
            if src is not None and local.startswith(str(src) + "/"):
                rel = local[len(str(src)) + 1 :]
                name = rel if trimmed else f"{self._orig_goroot or src.parent}/src/{rel}"
                ranked.append((len(str(src)) + 1, [name]))
        modcache = self._modcache()
        for module, version in self._deps.items():
            for directory in self._dependency_dirs(module, version, modcache):
                prefix = str(directory) + "/"
                if local.startswith(prefix):
                    rel = local[len(prefix) :]
                    if trimmed:
                        names = [f"{module}@{version}/{rel}"]
                    else:
                        tail = f"/{escape_module_path(module)}@{escape_module_path(version)}/{rel}"
                        names = [local, *self._binary_files_ending(tail)]
                    ranked.append((len(prefix), names))
        out = [name for _, names in sorted(ranked, key=lambda item: -item[0]) for name in names]
        if not trimmed:
            out.append(local)
        return out + self._binary_files_ending("/" + "/".join(local.split("/")[-2:]))

    def _dependency_dirs(self, module: str, version: str, modcache: Path | None) -> list[Path]:
        dirs = []
        replacement = self.build_info.replacements.get(module)
        if replacement is not None and not replacement[1]:
            target = replacement[0]
            dirs += [Path(target)] if target.startswith("/") else [(r / target).resolve() for r in self._main_roots()]
        elif replacement is not None:
            module, version = replacement
        if modcache is not None:
            dirs.append(Path(modcache) / f"{escape_module_path(module)}@{escape_module_path(version)}")
        return dirs

    def _binary_files_ending(self, tail: str) -> list[str]:
        return [f for f in self._binary_files if f.endswith(tail)]


def _package_rel(function: str | None, main_module: str) -> str | None:
    """The directory of a function's package inside the main module ("" for its root), or None.

    `main.main` is in the main package, whose directory is not known from the name alone.
    """
    if not function or not main_module:
        return None
    # "example.com/svc/internal/db.(*T).Query" -> package "example.com/svc/internal/db"
    slash = function.rfind("/")
    dot = function.find(".", slash + 1)
    package = function[:dot] if dot > 0 else function
    if package == main_module:
        return ""
    if package.startswith(main_module + "/"):
        return package[len(main_module) + 1 :]
    return None


def _goroot_release(root: Path) -> str | None:
    try:
        with open(root / "VERSION", encoding="utf-8") as fh:
            first = fh.readline().strip()
    except OSError:
        return None
    return go_release(first)
