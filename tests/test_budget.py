"""Every upload prepared or refused within the memory budget, measured on the whole process tree of the command line
(tests/memory.py), on hostile and huge files made by scripts/make_hostile_files.py (the engines' contract is in
tests/test_engines.py). Times go in BENCHMARKS.md, not in assertions."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from image_analysis.errors import ImageInputError
from image_analysis.imaging import engines
from image_analysis.imaging.kinds import ImageKind
from image_analysis.imaging.prepare import prepare_image
from scripts.make_hostile_files import make
from tests.conftest import REPO, shared_image_path
from tests.memory import run_measured

pytestmark = [pytest.mark.budget, pytest.mark.process]

BUDGET_MB = 1024
BATCH_BUDGET_MB = 2048


@pytest.fixture(scope="session")
def hostile(tmp_path_factory):
    """The files, made in a child process (writing a 250 MP lossless WebP or progressive JPEG takes gigabytes, which
    must not count against the test process)."""
    folder = tmp_path_factory.mktemp("hostile")
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_hostile_files.py"), str(folder), "--progressive-mp", "120"],
        check=True,
        cwd=REPO,
        capture_output=True,
        timeout=600,
    )
    return make(folder, huge_mp=250, progressive_mp=120)  # every file exists now: this only names them


def prepare_command(path) -> list[str]:
    return [sys.executable, "-m", "image_analysis", "prepare", str(path), "--preset", "drawing"]


def environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI", "VISION", "VIKTOR"))}


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("pdf_form_draws_1e9.pdf", "too complex to render"),
        ("pdf_inflates_600mb.pdf", "too complex to render"),
        ("pdf_form_draws_1e6.pdf", None),
        ("tiff_100000_pages.tif", None),
        ("huge_rgba.png", None),
        ("huge_float32.tif", None),
        ("huge_lossless.webp", "a lossless WebP is decoded whole"),
        ("huge_progressive_cmyk.jpg", "a progressive JPEG is decoded whole"),
    ],
)
def test_each_upload_is_prepared_or_refused_within_the_budget(hostile, name, outcome):
    measured = run_measured(prepare_command(hostile[name]), cwd=REPO, env=environment(), timeout=60)
    assert measured.peak_mb <= BUDGET_MB, f"{name}: {measured.peak_mb:.0f} MB"
    assert "Traceback" not in measured.stderr
    if outcome is None:
        assert measured.returncode == 0, measured.stderr
    else:
        assert measured.returncode == 2 and outcome in measured.stderr
        assert measured.stderr.count("\n") == 1, "one line"


def test_the_four_huge_uploads_in_one_batch_stay_within_two_gigabytes(hostile):
    huge = [hostile[name] for name in ("huge_rgba.png", "huge_float32.tif", "huge_lossless.webp")]
    huge.append(hostile["huge_progressive_cmyk.jpg"])
    command = [sys.executable, "-m", "image_analysis", "describe", *map(str, huge), "--concurrency", "4"]
    measured = run_measured(command, cwd=REPO, env=environment(), timeout=120)
    assert measured.peak_mb <= BATCH_BUDGET_MB, f"{measured.peak_mb:.0f} MB"
    assert measured.returncode == 3, "no model service is configured; every image is still prepared or refused"
    assert "Traceback" not in measured.stderr


def test_a_tiff_of_100000_pages_says_more_than_one_without_counting(hostile):
    preparation = prepare_image(hostile["tiff_100000_pages.tif"].read_bytes(), "pages.tif")
    assert "more than one image (frames)" in preparation.notes[0]


def test_a_damaged_png_is_refused_by_the_libvips_route():
    data = shared_image_path("png_rgba_transparent.png").read_bytes()
    assert engines.engine("PNG", "RGBA", 1000, 1000) == engines.VIPS
    with pytest.raises(ImageInputError, match="could not be read as PNG"):
        prepare_image(data[: len(data) // 2], "half.png", kind=ImageKind.PHOTO)
