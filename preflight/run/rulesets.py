"""Which rule set judges a file: ``--rules``, a project's patterns, the kind's default, or a Tavus model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Protocol

from preflight.errors import UsageError
from preflight.model.facts import Kind
from preflight.inputs.project import ProjectConfig
from preflight.judge.ruleset import DEFAULT_RULESETS, RuleSet, image_models, load, models

# What Tavus's AI Image Fixer (auto_fix_training_image) repairs: with it, these only warn.
FRAMING_RULES = frozenset({"face.centered", "face.head_in_frame", "face.size", "face.looking"})


class Chooser(Protocol):
    """Given a file (a path, or a remote file) and its kind, the rule set that judges it."""

    def __call__(self, source: object, kind: Kind) -> RuleSet: ...


class RuleSets:
    """Which rule set judges a file: ``--rules`` for files of its kind, else the first of the project's
    patterns that matches the file and names a rule set of its kind, else the default for the kind."""

    def __init__(self, rules: str | None, config: ProjectConfig | None) -> None:
        self.config = config
        self._loaded: dict[str, RuleSet] = {}
        self.chosen = self.get(rules) if rules else None

    def get(self, ref: str) -> RuleSet:
        if ref not in self._loaded:
            self._loaded[ref] = load(ref)
        return self._loaded[ref]

    def __call__(self, source: object, kind: Kind) -> RuleSet:
        return self.for_file(source, kind)

    def for_file(self, path: object, kind: Kind) -> RuleSet:
        if self.chosen is not None and self.chosen.kind == kind:
            return self.chosen
        for ref in self.config.ruleset_refs(path) if self.config is not None and isinstance(path, Path) else []:
            if (ruleset := self.get(ref)).kind == kind:
                return ruleset
        return self.get(DEFAULT_RULESETS[kind])


def for_model(kind: Kind, model: str, *, auto_fix_image: bool = False) -> RuleSet:
    """The rule set a submit to ``model`` is judged by. A video: the model's own. An image: the image
    rules, whatever the model (the image requirements are one for phoenix-4 and -4.5); with
    ``auto_fix_image`` the framing rules Tavus's image fixer repairs only warn. Phoenix-3 trains from
    videos only: an image for it is refused."""
    known = models()  # from the rule files' own ``models``
    if model not in known:
        raise UsageError(f"unknown model {model!r}; use one of {', '.join(known)}")
    if kind == "video":
        return load(known[model])
    if model not in image_models():
        raise UsageError(f"image training is not available on {model}; use --model {' or '.join(image_models())}")
    rules = load(DEFAULT_RULESETS["image"])
    if auto_fix_image:
        rules = replace(rules, rules=tuple(replace(c, severity="warning") if c.id in FRAMING_RULES else c
                                           for c in rules.rules))
    return rules


def model_chooser(model: str, *, auto_fix_image: bool = False) -> Chooser:
    """A ``Chooser`` that gives every file the rule set of a submit to ``model``."""
    def choose(source: object, kind: Kind) -> RuleSet:
        return for_model(kind, model, auto_fix_image=auto_fix_image)
    return choose
