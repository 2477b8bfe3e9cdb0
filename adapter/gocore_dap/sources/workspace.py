"""Find the local directory of a Go module: the folder whose go.mod says `module <path>`.

Where to look comes from the launch: `sourceRoot`, the editor's workspace folders, `cwd`. Each start is
searched upward (the start may be a package folder inside the module) and downward (the start may be a
repository holding several modules), both bounded so that a workspace folder of `/` or `$HOME` costs a
bounded number of directory reads. A `go.work` next to a go.mod also names modules (`use` directives).
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

__all__ = ["DEFAULT_MAX_DEPTH", "DEFAULT_MAX_DIRS", "ModuleFinder", "read_go_work_uses", "read_module_path"]

DEFAULT_MAX_DEPTH: Final = 4
DEFAULT_MAX_DIRS: Final = 4000
_MAX_UP: Final = 12
_SKIP_DIRS: Final = frozenset({"node_modules", "vendor", "testdata", "__pycache__", "target", "dist", "build"})
_MODULE_RE: Final = re.compile(r"^\s*module\s+(\"[^\"]+\"|`[^`]+`|\S+)", re.MULTILINE)
_USE_BLOCK_RE: Final = re.compile(r"^\s*use\s*\((.*?)\)", re.MULTILINE | re.DOTALL)
_USE_LINE_RE: Final = re.compile(r"^\s*use\s+(\"[^\"]+\"|\S+)", re.MULTILINE)


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def read_module_path(go_mod: Path) -> str | None:
    """The `module` directive of a go.mod; None when unreadable or absent."""
    try:
        text = go_mod.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = _MODULE_RE.search(_strip_comments(text))
    return match.group(1).strip('"`') if match else None


def read_go_work_uses(go_work: Path) -> list[Path]:
    """The module directories a go.work `use`s, absolute."""
    try:
        text = _strip_comments(go_work.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []
    dirs: list[str] = []
    for block in _USE_BLOCK_RE.findall(text):
        dirs += [line.strip().strip('"') for line in block.splitlines() if line.strip()]
    dirs += [m.strip('"') for m in _USE_LINE_RE.findall(_USE_BLOCK_RE.sub("", text)) if m != "("]
    return [(go_work.parent / d).resolve() for d in dirs]


class ModuleFinder:
    """Module path -> local directories, from a few starting folders; every answer is cached."""

    def __init__(
        self, starts: Iterable[str | Path], *, max_depth: int = DEFAULT_MAX_DEPTH, max_dirs: int = DEFAULT_MAX_DIRS
    ) -> None:
        self.starts = [Path(s).expanduser() for s in starts]
        self.max_depth = max_depth
        self.max_dirs = max_dirs
        self._index: dict[str, list[Path]] | None = None
        self.dirs_read = 0
        self.truncated = False

    def roots(self, module_path: str) -> list[Path]:
        """Directories whose go.mod declares `module_path`, nearest to the starts first."""
        return list(self._modules().get(module_path, ()))

    def all_modules(self) -> dict[str, list[Path]]:
        return {k: list(v) for k, v in self._modules().items()}

    def _modules(self) -> dict[str, list[Path]]:
        if self._index is None:
            index: dict[str, list[Path]] = {}
            for go_mod in self._go_mods():
                module = read_module_path(go_mod)
                if module is not None and go_mod.parent not in index.setdefault(module, []):
                    index[module].append(go_mod.parent)
            self._index = index
        return self._index

    def _go_mods(self) -> Iterator[Path]:
        seen: set[Path] = set()
        budget = [self.max_dirs]
        for start in self.starts:
            try:
                start = start.resolve()
            except OSError:
                continue
            if not start.is_dir():
                continue
            # Upward first: a workspace folder opened on a package inside the module.
            up = start
            for _ in range(_MAX_UP):
                yield from self._in_dir(up, seen)
                if up.parent == up:
                    break
                up = up.parent
            yield from self._downward(start, seen, budget)

    def _in_dir(self, directory: Path, seen: set[Path]) -> Iterator[Path]:
        go_mod = directory / "go.mod"
        if go_mod not in seen and go_mod.is_file():
            seen.add(go_mod)
            yield go_mod
        go_work = directory / "go.work"
        if go_work not in seen and go_work.is_file():
            seen.add(go_work)
            for used in read_go_work_uses(go_work):
                candidate = used / "go.mod"
                if candidate not in seen and candidate.is_file():
                    seen.add(candidate)
                    yield candidate

    def _downward(self, start: Path, seen: set[Path], budget: list[int]) -> Iterator[Path]:
        queue: deque[tuple[Path, int]] = deque([(start, 0)])
        while queue:
            directory, depth = queue.popleft()
            if budget[0] <= 0:
                self.truncated = True
                return
            budget[0] -= 1
            self.dirs_read += 1
            yield from self._in_dir(directory, seen)
            if depth >= self.max_depth:
                continue
            try:
                with os.scandir(directory) as entries:
                    children = sorted(
                        e.name
                        for e in entries
                        if e.is_dir(follow_symlinks=False)
                        and not e.name.startswith((".", "_"))
                        and e.name not in _SKIP_DIRS
                    )
            except OSError:
                continue
            queue.extend((directory / name, depth + 1) for name in children)
