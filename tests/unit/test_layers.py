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
def imports() -> dict[str, tuple[set[str], set[str], set[str]]]:
    """module -> (modules imported when it is loaded, modules imported anywhere in it at run time, modules
    imported for type checking only). `from package import module` names the module, not the package."""
    paths = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(path) for path in paths}
    out: dict[str, tuple[set[str], set[str], set[str]]] = {}
    for path in paths:
        name = module_name(path)
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        at_load: set[str] = set()
        anywhere: set[str] = set()
        typing: set[str] = set()

        def targets_of(node: ast.AST, name: str = name, is_package: bool = is_package) -> list[str]:
            if isinstance(node, ast.Import):
                return [a.name for a in node.names]
            if not isinstance(node, ast.ImportFrom):
                return []
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            submodules = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known]
            return submodules if len(submodules) == len(node.names) else [module, *submodules]

        def visit(node: ast.AST, loading: bool, checking: bool, *, at_load: set[str] = at_load,
                  anywhere: set[str] = anywhere, typing: set[str] = typing) -> None:  # fmt: skip
            for target in targets_of(node):
                if target.startswith("gocore_dap."):
                    (typing if checking else anywhere).add(target)
                    if loading and not checking:
                        at_load.add(target)
            for child in ast.iter_child_nodes(node):
                child_loading = loading and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                if isinstance(child, ast.If) and _is_type_checking(child):
                    for sub in child.body:
                        visit(sub, False, True)
                    for sub in child.orelse:
                        visit(sub, child_loading, checking)
                    continue
                visit(child, child_loading, checking)

        visit(tree, True, False)
        out[name] = (at_load, anywhere, typing)
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
    for module, (_, anywhere, typing) in graph.items():
        layer = _layer(module)
        for target in anywhere | typing:
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
    # Lazy imports count: a circle closed inside a function is still a circle for a reader. A name used only
    # in an annotation (a back-reference under TYPE_CHECKING) is not an import that runs.
    edges = {
        m: {t for t in (_existing(x, modules) for x in anywhere) if t is not None and t != m}
        for m, (_, anywhere, _typing) in graph.items()
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
    at_load, session_anywhere, _ = graph["gocore_dap.session.session"]
    assert any(t.startswith("gocore_dap.core.open") for t in session_anywhere)  # imported inside launch()
    assert not any(t.startswith("gocore_dap.core.open") for t in at_load)
    assert any(t.startswith("gocore_dap.server.handlers") for t in graph["gocore_dap.server.connection"][0])
