"""``preflight fix``: broken inputs in, fixed copies out that pass the rules they failed; inputs untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from preflight.media.analyze import analyze
from preflight.cli import main
from preflight.judge.engine import judge
from preflight.model.facts import ImageFacts, VideoFacts
from preflight.judge.ruleset import load
from tests.support.media_factory import VideoSpec, make_image, make_video

DATA = Path(__file__).resolve().parent / "data"
SHORT = str(DATA / "short-clips.toml")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outcomes(path: Path, rules: str) -> dict[str, str]:
    facts = analyze(path)
    return {f.rule: f.outcome for f in judge(facts, load(rules))}


def fix(src: Path, *args: str, rules: str = SHORT) -> tuple[int, Path]:
    before = digest(src)
    code = main(["fix", str(src), "--rules", rules, *args])
    assert digest(src) == before, "the input must be byte-for-byte unchanged"
    return code, src.with_name(f"{src.stem}.fixed{'.jpg' if src.suffix in ('.png', '.jpg') else '.mp4'}")


def video_facts(path: Path) -> VideoFacts:
    facts = analyze(path)
    assert isinstance(facts, VideoFacts)
    return facts


@pytest.mark.parametrize(("name", "spec", "rule"), [
    ("hevc.mp4", VideoSpec(codec="libx265", seconds=3), "video.codec"),
    ("vp9.webm", VideoSpec(codec="libvpx-vp9", audio="libopus", seconds=3), "container.format"),
    ("phone-sideways-hevc.mp4", VideoSpec(width=320, height=240, rotation=90, codec="libx265", seconds=3),
     "video.codec"),
    ("phone-vfr.mp4", VideoSpec(frame_times=tuple([i * 0.033 for i in range(45)] + [1.5 + i * 0.04 for i in range(40)]
                                                + [3.1 + i * 0.033 for i in range(30)])), "video.vfr"),
])
def test_video_fixes(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, spec: VideoSpec, rule: str) -> None:
    src = make_video(tmp_path / name, spec)
    before = video_facts(src)
    code, out = fix(src)
    text = capsys.readouterr().out
    assert "fix plan" in text and out.exists(), text
    after = video_facts(out)
    assert (after.container, after.video_codec, after.audio_codec) == ("mp4", "h264", "aac" if before.has_audio else None)
    assert after.rotation == 0 and (after.width, after.height) == (before.width, before.height)
    assert after.vfr is False
    frame = 1 / (after.fps or 25)
    length_before = before.video_duration_s or before.duration_s or 0
    length_after = after.video_duration_s or after.duration_s or 0
    assert abs(length_after - length_before) <= frame + 0.05
    if after.audio is not None and before.audio is not None:  # sound and picture still end together
        assert abs(after.audio.duration_s - length_after) <= abs(before.audio.duration_s - length_before) + frame
    assert outcomes(out, SHORT)[rule] == "pass"


# Every recording a person can make, as the project can build it: what the fixer must turn into a
# decodable H.264/AAC MP4 (or leave alone, saying why), never an FFmpeg error.
SHAPES = [
    ("muted-microphone.mp4", VideoSpec(codec="libx265", seconds=3, tone=0.0)),  # digital silence: -inf LUFS
    ("blocked-microphone.mp4", VideoSpec(codec="libx265", seconds=3, tone=0.00002)),  # under loudnorm's floor
    ("no-audio.mp4", VideoSpec(codec="libx265", seconds=3, audio=None)),
    ("mono-22k.mp4", VideoSpec(codec="libx265", seconds=3, sample_rate=22050, tone=0.002)),
    ("stereo-44k.mov", VideoSpec(codec="libx265", seconds=3, sample_rate=44100, layout="stereo", tone=0.002)),
    ("odd-size.mkv", VideoSpec(width=321, height=241, codec="ffv1", audio="flac", seconds=3)),
    ("sideways.mp4", VideoSpec(codec="libx265", rotation=270, seconds=3, tone=0.95)),
    ("vfr-quiet.mp4", VideoSpec(frame_times=tuple([i * 0.033 for i in range(45)] + [1.5 + i * 0.04 for i in range(40)]),
                                tone=0.002)),
    ("browser.webm", VideoSpec(codec="libvpx-vp9", audio="libopus", seconds=3, tone=0.0)),
    ("safari.mp4", VideoSpec(seconds=3)),  # iOS Safari's MediaRecorder: H.264/AAC MP4 already
]


@pytest.mark.parametrize(("name", "spec"), SHAPES, ids=[n.split(".")[0] for n, _ in SHAPES])
def test_every_recording_a_person_can_make_is_fixed(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
                                                    spec: VideoSpec) -> None:
    import av

    src = make_video(tmp_path / name, spec)
    before = video_facts(src)
    code, out = fix(src)
    printed = capsys.readouterr()
    assert code in (0, 1), printed.err  # never 2: nothing ends in an FFmpeg error
    assert "ffmpeg" not in printed.err.lower() and "Traceback" not in printed.err
    if not out.exists():  # nothing a fix covers: said so, and nothing written
        assert (before.container, before.video_codec, before.audio_codec) == ("mp4", "h264", "aac"), printed.out
        return
    after = video_facts(out)
    assert (after.container, after.video_codec, after.audio_codec) == ("mp4", "h264", "aac" if before.has_audio else None)
    assert after.rotation == 0 and after.width % 2 == 0 and after.height % 2 == 0 and after.vfr is False
    with av.open(str(out)) as container:  # every frame decodes
        assert sum(1 for _ in container.decode(video=0)) >= int((before.video_duration_s or 1) * 20)
    if spec.tone < 0.0001 and spec.audio:
        assert "the sound is silent or almost" in printed.out and "left as recorded" in printed.out
        assert after.audio is not None and (after.audio.loudness_lufs is None or after.audio.loudness_lufs < -70)


def test_a_takes_muted_microphone_still_gives_a_fixed_mp4(tmp_path: Path) -> None:
    """A take recorded with the microphone muted is fixed (its silence left as recorded) and checked, so
    the service has its /media and a submit can go on."""
    from preflight.serve.work.take import finish_take

    take = make_video(tmp_path / "take.webm", VideoSpec(codec="libvpx-vp9", audio="libopus", seconds=3, tone=0.0))
    done = finish_take(take, "phoenix-4")
    assert done["fixed"] and Path(done["fixed"]).exists() and "silent" in (done["note"] or "")
    assert video_facts(Path(done["fixed"])).video_codec == "h264"


def test_size_limit_is_met_by_choosing_a_bitrate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "tiny.toml"
    rules.write_text(f'[ruleset]\nextends = "{SHORT}"\n[rules."file.size"]\nmax_bytes = 150000\n')
    src = make_video(tmp_path / "big.mp4", VideoSpec(width=640, height=360, seconds=4))
    noisy = tmp_path / "noisy.mp4"
    import subprocess

    from preflight.fixing.video import ffmpeg_exe
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(src), "-vf", "noise=alls=40:allf=t", "-c:v", "libx264",
                    "-crf", "10", "-c:a", "copy", str(noisy)], check=True)
    assert noisy.stat().st_size > 150_000
    code, out = fix(noisy, rules=str(rules))
    assert out.stat().st_size < 150_000
    assert outcomes(out, str(rules))["file.size"] == "pass"


@pytest.mark.parametrize("tone", [0.002, 0.95], ids=["quiet", "loud"])
def test_audio_level_is_normalised(tmp_path: Path, capsys: pytest.CaptureFixture[str], tone: float) -> None:
    src = make_video(tmp_path / "level.mp4", VideoSpec(seconds=6, tone=tone))
    assert outcomes(src, SHORT)["audio.loudness"] == "fail"
    _, out = fix(src)
    assert "normalise loudness" in capsys.readouterr().out
    loudness = video_facts(out).audio
    assert loudness is not None and loudness.loudness_lufs is not None and abs(loudness.loudness_lufs + 16) < 2.5


def test_exif_rotated_png_with_alpha_becomes_an_upright_opaque_jpeg(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    src = make_image(tmp_path / "cutout.png", size=(800, 600), mode="RGBA", fmt="PNG", exif_orientation=6)
    _, out = fix(src, rules="image")
    facts = analyze(out)
    assert isinstance(facts, ImageFacts)
    assert (facts.format, facts.mode, facts.has_alpha) == ("JPEG", "RGB", False)
    assert (facts.width, facts.height) == (600, 800) and facts.exif_orientation is None


def test_nothing_fixable_makes_no_output_and_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = make_video(tmp_path / "short.mp4", VideoSpec(seconds=2))
    code, out = fix(src, rules="phoenix-4")
    text = capsys.readouterr().out
    assert code == 1 and not out.exists()
    assert "no mechanical fix applies" in text and "video.duration" in text and "new recording" in text


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = make_video(tmp_path / "hevc.mp4", VideoSpec(codec="libx265", seconds=2))
    _, out = fix(src, "--dry-run")
    assert "re-encode to H.264" in capsys.readouterr().out and not out.exists()


def test_output_may_not_be_the_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = make_video(tmp_path / "hevc.mp4", VideoSpec(codec="libx265", seconds=2))
    assert main(["fix", str(src), "-o", str(src)]) == 2
    assert "never overwrites its input" in capsys.readouterr().err


def test_off_centre_face_is_reframed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import real_portrait

    portrait = real_portrait(600)
    canvas = Image.new("RGB", (1800, 1000), (92, 96, 104))
    canvas.paste(portrait, (60, 200))
    src = tmp_path / "off-centre.jpg"
    canvas.save(src, quality=92)
    assert outcomes(src, "image")["face.centered"] == "fail"
    code, out = fix(src, rules="image")
    after = outcomes(out, "image")
    assert after["face.centered"] == "pass" and after["face.count"] == "pass" and after["face.head_in_frame"] == "pass"
    assert code == 0


def test_downscale_only_when_the_size_limit_needs_it() -> None:
    from preflight.fixing.video import downscaled_size, video_bitrate
    from tests.support.facts_factory import video as facts

    uhd = facts(width=3840, height=2160, duration_s=600.0)
    bitrate = video_bitrate(uhd, 750_000_000)
    smaller = downscaled_size(uhd, 30, bitrate)  # 10 min of 4K under 750 MB: too few bits for 4K
    assert smaller is not None and bitrate is not None and 1080 <= smaller[1] < 2160
    assert bitrate / (smaller[0] * smaller[1] * 30) >= 0.049 and abs(smaller[0] / smaller[1] - 16 / 9) < 0.01
    assert downscaled_size(uhd, 30, video_bitrate(uhd, 7_500_000_000)) is None  # plenty of bits: keep 4K
    assert downscaled_size(uhd, 30, None) is None  # size was not the problem
    hd = facts(width=1920, height=1080, duration_s=3000.0)
    assert downscaled_size(hd, 30, video_bitrate(hd, 750_000_000)) is None  # never under 1080
    portrait = facts(width=2160, height=3840, duration_s=600.0)
    assert downscaled_size(portrait, 30, video_bitrate(portrait, 750_000_000)) == smaller[::-1]


def test_names_ffmpeg_could_misread_are_plain_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``-concat:clip.mov`` reaches the ffmpeg binary as a file, in and out: not an option, not a protocol."""
    src = make_video(tmp_path / "-concat:clip.mov", VideoSpec(codec="libx265", seconds=2))
    code, out = fix(src)
    assert out.name == "-concat:clip.fixed.mp4" and out.exists(), capsys.readouterr().out
    assert video_facts(out).video_codec == "h264"


def test_a_hung_encode_is_stopped_and_leaves_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str], in_process: None) -> None:
    from preflight.fixing import video as video_fix

    monkeypatch.setattr(video_fix, "time_limit", lambda duration_s: 0.05)
    src = make_video(tmp_path / "hevc.mp4", VideoSpec(codec="libx265", seconds=3))
    code, out = fix(src)
    err = capsys.readouterr().err
    assert code == 2 and "took longer than 0 s and was stopped; no output was written" in err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["hevc.mp4"]


def test_a_file_with_only_warnings_exits_0_as_check_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An opaque alpha channel is only a warning: `check` passes the photo, so `fix` must not fail it."""
    from tests.conftest import IMAGE_FILES_ONLY

    src = make_image(tmp_path / "opaque.png", size=(640, 640), mode="RGBA")
    assert main(["check", "--rules", IMAGE_FILES_ONLY, str(src)]) == 0
    assert main(["fix", "--rules", IMAGE_FILES_ONLY, "--dry-run", str(src)]) == 0
    code, out = fix(src, rules=IMAGE_FILES_ONLY)
    assert code == 0 and out.exists()


def test_output_into_a_missing_folder_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = make_image(tmp_path / "photo.png", size=(300, 300))
    assert main(["fix", str(src), "-o", str(tmp_path / "missing" / "x.jpg")]) == 2
    err = capsys.readouterr().err
    assert "the folder" in err and "does not exist" in err and "internal" not in err and err.count("\n") == 1
