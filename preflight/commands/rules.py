"""``preflight rules``: list the rule sets, show one rule set's rules and thresholds, or explain a rule."""

from __future__ import annotations

from preflight.checks import RULES
from preflight.judge.ruleset import RuleSet, builtin_names, load


def list_rulesets() -> str:
    lines = ["Built-in rule sets (use with --rules NAME, or extend one in your own TOML file):", ""]
    for name in builtin_names():
        rs = load(name)
        lines.append(f"  {rs.name:<12} {rs.kind:<6} {len(rs.rules):>2} rules  {rs.description}")
    lines += ["", "Show one: preflight rules NAME   Explain a rule: preflight rules RULE_ID"]
    return "\n".join(lines) + "\n"


def show_ruleset(rs: RuleSet) -> str:
    lines = [f"{rs.name} ({rs.kind}) — {rs.description}", f"from {rs.origin}", ""]
    for cfg in rs.rules:
        spec = RULES[cfg.id]
        params = ", ".join(f"{k}={v!r}" for k, v in cfg.params.items())
        lines.append(f"{cfg.id:<22} {cfg.severity:<8} {spec.summary}")
        if params:
            lines.append(f"{'':<22} {'':<8} thresholds: {params}")
        lines.append(f"{'':<22} {'':<8} fix: {cfg.fix}")
        lines.append(f"{'':<22} {'':<8} source: {cfg.source}")
    return "\n".join(lines) + "\n"


def explain_rule(rule_id: str) -> str:
    spec = RULES[rule_id]
    lines = [f"{rule_id} ({spec.kind} rule)", "", spec.doc, ""]
    for name in builtin_names():
        for cfg in load(name).rules:
            if cfg.id == rule_id:
                params = ", ".join(f"{k}={v!r}" for k, v in cfg.params.items()) or "no thresholds"
                lines.append(f"  in {name}: {cfg.severity}, {params}")
    return "\n".join(lines) + "\n"


def show(name: str | None) -> str:
    if name is None:
        return list_rulesets()
    if name in RULES:
        return explain_rule(name)
    return show_ruleset(load(name))
