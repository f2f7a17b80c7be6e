"""Huge rasters streamed through libvips: decoded straight to the size sent, never held at full resolution.

Pillow decodes a whole image before it can be reduced; for a 250-megapixel PNG, WebP or TIFF that is 1-3.5 GB.
libvips (pyvips, with libvips in the ``pyvips-binary`` wheel) opens with shrink-on-load (JPEG DCT scaling, WebP
scaled decode, TIFF pyramid levels) and runs the pipeline a few scanlines at a time in sequential access.
The preparation contract holds: the exact size asked for (the 28 px grid inside the 1540 px box, or a drawing's
tile scale), sRGB through the embedded ICC profile (CMYK without one through a standard CMYK profile), EXIF
orientation applied, transparency reduced in premultiplied alpha and flattened on white, 16-bit and float scaled to
8 bit. ``prepare`` decides which engine decodes an upload (``use_streaming``); everyday images stay with Pillow,
which is faster on them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from types import ModuleType
from typing import Any

from PIL import Image

STREAM_PIXELS = int(os.environ.get("IMAGE_ANALYSIS_STREAM_PIXELS", "40000000"))
"""Sources larger than this (in pixels) are streamed through libvips; smaller ones are decoded by Pillow."""
STREAMED_FORMATS = ("PNG", "WEBP", "TIFF", "JPEG", "MPO")
"""HEIC stays with pillow-heif: the libvips of ``pyvips-binary`` is built without an HEVC decoder."""

DECODE_BUDGET = int(os.environ.get("IMAGE_ANALYSIS_MEMORY_MB", "1024")) * 1024 * 1024 * 7 // 10
"""The most a decoder may need for one upload: 70 % of the budget (the rest is the worker's own)."""
HEAVY_BYTES = 256 * 1024 * 1024
"""A decode needing more than this waits for any other such decode: a batch never runs two at once."""
_heavy = threading.Lock()


class StreamError(Exception):
    """libvips could not decode the file (damaged, truncated, or not what it claims)."""


@functools.cache
def _vips() -> ModuleType | None:
    """pyvips, loaded the first time a huge raster comes (not at start-up: most runs never need it)."""
    try:
        import pyvips
    except (ImportError, OSError):  # pragma: no cover - pyvips and pyvips-binary are in requirements.txt
        return None
    pyvips.cache_set_max(0)  # nothing kept between uploads: memory is the budget's, not a cache's
    return pyvips


def use_streaming(format: str | None, width: int, height: int) -> bool:
    """Whether an upload of this format and size is decoded by libvips rather than Pillow."""
    return format in STREAMED_FORMATS and width * height > STREAM_PIXELS and _vips() is not None


_BYTES_PER_PIXEL = {
    "1": 1,
    "L": 1,
    "P": 1,
    "LA": 2,
    "PA": 2,
    "RGB": 3,
    "YCbCr": 3,
    "RGBA": 4,
    "CMYK": 4,
    "I": 4,
    "F": 4,
}


def memory_needed(
    data: bytes, format: str | None, width: int, height: int, layers: list | None = None, mode: str = "RGB"
) -> int:
    """What decoding needs whatever the engine, known from the header: a lossless WebP is decoded whole (4 bytes a
    pixel), a progressive JPEG keeps every DCT coefficient (2 bytes a sample at each component's sampling), and a
    large file in a format libvips does not stream here (HEIC, GIF, BMP) is decoded whole by Pillow; everything
    else streams, a few scanlines at a time."""
    if width * height > STREAM_PIXELS and format not in STREAMED_FORMATS and format != "PDF":
        decoded = width * height * _BYTES_PER_PIXEL.get(mode, 2 if mode.startswith("I;16") else 4)
        return 2 * decoded  # the decoded image and its conversion (measured: 1.55 GB for a 196 MP RGB BMP)
    if format == "WEBP" and b"VP8L" in data[12:4096]:
        return width * height * 4
    if format in ("JPEG", "MPO") and layers and _progressive(data):
        most_h = max(layer[1] for layer in layers) or 1
        most_v = max(layer[2] for layer in layers) or 1
        samples = sum(width * height * layer[1] * layer[2] / (most_h * most_v) for layer in layers)
        return int(samples * 2)
    return 0


def _progressive(data: bytes) -> bool:
    """Whether the first frame marker is SOF2 (progressive, Huffman) or another progressive SOF."""
    index = 2
    while index + 4 <= len(data):
        if data[index] != 0xFF:
            return False
        marker = data[index + 1]
        if marker in (0xC2, 0xC6, 0xCA, 0xCE):
            return True
        if marker in (0xC0, 0xC1, 0xC3, 0xC5, 0xC7, 0xC9, 0xCB, 0xCD, 0xDA):
            return False
        index += 2 + int.from_bytes(data[index + 2 : index + 4], "big")
    return False


def decode(data: bytes, size: tuple[int, int], needed: int = 0) -> Image.Image:
    """Decode ``data`` to exactly ``size`` (width, height of the upright image) in L or sRGB RGB; a decode that
    ``needed`` more than ``HEAVY_BYTES`` waits for any other."""
    with _heavy if needed > HEAVY_BYTES else contextlib.nullcontext():
        return _decode(data, size)


def _decode(data: bytes, size: tuple[int, int]) -> Image.Image:
    pyvips = _vips()
    try:
        image = pyvips.Image.thumbnail_buffer(
            data,
            size[0],
            height=size[1],
            size="force",  # exactly the grid size; the aspect ratio differs from the source's by under a pixel
            export_profile="srgb",
            import_profile="cmyk",  # only used for a CMYK file without a profile of its own
            option_string="fail_on=error",
        )
        return _to_pillow(_eight_bit(image))
    except pyvips.Error as error:
        raise StreamError(str(error).splitlines()[0] if str(error) else "decode failed") from error


def _eight_bit(image: Any) -> Any:
    """Flatten transparency on white and bring 16-bit and float samples to 8 bit (scaled, not clipped)."""
    if image.interpretation == "cmyk" and image.bands >= 4:
        image = image.colourspace("srgb")
    maximum = {"ushort": 65535, "short": 32767, "uint": 4294967295, "int": 2147483647}.get(image.format)
    if image.hasalpha():
        image = image.flatten(background=[maximum or 255] * (image.bands - 1), max_alpha=maximum or 255)
    if image.format in ("float", "double"):
        image = image * 255  # Pillow's reading of a float image: 0..1 is black..white
    elif maximum:
        image = image * (255 / maximum)
    if image.format != "uchar":
        image = (image + 0.5).cast("uchar")  # rounded; cast saturates at 0 and 255
    if image.bands == 2:
        image = image[0]
    if image.bands > 3:
        image = image[:3]
    return image


def _to_pillow(image: Any) -> Image.Image:
    mode = {1: "L", 3: "RGB"}[image.bands]
    return Image.frombytes(mode, (image.width, image.height), image.write_to_memory())
