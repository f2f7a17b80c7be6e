"""The model's grid and token count, checked against mistral-common's own ImageEncoder."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from mistral_common.protocol.instruct.chunk import ImageChunk
from mistral_common.tokens.tokenizers.image import (
    DATASET_MEAN,
    DATASET_STD,
    ImageConfig,
    ImageEncoder,
    SpecialImageIDs,
    normalize,
)
from PIL import Image

from image_analysis.imaging import vision_grid
from image_analysis.imaging.prepare import prepare_image

ENCODER = ImageEncoder(
    ImageConfig(image_patch_size=14, max_image_size=1540, spatial_merge_size=2),
    SpecialImageIDs(img=10, img_break=12, img_end=13),
)


def mistral_tokens(width: int, height: int) -> int:
    """Tokens the encoder emits; the grid comes from its own sizing step, so no huge image is built."""
    cols, rows = ENCODER._image_to_num_tokens(Image.new("1", (width, height)))
    return rows * (cols + 1)


@pytest.mark.parametrize(
    ("size", "grid", "tokens"),
    [
        ((4000, 3000), (55, 42), 2352),
        ((3024, 4032), (42, 55), 2365),
        ((1920, 1080), (55, 31), 1736),
        ((1024, 768), (37, 28), 1064),
        ((800, 600), (29, 22), 660),
        ((512, 512), (19, 19), 380),
        ((7000, 5000), (55, 40), 2240),
    ],
)
def test_table_in_vision_model_doc(size, grid, tokens):
    computed = vision_grid.server_grid(*size)
    assert (computed.cols, computed.rows) == grid
    assert computed.image_tokens == tokens


def sizes() -> list[tuple[int, int]]:
    rng = random.Random(20261122)
    picked = [(1, 1), (27, 29), (28, 28), (1540, 1540), (1541, 1540), (100000, 3), (3, 100000), (1539, 1)]
    picked += [(rng.randint(1, 9000), rng.randint(1, 9000)) for _ in range(150)]
    picked += [(rng.randint(1, 1600), rng.randint(1, 1600)) for _ in range(100)]
    return picked


@pytest.mark.parametrize("size", sizes())
def test_tokens_match_mistral_common(size):
    assert vision_grid.image_tokens(*size) == mistral_tokens(*size)


@pytest.mark.parametrize("size", [(4000, 3000), (1541, 1540), (1600, 20), (123, 457), (2000, 1500)])
def test_full_encoder_counts_the_same_tokens(size):
    assert vision_grid.image_tokens(*size) == len(ENCODER(ImageChunk(image=Image.new("RGB", size))).tokens)


@pytest.mark.parametrize("size", sizes())
def test_target_size_never_upscales_and_keeps_the_servers_grid(size):
    width, height = size
    target_w, target_h = vision_grid.target_size(width, height)
    assert 1 <= target_w <= width and 1 <= target_h <= height
    assert max(target_w, target_h) <= vision_grid.MAX_EDGE
    assert vision_grid.server_grid(target_w, target_h) == vision_grid.server_grid(width, height)


def test_server_resize_is_a_no_op_on_a_prepared_photo(shared_image):
    """What the app sends is already on the grid: mistral-common's cubic resize returns it unchanged."""
    prepared = prepare_image(shared_image("site_aerial_construction_caliterra_IMG_9402.jpg"), "photo.jpg")
    sent = prepared.images[0]
    assert (sent.width, sent.height) == vision_grid.server_grid(4000, 3000).pixel_size
    pixels = Image.open(io.BytesIO(sent.data)).convert("RGB")
    encoded = ENCODER(ImageChunk(image=pixels))
    unchanged = normalize(np.asarray(pixels, dtype=np.float32), DATASET_MEAN, DATASET_STD)
    np.testing.assert_array_equal(encoded.image, unchanged)
    assert len(encoded.tokens) == sent.image_tokens
