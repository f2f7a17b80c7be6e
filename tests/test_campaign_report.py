"""``campaign report``: the report a portfolio manager reads, from a store a campaign was imported into. The cover
and the condition summary count every photo; photo entries only for the photos with a finding at or above
``--photos-from``; every photo and finding in the workbook and the CSV, which ``report`` reads back as it reads a
batch's; the Word report looked at as LibreOffice lays it out, page by page."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import docx
import pytest

from image_analysis import campaign
from image_analysis.errors import ServiceUnreachableError
from image_analysis.formats.findings_workbook import read_review_workbook
from image_analysis.inspection_store import InspectionStore
from image_analysis.presets import AnalysisRequest, ConditionScale, Preset
from image_analysis.store import SqliteStore
from tests.conftest import completion_body, shared_image_path
from tests.helpers import cli, copied
from tests.long_replies import LONG_REPLIES, defect_scores

PHOTOS = {
    "corrosion_rusty_metal_05_polyhaven_1k.jpg": "5",
    "crack_concrete_ozgenel_a.png": "4",
    "crack_concrete_ozgenel_b.png": "3",
    "infrastructure_metro_vault_ustreet.jpg": "3",
    "building_arena_stage_highsmith.jpg": "cannot tell from this photo",
    "site_aerial_construction_caliterra_IMG_9402.jpg": "3",
    "webp_photo_flower.webp": None,  # the batch engine's error
    "exif_orientation_6_landscape.jpg": "missing",  # no answer imported yet
}
"""Each photo of the campaign with the score its reply gives (``LONG_REPLIES``, as long as a real model writes)."""


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> tuple[Path, Path, list[campaign.ManifestEntry]]:
    """A campaign of eight photos and a damaged file, prepared, answered as a batch engine answers, imported."""
    root = tmp_path_factory.mktemp("campaign")
    photos = root / "photos"
    photos.mkdir()
    for name in PHOTOS:
        shutil.copy(shared_image_path(name), photos / name)
    shutil.copy(shared_image_path("corrupt_truncated_jpeg.jpg"), photos / "broken.jpg")
    out, store = root / "campaign", root / "results.sqlite"
    settings = campaign.Settings(AnalysisRequest(preset=Preset.INSPECTION, scale=ConditionScale.NEN2767), "test-model")
    campaign.prepare_campaign([photos], out, settings, workers=1)
    entries = campaign.Manifest.read(out).entries
    answers = []
    for entry in entries:
        score = PHOTOS.get(Path(entry.path).name)
        if entry.custom_id is None or score == "missing":
            continue
        if score is None:
            error = ServiceUnreachableError("The service timed out.")
            answers.append(campaign.result_line(entry.custom_id, None, error))
            continue
        body = completion_body(json.dumps(LONG_REPLIES[Path(entry.path).name]), model="test-model")
        answers.append(campaign.result_line(entry.custom_id, body, None))
    (out / "results-0001.jsonl").write_text("\n".join(answers) + "\n")
    done = cli("campaign", "import", str(out / "results-0001.jsonl"), "--store", str(store))
    assert done.returncode == 0, done.stderr
    return out, store, entries


def number_of(entries: list[campaign.ManifestEntry], name: str) -> int:
    return next(number for number, entry in enumerate(entries, 1) if Path(entry.path).name == name)


def test_the_cover_counts_every_photo_and_only_the_worst_get_an_entry(imported, tmp_path):
    out, store, entries = imported
    word, book, table, page = (tmp_path / name for name in ("report.docx", "findings.xlsx", "f.csv", "r.html"))
    done = cli(
        "campaign", "report", "--store", str(store), "--manifest", str(out), "--photos-from", "4",
        "--docx", str(word), "--xlsx", str(book), "--csv", str(table), "--out", str(page),
        "--project", "Bridge portfolio 2026",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    scored = {name: defect_scores(name) for name, score in PHOTOS.items() if score not in (None, "missing")}
    worse = {name: [score for score in scores if score in ("4", "5", "6")] for name, scores in scored.items()}
    worst = [number_of(entries, name) for name, scores in worse.items() if scores]
    assert 0 < len(worst) < len(scored), "some photos have a defect the standard rates 4 or worse, some do not"
    assert f"9 photos; {len(worst)} with a finding scored 4\u00a0(mediocre) or worse get an entry" in done.stderr

    report = docx.Document(str(word))
    headings = [p.text for p in report.paragraphs if p.style.name == "Heading 1"]
    assert [h.split(" — ")[0] for h in headings if h.startswith("Photo ")] == [f"Photo {n}" for n in sorted(worst)]
    text = "\n".join(p.text for p in report.paragraphs)
    findings = sum(
        len(LONG_REPLIES[name]["defects"]) for name, score in PHOTOS.items() if score not in (None, "missing")
    )
    assert f"9 photos · {findings} findings · 3 without a description" in text
    refused, failed, missing = (
        number_of(entries, name)
        for name in ("broken.jpg", "webp_photo_flower.webp", "exif_orientation_6_landscape.jpg")
    )
    assert f"3 photos without a description (photos {', '.join(map(str, sorted((refused, failed, missing))))})" in text
    assert "1 of them has no answer imported yet" in text
    summary = report.tables[1]  # after the sign-off fields
    scores = [row.cells[3].text for row in summary.rows[1:]]
    assert scores == sorted(scores, reverse=True) and {score[0] for score in scores} == {
        score for scores in worse.values() for score in scores
    }
    expected = sum(len(scores) for scores in worse.values())
    assert len(scores) == expected, "the summary's table holds the findings at or above the score, each once"

    rows = list(csv.DictReader(io.StringIO(table.read_text(encoding="utf-8-sig"))))
    assert {int(row["photo"]) for row in rows} == set(range(1, len(entries) + 1)), "every photo is in the CSV"
    assert sum(1 for row in rows if row["defect"]) == findings
    assert next(row for row in rows if int(row["photo"]) == missing)["error"] == campaign.NOT_IMPORTED
    assert "its data ends early" in next(row for row in rows if int(row["photo"]) == refused)["error"]

    workbook = read_review_workbook(book.read_bytes())
    assert [photo.number for photo in workbook.photos] == list(range(1, len(entries) + 1))
    assert sum(1 for row in workbook.rows if row["defect_type"]) == findings
    assert workbook.signoff.project == "Bridge portfolio 2026"
    html = page.read_text()
    assert html.count('class="entry') >= 2 and "Bridge portfolio 2026" in html


def test_the_campaign_workbook_is_read_back_by_report_as_a_batch_workbook_is(imported, tmp_path):
    """The inspector reviews the campaign in the workbook; `report` builds the signed reports from it and the store."""
    out, store, entries = imported
    book = tmp_path / "findings.xlsx"
    done = cli(
        "campaign", "report", "--store", str(store), "--manifest", str(out / campaign.MANIFEST), "--xlsx", str(book)
    )
    assert done.returncode == 0, done.stderr
    word = tmp_path / "reviewed.docx"
    again = cli("report", str(book), "--store", str(store), "--docx", str(word), "--inspector", "J. de Vries")
    assert again.returncode == 0, again.stderr
    headings = [p.text for p in docx.Document(str(word)).paragraphs if p.style.name == "Heading 1"]
    assert sum(heading.startswith("Photo ") for heading in headings) == len(entries), "every photo, reviewed"


@pytest.mark.office
def test_the_word_report_as_libreoffice_lays_it_out(imported, tmp_path):
    """Cover and summary on the first page; the photos shown follow in number order from the next, each heading
    with its file and picture; no blank page."""
    out, store, entries = imported
    pdf = tmp_path / "report.pdf"
    done = cli("campaign", "report", "--store", str(store), "--manifest", str(out), "--pdf", str(pdf))
    assert done.returncode == 0, done.stderr
    pages = subprocess.run(
        [shutil.which("pdftotext") or "pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    texts = pages.stdout.split("\f")[:-1]
    assert texts[0].lstrip().startswith("Site inspection report") and "Condition summary" in texts[0]
    assert all(text.strip() for text in texts), "no blank page"
    shown = sorted(
        number_of(entries, name)
        for name, score in PHOTOS.items()
        if score not in (None, "missing") and {"4", "5", "6"} & set(defect_scores(name))
    )
    headings = [
        (page, line.strip().split(" — ")[0])
        for page, text in enumerate(texts)
        for line in text.splitlines()
        if line.strip().startswith("Photo ") and " — " in line
    ]
    assert [heading for _, heading in headings] == [f"Photo {number}" for number in shown]
    assert headings[0][0] == 1, "the entries start on a page of their own"
    images = subprocess.run(
        [shutil.which("pdfimages") or "pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True
    )
    assert len(images.stdout.splitlines()) - 2 == 1 + len(shown), "the chart, and one picture for each photo shown"


def test_a_score_off_the_scale_and_a_campaign_of_descriptions_are_refused_in_one_line(imported, tmp_path):
    out, store, _ = imported
    done = cli("campaign", "report", "--store", str(store), "--manifest", str(out), "--photos-from", "9", "--csv", "x")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "image_analysis: error: --photos-from '9' is not a score of the NEN 2767 condition score: give one of 1, 2, "
        "3, 4, 5, 6."
    )
    nothing = cli("campaign", "report", "--store", str(store), "--manifest", str(out))
    assert nothing.returncode == 2 and "say what to write" in nothing.stderr
    nowhere = cli(
        "campaign", "report", "--store", str(store), "--manifest", str(out), "--csv", str(tmp_path / "no/f.csv")
    )
    assert nowhere.returncode == 2 and len(nowhere.stderr.strip().splitlines()) == 1
    assert "cannot write the findings CSV" in nowhere.stderr

    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(shared_image_path("webp_photo_flower.webp"), photos / "flower.webp")
    described = tmp_path / "descriptions"
    campaign.prepare_campaign([photos], described, campaign.Settings(AnalysisRequest(), "test-model"), workers=1)
    general = cli("campaign", "report", "--store", str(store), "--manifest", str(described), "--csv", "x.csv")
    assert general.returncode == 2 and len(general.stderr.strip().splitlines()) == 1
    assert "prepared with --preset general" in general.stderr


@pytest.mark.process
def test_read_in_worker_processes_and_written_in_its_own_it_is_the_same_report(imported, tmp_path, monkeypatch):
    """A campaign of 200 photos or more is read by worker processes and its workbook written by a process of its
    own: the same cover, entries, CSV and workbook as read and written here."""
    from image_analysis.reports import campaign as campaign_report
    from image_analysis.store import SqliteStore

    out, store, _ = imported
    scale = ConditionScale.NEN2767.definition
    made = {}
    for way, (pooled, apart) in {"here": (10**6, 10**6), "apart": (1, 1)}.items():
        monkeypatch.setattr(campaign.StoredCampaign, "POOLED", pooled)
        monkeypatch.setattr(campaign_report, "OWN_PROCESS", apart)
        stored = campaign.StoredCampaign(SqliteStore(store, readonly=True), out, workers=2)
        book, table = tmp_path / f"{way}.xlsx", tmp_path / f"{way}.csv"
        with table.open("w", encoding="utf-8", newline="") as csv_file:
            report = campaign_report.campaign_report(stored, scale, "4", workbook=book, csv=csv_file)
        assert report.finish() == ()
        made[way] = (report.document, read_review_workbook(book.read_bytes()), table.read_text(encoding="utf-8"))
    (here, book_here, csv_here), (apart, book_apart, csv_apart) = made["here"], made["apart"]
    assert apart.cover == here.cover and apart.summary == here.summary
    assert [entry.heading for entry in apart.entries] == [entry.heading for entry in here.entries]
    assert book_apart == book_here and csv_apart == csv_here


def test_the_campaign_is_one_inspection_of_the_store_and_keeps_its_sign_off(imported, tmp_path):
    out, kept, entries = imported
    [store] = copied([kept], tmp_path)
    [inspection] = [
        found for found in InspectionStore(SqliteStore(store, readonly=True)).all() if found.id.startswith("campaign-")
    ]
    assert [photo.number for photo in inspection.photos] == list(range(1, len(entries) + 1))
    assert [photo.result for photo in inspection.photos] == [entry.record for entry in entries]

    signed, again = tmp_path / "signed.docx", tmp_path / "again.docx"
    common = ("campaign", "report", "--store", str(store), "--manifest", str(out))
    done = cli(*common, "--docx", str(signed), "--inspector", "J. de Vries", "--client", "Rijkswaterstaat")
    assert done.returncode == 0, done.stderr
    assert cli(*common, "--docx", str(again)).returncode == 0
    cells = [[cell.text for cell in row.cells] for table in docx.Document(str(again)).tables for row in table.rows]
    assert ["Inspector", "J. de Vries"] in cells and ["Client", "Rijkswaterstaat"] in cells, "kept with the campaign"
    [kept_again] = [
        found for found in InspectionStore(SqliteStore(store, readonly=True)).all() if found.id == inspection.id
    ]
    assert kept_again.signoff.inspector == "J. de Vries"


def _inspections(store: Path) -> list:
    return InspectionStore(SqliteStore(store, readonly=True)).all()
