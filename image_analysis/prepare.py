"""Image preparation: from uploaded bytes to exactly the pixels the vision model will see.

One pass, done at the right size (after Pillow's ``Image.draft`` and ``ImageOps.exif_transpose``):

1. identify the real format from the bytes (never the file name) and refuse what is not a raster image;
2. for JPEG, let libjpeg decode at 1/2, 1/4 or 1/8 scale when the target allows (``Image.draft``);
3. bring any mode to 8-bit grey or RGB: 16-bit scaled (not clipped), transparency flattened on white,
   CMYK and other ICC profiles converted to sRGB; huge images are box-reduced in bands so that no full-size
   copy is ever made;
4. resize once with LANCZOS straight to the server's 28 px grid (``vision_grid.target_size``), never upscaling,
   so the server's own resize is a no-op; then apply the EXIF orientation;
5. encode: photos as JPEG quality 90 with full-resolution colour, drawings as 8-bit grey or palette PNG,
   decided from the content unless the caller says which; pixels only, no metadata.
"""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from PIL import Image, ImageChops, ImageCms, ImageFile

from image_analysis import tiles, vision_grid
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
}
"""Formats identified from the bytes and accepted, with the name shown to users."""

FILE_TYPES = [".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".gif", ".tif", ".tiff", ".bmp"]
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
_OPENERS = [name for name in ACCEPTED_FORMATS if name in Image.OPEN]  # MPO opens through JPEG
_DRAFTABLE = ("JPEG", "MPO")
_REDUCING_GAP = 3.0
_BAND_PIXELS = 4_000_000
_SRGB = ImageCms.createProfile("sRGB")


class ImageKind(StrEnum):
    """What the picture shows, which decides how it is encoded."""

    PHOTO = "photo"
    DRAWING = "drawing"


class Preset(StrEnum):
    """What the user says the image is: decided from the content, a photo, or a drawing (sent in tiles)."""

    AUTO = "auto"
    PHOTO = "photo"
    DRAWING = "drawing"

    @property
    def kind(self) -> ImageKind | None:
        return None if self is Preset.AUTO else ImageKind(self.value)


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

    @property
    def data_uri(self) -> str:
        """The ``data:`` URI sent to the model and shown on the page."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    def summary(self) -> dict[str, Any]:
        """What ``prepare`` reports for this image."""
        summary: dict[str, Any] = {
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "bytes": len(self.data),
            "image_tokens": self.image_tokens,
            "role": self.role,
        }
        if self.region is not None:
            summary["region"] = [round(value, 4) for value in self.region]
            summary["grid"] = list(self.grid or ())
        return summary


@dataclass(frozen=True)
class Preparation:
    """Everything prepared from one upload: the source, the images to send, metadata and notes for the user."""

    source: SourceImage
    images: tuple[PreparedImage, ...]
    kind: ImageKind
    metadata: PhotoMetadata
    notes: tuple[str, ...] = ()

    @property
    def image_tokens(self) -> int:
        """Image tokens of all images sent."""
        return sum(image.image_tokens for image in self.images)

    @property
    def payload_bytes(self) -> int:
        """Total length of the data URIs sent."""
        return sum(len(image.data_uri) for image in self.images)

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
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form that ``from_json`` restores exactly (for ``vkt.memoize``)."""
        data = self.summary()
        data["source"]["sha256"] = self.source.sha256
        for entry, image in zip(data["images"], self.images, strict=True):
            entry["data"] = base64.b64encode(image.data).decode("ascii")
            entry["region"] = list(image.region) if image.region else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preparation:
        """Restore a preparation saved with ``to_json``."""
        images = tuple(
            PreparedImage(
                mime=entry["mime"],
                width=entry["width"],
                height=entry["height"],
                data=base64.b64decode(entry["data"]),
                image_tokens=entry["image_tokens"],
                role=entry["role"],
                region=tuple(entry["region"]) if entry.get("region") else None,
                grid=tuple(entry["grid"]) if entry.get("grid") else None,
            )
            for entry in data["images"]
        )
        return cls(
            source=SourceImage(**data["source"]),
            images=images,
            kind=ImageKind(data["kind"]),
            metadata=PhotoMetadata.from_dict(data["metadata"]),
            notes=tuple(data["notes"]),
        )


def prepare_image(data: bytes, name: str, *, preset: Preset = Preset.AUTO) -> Preparation:
    """Prepare uploaded bytes for the vision model.

    ``preset`` decides photo or drawing (``AUTO``: from the content). A drawing larger than the model's box is
    sent as an overview plus overlapping tiles. Raises ``ImageInputError`` naming the file when the bytes
    cannot be used.
    """
    image = _open(data, name)
    notes: list[str] = []
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        notes.append(f"The file holds {frames} images (frames); only the first one was analysed.")
    metadata = read_metadata(image)
    orientation = metadata.orientation or 1
    swapped = orientation in (5, 6, 7, 8)
    width, height = (image.height, image.width) if swapped else image.size
    source = SourceImage(
        name=name,
        format=image.format or "unknown",
        width=width,
        height=height,
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )

    kind = preset.kind
    plan = None if kind is ImageKind.PHOTO else tiles.plan_tiles(width, height)
    if plan and kind is None and image.format in _DRAFTABLE:
        kind = classify(_preview(data))  # a 1/8-scale decode decides before a full-size one is paid for
        plan = plan if kind is ImageKind.DRAWING else None
    overview_size = vision_grid.target_size(width, height)
    working_size = plan.size if plan else overview_size
    stored_size = working_size[::-1] if swapped else working_size

    try:
        if image.format in _DRAFTABLE:
            image.draft(image.mode, stored_size)
        pixels = _shrink(image, stored_size)
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(_decode_failure(name, image.format, error)) from error
    pixels = _to_srgb(pixels, image.info.get("icc_profile"))
    for method in _ORIENTATION_TRANSPOSE.get(orientation, ()):
        pixels = pixels.transpose(method)

    kind = kind or classify(pixels)
    if plan is None or kind is ImageKind.PHOTO:
        if pixels.size != overview_size:
            pixels = pixels.resize(overview_size, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
        return Preparation(source, (encode(pixels, kind),), kind, metadata, tuple(notes))

    overview = pixels.resize(overview_size, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    sent = [encode(overview, kind, role=ROLE_OVERVIEW)]
    for tile in plan.tiles:
        crop = pixels.crop(tile.box)
        target = vision_grid.target_size(*crop.size)
        if crop.size != target:
            crop = crop.resize(target, Image.Resampling.LANCZOS)
        sent.append(encode(crop, kind, role=ROLE_TILE, region=plan.region(tile), grid=(tile.row, tile.col)))
    notes.append(
        f"Sent as an overview and {len(plan.tiles)} overlapping tiles at {plan.scale:.0%} of the original size, "
        "so that small lettering stays readable."
    )
    return Preparation(source, tuple(sent), kind, metadata, tuple(notes))


def _preview(data: bytes) -> Image.Image:
    """A small, cheap look at a JPEG (decoded at 1/8 scale) to tell a photo from a scanned drawing."""
    with Image.open(io.BytesIO(data), formats=_OPENERS) as preview:
        preview.draft("RGB", (256, 256))
        return _normalise(preview.convert("RGB") if preview.mode == "CMYK" else preview).copy()


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
    if head.startswith(b"%pdf"):
        raise ImageInputError(f"'{name}' is a PDF, not an image. Export the page as PNG or JPEG and upload that.")
    if b"<svg" in head or head.startswith(b"<?xml"):
        raise ImageInputError(
            f"'{name}' is an SVG drawing, which is not accepted (it can carry script). "
            "Export it as PNG and upload that."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below, with the size
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
        raise ImageInputError(_decode_failure(name, None, error)) from error
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
    """Bring ``image`` to ``target`` in mode L, RGB or CMYK: box-reduce in bands, then LANCZOS once."""
    factor_x = max(int(image.width / target[0] / _REDUCING_GAP), 1)
    factor_y = max(int(image.height / target[1] / _REDUCING_GAP), 1)
    image.load()
    reducing = factor_x > 1 or factor_y > 1
    converting = image.mode not in ("L", "RGB", "CMYK")
    if image.width * image.height > _BAND_PIXELS and (reducing or converting):
        # A huge image is converted (and box-reduced) a few megapixels at a time, never copied whole.
        rows = max(_BAND_PIXELS // (image.width * factor_y), 1) * factor_y
        reduced = None
        for top in range(0, image.height, rows):
            band = _normalise(image.crop((0, top, image.width, min(top + rows, image.height))))
            if reducing:
                band = band.reduce((factor_x, factor_y))
            if reduced is None:
                reduced = Image.new(band.mode, (band.width, -(-image.height // factor_y)))
            reduced.paste(band, (0, top // factor_y))
        working = reduced
    else:
        working = _normalise(image)
    if working.size != target:
        working = working.resize(target, Image.Resampling.LANCZOS)
    return working


def _normalise(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit L, RGB or CMYK; transparency flattened on white, 16 bit scaled to 8."""
    mode = image.mode
    if mode in ("L", "RGB", "CMYK"):
        return image
    if mode.startswith("I;16") or mode == "I":
        return image.convert("I").point(lambda value: value / 257).convert("L")
    if mode == "F":
        return image.point(lambda value: value * 255).convert("L")
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    elif mode == "1":
        return image.convert("L")
    if image.mode in ("LA", "La"):
        return _flatten(image.convert("LA"), "L")
    if image.mode in ("RGBA", "RGBa"):
        return _flatten(image.convert("RGBA"), "RGB")
    return image.convert("RGB")


def _flatten(image: Image.Image, mode: str) -> Image.Image:
    """Composite an image with alpha on white (a transparent CAD drawing must not turn black)."""
    background = Image.new(mode, image.size, 255 if mode == "L" else (255, 255, 255))
    background.paste(image.convert(mode), mask=image.getchannel("A"))
    return background


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
        pixels = pixels.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return _save(pixels, "PNG", compress_level=6)


def _is_grey(pixels: Image.Image) -> bool:
    red, green, blue = pixels.split()
    return ImageChops.difference(red, green).getbbox() is None and ImageChops.difference(green, blue).getbbox() is None


def _save(pixels: Image.Image, format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    pixels.save(buffer, format, **options)
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


def _decode_failure(name: str, format: str | None, error: Exception) -> str:
    what = ACCEPTED_FORMATS.get(format or "", "image")
    reason = "its data ends early (truncated)" if "truncated" in str(error) else "its data is corrupt"
    return f"'{name}' could not be read as {what}: {reason}. Upload the original file again or export it anew."
