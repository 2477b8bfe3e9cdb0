"""The package's shape, from its own imports: front ends -> core model -> backends / preflight / goviews,
never the reverse, and no module imports itself back through others (docs/architecture.md)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import gocore_dap

PACKAGE = Path(gocore_dap.__file__).parent

# Pure layers, and the only other layers of gocore_dap they may import.
ONLY: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "transport": frozenset(),
    "goviews": frozenset({"errors"}),
}
# The other layers, and the layers they must never import (directly, or lazily inside a function).
NEVER: dict[str, frozenset[str]] = {
    "preflight": frozenset({"backends", "core", "session", "server", "report", "protocol", "lsp", "cli"}),
    "backends": frozenset({"core", "session", "server", "report", "protocol", "lsp", "cli"}),
    "core": frozenset({"session", "server", "report", "protocol", "lsp", "cli"}),
    "protocol": frozenset({"session", "server", "report", "lsp", "cli"}),
    "session": frozenset({"server", "report", "lsp", "cli"}),
    "report": frozenset({"session", "server", "lsp", "cli"}),
    # The language server reads the core model; the DAP wire layer (protocol) is the debugger's alone.
    "lsp": frozenset({"session", "server", "report", "protocol", "cli"}),
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


@functools.cache
def imports() -> dict[str, tuple[set[str], set[str]]]:
    """module -> (modules imported when it is loaded, modules imported anywhere in it)."""
    out: dict[str, tuple[set[str], set[str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        at_load: set[str] = set()
        anywhere: set[str] = set()

        def visit(node: ast.AST, loading: bool, *, name: str = name, at_load: set[str] = at_load,
                  anywhere: set[str] = anywhere) -> None:  # fmt: skip
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level:
                base = name.split(".")[: -node.level + (1 if name.endswith("__init__") else 0) or None]
                mod = ".".join([*base, node.module] if node.module else base)
                targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                targets = []
            for target in targets:
                if target.startswith("gocore_dap."):
                    anywhere.add(target)
                    if loading:
                        at_load.add(target)
            for child in ast.iter_child_nodes(node):
                child_loading = loading and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                if isinstance(child, ast.If) and _is_type_checking(child):
                    for sub in child.body:
                        visit(sub, False)
                    for sub in child.orelse:
                        visit(sub, child_loading)
                    continue
                visit(child, child_loading)

        visit(tree, True)
        out[name] = (at_load, anywhere)
    return out


def _existing(target: str, modules: set[str]) -> str | None:
    """The module a dotted import names (`gocore_dap.core.open.open_core` -> `gocore_dap.core.open`)."""
    while target:
        if target in modules:
            return target
        target = target.rpartition(".")[0]
    return None


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_module_imports_a_layer_above_it() -> None:
    graph = imports()
    modules = set(graph)
    wrong: list[str] = []
    for module, (_, anywhere) in graph.items():
        layer = _layer(module)
        for target in anywhere:
            found = _existing(target, modules)
            other = _layer(found) if found is not None else None
            if found is None or other == layer:
                continue
            if (layer in ONLY and other not in ONLY[layer]) or other in NEVER.get(layer, ()):
                wrong.append(f"{module} imports {found}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_circle() -> None:
    graph = imports()
    modules = set(graph)
    # Lazy imports count: a circle closed inside a function is still a circle for a reader.
    edges = {
        m: {t for t in (_existing(x, modules) for x in anywhere) if t is not None and t != m}
        for m, (_, anywhere) in graph.items()
    }
    seen: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def walk(node: str) -> None:
        seen[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if seen.get(target) == 1:
                circles.append([*stack[stack.index(target) :], target])
            elif target not in seen:
                walk(target)
        stack.pop()
        seen[node] = 2

    for module in sorted(edges):
        if module not in seen:
            walk(module)
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


def test_the_rules_see_the_imports_they_judge() -> None:
    """The checks above are only as good as the import graph: it must see lazy and relative imports."""
    graph = imports()
    _, session_anywhere = graph["gocore_dap.session.session"]
    assert any(t.startswith("gocore_dap.core.open") for t in session_anywhere)  # imported inside launch()
    at_load, _ = graph["gocore_dap.session.session"]
    assert not any(t.startswith("gocore_dap.core.open") for t in at_load)
    assert any(t.startswith("gocore_dap.server.handlers") for t in graph["gocore_dap.server.connection"][0])
