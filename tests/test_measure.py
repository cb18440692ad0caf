"""Measuring real files: what the probe and the decode scan report for videos and images made on the fly."""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight.media.analyze import analyze
from preflight.model.facts import ImageFacts, VideoFacts
from tests.support.media_factory import VideoSpec, make_animated_png, make_image, make_video


def video_facts(path: Path, **kw: bool) -> VideoFacts:
    facts = analyze(path, **kw)
    assert isinstance(facts, VideoFacts)
    return facts


def image_facts(path: Path) -> ImageFacts:
    facts = analyze(path)
    assert isinstance(facts, ImageFacts)
    return facts


def test_plain_h264_aac_mp4(video) -> None:
    f = video_facts(video("plain.mp4", VideoSpec(width=320, height=240, fps=25, seconds=2)))
    assert (f.container, f.video_codec, f.audio_codec, f.has_audio) == ("mp4", "h264", "aac", True)
    assert (f.width, f.height, f.rotation) == (320, 240, 0)
    assert f.fps == 25.0 and f.duration_s == pytest.approx(2.0, abs=0.1)
    assert f.scan is not None and f.scan.ok and f.scan.frames == 50
    assert f.scan.decoded_until_s == pytest.approx(2.0, abs=0.05)
    assert f.vfr is False and f.scan.irregular_interval_share == 0.0


def test_phone_video_stored_sideways_reports_display_orientation(video) -> None:
    f = video_facts(video("phone.mp4", VideoSpec(width=320, height=240, rotation=90)))
    assert f.rotation in (90, 270)
    assert (f.coded_width, f.coded_height) == (320, 240)
    assert (f.width, f.height) == (240, 320)


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
@pytest.mark.parametrize("turn", [0, 90, 180, 270, -90, 45])
def test_the_rotation_read_from_the_header_is_the_one_a_decoded_frame_carries(video, turn: int, suffix: str) -> None:
    """The probe takes an MP4/MOV's rotation from its track header instead of decoding a frame: the same
    figure FFmpeg gives the frame, or none (a turn that is not a quarter: then the frame's is used)."""
    import av

    from preflight.media.isobmff import declared

    path = video(f"turned{suffix}", VideoSpec(width=96, height=64, seconds=0.5, rotation=turn))
    with av.open(str(path)) as container:
        carried = int(round(next(container.decode(video=0)).rotation)) % 360
    assert declared(path).rotation == (carried if turn % 90 == 0 else None)
    assert video_facts(path, decode=False).rotation == carried


def test_variable_frame_rate_and_a_rate_change_are_measured(video) -> None:
    times = tuple([i * 0.04 for i in range(75)] + [3.0 + i * 0.02 for i in range(150)])
    f = video_facts(video("vfr.mp4", VideoSpec(frame_times=times)))
    assert f.scan is not None
    assert f.vfr is True and f.scan.irregular_interval_share == pytest.approx(74 / 224, abs=0.02)
    (change,) = f.scan.fps_changes
    assert change.at_s == pytest.approx(3.0, abs=0.1)
    assert (change.before, change.after) == ("25.00 fps", "50.00 fps")


def test_mid_stream_resolution_change_in_a_spliced_file(tmp_path: Path) -> None:
    first = make_video(tmp_path / "a.ts", VideoSpec(width=320, height=240, container="mpegts"))
    second = make_video(tmp_path / "b.ts", VideoSpec(width=640, height=480, container="mpegts"))
    spliced = tmp_path / "spliced.ts"
    spliced.write_bytes(first.read_bytes() + second.read_bytes())
    f = video_facts(spliced)
    assert f.container == "mpegts" and f.scan is not None
    (change,) = f.scan.resolution_changes
    assert (change.before, change.after) == ("320x240", "640x480")
    assert change.at_s > 1.5  # after the first clip, although the second restarts its timestamps


@pytest.mark.parametrize(("name", "spec", "container", "vcodec", "acodec"), [
    ("hevc.mp4", VideoSpec(codec="libx265"), "mp4", "hevc", "aac"),
    ("vp9.webm", VideoSpec(codec="libvpx-vp9", audio="libopus"), "webm", "vp9", "opus"),
    ("old.mov", VideoSpec(codec="mpeg4", audio=None), "mov", "mpeg4", None),
    ("clip.mkv", VideoSpec(codec="libx264", audio="aac"), "matroska", "h264", "aac"),
])
def test_containers_and_codecs(video, name: str, spec: VideoSpec, container: str, vcodec: str,
                               acodec: str | None) -> None:
    f = video_facts(video(name, spec))
    assert (f.container, f.video_codec, f.audio_codec, f.has_audio) == (container, vcodec, acodec, acodec is not None)


def test_quick_mode_reads_metadata_only(video) -> None:
    f = video_facts(video("q.mp4"), decode=False)
    assert f.scan is None and f.vfr is None and f.width == 320


def test_image_exif_orientation_is_applied(tmp_path: Path) -> None:
    f = image_facts(make_image(tmp_path / "portrait.jpg", size=(800, 600), exif_orientation=6))
    assert (f.stored_width, f.stored_height, f.exif_orientation) == (800, 600, 6)
    assert (f.width, f.height) == (600, 800)


def test_image_png_named_jpg_is_png_by_content(tmp_path: Path) -> None:
    f = image_facts(make_image(tmp_path / "photo.jpg", fmt="PNG"))
    assert (f.format, f.extension) == ("PNG", ".jpg")


def test_image_alpha_cmyk_16bit_and_animation(tmp_path: Path) -> None:
    rgba = image_facts(make_image(tmp_path / "cutout.png", mode="RGBA"))
    assert rgba.has_alpha and rgba.transparent_pixels
    cmyk = image_facts(make_image(tmp_path / "print.jpg", mode="CMYK"))
    assert cmyk.mode == "CMYK" and not cmyk.has_alpha
    deep = image_facts(make_image(tmp_path / "deep.png", mode="I;16"))
    assert deep.bit_depth == 16
    anim = image_facts(make_animated_png(tmp_path / "anim.png"))
    assert anim.animated and anim.n_frames == 3


def test_heic_is_judged_not_refused(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0001.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200)
    f = image_facts(path)
    assert f.format == "HEIF" and f.width is None and not f.decode_ok


def test_sampled_frames_are_turned_upright_like_ffmpeg_does(tmp_path: Path) -> None:
    """A phone video stored sideways: the analysed picture must match what players (ffmpeg) show."""
    import subprocess

    import av
    import imageio_ffmpeg
    import numpy as np

    from preflight.media.frames import upright_gray

    path = tmp_path / "sideways.mp4"
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 320, 240, "yuv420p"
        vs.set_display_rotation(90)
        img = np.zeros((240, 320, 3), np.uint8)
        img[:60, :80] = 255  # a marker in the stored picture's top-left corner
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        ours = upright_gray(frame, 240, int(frame.rotation) % 360)
    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    theirs = np.frombuffer(raw, np.uint8).reshape(320, 240)
    assert ours.shape == theirs.shape == (320, 240)
    assert np.abs(ours.astype(int) - theirs.astype(int)).mean() < 4


def test_picture_worker_errors_surface_in_the_caller_and_abandon_ends_it() -> None:
    import numpy as np

    from preflight.media.picture import PictureAnalyzer
    from preflight.media.settings import AnalysisSettings
    from preflight.media.worker import Threaded

    class Broken(PictureAnalyzer):
        def add(self, t: float, gray: np.ndarray) -> None:
            raise RuntimeError("detector exploded")

    worker = Threaded(Broken(AnalysisSettings()), depth=4, name="test")
    worker.add(0.0, np.zeros((36, 64), np.uint8))
    with pytest.raises(RuntimeError, match="detector exploded"):
        worker.finish()
    idle = Threaded(PictureAnalyzer(AnalysisSettings()), depth=1, name="test")
    for t in range(3):
        idle.add(float(t), np.zeros((36, 64), np.uint8))
    idle.abandon()
    idle._thread.join(timeout=5)
    assert not idle._thread.is_alive()
