"""Image preparation: from uploaded bytes to exactly the pixels the vision model will see.

One pass, done at the right size (after Pillow's ``Image.draft`` and ``ImageOps.exif_transpose``):

1. identify the real format from the bytes (never the file name) and refuse what is not a raster image;
2. for JPEG, let libjpeg decode at 1/2, 1/4 or 1/8 scale when the target allows (``Image.draft``);
3. bring any mode to 8-bit grey or RGB: 16-bit scaled (not clipped), transparency flattened on white,
   CMYK and other ICC profiles converted to sRGB; other formats are box-reduced by the largest whole factor,
   band by band on all cores, so a huge image is converted a few megapixels at a time;
4. resize once with LANCZOS straight to the server's 28 px grid (``vision_grid.target_size``), never upscaling,
   so the server's own resize is a no-op; then apply the EXIF orientation;
5. encode: photos as JPEG quality 90 with full-resolution colour, drawings as 8-bit grey or palette PNG,
   decided from the content unless the caller says which; pixels only, no metadata. A drawing larger than the
   box goes as an overview plus overlapping tiles (``tiles.plan_tiles``).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import itertools
import os
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import numpy
from PIL import Image, ImageChops, ImageCms, ImageFile, ImageStat

from image_analysis import integrity, jpeg_metadata, large, pdf, tiles, vision_grid
from image_analysis.errors import ImageInputError
from image_analysis.metadata import PhotoMetadata, read_metadata

try:  # HEIC/HEIF, the iPhone's default format.
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is in requirements.txt
    pillow_heif = None

MAX_SOURCE_PIXELS = 250_000_000
"""Largest source accepted (a deliberate decompression-bomb guard: an A0 scan at 600 dpi is ~ 190 MP)."""

MAX_SENT_BYTES = 3_750_000
"""Largest image sent (Amazon Bedrock's per-image limit, the strictest along the way)."""

JPEG_QUALITY = 90

# Pillow's guard warns at MAX_IMAGE_PIXELS and raises at twice that; the check in _open raises first.
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
_SWAPS_SIDES = (5, 6, 7, 8)  # EXIF orientations that turn the image a quarter: width and height trade places
_OPENERS = [name for name in ACCEPTED_FORMATS if name in Image.OPEN]  # MPO opens through JPEG
_DRAFTABLE = ("JPEG", "MPO")
_BAND_PIXELS = 2000000
_WORKERS = max(1, min(4, os.cpu_count() or 1))
_PARALLEL_PIXELS = 1_000_000
_Item = TypeVar("_Item")
_Result = TypeVar("_Result")
_SRGB = ImageCms.createProfile("sRGB")
_PHOTO_FORMATS = ("JPEG", "MPO", "WEBP", "HEIF")
"""Formats that nearly always carry photos (JPEG and WebP also shrink as they load): decoded at the overview's size
first, and at the tiles' scale only when the content turns out to be a drawing."""
_SAMPLE_SIDE = 256
DECODER = os.environ.get("IMAGE_ANALYSIS_DECODER", large.VIPS)


class ImageKind(StrEnum):
    """What the picture shows, which decides how it is encoded."""

    PHOTO = "photo"
    DRAWING = "drawing"


ROLE_IMAGE = "image"
ROLE_OVERVIEW = "overview"
ROLE_TILE = "tile"


@dataclass(frozen=True)
class SourceImage:
    """The uploaded file as identified from its bytes; ``width``/``height`` are after orientation."""

    name: str
    format: str
    width: int
    height: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class PreparedImage:
    """One image exactly as it is sent: encoded bytes, their MIME type and the tokens they cost."""

    mime: str
    width: int
    height: int
    data: bytes = field(repr=False)
    image_tokens: int
    role: str = ROLE_IMAGE
    region: tuple[float, float, float, float] | None = None
    """For a tile: its box as fractions (x, y, width, height) of the whole sheet."""
    grid: tuple[int, int] | None = None
    """For a tile: its (row, column) in the tiling, from 1."""
    sent: int = 0
    """Bytes sent, kept when ``data`` was dropped (``Preparation.for_display``); otherwise ``len(data)``."""

    @property
    def sent_bytes(self) -> int:
        return len(self.data) or self.sent

    @property
    def data_uri(self) -> str:
        """The ``data:`` URI sent to the model and shown on the page."""
        if not self.data:
            raise ValueError("this is a display copy: the sent pixels were not kept; prepare the upload again")
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    @property
    def payload_length(self) -> int:
        """Length of the ``data:`` URI, computed (also for a display copy, which has no pixels)."""
        return len(f"data:{self.mime};base64,") + 4 * ((self.sent_bytes + 2) // 3)

    def summary(self) -> dict[str, Any]:
        """What ``prepare`` reports for this image."""
        summary: dict[str, Any] = {
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "bytes": self.sent_bytes,
            "image_tokens": self.image_tokens,
            "role": self.role,
        }
        if self.region is not None:
            summary["region"] = [round(value, 4) for value in self.region]
            summary["grid"] = list(self.grid or ())
        return summary


@dataclass(frozen=True)
class ShownImage:
    """A display copy of the first image sent: what the page and the reports show when the sent pixels are not
    carried (the VIKTOR app's cached and stored results), smaller than what was sent."""

    mime: str
    width: int
    height: int
    data: bytes = field(repr=False)

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


DISPLAY_LONG_SIDE = 1024
"""Long side of a photo's display copy: sharp on a 2x screen in the page's image panel and in a Word report."""
DISPLAY_JPEG_QUALITY = 80
DISPLAY_DRAWING_BYTES = 300_000
"""A drawing's overview is shown as it was sent (lossless, at the sent size) up to this size; above it, as a JPEG
at the sent size, so that lettering stays as legible as what the model saw."""


@dataclass(frozen=True)
class Preparation:
    """Everything prepared from one upload: the source, the images to send, metadata and notes for the user."""

    source: SourceImage
    images: tuple[PreparedImage, ...]
    kind: ImageKind
    metadata: PhotoMetadata
    notes: tuple[str, ...] = ()
    page: int | None = None
    """For a PDF: the page analysed (from 1)."""
    text: tuple[pdf.TextSegment, ...] | None = None
    """For a PDF: the page's own text layer (empty for a scanned sheet); ``None`` for other files."""
    shown: ShownImage | None = None
    """A display copy, when the sent pixels are not carried (``for_display``)."""

    @property
    def image_tokens(self) -> int:
        """Image tokens of all images sent."""
        return sum(image.image_tokens for image in self.images)

    @property
    def payload_bytes(self) -> int:
        """Total length of the data URIs sent."""
        return sum(image.payload_length for image in self.images)

    @property
    def exact(self) -> bool:
        """Whether the sent pixels are here (and can be sent again, as the chat does)."""
        return all(image.data for image in self.images)

    @property
    def display(self) -> ShownImage | PreparedImage:
        """The image to show: the display copy, or the first image sent."""
        return self.shown or self.images[0]

    def for_display(self) -> Preparation:
        """The same facts with a small display copy instead of the sent pixels: what the VIKTOR app caches, stores
        and puts on its pages (a phone photo: ~100 kB instead of ~450 kB, tiles not carried)."""
        if not self.exact:
            return self
        return dataclasses.replace(
            self,
            images=tuple(dataclasses.replace(image, data=b"", sent=len(image.data)) for image in self.images),
            shown=display_copy(self.images[0], self.kind),
        )

    def summary(self) -> dict[str, Any]:
        """The JSON that ``python -m image_analysis prepare`` prints."""
        source = self.source
        return {
            "source": {
                "name": source.name,
                "format": source.format,
                "width": source.width,
                "height": source.height,
                "bytes": source.bytes,
            },
            "kind": self.kind.value,
            "images": [image.summary() for image in self.images],
            "image_tokens": self.image_tokens,
            "payload_bytes": self.payload_bytes,
            "metadata": self.metadata.as_dict(),
            "notes": list(self.notes),
            "page": self.page,
            "text_segments": None if self.text is None else len(self.text),
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form that ``from_json`` restores exactly (for ``vkt.memoize``)."""
        data = self.summary()
        data["source"]["sha256"] = self.source.sha256
        for entry, image in zip(data["images"], self.images, strict=True):
            entry["data"] = base64.b64encode(image.data).decode("ascii") if image.data else None
            entry["region"] = list(image.region) if image.region else None
        data["text"] = None if self.text is None else [dataclasses.astuple(segment) for segment in self.text]
        shown = self.shown
        data["shown"] = None
        if shown is not None:
            data["shown"] = {"mime": shown.mime, "width": shown.width, "height": shown.height}
            data["shown"]["data"] = base64.b64encode(shown.data).decode("ascii")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preparation:
        """Restore a preparation saved with ``to_json``."""
        images = tuple(
            PreparedImage(
                mime=entry["mime"],
                width=entry["width"],
                height=entry["height"],
                data=base64.b64decode(entry["data"]) if entry.get("data") else b"",
                image_tokens=entry["image_tokens"],
                role=entry["role"],
                region=tuple(entry["region"]) if entry.get("region") else None,
                grid=tuple(entry["grid"]) if entry.get("grid") else None,
                sent=0 if entry.get("data") else entry["bytes"],
            )
            for entry in data["images"]
        )
        shown = data.get("shown")
        return cls(
            source=SourceImage(**data["source"]),
            images=images,
            kind=ImageKind(data["kind"]),
            metadata=PhotoMetadata.from_dict(data["metadata"]),
            notes=tuple(data["notes"]),
            page=data.get("page"),
            text=None if data.get("text") is None else tuple(pdf.TextSegment(*row) for row in data["text"]),
            shown=None if not shown else ShownImage(**{**shown, "data": base64.b64decode(shown["data"])}),
        )


def display_copy(image: PreparedImage, kind: ImageKind) -> ShownImage:
    """A display copy of a sent image: a photo at most ``DISPLAY_LONG_SIDE`` px as JPEG; a drawing at the sent
    size, lossless while that stays small, else as a JPEG (no metadata either way)."""
    if kind is ImageKind.DRAWING and len(image.data) <= DISPLAY_DRAWING_BYTES:
        return ShownImage(image.mime, image.width, image.height, image.data)
    with Image.open(io.BytesIO(image.data)) as opened:
        pixels = opened.convert("L" if opened.mode in ("L", "1") else "RGB")
    if kind is not ImageKind.DRAWING and max(pixels.size) > DISPLAY_LONG_SIDE:
        pixels.thumbnail((DISPLAY_LONG_SIDE, DISPLAY_LONG_SIDE), Image.Resampling.LANCZOS)
    quality = DISPLAY_JPEG_QUALITY if kind is not ImageKind.DRAWING else 85
    data = _save(pixels, "JPEG", quality=quality)
    return ShownImage("image/jpeg", pixels.width, pixels.height, data)


def prepare_image(
    data: bytes, name: str, *, kind: ImageKind | None = None, page: int = 1, use_tiles: bool = True
) -> Preparation:
    """Prepare uploaded bytes for the vision model.

    ``kind`` says photo or drawing (``None``: decided from the content). A drawing larger than the model's box is
    sent as an overview plus overlapping tiles. For a PDF, ``page`` (from 1) is rendered first. Raises
    ``ImageInputError`` naming the file when the bytes cannot be used.
    """
    notes: list[str] = []
    extra: dict[str, Any] = {}
    if pdf.is_pdf(data):
        rendered = pdf.render_page(data, name, page)
        image = rendered.image
        image.format = "PDF"
        notes.append(f"Page {rendered.page} of {rendered.pages} of the PDF, rendered at {rendered.dpi} dpi.")
        if not rendered.text:
            notes.append("The page has no text layer (a scanned sheet): the title block is the model's reading.")
        extra = {"page": rendered.page, "text": rendered.text}
    else:
        image = _open(data, name)
    decoder = large.engine(image.format, image.mode, *image.size, DECODER)
    layers = getattr(image, "layer", None)
    needed = large.memory_needed(data, image.format, *image.size, layers, image.mode, decoder)
    if needed > large.DECODE_BUDGET:
        raise ImageInputError(_over_budget(name, image.format, needed))
    if decoder in (large.PILLOW, large.HEIF) and image.format != "PDF":
        _verify(image, data, name, load=decoder == large.PILLOW)  # the other engines refuse damage as they decode
    frames = _frames(image)
    if frames:
        what = "more than one image" if frames == "more than one" else f"{frames} images"
        notes.append(f"The file holds {what} (frames); only the first one was analysed.")
    metadata = _header_metadata(image) if decoder == large.VIPS else read_metadata(image)
    orientation = metadata.orientation or 1
    width, height = image.size[::-1] if orientation in _SWAPS_SIDES else image.size
    source = SourceImage(
        name=name,
        format=image.format or "unknown",
        width=width,
        height=height,
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )

    plan = None if kind is ImageKind.PHOTO or not use_tiles else tiles.plan_tiles(width, height)
    overview_size = vision_grid.target_size(width, height)

    opened = [image]  # Pillow's JPEG draft decodes once per opening: a second decode opens the file again

    def decoded(size: tuple[int, int]) -> Image.Image:
        if decoder == large.VIPS:
            return _stream(data, name, image.format, size, needed)
        if decoder in (large.TURBO, large.HEIF):
            return _upright(data, name, image, size, orientation, decoder)
        return _decode(opened.pop() if opened else _open(data, name), size, orientation, name)

    if plan and kind is None and (decoder != large.PILLOW or image.format in _DRAFTABLE):
        if image.format in _PHOTO_FORMATS:
            pixels = decoded(overview_size)
            kind = classify(pixels)
            if kind is ImageKind.DRAWING:
                pixels = decoded(plan.size)
        else:
            pixels = decoded(plan.size)
            kind = classify(pixels)
    else:
        if plan and kind is None:  # Pillow has decoded the whole image: a sample of it tells photo from drawing
            kind = classify(_sample(image))
        pixels = decoded(plan.size if plan and kind is ImageKind.DRAWING else overview_size)
        kind = kind or classify(pixels)

    if plan is None or kind is ImageKind.PHOTO:
        if pixels.size != overview_size:
            pixels = _shrink(pixels, overview_size)
        own = _as_uploaded(data, image, (width, height), orientation, kind)
        if own is not None:
            notes.append("Sent as uploaded, not re-encoded: the file's own JPEG data, every metadata segment removed.")
        sent = own or encode(pixels, kind)
        return Preparation(source, (sent,), kind, metadata, tuple(notes), **extra)

    def encode_tile(tile: tiles.Tile) -> PreparedImage:
        crop = pixels.crop(tile.box)
        target = vision_grid.target_size(*crop.size)
        if crop.size != target:
            crop = crop.resize(target, Image.Resampling.LANCZOS)
        return encode(crop, kind, role=ROLE_TILE, region=plan.region(tile), grid=(tile.row, tile.col))

    sent = [encode(_shrink(pixels, overview_size), kind, role=ROLE_OVERVIEW), *_in_parallel(encode_tile, plan.tiles)]
    notes.append(
        f"Sent as an overview and {len(plan.tiles)} overlapping tiles at {plan.scale:.0%} of the original size, "
        "so that small lettering stays readable."
    )
    return Preparation(source, tuple(sent), kind, metadata, tuple(notes), **extra)


def _stream(data: bytes, name: str, format: str | None, size: tuple[int, int], needed: int) -> Image.Image:
    """Decoded by libvips straight to ``size`` (``large``); damage refuses the file."""
    try:
        return large.decode(data, format, size, needed)
    except large.StreamError as error:
        raise ImageInputError(_decode_failure(name, format, error)) from error


def _frames(image: Image.Image) -> str | None:
    """How many images a multi-image file holds, or ``None`` for one; "more than one" where counting would mean
    walking every page (a TIFF of 100,000 pages, a long GIF)."""
    if not getattr(image, "is_animated", False):
        return None
    if image.format in ("TIFF", "GIF", "PDF"):
        return "more than one"
    return str(getattr(image, "n_frames", "more than one"))


def _header_metadata(image: ImageFile.ImageFile) -> PhotoMetadata:
    """Metadata read without decoding pixels: a PNG's EXIF is only read when it comes before the image data
    (Pillow would decode the whole image to look for it after)."""
    if image.format == "PNG" and "exif" not in image.info:
        return PhotoMetadata()
    return read_metadata(image)


def _upright(
    data: bytes, name: str, image: Image.Image, size: tuple[int, int], orientation: int, decoder: str
) -> Image.Image:
    """A JPEG or HEIC decoded once by its own library and brought to ``size`` (upright) by libvips (``large``)."""
    stored_size = size[::-1] if orientation in _SWAPS_SIDES else size
    try:
        decode = large.decode_jpeg if decoder == large.TURBO else large.decode_heif
        pixels = decode(data, stored_size)
    except large.StreamError as error:
        raise ImageInputError(_decode_failure(name, image.format, error)) from error
    pixels = _to_srgb(pixels, image.info.get("icc_profile"))
    for method in _ORIENTATION_TRANSPOSE.get(orientation, ()):
        pixels = pixels.transpose(method)
    return pixels


def _verify(image: ImageFile.ImageFile, data: bytes, name: str, *, load: bool = True) -> None:
    """Refuse damaged data before anything is read from it.

    Formats that JPEG's draft mode does not apply to are decoded here, so that a decode error surfaces as one:
    reading EXIF from a PNG decodes it, and Pillow would otherwise keep what was decoded before the damage and
    drop the error. ``integrity.check`` catches what JPEG and HEIF decoders conceal."""
    try:
        integrity.check(data, image.format)
        if load and image.format not in _DRAFTABLE:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pillow warns about damaged tags as it loads; the error decides
                image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(_decode_failure(name, image.format, error)) from error


def _decode(image: ImageFile.ImageFile, size: tuple[int, int], orientation: int, name: str) -> Image.Image:
    """Decode ``image`` straight to ``size`` (given upright) in L or sRGB, then turn it upright."""
    stored_size = size[::-1] if orientation in _SWAPS_SIDES else size
    try:
        if image.format in _DRAFTABLE:
            image.draft(image.mode, stored_size)  # libjpeg decodes at 1/2, 1/4 or 1/8 scale when that suffices
        pixels = _shrink(image, stored_size)
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(_decode_failure(name, image.format, error)) from error
    pixels = _to_srgb(pixels, image.info.get("icc_profile"))
    for method in _ORIENTATION_TRANSPOSE.get(orientation, ()):
        pixels = pixels.transpose(method)
    return pixels


def _as_uploaded(
    data: bytes, image: Image.Image, size: tuple[int, int], orientation: int, kind: ImageKind
) -> PreparedImage | None:
    """A photo JPEG that is already at the size sent, upright, and in plain sRGB (no ICC profile, no CMYK) is sent
    as its own bytes with every metadata segment removed: no second generation of loss, never larger than the upload.
    ``None`` when anything would have to change (then the pixels are encoded)."""
    if kind is not ImageKind.PHOTO or image.format != "JPEG" or orientation != 1:
        return None
    if image.mode not in ("RGB", "L") or image.info.get("icc_profile") or size != vision_grid.target_size(*size):
        return None
    own = jpeg_metadata.without_metadata(data)
    if own is None or len(own) > min(len(data), MAX_SENT_BYTES):
        return None
    return PreparedImage(
        mime="image/jpeg", width=size[0], height=size[1], data=own, image_tokens=vision_grid.image_tokens(*size)
    )


def encode(pixels: Image.Image, kind: ImageKind, **placement: Any) -> PreparedImage:
    """Encode prepared pixels (mode L or RGB): drawings as PNG, photos as JPEG; pixels only, no metadata.

    ``placement`` (``role``, ``region``, ``grid``) says where the image sits on the sheet when it is a tile.
    """
    if kind is ImageKind.DRAWING:
        data = _encode_png(pixels)
        if len(data) <= MAX_SENT_BYTES:
            return _prepared("image/png", pixels, data, placement)
    for quality in (JPEG_QUALITY, 85, 80, 70, 60):
        data = _save(pixels, "JPEG", quality=quality, subsampling=0)
        if len(data) <= MAX_SENT_BYTES:
            return _prepared("image/jpeg", pixels, data, placement)
    raise ImageInputError("The prepared image stays above the 3.75 MB limit; upload a smaller or simpler image.")


def _sample(image: Image.Image) -> Image.Image:
    """A small nearest-neighbour sample of a decoded image in L or RGB, for ``classify``: no copy at full size."""
    scale = max(image.width, image.height) / _SAMPLE_SIDE
    size = (max(1, round(image.width / scale)), max(1, round(image.height / scale))) if scale > 1 else image.size
    return _normalise(image.resize(size, Image.Resampling.NEAREST))


def classify(pixels: Image.Image) -> ImageKind:
    """Tell line art (drawings, plans, screenshots) from photos by how few colours carry most pixels.

    A drawing is mostly background plus a few ink colours: on a small sample quantised to 4 bits per
    channel, its 8 most frequent colours cover nearly everything; a photo's sensor noise and shading
    spread its pixels over hundreds of colours.
    """
    sample = pixels.copy()
    sample.thumbnail((256, 256), Image.Resampling.NEAREST)
    sample = sample.convert("RGB").point(lambda value: value & 0xF0)
    colours = sorted((count for count, _ in sample.getcolors(maxcolors=1 << 16) or []), reverse=True)
    total = sample.width * sample.height
    return ImageKind.DRAWING if sum(colours[:8]) >= 0.85 * total else ImageKind.PHOTO


def _open(data: bytes, name: str) -> ImageFile.ImageFile:
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


def _shrink(image: Image.Image, target: tuple[int, int]) -> Image.Image:
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
        bands = _in_parallel(
            lambda top: _normalise(image.crop((0, top, image.width, min(top + rows, image.height))), factor), tops
        )
        working = None
        for top, band in zip(tops, bands, strict=True):
            if working is None:
                working = Image.new(band.mode, (band.width, -(-image.height // factor[1])))
            working.paste(band, (0, top // factor[1]))
    return _resize(working, target) if working.size != target else working


def _resize(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """LANCZOS to ``target``; a large output in horizontal strips on all cores (``box`` samples across seams)."""
    strips = min(_WORKERS, target[1]) if target[0] * target[1] >= _PARALLEL_PIXELS else 1
    if strips == 1:
        return image.resize(target, Image.Resampling.LANCZOS)
    scale = image.height / target[1]
    cuts = [round(index * target[1] / strips) for index in range(strips + 1)]
    spans = list(itertools.pairwise(cuts))
    parts = _in_parallel(
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


def _in_parallel(function: Callable[[_Item], _Result], items: Sequence[_Item]) -> Iterator[_Result]:
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
            return ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # A broken profile: fall back to Pillow's plain conversion below.
    return image.convert("RGB") if image.mode == "CMYK" else image


def _encode_png(pixels: Image.Image) -> bytes:
    """Lossless PNG: 8-bit grey when the drawing has no colour, otherwise a 256-colour palette."""
    if pixels.mode == "RGB" and _is_grey(pixels):
        pixels = pixels.convert("L")
    if pixels.mode == "RGB":
        pixels = _palette(pixels)
    return _save(pixels, "PNG", compress_level=6, icc_profile=None)  # no iCCP: the pixels are sRGB already


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


def _save(pixels: Image.Image, format: str, **options: Any) -> bytes:
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


def _prepared(mime: str, pixels: Image.Image, data: bytes, placement: dict[str, Any]) -> PreparedImage:
    return PreparedImage(
        mime=mime,
        width=pixels.width,
        height=pixels.height,
        data=data,
        image_tokens=vision_grid.image_tokens(pixels.width, pixels.height),
        **placement,
    )


def _accepted_list() -> str:
    names = [name for format, name in ACCEPTED_FORMATS.items() if format != "MPO"]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _too_many_pixels(name: str, size: tuple[int, int] | None = None) -> str:
    dimensions = f" ({size[0]} x {size[1]} px)" if size else ""
    return (
        f"'{name}' is too large{dimensions}: at most {MAX_SOURCE_PIXELS // 1_000_000} megapixels are accepted. "
        "Upload a smaller export or a crop of the area of interest."
    )


def _over_budget(name: str, format: str | None, needed: int) -> str:
    how = {"WEBP": "a lossless WebP", "JPEG": "a progressive JPEG", "MPO": "a progressive JPEG"}.get(
        format or "", f"a large {ACCEPTED_FORMATS.get(format or '', 'image')}"
    ) + " is decoded whole"
    return (
        f"'{name}' is too large to decode within this app's memory budget: {how}, which needs about "
        f"{needed / 2**30:.1f} GB here (at most {large.DECODE_BUDGET / 2**30:.1f} GB). Export it as PNG, as a baseline "
        "JPEG, or at a smaller size, and upload that."
    )


def _decode_failure(name: str, format: str | None, error: Exception) -> str:
    what = ACCEPTED_FORMATS.get(format or "", "image")
    reason = "its data ends early (truncated)" if "truncated" in str(error) else "its data is corrupt"
    return f"'{name}' could not be read as {what}: {reason}. Upload the original file again or export it anew."
