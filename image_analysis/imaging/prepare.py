"""Image preparation, the orchestration: from uploaded bytes to exactly the pixels the vision model will see.

One decode per image, done at the right size (after Pillow's ``Image.draft`` and libvips' ``thumbnail``):

1. identify the real format from the bytes (never the file name), refuse what is not a raster image, and check
   the upload's memory budget from its header (``engines.memory_needed``);
2. decode with the engine ``engines.engine`` picks: libjpeg-turbo in strict mode at the DCT scale that suffices
   (its damage check is the decode), libvips with shrink-on-load, pillow-heif, or Pillow (``decode``);
3. bring any mode to 8-bit grey or sRGB: 16-bit scaled (not clipped), transparency flattened on white, CMYK and
   ICC profiles converted; resize once straight to the server's 28 px grid (``vision_grid.target_size``), never
   upscaling, so the server's own resize is a no-op; apply the EXIF orientation;
4. encode (``encode``): photos as JPEG quality 90 with full-resolution colour, drawings as 8-bit grey or palette
   PNG, decided from the content unless the caller says which; pixels only, no metadata. A JPEG that needs no
   change is sent as its own bytes with its metadata removed (``jpeg_metadata``). A drawing larger than the box
   goes as an overview plus overlapping tiles (``tiles.plan_tiles``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from PIL import Image

from image_analysis.config import limits
from image_analysis.errors import ImageInputError
from image_analysis.imaging import decode, engines, jpeg_metadata, pdf, tiles, vision_grid
from image_analysis.imaging import encode as encoding
from image_analysis.imaging.kinds import ROLE_OVERVIEW, ROLE_TILE, ImageKind
from image_analysis.imaging.metadata import read_metadata
from image_analysis.imaging.prepared import Preparation, PreparedImage, SourceImage

_PHOTO_FORMATS = ("JPEG", "MPO", "WEBP", "HEIF")
"""Formats that nearly always carry photos (JPEG and WebP also shrink as they load): decoded at the overview's size
first, and at the tiles' scale only when the content turns out to be a drawing."""


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
        image = decode.identify(data, name)
    decoder = engines.engine(image.format, image.mode, *image.size, limits().decoder)
    layers = getattr(image, "layer", None)
    needed = engines.memory_needed(data, image.format, *image.size, layers, image.mode, decoder)
    if needed > engines.decode_budget():
        raise ImageInputError(decode.over_budget(name, image.format, needed))
    if decoder in (engines.PILLOW, engines.HEIF) and image.format != "PDF":
        decode.verify(image, data, name, load=decoder == engines.PILLOW)  # the others refuse damage as they decode
    frames = decode.frames(image)
    if frames:
        what = "more than one image" if frames == "more than one" else f"{frames} images"
        notes.append(f"The file holds {what} (frames); only the first one was analysed.")
    metadata = decode.header_metadata(image) if decoder == engines.VIPS else read_metadata(image)
    orientation = metadata.orientation or 1
    width, height = image.size[::-1] if orientation in decode.SWAPS_SIDES else image.size
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
        if decoder == engines.VIPS:
            return decode.decode_with_libvips(data, name, image.format, size, needed)
        if decoder in (engines.TURBO, engines.HEIF):
            return decode.decode_with_library(data, name, image, size, orientation, decoder)
        source = opened.pop() if opened else decode.identify(data, name)
        return decode.decode_with_pillow(source, size, orientation, name)

    if plan and kind is None and (decoder != engines.PILLOW or image.format in decode.DRAFTABLE):
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
            kind = classify(decode.sample(image))
        pixels = decoded(plan.size if plan and kind is ImageKind.DRAWING else overview_size)
        kind = kind or classify(pixels)

    if plan is None or kind is ImageKind.PHOTO:
        if pixels.size != overview_size:
            pixels = decode.shrink(pixels, overview_size)
        own = _as_uploaded(data, image, (width, height), orientation, kind)
        if own is not None:
            notes.append("Sent as uploaded, not re-encoded: the file's own JPEG data, every metadata segment removed.")
        return Preparation(source, (own or encode(pixels, kind),), kind, metadata, tuple(notes), **extra)

    def encode_tile(tile: tiles.Tile) -> PreparedImage:
        crop = pixels.crop(tile.box)
        target = vision_grid.target_size(*crop.size)
        if crop.size != target:
            crop = crop.resize(target, Image.Resampling.LANCZOS)
        return encode(crop, kind, role=ROLE_TILE, region=plan.region(tile), grid=(tile.row, tile.col))

    overview = encode(decode.shrink(pixels, overview_size), kind, role=ROLE_OVERVIEW)
    sent = [overview, *decode.in_parallel(encode_tile, plan.tiles)]
    notes.append(
        f"Sent as an overview and {len(plan.tiles)} overlapping tiles at {plan.scale:.0%} of the original size, "
        "so that small lettering stays readable."
    )
    return Preparation(source, tuple(sent), kind, metadata, tuple(notes), **extra)


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
    if own is None or len(own) > min(len(data), encoding.MAX_SENT_BYTES):
        return None
    return PreparedImage(
        mime="image/jpeg", width=size[0], height=size[1], data=own, image_tokens=vision_grid.image_tokens(*size)
    )


def encode(pixels: Image.Image, kind: ImageKind, **placement: Any) -> PreparedImage:
    """Encode prepared pixels (mode L or RGB): drawings as PNG, photos as JPEG; pixels only, no metadata.

    ``placement`` (``role``, ``region``, ``grid``) says where the image sits on the sheet when it is a tile.
    """
    if kind is ImageKind.DRAWING:
        data = encoding.png_bytes(pixels)
        if len(data) <= encoding.MAX_SENT_BYTES:
            return _prepared("image/png", pixels, data, placement)
    for quality in (encoding.JPEG_QUALITY, 85, 80, 70, 60):
        data = encoding.save_pixels(pixels, "JPEG", quality=quality, subsampling=0)
        if len(data) <= encoding.MAX_SENT_BYTES:
            return _prepared("image/jpeg", pixels, data, placement)
    raise ImageInputError("The prepared image stays above the 3.75 MB limit; upload a smaller or simpler image.")


def classify(pixels: Image.Image) -> ImageKind:
    """Tell line art (drawings, plans, screenshots) from photos by how few colours carry most pixels.

    A drawing is mostly background plus a few ink colours: on a small sample quantised to 4 bits per
    channel, its 8 most frequent colours cover nearly everything; a photo's sensor noise and shading
    spread its pixels over hundreds of colours.
    """
    small = decode.sample(pixels).convert("RGB").point(lambda value: value & 0xF0)
    colours = sorted((count for count, _ in small.getcolors(maxcolors=1 << 16) or []), reverse=True)
    total = small.width * small.height
    return ImageKind.DRAWING if sum(colours[:8]) >= 0.85 * total else ImageKind.PHOTO


def _prepared(mime: str, pixels: Image.Image, data: bytes, placement: dict[str, Any]) -> PreparedImage:
    return PreparedImage(
        mime=mime,
        width=pixels.width,
        height=pixels.height,
        data=data,
        image_tokens=vision_grid.image_tokens(pixels.width, pixels.height),
        **placement,
    )
