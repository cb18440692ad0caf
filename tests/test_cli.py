"""The command line as a user meets it: help, exit codes, rule sets, directories, colour, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from preflight.media.analyze import analyze
from preflight.cli import _color, main
from preflight.judge.engine import judge
from preflight.render.formats import RENDERERS
from preflight.render.options import RenderOptions
from preflight.model.report import Report
from preflight.judge.ruleset import load
from tests.conftest import IMAGE_FILES_ONLY
from tests.support.media_factory import VideoSpec, make_image, make_video


def test_help_shows_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--help"]) == 0
    out = capsys.readouterr().out
    assert "preflight check training.mp4" in out and "Exit codes: 0" in out and "--fail-level" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "preflight, version" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert main(["check", "--format", "xml", "x.mp4"]) == 2
    assert main(["frobnicate"]) == 2
    assert "Traceback" not in capsys.readouterr().err


STREAM_RULES = {"file.size", "file.decodable", "file.extension", "container.format", "video.codec", "audio.present",
                "audio.codec", "video.duration", "video.fps", "video.resolution", "video.vfr", "video.stream_changes"}


def test_good_stream_passes_every_file_and_stream_rule(capsys: pytest.CaptureFixture[str], good_video: Path) -> None:
    """The synthetic 61 s 1080p clip is a perfect file with nobody in it: stream rules pass, face rules fail."""
    facts = analyze(good_video)
    for rules in ("phoenix-4", "phoenix-4.5"):
        findings = {f.rule: f for f in judge(facts, load(rules))}
        assert {findings[r].outcome for r in STREAM_RULES} == {"pass"}, rules
        assert findings["face.count"].outcome == "fail" and "no face" in findings["face.count"].message
        assert findings["video.black_frozen"].outcome == "fail" and "frozen" in findings["video.black_frozen"].message
    # Phoenix-3 recommends 120 s: a 61 s video gets a warning.
    duration = {f.rule: f for f in judge(facts, load("phoenix-3"))}["video.duration"]
    assert (duration.outcome, duration.severity) == ("fail", "warning")
    assert "120 s or more is recommended" in duration.message
    assert main(["check", "--format", "json", str(good_video)]) == 1
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["ruleset"] == "phoenix-4" and result["facts"]["face_count"] == 0


def test_720p_video_fails_phoenix4_and_passes_phoenix3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_video(tmp_path / "hd.mp4", VideoSpec(width=1280, height=720, seconds=2))
    user_rules = tmp_path / "short-ok.toml"
    for base in ("phoenix-4", "phoenix-3"):
        user_rules.write_text(f'[ruleset]\nextends = "{base}"\n[rules."video.duration"]\nmin_s = 1.0\n'
                              'recommended_min_s = 0.0\n')
        main(["check", "--rules", str(user_rules), "--format", "json", str(path)])
        (result,) = json.loads(capsys.readouterr().out)["results"]
        res = {f["rule"]: f for f in result["findings"]}["video.resolution"]
        assert (base, res["outcome"], res["severity"]) in {("phoenix-4", "fail", "error"),
                                                           ("phoenix-3", "fail", "warning")}


def test_bad_rule_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[ruleset]\nextends = "phoenix-4"\n[rules."video.fps"]\nminimum = 30\n')
    assert main(["check", "--rules", str(bad), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("preflight: error: bad.toml → rules.video.fps: unknown key 'minimum'; "
                           "expected one of: severity, fix, source, enabled, min_fps")


def test_image_with_a_video_rule_set_uses_the_image_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", "--rules", "phoenix-3", "--format", "json", str(make_image(tmp_path / "a.jpg"))])
    assert json.loads(capsys.readouterr().out)["results"][0]["ruleset"] == "image"


def test_directories_are_walked_for_media_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_image(tmp_path / "b.png")
    (tmp_path / "sub").mkdir()
    make_image(tmp_path / "sub" / "a.jpg")
    (tmp_path / "notes.txt").write_text("not media")
    (tmp_path / ".git").mkdir()
    make_image(tmp_path / ".git" / "hidden.png")
    assert main(["check", "--format", "json", "--rules", IMAGE_FILES_ONLY, str(tmp_path)]) == 0
    paths = [Path(r["path"]).relative_to(tmp_path).as_posix() for r in json.loads(capsys.readouterr().out)["results"]]
    assert paths == ["b.png", "sub/a.jpg"]


def test_directory_without_media_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "readme.txt").write_text("hi")
    assert main(["check", str(tmp_path)]) == 2
    assert "no video or image files found" in capsys.readouterr().err


def test_output_may_not_overwrite_an_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = make_image(tmp_path / "a.jpg")
    before = image.read_bytes()
    assert main(["check", "-o", str(image), str(image)]) == 2
    assert image.read_bytes() == before
    assert "would overwrite an input file" in capsys.readouterr().err


def test_quick_mode_skips_the_decode_rules(video, capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", "--quick", "--format", "json", str(video("a.mp4"))])
    findings = {f["rule"]: f for f in json.loads(capsys.readouterr().out)["results"][0]["findings"]}
    assert findings["file.decodable"]["outcome"] == "skip" and findings["video.vfr"]["outcome"] == "skip"
    assert findings["video.codec"]["outcome"] == "pass"


def test_rules_command_lists_shows_and_explains(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("phoenix-4", "phoenix-4.5", "phoenix-3", "image"))
    assert main(["rules", "phoenix-3"]) == 0
    out = capsys.readouterr().out
    assert "min_short_side=720" in out and "source: reference" in out and "fix: " in out
    assert main(["rules", "video.fps"]) == 0
    out = capsys.readouterr().out
    assert "The average frame rate is at least 25 fps." in out and "in phoenix-4: error, min_fps=25.0" in out
    assert main(["rules", "nope"]) == 2


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert _color(Tty()) is True
    assert _color(object()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert _color(Tty()) is False


def test_text_renderer_colours_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from preflight.run.check_run import CheckOptions, build_report

    report: Report = build_report([make_image(tmp_path / "tiny.png", size=(100, 100))], CheckOptions())
    plain = RENDERERS["text"](report, RenderOptions(color=False))
    coloured = RENDERERS["text"](report, RenderOptions(color=True))
    assert "\x1b[" not in plain and "\x1b[" in coloured
    assert "412 px too narrow" in plain and "fix: " in plain
    assert plain.index("✗ error") < plain.index("rules passed")  # failures first


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"\x00" * 1000)
    proc = subprocess.run([sys.executable, "-m", "preflight", "check", str(bad)], capture_output=True, text=True,
                          env={"NO_COLOR": "1", "PATH": ""}, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert "is not a readable video or image" in proc.stdout


def test_pre_commit_hooks_call_real_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The hook definitions run `preflight check` with options that exist, on the files pre-commit passes."""
    import re
    import shlex

    text = (Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text()
    entries = re.findall(r"^\s+entry: (.+)$", text, re.M)
    patterns = re.findall(r"^\s+files: (.+)$", text, re.M)
    assert entries and len(entries) == len(patterns)
    image = make_image(tmp_path / "tiny.png", size=(100, 100))
    for entry, pattern in zip(entries, patterns):
        assert re.search(pattern, image.name) and not re.search(pattern, "notes.txt")
        argv = shlex.split(entry)
        assert argv[0] == "preflight"
        assert main([*argv[1:], str(image)]) == 1  # too small: the hook fails the commit
        assert "image.resolution" in capsys.readouterr().out


def test_a_report_never_overwrites_media_found_in_a_named_folder(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.media_factory import VideoSpec, make_video

    (tmp_path / "media").mkdir()
    clip = make_video(tmp_path / "media" / "clip.mp4", VideoSpec(seconds=1))
    before = clip.read_bytes()
    assert main(["check", str(tmp_path / "media"), "--format", "json", "-o", str(clip)]) == 2
    assert "would overwrite an input file" in capsys.readouterr().err
    other = make_video(tmp_path / "other.mp4", VideoSpec(seconds=1))
    assert main(["check", str(tmp_path / "media"), "--format", "json", "-o", str(other)]) == 2
    assert "would overwrite a media file" in capsys.readouterr().err
    assert clip.read_bytes() == before
