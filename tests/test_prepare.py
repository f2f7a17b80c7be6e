"""Image preparation on real files from ../shared/images and on made-up awkward ones."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, ImageStat

from image_analysis.errors import ImageInputError
from image_analysis.imaging.kinds import ImageKind
from image_analysis.imaging.prepare import prepare_image
from image_analysis.imaging.prepared import Preparation

MIME_OF_FORMAT = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def decoded(prepared) -> Image.Image:
    """The image the model receives, decoded from the data URI itself."""
    header, _, payload = prepared.data_uri.partition(",")
    assert header == f"data:{prepared.mime};base64"
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    assert MIME_OF_FORMAT[image.format] == prepared.mime, "the data URI's MIME type must match the bytes"
    return image


def encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def difference(a: Image.Image, b: Image.Image) -> float:
    a, b = a.convert("L"), b.convert("L").resize(a.size)
    return float(np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).mean())


@pytest.mark.parametrize("name", ["exif_orientation_6_landscape.jpg", "exif_orientation_6_portrait.jpg"])
def test_exif_orientation_6_comes_out_upright(shared_image, name):
    data = shared_image(name)
    stored = Image.open(io.BytesIO(data))
    upright = ImageOps.exif_transpose(stored)
    prepared = prepare_image(data, name)
    sent = decoded(prepared.images[0])

    assert (prepared.source.width, prepared.source.height) == (stored.height, stored.width)
    assert (sent.width > sent.height) == (upright.width > upright.height)
    assert difference(sent, upright) < 4, "sent pixels must match the upright photo"
    assert difference(sent, stored.rotate(90, expand=True)) > 20, "and not the sideways one"
    assert prepared.metadata.orientation == 6


def test_a_drawing_png_named_jpg_is_sent_as_png(shared_image):
    prepared = prepare_image(shared_image("floorplan_mlstruct_f23ccf_flattened_2400w.png"), "plan.jpg")
    assert prepared.source.format == "PNG"
    assert prepared.kind is ImageKind.DRAWING
    assert prepared.images[0].mime == "image/png"
    decoded(prepared.images[0])


def test_a_photo_png_named_jpg_is_identified_from_its_bytes(shared_image):
    prepared = prepare_image(shared_image("crack_concrete_ozgenel_a.png"), "crack.jpg")
    assert prepared.source.format == "PNG"
    assert prepared.kind is ImageKind.PHOTO
    assert prepared.images[0].mime == "image/jpeg"
    assert decoded(prepared.images[0]).size == (456, 341)


def test_the_12_megapixel_photo_is_sent_on_the_models_grid(shared_image):
    data = shared_image("site_aerial_construction_caliterra_IMG_9402.jpg")
    prepared = prepare_image(data, "site.jpg")
    sent = prepared.images[0]
    assert (prepared.source.width, prepared.source.height) == (4000, 3000)
    assert (sent.width, sent.height) == (1540, 1176)
    assert decoded(sent).size == (1540, 1176)
    assert sent.image_tokens == 2352
    assert sent.mime == "image/jpeg"
    assert prepared.payload_bytes * 10 <= len(data) * 4 / 3


def test_the_truncated_jpeg_gives_a_clear_error(shared_image):
    with pytest.raises(ImageInputError) as caught:
        prepare_image(shared_image("corrupt_truncated_jpeg.jpg"), "broken.jpg")
    message = str(caught.value)
    assert "'broken.jpg'" in message and "truncated" in message and "Upload" in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "is empty"),
        (b"Hello, this is a text file, not a photo.\n" * 20, "not an image in a supported format"),
        pytest.param(  # rendered in a child process
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "could not be read as PDF", marks=pytest.mark.process
        ),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "could not be read"),
    ],
)
def test_files_that_are_not_usable_images_are_refused_with_a_reason(data, expected):
    with pytest.raises(ImageInputError) as caught:
        prepare_image(data, "upload.png")
    assert expected in str(caught.value)
    assert "'upload.png'" in str(caught.value)


@pytest.mark.slow
def test_a_transparent_drawing_is_flattened_on_white_not_black(shared_image):
    prepared = prepare_image(shared_image("floorplan_mlstruct_f23ccf_rgba.png"), "plan.png")
    sent = decoded(prepared.images[0]).convert("L")
    assert prepared.kind is ImageKind.DRAWING
    assert (prepared.source.width, prepared.source.height) == (9500, 6714)
    assert max(sent.size) == 1540
    assert ImageStat.Stat(sent).mean[0] > 200, "mostly white paper"
    assert sent.getpixel((0, 0)) == 255


def test_sixteen_bit_is_scaled_not_clipped():
    ramp = np.linspace(0, 65535, 256 * 64).reshape(64, 256).astype(np.uint16)
    prepared = prepare_image(encoded(Image.fromarray(ramp), "PNG"), "ramp16.png", kind=ImageKind.DRAWING)
    sent = decoded(prepared.images[0])
    assert sent.mode == "L"
    assert 120 < ImageStat.Stat(sent).mean[0] < 135
    assert sent.getextrema() == (0, 255)


def test_grayscale_stays_grayscale_and_colour_stays_colour(shared_image):
    gray_photo = Image.open(io.BytesIO(shared_image("infrastructure_metro_vault_ustreet.jpg"))).convert("L")
    prepared = prepare_image(encoded(gray_photo, "JPEG", quality=92), "gray.jpg")
    assert decoded(prepared.images[0]).mode == "L"
    colour = prepare_image(shared_image("corrosion_rusty_metal_05_polyhaven_1k.jpg"), "rust.jpg")
    assert decoded(colour.images[0]).mode == "RGB"


def test_photos_are_jpeg_quality_90_with_full_colour_resolution(shared_image):
    prepared = prepare_image(shared_image("building_arena_stage_highsmith.jpg"), "arena.jpg")
    sent = decoded(prepared.images[0])
    assert sent.format == "JPEG"
    assert sent.layer == [(1, 1, 1, 0), (2, 1, 1, 1), (3, 1, 1, 1)], "4:4:4, no chroma subsampling"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "telltale"),
    [
        ("heic_iphone13pro_gps_pug.heic", b"iPhone"),
        ("site_aerial_construction_caliterra_IMG_9402.jpg", b"Canon"),
        ("webp_photo_flower.webp", b"Canon"),
        ("floorplan_mlstruct_f23ccf_rgba.png", b"xmp"),
    ],
)
def test_nothing_but_pixels_is_sent(shared_image, name, telltale):
    data = shared_image(name)
    assert telltale in data, "the original carries metadata"
    prepared = prepare_image(data, name)
    for image in prepared.images:
        sent = Image.open(io.BytesIO(image.data))
        assert not sent.getexif()
        assert not {"exif", "xmp", "icc_profile", "comment", "photoshop", "XML:com.adobe.xmp"} & set(sent.info)
        for marker in (b"Exif", b"GPS", b"xmp", b"XMP", b"iTXt", b"tEXt", b"zTXt", telltale):
            assert marker not in image.data


@pytest.mark.slow
def test_every_image_sent_stays_under_the_per_image_limit():
    noise = Image.frombytes("RGB", (3000, 3000), np.random.default_rng(1).bytes(3000 * 3000 * 3))
    for kind in (ImageKind.PHOTO, ImageKind.DRAWING):
        prepared = prepare_image(encoded(noise, "PNG", compress_level=1), "noise.png", kind=kind)
        assert all(len(image.data) <= 3_750_000 for image in prepared.images)


def test_heic_from_an_iphone_is_accepted_with_its_metadata(shared_image):
    prepared = prepare_image(shared_image("heic_iphone13pro_gps_pug.heic"), "IMG_0001.HEIC")
    assert prepared.source.format == "HEIF"
    assert (prepared.images[0].width, prepared.images[0].height) == (1540, 1176)
    assert prepared.metadata.camera == "Apple iPhone 13 Pro"
    assert prepared.metadata.taken_at == "2023-02-21T14:33:08+03:00"
    assert prepared.metadata.gps.lat == pytest.approx(44.85048, abs=1e-4)
    assert prepared.metadata.gps.lon == pytest.approx(34.97665, abs=1e-4)


def test_gps_west_of_greenwich_is_negative(shared_image):
    prepared = prepare_image(shared_image("site_aerial_construction_caliterra_IMG_9402.jpg"), "site.jpg")
    assert prepared.metadata.gps.lat == pytest.approx(30.171, abs=1e-3)
    assert prepared.metadata.gps.lon == pytest.approx(-98.08984, abs=1e-4)
    assert prepared.metadata.taken_at == "2014-10-19T13:22:32"
    assert prepared.metadata.camera == "Canon PowerShot SX260 HS"


def test_an_animated_webp_sends_its_first_frame_and_says_so(shared_image):
    prepared = prepare_image(shared_image("animated_iss634.webp"), "anim.webp")
    assert len(prepared.images) == 1
    assert any("42" in note and "first" in note for note in prepared.notes)


def test_a_cmyk_jpeg_is_sent_as_rgb():
    cmyk = Image.new("CMYK", (300, 200), (0, 255, 255, 0))  # pure magenta + yellow: red
    prepared = prepare_image(encoded(cmyk, "JPEG", quality=95), "cmyk.jpg")
    sent = decoded(prepared.images[0]).convert("RGB")
    red, green, blue = sent.getpixel((150, 100))
    assert red > 200 and green < 60 and blue < 60


def test_the_kind_can_be_overridden(shared_image):
    prepared = prepare_image(shared_image("crack_concrete_ozgenel_b.png"), "crack.png", kind=ImageKind.DRAWING)
    assert prepared.images[0].mime == "image/png"


def test_a_preparation_survives_the_memoize_round_trip(shared_image):
    prepared = prepare_image(shared_image("webp_photo_flower.webp"), "flower.webp")
    import json

    restored = Preparation.from_json(json.loads(json.dumps(prepared.to_json())))
    assert restored == prepared


@pytest.mark.parametrize(
    ("format", "options", "expected_format"),
    [
        ("GIF", {}, "GIF"),
        ("BMP", {}, "BMP"),
        ("TIFF", {"compression": "tiff_lzw"}, "TIFF"),
        ("JPEG", {"progressive": True, "quality": 90}, "JPEG"),
        ("WEBP", {"quality": 90}, "WEBP"),
    ],
)
def test_every_format_an_inspector_has_is_accepted(shared_image, format, options, expected_format):
    photo = Image.open(io.BytesIO(shared_image("webp_photo_flower.webp"))).convert("RGB")
    prepared = prepare_image(encoded(photo, format, **options), f"photo.{format.lower()}")
    assert prepared.source.format == expected_format
    assert decoded(prepared.images[0]).size == (480, 360)


def test_a_16_bit_tiff_is_scaled_not_clipped():
    ramp = np.linspace(0, 65535, 256 * 64).reshape(64, 256).astype(np.uint16)
    prepared = prepare_image(encoded(Image.fromarray(ramp), "TIFF"), "scan16.tif", kind=ImageKind.DRAWING)
    assert 120 < ImageStat.Stat(decoded(prepared.images[0])).mean[0] < 135


def test_a_palette_gif_with_transparency_is_flattened_on_white():
    image = Image.new("P", (120, 80), 0)
    image.putpalette([0, 0, 0, 200, 30, 30] + [0, 0, 0] * 254)
    image.paste(1, (40, 20, 80, 60))
    prepared = prepare_image(encoded(image, "GIF", transparency=0), "icon.gif")
    sent = decoded(prepared.images[0]).convert("RGB")
    assert sent.getpixel((5, 5)) == (255, 255, 255), "transparent becomes white, not black"
    assert sent.getpixel((60, 40))[0] > 150


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    header = Image.new("1", (1, 1))
    data = bytearray(encoded(header, "PNG"))
    # Rewrite the IHDR to claim 20000 x 20000 px (400 megapixels); the CRC is fixed below.
    import struct
    import zlib

    data[16:24] = struct.pack(">II", 20000, 20000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    with pytest.raises(ImageInputError, match=r"too large \(20000 x 20000 px\).*250 megapixels"):
        prepare_image(bytes(data), "bomb.png")


CMYK_PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")  # Debian's libgs-common


def test_a_cmyk_jpeg_with_its_icc_profile_gets_managed_colours():
    if not CMYK_PROFILE.is_file():
        pytest.fail(f"{CMYK_PROFILE} is missing: install Debian's libgs-common (make test does, as root)")
    profile = CMYK_PROFILE.read_bytes()
    cmyk = Image.new("CMYK", (300, 200), (0, 255, 255, 0))
    prepared = prepare_image(encoded(cmyk, "JPEG", quality=95, icc_profile=profile), "print.jpg")
    sent = decoded(prepared.images[0]).convert("RGB").getpixel((150, 100))
    managed = ImageCms.profileToProfile(
        cmyk, ImageCms.ImageCmsProfile(io.BytesIO(profile)), ImageCms.createProfile("sRGB"), outputMode="RGB"
    ).getpixel((0, 0))
    naive = cmyk.convert("RGB").getpixel((0, 0))
    assert max(abs(a - b) for a, b in zip(sent, managed, strict=True)) <= 3
    assert max(abs(a - b) for a, b in zip(sent, naive, strict=True)) > 20, "not Pillow's naive conversion"
