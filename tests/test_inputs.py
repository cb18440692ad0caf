"""Bad input: each gets a one-line reason and exit code 2 (or 1 when the file is media that fails a rule)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from preflight.cli import main
from tests.media_factory import VideoSpec, make_png_bomb, make_video


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["check", "--format", "json", *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, json.loads(out.out)


def only_result(doc: dict) -> dict:
    (result,) = doc["results"]
    return result


def assert_unusable(capsys: pytest.CaptureFixture[str], path: Path, reason: str) -> None:
    code, doc = check_json(capsys, str(path))
    result = only_result(doc)
    assert code == 2
    assert result["verdict"] == "error" and result["findings"] == [] and result["facts"] is None
    assert reason in result["error"]
    assert "\n" not in result["error"]


def test_zero_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    assert_unusable(capsys, path, "is empty (0 bytes)")


def test_random_bytes_named_mp4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(bytes((i * 7919 + 13) % 251 for i in range(64_000)))
    assert_unusable(capsys, path, "is not a readable video or image")


def test_text_file_named_jpg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list: eggs, milk\n" * 40)
    assert_unusable(capsys, path, "is a text file, not a video or image")


def lfs_pointer(path: Path) -> Path:
    path.write_text("version https://git-lfs.github.com/spec/v1\n"
                    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n")
    return path


def test_git_lfs_pointer_is_not_fetched_and_fails_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = check_json(capsys, str(lfs_pointer(tmp_path / "training.mp4")))
    result = only_result(doc)
    assert code == 1  # not a corrupt file (that would be 2): a file whose content is not here
    assert result["verdict"] == "fail" and result["not_fetched"] is True and result["facts"] is None
    assert result["error"].startswith("not fetched: this is a Git LFS pointer file") and "`git lfs pull`" in result["error"]


def test_git_lfs_pointer_can_be_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pointer = lfs_pointer(tmp_path / "training.mp4")
    code, doc = check_json(capsys, str(pointer), "--lfs-pointers", "skip")
    assert code == 0 and only_result(doc)["verdict"] == "skip"
    assert doc["summary"] == {"files": 1, "passed": 0, "failed": 0, "errors": 0, "skipped": 1}
    assert main(["check", "--lfs-pointers", "skip", "--format", "compact", str(pointer)]) == 0
    assert f"{pointer}: skipped: not fetched: this is a Git LFS pointer file" in capsys.readouterr().out


def test_decompression_bomb_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_png_bomb(tmp_path / "bomb.png")
    assert path.stat().st_size < 1_000_000
    assert_unusable(capsys, path, "decompression bomb")


def test_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_unusable(capsys, tmp_path / "nope.mp4", "no such file")


def test_symlink_loop_is_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    assert_unusable(capsys, loop, "cannot be read")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_video(tmp_path / "locked.mp4")
    path.chmod(0)
    assert_unusable(capsys, path, "permission denied")


def test_audio_only_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import av
    import numpy as np

    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    assert_unusable(capsys, path, "has no video stream (an audio-only file)")


def test_truncated_mp4_with_index_at_the_end_cannot_be_probed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = make_video(tmp_path / "whole.mp4", VideoSpec(seconds=3, faststart=False)).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(whole[: len(whole) // 2])
    assert_unusable(capsys, path, "it may be truncated, corrupt or not media")


def test_truncated_faststart_mp4_fails_decodable_with_where_it_broke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = make_video(tmp_path / "whole.mp4", VideoSpec(seconds=4)).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(whole[: len(whole) * 6 // 10])
    code, doc = check_json(capsys, str(path))
    result = only_result(doc)
    (decodable,) = [f for f in result["findings"] if f["rule"] == "file.decodable"]
    assert code == 1 and result["verdict"] == "fail"
    assert decodable["outcome"] == "fail"
    assert "broke at 0:0" in decodable["message"] or "frames stop at 0:0" in decodable["message"]
    assert 0.5 < result["facts"]["scan"]["decoded_until_s"] < 3.5


def test_truncated_png_fails_decodable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.media_factory import make_image

    whole = make_image(tmp_path / "whole.png", size=(700, 700)).read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(whole[: len(whole) // 2])
    code, doc = check_json(capsys, str(path))
    (decodable,) = [f for f in only_result(doc)["findings"] if f["rule"] == "file.decodable"]
    assert code == 1 and decodable["outcome"] == "fail" and "does not decode" in decodable["message"]


def test_unusable_file_does_not_hide_the_others(tmp_path: Path, capsys: pytest.CaptureFixture[str], good_video: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    code, doc = check_json(capsys, str(good_video), str(empty))
    assert code == 2
    assert [r["verdict"] for r in doc["results"]] == ["fail", "error"]  # the clip is fine but has nobody in it
    assert doc["results"][0]["facts"]["scan"]["ok"] is True
    assert doc["summary"] == {"files": 2, "passed": 0, "failed": 1, "errors": 1, "skipped": 0}


def test_text_report_gives_one_line_for_an_unusable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    assert main(["check", str(path)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"ERROR  {path}: is empty (0 bytes); the file was not copied or downloaded completely"
