"""The command line as bounded as the app: files read one at a time as the batch reaches them, the app's size cap,
and page choices that mean nothing refused in one line."""

from __future__ import annotations

import os
import sys

import pytest

from tests.conftest import REPO, shared_image_path
from tests.helpers import cli
from tests.memory import run_measured

pytestmark = [pytest.mark.budget, pytest.mark.process]


def test_a_file_over_the_size_cap_is_refused_in_its_place(model_service, tmp_path):
    model_service.reply("A photo.")
    env = {"OPENAI_BASE_URL": model_service.base_url, "VISION_MAX_RETRIES": "0", "IMAGE_ANALYSIS_MAX_UPLOAD_MB": "1"}
    big = str(shared_image_path("site_aerial_construction_caliterra_IMG_9402.jpg"))  # 3.6 MB
    small = str(shared_image_path("webp_photo_flower.webp"))
    done = cli("describe", big, small, env_extra=env)
    assert done.returncode == 2, done.stderr
    assert "is 4 MB; at most 1 MB are taken (set IMAGE_ANALYSIS_MAX_UPLOAD_MB for more)" in done.stderr
    assert len(model_service.requests) == 1, "the other file is still described"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--page", "0"], "0 is not a page: the first page is 1"),
        (["--page", "-2"], "-2 is not a page"),
        (["--pages", "1-"], "'1-' is an open range"),
        (["--pages", "-3"], "'-3' is an open range"),
    ],
)
def test_page_choices_that_mean_nothing_are_refused(tmp_path, args, expected):
    from scripts.make_drawing_set import Sheet, make_set

    pdf = make_set(tmp_path / "set.pdf", [Sheet("S-101", "Plan"), Sheet("S-102", "Roof")])
    done = cli("describe", str(pdf), "--preset", "drawing", *args)
    assert done.returncode == 2
    assert expected in done.stderr and done.stderr.count("\n") == 1


def test_a_batch_of_large_files_is_read_one_at_a_time(tmp_path):
    """Eight 150 MB files (sparse, not images): read whole before starting, they would take 1.2 GB."""
    files = []
    for number in range(8):
        path = tmp_path / f"scan-{number}.jpg"
        with path.open("wb") as file:
            file.truncate(150_000_000)
        files.append(str(path))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI", "VISION", "VIKTOR"))}
    env["IMAGE_ANALYSIS_MAX_UPLOAD_MB"] = "200"
    command = [sys.executable, "-m", "image_analysis", "describe", *files, "--concurrency", "2"]
    measured = run_measured(command, cwd=REPO, env=env, timeout=120)
    assert measured.returncode == 2, measured.stderr
    assert measured.stderr.count("is not an image in a supported format") == 8
    assert "8 of 8 without a description" in measured.stderr
    assert measured.peak_mb < 700, f"{measured.peak_mb:.0f} MB: the files were not read one at a time"
