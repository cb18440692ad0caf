"""preflight: check avatar-training media locally before it is uploaded.

The library API (the command line runs the same code)::

    import preflight

    report = preflight.check("training.mp4", "headshot.jpg")   # -> preflight.Report
    for result in report.results:
        print(result.path, result.verdict, [f.rule for f in result.findings if f.fails_at("error")])
    print(report.to_json())                                     # the preflight.report/1 document

    preflight.fix("phone.mov")                                  # -> FixOutcome(output=..., passed=..., log=...)
    preflight.load_rules("phoenix-4")                           # -> RuleSet
    preflight.submit("training.mp4", bucket="media", api_key="...")  # -> SubmitOutcome(face_id=..., ...)

Names are imported on first use, so ``import preflight`` (and the command line's start-up) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from preflight.version import __version__

__all__ = ["FileResult", "Finding", "FixOutcome", "PreflightError", "Report", "RuleSet", "SubmitOutcome", "check",
           "fix", "load_rules", "submit", "__version__"]

if TYPE_CHECKING:
    from preflight.errors import PreflightError
    from preflight.library import FixOutcome, check, fix, load_rules, submit
    from preflight.model.report import FileResult, Finding, Report
    from preflight.judge.ruleset import RuleSet
    from preflight.run.submit import SubmitOutcome

_WHERE = {"check": "library", "fix": "library", "submit": "library", "load_rules": "library",
          "FixOutcome": "library", "Report": "model.report", "FileResult": "model.report", "Finding": "model.report",
          "RuleSet": "judge.ruleset", "PreflightError": "errors", "SubmitOutcome": "run.submit"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"preflight.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'preflight' has no attribute {name!r}")
