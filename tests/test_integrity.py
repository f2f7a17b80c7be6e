"""Corrupt pixels are refused: a file whose image data is damaged or cut off is refused with the clear message, or
(where a format cannot tell, like an uncompressed bitmap) prepared without blank bands; never sent partly blank.

Each accepted format is encoded from a real photo, then bytes inside its image data are flipped and the file is cut
at 10, 50 and 97 % of its length."""

from __future__ import annotations

import io
import random
import struct

import pytest
from PIL import Image, ImageCms, ImageDraw

from image_analysis.errors import ImageInputError
from image_analysis.imaging import integrity
from image_analysis.imaging.kinds import ImageKind
from image_analysis.imaging.prepare import prepare_image
from tests.conftest import shared_image_path


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    with Image.open(shared_image_path("building_arena_stage_highsmith.jpg")) as image:
        return image.convert("RGB").resize((800, 548))


@pytest.fixture(scope="module")
def encoded(photo):
    """Each format's file and what it prepares to, made once for its four kinds of damage (a HEIC takes seconds)."""
    made: dict[str, tuple[bytes, object]] = {}

    def get(name: str) -> tuple[bytes, object]:
        if name not in made:
            format, options, _ = FORMATS[name]
            original = encode(photo, format, options)
            made[name] = (original, prepare_image(original, name, kind=ImageKind.PHOTO))
        return made[name]

    return get


FORMATS = {  # name: (Pillow format, options, whether damage inside the data is detectable)
    "png": ("PNG", {}, True),
    "jpeg": ("JPEG", {"quality": 90}, True),
    "jpeg progressive": ("JPEG", {"quality": 85, "progressive": True}, True),
    "webp lossless": ("WEBP", {"lossless": True}, False),  # libwebp may decode past a flipped byte
    "webp lossy": ("WEBP", {"quality": 80}, False),  # VP8 conceals damage; it is never left blank
    "gif": ("GIF", {}, True),
    "tiff lzw": ("TIFF", {"compression": "tiff_lzw"}, True),
    "tiff raw": ("TIFF", {}, False),  # every byte is a pixel: a flipped byte is a changed pixel
    "bmp": ("BMP", {}, False),
    "heic": ("HEIF", {"quality": 80}, False),  # HEVC conceals damage inside a tile; a missing tile is refused
}


def encode(photo: Image.Image, format: str, options: dict) -> bytes:
    buffer = io.BytesIO()
    photo.save(buffer, format, **options)
    return buffer.getvalue()


def image_data_start(data: bytes, format: str) -> int:
    """Where the compressed pixels begin: after PNG's first IDAT header, after JPEG's first SOS, else a third in."""
    if format == "PNG":
        return data.index(b"IDAT") + 4
    if format == "JPEG":
        return data.index(b"\xff\xda") + 20
    return len(data) // 3


def blank_rows(prepared) -> int:
    """Rows of the sent image that are one flat colour (what a decoder leaves where data was missing)."""
    with Image.open(io.BytesIO(prepared.images[0].data)) as sent:
        grey = sent.convert("L")
    rows = 0
    for y in range(grey.height):
        low, high = grey.crop((0, y, grey.width, y + 1)).getextrema()
        rows += high - low < 3
    return rows


def outcome(data: bytes, name: str):
    try:
        return prepare_image(data, name, kind=ImageKind.PHOTO)
    except ImageInputError as error:
        return str(error)


@pytest.mark.slow
@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("damage", ["flipped bytes", "cut at 10 %", "cut at 50 %", "cut at 97 %"])
def test_damaged_image_data_is_refused_or_never_partly_blank(encoded, name, damage):
    format, _, detectable = FORMATS[name]
    original, reference = encoded(name)
    if damage == "flipped bytes":
        data, rng = bytearray(original), random.Random(name)
        start = image_data_start(original, format)
        for offset in rng.sample(range(start, start + (len(original) - start) // 2), 16):
            data[offset] ^= 0xFF
        data = bytes(data)
    else:
        data = original[: len(original) * int(damage.split()[2]) // 100]
    result = outcome(data, f"{name}.img")
    if isinstance(result, str):
        assert "its data is corrupt" in result or "ends early" in result or "not an image" in result, result
        return
    assert not (detectable or damage.startswith("cut")), f"{name} with {damage} was prepared instead of refused"
    identical = result.images[0].data == reference.images[0].data
    assert identical or blank_rows(result) <= blank_rows(reference), f"{name} with {damage} came out partly blank"


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.97])
def test_the_iphone_heic_cut_short_is_refused(fraction):
    data = shared_image_path("heic_iphone13pro_gps_pug.heic").read_bytes()
    with pytest.raises(ImageInputError, match="its data ends early"):
        prepare_image(data[: int(len(data) * fraction)], "pug.heic")


def test_a_png_with_16_flipped_bytes_in_its_image_data_is_refused():
    """The issue's case: Pillow refuses it on a plain load; reading EXIF must not hide that."""
    data = bytearray(shared_image_path("floorplan_mlstruct_f23ccf_flattened_2400w.png").read_bytes())
    start = data.index(b"IDAT") + 100
    for offset in range(start, start + 16):
        data[offset] ^= 0xFF
    with pytest.raises(ImageInputError, match="could not be read as PNG: its data is corrupt"):
        prepare_image(bytes(data), "plan.png")


def test_the_checks_pass_every_sound_shared_image():
    for name in (
        "building_arena_stage_highsmith.jpg",
        "exif_orientation_6_portrait.jpg",
        "heic_iphone13pro_gps_pug.heic",
    ):
        data = shared_image_path(name).read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            integrity.check(data, image.format)


def test_a_heif_box_with_an_impossible_size_is_damage():
    box = struct.pack(">I4s", 4, b"ftyp")
    with pytest.raises(integrity.DamagedDataError, match="impossible size"):
        integrity.check(box + b"\x00" * 32, "HEIF")


def png_chunks(data: bytes) -> list[str]:
    chunks, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        chunks.append(kind.decode())
        offset += 12 + length
    return chunks


def test_sent_pngs_carry_no_icc_profile_or_other_ancillary_chunk():
    """A drawing with an embedded ICC profile is converted to sRGB; the PNG sent holds only what decoding needs."""
    sheet = Image.new("RGB", (1600, 1100), "white")
    draw = ImageDraw.Draw(sheet)
    draw.rectangle((1100, 900, 1590, 1090), outline=(0, 0, 160), width=3)
    draw.text((1120, 920), "DRAWING No. A-101  REV C", fill="black")
    buffer = io.BytesIO()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    sheet.save(buffer, "PNG", icc_profile=srgb, dpi=(300, 300))
    prepared = prepare_image(buffer.getvalue(), "sheet.png", kind=ImageKind.DRAWING)
    for image in prepared.images:
        assert image.mime == "image/png"
        assert set(png_chunks(image.data)) <= {"IHDR", "PLTE", "tRNS", "IDAT", "IEND"}, png_chunks(image.data)
