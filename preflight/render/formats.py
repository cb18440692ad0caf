"""The report formats of ``--format``, each a renderer: (Report, RenderOptions) -> text."""

from __future__ import annotations

from collections.abc import Callable

from preflight.render import compact, github, json_, junit, sarif, text
from preflight.render.options import RenderOptions
from preflight.model.report import Report

__all__ = ["RENDERERS", "Renderer"]

Renderer = Callable[[Report, RenderOptions], str]

RENDERERS: dict[str, Renderer] = {"text": text.render, "compact": compact.render, "json": json_.render,
                                  "junit": junit.render, "sarif": sarif.render, "github": github.render}
