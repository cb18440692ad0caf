"""Rule sets: the built-ins are complete and documented; user files extend, override and fail clearly."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from preflight.checks import RULES
from preflight.errors import RuleSetError
from preflight.judge.ruleset import builtin_dir, builtin_names, load


def write(tmp_path: Path, text: str, name: str = "my.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_rule_sets_are_the_documented_targets() -> None:
    assert {"phoenix-4", "phoenix-4.5", "phoenix-3", "image"} <= set(builtin_names())
    assert {load(n).kind for n in builtin_names()} == {"video", "image"}


@pytest.mark.parametrize("name", builtin_names())
def test_every_rule_entry_has_severity_fix_and_source(name: str) -> None:
    doc = tomllib.loads((builtin_dir() / f"{name}.toml").read_text())
    for rule_id, entry in doc.get("rules", {}).items():
        assert rule_id in RULES
    for config in load(name).rules:
        assert config.severity in ("error", "warning", "info")
        assert config.fix.strip() and config.source.strip(), config.id
        assert "reference" in config.source, f"{name}: {config.id} must cite the requirements reference"


def test_every_rule_has_a_docstring_with_a_summary_and_a_why() -> None:
    for rule in RULES.values():
        lines = rule.doc.splitlines()
        assert len(lines) >= 3 and lines[0].endswith("."), rule.id
        assert lines[1] == "", f"{rule.id}: summary line, blank line, then the why and how to fix"


def test_every_registered_rule_is_used_by_a_builtin_rule_set() -> None:
    used = {c.id for n in builtin_names() for c in load(n).rules}
    assert used == set(RULES)


def test_phoenix3_overrides_phoenix4_thresholds_and_inherits_the_rest() -> None:
    p3, p4 = load("phoenix-3"), load("phoenix-4")
    params = {c.id: c.params for c in p3.rules}
    assert params["video.resolution"]["min_short_side"] == 720
    assert params["video.duration"]["recommended_min_s"] == 120.0
    assert params["video.fps"] == {c.id: c.params for c in p4.rules}["video.fps"]
    assert p3.kind == "video" and p3.name == "phoenix-3"


def test_user_file_extends_overrides_and_disables(tmp_path: Path) -> None:
    path = write(tmp_path, """
[ruleset]
extends = "phoenix-4"
name = "studio"

[rules."video.fps"]
min_fps = 29.97
severity = "warning"

[rules."video.vfr"]
enabled = false
""")
    rs = load(str(path))
    by_id = {c.id: c for c in rs.rules}
    assert rs.name == "studio" and rs.kind == "video"
    assert by_id["video.fps"].params == {"min_fps": 29.97} and by_id["video.fps"].severity == "warning"
    assert by_id["video.fps"].fix == {c.id: c for c in load("phoenix-4").rules}["video.fps"].fix
    assert "video.vfr" not in by_id


def test_extends_a_file_relative_to_the_extending_file(tmp_path: Path) -> None:
    write(tmp_path, '[ruleset]\nextends = "phoenix-3"\n[rules."video.fps"]\nmin_fps = 24.0\n', "base.toml")
    path = write(tmp_path, '[ruleset]\nextends = "base.toml"\nname = "child"\n')
    by_id = {c.id: c for c in load(str(path)).rules}
    assert by_id["video.fps"].params["min_fps"] == 24.0
    assert by_id["video.resolution"].params["min_short_side"] == 720


@pytest.mark.parametrize(("text", "message"), [
    ('[ruleset]\nextends = "phoenix-4"\n[rules."video.fps"]\nmin_fsp = 30\n',
     "my.toml → rules.video.fps: unknown key 'min_fsp'; did you mean 'min_fps'?"),
    ('[ruleset]\nextends = "phoenix-4"\n[rules."video.fsp"]\nmin_fps = 30\n',
     "my.toml → rules: unknown rule 'video.fsp'; did you mean 'video.fps'?"),
    ('[ruleset]\nextends = "phoenix-4"\n[rules."video.fps"]\nmin_fps = "fast"\n',
     "my.toml → rules.video.fps.min_fps: 'fast' is not of type 'number'"),
    ('[ruleset]\nextends = "phoenix-4"\n[rules."video.fps"]\nseverity = "fatal"\n',
     "my.toml → rules.video.fps.severity: 'fatal' is not one of ['info', 'warning', 'error']"),
    ('[ruleset]\nextends = "phoenix-4"\nnmae = "x"\n', "my.toml → ruleset: unknown key 'nmae'; did you mean 'name'?"),
    ('[ruleset]\nkind = "video"\n[rules."video.fps"]\nmin_fps = 30\nfix = "x"\nsource = "y"\n',
     "my.toml → rules.video.fps: missing 'severity'"),
    ('[ruleset]\nkind = "video"\n[rules."video.fps"]\nseverity = "error"\nfix = "x"\nsource = "y"\n',
     "my.toml → rules.video.fps: missing threshold 'min_fps'"),
    ('[ruleset]\nkind = "image"\n[rules."video.fps"]\nmin_fps = 1\nseverity = "error"\nfix = "x"\nsource = "y"\n',
     "my.toml → rules.video.fps: a video rule cannot be used in an image rule set"),
    ('[ruleset]\nextends = "phoenix-9"\n', "unknown rule set 'phoenix-9'; built-in rule sets: image, phoenix-3"),
    ('[ruleset]\nextends = "my.toml"\n', "my.toml: 'extends' loops back to itself"),
    ("[ruleset\n", "my.toml: not valid TOML"),
    ("[ruleset]\nname = 'x'\n", "my.toml → ruleset.kind: required"),
])
def test_invalid_rule_file_names_the_bad_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RuleSetError) as err:
        load(str(path))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_rule_file_and_unknown_builtin_name() -> None:
    with pytest.raises(RuleSetError, match="rule file nowhere/x.toml not found"):
        load("nowhere/x.toml")
    with pytest.raises(RuleSetError, match="unknown rule set 'fast'"):
        load("fast")


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_files_are_valid(name: str) -> None:
    """Loading skips validation for the shipped files (it costs start-up time): it happens here."""
    from preflight.judge.ruleset import _validate, builtin_dir

    path = builtin_dir() / f"{name}.toml"
    _validate(path, tomllib.loads(path.read_text(encoding="utf-8")))


def test_no_rule_threshold_is_a_code_default() -> None:
    """Every threshold a rule reads is set in the rule files (a built-in rule set sets each one, itself
    or through ``extends``): what `preflight rules NAME` lists is all there is."""
    import inspect

    from preflight.judge.ruleset import builtin_names, load

    for rule in RULES.values():
        assert [p.name for p in rule.params if p.default is not inspect.Parameter.empty] == [], rule.id
    for name in builtin_names():
        for config in load(name).rules:
            assert set(config.params) == {p.name for p in RULES[config.id].params}, (name, config.id)
