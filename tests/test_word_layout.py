"""The Word report looked at as a client would: eight site photos with replies as long as a real model writes,
as a draft and as the signed, reviewed version, each converted to PDF by LibreOffice (Debian's
libreoffice-writer-nogui) and read page by page with poppler (``pdftotext -bbox``, ``pdfimages -list``). The cover
and a photo page are kept as pictures for the README."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from image_analysis.imaging.prepare import prepare_image
from image_analysis.reports import word_report
from image_analysis.review import Review
from tests.conftest import ARTIFACTS, make_analysis, shared_image_path
from tests.helpers import libreoffice
from tests.long_replies import LONG_REPLIES
from tests.scenarios import (
    EDITED_LOCATION,
    MODEL,
    REMOVED,
    SIGNOFF,
    deleted_ref,
    inspection_reply,
    inspector_review,
)

pytestmark = pytest.mark.office  # a real renderer: fails, never skips, without it


@pytest.fixture(scope="module")
def analyses():
    results = []
    for number, name in enumerate(LONG_REPLIES, start=1):
        preparation = prepare_image(shared_image_path(name).read_bytes(), name)
        results.append(
            make_analysis(preparation, inspection_reply(name, number), preset="inspection", model=MODEL, number=number)
        )
    return results


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"the Word layout test needs {name}: install Debian's poppler-utils")
    return found


def _pdf(docx: bytes, directory: Path, name: str) -> Path:
    soffice, pdftoppm, pdftotext = (shutil.which(tool) for tool in ("soffice", "pdftoppm", "pdftotext"))
    if not (soffice and pdftoppm and pdftotext):
        pytest.fail("the Word layout test needs Debian's libreoffice-writer-nogui and poppler-utils")
    source = directory / f"{name}.docx"
    source.write_bytes(docx)
    return libreoffice(soffice, source, directory, "pdf")


@pytest.fixture(scope="module")
def draft_pdf(analyses, tmp_path_factory) -> Path:
    return _pdf(word_report(analyses, review=Review(SIGNOFF)), tmp_path_factory.mktemp("draft"), "draft")


@pytest.fixture(scope="module")
def reviewed_pdf(analyses, tmp_path_factory) -> Path:
    kept = [result for result in analyses if result.number != REMOVED]
    pdf = _pdf(word_report(kept, review=inspector_review(analyses)), tmp_path_factory.mktemp("reviewed"), "reviewed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for page, name in ((1, "word-cover"), (3, "word-entry")):
        command = [_tool("pdftoppm"), "-png", "-r", "70", "-singlefile", "-f", str(page), "-l", str(page), str(pdf)]
        subprocess.run([*command, str(ARTIFACTS / name)], check=True, timeout=60)
    return pdf


def pages(pdf: Path) -> list[str]:
    text = subprocess.run(
        [_tool("pdftotext"), "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def words(pdf: Path, *options: str) -> list[tuple[str, int, float, float, float]]:
    """Every word of the PDF: its text, page (from 1), left edge, top and height."""
    boxes = subprocess.run(
        [_tool("pdftotext"), "-bbox", *options, str(pdf), "-"], check=True, capture_output=True, text=True
    )
    found = []
    for number, page in enumerate(boxes.stdout.split("<page ")[1:], start=1):
        pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]+)</word>'
        found += [
            (_plain(text), number, float(x), float(top), float(bottom) - float(top))
            for x, top, bottom, text in re.findall(pattern, page)
        ]
    return found


def _plain(text: str) -> str:
    return unescape(text).replace("\u2011", "-")


def _lines(found: list[tuple[str, int, float, float, float]]) -> list[str]:
    """The words as the lines a reader sees: those at the same height of a page, left to right."""
    rows: dict[tuple[int, int], list[tuple[float, str]]] = {}
    for text, page, x, top, _ in found:
        rows.setdefault((page, round(top)), []).append((x, text))
    return [" ".join(text for _, text in sorted(row)) for _, row in sorted(rows.items())]


def image_pages(pdf: Path) -> list[int]:
    """The page of each picture, in order (``pdfimages -list``)."""
    listing = subprocess.run([_tool("pdfimages"), "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in listing.splitlines()[2:] if line.split()[2] == "image"]


def test_the_report_is_a4_portrait_with_20_mm_margins(draft_pdf):
    info = subprocess.run([_tool("pdfinfo"), str(draft_pdf)], check=True, capture_output=True, text=True).stdout
    assert "(A4)" in next(line for line in info.splitlines() if line.startswith("Page size"))
    left = min(x for _, _, x, _, _ in words(draft_pdf))
    assert 55 <= left <= 60, f"text starts {left:.1f} pt from the edge: 20 mm is 56.7 pt"


def test_the_page_number_is_set_like_its_label(draft_pdf):
    found = words(draft_pdf, "-f", "1", "-l", "1")
    start = next(index for index, word in enumerate(found) if word[0] == "Page" and found[index + 2][0] == "of")
    footer = found[start : start + 4]
    assert [text for text, *_ in footer][::2] == ["Page", "of"]
    assert max(word[4] for word in footer) - min(word[4] for word in footer) < 0.3


@pytest.mark.parametrize("version", ["draft", "reviewed"])
def test_each_photo_starts_with_its_picture_and_first_findings_on_one_page(version, analyses, request):
    pdf = request.getfixturevalue(f"{version}_pdf")
    found = words(pdf)
    pictures = image_pages(pdf)[1:]  # the first is the chart on the cover
    shown = [result for result in analyses if version == "draft" or result.number != REMOVED]
    assert len(pictures) == len(shown)
    for result, picture in zip(shown, pictures, strict=True):
        page = [word for word in found if word[1] == picture]
        reply = LONG_REPLIES[result.name]
        title = reply["element"][:1].upper() + reply["element"][1:]
        assert _has(page, f"Photo {result.number} — {' '.join(title.split()[:3])}"), f"photo {result.number}'s heading"
        defects = reply["defects"]
        first = defects[0]["location"] if defects else "No visible defects reported."
        if version == "reviewed" and result.number == 1:
            first = EDITED_LOCATION
        assert _has(page, " ".join(first.split()[:2])), f"photo {result.number}'s first finding is on its page"


def _has(found, phrase: str) -> bool:
    """Whether the words of ``phrase`` follow each other among ``found``."""
    wanted, texts = phrase.split(), [word[0] for word in found]
    return any(texts[index : index + len(wanted)] == wanted for index in range(len(texts) - len(wanted) + 1))


def test_a_draft_of_one_page_entries_takes_at_most_three_pages_more_than_photos(draft_pdf, analyses):
    assert len(pages(draft_pdf)) <= len(analyses) + 3


@pytest.mark.parametrize("version", ["draft", "reviewed"])
def test_no_word_of_the_replies_is_split_across_two_lines(version, request):
    pdf = request.getfixturevalue(f"{version}_pdf")
    printed = {text for text, *_ in words(pdf)}
    shown = [
        reply for number, reply in enumerate(LONG_REPLIES.values(), start=1) if version == "draft" or number != REMOVED
    ]
    if version == "reviewed":  # the inspector rewrote where photo 1's first crack is
        first = dict(
            shown[0], defects=[{**shown[0]["defects"][0], "location": EDITED_LOCATION}, *shown[0]["defects"][1:]]
        )
        shown = [first, *shown[1:]]
        photo, defect = (int(part) for part in deleted_ref(request.getfixturevalue("analyses"))[1:].split("-F"))
        index = photo - 1 - (photo > REMOVED)  # a deleted finding is listed by what, where and how much
        defects = [dict(item) for item in shown[index]["defects"]]
        defects[defect - 1]["description"] = ""
        shown[index] = {**shown[index], "defects": defects}
    replies = " ".join(_values(reply) for reply in shown)
    written = {word for word in re.findall(r"[A-Za-z][A-Za-z'/-]{3,}[A-Za-z]", replies)}
    tokens = {piece for text in printed for piece in re.findall(r"[A-Za-z][A-Za-z'/-]{3,}[A-Za-z]", text)}
    split = sorted(word for word in written if word not in tokens and word.lower() not in {"moderate"})
    assert split == [], f"words broken across lines (or missing): {split[:10]}"


def _values(value) -> str:
    """Every text of a reply (not its keys)."""
    if isinstance(value, dict):
        return " ".join(_values(item) for item in value.values())
    if isinstance(value, list):
        return " ".join(_values(item) for item in value)
    return str(value)


def test_every_page_has_the_project_reference_and_page_n_of_m(reviewed_pdf):
    shown = pages(reviewed_pdf)
    for number, page in enumerate(shown, start=1):
        assert f"Page {number} of {len(shown)}" in page, f"page {number} has no 'Page {number} of {len(shown)}'"
        assert "Kade Noord quay wall · INS-2026-014" in page


def test_the_cover_is_a_summary_with_the_status_the_signature_and_the_findings_worst_first(reviewed_pdf):
    cover = pages(reviewed_pdf)[0]
    assert "Site inspection report" in cover and "Status: Final" in cover
    assert "Client" in cover and "Gemeente Delft" in cover and "Signature" in cover
    assert cover.count(MODEL) == 1, "the AI disclaimer once, with the model id"
    summary = cover[cover.index("Condition summary") :]
    scores = [int(score) for score in re.findall(r"^\s*\d+\s+.*?\s(\d) \(", summary, re.MULTILINE)]
    assert scores and scores == sorted(scores, reverse=True), "the worst condition first"
    assert scores[0] == 5, "the inspector's 5 and the corroded post lead"
    text = "\n".join(pages(reviewed_pdf))
    assert "Photos without findings: Photo 7 — Test chart" in " ".join(text.split())


def test_the_signed_report_is_the_fullest(reviewed_pdf):
    text = " ".join(" ".join(pages(reviewed_pdf)).split())
    printed = [word[0] for word in words(reviewed_pdf)]
    for number, reply in enumerate(LONG_REPLIES.values(), start=1):
        if number == REMOVED:
            continue
        for field in ("summary", "material", "condition_rationale"):
            value = " ".join(reply[field].split())
            assert not value or value[:40] in text, f"photo {number}'s {field} is in the signed report"
    assert "edited" in printed and "added" in printed, "each reviewed finding says its origin"
    assert "to be reviewed by the inspector" not in text


def test_repair_notes_are_in_the_appendix_not_in_the_body(reviewed_pdf):
    shown = pages(reviewed_pdf)
    appendix = next(index for index, page in enumerate(shown) if "How the model's replies were read" in page)
    assert "confidence 'Moderate' read as medium" in shown[appendix]
    assert not any("Moderate" in page for page in shown[:appendix])


def test_a_deleted_photo_keeps_its_number_and_appears_in_the_appendix(reviewed_pdf):
    text = " ".join(" ".join(pages(reviewed_pdf)).split())
    assert f"Photo {REMOVED}: removed from the report by J. de Vries." in text
    assert f"Photo {REMOVED} —" not in text and f"Photo {REMOVED + 1} —" in text, "the others keep their numbers"
    assert (ARTIFACTS / "word-cover.png").is_file() and (ARTIFACTS / "word-entry.png").is_file()


def test_a_deleted_finding_is_listed_under_its_photo_and_left_out_of_the_summary(reviewed_pdf, analyses):
    ref = deleted_ref(analyses)
    shown = [" ".join(_plain(page).split()) for page in pages(reviewed_pdf)]
    [page] = [index for index, text in enumerate(shown) if "AI findings deleted by the inspector" in text]
    assert f"{ref} (" in shown[page] and "deleted by J. de Vries." in shown[page]
    assert "Status: Final" in shown[0], "a deletion is a review: the report can still be final"


def test_a_general_description_shows_its_question_and_answer_without_near_empty_pages(tmp_path):
    name = "infrastructure_metro_vault_ustreet.jpg"
    preparation = prepare_image(shared_image_path(name).read_bytes(), name)
    answer = (
        "## What the photo shows\nThe coffered concrete vault of a metro station above the platform.\n\n"
        "- Dark staining between coffers near the crown\n- Lights along both platforms\n\n"
        "| Part | Condition |\n|---|---|\n| Vault | stained at the joints |\n| Platform | good |\n"
    )
    result = make_analysis(preparation, answer, question="Is there any sign of water coming in?", model=MODEL)
    pdf = _pdf(word_report([result]), tmp_path, "general")
    shown = pages(pdf)
    assert len(shown) == 1, "one photo and its answer on one page, under the cover"
    text = " ".join(shown[0].split())
    assert "Image description" in text and "Question: Is there any sign of water coming in?" in text
    assert "Dark staining between coffers near the crown" in text and "stained at the joints" in text


def test_each_defect_shows_its_observations_and_derived_condition_and_the_appendix_the_tables(draft_pdf, analyses):
    found = words(draft_pdf)
    first = image_pages(draft_pdf)[1]  # photo 1's page: critical, advanced, 10-30 %
    page = [word for word in found if word[1] == first]
    assert _has(page, "Observed: critical · advanced · 10-30 % → 3"), "each defect: what was observed → its condition"
    combined = "2 (good); derived by the standard: (20×1.10 + 80×1.00) / 100 = 1.0200; the model's overall score: 4"
    assert _has(page, combined), "the photo's condition, how its defects were combined, and the model's own score"
    appendix = next(number for text, number, *_ in found if text == "Appendix" and number > first)
    later = [word for word in found if word[1] >= appendix]
    assert _has(later, "How the condition scores were derived")
    lines = _lines(later)
    assert "critical final 2 3 4 5 6" in lines, "the 45 cells, a row per seriousness and intensity"
    assert "minor initial 1 1 1 1 2" in lines
    assert "4 1.30 up to 1.40" in lines, "the correction factors with their thresholds"


def test_the_inspectors_own_score_is_shown_with_the_derived_one(reviewed_pdf):
    found, first = words(reviewed_pdf), image_pages(reviewed_pdf)[1]
    page = [word for word in found if word[1] == first]
    assert _has(page, "5 (inspector; derived 3)"), "the inspector's score, with a reason, beside the standard's"
    assert _has(page, "→ 3; the inspector's: 5")
    assert _has(page, "gauge fitted"), "the reason, in the inspector's note"
