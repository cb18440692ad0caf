"""The rule registry: every rule is a small pure function over facts, registered under a stable ID.

A rule declares its parameters as keyword-only arguments with type hints; their values (thresholds)
live in the rule files under ``rules/``. It returns a Verdict; the engine stamps the configured
severity, fix hint and documentation source on it. The function's docstring is the rule's
documentation: its first line is the summary shown in reports and SARIF.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from preflight.model.report import Outcome

RuleKind = Literal["video", "image", "any", "link", "tavus"]
# link: remote inputs only, in any rule set; tavus: only where Tavus's own image check ran, in image rule sets


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    message: str
    measured: Any = None
    expected: Any = None
    soft: bool = False  # a near miss (below a recommendation, not a requirement): at most a warning
    spans: tuple[tuple[float, float], ...] = ()  # where in the video it failed, for timelines


def passed(message: str, measured: Any = None, expected: Any = None) -> Verdict:
    return Verdict("pass", message, measured, expected)


def failed(message: str, measured: Any = None, expected: Any = None, *, soft: bool = False,
           spans: Iterable[Any] = ()) -> Verdict:
    """``spans``: where it failed, as objects with ``start_s`` and ``end_s`` (checks/spans.py's Span)."""
    return Verdict("fail", message, measured, expected, soft,
                   tuple((round(s.start_s, 3), round(s.end_s, 3)) for s in spans))


def skipped(reason: str) -> Verdict:
    """The rule could not be evaluated; ``reason`` says why. Never a silent pass."""
    return Verdict("skip", reason)


@dataclass(frozen=True)
class Param:
    name: str
    type: Any  # int, float, str, bool or list[str]
    default: Any  # inspect.Parameter.empty when the rule file must give it


@dataclass(frozen=True)
class Rule:
    id: str
    kind: RuleKind
    func: Callable[..., Verdict]
    params: tuple[Param, ...]

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.func.__doc__ or "")

    @property
    def summary(self) -> str:
        return self.doc.splitlines()[0] if self.doc else self.id


RULES: dict[str, Rule] = {}
F = TypeVar("F", bound=Callable[..., Verdict])


def rule(rule_id: str, kind: RuleKind) -> Callable[[F], F]:
    """Register ``func`` as rule ``rule_id`` for facts of ``kind``."""

    def register(func: F) -> F:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id} registered twice")
        RULES[rule_id] = Rule(rule_id, kind, func, _params(func))
        return func

    return register


def _params(func: Callable[..., Verdict]) -> tuple[Param, ...]:
    hints = typing.get_type_hints(func)
    return tuple(
        Param(p.name, hints[p.name], p.default)
        for p in inspect.signature(func).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    )
