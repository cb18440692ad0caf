"""A media repository's own settings: ``preflight.toml``, or ``[tool.preflight]`` in ``pyproject.toml``.

Found by walking up from the working directory (the first directory holding either file wins; the
walk stops at the repository root, the directory with ``.git``). Example::

    exclude = ["raw/**", "*.draft.mp4"]   # gitignore-style patterns, relative to this file
    lfs-pointers = "skip"                 # Git LFS pointer files: "fail" (default) or "skip"
    fail-level = "error"

    [rulesets]                            # the first pattern that matches a file of the rule set's kind wins
    "faces/legacy/**" = "phoenix-3"
    "faces/**/*.mp4" = "phoenix-4"
    "headshots/**" = "image"
    "studio/**" = "rules/studio.toml"     # a rule file, relative to this file

Patterns use .gitignore syntax (``**`` spans directories; a pattern without a slash matches at any
depth), via the ``pathspec`` library.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pathspec

from preflight.errors import UsageError
from preflight.inputs.validation import first_problem

LfsPolicy = Literal["fail", "skip"]
Spec = pathspec.PathSpec[Any]
CONFIG_NAME = "preflight.toml"

_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "exclude": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "lfs-pointers": {"enum": ["fail", "skip"]},
        "fail-level": {"enum": ["error", "warning"]},
        "rulesets": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ProjectConfig:
    root: Path  # patterns are relative to this directory
    rulesets: tuple[tuple[Spec, str], ...] = ()  # (pattern, rule set reference), in the file's order
    exclude: Spec = field(default_factory=lambda: pathspec.PathSpec([]))
    lfs_pointers: LfsPolicy | None = None
    fail_level: str | None = None

    def relative(self, path: Path) -> str | None:
        """``path`` relative to the config's directory, in git's slash form; None when outside it."""
        try:
            return Path(os.path.realpath(path)).relative_to(self.root).as_posix()
        except ValueError:
            return None

    def excluded(self, path: Path) -> bool:
        rel = self.relative(path)
        return rel is not None and self.exclude.match_file(rel)

    def ruleset_refs(self, path: Path) -> list[str]:
        """The rule sets whose patterns match ``path``, in the file's order (the caller picks the first
        of the file's kind). Rule files are given relative to the config's directory."""
        rel = self.relative(path)
        if rel is None:
            return []
        return [_ref(self.root, ref) for spec, ref in self.rulesets if spec.match_file(rel)]


def is_file_ref(ref: str) -> bool:
    """A rule set reference that names a file (``my.toml``, ``rules/x``) rather than a built-in."""
    return ref.endswith(".toml") or "/" in ref or "\\" in ref


def _ref(root: Path, ref: str) -> str:
    return str(root / ref) if is_file_ref(ref) and not Path(ref).is_absolute() else ref


def find(start: Path) -> Path | None:
    """The nearest ``preflight.toml`` or ``pyproject.toml`` with a ``[tool.preflight]`` table."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "preflight" in _toml(pyproject).get("tool", {}):
            return pyproject
        if (folder / ".git").exists():
            return None
    return None


def load(path: Path) -> ProjectConfig:
    doc = _toml(path)
    table, origin = (doc.get("tool", {}).get("preflight", {}), f"{path.name} [tool.preflight]") \
        if path.name == "pyproject.toml" else (doc, path.name)
    _validate(origin, table)
    root = path.resolve().parent
    rulesets = tuple((pathspec.PathSpec.from_lines("gitignore", [pattern]), ref)
                     for pattern, ref in table.get("rulesets", {}).items())
    return ProjectConfig(
        root=root, rulesets=rulesets,
        exclude=pathspec.PathSpec.from_lines("gitignore", table.get("exclude", [])),
        lfs_pointers=table.get("lfs-pointers"), fail_level=table.get("fail-level"),
    )


def discover(start: Path, explicit: Path | None = None) -> ProjectConfig | None:
    """The project config named by ``--config``, or the one found above ``start``, or None."""
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError(f"--config {explicit}: no such file")
        return load(explicit)
    found = find(start)
    return load(found) if found is not None else None


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path}: not valid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: cannot be read: {err}") from None


def _validate(origin: str, table: dict[str, Any]) -> None:
    problem = first_problem(table, _SCHEMA, origin)
    if problem is None:
        return
    if problem.unknown is not None and not problem.crumbs:
        raise UsageError(f"{problem.where}: unknown key '{problem.unknown}'; "
                         f"expected one of: {', '.join(problem.known)}")
    raise UsageError(f"{problem.where}: {problem.message}")
