"""Review in Excel without traps: the findings workbook written by ``describe --xlsx``, edited as an inspector
would (with openpyxl), saved again by LibreOffice Calc, and read back by ``report``: every row marked as what it is
(AI unchanged, confirmed, edited, added, deleted), the sign-off from the store, a bad cell named and nothing
written. And the CSV's traps, each a test."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile

import openpyxl
import pytest
from docx import Document
from PIL import Image, ImageOps

from image_analysis.formats.findings_workbook import AI_RECORD, FINDINGS, PHOTOS, SIGNOFF_SHEET
from image_analysis.review import ADDED, AI_CONFIRMED, AI_NOT_REVIEWED, DELETED, EDITED
from image_analysis.vocabulary import DEFECT_TYPES, URGENCIES
from tests.conftest import REPO, shared_image_path
from tests.helpers import (
    EDITED_ORIGINS,
    HEAD,
    cli,
    copied,
    describe_inspection,
    edit_as_an_inspector,
    libreoffice,
    origins,
)
from tests.long_replies import LONG_REPLIES
from tests.reply_corpus import BASE

PHOTOS_SENT = ["webp_photo_flower.webp", "crack_concrete_ozgenel_a.png"]
SIGNOFF = ["--client", "Gemeente Zaanstad", "--project", "Kade Noord", "--inspector", "J. de Vries"]
ARTIFACTS = REPO / "tests" / "artifacts"
CANNOT = "cannot tell from this photo"
SOFFICE = shutil.which("soffice") or "soffice"  # the libreoffice tests fail, never skip, without it


@pytest.fixture(scope="module")
def described_once(module_model_service, tmp_path_factory):
    """Two photos described into a store with the sign-off, and the workbook and CSV they came with: made once."""
    module_model_service.reply(json.dumps(BASE))
    paths = [str(shared_image_path(name)) for name in PHOTOS_SENT]
    folder = tmp_path_factory.mktemp("described")
    return describe_inspection(module_model_service, folder, paths, *SIGNOFF, "--reference", "INS-2026-014")


@pytest.fixture
def described(described_once, tmp_path):
    """The described store, workbook and CSV, a copy for each test (a report keeps its sign-off in the store)."""
    return copied(described_once, tmp_path)


def saved_by_libreoffice(source, tmp_path):
    out = tmp_path / "calc"
    out.mkdir(exist_ok=True)
    return libreoffice(SOFFICE, source, out, "xlsx:Calc MS Excel 2007 XML")


def report(store, edited, tmp_path, *extra):
    docx = tmp_path / "report.docx"
    done = cli("report", str(edited), "--store", str(store), "--docx", str(docx), *extra)
    return done, docx


def table_cells(docx) -> list[list[str]]:
    document = Document(str(docx))
    return [
        [cell.text.replace("\xa0", " ").replace("\u2011", "-") for cell in row.cells]
        for table in document.tables
        for row in table.rows
    ]


def test_the_workbook_has_the_review_columns_first_and_a_list_on_each_list_column(described):
    _, book_path, _ = described
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == [FINDINGS, "Lists", PHOTOS, SIGNOFF_SHEET, AI_RECORD]
    assert book[AI_RECORD].sheet_state == "veryHidden" and book[AI_RECORD].protection.sheet
    sheet = book[FINDINGS]
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["AI finding", "Photo", "Origin", "Inspector's note"]
    assert header[4:14] == [
        "Element",
        "Defect",
        "Where in the photo",
        "Extent",
        "Seriousness",
        "Intensity",
        "Share affected",
        "Condition score",
        "Recommended action",
        "Urgency",
    ]
    first = sheet.cell(row=2, column=1)
    assert first.value == "P1-F1" and first.data_type == "s" and first.number_format == "@"
    assert sheet.cell(row=2, column=2).value == "1", "the photo number is text: nothing can coerce it"
    lists = _lists(sheet)
    assert lists["Origin"][0] == [AI_NOT_REVIEWED, AI_CONFIRMED, EDITED, ADDED, DELETED]
    assert lists["Defect"][0] == list(DEFECT_TYPES)
    assert lists["Condition score"][0] == ["1", "2", "3", "4", "5", "6", "cannot tell from this photo"]
    assert "4 mediocre" in lists["Condition score"][1], "each score's meaning in the input message"
    assert lists["Urgency"][0] == list(URGENCIES)
    assert lists["Seriousness"][0] == ["minor", "serious", "critical", "cannot tell from this photo"]
    assert lists["Share affected"][0] == ["< 2 %", "2-10 %", "10-30 %", "30-70 %", ">= 70 %", CANNOT]
    photos = book[PHOTOS]
    assert len(photos._images) == 2, "a thumbnail of what was sent, per photo"
    summary = [cell.value for cell in photos[1]].index("Summary") + 1
    assert photos.cell(row=2, column=summary).value == BASE["summary"]
    signoff = {row[0].value: row[1].value for row in book[SIGNOFF_SHEET].iter_rows(min_row=2) if row[0].value}
    assert signoff["Client"] == "Gemeente Zaanstad" and signoff["Inspector"] == "J. de Vries"
    assert signoff["Status"] == "Draft: AI findings not reviewed"


def _lists(sheet) -> dict[str, tuple[list[str], str]]:
    """The list validations of a sheet by column heading: the values (from the range the list names), and the
    input message."""
    header = {cell.column_letter: cell.value for cell in sheet[1]}
    found = {}
    for check in sheet.data_validations.dataValidation:
        letter = str(check.sqref).split(":")[0].rstrip("0123456789")
        where, cells = check.formula1.rsplit("!", 1)
        source = sheet.parent[where.strip("'")]
        values = [cell.value for row in source[cells.replace("$", "")] for cell in row]
        found[header[letter]] = (values, check.prompt or "")
    return found


@pytest.mark.office
def test_a_workbook_edited_and_saved_by_libreoffice_marks_every_row_with_the_sign_off_from_the_store(
    described, tmp_path
):
    store, book_path, _ = described
    edited = tmp_path / "edited.xlsx"
    edit_as_an_inspector(book_path, edited)
    calc = saved_by_libreoffice(edited, tmp_path)
    lists = _lists(openpyxl.load_workbook(calc)[FINDINGS])
    listed = {"Origin", "Defect", "Seriousness", "Intensity", "Share affected", "Condition score", "Urgency"}
    assert set(lists) == listed, "the lists survive LibreOffice"

    again = tmp_path / "again.xlsx"
    done, docx = report(store, calc, tmp_path, "--xlsx", str(again))
    assert done.returncode == 0, done.stderr
    assert "4 findings on 2 photos; 2 edited or added by the inspector, 1 deleted" in done.stderr
    cells = table_cells(docx)
    edited_row = next(
        row for row in cells if "5 (inspector's score, not derived)" in row and "centre, top to bottom" in row
    )
    assert edited_row[-1] == EDITED
    assert next(row for row in cells if "lower right corner" in row)[-1] == AI_CONFIRMED
    assert next(row for row in cells if "checked on site, 0.4 mm wide" in row)[-1] == AI_CONFIRMED
    assert next(row for row in cells if "bearing plate, left" in row)[-1] == ADDED
    paragraphs = [p.text.replace("\xa0", " ").replace("\u2011", "-") for p in Document(str(docx)).paragraphs]
    deleted = "P2-F2 (spalling, lower right corner, 0.2 x 0.3 m): deleted by J. de Vries."
    assert any(text.endswith(deleted) for text in paragraphs), "listed under its photo"
    assert ["Inspector", "J. de Vries"] in cells and ["Client", "Gemeente Zaanstad"] in cells, "from the store"

    assert origins(again) == EDITED_ORIGINS, "written again, the deletion stays visible"
    done, _ = report(store, again, tmp_path)
    assert done.returncode == 0 and "1 deleted" in done.stderr, "and reads back the same"


def test_a_copied_row_is_the_inspectors_wherever_sorting_puts_it(described, tmp_path):
    store, book_path, _ = described
    book = openpyxl.load_workbook(book_path)
    sheet = book[FINDINGS]
    original = [cell.value for cell in sheet[2]]
    copy = list(original)
    copy[HEAD["Where in the photo"] - 1] = "a second crack, right edge"
    sheet.insert_rows(2)  # the copy above the row it was copied from
    for column, value in enumerate(copy, start=1):
        sheet.cell(row=2, column=column, value=value)
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    done, docx = report(store, edited, tmp_path)
    assert done.returncode == 0, done.stderr
    cells = table_cells(docx)
    assert next(row for row in cells if "a second crack, right edge" in row)[-1] == ADDED
    assert next(row for row in cells if "centre, top to bottom" in row)[-1] == AI_NOT_REVIEWED


def _cell(sheet, ref: str, heading: str):
    column = [cell.value for cell in sheet[1]].index(heading) + 1
    row = next(cell.row for cell in sheet["A"] if cell.value == ref)
    return sheet.cell(row=row, column=column)


def _set(book, sheet: str, ref: str, heading: str, value: str) -> int:
    cell = _cell(book[sheet], ref, heading)
    cell.value = value
    return cell.row


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda book: _set(book, FINDINGS, "P2-F1", "Condition score", "8"),
            "sheet Findings, row {row}, column 'Condition score': '8' is not on the NEN 2767 condition score (1-6, "
            "or cannot tell)",
        ),
        (
            lambda book: _set(book, FINDINGS, "P2-F1", "Origin", "done"),
            "sheet Findings, row {row}, column 'Origin': 'done' is not one of: AI, not reviewed",
        ),
        (
            lambda book: _set(book, FINDINGS, "P2-F1", "AI finding", "P2-F7"),
            "sheet Findings, row {row}, column 'AI finding': 'P2-F7' is not one of the AI's findings (photo 2's are "
            "P2-F1, P2-F2)",
        ),
        (
            lambda book: _set(book, FINDINGS, "P2-F1", "Photo", "9"),
            "sheet Findings, row {row}, column 'Photo': there is no photo 9 (photos: 1, 2)",
        ),
        (
            lambda book: _set(book, FINDINGS, "P2-F1", "Defect", "graffiti"),
            "sheet Findings, row {row}, column 'Defect': 'graffiti' is not one of: crack",
        ),
        (
            lambda book: (book[PHOTOS].cell(row=3, column=4, value="No defects."), 3)[1],
            "sheet Photos, row {row}, column 'Summary': this is what the AI said",
        ),
        (
            lambda book: (book[AI_RECORD].cell(row=6, column=7, value="bridge deck"), 1)[1],
            "sheet AI record, row {row}, column 'A': the AI record was changed",
        ),
        (
            lambda book: (book[FINDINGS].delete_cols(HEAD["Condition score"]), 1)[1],
            "sheet Findings, row {row}, column 'Condition score': the column is missing",
        ),
    ],
    ids=[
        "score off the scale",
        "origin off the list",
        "unknown ref",
        "unknown photo",
        "unknown defect type",
        "AI text changed",
        "AI record changed",
        "column deleted",
    ],
)
def test_a_bad_cell_stops_with_exit_2_naming_sheet_row_and_column_and_writes_nothing(
    described, tmp_path, change, expected
):
    store, book_path, _ = described
    book = openpyxl.load_workbook(book_path)
    row = change(book)
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    done, docx = report(store, edited, tmp_path)
    assert done.returncode == 2, done.stderr
    assert expected.format(row=row) in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not docx.exists(), "nothing is written half"


def test_filtered_rows_and_a_hidden_column_are_read_as_they_are(described, tmp_path):
    store, book_path, _ = described
    book = openpyxl.load_workbook(book_path)
    sheet = book[FINDINGS]
    sheet.column_dimensions["D"].hidden = True
    sheet.row_dimensions[3].hidden = True  # as a filter hides it
    _set(book, FINDINGS, "P1-F2", "Origin", AI_CONFIRMED)
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    done, docx = report(store, edited, tmp_path)
    assert done.returncode == 0, done.stderr
    assert next(row for row in table_cells(docx) if "lower right corner" in row)[-1] == AI_CONFIRMED


# ---------------------------------------------------------------------------------------------------------------
# The CSV's traps


def csv_rows(path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def save_csv(rows, path, separator=";") -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=separator, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))


def test_the_csv_has_the_workbooks_column_order(described):
    _, _, table = described
    header = next(csv.reader(io.StringIO(table.read_text(encoding="utf-8-sig"))))
    assert header[:4] == ["ref", "photo", "status", "inspector_note"], "the review columns are A to D, not V and W"


def test_a_ref_excel_turned_into_a_number_is_refused_not_taken_as_the_inspectors(described, tmp_path):
    store, _, table = described
    rows = csv_rows(table)
    rows[2]["ref"] = "6"  # "6.0" as Excel saves it
    edited = tmp_path / "edited.csv"
    save_csv(rows, edited)
    done, docx = report(store, edited, tmp_path)
    assert done.returncode == 2 and not docx.exists()
    assert "row 4, column 'ref': '6' is not one of the AI's findings (photo 2's are P2-F1, P2-F2)" in done.stderr
    assert "A spreadsheet may have turned it into a number or a date." in done.stderr


def test_an_older_csvs_ref_is_still_read(described, tmp_path):
    store, _, table = described
    rows = csv_rows(table)
    rows[2]["ref"], rows[2]["status"] = "2.1", AI_CONFIRMED
    edited = tmp_path / "edited.csv"
    save_csv(rows, edited)
    done, docx = report(store, edited, tmp_path)
    assert done.returncode == 0, done.stderr
    origins = [row[-1] for row in table_cells(docx) if "centre, top to bottom" in row]
    assert origins == [AI_NOT_REVIEWED, AI_CONFIRMED], "'2.1' is P2-F1, confirmed; not a finding of the inspector's"


def test_a_row_copied_in_the_csv_is_added_and_its_original_stays_the_ais(described, tmp_path):
    store, _, table = described
    rows = csv_rows(table)
    copy = {**rows[0], "defect_location": "left edge", "status": EDITED}
    edited = tmp_path / "edited.csv"
    save_csv([copy, *rows], edited)
    done, docx = report(store, edited, tmp_path)
    assert done.returncode == 0, done.stderr
    cells = table_cells(docx)
    assert next(row for row in cells if "left edge" in row)[-1] == ADDED
    assert [row[-1] for row in cells if "centre, top to bottom" in row][:1] == [AI_NOT_REVIEWED]


def test_the_sign_off_is_kept_in_the_store_and_a_flag_overrides_it(described, tmp_path):
    store, _, table = described
    done, docx = report(store, table, tmp_path)
    assert done.returncode == 0, done.stderr
    cells = table_cells(docx)
    assert ["Inspector", "J. de Vries"] in cells and ["Reference", "INS-2026-014"] in cells
    done, docx = report(store, table, tmp_path, "--inspector", "A. Jansen")
    assert ["Inspector", "A. Jansen"] in table_cells(docx) and ["Client", "Gemeente Zaanstad"] in table_cells(docx)
    done, docx = report(store, table, tmp_path)
    assert ["Inspector", "A. Jansen"] in table_cells(docx), "the override is kept for the next report"


def test_a_reviewed_report_nobody_signs_says_so_on_the_cover_and_on_stderr(model_service, tmp_path):
    model_service.reply(json.dumps(BASE))
    store, table = tmp_path / "results.sqlite", tmp_path / "findings.csv"
    env = {"OPENAI_BASE_URL": model_service.base_url, "VISION_MAX_RETRIES": "0"}
    path = str(shared_image_path(PHOTOS_SENT[0]))
    done = cli("describe", path, "--preset", "inspection", "--store", str(store), "--csv", str(table), env_extra=env)
    assert done.returncode == 0, done.stderr
    rows = [{**row, "status": AI_CONFIRMED} for row in csv_rows(table)]
    edited = tmp_path / "edited.csv"
    save_csv(rows, edited)
    done, docx = report(store, edited, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning: The report is reviewed but not signed: no inspector is named." in done.stderr
    paragraphs = [p.text for p in Document(str(docx)).paragraphs]
    assert "Status: Reviewed, not signed" in paragraphs


@pytest.mark.office
def test_the_workbook_picture_for_the_readme(model_service, tmp_path):
    """The Findings sheet of a reviewed workbook, with replies as long as a real model writes (edited, then written
    again by ``report --xlsx``), as LibreOffice prints it, cropped to the rows, for the README (``make pictures``)."""
    pdftoppm = shutil.which("pdftoppm") or "pdftoppm"
    names = ["crack_concrete_ozgenel_a.png", "corrosion_rusty_metal_05_polyhaven_1k.jpg"]
    for name in names:
        model_service.reply_once(json.dumps(LONG_REPLIES[name]))
    store, exported = tmp_path / "results.sqlite", tmp_path / "findings.xlsx"
    env = {"OPENAI_BASE_URL": model_service.base_url, "VISION_MAX_RETRIES": "0"}
    paths = [str(shared_image_path(name)) for name in names]
    done = cli(
        "describe", *paths, "--preset", "inspection", "--concurrency", "1", "--store", str(store),
        "--xlsx", str(exported), "--inspector", "J. de Vries", env_extra=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(exported)
    sheet = book[FINDINGS]
    _set(book, FINDINGS, "P1-F1", "Condition score", "5")
    _set(book, FINDINGS, "P1-F1", "Inspector's note", "gauge fitted; 0.4 mm at the top")
    for ref in ("P1-F2", "P1-F4", "P2-F1", "P2-F2"):
        _set(book, FINDINGS, ref, "Origin", AI_CONFIRMED)
    copied = [cell.value for cell in sheet[_cell(sheet, "P2-F2", "Origin").row]]
    copied[HEAD["Where in the photo"] - 1] = "second fixing, top left"
    sheet.append(copied)
    sheet.delete_rows(_cell(sheet, "P1-F3", "Origin").row)
    edited, again = tmp_path / "edited.xlsx", tmp_path / "workbook.xlsx"
    book.save(edited)
    done, _ = report(store, edited, tmp_path, "--xlsx", str(again))
    assert done.returncode == 0, done.stderr
    pdf = libreoffice(SOFFICE, again, tmp_path, "pdf")
    page = tmp_path / "page"
    subprocess.run(
        [pdftoppm, "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(page)],
        check=True,
        timeout=60,
    )
    with Image.open(page.with_suffix(".png")) as image:
        box = ImageOps.invert(image.convert("L")).getbbox()
        assert box is not None, "the page is blank"
        left, top, right, bottom = box
        picture = image.crop((max(left - 24, 0), max(top - 24, 0), right + 24, bottom + 24))
        ARTIFACTS.mkdir(exist_ok=True)
        picture.save(ARTIFACTS / "workbook.png")
    assert picture.width > 1200 and picture.height > 200
    added = [ref for ref, origin in origins(again) if origin == ADDED]
    assert len(added) == 1 and "-A" in added[0] and ("P1-F3", DELETED) in origins(again)


def test_hostile_words_from_the_model_are_text_cells_and_come_back_as_the_ai_said_them(model_service, tmp_path):
    hostile = {
        **BASE,
        "element": '=HYPERLINK("http://example.invalid","click")',
        "defects": [{**BASE["defects"][0], "location": "@SUM(1+1)\x1b[31m red\x07"}],
    }
    model_service.reply(json.dumps(hostile))
    store, book_path = tmp_path / "results.sqlite", tmp_path / "findings.xlsx"
    env = {"OPENAI_BASE_URL": model_service.base_url, "VISION_MAX_RETRIES": "0"}
    path = str(shared_image_path(PHOTOS_SENT[0]))
    done = cli(
        "describe", path, "--preset", "inspection", "--store", str(store), "--xlsx", str(book_path), env_extra=env
    )
    assert done.returncode == 0, done.stderr
    sheet = openpyxl.load_workbook(book_path)[FINDINGS]
    element = sheet.cell(row=2, column=HEAD["Element"])
    assert element.data_type == "s" and element.value.startswith("=HYPERLINK("), "a formula's text, never a formula"
    location = sheet.cell(row=2, column=HEAD["Where in the photo"]).value
    assert location.startswith("@SUM(1+1)") and "\x1b" not in location and "\x07" not in location
    done, docx = report(store, book_path, tmp_path)
    assert done.returncode == 0, done.stderr
    assert next(row for row in table_cells(docx) if any(cell.startswith("@SUM(1+1)") for cell in row))[-1] == (
        AI_NOT_REVIEWED
    ), "read back, the row is the AI's, unchanged"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"ref,photo\nP1-F1,1\n", "is not an Excel workbook (.xlsx)"),
        (b"PK\x03\x04 not really a zip", "the workbook is damaged"),
        (None, "unpacks to"),
    ],
    ids=["a CSV named .xlsx", "a damaged zip", "a zip bomb"],
)
def test_a_file_that_is_no_findings_workbook_is_refused_in_one_line(described, tmp_path, content, expected):
    store, _, _ = described
    given = tmp_path / "given.xlsx"
    if content is None:  # 200 MB of zeros that pack into a few hundred kB
        with zipfile.ZipFile(given, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 200_000_000)
    else:
        given.write_bytes(content)
    done, docx = report(store, given, tmp_path)
    assert done.returncode == 2 and expected in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not docx.exists()


def test_a_cell_a_million_rows_down_is_not_read_row_by_row(described, tmp_path):
    """The reader stops after a long run of empty rows: a million rows of nothing are not walked."""
    store, book_path, _ = described
    book = openpyxl.load_workbook(book_path)
    book[FINDINGS].cell(row=1_048_576, column=1, value="P1-F1")
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    done, docx = report(store, edited, tmp_path)
    assert done.returncode == 0 and docx.exists(), done.stderr


@pytest.mark.office
def test_the_score_is_a_live_formula_libreoffice_recalculates_and_report_derives_again(model_service, tmp_path):
    reply = {**LONG_REPLIES["crack_concrete_ozgenel_a.png"], "condition_score": "4"}
    model_service.reply(json.dumps(reply))
    paths = [str(shared_image_path("crack_concrete_ozgenel_a.png"))]
    store, book_path, _ = describe_inspection(model_service, tmp_path, paths, *SIGNOFF)
    sheet = openpyxl.load_workbook(book_path)[FINDINGS]
    first = [cell.value for cell in sheet[2]]
    score = first[HEAD["Condition score"] - 1]
    assert first[HEAD["Seriousness"] - 1 : HEAD["Share affected"]] == ["critical", "advanced", "10-30 %"]
    assert score.startswith("=") and "MATCH(" in score, "a live formula of the three cells, not a typed score"

    book = openpyxl.load_workbook(book_path)
    book[FINDINGS].cell(row=2, column=HEAD["Share affected"]).value = ">= 70 %"  # the inspector measured it
    book[FINDINGS].cell(row=3, column=HEAD["Intensity"]).value = CANNOT
    book.save(tmp_path / "edited.xlsx")
    calc = saved_by_libreoffice(tmp_path / "edited.xlsx", tmp_path)
    shown = openpyxl.load_workbook(calc, data_only=True)[FINDINGS]  # what LibreOffice computed and cached
    assert shown.cell(row=2, column=HEAD["Condition score"]).value == "5", "critical, advanced, >= 70 %: 3 + 2 + 5 - 5"
    assert shown.cell(row=3, column=HEAD["Condition score"]).value in ("", None), "cannot tell: no condition"
    assert shown.cell(row=4, column=HEAD["Condition score"]).value == "1", "the rows not edited as they were"

    again = tmp_path / "again.csv"
    done, _ = report(store, calc, tmp_path, "--csv", str(again))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(again.read_text(encoding="utf-8-sig"))))
    assert (rows[0]["status"], rows[0]["defect_share"], rows[0]["condition_score"]) == (EDITED, ">= 70 %", "5")
    assert (rows[1]["status"], rows[1]["condition_score"]) == (EDITED, "4"), "not derived: the model's overall 4"
    assert [row["status"] for row in rows[2:]] == [AI_NOT_REVIEWED] * 2

    cached = openpyxl.load_workbook(calc)
    cached[FINDINGS].cell(row=4, column=HEAD["Share affected"]).value = "30-70 %"  # saved without recalculating:
    cached.save(tmp_path / "stale.xlsx")  # openpyxl keeps no cached value; a formula is read as the observations
    done, _ = report(store, tmp_path / "stale.xlsx", tmp_path, "--csv", str(again))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(again.read_text(encoding="utf-8-sig"))))
    assert rows[2]["condition_score"] == "3", "serious, advanced, 30-70 %: derived again on reading, 2 + 2 + 4 - 5"
