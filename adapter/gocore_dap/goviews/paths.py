"""Source path mapping between where the program was built and where its source is now.

Same direction as vscode-go's `substitutePath`: each rule's `from` is the path in the editor's
workspace and `to` is the path recorded in the binary. The longest matching prefix wins, and a
prefix matches only at a path-component boundary (`/src/app` does not rewrite `/src/apple`).
"""

from __future__ import annotations

from collections.abc import Iterable


class PathMapper:
    def __init__(self, rules: Iterable[tuple[str, str]]) -> None:
        # (editor path, binary path), longest binary path first for to_client and vice versa.
        self._rules = [(_strip(local), _strip(remote)) for local, remote in rules if remote or local]

    def to_client(self, binary_path: str) -> str:
        return _rewrite(binary_path, [(remote, local) for local, remote in self._rules])

    def to_binary(self, editor_path: str) -> str:
        return _rewrite(editor_path, self._rules)


def _strip(path: str) -> str:
    return path.rstrip("/\\") if len(path) > 1 else path


def _rewrite(path: str, rules: list[tuple[str, str]]) -> str:
    best: tuple[str, str] | None = None
    for prefix, replacement in rules:
        matches = path == prefix or path.startswith(prefix + "/") or (prefix == "/" and path.startswith("/"))
        if matches and (best is None or len(prefix) > len(best[0])):
            best = (prefix, replacement)
    if best is None:
        return path
    prefix, replacement = best
    rest = path[len(prefix) :] if prefix != "/" else path[1:]
    if not rest:
        return replacement
    return replacement.rstrip("/") + "/" + rest.lstrip("/")
