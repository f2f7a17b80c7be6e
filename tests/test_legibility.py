"""Legibility as a measured choice: does lettering survive what is sent? OCR (Debian's tesseract-ocr, a test tool
only) reads the images sent for a synthetic A1 sheet at 300 dpi with words at 2.5, 3.5 and 5 mm; the share of the
words it recovers is the proxy. The default (overview plus tiles) must keep at least 90 %; ``--tiles off`` sends one
image, and the suite prints both figures."""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess

import pytest
from PIL import Image, ImageDraw, ImageFont

from image_analysis.imaging.kinds import ImageKind
from image_analysis.imaging.prepare import prepare_image

pytestmark = [pytest.mark.ocr, pytest.mark.process]  # a real external tool: fails, never skips, without it

A1_MM = (841, 594)
DPI = 300
HEIGHTS_MM = (2.5, 3.5, 5.0)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
RECOVERED: dict[str, float] = {}


def words(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mer", "tin", "vos", "pra", "del", "sun", "bri", "tor", "gam", "wel"]
    return ["".join(rng.choice(syllables) for _ in range(3)).upper() for _ in range(count)]


@pytest.fixture(scope="module")
def sheet() -> tuple[bytes, list[str]]:
    """An A1 sheet at 300 dpi: thin grid lines and 3 x 60 words at 2.5, 3.5 and 5 mm cap height, spread over it."""
    if not shutil.which("tesseract"):
        pytest.fail("the legibility test needs Debian's tesseract-ocr")
    width, height = (round(mm / 25.4 * DPI) for mm in A1_MM)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 600):
        draw.line([(x, 0), (x, height)], fill=170, width=3)
    placed = []
    for band, millimetres in enumerate(HEIGHTS_MM):
        font = ImageFont.truetype(FONT, round(millimetres / 25.4 * DPI / 0.72))  # cap height ~0.72 of the size
        for index, word in enumerate(words(60, band)):
            column, row = index % 6, index // 6
            x = 150 + column * (width - 300) // 6
            y = 150 + (band * 10 + row) * (height - 300) // 30
            draw.text((x, y), word, fill=0, font=font)
            placed.append(word)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue(), placed


def recovered(images, placed: list[str]) -> float:
    seen: set[str] = set()
    for image in images:
        done = subprocess.run(
            [shutil.which("tesseract"), "stdin", "stdout", "--psm", "11"],
            input=image.data,
            capture_output=True,
            check=True,
            timeout=120,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},  # its OpenMP threads spin: a third of the CPU for the same
        )
        seen.update(token.strip(".,:;|") for token in done.stdout.decode("utf-8", "replace").split())
    return sum(1 for word in placed if word in seen) / len(placed)


def test_the_default_keeps_at_least_90_percent_of_the_words_legible(sheet):
    data, placed = sheet
    preparation = prepare_image(data, "a1.png", kind=ImageKind.DRAWING)
    assert len(preparation.images) > 1, "an A1 sheet goes as an overview plus tiles"
    share = recovered(preparation.images, placed)
    RECOVERED["overview plus tiles"] = share
    assert share >= 0.90, f"OCR recovered {share:.0%} of the words from what is sent"


def test_tiles_off_sends_one_image_and_loses_the_small_lettering(sheet):
    data, placed = sheet
    preparation = prepare_image(data, "a1.png", kind=ImageKind.DRAWING, use_tiles=False)
    assert len(preparation.images) == 1
    share = recovered(preparation.images, placed)
    RECOVERED["overview only"] = share
    tiled = prepare_image(data, "a1.png", kind=ImageKind.DRAWING)
    assert preparation.image_tokens < tiled.image_tokens / 3, "off is the cheap choice"
    assert share < RECOVERED.get("overview plus tiles", 1.0), "and it reads less"
