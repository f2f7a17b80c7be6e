"""The sample images are the project's own: the script in the repository renders exactly what is committed."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from image_analysis.imaging.kinds import ImageKind
from image_analysis.imaging.prepare import prepare_image
from tests.conftest import REPO

pytestmark = pytest.mark.process  # the sample images made again by their script

SAMPLES = REPO / "sample_images"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("samples")
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_sample_images.py"), str(out)], check=True)
    return out


@pytest.mark.parametrize("name", ["drawing_ground_floor_A3.png", "site_photo_column_crack.jpg"])
def test_committed_samples_match_the_script(rendered, name):
    committed = np.asarray(Image.open(SAMPLES / name))
    fresh = np.asarray(Image.open(rendered / name))
    assert committed.shape == fresh.shape
    assert np.abs(committed.astype(int) - fresh.astype(int)).max() <= 2


def test_the_samples_exercise_drawing_and_photo_paths():
    drawing = prepare_image((SAMPLES / "drawing_ground_floor_A3.png").read_bytes(), "drawing.png")
    assert drawing.kind is ImageKind.DRAWING and drawing.images[0].mime == "image/png"
    photo = prepare_image((SAMPLES / "site_photo_column_crack.jpg").read_bytes(), "photo.jpg")
    assert photo.kind is ImageKind.PHOTO and photo.metadata.orientation == 6
    assert photo.images[0].height < photo.images[0].width, "stored sideways, sent upright (landscape)"
    assert photo.metadata.taken_at == "2026-10-21T09:41:27+02:00"
