"""Bad input: each gets a one-line reason and exit code 2 (or 1 when the file is media that fails a rule)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from preflight.cli import main
from tests.support.media_factory import VideoSpec, make_png_bomb, make_video


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
    from tests.support.media_factory import make_image

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


# --- hostile and odd inputs (tests/support/hostile.py) -------------------------------------------------------

from tests.support.hostile import ODD_NAMES, damaged_exif_jpeg, mjpeg_bomb, special_files  # noqa: E402


def test_fifo_and_device_are_refused_without_being_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo, zero = special_files(tmp_path)
    assert_unusable(capsys, fifo, "is a named pipe (FIFO), not a regular file")
    assert_unusable(capsys, zero, "is a character device, not a regular file")


def test_a_folder_with_a_fifo_still_reports_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    special_files(tmp_path)
    make_video(tmp_path / "clip.mp4", VideoSpec(seconds=1))
    code, doc = check_json(capsys, str(tmp_path))
    verdicts = {Path(r["path"]).name: r["verdict"] for r in doc["results"]}
    assert verdicts == {"clip.mp4": "fail", "pipe.mp4": "error", "zero.mp4": "error"} and code == 2


@pytest.mark.parametrize("name", ODD_NAMES, ids=["concat-protocol", "leading-dash", "pipe-char", "space", "latin1"])
def test_a_name_is_a_file_never_a_protocol_or_option(name: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """``concat:real.mp4`` is judged as itself (a 3 s clip), not as FFmpeg's concat of real.mp4 (1 s)."""
    make_video(tmp_path / "real.mp4", VideoSpec(seconds=1))
    odd = make_video(tmp_path / "odd.mp4", VideoSpec(seconds=3))
    target = tmp_path / name
    odd.rename(target)
    code, doc = check_json(capsys, str(target))
    result = only_result(doc)
    assert result["verdict"] == "fail" and result["facts"]["duration_s"] > 2.5, result["error"]


def test_a_declared_frame_size_bomb_is_refused_before_decoding(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = mjpeg_bomb(tmp_path / "bomb.mov")
    assert path.stat().st_size < 100_000
    assert_unusable(capsys, path, "declares 16000x16000 frames")


def test_frames_larger_than_their_header_are_not_decoded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The header says 64x64, the frames 16000x16000: the decoder's own pixel limit refuses each one."""
    path = mjpeg_bomb(tmp_path / "liar.mov", in_header=False)
    code, doc = check_json(capsys, str(path))
    (decodable,) = [f for f in only_result(doc)["findings"] if f["rule"] == "file.decodable"]
    assert code == 1 and decodable["outcome"] == "fail"


def test_a_damaged_exif_block_is_a_finding_not_a_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image, ImageOps

    path = damaged_exif_jpeg(tmp_path / "headshot.jpg")
    with Image.open(path) as im, pytest.raises(SyntaxError):
        ImageOps.exif_transpose(im.convert("RGB"))  # what used to end the run
    code, doc = check_json(capsys, str(path))
    result = only_result(doc)
    (exif,) = [f for f in result["findings"] if f["rule"] == "image.exif"]
    assert exif["outcome"] == "fail" and exif["severity"] == "warning"
    assert "orientation could not be read" in exif["message"] and exif["fix"]
    assert result["facts"]["width"] == 600 and result["verdict"] == "fail"  # judged as stored (no face)


def test_a_stream_whose_codec_cannot_be_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by the fuzz suite: a damaged sample description leaves a stream without a codec."""
    path = make_video(tmp_path / "clip.mp4", VideoSpec(seconds=1))
    data = path.read_bytes()
    at = data.find(b"avc1", data.find(b"stsd"))
    path.write_bytes(data[:at] + b"zzzz" + data[at + 4:])
    assert_unusable(capsys, path, "video stream's codec cannot be read")
    path.write_bytes(data.replace(b"mp4a", b"zzzz", 1) if data.count(b"mp4a") == 1 else data)
    code, doc = check_json(capsys, str(path))
    assert only_result(doc)["verdict"] == "fail" and only_result(doc)["internal"] is False


@pytest.fixture(scope="module")
def real_16k_frames(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """One real 16000x16000 frame (PNG in a MOV, and the same stream in MKV: a grey picture, 0.3 MB),
    which FFmpeg's stream probe would decode whole to learn its format (256 MB per frame here; an RGB
    one is 768 MB)."""
    import av
    import imageio_ffmpeg

    folder = tmp_path_factory.mktemp("16k")
    mov = folder / "huge.mov"
    with av.open(str(mov), "w") as out:
        stream = out.add_stream("png", rate=1)
        stream.width = stream.height = 16000
        stream.pix_fmt = "gray"
        for packet in [*stream.encode(av.VideoFrame(16000, 16000, "gray")), *stream.encode()]:
            out.mux(packet)
    mkv = folder / "huge.mkv"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(mov), "-c", "copy", str(mkv)],
                   check=True)
    return [mov, mkv]


def test_a_real_16k_frame_is_refused_before_it_is_decoded(real_16k_frames: list[Path]) -> None:
    """Refused from the declared size (the MOV header) or by the probe's own pixel limit (MKV), with
    the process never near the frame's size in memory."""
    # VmHWM: this process image's own peak (ru_maxrss would carry over the forked test process's)
    measured = ("import re, sys; from preflight.cli import main; code = main(sys.argv[1:]); "
                "print('peak', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1), "
                "file=sys.stderr); sys.exit(code)")
    for path in real_16k_frames:  # one file is checked in the process itself: its own peak is the check's
        done = subprocess.run([sys.executable, "-c", measured, "check", "--no-cache", "--format", "json", str(path)],
                              capture_output=True, text=True, timeout=120)
        (result,) = json.loads(done.stdout)["results"]
        assert done.returncode == 2 and result["verdict"] == "error", result
        assert "16000x16000" in result["error"] or "cannot be read within the 33.2 Mpx" in result["error"]
        peak_kb = int(done.stderr.rsplit("peak", 1)[1].split()[0])
        assert peak_kb < 200_000, f"{path.name}: {peak_kb} KB"
