"""Rules about the file as a whole: size, end-to-end decodability, extension."""

from __future__ import annotations

from preflight.checks.registry import Verdict, failed, passed, rule, skipped
from preflight.model.facts import Facts, ImageFacts, VideoFacts
from preflight.model.units import clock, mb

# What a file's content says its extension should be. Facts-to-name knowledge, not a threshold.
_EXTENSIONS = {
    "mp4": (".mp4", ".m4v"), "mov": (".mov",), "webm": (".webm",), "matroska": (".mkv",),
    "avi": (".avi",), "mpeg": (".mpg", ".mpeg"), "JPEG": (".jpg", ".jpeg"), "PNG": (".png",),
    "GIF": (".gif",), "WEBP": (".webp",), "HEIF": (".heic", ".heif"), "AVIF": (".avif",),
    "BMP": (".bmp",), "TIFF": (".tif", ".tiff"),
}


@rule("file.size", kind="any")
def size(facts: Facts, *, max_bytes: int) -> Verdict:
    """The file is under the upload size limit.

    Tavus rejects training files of 750 MB or more (error ``file_size``). Re-encode at a lower
    bitrate (1080p at about 30 fps is enough) or trim the clip.
    """
    size_bytes, expected = facts.size_bytes, f"< {max_bytes}"
    shown = f"{mb(size_bytes)} ({size_bytes:,} bytes)"
    if size_bytes >= max_bytes:
        over = mb(size_bytes - max_bytes + 1)
        return failed(f"file is {shown}, {over} over the {mb(max_bytes)} limit", size_bytes, expected)
    return passed(f"file is {shown}, under the {mb(max_bytes)} limit", size_bytes, expected)


@rule("file.decodable", kind="any")
def decodable(facts: Facts, *, max_shortfall_s: float) -> Verdict:
    """The file decodes end to end without errors.

    A damaged or truncated file fails training with ``video_processing`` ("file damaged or not
    playable"). Re-export or re-copy the original recording.
    """
    if isinstance(facts, ImageFacts):
        if facts.decode_ok:
            return passed("every pixel decodes", True, True)
        return failed(f"the image does not decode: {facts.decode_error}", False, True)
    return _video_decodable(facts, max_shortfall_s)


def _video_decodable(facts: VideoFacts, max_shortfall_s: float) -> Verdict:
    scan = facts.scan
    if scan is None:
        return skipped("not decoded end to end (quick mode); only the metadata was read")
    if scan.first_error is not None and scan.first_error_at_s is not None:
        return failed(
            f"decoding broke at {clock(scan.first_error_at_s)}: {scan.first_error} "
            f"({scan.errors} decoder error{'s' if scan.errors != 1 else ''} in all)",
            scan.first_error_at_s, "no decoder errors",
        )
    expected_end = facts.video_duration_s or facts.duration_s
    if expected_end is not None and expected_end - scan.decoded_until_s > max_shortfall_s:
        return failed(
            f"frames stop at {clock(scan.decoded_until_s)} but the video track says it lasts "
            f"{clock(expected_end)}: the file is truncated",
            scan.decoded_until_s, expected_end,
        )
    return passed(f"{scan.frames} frames decode cleanly to {clock(scan.decoded_until_s)}", True, True)


@rule("file.extension", kind="any")
def extension(facts: Facts) -> Verdict:
    """The file name's extension matches what the file really is.

    Upload tools pick the Content-Type from the extension, and Tavus expects ``video/mp4`` or an
    image type at the URL. Rename the file to the extension its content has.
    """
    content = facts.container if isinstance(facts, VideoFacts) else facts.format
    wanted = _EXTENSIONS.get(content)
    if wanted is None:
        return skipped(f"no known extension for {content} content")
    shown = facts.extension or "(none)"
    if facts.extension in wanted:
        return passed(f"{shown} matches {content} content", shown, list(wanted))
    return failed(f"named {shown} but the content is {content} (expected {' or '.join(wanted)})", shown, list(wanted))
