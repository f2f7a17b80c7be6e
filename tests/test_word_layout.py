"""The Word report looked at as a client would: converted to PDF by LibreOffice (Debian's libreoffice-writer-nogui)
and read page by page with poppler's pdftotext; the first page and a photo page are kept as pictures."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from image_analysis.prepare import prepare_image
from image_analysis.reports import word_report
from image_analysis.review import AI_CONFIRMED, EDITED, Finding, Review, SignOff
from tests.conftest import ARTIFACTS, make_analysis, shared_image_path
from tests.helpers import libreoffice

pytestmark = pytest.mark.browser  # a real renderer, like the browser tests: fails, never skips, without it

MODEL = "mistral.ministral-3-14b-instruct"
PHOTOS = {
    "crack_concrete_ozgenel_a.png": ("concrete retaining wall", "crack", "lower left, running diagonally", "0.8 m"),
    "crack_concrete_ozgenel_b.png": ("concrete retaining wall", "crack", "centre, vertical", "0.5 m"),
    "corrosion_rusty_metal_05_polyhaven_1k.jpg": ("steel railing post", "corrosion", "whole surface", "100 %"),
    "infrastructure_metro_vault_ustreet.jpg": ("metro station vault", "water ingress/staining", "crown", "2 m2"),
    "building_arena_stage_highsmith.jpg": ("arena roof truss", "debris", "lower right", "small"),
}
SIGNOFF = SignOff("Kade Noord quay wall", "Delft, Kade Noord 12", "J. de Vries", "2026-11-20", "INS-2026-014")


def reply(element: str, kind: str, where: str, extent: str) -> str:
    return json.dumps(
        {
            "element": element,
            "material": "concrete" if "concrete" in element else "steel",
            "defects": [{"type": kind, "location": where, "extent": extent, "description": ""}],
            "condition_score": "4",
            "condition_rationale": f"{kind} over {extent}",
            "recommended_action": "repair within the maintenance programme",
            "urgency": "within months",
            "confidence": "medium",
            "cannot_tell": ["what is behind the surface"],
            "summary": f"{element.capitalize()} with {kind}.",
        }
    )


@pytest.fixture(scope="module")
def report_pdf(tmp_path_factory):
    soffice, pdftoppm, pdftotext = (shutil.which(tool) for tool in ("soffice", "pdftoppm", "pdftotext"))
    if not (soffice and pdftoppm and pdftotext):
        pytest.fail("the Word layout test needs Debian's libreoffice-writer-nogui and poppler-utils")
    analyses = []
    for number, (name, facts) in enumerate(PHOTOS.items(), start=1):
        preparation = prepare_image(shared_image_path(name).read_bytes(), name)
        analyses.append(make_analysis(preparation, reply(*facts), preset="inspection", model=MODEL, number=number))
    findings = (
        Finding(
            1,
            name_of(1),
            "concrete retaining wall",
            "crack",
            "lower left, 0.3 m wide at the base",
            "0.8 m",
            "5",
            "inject and monitor",
            "within weeks",
            "crack gauge fitted",
            EDITED,
            "P1-F1",
        ),
        Finding(
            2,
            name_of(2),
            "concrete retaining wall",
            "crack",
            "centre, vertical",
            "0.5 m",
            "4",
            "repair within the maintenance programme",
            "within months",
            "",
            AI_CONFIRMED,
            "P2-F1",
        ),
    )
    directory = tmp_path_factory.mktemp("word")
    docx = directory / "report.docx"
    docx.write_bytes(word_report(analyses, review=Review(SIGNOFF, findings)))
    libreoffice(soffice, docx, directory, "pdf")
    pdf = directory / "report.pdf"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [pdftoppm, "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf), str(ARTIFACTS / "word-page")],
        check=True,
        timeout=60,
    )
    return pdf


@pytest.fixture(scope="module")
def pdf_pages(report_pdf) -> list[str]:
    command = ["pdftotext", "-layout", str(report_pdf), "-"]
    text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def _words(pdf, *pages: str) -> list[tuple[str, float, float, float]]:
    """The words of a PDF with their left edge, top and height, in the order pdftotext gives them."""
    pdftotext = shutil.which("pdftotext") or "pdftotext"
    boxes = subprocess.run([pdftotext, "-bbox", *pages, str(pdf), "-"], check=True, capture_output=True, text=True)
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]+)</word>'
    return [
        (text, float(x), float(top), float(bottom) - float(top))
        for x, top, bottom, text in re.findall(pattern, boxes.stdout)
    ]


def test_the_report_is_a4_portrait_with_20_mm_margins(report_pdf):
    pdfinfo = shutil.which("pdfinfo") or "pdfinfo"
    info = subprocess.run([pdfinfo, str(report_pdf)], check=True, capture_output=True, text=True).stdout
    assert "(A4)" in next(line for line in info.splitlines() if line.startswith("Page size"))
    left = min(x for _, x, _, _ in _words(report_pdf))
    assert 55 <= left <= 60, f"text starts {left:.1f} pt from the edge: 20 mm is 56.7 pt"


def test_the_page_number_is_set_like_its_label(report_pdf):
    words = _words(report_pdf, "-f", "1", "-l", "1")
    start = next(index for index, word in enumerate(words) if word[0] == "Page" and words[index + 2][0] == "of")
    footer = words[start : start + 4]
    assert [text for text, *_ in footer][::2] == ["Page", "of"]
    assert max(height for *_, height in footer) - min(height for *_, height in footer) < 0.3


def name_of(number: int) -> str:
    return list(PHOTOS)[number - 1]


def test_every_page_has_the_project_reference_and_page_n_of_m(pdf_pages):
    total = len(pdf_pages)
    assert total >= 3
    for number, page in enumerate(pdf_pages, start=1):
        assert f"Page {number} of {total}" in page, f"page {number} has no 'Page {number} of {total}'"
        assert "Kade Noord quay wall · INS-2026-014" in page


def test_the_sign_off_and_the_summary_per_element_come_first(pdf_pages):
    first = pdf_pages[0]
    assert first.index("J. de Vries") < first.index("Summary per element")
    summary = first[first.index("Summary per element") :]
    wall = re.search(r"concrete retaining wall\s+(\d)", summary)
    assert wall and wall.group(1) == "5", "the wall's worst score is the inspector's 5"
    assert re.search(r"steel railing post\s+4", summary), "photos not reviewed count with the model's findings"


def test_each_photo_entry_stays_on_one_page(pdf_pages):
    for number, name in enumerate(PHOTOS, start=1):
        pages = [index for index, page in enumerate(pdf_pages) if f"Photo {number}: {name}" in page]
        assert len(pages) == 1, f"photo {number}'s heading is on one page"
        page = pdf_pages[pages[0]]
        after = page[page.index(f"Photo {number}: {name}") :]
        assert f"Photo {number}. " in after, f"photo {number}'s caption is on the page of its heading"
        assert "AI-generated description" in after, f"photo {number}'s findings end on the page of its heading"


def test_reviewed_findings_show_their_origin(pdf_pages):
    text = "\n".join(pdf_pages)
    assert "edited by the" in text and "confirmed" in text, "each reviewed finding shows its origin"
    assert "Not reviewed: the findings are the AI's" in text
    assert (ARTIFACTS / "word-page-1.png").is_file() or (ARTIFACTS / "word-page-01.png").is_file()
