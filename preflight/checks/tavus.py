"""Tavus's own verdict on a headshot, as a rule beside preflight's: ``tavus.image_validation``.

It runs only where Tavus's image check ran (``check --tavus``, and ``submit`` before any upload); it
reads ``facts.tavus``, which the run layer fills from ``POST /v2/faces/image-validation``.
"""

from __future__ import annotations

from preflight.checks.registry import Verdict, failed, passed, rule
from preflight.model.facts import TavusOnlyFacts


@rule("tavus.image_validation", kind="tavus")
def image_validation(facts: TavusOnlyFacts) -> Verdict:
    """Tavus's own image check passes (needs TAVUS_API_KEY; check --tavus, submit).

    Tavus runs the checks its training applies to a headshot and answers with a verdict and one entry
    per check; HTTP 200 only means the check ran. preflight's own rules explain and locate most of the
    same problems, but Tavus's verdict is the one training will follow, so it is shown beside them.
    """
    verdict = facts.tavus
    measured = [{"id": c.id, "label": c.label, "passed": c.passed} for c in verdict.checks]
    if verdict.passed:
        return passed(f"Tavus's image check ({verdict.model}) passes", measured, "passed")
    failing = ", ".join(f"{c.label} ({c.id})" for c in verdict.checks if not c.passed) or "no check named"
    return failed(f"Tavus's image check ({verdict.model}) fails: {failing}", measured, "passed")
