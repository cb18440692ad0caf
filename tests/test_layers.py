"""The package's import structure: layers point one way and nothing imports in a circle.

Every ``import`` statement counts, the lazy ones inside functions too; only ``if TYPE_CHECKING:``
blocks are left out (they never run). The entry layer (the command line, the library functions, the
commands and the services) may import anything below it; nothing below it imports the entry layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "preflight"
# Layers from the top down: a module may import its own layer's modules and any below, never above.
# The package root holds only the entry layer (and the errors and version every layer shares).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("entry", ("preflight", "preflight.cli", "preflight.__main__", "preflight.library", "preflight.commands",
               "preflight.serve")),
    ("run", ("preflight.run",)),
    ("present and fix", ("preflight.render", "preflight.fixing")),
    ("judge", ("preflight.judge", "preflight.checks")),
    ("measure", ("preflight.media",)),
    ("I/O edges", ("preflight.remote", "preflight.upload", "preflight.api")),
    ("inputs and local state", ("preflight.inputs", "preflight.state")),
    ("model", ("preflight.model",)),
]
# Imported by every layer, importing nothing else of preflight's.
FOUNDATION = ("preflight.errors", "preflight.version", "preflight.remote.redact")
ENTRY = LAYERS[0][1]
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


def _in(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or (p != "preflight" and name.startswith(p + ".")) for p in prefixes)


def _layer(name: str) -> int:
    """0 for the entry layer, then one number per layer down (LAYERS); the foundation is below all."""
    if name in FOUNDATION:
        return len(LAYERS)
    for number, (_, prefixes) in enumerate(LAYERS):
        if _in(name, prefixes):
            return number
    raise AssertionError(f"{name} is in no layer: give it a home in LAYERS (and say so in the README)")


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
                      "def f():\n    from preflight.commands import check\n    import preflight.model.report\n")
    modules = {"preflight.cli": source, "preflight.commands": source, "preflight.commands.check": source,
               "preflight.model.report": source, "preflight.mod": source}
    assert _imports(source, "preflight.mod", modules) == {"preflight.commands.check", "preflight.model.report"}


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


def test_every_module_has_a_layer_and_the_root_holds_only_the_entry_layer() -> None:
    for name in _graph():
        _layer(name)  # raises for a module in no layer
    root = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert root == ["__init__", "__main__", "cli", "errors", "library", "version"]


def test_the_foundation_imports_only_the_foundation() -> None:
    graph = _graph()
    assert {f: sorted(t for t in graph[f] if t not in FOUNDATION) for f in FOUNDATION} == {f: [] for f in FOUNDATION}


def test_the_layers_order_is_what_the_reader_expects() -> None:
    """measure -> judge -> present, and nothing below the run layer reaches into it (a spot check of
    LAYERS itself, so a reordering is a deliberate change)."""
    assert _layer("preflight.media.analyze") > _layer("preflight.judge.engine") > _layer("preflight.render.html")
    assert _layer("preflight.render.html") > _layer("preflight.run.pool") > _layer("preflight.serve.app")
    assert _layer("preflight.model.facts") > _layer("preflight.media.analyze")


# Inside the service, its parts point one way too: the application, its routes, the wiring, the work,
# then the state and the bytes (which know nothing of HTTP or of the work), then what it was started with.
SERVE_PARTS: list[tuple[str, ...]] = [
    ("preflight.serve", "preflight.serve.app"),
    ("preflight.serve.routes",),
    ("preflight.serve.service",),
    ("preflight.serve.work",),
    ("preflight.serve.state", "preflight.serve.blobs"),
    ("preflight.serve.config",),
]


def _part(name: str) -> int:
    for number, prefixes in reversed(list(enumerate(SERVE_PARTS))):
        if any(name == p or (p != "preflight.serve" and name.startswith(p + ".")) for p in prefixes):
            return number
    raise AssertionError(f"{name} is in no part of the service: give it a home in SERVE_PARTS")


def test_the_services_parts_point_one_way() -> None:
    graph = {m: ts for m, ts in _graph().items() if m.startswith("preflight.serve")}
    for name in graph:
        _part(name)
    upward = sorted(f"{source} imports {target}" for source, targets in graph.items() for target in targets
                    if target.startswith("preflight.serve") and _part(target) < _part(source))
    assert upward == []
    level = {_part(n) for n in ("preflight.serve.state.jobs", "preflight.serve.blobs.spool")}
    assert level == {4}  # the state and the blobs side by side, below the work
