"""What the VIKTOR app moves per photo: the memoized value and the view's HTML, run as the platform runs them.

The app's views are called through tests/viktor_platform.py (memoize on with the SDK's local cache backend, a
storage double), against a local model server on 127.0.0.1 that answers at once with an inspection reply of
realistic length. Measured side by side in one run: what is cached and shown now (a display copy of each image)
against what was before (the exact sent images, in the cache and on the page).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.model_server import model_server
from image_analysis import reports
from image_analysis.analysis import Analysis

REPO = Path(__file__).resolve().parents[1]
TARGET_PER_PHOTO = 400_000


def _reply() -> str:
    from tests.reply_corpus import BASE

    return json.dumps(BASE)


def _distinct_jpeg(data: bytes, number: int) -> bytes:
    comment = f"copy {number}".encode()
    return data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[2:]


def _measure(method: str, given: dict[str, Any], count: int) -> dict[str, float]:
    """Memoized bytes and view HTML per image, now and as before (the exact images cached and shown)."""
    from tests.viktor_platform import app_params, call, platform_session

    with tempfile.TemporaryDirectory() as folder, platform_session(Path(folder)) as platform:
        html = call(method, app_params(**given)).html
        memoized = platform.memoized_bytes()
        cached = [json.loads(path.read_text()) for path in platform.memoized()]
    values = [value for entry in cached for value in (entry if isinstance(entry, list) else [entry])]
    analyses = [Analysis.from_json(value) for value in values]
    exact = _exact_sizes(method, given, analyses)
    return {
        "memoized": memoized / count,
        "html": len(html.encode("utf-8")) / count,
        "memoized_before": exact["memoized"] / count,
        "html_before": exact["html"] / count,
    }


def _exact_sizes(method: str, given: dict[str, Any], analyses: list[Analysis]) -> dict[str, float]:
    """The same results with the exact sent images, as the app cached and showed them before."""
    from image_analysis import analysis as pipeline

    files = [given["image"]] if "image" in given else list(given["photos"])
    if method == "drawing_set":
        uploads = pipeline.sheet_uploads(pipeline.Upload("set.pdf", files[0].file.getvalue_binary()), [1, 2, 3])
    else:
        uploads = [pipeline.Upload(file.filename, file.file.getvalue_binary()) for file in files]
    full = [pipeline.with_sent_images(result, upload) for result, upload in zip(analyses, uploads, strict=True)]
    memoized = sum(len(json.dumps(result.to_json())) for result in full)
    page = reports.html_page(full[0]) if method == "analysis" else reports.html_report(full)
    return {"memoized": memoized, "html": len(page.encode("utf-8"))}


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def platform_section(images: Path, lines: list[str]) -> list[str]:
    from scripts.make_drawing_set import make_set, numbered_set
    from tests.viktor_platform import upload

    phone = [
        (images / "site_aerial_construction_caliterra_IMG_9402.jpg").read_bytes(),
        (REPO / "sample_images" / "site_photo_column_crack.jpg").read_bytes(),
    ]
    with model_server(_reply()) as address, _environment(OPENAI_BASE_URL=address, OPENAI_API_KEY="bench"):
        with tempfile.TemporaryDirectory() as folder:
            pdf = make_set(Path(folder) / "set.pdf", numbered_set(3), "A1").read_bytes()
        rows = {
            "one 12 MP phone photo (Analysis view)": (
                "analysis",
                {"image": upload("photo.jpg", phone[0]), "preset": "inspection"},
                1,
            ),
            "an A1 drawing with tiles (Analysis view)": (
                "analysis",
                {"image": upload("set.pdf", pdf), "preset": "drawing"},
                1,
            ),
            "a 3-sheet A1 drawing set (Drawing set view)": (
                "drawing_set",
                {"image": upload("set.pdf", pdf), "preset": "drawing", "sheets": "all"},
                3,
            ),
            "a batch of 50 phone photos, 12 MP and 6 MP (Photos view)": (
                "batch",
                {
                    "photos": [upload(f"photo-{n}.jpg", _distinct_jpeg(phone[n % 2], n)) for n in range(50)],
                    "preset": "inspection",
                },
                50,
            ),
        }
        measured = {label: _measure(*row) for label, row in rows.items()}
    batch = measured["a batch of 50 phone photos, 12 MP and 6 MP (Photos view)"]
    per_photo = batch["memoized"] + batch["html"]
    ok = per_photo <= TARGET_PER_PHOTO
    lines += [
        "## What the VIKTOR app moves per photo",
        "",
        "Each view run as the platform runs it (`vkt.memoize` on with the SDK's local cache backend, a storage "
        "double; tests/viktor_platform.py) against a local model server answering with an inspection reply: the "
        "memoized value and the view's HTML per image. *Before*: the same results carrying the exact sent images "
        "(as the cache and the page did until now); *now*: a display copy (a photo at most 1024 px, JPEG quality "
        "80; a drawing's overview at its sent size), the sent images prepared again from the upload only for the "
        "chat.",
        "",
        "| what | memoized before | memoized now | view HTML before | view HTML now | both now |",
        "|---|---|---|---|---|---|",
    ]
    for label, sizes in measured.items():
        lines.append(
            f"| {label} | {sizes['memoized_before'] / 1000:,.0f} kB | {sizes['memoized'] / 1000:,.0f} kB | "
            f"{sizes['html_before'] / 1000:,.0f} kB | {sizes['html'] / 1000:,.0f} kB | "
            f"**{(sizes['memoized'] + sizes['html']) / 1000:,.0f} kB** |"
        )
    lines += [
        "",
        f"- {'met' if ok else 'MISSED'}: a 50-photo batch within {TARGET_PER_PHOTO // 1000} kB a photo, memoized "
        f"value and view HTML together ({per_photo / 1000:,.0f} kB)",
        "",
    ]
    return [] if ok else [f"a batch within {TARGET_PER_PHOTO // 1000} kB a photo"]
