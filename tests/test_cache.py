"""The result cache: hits on unchanged files; misses after a content change (even one that keeps the
size and modification time), a rule-file change, a version change, or another --fail-level/--quick."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import preflight.version
import preflight.media.analyze
from preflight.cli import main
from tests.support.media_factory import VideoSpec, make_image, make_video

RULES = """[ruleset]
extends = "phoenix-4"
name = "team"
[rules."video.fps"]
min_fps = {fps}
"""


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch, in_process: None) -> list[Path]:
    """Every file actually analysed (a cache hit analyses nothing), in this process."""
    seen: list[Path] = []
    real = preflight.media.analyze.analyze

    def counting(path: Path, **kwargs: object) -> object:
        seen.append(path)
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(preflight.media.analyze, "analyze", counting)
    return seen


def settled(path: Path) -> Path:
    """Date the file a minute back, as a file that has not just been written (see cache.py on racy stats)."""
    old = path.stat().st_mtime - 60
    os.utime(path, (old, old))
    return path


def check(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    main(["check", "-j", "1", "--format", "json", *args])
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return settled(make_video(tmp_path / "clip.mp4", VideoSpec(seconds=1.0)))


def test_unchanged_file_is_a_hit_with_the_same_result(clip: Path, analyses: list[Path],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    first = check(capsys, str(clip))
    second = check(capsys, str(clip))
    assert analyses == [clip]
    assert second["results"][0]["cached"] is True and first["results"][0]["cached"] is False
    for key in ("verdict", "facts", "findings", "ruleset"):
        assert second["results"][0][key] == first["results"][0][key]
    main(["check", str(clip)])
    assert "(1 from the cache)" in capsys.readouterr().out


def test_same_content_elsewhere_is_a_hit_under_its_own_name(clip: Path, analyses: list[Path],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    check(capsys, str(clip))
    copy = clip.with_name("copy.mp4")
    copy.write_bytes(clip.read_bytes())
    doc = check(capsys, str(copy))
    assert analyses == [clip] and doc["results"][0]["path"] == str(copy)


def test_content_change_is_a_miss_even_with_the_old_size_and_mtime(clip: Path, analyses: list[Path],
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    check(capsys, str(clip))
    st = clip.stat()
    data = bytearray(clip.read_bytes())
    data[-100] ^= 0xFF  # same size
    clip.write_bytes(bytes(data))
    os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns))  # the old modification time, too
    check(capsys, str(clip))
    assert analyses == [clip, clip]


def test_rule_file_change_is_a_miss(clip: Path, analyses: list[Path], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "team.toml"
    rules.write_text(RULES.format(fps=25))
    check(capsys, "--rules", str(rules), str(clip))
    check(capsys, "--rules", str(rules), str(clip))
    assert len(analyses) == 1
    rules.write_text(RULES.format(fps=24))
    check(capsys, "--rules", str(rules), str(clip))
    assert len(analyses) == 2
    check(capsys, "--rules", "phoenix-3", str(clip))
    assert len(analyses) == 3


def test_version_and_options_are_part_of_the_key(clip: Path, analyses: list[Path], monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    check(capsys, str(clip))
    monkeypatch.setattr(preflight.version, "__version__", "99.0.0")
    check(capsys, str(clip))
    assert len(analyses) == 2
    check(capsys, "--fail-level", "warning", str(clip))
    check(capsys, "--quick", str(clip))
    assert len(analyses) == 4
    check(capsys, "--quick", str(clip))
    assert len(analyses) == 4


def test_library_and_code_changes_are_part_of_the_key(clip: Path, analyses: list[Path],
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """An upgrade of a library that produces facts (PyAV/FFmpeg, OpenCV, dlib, Pillow, numpy, webrtcvad),
    or changed code under an editable install with the same version, never gets an old verdict."""
    from preflight.state import cache

    check(capsys, str(clip))
    assert any(v.startswith("av=") and not v.endswith("absent") for v in cache.library_versions())
    versions = cache.library_versions()
    monkeypatch.setattr(cache, "library_versions", lambda: (*versions[:-1], "webrtcvad_wheels=9.9"))
    check(capsys, str(clip))
    assert len(analyses) == 2
    code = cache.code_fingerprint()
    monkeypatch.setattr(cache, "code_fingerprint", lambda: code[::-1])
    check(capsys, str(clip))
    assert len(analyses) == 3


def test_the_code_fingerprint_follows_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from preflight.state import cache

    fake = tmp_path / "preflight"
    fake.mkdir()
    (fake / "__init__.py").write_text("x = 1\n")
    monkeypatch.setattr(cache, "PACKAGE_DIR", fake)
    cache.code_fingerprint.cache_clear()
    first = cache.code_fingerprint()
    cache.code_fingerprint.cache_clear()
    (fake / "__init__.py").write_text("x = 22\n")
    os.utime(fake / "__init__.py", ns=(1, 2))
    assert cache.code_fingerprint() != first
    cache.code_fingerprint.cache_clear()


def test_no_cache_neither_reads_nor_writes(clip: Path, analyses: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    check(capsys, "--no-cache", str(clip))
    check(capsys, str(clip))
    check(capsys, "--no-cache", str(clip))
    assert len(analyses) == 3


def test_unusable_results_are_not_cached_and_a_broken_cache_is_no_error(
        tmp_path: Path, analyses: list[Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x20ftypisom" + os.urandom(3000))
    settled(bad)
    check(capsys, str(bad))
    check(capsys, str(bad))
    assert len(analyses) == 2  # a file that could not be judged is tried again next time
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("PREFLIGHT_CACHE_DIR", str(blocker))
    image = make_image(tmp_path / "a.jpg")
    assert check(capsys, str(image))["results"][0]["verdict"] in ("pass", "fail")


def test_cache_command_shows_and_clears(clip: Path, analyses: list[Path], private_cache: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    check(capsys, str(clip))
    assert main(["cache"]) == 0
    assert capsys.readouterr().out.startswith(f"{private_cache}: 1 cached results")
    assert main(["cache", "--clear"]) == 0
    assert "cleared 1 cached results" in capsys.readouterr().out
    check(capsys, str(clip))
    assert len(analyses) == 2


def test_two_processes_use_the_cache_at_once_without_waiting(tmp_path: Path) -> None:
    """A check keeps its cache open for its whole run; another (a second terminal, the service's other
    worker) must neither wait for it nor lose its own results."""
    import time

    from preflight.state.cache import ResultCache
    from preflight.model.report import FileResult

    first = ResultCache.open(tmp_path)
    first.put("a", FileResult("a.mp4", "video", "phoenix-4", "pass", None, {}, []))
    started = time.perf_counter()
    second = ResultCache.open(tmp_path)  # before: blocked on the first one's open write transaction
    second.put("b", FileResult("b.mp4", "video", "phoenix-4", "fail", None, {}, []))
    assert time.perf_counter() - started < 2.0
    assert first.get("b", "b.mp4") is not None and second.get("a", "a.mp4") is not None
    first.close()
    second.close()
