"""The inspector's record: the findings CSV edited as Excel writes it, back into the reports with each finding's
origin; bad rows named; the sign-off and the summary per element."""

from __future__ import annotations

import json

import pytest
from docx import Document

from image_analysis.presets import ConditionScale
from image_analysis.review import (
    ADDED,
    AI_CONFIRMED,
    AI_NOT_REVIEWED,
    EDITED,
    Finding,
    Review,
    SignOff,
)
from tests.helpers import cli, copied, describe_into_store, excel_rows, save_as_excel
from tests.reply_corpus import BASE

PHOTOS = ["webp_photo_flower.webp", "crack_concrete_ozgenel_a.png"]
SIGNOFF = ["--project", "Kade Noord", "--inspector", "J. de Vries", "--reference", "INS-2026-014"]


@pytest.fixture(scope="module")
def described_once(module_model_service, tmp_path_factory):
    """Two photos described into a store, with the findings CSV as the app writes it: made once."""
    return describe_into_store(module_model_service, tmp_path_factory.mktemp("described"), PHOTOS, json.dumps(BASE))


@pytest.fixture
def described(described_once, tmp_path):
    """The store and the CSV, a copy for each test."""
    return copied(described_once, tmp_path)


def report(store, edited, tmp_path, *extra):
    docx, html = tmp_path / "report.docx", tmp_path / "report.html"
    done = cli("report", str(edited), "--store", str(store), "--docx", str(docx), "--out", str(html), *extra)
    return done, docx, html


def test_an_excel_edited_csv_comes_back_with_the_edit_marked_as_the_inspectors(described, tmp_path):
    store, exported = described
    rows = excel_rows(exported)
    assert [row["status"] for row in rows] == [AI_NOT_REVIEWED] * 4
    rows[0]["defect_location"] = "east face, 1.2 m above the deck"
    rows[0]["condition_score"] = "5"
    rows[1]["status"] = AI_CONFIRMED
    rows[1]["inspector_note"] = "checked on site"
    rows.append({**rows[3], "ref": "", "defect": "", "defect_type": "corrosion", "defect_location": "bearing"})
    edited = tmp_path / "edited.csv"
    save_as_excel(rows, edited)

    done, docx, html = report(store, edited, tmp_path, *SIGNOFF)
    assert done.returncode == 0, done.stderr
    document = Document(str(docx))
    cells = [
        [cell.text.replace("\xa0", " ").replace("\u2011", "-") for cell in row.cells]
        for table in document.tables
        for row in table.rows
    ]
    edited_row = next(row for row in cells if "east face, 1.2 m above the deck" in row)
    assert "5 (inspector's score, not derived)" in edited_row and edited_row[-1] == EDITED
    assert next(row for row in cells if "checked on site" in row)[-1] == AI_CONFIRMED
    assert next(row for row in cells if "bearing" in row)[-1] == ADDED
    assert len(document.inline_shapes) == 3, "the chart, and the photos from the store"
    assert ["Inspector", "J. de Vries"] in cells and ["Reference", "INS-2026-014"] in cells
    assert "Reviewed by J. de Vries." in [paragraph.text for paragraph in document.paragraphs]
    footer = document.sections[0].footer.paragraphs[0].text
    assert footer.startswith("Kade Noord · INS-2026-014") and "Page" in footer
    page = html.read_text(encoding="utf-8").replace("\xa0", " ")
    assert "east face, 1.2 m above the deck" in page and EDITED in page and "Condition summary" in page


def test_the_reviewed_csv_round_trips(described, tmp_path):
    store, exported = described
    rows = excel_rows(exported)
    rows[2]["defect_extent"] = "2 m"
    edited = tmp_path / "edited.csv"
    save_as_excel(rows, edited, separator=",")
    again = tmp_path / "again.csv"
    done = cli("report", str(edited), "--store", str(store), "--csv", str(again))
    assert done.returncode == 0, done.stderr
    statuses = [(row["ref"], row["status"]) for row in excel_rows(again)]
    expected = [("P1-F1", AI_NOT_REVIEWED), ("P1-F2", AI_NOT_REVIEWED), ("P2-F1", EDITED), ("P2-F2", AI_NOT_REVIEWED)]
    assert statuses == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda rows: rows[1].update(photo="9"), "row 3, column 'photo': the row is AI finding P1-F2 of photo 1, not"),
        (lambda rows: rows[2].update(condition_score="7"), "row 4, column 'condition_score': '7' is not on the NEN"),
        (lambda rows: rows[0].update(defect_type="graffiti"), "row 2, column 'defect_type': 'graffiti' is not one of"),
        (lambda rows: [row.pop("status") for row in rows], "row 1, column 'status': the column is missing"),
        (lambda rows: rows[0].update(record="result-0000"), "row 2, column 'record': photo 1 is not in the store"),
    ],
    ids=["unknown photo", "score off the scale", "unknown defect type", "missing column", "not in the store"],
)
def test_a_bad_row_stops_with_exit_2_naming_row_and_column_and_writes_nothing(described, tmp_path, change, expected):
    store, exported = described
    rows = excel_rows(exported)
    change(rows)
    edited = tmp_path / "edited.csv"
    save_as_excel(rows, edited)
    done, docx, html = report(store, edited, tmp_path)
    assert done.returncode == 2
    assert expected in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not docx.exists() and not html.exists(), "nothing is written half"


def test_report_needs_a_store(tmp_path, monkeypatch):
    monkeypatch.delenv("IMAGE_ANALYSIS_STORE", raising=False)
    (tmp_path / "f.csv").write_text("photo\n1\n")
    done = cli("report", str(tmp_path / "f.csv"), "--docx", str(tmp_path / "r.docx"))
    assert done.returncode == 2 and "--store" in done.stderr


def test_the_worst_score_is_the_one_furthest_along_the_scale():
    nbi, nen = ConditionScale.NBI.definition, ConditionScale.NEN2767.definition
    assert nbi.worst(["7", "3", "cannot tell from this photo"]) == "3", "NBI runs from 9 (excellent) to 0"
    assert nen.worst("254") == "5" and nen.worst(["cannot tell from this photo"]) is None
    ordered = sorted(["4", "cannot tell from this photo", "6", "1"], key=nen.rank, reverse=True)
    assert ordered == ["6", "4", "1", "cannot tell from this photo"], "the condition summary's order: worst first"
    assert (
        nen.shown("4") == "4\xa0(mediocre)"
        and nen.shown("cannot tell from this photo") == "cannot tell from this photo"
    )


def test_the_review_state_says_who_reviewed():
    review = Review(
        SignOff(inspector="A. Jansen"),
        (Finding(1, status=AI_CONFIRMED), Finding(1, status=AI_NOT_REVIEWED), Finding(2, status=AI_NOT_REVIEWED)),
    )
    assert review.state(1) == "Reviewed by A. Jansen (1 finding not reviewed)."
    assert review.state(2).startswith("Not reviewed")
    assert review.state(3).startswith("Not reviewed")


def test_a_photo_whose_rows_are_deleted_keeps_the_others_numbers_and_is_listed_as_removed(model_service, tmp_path):
    names = [*PHOTOS, "corrosion_rusty_metal_05_polyhaven_1k.jpg"]
    store, exported = describe_into_store(model_service, tmp_path, names, json.dumps(BASE))
    rows = [row for row in excel_rows(exported) if row["photo"] != "2"]
    edited = tmp_path / "edited.csv"
    save_as_excel(rows, edited)
    done, docx, html = report(store, edited, tmp_path, *SIGNOFF, "--final")
    assert done.returncode == 0, done.stderr
    document = Document(str(docx))
    paragraphs = [paragraph.text for paragraph in document.paragraphs]
    headings = [p.text.split(" —")[0] for p in document.paragraphs if p.style.name == "Heading 1" and "Photo" in p.text]
    assert headings == ["Photo 1", "Photo 3"], "photo 3 stays photo 3"
    assert "Photo 2: removed from the report by J. de Vries." in paragraphs
    assert "Status: Draft: 4 AI findings not reviewed" in paragraphs, "nothing was confirmed yet"
    assert any(text.startswith("Not issued as final") for text in paragraphs)
    assert "Photo 2: removed from the report by J. de Vries." in html.read_text(encoding="utf-8")
