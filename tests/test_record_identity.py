"""The record's identity cannot be bent by a spreadsheet: LibreOffice Calc opening and saving the findings CSV, a
Dutch-formatted file, renumbered rows, odd photo numbers, quoted line breaks, a batch with the same photo twice or a
failed photo, and files far larger than any record. Each either gives exactly the origins of the unedited CSV or is
refused in one line naming the spreadsheet's own row."""

from __future__ import annotations

import csv
import io
import json
import shutil
import time

import pytest
from werkzeug import Response

from image_analysis.formats.findings_csv import MAX_ROWS
from image_analysis.review import ADDED, AI_NOT_REVIEWED, EDITED
from tests.conftest import completion_body, shared_image_path
from tests.helpers import cli, copied, describe_into_store, excel_rows, libreoffice, save_as_excel
from tests.reply_corpus import BASE

ELEVEN = {
    **BASE,
    "defects": [{"type": "crack", "location": f"zone {number}", "extent": f"{number} m"} for number in range(1, 12)],
}
PHOTOS = ["webp_photo_flower.webp", "crack_concrete_ozgenel_a.png"]


@pytest.fixture(scope="module")
def eleven_once(module_model_service, tmp_path_factory):
    """Two photos with eleven findings each (refs up to P1-F11), in a store, with the findings CSV: made once."""
    return describe_into_store(module_model_service, tmp_path_factory.mktemp("eleven"), PHOTOS, json.dumps(ELEVEN))


@pytest.fixture
def eleven(eleven_once, tmp_path):
    """The store and the CSV, a copy for each test."""
    return copied(eleven_once, tmp_path)


def origins(store, edited, tmp_path) -> list[tuple[str, str]]:
    again = tmp_path / "again.csv"
    done = cli("report", str(edited), "--store", str(store), "--csv", str(again))
    assert done.returncode == 0, done.stderr
    return [(row["ref"], row["status"]) for row in excel_rows(again)]


def refused(store, edited) -> str:
    done = cli("report", str(edited), "--store", str(store))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    return done.stderr


@pytest.mark.office
def test_libreoffice_open_and_save_keeps_every_origin(eleven, tmp_path):
    store, exported = eleven
    unedited = origins(store, exported, tmp_path)
    assert len(unedited) == 22 and {status for _, status in unedited} == {AI_NOT_REVIEWED}
    assert ("P1-F10", AI_NOT_REVIEWED) in unedited
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice Calc (libreoffice-calc-nogui) is needed for this test"
    calc = tmp_path / "calc"
    saved = libreoffice(soffice, exported, calc, "csv:Text - txt - csv (StarCalc):44,34,76", "--infilter=CSV:44,34,76")
    assert origins(store, saved, tmp_path) == unedited


def test_a_dutch_formatted_file_keeps_every_origin(eleven, tmp_path):
    store, exported = eleven
    unedited = origins(store, exported, tmp_path)
    rows = excel_rows(exported)
    for row in rows:  # Excel with Dutch regional settings: decimal commas, semicolons
        for column in ("lat", "lon"):
            row[column] = row[column].replace(".", ",")
    dutch = tmp_path / "dutch.csv"
    save_as_excel(rows, dutch, separator=";")
    assert origins(store, dutch, tmp_path) == unedited


def test_older_refs_are_still_read(eleven, tmp_path):
    store, exported = eleven
    rows = excel_rows(exported)
    for row in rows:
        photo, finding = row["ref"][1:].split("-F")
        row["ref"] = f"{photo}.{finding}"
    old = tmp_path / "old.csv"
    save_as_excel(rows, old)
    assert {status for _, status in origins(store, old, tmp_path)} == {AI_NOT_REVIEWED}


def test_rows_renumbered_to_another_photo_are_refused_naming_the_row(eleven, tmp_path):
    store, exported = eleven
    rows = excel_rows(exported)
    for row in rows:
        if row["photo"] == "2":
            row["photo"] = "1"
    moved = tmp_path / "moved.csv"
    save_as_excel(rows, moved)
    message = refused(store, moved)
    assert "row 13, column " in message
    assert "of photo 2, not of photo 1" in message or "photo 1 is now 'webp_photo_flower.webp'" in message


@pytest.mark.parametrize("photo", ["-5", "0", "1e23", "1.7", "inf", "1e309", "two"])
def test_a_photo_number_that_is_not_a_whole_number_from_1_is_refused(eleven, tmp_path, photo):
    store, exported = eleven
    rows = excel_rows(exported)
    rows[3]["photo"] = photo
    odd = tmp_path / "odd.csv"
    save_as_excel(rows, odd)
    message = refused(store, odd)
    assert f"row 5, column 'photo': '{photo}' is not a photo number" in message


def test_messages_name_the_spreadsheets_row_even_after_a_line_break_in_a_cell(eleven, tmp_path):
    store, exported = eleven
    rows = excel_rows(exported)
    rows[0]["inspector_note"] = "first line\nsecond line\nthird line"
    rows[4]["condition_score"] = "8"
    noted = tmp_path / "noted.csv"
    save_as_excel(rows, noted)
    assert "row 6, column 'condition_score'" in refused(store, noted)


def test_a_copied_row_is_added_not_edited(eleven, tmp_path):
    store, exported = eleven
    rows = excel_rows(exported)
    rows.insert(1, {**rows[0], "defect_type": "corrosion", "defect_location": "the bearing"})
    copied = tmp_path / "copied.csv"
    save_as_excel(rows, copied)
    statuses = origins(store, copied, tmp_path)
    assert statuses[0] == ("P1-F1", AI_NOT_REVIEWED), "the AI's row stays the AI's"
    assert statuses[11] == ("P1-A1", ADDED), "the copy is the inspector's own, after the photo's AI findings"
    assert EDITED not in {status for _, status in statuses}


def test_a_batch_with_the_same_photo_twice_and_a_failed_photo_round_trips_unedited(threaded_model_service, tmp_path):
    threaded_model_service.handle(
        lambda request: Response(json.dumps(completion_body(json.dumps(BASE))), content_type="application/json")
    )
    photo = str(shared_image_path("webp_photo_flower.webp"))
    failing = str(shared_image_path("corrupt_truncated_jpeg.jpg"))
    store, exported = tmp_path / "results.sqlite", tmp_path / "findings.csv"
    env = {"OPENAI_BASE_URL": threaded_model_service.base_url, "VISION_MAX_RETRIES": "0"}
    done = cli(
        "describe",
        photo,
        photo,
        failing,
        "--preset",
        "inspection",
        "--store",
        str(store),
        "--csv",
        str(exported),
        env_extra=env,
    )
    assert done.returncode == 2, done.stderr
    assert len(threaded_model_service.requests) == 1, "the same photo twice is described once"
    assert "1 file was the same photo as another" in done.stderr, "and the user is told it is listed once"
    statuses = origins(store, exported, tmp_path)
    assert statuses == [("P1-F1", AI_NOT_REVIEWED), ("P1-F2", AI_NOT_REVIEWED), ("", "")], "one photo, then the failed"


def test_a_csv_far_larger_than_any_record_is_refused_at_once(eleven, tmp_path):
    store, exported = eleven
    header = exported.read_text(encoding="utf-8-sig").splitlines()[0]
    columns = next(csv.reader([header]))
    huge = tmp_path / "huge.csv"
    row = ",".join("1" if name == "photo" else "" for name in columns)
    huge.write_text(header + "\n" + (row + "\n") * 1_000_001, encoding="utf-8")
    start = time.monotonic()
    message = refused(store, huge)
    assert time.monotonic() - start < 20, "refused within the budget"
    assert f"more than {MAX_ROWS:,} findings rows" in message or "bytes; a findings CSV is at most" in message

    many = tmp_path / "many.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for _ in range(100_000):
        writer.writerow(["1" if name == "photo" else "" for name in columns])
    many.write_text(buffer.getvalue(), encoding="utf-8")
    assert f"row {MAX_ROWS + 2:,}".replace(",", "") in refused(store, many).replace(",", "")
