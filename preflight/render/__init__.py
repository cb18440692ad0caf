"""Presenting: renderers turn a finished Report into text. They compute nothing and decide no exit code.

The HTML report (``html.py``, ``check --report``) is written beside whichever of these is chosen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from preflight.report import Report


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    quiet: bool = False  # only what failed
    verbose: bool = False  # passed rules too


Renderer = Callable[[Report, RenderOptions], str]


def _registry() -> dict[str, Renderer]:
    from preflight.render import compact, github, json_, junit, sarif, text

    return {"text": text.render, "compact": compact.render, "json": json_.render, "junit": junit.render,
            "sarif": sarif.render, "github": github.render}


RENDERERS: dict[str, Renderer] = _registry()
