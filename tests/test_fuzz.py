"""The fuzz suite: one folder check over 1,200 damaged files (tests/support/fuzz.py) and every awkward input of
tests/support/hostile.py, run as a user would run it (a fresh `preflight check` process, worker processes and
all). Every file gets a result, none of them an internal error, no traceback is printed, and time and
peak memory stay bounded. Crashes it found are named regression tests in test_inputs.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fuzz import seeds, write_mutants
from tests.support.hostile import ODD_NAMES, damaged_exif_jpeg, mjpeg_bomb, special_files
from tests.support.media_factory import VideoSpec, make_video

MUTANTS = 1200
TIME_LIMIT_S = 240  # measured: about 35 s on the 2-core development machine
MEMORY_LIMIT_KB = 800_000  # the largest single process (parent or worker); measured: about 200 MB

# Runs the check in a child and prints its wall time and the peak RSS of the largest process in its tree.
_MEASURE = """
import json, resource, subprocess, sys, time
started = time.monotonic()
proc = subprocess.run(sys.argv[1:], capture_output=True)
print(json.dumps({"code": proc.returncode, "seconds": time.monotonic() - started,
                  "max_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "stderr": proc.stderr.decode("utf-8", "replace")}))
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    media = root / "media"
    write_mutants(seeds(root / "seeds"), media, MUTANTS)
    special_files(media)
    mjpeg_bomb(media / "bomb.mov")
    damaged_exif_jpeg(media / "damaged-exif.jpg")
    for name in ODD_NAMES:
        make_video(media / name, VideoSpec(width=96, height=64, seconds=1.0))
    (media / "empty.mp4").write_bytes(b"")
    (media / "pointer.mp4").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n")
    return media


@pytest.fixture(scope="module")
def run(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    report = tmp_path_factory.mktemp("out") / "report.json"
    cmd = [sys.executable, "-c", "from preflight.cli import main; raise SystemExit(main())",
           "check", "--no-cache", "--format", "json", "-o", str(report), "-q", str(folder)]
    env = {**os.environ, "PREFLIGHT_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    measured = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True,
                              timeout=TIME_LIMIT_S * 2, env=env, check=True)
    stats = json.loads(measured.stdout)
    return stats, json.loads(report.read_text())


def test_every_file_is_reported(folder: Path, run: tuple[dict, dict]) -> None:
    stats, doc = run
    on_disk = {os.fsencode(p) for p in folder.iterdir()}
    reported = {r["path"].encode("utf-8").decode("unicode_escape").encode("latin-1")
                if "\\x" in r["path"] else os.fsencode(r["path"]) for r in doc["results"]}
    assert len(doc["results"]) == len(on_disk) >= MUTANTS + 10
    assert reported == on_disk
    assert stats["code"] == 2  # some inputs are unusable; none took the run down


def test_no_internal_errors_and_no_traceback(run: tuple[dict, dict]) -> None:
    stats, doc = run
    internal = [(r["path"], r["error"]) for r in doc["results"] if r["internal"]]
    assert internal == []
    assert "Traceback" not in stats["stderr"] and "internal error" not in stats["stderr"]


def test_time_and_memory_stay_bounded(run: tuple[dict, dict]) -> None:
    stats, _ = run
    assert stats["seconds"] < TIME_LIMIT_S
    assert stats["max_rss_kb"] < MEMORY_LIMIT_KB


def test_each_kind_of_input_gets_its_verdict(run: tuple[dict, dict]) -> None:
    _, doc = run
    by_name = {Path(r["path"]).name: r for r in doc["results"]}
    assert "named pipe" in by_name["pipe.mp4"]["error"] and "character device" in by_name["zero.mp4"]["error"]
    assert "declares 16000x16000" in by_name["bomb.mov"]["error"]
    assert by_name["pointer.mp4"]["not_fetched"] and "0 bytes" in by_name["empty.mp4"]["error"]
    exif = [f for f in by_name["damaged-exif.jpg"]["findings"] if f["rule"] == "image.exif"]
    assert exif[0]["outcome"] == "fail"
    for name in ("concat:real.mp4", "-i.mp4", "a|b.mp4", "two words.mp4", "caf\\xe9-latin1.mp4"):
        assert by_name[name]["verdict"] == "fail" and by_name[name]["facts"]["duration_s"] > 0.9, name


def test_the_seeds_get_the_same_verdict_in_the_crowd(folder: Path, run: tuple[dict, dict],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Undamaged files are judged in the folder run exactly as alone."""
    from preflight.cli import main

    _, doc = run
    by_name = {Path(r["path"]).name: r for r in doc["results"]}
    alone = folder / "two words.mp4"
    main(["check", "--no-cache", "--format", "json", str(alone)])
    (single,) = json.loads(capsys.readouterr().out)["results"]
    crowd = by_name[alone.name]
    assert (single["verdict"], single["findings"]) == (crowd["verdict"], crowd["findings"])


def test_the_generator_is_deterministic(tmp_path: Path) -> None:
    from tests.support.fuzz import mutants

    files = seeds(tmp_path / "seeds")
    first = [(name, len(data), hash(data)) for name, data in mutants(files, 60)]
    again = [(name, len(data), hash(data)) for name, data in mutants(files, 60)]
    assert first == again and len({name for name, _, _ in first}) == 60
