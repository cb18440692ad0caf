"""What ``preflight fix`` did, as text: the plan, what was written, before and after."""

from __future__ import annotations

from typing import TYPE_CHECKING

from preflight.model.report import FileResult, Finding

if TYPE_CHECKING:
    from preflight.run.fix import FixRun


def render(run: FixRun) -> str:
    if not run.failing:
        return f"{run.src}: nothing to fix, every rule passes\n"
    text = _plan_text(run)
    if run.written is None or run.after is None:
        return text
    text += "".join(f"note: {n}\n" for n in run.notes)
    text += _before_after(run.before, run.after)
    if run.remaining:
        text += ("These need a new recording or photo; no mechanical fix covers them:\n"
                 + "\n".join(_listing(run.remaining)) + "\n")
    return text


def _listing(findings: list[Finding]) -> list[str]:
    return [f"  - {f.rule} ({f.severity}): {f.message}" for f in findings]


def _plan_text(run: FixRun) -> str:
    lines = [f"{run.src}: fix plan"]
    lines += [f"  + {step}" for step in run.plan.steps] or ["  (no mechanical fix applies)"]
    if run.plan.steps:
        lines.append(f"  → {run.dst}")
    if run.plan.unfixable:
        lines.append("Not fixable by preflight (a new recording or photo is needed):")
        lines += _listing(run.plan.unfixable)
    return "\n".join(lines) + "\n"


def _failing(res: FileResult) -> set[str]:
    return {f.rule for f in res.findings if f.outcome == "fail"}


def _before_after(before: FileResult, after: FileResult) -> str:
    was, now = _failing(before), _failing(after)
    fixed, still = sorted(was - now), sorted(was & now)
    lines = [f"after: {after.path} {after.verdict.upper()}"]
    if fixed:
        lines.append(f"  fixed: {', '.join(fixed)}")
    if still:
        lines.append(f"  still failing: {', '.join(still)}")
    new = sorted(now - was)
    if new:
        lines.append(f"  newly failing: {', '.join(new)}")
    return "\n".join(lines) + "\n"
