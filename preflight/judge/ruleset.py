"""Rule sets: TOML files that configure which rules run, with which thresholds, severities and hints.

An ``[analysis]`` table sets how much is measured (sampling rate, working sizes; see
``preflight/media/settings.py``). A rule set may ``extends`` another (a built-in name, or a path relative to the extending file) and
override any key of any rule, or switch a rule off with ``enabled = false``. Every file is validated
on load; an error names the file and the path to the bad key (``my.toml → rules.video.fps.min_fps``).
"""

from __future__ import annotations

import difflib
import inspect
import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, get_args, get_origin

from preflight.checks import RULES
from preflight.checks.registry import Param
from preflight.model.report import SEVERITIES, Severity
from preflight.errors import RuleSetError
from preflight.model.facts import Kind
from preflight.media.settings import AnalysisSettings
from preflight.inputs.project import is_file_ref
from preflight.inputs.validation import first_problem

DEFAULT_RULESETS: dict[Kind, str] = {"video": "phoenix-4", "image": "image"}
_RULE_KEYS = {"severity", "fix", "source", "enabled"}


def builtin_dir() -> Path:
    """``rules/`` ships inside the wheel as ``preflight/rules``; a source checkout has it at the top."""
    package = Path(__file__).resolve().parent.parent  # preflight/
    for candidate in (package / "rules", package.parent / "rules"):
        if candidate.is_dir():
            return candidate
    raise RuleSetError("the built-in rule sets are missing from this installation; reinstall preflight")


def builtin_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.toml"))


@lru_cache(maxsize=1)
def models() -> dict[str, str]:
    """Each Tavus model and the built-in rule set its training videos are judged by: the rule files'
    own ``models`` (the one place the model list is written)."""
    found: dict[str, str] = {}
    for name in builtin_names():
        ruleset = load(name)
        if ruleset.kind == "video":
            found.update({model: ruleset.name for model in ruleset.models})
    return dict(sorted(found.items()))


def model_of(rules: str) -> str:
    """The model a video rule set judges for (the default rule set's model for one that names none)."""
    named = load(rules).models or load(DEFAULT_RULESETS["video"]).models
    return named[0]


def image_models() -> tuple[str, ...]:
    """The models that train from a headshot: the image rule set's ``models``."""
    return load(DEFAULT_RULESETS["image"]).models


@lru_cache(maxsize=1)
def max_upload_bytes() -> int:
    """Tavus's size limit for a training file: the default video rule set's ``file.size`` (750 MB), the
    one place it is written. The service, link copies and takes are bounded by it."""
    params = {c.id: c.params for c in load(DEFAULT_RULESETS["video"]).rules}
    return int(params["file.size"]["max_bytes"])


@dataclass(frozen=True)
class RuleConfig:
    id: str
    severity: Severity
    fix: str
    source: str
    params: dict[str, Any]


@dataclass(frozen=True)
class RuleSet:
    name: str
    kind: Kind
    description: str
    origin: str  # the file it was read from
    rules: tuple[RuleConfig, ...] = field(default_factory=tuple)
    analysis: AnalysisSettings = AnalysisSettings()  # how much to measure: the [analysis] table
    models: tuple[str, ...] = ()  # the Tavus models it judges training files for (the header's ``models``)


def load(name_or_path: str) -> RuleSet:
    """Load a built-in rule set by name, or a rule file by path, resolving ``extends``."""
    path = _locate(name_or_path, base=None)
    header, analysis, rules = _merged(path, chain=())
    return replace(_build(path, header, rules), analysis=AnalysisSettings(**analysis))


def _locate(ref: str, base: Path | None) -> Path:
    if is_file_ref(ref):
        path = (base.parent / ref) if base is not None and not Path(ref).is_absolute() else Path(ref)
        if not path.is_file():
            raise RuleSetError(f"rule file {ref} not found")
        return path
    path = builtin_dir() / f"{ref}.toml"
    if not path.is_file():
        raise RuleSetError(f"unknown rule set '{ref}'; built-in rule sets: {', '.join(builtin_names())}")
    return path


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise RuleSetError(f"{path.name}: not valid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RuleSetError(f"{path.name}: cannot be read: {err}") from None
    if path.parent != builtin_dir():  # the built-in files are validated by the test suite instead
        _validate(path, doc)
    return doc


Merged = tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]


def _merged(path: Path, chain: tuple[Path, ...]) -> Merged:
    """The file's header, analysis settings and rules, laid over those of the rule set it extends."""
    if path.resolve() in chain:
        raise RuleSetError(f"{path.name}: 'extends' loops back to itself")
    doc = _read(path)
    header, analysis = dict(doc.get("ruleset", {})), dict(doc.get("analysis", {}))
    rules: dict[str, dict[str, Any]] = {}
    if "extends" in header:
        parent_header, parent_analysis, rules = _merged(_locate(header["extends"], base=path),
                                                        (*chain, path.resolve()))
        header = {**parent_header, **{k: v for k, v in header.items() if k != "extends"}}
        analysis = {**parent_analysis, **analysis}
    for rule_id, entry in doc.get("rules", {}).items():
        rules[rule_id] = {**rules.get(rule_id, {}), **entry}
    return header, analysis, rules


def _build(path: Path, header: dict[str, Any], rules: dict[str, dict[str, Any]]) -> RuleSet:
    name, kind = header.get("name") or path.stem, header.get("kind")
    if kind not in ("video", "image"):
        raise RuleSetError(f"{path.name} → ruleset.kind: required, \"video\" or \"image\"")
    configs = tuple(_config(path, kind, rule_id, entry) for rule_id, entry in rules.items()
                    if entry.get("enabled", True))
    return RuleSet(name, kind, header.get("description", ""), str(path), configs,
                   models=tuple(header.get("models", ())))


def _config(path: Path, kind: Kind, rule_id: str, entry: dict[str, Any]) -> RuleConfig:
    spec = RULES[rule_id]
    where = f"{path.name} → rules.{rule_id}"
    if spec.kind not in (kind, "any", "link") and not (spec.kind == "tavus" and kind == "image"):
        article = "an" if kind == "image" else "a"
        raise RuleSetError(f"{where}: a {spec.kind} rule cannot be used in {article} {kind} rule set")
    for key in ("severity", "fix", "source"):
        if key not in entry:
            raise RuleSetError(f"{where}: missing '{key}' (every rule needs a severity, a fix hint and its source)")
    params = {p.name: entry.get(p.name, p.default) for p in spec.params}
    missing = [n for n, v in params.items() if v is inspect.Parameter.empty]
    if missing:
        raise RuleSetError(f"{where}: missing threshold '{missing[0]}'")
    return RuleConfig(rule_id, entry["severity"], entry["fix"], entry["source"], params)


# --- validation -------------------------------------------------------------------------------


def _json_type(tp: Any) -> dict[str, Any]:
    if get_origin(tp) is list:
        return {"type": "array", "items": _json_type(get_args(tp)[0])}
    return {int: {"type": "integer"}, float: {"type": "number"}, str: {"type": "string"},
            bool: {"type": "boolean"}}[tp]


def _rule_schema(params: tuple[Param, ...]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "severity": {"enum": list(SEVERITIES)},
        "fix": {"type": "string", "minLength": 1},
        "source": {"type": "string", "minLength": 1},
        "enabled": {"type": "boolean"},
    }
    props.update({p.name: _json_type(p.type) for p in params})
    return {"type": "object", "properties": props, "additionalProperties": False}


def schema() -> dict[str, Any]:
    """The JSON schema of one rule file, built from the registered rules' parameters."""
    header = {"name": {"type": "string"}, "kind": {"enum": ["video", "image"]},
              "description": {"type": "string"}, "extends": {"type": "string"},
              "models": {"type": "array", "items": {"type": "string"}}}
    return {
        "type": "object",
        "properties": {
            "ruleset": {"type": "object", "properties": header, "additionalProperties": False},
            "analysis": AnalysisSettings.schema(),
            "rules": {"type": "object", "additionalProperties": False,
                      "properties": {rid: _rule_schema(r.params) for rid, r in RULES.items()}},
        },
        "additionalProperties": False,
    }


def _validate(path: Path, doc: dict[str, Any]) -> None:
    """Only user rule files are validated at run time (loading jsonschema costs 40 ms); the shipped
    ones are validated by the test suite."""
    problem = first_problem(doc, schema(), path.name)
    if problem is None:
        return
    if problem.unknown is not None:
        what = "rule" if problem.crumbs == "rules" else "key"
        hint = difflib.get_close_matches(problem.unknown, problem.known, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else f"; expected one of: {', '.join(problem.known)}"
        raise RuleSetError(f"{problem.where}: unknown {what} '{problem.unknown}'{suggestion}")
    raise RuleSetError(f"{problem.where}: {problem.message}")
