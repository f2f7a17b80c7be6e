"""Hostile and broken input: thousands of mutated and truncated versions of the real images, random bytes, and
files designed to hurt. The only outcomes allowed are a prepared image or the project's own clear error, within
bounded time and memory."""

from __future__ import annotations

import io
import os
import resource
import struct
import time
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from image_analysis.errors import ImageInputError
from image_analysis.imaging import vision_grid
from image_analysis.imaging.encode import MAX_SENT_BYTES
from image_analysis.imaging.prepare import prepare_image
from tests.conftest import SHARED_IMAGES

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.slow,
    pytest.mark.process,  # a PDF among the files is rendered in a child process
    pytest.mark.filterwarnings("ignore::UserWarning"),
]
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
"""Multiplies the number of examples: FUZZ_SCALE=10 for a deeper run than CI's."""

SMALL_SEEDS = (
    sorted(
        path.name
        for path in SHARED_IMAGES.glob("*")
        if path.suffix != ".md" and path.is_file() and path.stat().st_size < 400_000
    )
    if SHARED_IMAGES.is_dir()
    else []
)
LARGE_SEEDS = [
    "site_aerial_construction_caliterra_IMG_9402.jpg",
    "heic_iphone13pro_gps_pug.heic",
    "floorplan_mlstruct_f23ccf_rgba.png",
]
SEED_BYTES = {
    name: (SHARED_IMAGES / name).read_bytes() for name in SMALL_SEEDS + LARGE_SEEDS if (SHARED_IMAGES / name).is_file()
}


def outcome(data: bytes, name: str = "fuzz.bin") -> str:
    """Prepare ``data``; return 'prepared' or 'refused', and let anything else fail the test."""
    start = time.monotonic()
    try:
        prepared = prepare_image(data, name)
    except ImageInputError as error:
        assert str(error).strip(), "a refusal says why"
        assert name in str(error) or "3.75 MB" in str(error)
        return "refused"
    finally:
        assert time.monotonic() - start < 30, "no hang"
    for image in prepared.images:
        assert len(image.data) <= MAX_SENT_BYTES
        assert max(image.width, image.height) <= vision_grid.MAX_EDGE
        with Image.open(io.BytesIO(image.data)) as sent:
            assert sent.size == (image.width, image.height)
    return "prepared"


@st.composite
def mutated(draw, seeds: list[str]) -> bytes:
    data = bytearray(SEED_BYTES[draw(st.sampled_from(seeds))])
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["truncate", "flip", "insert", "overwrite_header", "splice"]))
        if not data:
            break
        where = draw(st.integers(0, len(data) - 1))
        if action == "truncate":
            del data[where:]
        elif action == "flip":
            data[where] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=64))
        elif action == "overwrite_header":
            offset = draw(st.integers(0, min(64, len(data) - 1)))
            data[offset : offset + 4] = draw(st.binary(min_size=4, max_size=4))
        else:
            length = draw(st.integers(1, 256))
            data[where:where] = data[max(0, where - length) : where]
    return bytes(data)


def fuzz_settings(examples: int) -> settings:
    """Deterministic (the same cases every run), no per-example deadline (the outcome check bounds time)."""
    return settings(
        max_examples=int(examples * SCALE), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )


@fuzz_settings(1200)
@given(mutated(SMALL_SEEDS))
def test_mutated_small_images_are_prepared_or_refused(data):
    outcome(data)


@fuzz_settings(150)
@given(st.data())
def test_truncated_and_damaged_large_images_are_prepared_or_refused(data):
    seed = SEED_BYTES[data.draw(st.sampled_from(LARGE_SEEDS))]
    cut = data.draw(st.integers(0, len(seed)))
    damaged = bytearray(seed[:cut])
    if damaged and data.draw(st.booleans()):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] ^= 0xFF
    outcome(bytes(damaged))


@fuzz_settings(600)
@given(st.binary(max_size=4096))
def test_random_bytes_are_refused_with_a_reason(data):
    assert outcome(data) == "refused"


@fuzz_settings(300)
@given(
    st.sampled_from(
        [
            b"\x89PNG\r\n\x1a\n",
            b"\xff\xd8\xff\xe0",
            b"GIF89a",
            b"RIFF\x00\x00\x00\x00WEBP",
            b"BM",
            b"II*\x00",
            b"%PDF-1.7\n",
            b"\x00\x00\x00\x18ftypheic",
        ]
    ),
    st.binary(max_size=2048),
)
def test_real_signatures_followed_by_garbage_are_refused(signature, tail):
    assert outcome(signature + tail) == "refused"


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png(width: int, height: int, idat: bytes, extra: bytes = b"", colour_type: int = 0) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + extra + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_is_refused_quickly():
    """A few kilobytes claiming 30000 x 30000 px (900 megapixels) of zeros."""
    bomb = png(30000, 30000, zlib.compress(b"\x00" * (30001 * 200), 9))
    start = time.monotonic()
    with pytest.raises(ImageInputError, match="too large"):
        prepare_image(bomb, "bomb.png")
    assert time.monotonic() - start < 2


def test_a_100000_pixel_side_is_prepared_within_bounds():
    rows = b"".join(b"\x00" + bytes([(x // 500) % 256 for x in range(100_000)]) for _ in range(8))
    long_strip = png(100_000, 8, zlib.compress(rows, 6))
    start = time.monotonic()
    prepared = prepare_image(long_strip, "strip.png")
    assert time.monotonic() - start < 20
    assert prepared.source.width == 100_000
    assert all(max(image.width, image.height) <= 1540 for image in prepared.images)


def test_a_png_with_a_huge_text_chunk_is_prepared_or_refused_quickly():
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * 64 for _ in range(64)))
    bomb_text = png_chunk(b"zTXt", b"comment\x00\x00" + zlib.compress(b"A" * 50_000_000, 9))
    start = time.monotonic()
    result = outcome(png(64, 64, pixels, extra=bomb_text), "text.png")
    assert result in ("prepared", "refused") and time.monotonic() - start < 5


def test_a_polyglot_is_read_as_the_image_and_nothing_else_is_sent():
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 30, 30)).save(buffer, "PNG")
    polyglot = buffer.getvalue() + b"<html><script>alert(document.cookie)</script></html>"
    prepared = prepare_image(polyglot, "innocent.png")
    for image in prepared.images:
        assert b"<script" not in image.data and b"<html" not in image.data


def test_memory_stayed_bounded_through_the_fuzzing():
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak_mb < 4096, f"peak resident memory {peak_mb:.0f} MB"
