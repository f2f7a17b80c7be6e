"""Pixels to the bytes sent: JPEG for photos, 8-bit grey or palette PNG for drawings, and nothing but pixels (no
metadata of the source travels, whatever Pillow's writers would carry over)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageChops, ImageStat

MAX_SENT_BYTES = 3_750_000
"""Largest image sent (Amazon Bedrock's per-image limit, the strictest along the way)."""


JPEG_QUALITY = 90


def png_bytes(pixels: Image.Image) -> bytes:
    """Lossless PNG: 8-bit grey when the drawing has no colour, otherwise a 256-colour palette."""
    if pixels.mode == "RGB" and _is_grey(pixels):
        pixels = pixels.convert("L")
    if pixels.mode == "RGB":
        pixels = _palette(pixels)
    return save_pixels(pixels, "PNG", compress_level=6, icc_profile=None)  # no iCCP: the pixels are sRGB already


def _palette(pixels: Image.Image) -> Image.Image:
    """256 colours by fast octree; the most common colour (the paper) keeps its exact value."""
    quantized = pixels.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    histogram = quantized.histogram()
    paper = max(range(len(histogram)), key=histogram.__getitem__)
    mask = quantized.point(lambda index: 255 if index == paper else 0, "1")
    exact = [round(value) for value in ImageStat.Stat(pixels, mask).median]
    palette = quantized.getpalette() or []
    palette[3 * paper : 3 * paper + 3] = exact
    quantized.putpalette(palette)
    return quantized


def _is_grey(pixels: Image.Image) -> bool:
    red, green, blue = pixels.split()
    return ImageChops.difference(red, green).getbbox() is None and ImageChops.difference(green, blue).getbbox() is None


def save_pixels(pixels: Image.Image, format: str, **options: Any) -> bytes:
    """The pixels encoded with ``options`` and nothing else. Pillow's writers also take from the image's ``info``
    what the source file carried (a JPEG's comment, a PNG's text, transparency or ICC profile), and an image that
    needed no resize or colour conversion still has it: the info is set aside while saving, so only pixels leave."""
    buffer = io.BytesIO()
    carried, pixels.info = pixels.info, {}
    try:
        pixels.save(buffer, format, **options)
    finally:
        pixels.info = carried
    return buffer.getvalue()


THUMBNAIL_SIDE = 150
"""Long side, in pixels, of a photo's thumbnail (the findings workbook's Photos sheet)."""


def thumbnail(data: bytes, long_side: int = THUMBNAIL_SIDE, quality: int = 80) -> bytes:
    """A small JPEG of an encoded image, at most ``long_side`` px, decoded at the smallest scale that suffices:
    libjpeg-turbo's DCT scaling for a JPEG (a 1540 px photo decoded at 1/8), Pillow's ``draft`` otherwise."""
    decoded = _turbo_decode(data, long_side)
    if decoded is None:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((long_side, long_side))
            pixels = image.convert("RGB")
    else:
        pixels = Image.fromarray(decoded)
        pixels.thumbnail((long_side, long_side))
    return save_pixels(pixels, "JPEG", quality=quality)


def reduced_jpeg(data: bytes, at_least: int, quality: int = 80) -> tuple[bytes, int, int] | None:
    """A JPEG decoded at the smallest DCT scale whose long side is still ``at_least`` px (a 1540 px photo at half,
    770 px) and encoded again, without resampling: a copy for a page at a tenth of a resize's cost. ``None`` for
    an image that is not a JPEG libjpeg-turbo reads, or one no larger than ``at_least``."""
    decoded = _turbo_decode(data, at_least)
    if decoded is None:
        return None
    import simplejpeg

    height, width = decoded.shape[:2]
    return simplejpeg.encode_jpeg(decoded, quality=quality), width, height


def _turbo_decode(data: bytes, long_side: int) -> Any:
    """The pixels of a JPEG decoded by libjpeg-turbo at the smallest scale with a long side of ``long_side`` px or
    more (an RGB array), or ``None``: not a JPEG it reads in RGB (CMYK, say), or no scale below 1 suffices."""
    try:
        import simplejpeg
    except ImportError:  # pragma: no cover - simplejpeg is in requirements.txt
        return None
    if not data.startswith(b"\xff\xd8"):
        return None
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
        scale = long_side / max(width, height, 1)
        if scale >= 1:
            return None
        return simplejpeg.decode_jpeg(
            data, colorspace="RGB", min_width=int(width * scale), min_height=int(height * scale)
        )
    except ValueError:
        return None
