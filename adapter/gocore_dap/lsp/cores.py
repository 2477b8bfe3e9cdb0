"""The cores the language server has open: each one's loaded core, facts and per-file views."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from gocore_dap.lsp.file_view import FileView
from gocore_dap.lsp.render import CoreLabel

if TYPE_CHECKING:
    from gocore_dap.core.loaded import LoadedCore
    from gocore_dap.goviews.code_scope import CodeScope
    from gocore_dap.lsp.collect import CoreFacts
    from gocore_dap.lsp.core_request import CoreRequest

__all__ = ["OpenCore", "OpenCores"]


class OpenCore:
    def __init__(self, name: str, request: CoreRequest, loaded: LoadedCore, scope: CodeScope, facts: CoreFacts) -> None:
        self.name = name
        self.request = request
        self.loaded = loaded
        self.scope = scope
        self.facts = facts
        self.by_local: dict[str, list[str]] = {}
        for binary, local in facts.local_paths.items():
            if local is not None:
                self.by_local.setdefault(str(Path(local).resolve()), []).append(binary)
        self.views: dict[str, FileView] = {}

    @property
    def key(self) -> tuple[str, str]:
        return (str(self.loaded.program), str(self.loaded.core))

    def label(self, prefix_messages: bool) -> CoreLabel:
        return CoreLabel(self.name, str(self.loaded.program), str(self.loaded.core), prefix_messages)

    def view(self, local_path: str) -> FileView | None:
        """This core's view of a local file (None when none of its marks is in that file)."""
        binaries = self.by_local.get(local_path)
        if not binaries:
            return None
        view = self.views.get(local_path)
        if view is None:
            view = self.views[local_path] = FileView(self.facts, local_path, binaries)
        return view

    def local_of(self, binary_file: str) -> str | None:
        local = self.facts.local_paths.get(binary_file)
        return str(Path(local).resolve()) if local else None

    def summary(self) -> dict[str, object]:
        crash = self.facts.marks.crash
        return {
            "core": self.name,
            "program": str(self.loaded.program),
            "coreFile": str(self.loaded.core),
            "configuration": self.request.name,
            "crash": self.loaded.crash.headline,
            "crashSite": (
                {"function": crash.site.function, "file": self.local_of(crash.site.file) or crash.site.file,
                 "line": crash.site.line}
                if crash is not None and crash.site is not None
                else None
            ),
            "goroutines": self.facts.marks.total_goroutines,
            "files": sorted(self.by_local),
            "missingSources": dict(self.facts.missing),
        }  # fmt: skip

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.loaded.close()


class OpenCores:
    def __init__(self) -> None:
        self._cores: dict[str, OpenCore] = {}

    def __iter__(self) -> Iterator[OpenCore]:
        return iter(list(self._cores.values()))

    def __len__(self) -> int:
        return len(self._cores)

    def unique_name(self, core_path: Path) -> str:
        base = core_path.name
        if base in ("core",) or base.startswith("core."):
            # `core` says little: the folder it sits in usually names the crash.
            base = f"{core_path.parent.name}/{core_path.name}" if core_path.parent.name else base
        name, n = base, 2
        while name in self._cores:
            name, n = f"{base} ({n})", n + 1
        return name

    def add(self, core: OpenCore) -> None:
        self._cores[core.name] = core

    def get(self, name: str) -> OpenCore | None:
        return self._cores.get(name)

    def by_key(self, key: tuple[str, str]) -> OpenCore | None:
        return next((c for c in self._cores.values() if c.key == key), None)

    def find(self, spec: str) -> OpenCore | None:
        """By name, or by the path of the core file."""
        core = self._cores.get(spec)
        if core is not None:
            return core
        with contextlib.suppress(OSError):
            resolved = str(Path(spec).expanduser().resolve())
            return next((c for c in self._cores.values() if str(c.loaded.core) == resolved), None)
        return None

    def remove(self, name: str) -> OpenCore | None:
        return self._cores.pop(name, None)
