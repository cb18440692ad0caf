"""The house rules of ``preflight/``, read from its syntax trees (the same walk anyone can run with
``python -c``): short functions, one class name per idea, and one place for each of the ideas that
used to be written in several (the model list, Tavus's 750 MB limit). The layers themselves are
``test_layers.py``'s."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "preflight"
MAX_FUNCTION_LINES = 60
MODEL_NAMES = {"phoenix-3", "phoenix-4", "phoenix-4.5"}
TAVUS_LIMITS = {750, 750_000_000}  # MB and bytes


def _trees() -> dict[str, ast.Module]:
    return {str(p.relative_to(PACKAGE.parent)): ast.parse(p.read_text(encoding="utf-8"))
            for p in sorted(PACKAGE.rglob("*.py"))}


def long_functions(trees: dict[str, ast.Module]) -> list[str]:
    return sorted(f"{where}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
                  for where, tree in trees.items() for node in ast.walk(tree)
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None
                  and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES)


def class_names(trees: dict[str, ast.Module]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for where, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                found[node.name].append(where)
    return found


def modules_listing_models(trees: dict[str, ast.Module]) -> set[str]:
    """Modules with a list, tuple or set literal that names two or more Tavus models."""
    return {where for where, tree in trees.items() for node in ast.walk(tree)
            if isinstance(node, (ast.List, ast.Tuple, ast.Set))
            and len({e.value for e in node.elts if isinstance(e, ast.Constant)} & MODEL_NAMES) >= 2}


def modules_with_the_size_limit(trees: dict[str, ast.Module]) -> set[str]:
    return {where for where, tree in trees.items() for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value in TAVUS_LIMITS}


def test_no_function_is_over_60_lines() -> None:
    assert long_functions(_trees()) == []


def test_one_class_name_per_idea() -> None:
    assert {name: where for name, where in class_names(_trees()).items() if len(where) > 1} == {}


def test_the_model_list_and_the_size_limit_are_written_in_one_place_at_most() -> None:
    """The rule files name the models (``models``) and hold Tavus's limit (``file.size``); the code
    reads them (``judge/ruleset.py``: models(), max_upload_bytes())."""
    trees = _trees()
    assert len(modules_listing_models(trees)) <= 1, modules_listing_models(trees)
    assert len(modules_with_the_size_limit(trees)) <= 1, modules_with_the_size_limit(trees)


def test_the_walk_finds_what_it_looks_for() -> None:
    """Each reader on a small tree that breaks every rule once."""
    bad = ast.parse("class A: pass\nclass A: pass\nMODELS = ('phoenix-4', 'phoenix-3')\nLIMIT = 750_000_000\n"
                    "def f():\n" + "    x = 1\n" * 61)
    trees = {"preflight/bad.py": bad}
    assert long_functions(trees) == ["preflight/bad.py:5 f (62 lines)"]
    assert class_names(trees)["A"] == ["preflight/bad.py", "preflight/bad.py"]
    assert modules_listing_models(trees) == modules_with_the_size_limit(trees) == {"preflight/bad.py"}
