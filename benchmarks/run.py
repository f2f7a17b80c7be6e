"""Benchmark image preparation and batches on the real images in ../shared/images and write BENCHMARKS.md.

    python benchmarks/run.py [--images DIR] [--out BENCHMARKS.md]      (or: make bench)

Measures, in one run, on this machine:
1. the 12 MP JPEG: the app's preparation (bytes to data URI) against libvips' thumbnail (the fastest peer) and the
   straightforward Pillow pipeline (open, exif_transpose, convert RGB, LANCZOS resize to the same size, JPEG quality
   90), medians of interleaved runs; its payload against sending the original file as a data URI; its image tokens
   against the server's count for the original; the 12 MP iPhone HEIC against pillow-heif's decode alone; a JPEG
   that needs no change, sent as its own bytes;
2. the 63 MP RGBA floor plan: time and peak memory of both pipelines, each in a fresh process;
3. every file in the folder: source and sent sizes, bytes, tokens, milliseconds;
4. a batch of 16 photos against a local OpenAI-compatible server (127.0.0.1) that answers after 1 s: the default
   concurrency against one request at a time;
5. the Word report and the page for runaway replies of 100,000 characters (thousands of table rows, a 300-column
   table, thousands of list items) against an ordinary reply;
6. the memory and time budget: each format at 12, 65 and 250 MP and the hostile files of
   scripts/make_hostile_files.py, through ``python -m image_analysis prepare`` with the peak resident memory of the
   whole process tree, against the previous approach (everything decoded by Pillow, no budget);
7. a 40-sheet A1 drawing set (scripts/make_drawing_set.py): time and peak memory per sheet and for the set;
8. what the VIKTOR app moves per photo (benchmarks/platform_sizes.py): the memoized value and the view's HTML, for a
   photo, a drawing with tiles, a drawing set and a 50-photo batch, run as the platform runs them.
9. a campaign: generated survey photos prepared into batch shards with one and two worker processes, and the
   peak memory for four times as many photos;
10. a campaign at scale: a flight of 1,000 and of 10,000 photos prepared, imported and reported (``BENCH_FLIGHT``
   sets the sizes);
11. the Ray engine: a flight of 1,000 photos prepared by the local engine and by Ray in local mode, side by side,
   with Ray's start-up and its idle processes' memory measured apart (``BENCH_RAY`` sets the number).

``--only NAME ...`` runs some sections and replaces just those in the existing BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import PIL  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from benchmarks.model_server import model_server  # noqa: E402
from image_analysis import analysis, model, reports  # noqa: E402
from image_analysis.errors import ImageInputError  # noqa: E402
from image_analysis.imaging import vision_grid  # noqa: E402
from image_analysis.imaging.prepare import prepare_image  # noqa: E402
from image_analysis.presets import AnalysisRequest  # noqa: E402
from image_analysis.progress import TerminalProgress  # noqa: E402

PHOTO = "site_aerial_construction_caliterra_IMG_9402.jpg"
PLAN = "floorplan_mlstruct_f23ccf_rgba.png"
HEIC = "heic_iphone13pro_gps_pug.heic"


def straightforward(data: bytes, size: tuple[int, int]) -> str:
    """The obvious Pillow pipeline, to the same size the app sends."""
    image = Image.open(io.BytesIO(data))
    image = ImageOps.exif_transpose(image)
    image = image.convert("RGB")
    image = image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def app(data: bytes, name: str) -> list[str]:
    """The app's preparation, from bytes to the data URIs it sends."""
    return [image.data_uri for image in prepare_image(data, name).images]


def medians(runs: int, **candidates: Callable[[], object]) -> dict[str, float]:
    """Median seconds of each candidate, runs interleaved so that machine noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(runs):
        for name, candidate in candidates.items():
            start = time.perf_counter()
            candidate()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def peak_rss_mb() -> float:
    """This process's peak resident memory. ``VmHWM`` belongs to the process's own address space; ``ru_maxrss``
    would carry over the parent's peak across ``exec`` on Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(pipeline: str, path: str, width: str, height: str) -> None:
    """Run one pipeline once in this fresh process and print its time and peak memory as JSON."""
    data = Path(path).read_bytes()
    baseline = peak_rss_mb()
    start = time.perf_counter()
    if pipeline == "app":
        sent = app(data, Path(path).name)
    else:
        sent = [straightforward(data, (int(width), int(height)))]
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_rss_mb(), "baseline_mb": baseline, "images": len(sent)}))


def in_fresh_process(pipeline: str, path: Path, size: tuple[int, int]) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", pipeline, str(path), *map(str, size)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def libvips_thumbnail(data: bytes, box: int) -> str:
    """The fastest peer: libvips' shrink-on-load thumbnail and its JPEG encoder (quality 90, which libvips encodes
    without chroma subsampling, as the app does), to a data URI."""
    import pyvips

    image = pyvips.Image.thumbnail_buffer(data, box, height=box)
    return "data:image/jpeg;base64," + base64.b64encode(image.jpegsave_buffer(Q=90, keep="none")).decode("ascii")


def photo_section(images: Path, lines: list[str]) -> list[str]:
    import pyvips

    pyvips.cache_set_max(0)  # no result kept between runs, for the peer as for the app
    data = (images / PHOTO).read_bytes()
    prepared = prepare_image(data, PHOTO)
    sent = prepared.images[0]
    times = medians(
        9,
        straightforward=lambda: straightforward(data, (sent.width, sent.height)),
        libvips=lambda: libvips_thumbnail(data, vision_grid.MAX_EDGE),
        app=lambda: app(data, PHOTO),
    )
    ratio = times["app"] / times["straightforward"]
    peer = times["app"] / times["libvips"]
    original_uri = len("data:image/jpeg;base64,") + len(base64.b64encode(data))
    payload_ratio = original_uri / prepared.payload_bytes
    server_tokens = vision_grid.image_tokens(prepared.source.width, prepared.source.height)
    verdicts = [
        ("app time <= 1.0 x libvips (integrity check included)", peer <= 1.0),
        ("app time <= 0.5 x straightforward", ratio <= 0.5),
        ("payload >= 10 x smaller than the original", payload_ratio >= 10),
        ("tokens <= server's count for the original", prepared.image_tokens <= server_tokens),
    ]
    lines += [
        f"## 12 MP photo: `{PHOTO}`",
        "",
        f"Source {prepared.source.width} x {prepared.source.height} px, {len(data):,} bytes; "
        f"sent {sent.width} x {sent.height} px {sent.mime}, {len(sent.data):,} bytes. Medians of 9 interleaved runs, "
        "bytes to data URI. *libvips*: `thumbnail_buffer` to the 1540 px box and `jpegsave` at quality 90, the fastest "
        "peer (it does no integrity check). *Straightforward*: Pillow's open, `exif_transpose`, LANCZOS, save. The app "
        "decodes with libjpeg-turbo in strict mode at the DCT scale that suffices (its integrity check), resizes with "
        "libvips and encodes with Pillow.",
        "",
        "| measure | libvips | straightforward Pillow | app | app / libvips | app / straightforward |",
        "|---|---|---|---|---|---|",
        f"| bytes to data URI | {times['libvips'] * 1000:.0f} ms | {times['straightforward'] * 1000:.0f} ms | "
        f"{times['app'] * 1000:.0f} ms | **{peer:.2f}** | **{ratio:.2f}** |",
        "",
        "| measure | original file | app | ratio |",
        "|---|---|---|---|",
        f"| request payload (data URI) | {original_uri:,} bytes | {prepared.payload_bytes:,} bytes | "
        f"**{payload_ratio:.1f} x smaller** |",
        f"| image tokens | {server_tokens:,} (server's count) | {prepared.image_tokens:,} | "
        f"{prepared.image_tokens / server_tokens:.2f} |",
        "",
        *[f"- {'met' if ok else 'MISSED'}: {target}" for target, ok in verdicts],
        "",
    ]
    return [target for target, ok in verdicts if not ok]


def heic_section(images: Path, lines: list[str]) -> list[str]:
    """The iPhone's HEIC against pillow-heif's decode alone (the least any pipeline can take)."""
    import pillow_heif

    data = (images / HEIC).read_bytes()
    prepared = prepare_image(data, HEIC)
    sent = prepared.images[0]
    times = medians(
        7,
        decode=lambda: pillow_heif.open_heif(data, convert_hdr_to_8bit=True).data,
        straightforward=lambda: straightforward(data, (sent.width, sent.height)),
        app=lambda: app(data, HEIC),
    )
    ratio = times["app"] / times["decode"]
    ok = ratio <= 1.5
    lines += [
        f"## 12 MP iPhone HEIC: `{HEIC}`",
        "",
        f"Source {prepared.source.width} x {prepared.source.height} px, {len(data):,} bytes; sent {sent.width} x "
        f"{sent.height} px {sent.mime}, {len(sent.data):,} bytes. Medians of 7 interleaved runs. *Decode*: "
        "`pillow_heif.open_heif(...).data`, the HEVC decode alone. The app decodes once with pillow-heif, hands the "
        "pixels to libvips without a copy to resize, converts Display P3 to sRGB at the sent size and encodes.",
        "",
        "| pillow-heif decode alone | straightforward Pillow | app | app / decode |",
        "|---|---|---|---|",
        f"| {times['decode'] * 1000:.0f} ms | {times['straightforward'] * 1000:.0f} ms | "
        f"{times['app'] * 1000:.0f} ms | **{ratio:.2f}** |",
        "",
        f"- {'met' if ok else 'MISSED'}: app time <= 1.5 x pillow-heif's decode",
        "",
    ]
    return [] if ok else ["HEIC at most 1.5 x pillow-heif's decode"]


def passthrough_section(images: Path, lines: list[str]) -> list[str]:
    """A phone JPEG already at a size the model takes: sent as its own bytes, metadata removed, or re-encoded."""
    with Image.open(images / PHOTO) as source:
        exif = source.getexif()
        buffer = io.BytesIO()
        source.resize((960, 1280)).save(buffer, "JPEG", quality=92, exif=exif, comment=b"inspector@example.com")
    data = buffer.getvalue()
    prepared = prepare_image(data, "phone.jpg")
    sent = prepared.images[0]
    own = any("not re-encoded" in note for note in prepared.notes)
    reencoded = straightforward(data, (960, 1280))
    times = medians(9, reencoded=lambda: straightforward(data, (960, 1280)), app=lambda: app(data, "phone.jpg"))
    ok = own and len(sent.data) <= len(data)
    lines += [
        "## A 960 x 1280 JPEG that needs no resize",
        "",
        f"A phone photo already within the model's box, with EXIF (GPS) and a comment: {len(data):,} bytes uploaded. "
        "Medians of 9 interleaved runs.",
        "",
        "| | bytes sent | time to data URI |",
        "|---|---|---|",
        f"| re-encoded (straightforward Pillow, quality 90) | {len(base64.b64decode(reencoded.split(',', 1)[1])):,} | "
        f"{times['reencoded'] * 1000:.0f} ms |",
        f"| the app: {'its own bytes, metadata removed' if own else 'encoded again'} | {len(sent.data):,} | "
        f"{times['app'] * 1000:.0f} ms |",
        "",
        f"- {'met' if ok else 'MISSED'}: sent as its own bytes, never more than the upload "
        f"({len(sent.data) / len(data):.3f} x the upload's bytes)",
        "",
    ]
    return [] if ok else ["a JPEG that needs no change is sent as its own bytes"]


def plan_section(images: Path, lines: list[str]) -> list[str]:
    path = images / PLAN
    overview = prepare_image(path.read_bytes(), PLAN).images[0]
    runs = {"straightforward": [], "app": []}
    for _ in range(3):
        for pipeline in ("straightforward", "app"):
            runs[pipeline].append(in_fresh_process(pipeline, path, (overview.width, overview.height)))
    summary = {
        name: {
            "seconds": statistics.median(run["seconds"] for run in results),
            "peak_mb": max(run["peak_mb"] for run in results),
            "extra_mb": max(run["peak_mb"] - run["baseline_mb"] for run in results),
            "images": results[0]["images"],
        }
        for name, results in runs.items()
    }
    straight, ours = summary["straightforward"], summary["app"]
    verdicts = [
        ("app time no worse than straightforward", ours["seconds"] <= straight["seconds"]),
        ("app peak memory no worse than straightforward", ours["peak_mb"] <= straight["peak_mb"]),
    ]
    lines += [
        f"## 63 MP transparent floor plan: `{PLAN}`",
        "",
        "Each pipeline runs in a fresh process (3 times each, interleaved); time is the median, memory the highest "
        "peak resident set size (`VmHWM`) and its growth over the process after imports. The straightforward pipeline "
        "sends one image (and turns the transparent sheet black); the app sends an overview plus tiles.",
        "",
        "| pipeline | images sent | time | peak RSS | growth |",
        "|---|---|---|---|---|",
        *[
            f"| {name} | {row['images']} | {row['seconds'] * 1000:.0f} ms | {row['peak_mb']:.0f} MB | "
            f"{row['extra_mb']:.0f} MB |"
            for name, row in summary.items()
        ],
        "",
        f"Ratios app / straightforward: time **{ours['seconds'] / straight['seconds']:.2f}**, "
        f"peak memory **{ours['peak_mb'] / straight['peak_mb']:.2f}**.",
        "",
        *[f"- {'met' if ok else 'MISSED'}: {target}" for target, ok in verdicts],
        "",
    ]
    return [target for target, ok in verdicts if not ok]


def every_file_section(images: Path, lines: list[str]) -> None:
    lines += [
        "## Every file in ../shared/images",
        "",
        "| file | source | sent | bytes sent | image tokens | ms (median of 3) |",
        "|---|---|---|---|---|---|",
    ]
    for path in sorted(p for p in images.iterdir() if p.is_file() and p.suffix.lower() != ".md"):
        data = path.read_bytes()
        try:
            timing = medians(3, app=lambda data=data, name=path.name: prepare_image(data, name))["app"]
            prepared = prepare_image(data, path.name)
        except ImageInputError as error:
            lines.append(f"| `{path.name}` | {len(data):,} bytes | refused: {error} | | | |")
            continue
        source = prepared.source
        sent = ", ".join(f"{image.width}x{image.height} {image.mime.split('/')[1]}" for image in prepared.images)
        lines.append(
            f"| `{path.name}` | {source.width}x{source.height} {source.format}, {source.bytes:,} B | {sent} | "
            f"{sum(len(image.data) for image in prepared.images):,} | {prepared.image_tokens:,} | "
            f"{timing * 1000:.0f} |"
        )
    lines.append("")


BATCH_PHOTOS = [
    "building_arena_stage_highsmith.jpg",
    "corrosion_rusty_metal_05_polyhaven_1k.jpg",
    "crack_concrete_ozgenel_a.png",
    "crack_concrete_ozgenel_b.png",
    "exif_orientation_6_landscape.jpg",
    "exif_orientation_6_portrait.jpg",
    "infrastructure_metro_vault_ustreet.jpg",
    "site_aerial_construction_caliterra_IMG_9402.jpg",
    "webp_photo_flower.webp",
]


def batch_section(images: Path, lines: list[str]) -> list[str]:
    uploads = [analysis.Upload(name, (images / name).read_bytes()) for name in (BATCH_PHOTOS * 2)[:16]]
    with model_server("A photo.", delay=1.0) as base_url:
        settings = model.ServiceSettings(base_url=base_url, api_key="bench")
        times = {}
        for concurrency in (1, analysis.DEFAULT_CONCURRENCY):
            start = time.perf_counter()
            results = analysis.analyse_batch(uploads, AnalysisRequest(), settings, concurrency=concurrency)
            times[concurrency] = time.perf_counter() - start
            assert all(result.description for result in results), [result.error for result in results]
    ratio = times[analysis.DEFAULT_CONCURRENCY] / times[1]
    ok = ratio <= 1 / 3
    lines += [
        "## A batch of 16 photos, the model answering after 1 s",
        "",
        "A local OpenAI-compatible server on 127.0.0.1 answers each request after one second; the 16 photos "
        f"({len(BATCH_PHOTOS)} of the shared photos, repeated) are prepared and described in upload order.",
        "",
        "| requests in flight | time |",
        "|---|---|",
        f"| 1 (sequential) | {times[1]:.1f} s |",
        f"| {analysis.DEFAULT_CONCURRENCY} (default) | {times[analysis.DEFAULT_CONCURRENCY]:.1f} s |",
        "",
        f"Ratio **{ratio:.2f}** of the sequential time.",
        "",
        f"- {'met' if ok else 'MISSED'}: batch in at most 1/3 of the sequential time",
        "",
    ]
    return [] if ok else ["batch in at most 1/3 of the sequential time"]


RUNAWAY_REPLIES = {
    "2,800-row table": "| item | finding | note |\n|---|---|---|\n"
    + "".join(f"| item {index} | value {index} with some words | note {index} |\n" for index in range(2800)),
    "16,000 one-cell rows": "| a | b |\n|---|---|\n" + "".join(f"|{index}|x|\n" for index in range(20_000)),
    "300-column table": "|"
    + "|".join(f"c{index}" for index in range(300))
    + "|\n|"
    + "---|" * 300
    + "\n"
    + ("|" + "|".join("v" for _ in range(300)) + "|\n") * 150,
    "3,000 list items": "".join(f"- bullet {index} with **bold** and *italic* words\n" for index in range(3000)),
}
ORDINARY_REPLY = (
    "## What the photo shows\nA concrete column with a diagonal crack.\n\n| Item | Where |\n|---|---|\n"
    "| Crack | lower left |\n\n- Spalling near the base.\n\n**Summary:** monitor.\n"
)


def reports_section(images: Path, lines: list[str]) -> list[str]:
    preparation = prepare_image((images / PHOTO).read_bytes(), PHOTO)
    request = AnalysisRequest()

    def timed(text: str) -> tuple[float, float]:
        result = analysis.Analysis(1, PHOTO, request, preparation, model.Description(text=text, model="bench"))
        word = min(_seconds(lambda: reports.word_report([result])) for _ in range(3))
        page = min(_seconds(lambda: reports.html_page(result)) for _ in range(3))
        return word, page

    base_word, base_page = timed(ORDINARY_REPLY)
    rows = [f"| ordinary reply ({len(ORDINARY_REPLY):,} characters) | {base_word:.2f} s | — | {base_page:.2f} s |"]
    worst = 0.0
    for label, text in RUNAWAY_REPLIES.items():
        text = text[: model.MAX_REPLY_CHARS]
        word, page = timed(text)
        worst = max(worst, word - base_word)
        rows.append(f"| {label} ({len(text):,} characters) | {word:.2f} s | +{word - base_word:.2f} s | {page:.2f} s |")
    ok = worst <= 5.0
    lines += [
        "## Reports of runaway replies",
        "",
        "The Word report and the page for one photo whose reply is an ordinary one, or 100,000 characters "
        "(the longest reply kept) of the shapes a runaway generation takes. Best of 3.",
        "",
        "| reply | Word report | added | page |",
        "|---|---|---|---|",
        *rows,
        "",
        f"- {'met' if ok else 'MISSED'}: a 100,000-character reply adds at most 5 s to the Word report "
        f"(worst: +{worst:.2f} s)",
        "",
    ]
    return [] if ok else ["a 100,000-character reply adds at most 5 s to the Word report"]


def workbook_section(images: Path, lines: list[str]) -> list[str]:
    """The findings workbook written and read back (with every row checked against the record), beside the CSV of
    the same record: 50 photos with 4 findings each, and the most a workbook may hold (50 photos, 200 findings each,
    10,000 rows)."""
    from image_analysis.formats.findings_csv import read_review_csv
    from image_analysis.formats.findings_workbook import read_review_workbook
    from image_analysis.presets import Preset
    from image_analysis.review import Review, SignOff

    preparation = prepare_image((images / PHOTO).read_bytes(), PHOTO).for_display()
    request = AnalysisRequest(preset=Preset.INSPECTION)
    defect = {"type": "crack", "location": "north face, 1.2 m above the deck", "extent": "0.3 mm wide, 1.5 m long"}

    def record(findings: int) -> list[analysis.Analysis]:
        reply = {
            "element": "reinforced concrete column",
            "condition_score": "4",
            "recommended_action": "inject the crack and monitor",
            "urgency": "within months",
            "summary": "A column with cracks.",
            "defects": [{**defect, "description": f"crack {number}"} for number in range(findings)],
        }
        text = json.dumps(reply)
        return [
            analysis.Analysis(number, f"photo_{number:02}.jpg", request, preparation, model.Description(text, "bench"))
            for number in range(1, 51)
        ]

    def timed(findings: int) -> tuple[str, float]:
        analyses = record(findings)
        scale = request.scale.definition
        book = reports.findings_workbook(analyses)
        table = reports.findings_csv(analyses).encode("utf-8")
        times = medians(
            3,
            workbook_write=lambda: reports.findings_workbook(analyses),
            workbook_read=lambda: Review.from_rows(SignOff(), read_review_workbook(book).rows, analyses, scale),
            csv_write=lambda: reports.findings_csv(analyses),
            csv_read=lambda: Review.from_rows(SignOff(), read_review_csv(table).rows, analyses, scale),
        )
        row = (
            f"| {50 * findings:,} findings | {times['workbook_write']:.2f} s | {times['workbook_read']:.2f} s "
            f"| {len(book) / 1e6:.2f} MB | {times['csv_write']:.2f} s | {times['csv_read']:.2f} s "
            f"| {times['workbook_read'] / times['csv_read']:.1f}x |"
        )
        return row, times["workbook_read"]

    measured = [timed(findings) for findings in (4, 200)]
    rows = [row for row, _ in measured]
    worst = max(seconds for _, seconds in measured)
    ok = worst <= 30.0
    lines += [
        "## The findings workbook",
        "",
        "50 photos, written as the findings workbook (with a thumbnail per photo) and read back with every row checked "
        "against the record (`review.Review.from_rows`), beside the findings CSV of the same record. Median of 3.",
        "",
        "| record | workbook written | workbook read | workbook size | CSV written | CSV read | read, workbook/CSV |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"- {'met' if ok else 'MISSED'}: the largest workbook a review may hold (10,000 rows) is read in at most 30 s "
        f"(read: {worst:.2f} s)",
        "",
    ]
    return [] if ok else ["the largest findings workbook is read in at most 30 s"]


BUDGET_FORMATS = ("huge_rgba.png", "huge_float32.tif", "huge_lossless.webp", "huge_progressive_cmyk.jpg")
HOSTILE_FILES = ("pdf_form_draws_1e9.pdf", "pdf_inflates_600mb.pdf", "pdf_form_draws_1e6.pdf", "tiff_100000_pages.tif")
PREVIOUS = {"IMAGE_ANALYSIS_DECODER": "Pillow", "IMAGE_ANALYSIS_MEMORY_MB": "100000"}
"""The previous approach: every raster decoded by Pillow, no decode refused for its memory (PDF still isolated)."""


def budget_section(lines: list[str]) -> list[str]:
    import tempfile

    from scripts.make_hostile_files import make
    from tests.memory import run_measured

    base = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI", "VISION", "IMAGE_"))}

    def measure(path: Path, env: dict[str, str]) -> tuple[str, Any]:
        command = [sys.executable, "-m", "image_analysis", "prepare", str(path), "--preset", "drawing"]
        measured = run_measured(command, cwd=REPO, env={**base, **env}, timeout=300)
        outcome = "prepared" if measured.returncode == 0 else "refused" if measured.returncode == 2 else "failed"
        return f"{measured.seconds:.1f} s, {measured.peak_mb:,.0f} MB, {outcome}", measured

    rows, worst = [], (0.0, 0.0)
    with tempfile.TemporaryDirectory() as folder:
        for megapixels in (12, 65, 250):
            made = make(Path(folder) / f"{megapixels}", huge_mp=megapixels, only=list(BUDGET_FORMATS))
            for name in BUDGET_FORMATS:
                ours, measured = measure(made[name], {})
                theirs, _ = measure(made[name], PREVIOUS)
                worst = (max(worst[0], measured.peak_mb), max(worst[1], measured.seconds))
                rows.append(f"| {name.split('_', 1)[1]} | {megapixels} MP | {ours} | {theirs} |")
        made = make(Path(folder) / "hostile", only=list(HOSTILE_FILES))
        for name in HOSTILE_FILES:
            ours, measured = measure(made[name], {})
            worst = (max(worst[0], measured.peak_mb), max(worst[1], measured.seconds))
            rows.append(f"| {name} | {made[name].stat().st_size:,} B | {ours} | — |")
    ok = worst[0] <= 1024 and worst[1] <= 20
    lines += [
        "## The memory and time budget of one upload",
        "",
        "`python -m image_analysis prepare FILE --preset drawing` in a fresh process; peak resident memory of the "
        "whole process tree (sampled every 20 ms), wall time including Python's start. *Previous*: every raster "
        "decoded by Pillow and nothing refused for its memory (`IMAGE_ANALYSIS_DECODER=Pillow` and "
        "`IMAGE_ANALYSIS_MEMORY_MB` set high). Files made by `scripts/make_hostile_files.py`.",
        "",
        "| file | size | this version | previous |",
        "|---|---|---|---|",
        *rows,
        "",
        f"- {'met' if ok else 'MISSED'}: every upload prepared or refused within 1 GB and 20 s "
        f"(worst: {worst[0]:,.0f} MB, {worst[1]:.1f} s)",
        "",
    ]
    return [] if ok else ["every upload prepared or refused within 1 GB and 20 s"]


CAMPAIGN_BASES = (
    "site_aerial_construction_caliterra_IMG_9402.jpg",
    "building_arena_stage_highsmith.jpg",
    "exif_orientation_6_landscape.jpg",
    "infrastructure_metro_vault_ustreet.jpg",
)


def survey_photos(images: Path, folder: Path, count: int) -> list[Path]:
    """``count`` distinct photos made from the shared ones: each re-encoded with a few pixels changed, so that every
    hash (and every record key) differs, as a drone survey's would."""
    bases = []
    for name in CAMPAIGN_BASES:
        with Image.open(images / name) as image:
            bases.append((ImageOps.exif_transpose(image).convert("RGB"), image.getexif()))
    made = []
    for index in range(count):
        photo, exif = bases[index % len(bases)]
        varied = photo.copy()
        varied.putpixel((index % varied.width, (index // varied.width) % varied.height), (index % 256, 0, 0))
        path = folder / f"IMG_{index:05d}.jpg"
        varied.save(path, "JPEG", quality=88, exif=exif)
        made.append(path)
    return made


def campaign_section(images: Path, lines: list[str]) -> list[str]:
    """``campaign prepare`` on generated survey photos: throughput with one and two worker processes, and the peak
    memory of the whole process tree for a survey four times as large."""
    import tempfile

    from tests.memory import run_measured

    base = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI", "VISION", "IMAGE_"))}
    small, large = 100, 400

    def prepare(folder: Path, workers: int, out: Path) -> Any:
        command = [sys.executable, "-m", "image_analysis", "campaign", "prepare", str(folder), "--out", str(out)]
        measured = run_measured(
            [*command, "--preset", "inspection", "--workers", str(workers)], cwd=REPO, env=base, timeout=1800
        )
        if measured.returncode != 0:
            raise RuntimeError(measured.stderr)
        return measured

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "small").mkdir()
        (root / "large").mkdir()
        survey_photos(images, root / "small", small)
        survey_photos(images, root / "large", large)
        fewer = prepare(root / "small", 2, root / "fewer")
        one = prepare(root / "large", 1, root / "one")
        two = prepare(root / "large", 2, root / "two")
        shards = sum(path.stat().st_size for path in (root / "two").glob("requests-*.jsonl"))
    speedup = one.seconds / two.seconds
    growth = two.peak_mb / fewer.peak_mb
    verdicts = [
        ("2 processes at least 1.8 x the throughput of 1", speedup >= 1.8),
        (f"peak memory for {large} photos within 10 % of that for {small}", growth <= 1.10),
    ]
    lines += [
        "## A campaign: generated survey photos prepared into batch shards",
        "",
        "`python -m image_analysis campaign prepare FOLDER --preset inspection --workers N` in a fresh process on "
        "photos made from four shared ones (12 MP, 1.8 MP, 2.2 MP and 1.2 MP, in turn), each re-encoded with a pixel "
        "changed so that every hash differs; wall time including start-up, peak resident memory of the whole process "
        "tree (workers included).",
        "",
        "| photos | workers | time | photos a second | peak memory |",
        "|---|---|---|---|---|",
        f"| {large} | 1 | {one.seconds:.1f} s | {large / one.seconds:.1f} | {one.peak_mb:,.0f} MB |",
        f"| {large} | 2 | {two.seconds:.1f} s | {large / two.seconds:.1f} | {two.peak_mb:,.0f} MB |",
        f"| {small} | 2 | {fewer.seconds:.1f} s | {small / fewer.seconds:.1f} | {fewer.peak_mb:,.0f} MB |",
        "",
        f"Speed-up from 1 to 2 processes ({large} photos, start-up included) **{speedup:.2f} x**; peak memory "
        f"{large} / {small} photos **{growth:.2f}**; "
        f"the {large} requests take {shards / 1e6:,.0f} MB of shards ({shards / large / 1e3:,.0f} kB a request).",
        "",
        *[f"- {'met' if ok else 'MISSED'}: {target}" for target, ok in verdicts],
        "",
    ]
    return [target for target, ok in verdicts if not ok]


SCALE_BASES = (
    "building_arena_stage_highsmith.jpg",
    "exif_orientation_6_landscape.jpg",
    "infrastructure_metro_vault_ustreet.jpg",
    "site_aerial_construction_caliterra_IMG_9402.jpg",
)


def survey_flight(images: Path, folder: Path, count: int) -> list[Path]:
    """``count`` photos as a drone flight leaves them: the shared photos, each copy with a small mark of its own
    (a 32 px square, its colour and place from its number) and EXIF of its own (the time it was taken, its position
    along the flight line, its serial), so that every file, every image sent and every record key differs. Encoded
    by libjpeg-turbo (simplejpeg), the EXIF segment written in."""
    import numpy
    import simplejpeg

    bases = []
    for name in SCALE_BASES:
        with Image.open(images / name) as image:
            bases.append(numpy.array(ImageOps.exif_transpose(image).convert("RGB")))
    made = []
    for index in range(count):
        pixels = bases[index % len(bases)]
        height, width = pixels.shape[:2]
        top, left = (index * 37) % (height - 32), (index * 53) % (width - 32)
        kept = pixels[top : top + 32, left : left + 32].copy()
        pixels[top : top + 32, left : left + 32] = (index % 256, (index // 256) % 256, 255 - index % 256)
        jpeg = simplejpeg.encode_jpeg(pixels, quality=88)
        pixels[top : top + 32, left : left + 32] = kept
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "DJI", "FC3582"  # make, model
        exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 22.0, 10.0 + index * 0.01), 3: "E", 4: (4.0, 53.0, 20.0)})
        stamp = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC).timestamp() + 2 * index
        exif.get_ifd(0x8769).update(
            {0x9003: datetime.fromtimestamp(stamp, UTC).strftime("%Y:%m:%d %H:%M:%S"), 0xA420: f"{index:032x}"}
        )
        data = exif.tobytes()
        path = folder / f"DJI_{index:05d}.JPG"
        path.write_bytes(jpeg[:2] + b"\xff\xe1" + (len(data) + 2).to_bytes(2, "big") + data + jpeg[2:])
        made.append(path)
    return made


def flight_replies() -> list[str]:
    """The model's answers for a flight, as long as a real model writes (``tests/long_replies.py``): one photo in
    twenty scored 5, one in twenty 4, the others 3 or better or without a defect."""
    from tests.long_replies import LONG_REPLIES

    worst = LONG_REPLIES["corrosion_rusty_metal_05_polyhaven_1k.jpg"]
    mediocre = LONG_REPLIES["crack_concrete_ozgenel_a.png"]
    fair = LONG_REPLIES["crack_concrete_ozgenel_b.png"]
    good = {**LONG_REPLIES["infrastructure_metro_vault_ustreet.jpg"], "condition_score": "2"}
    sound = LONG_REPLIES["exif_orientation_6_landscape.jpg"]
    cycle = [worst, mediocre] + [fair, good, sound, good, fair, sound, good, fair, good] * 2
    return [json.dumps(reply) for reply in cycle]


def campaign_scale_section(images: Path, lines: list[str]) -> list[str]:
    """A flight of 10,000 photos (and one of 1,000): ``campaign prepare`` (peak memory against the number of
    photos), ``campaign import`` of every answer, and ``campaign report`` to Word, workbook and CSV, each a fresh
    process measured as a whole (time, peak resident memory of the process tree)."""
    import tempfile

    from image_analysis import campaign
    from tests.memory import run_measured

    counts = [int(count) for count in os.environ.get("BENCH_FLIGHT", "1000,10000").split(",")]
    base = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI", "VISION", "IMAGE_"))}
    replies = flight_replies()

    def run(*arguments: str) -> Any:
        command = [sys.executable, "-m", "image_analysis", "campaign", *arguments]
        measured = run_measured(command, cwd=REPO, env=base, timeout=3600)
        if measured.returncode != 0:
            raise RuntimeError(measured.stderr)
        return measured

    rows, figures = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        for count in counts:
            root = Path(scratch) / str(count)
            (root / "photos").mkdir(parents=True)
            survey_flight(images, root / "photos", count)
            out, store = root / "campaign", root / "store.sqlite"
            prepared = run(
                "prepare", str(root / "photos"), "--out", str(out), "--preset", "inspection", "--workers", "2"
            )
            shutil_rm(root / "photos")
            answers = out / "results-0001.jsonl"
            with answers.open("w", encoding="utf-8") as file:
                for number, entry in enumerate(campaign.Manifest.read(out).entries):
                    if entry.custom_id:
                        body = _completion(replies[number % len(replies)])
                        file.write(campaign.result_line(entry.custom_id, body, None) + "\n")
            imported = run("import", str(answers), "--store", str(store))
            made = root / "report"
            made.mkdir()
            report = run(
                "report", "--store", str(store), "--manifest", str(out), "--photos-from", "4",
                "--docx", str(made / "report.docx"), "--xlsx", str(made / "findings.xlsx"),
                "--csv", str(made / "findings.csv"),
            )  # fmt: skip
            sizes = {path.suffix: path.stat().st_size for path in made.iterdir()}
            stored = store.stat().st_size
            figures[count] = (prepared, imported, report)
            rows += [
                f"| {count:,} | prepare (2 workers) | {prepared.seconds:.0f} s | {prepared.peak_mb:,.0f} MB | "
                f"{sum(p.stat().st_size for p in out.glob('requests-*.jsonl')) / 1e6:,.0f} MB of shards |",
                f"| {count:,} | import | {imported.seconds:.0f} s | {imported.peak_mb:,.0f} MB | "
                f"{stored / 1e6:,.0f} MB store |",
                f"| {count:,} | report (Word, workbook, CSV) | {report.seconds:.0f} s | {report.peak_mb:,.0f} MB | "
                f"Word {sizes['.docx'] / 1e6:,.1f} MB, workbook {sizes['.xlsx'] / 1e6:,.1f} MB, "
                f"CSV {sizes['.csv'] / 1e6:,.1f} MB |",
            ]
            shutil_rm(root)
    small, large = min(counts), max(counts)
    growth = figures[large][0].peak_mb / figures[small][0].peak_mb
    verdicts = [
        (f"prepare's peak memory for {large:,} photos within 10 % of that for {small:,}", growth <= 1.10),
        *[
            (f"{what} of {large:,} photos within 2 minutes and 1 GB", m.seconds <= 120 and m.peak_mb <= 1024)
            for what, m in (("import", figures[large][1]), ("the report", figures[large][2]))
        ],
    ]
    lines += [
        "## A campaign at scale: a flight of 10,000 photos",
        "",
        "Photos made from four shared ones (1.8 MP, 2.2 MP, 1.2 MP and 12 MP, in turn), each with a mark and EXIF of "
        "its own (time, position, serial) so that every file and every image sent differs (`survey_flight`). Each "
        "step is `python -m image_analysis campaign ...` in a fresh process: wall time including start-up, peak "
        "resident memory of the whole process tree. The answers are replies as long as a real model writes "
        "(`tests/long_replies.py`): one photo in twenty scored 5, one in twenty 4, the rest 3 or better, so that "
        "`--photos-from 4` gives a tenth of the photos an entry in the Word report.",
        "",
        "| photos | step | time | peak memory | size |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Peak memory of prepare, {large:,} / {small:,} photos: **{growth:.2f}**.",
        "",
        *[f"- {'met' if ok else 'MISSED'}: {target}" for target, ok in verdicts],
        "",
    ]
    return [target for target, ok in verdicts if not ok]


def _measured_with_actors(command: list[str], env: dict[str, str], actor: str) -> tuple[Any, float]:
    """``command`` measured as ``run_measured`` does (wall time, peak of the process tree), and the peak of the part
    doing the campaign's work: the command's own process and the processes whose command line names ``actor``."""
    import subprocess
    import time

    from tests.memory import Measured, _tree_rss_kb

    start = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = ours = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kb(process.pid))
        working = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if entry.name == str(process.pid) or actor in line:
                    status = (entry / "status").read_text()
                    working += int(status.split("VmRSS:")[1].split()[0]) if "VmRSS:" in status else 0
            except (OSError, IndexError, ValueError):
                continue
        ours = max(ours, working)
        time.sleep(0.05)
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(stderr)
    return Measured(process.returncode, stdout, stderr, time.monotonic() - start, peak / 1024), ours / 1024


IDLE_RAY = """
from image_analysis.campaign import ray_engine
with ray_engine.session(None, 2):
    import ray
    ray_engine._context()
    ray.data.range(2).map_batches(lambda batch: batch).take_all()
"""
"""Ray started in local mode, one trivial Ray Data pipeline run (which starts Ray Data's own actors: statistics,
autoscaling coordination, actor locations), and stopped: Ray's own processes with nothing of the campaign's."""


def ray_section(images: Path, lines: list[str]) -> list[str]:
    """``campaign prepare`` of one flight by the local engine and by Ray in local mode (two CPUs each), each a fresh
    process measured as a whole; and Ray started, its Ray Data actors with it, and stopped with nothing prepared, to
    quote apart its start-up and the memory of its own idle processes."""
    import tempfile

    from tests.memory import run_measured

    count = int(os.environ.get("BENCH_RAY", "1000"))
    base = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI", "VISION", "IMAGE_"))}

    def prepare(photos: Path, out: Path, engine: str) -> tuple[Any, float]:
        command = [sys.executable, "-m", "image_analysis", "campaign", "prepare", str(photos), "--out", str(out)]
        command += ["--preset", "inspection", "--workers", "2", "--engine", engine]
        return _measured_with_actors(command, base, "MapWorker(MapBatches(_Preparer))")

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "photos").mkdir()
        survey_flight(images, root / "photos", count)
        idle = run_measured([sys.executable, "-c", IDLE_RAY], cwd=REPO, env=base, timeout=600)
        if idle.returncode != 0:
            raise RuntimeError(idle.stderr)
        local, _ = prepare(root / "photos", root / "local", "local")
        ray, ours = prepare(root / "photos", root / "ray", "ray")
        same = all(
            (root / "ray" / path.name).read_bytes() == path.read_bytes() for path in sorted((root / "local").iterdir())
        )
    time_ratio = (ray.seconds - idle.seconds) / local.seconds
    memory_ratio = (ray.peak_mb - idle.peak_mb) / local.peak_mb
    verdicts = [
        ("Ray's shards, facts and manifest byte for byte the local engine's", same),
        ("Ray local mode at most 1.3 x the local engine's time, its start-up apart", time_ratio <= 1.3),
        ("beyond Ray's idle processes, at most 1.5 x the local engine's peak memory", memory_ratio <= 1.5),
    ]
    lines += [
        "## The Ray engine: a flight of photos prepared on Ray in local mode",
        "",
        f"`python -m image_analysis campaign prepare PHOTOS --preset inspection --workers 2 --engine local|ray` on "
        f"{count:,} photos of `survey_flight`, in a fresh process each, side by side in one run: wall time including "
        "start-up, peak resident memory of the whole process tree (Ray's own processes and its actors included). "
        "Ray's start-up and the memory of its own idle processes are quoted apart: Ray started in local mode with a "
        "trivial Ray Data pipeline (which starts Ray Data's own statistics, autoscaling and actor-location actors) "
        "and stopped, nothing prepared.",
        "",
        "| run | time | peak memory (process tree) | of which the driver and its preparing actors |",
        "|---|---|---|---|",
        f"| local engine (2 worker processes) | {local.seconds:.0f} s | {local.peak_mb:,.0f} MB | |",
        f"| Ray, local mode (2 actors) | {ray.seconds:.0f} s | {ray.peak_mb:,.0f} MB | {ours:,.0f} MB |",
        f"| Ray started, a trivial pipeline, stopped | {idle.seconds:.0f} s | {idle.peak_mb:,.0f} MB | |",
        "",
        f"Ray's time without its start-up against the local engine's: **{time_ratio:.2f} x**; its peak memory beyond "
        f"its idle processes against the local engine's: **{memory_ratio:.2f} x**.",
        "",
        *[f"- {'met' if ok else 'MISSED'}: {target}" for target, ok in verdicts],
        "",
    ]
    return [target for target, ok in verdicts if not ok]


def quality_store(path: Path, inspections: int, photos: int = 10, defects: int = 10) -> int:
    """A store of ``inspections`` reviewed inspections of ``photos`` photos with ``defects`` AI findings each, kept
    as the commands keep them (results, inspections, decisions): 70 % confirmed, 15 % edited (a step either way),
    10 % deleted, and one finding added a photo. The number of AI findings."""
    import hashlib

    from image_analysis import store_keys
    from image_analysis.analysis import Analysis
    from image_analysis.inspection import Inspection
    from image_analysis.inspection.decisions import VIA_CSV
    from image_analysis.inspection_store import InspectionStore
    from image_analysis.model import Description
    from image_analysis.presets import AnalysisRequest, ConditionScale, Preset
    from image_analysis.review import AI_CONFIRMED, Review, SignOff, ai_findings
    from image_analysis.store import SqliteStore
    from tests.observation_corpus import _reply

    kept = InspectionStore(SqliteStore(path))
    request = AnalysisRequest(preset=Preset.INSPECTION, scale=ConditionScale.NEN2767)
    types = ("crack", "spalling", "corrosion", "exposed rebar", "efflorescence")
    for number in range(inspections):
        results = []
        for photo in range(photos):
            seed = number * photos + photo
            found = [{"type": types[(seed + index) % 5], "location": f"zone {index}"} for index in range(defects)]
            text = _reply(*found, score=str(2 + seed % 4))
            key = store_keys.result(hashlib.sha256(f"photo {seed}".encode()).hexdigest(), "benchmark")
            model = ("mistral.ministral-3-14b-instruct", "qwen2.5-vl-7b")[number % 2]
            described = Description(text, model, prompt_version=f"prompt-{number % 3}")
            result = Analysis(photo + 1, f"IMG_{seed:05d}.jpg", request, description=described, record=key)
            kept.store.put(key, result.to_json())
            results.append(result)
        signoff = SignOff(inspector=("J. de Vries", "A. Jansen")[number % 2], date=f"2026-{number % 12 + 1:02d}-15")
        inspection, filed = Inspection.new(request, signoff=signoff).filed(results)
        rows = []
        for index, finding in enumerate(ai_findings(filed)):
            row = finding.to_row()
            if index % 20 in (0, 1):
                continue  # deleted
            if index % 20 in (2, 3, 4):
                row["condition_score"] = str(int(row["condition_score"]) + (1 if index % 2 else -1))
            else:
                row["status"] = AI_CONFIRMED
            rows.append(row)
            if index % defects == 0:
                rows.append({**row, "ref": "", "status": "", "location": "added by the inspector"})
        review = Review.from_rows(signoff, rows, filed, request.scale.definition)
        kept.record(inspection, filed, review, VIA_CSV)
    return inspections * photos * defects


def quality_section(images: Path, lines: list[str]) -> list[str]:
    """``evaluate`` of a store of 10,000 reviewed AI findings (page, workbook, JSON) in a fresh process, beside
    ``inspections`` on the same store (the floor: start-up and reading every inspection)."""
    import tempfile

    from tests.memory import run_measured

    base = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI", "VISION", "IMAGE_"))}
    with tempfile.TemporaryDirectory() as scratch:
        store = Path(scratch) / "store.sqlite"
        findings = quality_store(store, 100)
        out = Path(scratch)

        def run(*arguments: str) -> Any:
            measured = run_measured([sys.executable, "-m", "image_analysis", *arguments], cwd=REPO, env=base)
            if measured.returncode != 0:
                raise RuntimeError(measured.stderr)
            return measured

        floor = run("inspections", "--store", str(store))
        evaluated = run(
            "evaluate", "--store", str(store), "--out", str(out / "q.html"), "--xlsx", str(out / "q.xlsx"), "--json"
        )
    ratio = evaluated.seconds / floor.seconds
    verdicts = [
        (f"{findings:,} reviewed findings evaluated in at most 10 s", evaluated.seconds <= 10),
        (f"{findings:,} reviewed findings evaluated in at most 300 MB", evaluated.peak_mb <= 300),
    ]
    lines += [
        "## How often the AI is right: `evaluate` of 10,000 reviewed findings",
        "",
        f"A store of 100 reviewed inspections, {findings:,} AI findings (70 % confirmed, 15 % edited, 10 % deleted, "
        "one finding added a photo), kept as the commands keep them (`quality_store`). Each command is "
        "`python -m image_analysis ...` in a fresh process: wall time including start-up, peak resident memory of the "
        "process tree. *inspections* lists the store's inspections, the floor of reading it; *evaluate* reads every "
        "review and writes the page, the workbook and the JSON (each interval from 1,000 bootstrap resamples).",
        "",
        "| command | time | peak memory | time / inspections |",
        "|---|---|---|---|",
        f"| inspections | {floor.seconds:.1f} s | {floor.peak_mb:,.0f} MB | 1.00 |",
        f"| evaluate | {evaluated.seconds:.1f} s | {evaluated.peak_mb:,.0f} MB | **{ratio:.1f}** |",
        "",
        *[f"- {'met' if ok else 'MISSED'}: {target}" for target, ok in verdicts],
        "",
    ]
    return [target for target, ok in verdicts if not ok]


def _completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model.DEFAULT_MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 600, "total_tokens": 1800},
    }


def shutil_rm(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def drawing_set_section(lines: list[str]) -> list[str]:
    """A 40-sheet A1 set: every sheet rendered (in its isolated child) and prepared, no model service."""
    import tempfile

    from scripts.make_drawing_set import make_set, numbered_set
    from tests.memory import run_measured

    base = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI", "VISION", "IMAGE_"))}
    with tempfile.TemporaryDirectory() as folder:
        path = make_set(Path(folder) / "set.pdf", numbered_set(40), "A1")
        single = run_measured(
            [sys.executable, "-m", "image_analysis", "prepare", str(path), "--preset", "drawing", "--page", "7"],
            cwd=REPO,
            env=base,
        )
        command = [sys.executable, "-m", "image_analysis", "describe", str(path), "--preset", "drawing"]
        whole = run_measured(
            [*command, "--register", str(Path(folder) / "register.csv")], cwd=REPO, env=base, timeout=900
        )
        size = path.stat().st_size
    ok = whole.peak_mb <= 2048
    lines += [
        "## A 40-sheet A1 drawing set",
        "",
        f"`scripts/make_drawing_set.py` (40 A1 sheets with a text-layer title block, {size:,} bytes). One sheet "
        "(`prepare --page 7`) and the whole set (`describe --preset drawing`, no model service: every sheet rendered "
        "in its own child process, prepared, and put in the register), peak memory of the process tree.",
        "",
        "| run | time | per sheet | peak memory |",
        "|---|---|---|---|",
        f"| one sheet | {single.seconds:.1f} s | {single.seconds:.1f} s | {single.peak_mb:,.0f} MB |",
        f"| the set (40 sheets, 4 in flight) | {whole.seconds:.1f} s | {whole.seconds / 40:.2f} s | "
        f"{whole.peak_mb:,.0f} MB |",
        "",
        f"- {'met' if ok else 'MISSED'}: the set within the batch budget of 2 GB",
        "",
    ]
    return [] if ok else ["a 40-sheet set within 2 GB"]


def _seconds(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _sections(lines: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The lines before the first ``## `` heading, and each section by its heading."""
    head: list[str] = []
    found: dict[str, list[str]] = {}
    current = head
    for line in lines:
        if line.startswith("## "):
            current = found.setdefault(line, [])
        current.append(line)
    return head, found


def _spliced(existing: str, new: list[str], names: list[str]) -> list[str]:
    """``existing`` with the sections of ``new`` in place of those of the same heading (new ones at the end), and a
    line under the header that says which sections were run again, and when."""
    head, old = _sections(existing.split("\n"))
    _, fresh = _sections(new)
    note = f"Sections run again with `--only {' '.join(names)}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC."
    head = [line for line in head if not line.startswith("Sections run again")]
    head = [*head[:3], "", note, *head[3:]] if len(head) >= 3 else [*head, note, ""]
    return [*head, *(line for block in {**old, **fresh}.values() for line in block)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=REPO.parent / "shared" / "images")
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), help="run these sections only")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    if not args.images.is_dir():
        print(f"benchmark: error: {args.images} is not a folder of images", file=sys.stderr)
        return 2

    lines = [
        "# Benchmarks: image preparation and batches",
        "",
        f"Written by `python benchmarks/run.py` (`make bench`) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, Pillow {PIL.__version__}. "
        "Machines are shared and noisy: compare the ratios within one run, not the milliseconds across runs.",
        "",
    ]
    missed: list[str] = []
    sections = args.only or list(SECTIONS)
    progress = TerminalProgress()
    for done, name in enumerate(sections):
        progress.file(done, len(sections))
        started = time.perf_counter()
        missed += SECTIONS[name](args.images, lines) or []
        progress.shard(f"{name}: measured in {time.perf_counter() - started:.0f} s")
    progress.close()
    if args.only and args.out.exists():
        lines = _spliced(args.out.read_text(encoding="utf-8"), lines, args.only)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    for target in missed:
        print(f"benchmark: target missed: {target}", file=sys.stderr)
    return 1 if missed else 0


def _platform(images: Path, lines: list[str]) -> list[str]:
    from benchmarks.platform_sizes import platform_section

    return platform_section(images, lines)


SECTIONS: dict[str, Callable[[Path, list[str]], list[str] | None]] = {
    "photo": photo_section,
    "heic": heic_section,
    "passthrough": passthrough_section,
    "plan": plan_section,
    "batch": batch_section,
    "reports": reports_section,
    "workbook": workbook_section,
    "budget": lambda images, lines: budget_section(lines),
    "drawing-set": lambda images, lines: drawing_set_section(lines),
    "platform": _platform,
    "every-file": every_file_section,
    "campaign": campaign_section,
    "campaign-scale": campaign_scale_section,
    "quality": quality_section,
    "ray": ray_section,
}


if __name__ == "__main__":
    sys.exit(main())
