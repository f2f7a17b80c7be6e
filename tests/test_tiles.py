"""Drawings in tiles: geometry, the images sent, the request and the JSON."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys

import pytest
from PIL import Image

from image_analysis import model, prompts
from image_analysis.imaging import tiles, vision_grid
from image_analysis.imaging.kinds import ROLE_OVERVIEW, ROLE_TILE, ImageKind
from image_analysis.imaging.prepare import prepare_image
from image_analysis.imaging.prepared import Preparation
from tests.conftest import REPO

DRAWING = REPO / "sample_images" / "drawing_ground_floor_A3.png"


def sheet_sizes() -> list[tuple[int, int]]:
    rng = random.Random(7200)
    return [(9500, 6714), (3307, 2339), (2400, 720), (7000, 5000), (100000, 300), (300, 100000)] + [
        (rng.randint(1600, 20000), rng.randint(1600, 20000)) for _ in range(60)
    ]


@pytest.mark.parametrize("size", sheet_sizes())
def test_tiles_cover_the_sheet_with_overlap_within_the_limits(size):
    plan = tiles.plan_tiles(*size)
    if plan is None:
        return
    width, height = plan.size
    assert 0 < plan.scale <= 1
    assert 1 <= len(plan.tiles) <= tiles.MAX_IMAGES - 1
    covered = set()
    for tile in plan.tiles:
        left, top, right, bottom = tile.box
        assert 0 <= left < right <= width and 0 <= top < bottom <= height
        assert right - left <= vision_grid.MAX_EDGE and bottom - top <= vision_grid.MAX_EDGE
        covered.add((left, right, top, bottom))
    lefts = sorted({t.box[0] for t in plan.tiles})
    rights = sorted({t.box[2] for t in plan.tiles})
    tops = sorted({t.box[1] for t in plan.tiles})
    bottoms = sorted({t.box[3] for t in plan.tiles})
    assert lefts[0] == 0 and rights[-1] == width and tops[0] == 0 and bottoms[-1] == height
    for next_left, right in zip(lefts[1:], rights[:-1], strict=True):
        assert right - next_left >= 0.9 * tiles.OVERLAP * vision_grid.MAX_EDGE, "neighbours overlap"
    for next_top, bottom in zip(tops[1:], bottoms[:-1], strict=True):
        assert bottom - next_top >= 0.9 * tiles.OVERLAP * vision_grid.MAX_EDGE
    overview_scale = min(1, vision_grid.MAX_EDGE / max(size))
    assert plan.scale >= tiles.MIN_GAIN * overview_scale


@pytest.mark.parametrize("size", [(1540, 1540), (1600, 1096), (800, 600), (2000, 1500)])
def test_no_tiles_when_they_would_not_show_the_sheet_much_larger(size):
    assert tiles.plan_tiles(*size) is None


def test_a_large_drawing_is_sent_as_an_overview_and_readable_tiles():
    prepared = prepare_image(DRAWING.read_bytes(), DRAWING.name)
    overview, *rest = prepared.images
    assert prepared.kind is ImageKind.DRAWING
    assert overview.role == ROLE_OVERVIEW and (overview.width, overview.height) == (1540, 1092)
    assert 2 <= len(rest) <= 7 and all(image.role == ROLE_TILE for image in rest)
    for image in prepared.images:
        assert image.mime == "image/png"
        assert vision_grid.target_size(image.width, image.height) == (image.width, image.height), "on the grid"
        assert image.image_tokens == vision_grid.image_tokens(image.width, image.height)
        assert Image.open(io.BytesIO(image.data)).size == (image.width, image.height)
    assert prepared.image_tokens == sum(image.image_tokens for image in prepared.images)
    assert Preparation.from_json(json.loads(json.dumps(prepared.to_json()))) == prepared, "memoize round trip"
    for tile in rest:
        source_px = tile.region[2] * prepared.source.width
        assert tile.width / source_px >= 0.95, "the A3 sheet's tiles are at (nearly) full resolution"
        assert tile.width / source_px >= 2 * overview.width / prepared.source.width, "lettering twice as large"


@pytest.mark.slow
def test_the_63_megapixel_plan_is_tiled_within_eight_images(shared_image):
    prepared = prepare_image(shared_image("floorplan_mlstruct_f23ccf_rgba.png"), "plan.png")
    assert len(prepared.images) <= 8
    assert prepared.images[0].role == ROLE_OVERVIEW and max(prepared.images[0].width, prepared.images[0].height) == 1540
    assert any("tiles" in note for note in prepared.notes)


def test_photos_are_never_tiled(shared_image):
    photo = prepare_image(shared_image("site_aerial_construction_caliterra_IMG_9402.jpg"), "site.jpg")
    assert len(photo.images) == 1
    forced = prepare_image(DRAWING.read_bytes(), DRAWING.name, kind=ImageKind.PHOTO)
    assert len(forced.images) == 1 and forced.images[0].mime == "image/jpeg"


@pytest.mark.slow
def test_a_drawing_preset_tiles_a_large_photo_too(shared_image):
    prepared = prepare_image(
        shared_image("site_aerial_construction_caliterra_IMG_9402.jpg"), "scan.jpg", kind=ImageKind.DRAWING
    )
    assert len(prepared.images) > 1 and prepared.kind is ImageKind.DRAWING


def test_the_request_says_which_image_is_which():
    prepared = prepare_image(DRAWING.read_bytes(), DRAWING.name)
    content = model.build_messages(prompts.build_prompt(), prepared.images)[1]["content"]
    images = [part for part in content if part["type"] == "image_url"]
    captions = [part["text"] for part in content[1:] if part["type"] == "text"]
    assert len(images) == len(prepared.images) == len(captions)
    assert captions[0].startswith(f"Image 1 of {len(images)}: the whole sheet")
    assert captions[1].startswith(f"Image 2 of {len(images)}: tile row 1, column 1")
    assert [content.index(part) for part in images] == [2 + 2 * i for i in range(len(images))]


@pytest.mark.process
def test_prepare_lists_every_image_it_would_send():
    done = subprocess.run(
        [sys.executable, "-m", "image_analysis", "prepare", str(DRAWING), "--preset", "drawing"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)
    assert [image["role"] for image in report["images"]] == ["overview"] + ["tile"] * (len(report["images"]) - 1)
    assert report["image_tokens"] == sum(image["image_tokens"] for image in report["images"])
    assert report["payload_bytes"] == sum(
        len("data:image/png;base64,") + 4 * -(-image["bytes"] // 3) for image in report["images"]
    )
    assert all(len(image["region"]) == 4 for image in report["images"][1:])
