"""Decoding with Pillow, and the steps every engine shares: identify the format from the bytes, refuse damage, bring
any mode to 8-bit L or sRGB at the right size, turn it upright. ``engines`` holds the faster libraries and decides
which one decodes an upload.

Done once, at the right size (after Pillow's ``Image.draft`` and ``ImageOps.exif_transpose``): a JPEG decodes at 1/2,
1/4 or 1/8 scale when that suffices; other formats are box-reduced by the largest whole factor, band by band on all
cores, then one LANCZOS pass; 16-bit is scaled (not clipped), transparency flattened on white, CMYK and ICC profiles
converted to sRGB.
"""

from __future__ import annotations

import io
import itertools
import os
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy
from PIL import Image, ImageChops, ImageCms, ImageFile

from image_analysis.errors import ImageInputError
from image_analysis.imaging import engines, integrity
from image_analysis.imaging.metadata import PhotoMetadata, read_metadata

try:  # HEIC/HEIF, the iPhone's default format.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is in requirements.txt
    pass

MAX_SOURCE_PIXELS = 250_000_000
"""Largest source accepted (a deliberate decompression-bomb guard: an A0 scan at 600 dpi is ~ 190 MP)."""


# Pillow's guard warns at MAX_IMAGE_PIXELS and raises at twice that; the check in identify raises first.
Image.MAX_IMAGE_PIXELS = MAX_SOURCE_PIXELS
Image.init()  # register every plugin now, so that ``formats=`` below knows MPO, TIFF, WebP, ...


ACCEPTED_FORMATS: dict[str, str] = {
    "JPEG": "JPEG",
    "MPO": "JPEG (multi-picture)",
    "PNG": "PNG",
    "WEBP": "WebP",
    "HEIF": "HEIC/HEIF",
    "GIF": "GIF",
    "TIFF": "TIFF",
    "BMP": "BMP",
    "PDF": "PDF",
}
"""Formats identified from the bytes and accepted, with the name shown to users (PDF is rendered by ``pdf``)."""


FILE_TYPES = [".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".gif", ".tif", ".tiff", ".bmp", ".pdf"]
"""Extensions offered in the upload dialog (the content decides, not the extension)."""


_ORIENTATION_TRANSPOSE: dict[int, tuple[Image.Transpose, ...]] = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


SWAPS_SIDES = (5, 6, 7, 8)  # EXIF orientations that turn the image a quarter: width and height trade places


_OPENERS = [name for name in ACCEPTED_FORMATS if name in Image.OPEN]  # MPO opens through JPEG


DRAFTABLE = ("JPEG", "MPO")


_BAND_PIXELS = 2000000


_WORKERS = max(1, min(4, os.cpu_count() or 1))


_PARALLEL_PIXELS = 1_000_000


_Item = TypeVar("_Item")


_Result = TypeVar("_Result")


_SRGB = ImageCms.createProfile("sRGB")


_SAMPLE_SIDE = 256


def identify(data: bytes, name: str) -> ImageFile.ImageFile:
    """Identify the format from the bytes and check the header; nothing is decoded yet."""
    if not data:
        raise ImageInputError(f"'{name}' is empty (0 bytes). Upload the image file again.")
    head = data[:1024].lstrip().lower()
    if b"<svg" in head or head.startswith(b"<?xml"):
        raise ImageInputError(
            f"'{name}' is an SVG drawing, which is not accepted (it can carry script). "
            "Export it as PNG and upload that."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a bomb is checked below, with the size; a damaged tag is just absent
            image = Image.open(io.BytesIO(data), formats=_OPENERS)
    except Image.UnidentifiedImageError as error:
        looks_like = _sniff(data)
        if looks_like:
            raise ImageInputError(_decode_failure(name, looks_like, error)) from error
        raise ImageInputError(
            f"'{name}' is not an image in a supported format. Upload a photo or drawing as {_accepted_list()}."
        ) from error
    except Image.DecompressionBombError as error:
        raise ImageInputError(_too_many_pixels(name)) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(_decode_failure(name, _sniff(data), error)) from error
    if image.width * image.height > MAX_SOURCE_PIXELS:
        raise ImageInputError(_too_many_pixels(name, image.size))
    if image.width < 1 or image.height < 1:
        raise ImageInputError(f"'{name}' has no pixels. Upload the image file again.")
    return image


_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def _sniff(data: bytes) -> str | None:
    """The format a file claims by its first bytes, for a better message when Pillow cannot open it."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
        return "HEIF"
    return next((format for signature, format in _SIGNATURES if data.startswith(signature)), None)


def frames(image: Image.Image) -> str | None:
    """How many images a multi-image file holds, or ``None`` for one; "more than one" where counting would mean
    walking every page (a TIFF of 100,000 pages, a long GIF)."""
    if not getattr(image, "is_animated", False):
        return None
    if image.format in ("TIFF", "GIF", "PDF"):
        return "more than one"
    return str(getattr(image, "n_frames", "more than one"))


def header_metadata(image: Image.Image) -> PhotoMetadata:
    """Metadata read without decoding pixels: a PNG's EXIF is only read when it comes before the image data
    (Pillow would decode the whole image to look for it after)."""
    if image.format == "PNG" and "exif" not in image.info:
        return PhotoMetadata()
    return read_metadata(image)


def decode_with_libvips(data: bytes, name: str, format: str | None, size: tuple[int, int], needed: int) -> Image.Image:
    """Decoded by libvips straight to ``size`` (``engines``); damage refuses the file."""
    try:
        return engines.decode(data, format, size, needed)
    except engines.StreamError as error:
        raise ImageInputError(_decode_failure(name, format, error)) from error


def decode_with_library(
    data: bytes, name: str, image: Image.Image, size: tuple[int, int], orientation: int, decoder: str
) -> Image.Image:
    """A JPEG or HEIC decoded once by its own library and brought to ``size`` (upright) by libvips (``engines``)."""
    stored_size = size[::-1] if orientation in SWAPS_SIDES else size
    try:
        decode = engines.decode_jpeg if decoder == engines.TURBO else engines.decode_heif
        pixels = decode(data, stored_size)
    except engines.StreamError as error:
        raise ImageInputError(_decode_failure(name, image.format, error)) from error
    pixels = _to_srgb(pixels, image.info.get("icc_profile"))
    for method in _ORIENTATION_TRANSPOSE.get(orientation, ()):
        pixels = pixels.transpose(method)
    return pixels


def verify(image: Image.Image, data: bytes, name: str, *, load: bool = True) -> None:
    """Refuse damaged data before anything is read from it.

    Formats that JPEG's draft mode does not apply to are decoded here, so that a decode error surfaces as one:
    reading EXIF from a PNG decodes it, and Pillow would otherwise keep what was decoded before the damage and
    drop the error. ``integrity.check`` catches what JPEG and HEIF decoders conceal."""
    try:
        integrity.check(data, image.format)
        if load and image.format not in DRAFTABLE:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pillow warns about damaged tags as it loads; the error decides
                image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(_decode_failure(name, image.format, error)) from error


def decode_with_pillow(image: Image.Image, size: tuple[int, int], orientation: int, name: str) -> Image.Image:
    """Decode ``image`` straight to ``size`` (given upright) in L or sRGB, then turn it upright."""
    stored_size = size[::-1] if orientation in SWAPS_SIDES else size
    try:
        if image.format in DRAFTABLE:
            image.draft(image.mode, stored_size)  # libjpeg decodes at 1/2, 1/4 or 1/8 scale when that suffices
        pixels = shrink(image, stored_size)
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(_decode_failure(name, image.format, error)) from error
    pixels = _to_srgb(pixels, image.info.get("icc_profile"))
    for method in _ORIENTATION_TRANSPOSE.get(orientation, ()):
        pixels = pixels.transpose(method)
    return pixels


def sample(image: Image.Image) -> Image.Image:
    """A small nearest-neighbour sample of a decoded image in L or RGB, for ``classify``: no copy at full size."""
    scale = max(image.width, image.height) / _SAMPLE_SIDE
    size = (max(1, round(image.width / scale)), max(1, round(image.height / scale))) if scale > 1 else image.size
    return _normalise(image.resize(size, Image.Resampling.NEAREST))


def shrink(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Bring ``image`` to ``target`` in mode L, RGB or CMYK, doing the work once, at the right size.

    As ``Image.draft`` does for JPEG: box-reduce by the largest whole factor that keeps at least the target size,
    then one LANCZOS pass. Conversion and reduction go band by band, a few megapixels at a time, so a huge image
    is never copied whole.
    """
    image.load()
    factor = (max(image.width // target[0], 1), max(image.height // target[1], 1))
    if factor == (1, 1) and image.mode in ("L", "RGB", "CMYK"):
        working = image
    else:
        rows = max(_BAND_PIXELS // (image.width * factor[1]), 1) * factor[1]
        tops = range(0, image.height, rows)
        bands = in_parallel(
            lambda top: _normalise(image.crop((0, top, image.width, min(top + rows, image.height))), factor), tops
        )
        working = None
        for top, band in zip(tops, bands, strict=True):
            if working is None:
                working = Image.new(band.mode, (band.width, -(-image.height // factor[1])))
            working.paste(band, (0, top // factor[1]))
    assert working is not None, "an image has at least one band of rows"
    return _resize(working, target) if working.size != target else working


def _resize(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """LANCZOS to ``target``; a large output in horizontal strips on all cores (``box`` samples across seams)."""
    strips = min(_WORKERS, target[1]) if target[0] * target[1] >= _PARALLEL_PIXELS else 1
    if strips == 1:
        return image.resize(target, Image.Resampling.LANCZOS)
    scale = image.height / target[1]
    cuts = [round(index * target[1] / strips) for index in range(strips + 1)]
    spans = list(itertools.pairwise(cuts))
    parts = in_parallel(
        lambda span: image.resize(
            (target[0], span[1] - span[0]),
            Image.Resampling.LANCZOS,
            box=(0, span[0] * scale, image.width, span[1] * scale),
        ),
        spans,
    )
    result = Image.new(image.mode, target)
    for (top, _), part in zip(spans, parts, strict=True):
        result.paste(part, (0, top))
    return result


def in_parallel(function: Callable[[_Item], _Result], items: Sequence[_Item]) -> Iterator[_Result]:
    """``map`` on the machine's cores, results in order as they come: Pillow releases the GIL in its C work.

    At most one more task than there are workers is in flight, so results do not pile up in memory.
    """
    if _WORKERS == 1 or len(items) < 2:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(_WORKERS) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) > _WORKERS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _normalise(image: Image.Image, factor: tuple[int, int] = (1, 1)) -> Image.Image:
    """Any Pillow mode to 8-bit L, RGB or CMYK, box-reduced by ``factor``.

    16 bit is scaled to 8 (not clipped); transparency is flattened on white (a transparent CAD drawing must not
    turn black).
    """
    mode = image.mode
    if mode == "1":
        image = image.convert("L")
    elif mode.startswith("I;16") or mode == "I":
        image = _grey_16(image)
    elif mode == "F":
        image = image.point(lambda value: value * 255).convert("L")
    elif mode in ("P", "PA"):
        image = image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "RGB")
    elif mode not in ("L", "LA", "La", "RGB", "RGBA", "RGBa", "CMYK"):
        image = image.convert("RGB")
    if image.mode in ("LA", "La", "RGBA", "RGBa"):
        return _flatten(image, factor)
    return image.reduce(factor) if factor != (1, 1) else image


def _grey_16(image: Image.Image) -> Image.Image:
    """16-bit grey scaled to 8 bit; a PNG's transparent grey value (``tRNS``) becomes an alpha band, so that it is
    flattened on white like any other transparency."""
    wide = image.convert("I")
    grey = wide.point(lambda value: value / 257).convert("L")
    transparent = image.info.get("transparency")
    if not isinstance(transparent, int):
        return grey
    alpha = Image.fromarray((numpy.asarray(wide) != transparent).astype(numpy.uint8) * 255, "L")
    return Image.merge("LA", (grey, alpha))


def _flatten(image: Image.Image, factor: tuple[int, int]) -> Image.Image:
    """Reduce in premultiplied alpha (transparent pixels add no colour), then composite on white: c' + 255 - a."""
    premultiplied = image.convert("La" if image.mode in ("LA", "La") else "RGBa")
    if factor != (1, 1):
        premultiplied = premultiplied.reduce(factor)
    *colour, alpha = premultiplied.split()
    paper = ImageChops.invert(alpha)
    return Image.merge("L" if len(colour) == 1 else "RGB", [ImageChops.add(band, paper) for band in colour])


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert colour with the embedded ICC profile to sRGB (CMYK always ends as RGB)."""
    if icc_profile and image.mode in ("RGB", "CMYK"):
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # A broken profile: fall back to Pillow's plain conversion below.
    return image.convert("RGB") if image.mode == "CMYK" else image


def _accepted_list() -> str:
    names = [name for format, name in ACCEPTED_FORMATS.items() if format != "MPO"]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _too_many_pixels(name: str, size: tuple[int, int] | None = None) -> str:
    dimensions = f" ({size[0]} x {size[1]} px)" if size else ""
    return (
        f"'{name}' is too large{dimensions}: at most {MAX_SOURCE_PIXELS // 1_000_000} megapixels are accepted. "
        "Upload a smaller export or a crop of the area of interest."
    )


def over_budget(name: str, format: str | None, needed: int) -> str:
    how = {"WEBP": "a lossless WebP", "JPEG": "a progressive JPEG", "MPO": "a progressive JPEG"}.get(
        format or "", f"a large {ACCEPTED_FORMATS.get(format or '', 'image')}"
    ) + " is decoded whole"
    return (
        f"'{name}' is too large to decode within this app's memory budget: {how}, which needs about "
        f"{needed / 2**30:.1f} GB here (at most {engines.decode_budget() / 2**30:.1f} GB). Export it as PNG, as a "
        "baseline JPEG, or at a smaller size, and upload that."
    )


def _decode_failure(name: str, format: str | None, error: Exception) -> str:
    what = ACCEPTED_FORMATS.get(format or "", "image")
    reason = "its data ends early (truncated)" if "truncated" in str(error) else "its data is corrupt"
    return f"'{name}' could not be read as {what}: {reason}. Upload the original file again or export it anew."
