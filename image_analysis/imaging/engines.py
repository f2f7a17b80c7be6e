"""The libvips engine: JPEG, PNG, WebP and TIFF decoded straight to the size sent, in one pass.

Pillow decodes a whole image before it can be reduced, and a JPEG's integrity needs a second, strict decode (libjpeg
turns a corrupt entropy-coded segment into a warning and grey pixels). libvips (pyvips, with libvips in the
``pyvips-binary`` wheel) opens with shrink-on-load (JPEG DCT scaling, WebP scaled decode, TIFF pyramid levels), runs
the pipeline a few scanlines at a time in sequential access, and with ``fail_on`` refuses damaged data in the same
pass (``warning`` for JPEG, so a concealed corruption is refused as the strict check did). The preparation contract
holds: the exact size asked for (the 28 px grid inside the 1540 px box, or a drawing's tile scale), sRGB through the
embedded ICC profile (CMYK without one through a standard CMYK profile), EXIF orientation applied, transparency
reduced in premultiplied alpha and flattened on white, 16-bit and float scaled to 8 bit.

``engine`` is the one place that decides which engine decodes an upload: libvips for its formats, Pillow (with
pillow-heif for HEIC) for the rest and for rendered PDF pages.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from types import ModuleType
from typing import Any

import numpy
from PIL import Image

from image_analysis.config import limits

LARGE_PIXELS = 40_000_000
"""A source larger than this in a format Pillow decodes whole (HEIC, GIF, BMP) has its decode counted in the budget."""
VIPS_FORMATS = ("PNG", "WEBP", "TIFF", "JPEG", "MPO")
"""HEIC stays with pillow-heif: the libvips of ``pyvips-binary`` is built without an HEVC decoder."""
VIPS = "libvips"
TURBO = "libjpeg-turbo"
HEIF = "pillow-heif"
PILLOW = "Pillow"
ENGINES = (TURBO, VIPS, HEIF, PILLOW)


def decode_budget() -> int:
    """The most a decoder may need for one upload: 70 % of the budget (the rest is the worker's own)."""
    return limits().memory_mb * 1024 * 1024 * 7 // 10


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
    logging.getLogger("pyvips").setLevel(logging.ERROR)  # its warnings would reach stderr; a failure raises
    return pyvips


def engine(format: str | None, mode: str, width: int, height: int, preferred: str = VIPS) -> str:
    """The engine that decodes an upload, decided here and nowhere else:

    - an everyday RGB or grey JPEG: libjpeg-turbo (simplejpeg) in strict mode, scaled as it decodes, so that its
      integrity check is the decode itself; libvips resizes it and manages its colour;
    - PNG and TIFF, and a JPEG or WebP above ``LARGE_PIXELS``: libvips, shrink-on-load, in sequential access (an
      everyday WebP stays with Pillow: libvips' WebP path came out 4.1 levels from a reference resize of a
      transparent photo, Pillow's 2.8);
    - HEIC: pillow-heif, then libvips as for JPEG;
    - the rest (GIF, BMP, a CMYK JPEG, rendered PDF pages), or everything when Pillow is ``preferred``
      (``IMAGE_ANALYSIS_DECODER=Pillow``, the fallback): Pillow, with ``integrity.check`` where its decoders hide
      damage.
    """
    if preferred == PILLOW or format == "PDF" or _vips() is None:
        return PILLOW
    if format in ("JPEG", "MPO", "WEBP") and width * height <= LARGE_PIXELS:
        return TURBO if format != "WEBP" and mode in ("RGB", "L") and _simplejpeg() is not None else PILLOW
    if format in VIPS_FORMATS:
        return VIPS
    return HEIF if format == "HEIF" and _heif() is not None else PILLOW


@functools.cache
def _simplejpeg() -> ModuleType | None:
    try:
        import simplejpeg
    except ImportError:  # pragma: no cover - simplejpeg is in requirements.txt
        return None
    return simplejpeg


@functools.cache
def _heif() -> ModuleType | None:
    try:
        import pillow_heif
    except ImportError:  # pragma: no cover - pillow-heif is in requirements.txt
        return None
    return pillow_heif


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
    data: bytes,
    format: str | None,
    width: int,
    height: int,
    layers: list | None = None,
    mode: str = "RGB",
    decoder: str = VIPS,
) -> int:
    """What decoding needs whatever the engine, known from the header: a lossless WebP is decoded whole (4 bytes a
    pixel), a progressive JPEG keeps every DCT coefficient (2 bytes a sample at each component's sampling), and a
    large file in a format libvips does not stream here (HEIC, GIF, BMP) is decoded whole by Pillow; everything
    else streams, a few scanlines at a time."""
    if width * height > LARGE_PIXELS and decoder == PILLOW and format != "PDF":
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


def decode(data: bytes, format: str | None, size: tuple[int, int], needed: int = 0) -> Image.Image:
    """Decode ``data`` to exactly ``size`` (width, height of the upright image) in L or sRGB RGB; a decode that
    ``needed`` more than ``HEAVY_BYTES`` waits for any other. Damage raises ``StreamError``: for JPEG, libjpeg's
    warnings too (a corrupt entropy-coded segment is only a warning to libjpeg)."""
    with _heavy if needed > HEAVY_BYTES else contextlib.nullcontext():
        return _decode(data, size, "warning" if format in ("JPEG", "MPO") else "error")


def _decode(data: bytes, size: tuple[int, int], fail_on: str) -> Image.Image:
    pyvips = _vips()
    assert pyvips is not None, "engine() chooses libvips only when it loads"
    try:
        image = pyvips.Image.thumbnail_buffer(
            data,
            size[0],
            height=size[1],
            size="force",  # exactly the grid size; the aspect ratio differs from the source's by under a pixel
            export_profile="srgb",
            import_profile="cmyk",  # only used for a CMYK file without a profile of its own
            option_string=f"fail_on={fail_on}",
        )
        return _to_pillow(_eight_bit(image))
    except pyvips.Error as error:
        raise StreamError(_reason(error)) from error


def decode_jpeg(data: bytes, size: tuple[int, int]) -> Image.Image:
    """An RGB or grey JPEG decoded once by libjpeg-turbo in strict mode at the smallest DCT scale that keeps
    ``size`` (width, height as stored), then brought to exactly ``size`` by libvips; colour is left as decoded (the
    caller converts an embedded profile at the small size). libjpeg's warnings are errors here: a corrupt
    entropy-coded segment, which libjpeg would fill with grey and libvips' ``fail_on`` lets through, is refused in
    the same pass. Damage raises ``StreamError``."""
    simplejpeg = _simplejpeg()
    assert simplejpeg is not None, "engine() chooses libjpeg-turbo only when simplejpeg loads"
    try:
        grey = simplejpeg.decode_jpeg_header(data)[2] == "Gray"
        pixels = simplejpeg.decode_jpeg(
            data, colorspace="GRAY" if grey else "RGB", min_width=size[0], min_height=size[1], strict=True
        )
    except ValueError as error:
        raise StreamError(_reason(error)) from error
    height, width = pixels.shape[:2]
    return _from_memory(pixels.data, width, height, 1 if grey else 3, size)


def decode_heif(data: bytes, size: tuple[int, int]) -> Image.Image:
    """A HEIC/HEIF decoded once by libheif (transformations applied, HDR brought to 8 bit) and handed to libvips
    without a copy, which brings it to exactly ``size`` (width, height as stored), transparency on white; no Pillow
    pass at full resolution. Colour is left as decoded. Damage raises ``StreamError``."""
    pillow_heif = _heif()
    assert pillow_heif is not None, "engine() chooses pillow-heif only when it loads"
    try:
        heif = pillow_heif.open_heif(data, convert_hdr_to_8bit=True)
        pixels = heif.data
    except (RuntimeError, ValueError) as error:
        raise StreamError(_reason(error)) from error
    bands = len(heif.mode.replace(";16", ""))  # "L", "LA", "RGB", "RGBA"
    width, height = heif.size
    if heif.stride != width * bands:  # rows padded: copy them out tightly
        rows = numpy.frombuffer(pixels, numpy.uint8).reshape(height, heif.stride)[:, : width * bands]
        pixels = numpy.ascontiguousarray(rows).data
    return _from_memory(pixels, width, height, bands, size)


def _from_memory(pixels: Any, width: int, height: int, bands: int, size: tuple[int, int]) -> Image.Image:
    """Decoded 8-bit pixels to exactly ``size`` by libvips (LANCZOS 3, on all cores), transparency on white.
    Colour stays as it is: libvips' ICC conversion goes through floating-point Lab, several times slower at this
    size than Pillow's 8-bit LittleCMS transform, which the caller applies."""
    pyvips = _vips()
    assert pyvips is not None, "engine() chooses libvips only when it loads"
    try:
        image = pyvips.Image.new_from_memory(pixels, width, height, bands, "uchar")
        image = image.copy(interpretation="b-w" if bands < 3 else "srgb")
        return _to_pillow(_eight_bit(image.thumbnail_image(size[0], height=size[1], size="force")))
    except pyvips.Error as error:
        raise StreamError(_reason(error)) from error


def _reason(error: Exception) -> str:
    """The decoder's own reason (libvips puts it below a generic first line); "truncated" when the data ends early."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip()) or "decode failed"
    return "truncated" if "premature end" in text.lower() or "truncated" in text.lower() else text


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
