"""The inspection as a record of its own: photos known by their bytes, findings by ids that survive a spreadsheet,
the review kept in the store as decisions, and a store from the release before inspections opened, migrated and
reported as it was."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import shutil
import sqlite3

import openpyxl
import pytest
from docx import Document

from image_analysis import store_keys
from image_analysis.analysis import Analysis
from image_analysis.formats.findings_workbook import FINDINGS
from image_analysis.imaging.prepare import prepare_image
from image_analysis.imaging.prepared import Preparation
from image_analysis.inspection import SIGNED, Inspection, photo_of
from image_analysis.inspection.decisions import (
    ADD,
    CONFIRMED,
    DELETE,
    EDIT,
    RESTORED,
    VIA_WORKBOOK,
    Decision,
    changes,
    replay,
    review_of,
    state_of,
)
from image_analysis.inspection.identity import finding_id
from image_analysis.inspection_store import InspectionStore
from image_analysis.model import Description
from image_analysis.presets import AnalysisRequest, ConditionScale, Preset
from image_analysis.reports import document
from image_analysis.review import ADDED, AI_CONFIRMED, AI_NOT_REVIEWED, DELETED, EDITED, Review, SignOff, ai_findings
from image_analysis.store import SqliteStore
from tests.conftest import REPO, shared_image_path
from tests.helpers import (
    HEAD,
    cli,
    copied,
    describe_inspection,
    edit_as_an_inspector,
    excel_rows,
    findings_rows,
    libreoffice,
    origins,
)
from tests.reply_corpus import BASE

RELEASE = REPO / "tests" / "fixtures" / "release-store"
SOFFICE = shutil.which("soffice") or "soffice"
INSPECTION = AnalysisRequest(preset=Preset.INSPECTION, scale=ConditionScale.NEN2767)
THREE = {**BASE, "defects": [{"type": "crack", "location": f"zone {n}", "extent": f"{n} m"} for n in (1, 2, 3)]}


@functools.cache
def _prepared() -> Preparation:
    return prepare_image(shared_image_path("webp_photo_flower.webp").read_bytes(), "flower.webp")


def _result(number: int, name: str, sha: str, reply: dict = BASE) -> Analysis:
    """A described photo whose bytes hash to ``sha`` (its identity)."""
    source = dataclasses.replace(_prepared().source, sha256=sha * 64)
    preparation = dataclasses.replace(_prepared(), source=source)
    return Analysis(number, name, INSPECTION, preparation, Description(json.dumps(reply), "m"))


# -- photos by their bytes


def test_the_same_photo_twice_is_one_photo_with_both_names_and_keeps_its_number_when_continued():
    first, twin, other = (
        _result(1, "photo_001.jpg", "a"),
        _result(2, "photo_001 (1).jpg", "a"),
        _result(3, "b.jpg", "b"),
    )
    inspection, shown = Inspection.new(INSPECTION).filed([first, twin, other])
    assert [(result.number, result.name) for result in shown] == [(1, "photo_001.jpg"), (2, "b.jpg")]
    assert [photo.names for photo in inspection.photos] == [("photo_001.jpg", "photo_001 (1).jpg"), ("b.jpg",)]

    later, shown = inspection.filed([_result(1, "c.jpg", "c"), _result(2, "B.JPG", "b")])
    assert [(result.number, result.name) for result in shown] == [(2, "b.jpg"), (3, "c.jpg")], "numbers stay"
    assert later.numbered(2).names == ("b.jpg", "B.JPG")
    assert Inspection.from_json(json.loads(json.dumps(later.to_json()))) == later


def test_a_pdf_sheet_is_its_file_and_its_page():
    sheet = _result(1, "set.pdf", "d")
    three = dataclasses.replace(sheet, preparation=dataclasses.replace(sheet.preparation, page=3))
    assert photo_of(three) == photo_of(sheet) + "#p3"


# -- decisions


def _reviewed(rows_changed) -> tuple[Inspection, list, Review]:
    analyses = [_result(1, "a.jpg", "a", THREE), _result(2, "b.jpg", "b")]
    inspection, analyses = Inspection.new(INSPECTION).filed(analyses)
    rows = [finding.to_row() for finding in ai_findings(analyses)]
    rows = rows_changed(rows)
    review = Review.from_rows(SignOff(inspector="J. de Vries"), rows, analyses, ConditionScale.NEN2767.definition)
    return inspection, analyses, review


def _edits(rows):
    rows[0]["condition_score"] = "5"  # P1-F1 edited
    rows[1]["status"] = AI_CONFIRMED  # P1-F2 confirmed
    copy = {**rows[3], "defect_type": "corrosion", "location": "bearing"}  # a copy of P2-F1: the inspector's own
    return [row for index, row in enumerate(rows) if index != 2] + [copy]  # P1-F3 deleted


def test_a_review_is_decisions_and_the_same_review_again_decides_nothing():
    inspection, analyses, review = _reviewed(_edits)
    after = state_of(review, inspection, {})
    made = changes({}, after, [photo.key for photo in inspection.photos], "J. de Vries", VIA_WORKBOOK)
    one, two = (photo.key for photo in inspection.photos)
    assert {(decision.finding, decision.action) for decision in made} == {
        (finding_id(one, "F", 1), EDIT),
        (finding_id(one, "F", 2), CONFIRMED),
        (finding_id(one, "F", 3), DELETE),
        (finding_id(two, "A", 1), ADD),
    }
    assert all(decision.by == "J. de Vries" and decision.via == VIA_WORKBOOK and decision.at for decision in made)
    assert [Decision.from_json(json.loads(json.dumps(d.to_json()))) for d in made] == made

    again = state_of(review, inspection, replay(made))
    assert changes(replay(made), again, [one, two], "J. de Vries", VIA_WORKBOOK) == [], "read twice: nothing new"

    recorded = review_of(inspection, analyses, made)
    assert [(finding.ref, finding.status) for finding in recorded.findings] == [
        ("P1-F1", EDITED),
        ("P1-F2", AI_CONFIRMED),
        ("P2-F1", AI_NOT_REVIEWED),
        ("P2-F2", AI_NOT_REVIEWED),
        ("P2-A1", ADDED),
    ], "the model's findings by number, then the inspector's own, whatever order the rows came in"
    assert [(finding.ref, finding.status) for finding in recorded.deleted] == [("P1-F3", DELETED)]


def test_an_added_finding_keeps_its_id_through_edits_and_its_number_is_never_given_again():
    inspection, analyses, review = _reviewed(_edits)
    kept = changes({}, state_of(review, inspection, {}), [p.key for p in inspection.photos], "", VIA_WORKBOOK)
    recorded = review_of(inspection, analyses, kept)
    rows = [finding.to_row() for finding in (*recorded.findings,)]
    own = next(row for row in rows if row["ref"] == "P2-A1")
    own["extent"] = "0.4 m"  # edited in the next workbook, its ref kept
    scale = ConditionScale.NEN2767.definition
    edited = Review.from_rows(recorded.signoff, rows, analyses, scale)
    before = replay(kept)
    step = changes(before, state_of(edited, inspection, before), [p.key for p in inspection.photos], "", "")
    two = inspection.numbered(2).key
    assert [(d.finding, d.action, dict(d.values)["extent"]) for d in step] == [(finding_id(two, "A", 1), ADD, "0.4 m")]

    without = [row for row in rows if row["ref"] != "P2-A1"]  # deleted, then another added
    gone = Review.from_rows(recorded.signoff, without, analyses, scale)
    state = replay([*kept, *step])
    deleted = changes(state, state_of(gone, inspection, state), [p.key for p in inspection.photos], "", "")
    assert [(d.finding, d.action) for d in deleted] == [(finding_id(two, "A", 1), DELETE)]
    state = replay([*kept, *step, *deleted])
    fresh = Review.from_rows(recorded.signoff, [*without, {**own, "ref": ""}], analyses, scale)
    assert set(state_of(fresh, inspection, state)) >= {finding_id(two, "A", 2)}, "A1 is not given again"


def test_a_finding_set_back_to_the_ais_is_restored():
    inspection, analyses, review = _reviewed(_edits)
    kept = changes({}, state_of(review, inspection, {}), [p.key for p in inspection.photos], "", VIA_WORKBOOK)
    untouched = Review.from_rows(
        SignOff(), [f.to_row() for f in ai_findings(analyses)], analyses, ConditionScale.NEN2767.definition
    )
    back = changes(
        replay(kept), state_of(untouched, inspection, replay(kept)), [p.key for p in inspection.photos], "", ""
    )
    assert {d.action for d in back} == {RESTORED, DELETE}, "the model's findings restored, the own one deleted"
    assert review_of(inspection, analyses, [*kept, *back]).findings == (), "nothing decided any more"


# -- what a report counts


def test_a_photo_with_three_defects_counts_once_in_the_photos_per_score_summary():
    three = _result(1, "a.jpg", "a", {**THREE, "condition_score": "4"})
    report = document.build([three, _result(2, "b.jpg", "b", {**BASE, "condition_score": "4"})])
    counts = {label.split("\xa0")[0]: count for label, count, _ in report.summary.counts}
    assert counts == {"4": 2}, "two photos scored 4, not five findings"
    assert report.summary.chart_title == "Photos per condition score"
    assert "5 findings" in report.cover.counts, "the findings are still counted as findings"


# -- the command line: describe into a store, review, report with and without the spreadsheet


@pytest.fixture(scope="module")
def twins_once(module_model_service, tmp_path_factory):
    """The same photo twice (a copy as a phone names it) and another, described into a store with workbook and CSV."""
    module_model_service.reply(json.dumps(BASE))
    folder = tmp_path_factory.mktemp("twins")
    shutil.copy(shared_image_path("webp_photo_flower.webp"), folder / "photo_001.webp")
    shutil.copy(shared_image_path("webp_photo_flower.webp"), folder / "photo_001 (1).webp")
    shutil.copy(shared_image_path("crack_concrete_ozgenel_a.png"), folder / "photo_002.png")
    paths = [str(folder / name) for name in ("photo_001.webp", "photo_001 (1).webp", "photo_002.png")]
    before = len(module_model_service.requests)
    described = describe_inspection(
        module_model_service, folder, paths, "--inspector", "J. de Vries", "--inspection", "Kade Noord 2026"
    )
    assert len(module_model_service.requests) - before == 2, "the same photo twice is described once"
    return described


@pytest.fixture
def twins(twins_once, tmp_path):
    return copied(twins_once, tmp_path)


def test_the_twin_photo_batch_round_trips_through_csv_and_workbook_unedited(twins, tmp_path):
    store, book, table = twins
    for reviewed in (table, book):
        again = tmp_path / "again.csv"
        done = cli("report", str(reviewed), "--store", str(store), "--csv", str(again))
        assert done.returncode == 0, done.stderr
        rows = excel_rows(again)
        assert {row["status"] for row in rows} == {AI_NOT_REVIEWED}, "no row is the inspector's"
        assert {row["file"] for row in rows} == {"photo_001.webp", "photo_002.png"}, "one photo, two names"
    page = tmp_path / "report.html"
    assert cli("report", "--store", str(store), "--out", str(page)).returncode == 0
    assert "Also uploaded as &#39;photo_001 (1).webp&#39;: the same file" in page.read_text(encoding="utf-8")


@pytest.mark.office
def test_a_workbook_review_kept_in_the_store_reports_the_same_without_the_workbook(twins, tmp_path):
    store, book, _ = twins
    edited = tmp_path / "edited.xlsx"
    edit_as_an_inspector(book, edited)  # a score changed, rows confirmed, a copy added, a row deleted, sorted
    out = tmp_path / "calc"
    out.mkdir()
    calc = libreoffice(SOFFICE, edited, out, "xlsx:Calc MS Excel 2007 XML")
    with_book, without = tmp_path / "with.docx", tmp_path / "without.docx"
    done = cli("report", str(calc), "--store", str(store), "--docx", str(with_book), "--final")
    assert done.returncode == 0, done.stderr
    assert "5 decisions kept in the store" in done.stderr, "edited, two confirmed, added, deleted"
    [kept] = InspectionStore(SqliteStore(store, readonly=True)).all()
    assert kept.stage == SIGNED, "asked to be final, every finding reviewed"
    again = cli("report", str(calc), "--store", str(store))
    assert again.returncode == 0 and "no new decision" in again.stderr, "the same workbook twice changes nothing"

    done = cli("report", "--store", str(store), "--inspection", "Kade Noord 2026", "--docx", str(without))
    assert done.returncode == 0, done.stderr
    assert _text(with_book) == _text(without), "the same report, with the same origins and sign-off"
    cells = _text(without)[1]
    assert ["Inspector", "J. de Vries"] in cells
    assert {row[-1] for row in cells if row[-1] in (EDITED, ADDED, AI_CONFIRMED)} == {EDITED, ADDED, AI_CONFIRMED}

    workbook = tmp_path / "again.xlsx"
    assert cli("report", "--store", str(store), "--xlsx", str(workbook)).returncode == 0
    assert origins(workbook) == [
        ("P1-F1", EDITED),
        ("P1-F2", AI_CONFIRMED),
        ("P2-A1", ADDED),
        ("P2-F1", AI_CONFIRMED),
        ("P2-F2", DELETED),
    ], "the workbook written from the store names the inspector's own finding by its ref"
    rows = findings_rows(openpyxl.load_workbook(workbook)[FINDINGS])
    own = next(row for row in rows if row[HEAD["AI finding"] - 1] == "P2-A1")
    assert own[HEAD["Where in the photo"] - 1] == "bearing plate, left"


def test_an_inspection_is_chosen_by_name_or_id_and_an_unknown_one_is_one_line(twins, tmp_path):
    store, _, _ = twins
    [inspection] = InspectionStore(SqliteStore(store, readonly=True)).all()
    assert inspection.name == "Kade Noord 2026" and inspection.inspector == "J. de Vries"
    assert [photo.names for photo in inspection.photos] == [
        ("photo_001.webp", "photo_001 (1).webp"),
        ("photo_002.png",),
    ]
    for wanted in (inspection.id, inspection.name):
        assert cli("report", "--store", str(store), "--inspection", wanted).returncode == 0
    done = cli("report", "--store", str(store), "--inspection", "Kade Zuid")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "there is no inspection 'Kade Zuid'" in done.stderr


def _text(docx) -> tuple[list[str], list[list[str]]]:
    """A Word report's paragraphs and table cells."""
    report = Document(str(docx))
    cells = [[cell.text for cell in row.cells] for table in report.tables for row in table.rows]
    return [paragraph.text for paragraph in report.paragraphs], cells


# -- a store the release before inspections wrote


@pytest.fixture
def release(tmp_path):
    for part in RELEASE.iterdir():
        shutil.copy(part, tmp_path / part.name)
    return tmp_path


def _not_derived(cell: str) -> str:
    """A finding's score as the release showed it (``5 (poor, maintenance overdue)``), as it is shown now: the
    model's, its reply giving no observations to derive one from."""
    return re.sub(r"^(\d)\xa0\(.*\)$", "\\1\xa0(model's score, not derived)", cell)


def test_a_store_the_last_release_wrote_opens_migrates_and_reports_as_it_did(release):
    store = release / "store.sqlite"
    with sqlite3.connect(store) as connection:
        keys = [row[0] for row in connection.execute("SELECT key FROM results")]
    assert not any(key.startswith(store_keys.INSPECTION) for key in keys), "made by that release, before inspections"
    inspections = InspectionStore(SqliteStore(store, readonly=True))
    [legacy] = inspections.all()
    assert legacy.legacy and legacy.signoff.project == "Kade Noord quay wall" and len(legacy.photos) == 2
    assert len(inspections.unfiled()) == 1, "the run without a sign-off is listed as unfiled"
    listed = cli("inspections", "--store", str(store))
    assert listed.returncode == 0 and listed.stdout.startswith(f"{legacy.id}\t-\tdescribed\t2 photos\tJ. de Vries")
    assert "1 stored result in no inspection" in listed.stderr

    table = release / "again.csv"
    assert cli("report", "--store", str(store), "--csv", str(table)).returncode == 0
    before, after = excel_rows(release / "findings.csv"), excel_rows(table)
    assert [{name: row[name] for name in before[0]} for row in after] == before, "every column the release wrote"

    from_csv, from_store = release / "from-csv.docx", release / "from-store.docx"
    done = cli("report", str(release / "findings.csv"), "--store", str(store), "--docx", str(from_csv))
    assert done.returncode == 0, done.stderr
    assert f"inspection {legacy.id}" in done.stderr
    done = cli("report", "--store", str(store), "--docx", str(from_store))
    assert done.returncode == 0, done.stderr
    before = _text(release / "report.docx")
    for docx in (from_csv, from_store):
        paragraphs, cells = _text(docx)
        scores = [index for index, row in enumerate(before[1]) if row[0] == "NEN 2767 condition score"]
        assert len(scores) == 2
        for index in scores:
            assert cells[index][1].startswith(before[1][index][1] + "; not derived: the score is the model's")
        kept = [row for index, row in enumerate(cells) if index not in scores]
        said = [[_not_derived(cell) for cell in row] for index, row in enumerate(before[1]) if index not in scores]
        assert kept == said, "every other cell as it was, a finding's score said to be the model's, not derived"
        counted = [line for line in paragraphs if line.startswith("Each photo counts once")]
        assert counted == [
            "Each photo counts once, at the worst score of its findings: no photo's condition could be derived by "
            "NEN 2767 (an observation of a defect not given, or one the photo cannot tell)."
        ]
        paragraphs = [line for line in paragraphs if line not in counted]
        changed = [(old, new) for old, new in zip(before[0], paragraphs, strict=True) if old != new]
        assert changed == [("Findings per condition score:", "Photos per condition score:")], "counted per photo now"
    assert cli("report", str(release / "findings.xlsx"), "--store", str(store)).returncode == 0
