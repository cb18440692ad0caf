"""The package's import structure: layers point one way and nothing imports in a circle.

Every ``import`` statement counts, the lazy ones inside functions too; only ``if TYPE_CHECKING:``
blocks are left out (they never run). The entry layer (the command line, the library functions, the
commands and the services) may import anything below it; nothing below it imports the entry layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "preflight"
# The entry layer: what a user or another program calls. Everything else sits below it.
ENTRY = ("preflight.cli", "preflight.__main__", "preflight.library", "preflight.commands", "preflight.serve")
# Layers from the top down: a module may import its own layer's modules and any below, never above.
RUN = ("preflight.run",)


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The package modules ``path`` imports, lazily or not, outside TYPE_CHECKING blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    resolved = set()
    for target in targets:
        while target and target not in modules:  # `import preflight.media.probe as p`: the module itself
            target = target.rpartition(".")[0]
        if target.startswith("preflight") and target != name:
            resolved.add(target)
    return resolved


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, modules) for name, path in modules.items()}


def _layer(name: str) -> int:
    """0 for the entry layer, 1 for the run layer, 2 for everything below."""
    if any(name == e or name.startswith(e + ".") for e in ENTRY):
        return 0
    if any(name == r or name.startswith(r + ".") for r in RUN):
        return 1
    return 2


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_the_reader_sees_lazy_imports_and_skips_type_checking_blocks(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from preflight.cli import main\n"
                      "def f():\n    from preflight.commands import check\n    import preflight.report\n")
    modules = {"preflight.cli": source, "preflight.commands": source, "preflight.commands.check": source,
               "preflight.report": source, "preflight.mod": source}
    assert _imports(source, "preflight.mod", modules) == {"preflight.commands.check", "preflight.report"}


def test_tarjan_finds_a_circle_and_nothing_else() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_nothing_imports_upward() -> None:
    upward = sorted(f"{source} imports {target}" for source, targets in _graph().items() for target in targets
                    if _layer(target) < _layer(source))
    assert upward == []


def test_the_run_layer_exists_and_commands_stand_on_it() -> None:
    graph = _graph()
    assert any(_layer(m) == 1 for m in graph)
    for command in ("preflight.commands.check", "preflight.commands.submit", "preflight.commands.fix"):
        assert any(_layer(t) == 1 for t in graph[command]), f"{command} does not call the run layer"
