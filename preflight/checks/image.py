"""Rules about a headshot image's file: format, size, colour mode, alpha, animation."""

from __future__ import annotations

from preflight.checks.registry import Verdict, failed, passed, rule, skipped
from preflight.model.facts import ImageFacts


@rule("image.format", kind="image")
def image_format(facts: ImageFacts, *, allowed: list[str]) -> Verdict:
    """The image is a JPEG or PNG (by content, not by name).

    Tavus accepts JPG or PNG training images. Phones save HEIC by default: export or convert to
    JPEG (any image editor's "Save as JPEG").
    """
    shown = facts.format + (f" (named {facts.extension})" if facts.extension else "")
    if facts.format in allowed:
        return passed(f"image is {shown}", facts.format, allowed)
    return failed(f"image is {shown}; Tavus accepts {' or '.join(allowed)}", facts.format, allowed)


@rule("image.resolution", kind="image")
def resolution(facts: ImageFacts, *, min_width: int, min_height: int) -> Verdict:
    """The image is at least 512×512 pixels, measured upright (after EXIF orientation).

    Smaller images fail with ``ImageQualityError``. Use the original photo, not a thumbnail or a
    crop; upscaling does not add detail.
    """
    if facts.width is None or facts.height is None:
        return skipped(f"the {facts.format} image could not be decoded, so its size is unknown")
    shown, expected = f"{facts.width}x{facts.height}", f">= {min_width}x{min_height}"
    short = [f"{need - got} px too narrow" if axis == "w" else f"{need - got} px too short"
             for axis, got, need in (("w", facts.width, min_width), ("h", facts.height, min_height))
             if got < need]
    if short:
        return failed(f"image is {shown}, {' and '.join(short)} for the {min_width}x{min_height} minimum",
                      shown, expected)
    return passed(f"image is {shown}", shown, expected)


@rule("image.alpha", kind="image")
def alpha(facts: ImageFacts) -> Verdict:
    """The image has no alpha (transparency) channel.

    Transparent areas have no defined colour: a cut-out portrait may be shown on black or white, or
    read as a damaged image. Flatten onto a plain background and save as JPEG.
    """
    if facts.has_alpha is None:
        return skipped("the image could not be decoded")
    if not facts.has_alpha:
        return passed("no alpha channel", False, False)
    if facts.transparent_pixels:
        return failed("the image has an alpha channel with transparent pixels", True, False)
    return failed("the image has an alpha channel (every pixel is opaque)", True, False, soft=True)


@rule("image.color_mode", kind="image")
def color_mode(facts: ImageFacts, *, allowed_modes: list[str], max_bit_depth: int) -> Verdict:
    """The image is 8-bit RGB or greyscale (not CMYK, not 16-bit).

    CMYK (print) and 16-bit images are decoded inconsistently by web pipelines and colours can shift.
    Convert to 8-bit sRGB: "Export as JPEG, sRGB" in an image editor.
    """
    if facts.mode is None:
        return skipped("the image could not be decoded")
    depth = facts.bit_depth or 8
    shown = f"{facts.mode}, {depth}-bit"
    expected = f"{'/'.join(allowed_modes)}, <= {max_bit_depth}-bit"
    if facts.mode not in allowed_modes:
        return failed(f"colour mode is {facts.mode}; expected {' or '.join(allowed_modes)}", shown, expected)
    if depth > max_bit_depth:
        return failed(f"image has {depth} bits per channel; expected at most {max_bit_depth}", shown, expected)
    return passed(f"colour mode is {shown}", shown, expected)


@rule("image.animated", kind="image")
def animated(facts: ImageFacts) -> Verdict:
    """The image is a single still frame (not an animation).

    An animated PNG or GIF is not a headshot photo: only one frame would be used, if any. Export the
    frame you want as a JPEG or PNG.
    """
    if facts.animated is None:
        return skipped("the image could not be decoded")
    if facts.animated:
        return failed(f"the image is animated ({facts.n_frames} frames)", facts.n_frames, 1)
    return passed("single still frame", 1, 1)


@rule("image.exif", kind="image")
def exif(facts: ImageFacts) -> Verdict:
    """The photo's EXIF metadata can be read, so its orientation is known.

    A damaged EXIF block hides the orientation a phone stores there: the photo may be shown on its
    side. preflight judges it as stored. Re-save it (``preflight fix`` or any image editor) to write
    clean metadata, and check that it is upright.
    """
    if not facts.decode_ok:
        return skipped("the image could not be decoded")
    if facts.exif_error:
        return failed(f"the EXIF block is damaged ({facts.exif_error}): the orientation could not be read, "
                      "so the image was judged as stored", facts.exif_error, "readable EXIF")
    return passed("EXIF metadata readable" if facts.exif_orientation else "no EXIF orientation to read")
