"""The decoding engines keep one preparation contract: every image the tests use gives the same source facts, kind,
sizes, roles and orientation through the engine chosen for it as through Pillow alone (``IMAGE_ANALYSIS_DECODER=
Pillow``), and pixels within a mean of 3 levels per band (the resampling kernels differ)."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from image_analysis.imaging import engines
from image_analysis.imaging.kinds import ROLE_OVERVIEW, ROLE_TILE, ImageKind
from image_analysis.imaging.prepare import prepare_image
from tests.conftest import shared_image_path

SHARED = [
    "building_arena_stage_highsmith.jpg",
    "corrosion_rusty_metal_05_polyhaven_1k.jpg",
    "crack_concrete_ozgenel_a.png",
    "exif_orientation_6_landscape.jpg",
    "exif_orientation_6_portrait.jpg",
    "floorplan_mlstruct_f23ccf_flattened_2400w.png",
    "floorplan_mlstruct_f23ccf_rgba.png",
    "heic_iphone13pro_gps_pug.heic",
    "infrastructure_metro_vault_ustreet.jpg",
    "png16_gray_trns.png",
    "png_rgba_transparent.png",
    "site_aerial_construction_caliterra_IMG_9402.jpg",
    "webp_photo_flower.webp",
]


def _photo() -> Image.Image:
    with Image.open(shared_image_path("building_arena_stage_highsmith.jpg")) as image:
        return image.convert("RGB")


def _saved(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def _display_p3() -> bytes:
    with Image.open(shared_image_path("heic_iphone13pro_gps_pug.heic")) as image:
        return image.info["icc_profile"]


def _plan_as_jpeg() -> bytes:
    with Image.open(shared_image_path("floorplan_mlstruct_f23ccf_flattened_2400w.png")) as image:
        return _saved(image.convert("RGB"), "JPEG", quality=92)


MADE = {  # the variants an everyday upload takes, made from the shared photos
    "grey.jpg": lambda: _saved(_photo().convert("L"), "JPEG", quality=90),
    "progressive.jpg": lambda: _saved(_photo(), "JPEG", quality=85, progressive=True),
    "display-p3.jpg": lambda: _saved(_photo(), "JPEG", quality=90, icc_profile=_display_p3()),
    "cmyk.jpg": lambda: _saved(_photo().convert("CMYK"), "JPEG", quality=90),
    "two-frames.mpo": lambda: _saved(_photo(), "MPO", save_all=True, append_images=[_photo().rotate(90)]),
    "plan.jpg": _plan_as_jpeg,
    "16-bit.tif": lambda: _saved(_photo().convert("I;16"), "TIFF"),
    "alpha.webp": lambda: _saved(_photo().convert("RGBA"), "WEBP", quality=85),
    "photo.gif": lambda: _saved(_photo(), "GIF"),
}


def _upload(name: str) -> bytes:
    return MADE[name]() if name in MADE else shared_image_path(name).read_bytes()


def _engine(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as image:
        return engines.engine(image.format, image.mode, *image.size)


@pytest.mark.slow
@pytest.mark.parametrize("name", SHARED + list(MADE))
def test_every_engine_keeps_the_preparation_contract(monkeypatch, name):
    data = _upload(name)
    chosen = prepare_image(data, name)
    monkeypatch.setenv("IMAGE_ANALYSIS_DECODER", engines.PILLOW)
    pillow = prepare_image(data, name)

    assert chosen.source == pillow.source and chosen.kind == pillow.kind
    assert chosen.metadata.orientation == pillow.metadata.orientation
    assert [(i.width, i.height, i.mime, i.role, i.grid) for i in chosen.images] == [
        (i.width, i.height, i.mime, i.role, i.grid) for i in pillow.images
    ]
    for ours, theirs in zip(chosen.images, pillow.images, strict=True):
        a, b = (Image.open(io.BytesIO(image.data)).convert("RGB") for image in (ours, theirs))
        difference = ImageStat.Stat(ImageChops.difference(a, b)).mean
        assert max(difference) < 3, f"{name} ({_engine(data)}): mean difference {difference}"


def test_the_engine_is_chosen_by_format_mode_and_size():
    """One table decides; the fast engines take the everyday uploads, Pillow the rest."""
    assert engines.engine("JPEG", "RGB", 4000, 3000) == engines.TURBO
    assert engines.engine("JPEG", "L", 4000, 3000) == engines.TURBO
    assert engines.engine("MPO", "RGB", 4000, 3000) == engines.TURBO
    assert engines.engine("JPEG", "CMYK", 4000, 3000) == engines.PILLOW  # Adobe's inverted CMYK: Pillow knows it
    assert engines.engine("JPEG", "RGB", 12_000, 9_000) == engines.VIPS  # huge: streamed, never whole in memory
    for format in ("PNG", "TIFF"):
        assert engines.engine(format, "RGB", 4000, 3000) == engines.VIPS
    assert engines.engine("WEBP", "RGBA", 4000, 3000) == engines.PILLOW
    assert engines.engine("WEBP", "RGBA", 12_000, 9_000) == engines.VIPS
    assert engines.engine("HEIF", "RGB", 4032, 3024) == engines.HEIF
    for format in ("GIF", "BMP", "PDF"):
        assert engines.engine(format, "RGB", 4000, 3000) == engines.PILLOW
    assert engines.engine("JPEG", "RGB", 4000, 3000, preferred=engines.PILLOW) == engines.PILLOW


def test_the_shared_uploads_take_the_fast_engines():
    """Not vacuous: the contract above compares different engines for the formats a site inspector uploads."""
    chosen = {name.rsplit(".", 1)[1]: _engine(_upload(name)) for name in SHARED}
    assert chosen == {"jpg": engines.TURBO, "png": engines.VIPS, "heic": engines.HEIF, "webp": engines.PILLOW}


def test_a_jpeg_drawing_is_recognised_and_tiled():
    """A JPEG is decoded small first (nearly always a photo); a drawing is decoded again at the tiles' scale."""
    chosen = prepare_image(_plan_as_jpeg(), "plan.jpg")
    assert chosen.kind is ImageKind.DRAWING
    assert [image.role for image in chosen.images[:2]] == [ROLE_OVERVIEW, ROLE_TILE]
