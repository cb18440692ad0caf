"""One file's internal error (a bug in preflight or a library) is that file's result: verdict error,
the stage named, ``internal`` in the JSON, the traceback in a private log named once; every other file
is still checked and reported."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from preflight.media import analyze
from preflight.cli import main
from preflight.media import audio, blazeface, image, scan
from tests.conftest import IMAGE_FILES_ONLY
from tests.support.media_factory import VideoSpec, make_image, make_video


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("injected failure with a signed https://b.example/x?X-Amz-Signature=abc123 in it")


STAGES = [
    ("probe", analyze, "probe_video", "probing the file"),
    ("decode", scan, "_summarise", "decoding"),
    ("faces", blazeface, "detect", "looking for faces"),  # videos' detector (images use faces.FaceDetector)
    ("audio", audio.AudioAnalyzer, "_feed", "analysing the audio"),
]


@pytest.mark.parametrize(("stage", "owner", "name", "doing"), STAGES, ids=[s[0] for s in STAGES])
def test_an_internal_error_names_its_stage_and_is_logged_privately(
        stage: str, owner: object, name: str, doing: str, tmp_path: Path, private_cache: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], in_process: None) -> None:
    clip = make_video(tmp_path / "clip.mp4", VideoSpec(seconds=1.5))
    monkeypatch.setattr(owner, name, _boom)
    code = main(["check", "--no-cache", "--format", "json", str(clip)])
    out = capsys.readouterr()
    (result,) = json.loads(out.out)["results"]
    assert code == 2
    assert result["verdict"] == "error" and result["internal"] is True
    assert f"internal error while {doing} (RuntimeError" in result["error"] and "\n" not in result["error"]
    assert "Traceback" not in out.err and "Traceback" not in out.out
    (line,) = [ln for ln in out.err.splitlines() if "internal error" in ln]  # the log is named once
    log = Path(line.split("details in ")[1].split(";")[0])
    assert log.parent == private_cache / "logs"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600 and stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    text = log.read_text()
    assert "Traceback" in text and "_boom" in text and f"{clip}: {stage}: RuntimeError" in text
    assert "abc123" not in text and "X-Amz-Signature=REDACTED" in text  # secrets never reach the log


def test_an_internal_error_while_judging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str], in_process: None) -> None:
    from preflight.checks import RULES

    photo = make_image(tmp_path / "photo.png")
    spec = RULES["image.alpha"]
    monkeypatch.setitem(RULES, "image.alpha", type(spec)(**{**spec.__dict__, "func": _boom}))
    assert main(["check", "--no-cache", "--format", "json", "--rules", IMAGE_FILES_ONLY, str(photo)]) == 2
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["internal"] is True and "while judging the facts" in result["error"]


def test_other_files_are_still_checked_and_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str], in_process: None) -> None:
    """The batch runs its jobs in this process here, so the failure can be injected into one file."""
    files = [make_image(tmp_path / "a.png"), make_image(tmp_path / "b-broken.png"), make_image(tmp_path / "c.jpg")]
    real = image._with_faces

    def fails_on_b(facts, rgb, settings):  # type: ignore[no-untyped-def]
        if rgb.size == (640, 640) and facts.extension == ".png" and facts.size_bytes == files[1].stat().st_size:
            raise ValueError("a detector bug")
        return real(facts, rgb, settings)

    files[1].write_bytes(files[1].read_bytes() + b"\0")  # a size of its own, so only it fails
    monkeypatch.setattr(image, "_with_faces", fails_on_b)
    code = main(["check", "--no-cache", "--format", "json", "--rules", IMAGE_FILES_ONLY, *map(str, files)])
    doc = json.loads(capsys.readouterr().out)
    verdicts = {Path(r["path"]).name: (r["verdict"], r["internal"]) for r in doc["results"]}
    assert verdicts == {"a.png": ("pass", False), "b-broken.png": ("error", True), "c.jpg": ("pass", False)}
    assert "while looking for faces (ValueError: a detector bug)" in doc["results"][1]["error"]
    assert code == 2 and doc["summary"] == {"files": 3, "passed": 2, "failed": 0, "errors": 1, "skipped": 0}


def test_a_bug_outside_any_check_still_gets_one_line_and_a_private_log(
        private_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from preflight.commands import rules as rules_cmd

    monkeypatch.setattr(rules_cmd, "show", _boom)
    assert main(["rules"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "preflight: internal error: RuntimeError" in err and "abc123" not in err
    log = Path(err.split("details in ")[1].split(";")[0])
    assert log.parent == private_cache / "logs" and stat.S_IMODE(log.stat().st_mode) == 0o600


SEGFAULT_PLANT = """\
import os
import signal

import preflight.media.analyze

real = preflight.media.analyze.analyze


def analyze(path, *args, **kwargs):
    if "crash" in str(path):
        os.kill(os.getpid(), signal.SIGSEGV)  # a decoder's native crash, as the process sees it
    return real(path, *args, **kwargs)


preflight.media.analyze.analyze = analyze
"""


def planted(tmp_path: Path) -> dict[str, str]:
    import os

    from tests.conftest import REPO

    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SEGFAULT_PLANT)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(hooks), str(REPO)])}


def test_a_crash_on_the_only_file_is_its_error_result_and_exit_2(tmp_path: Path) -> None:
    """One file on the command line still runs in a worker: a native crash there is that file's error
    result (exit 2), never a command that dies with SIGSEGV and no report. The crash is planted from
    outside preflight, by a sitecustomize module every process (the workers too) runs at start-up."""
    import subprocess
    import sys

    env = planted(tmp_path)
    clip = make_video(tmp_path / "crash.mp4", VideoSpec(seconds=1.0))
    done = subprocess.run([sys.executable, "-m", "preflight", "check", "--no-cache", "--format", "json", str(clip)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    (result,) = json.loads(done.stdout)["results"]
    assert result["verdict"] == "error" and "crashed" in result["error"] and result["path"] == str(clip)
    assert "Traceback" not in done.stderr


def test_a_crash_while_fixing_is_a_one_line_error_and_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = planted(tmp_path)
    clip = make_video(tmp_path / "crash.mp4", VideoSpec(seconds=1.0))
    done = subprocess.run([sys.executable, "-m", "preflight", "fix", str(clip)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "crashed or hung" in line and "nothing was written" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crash.mp4", "hooks"]


def test_a_crash_while_submit_checks_the_file_stops_the_submit_with_exit_2(tmp_path: Path) -> None:
    """submit's own check runs in the pool too: the planted crash is the file's error, nothing is sent."""
    import subprocess
    import sys

    env = {**planted(tmp_path), "TAVUS_API_KEY": "not-a-real-key", "TAVUS_API_URL": "http://127.0.0.1:9",
           "PREFLIGHT_CACHE_DIR": str(tmp_path / "cache")}
    clip = make_video(tmp_path / "crash.mp4", VideoSpec(seconds=1.0))
    done = subprocess.run([sys.executable, "-m", "preflight", "submit", "--bucket", "b", str(clip)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "crashed" in done.stdout + done.stderr and "Traceback" not in done.stderr
