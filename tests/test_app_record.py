"""The inspector's record in the VIKTOR app, through viktor.testing: the review table filled by its button, edited,
and used by the reports; a bad row marked on the table; stored results used without a request (mock_Storage); the
photos on the map."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections import Counter

import openpyxl
import pytest
import viktor as vkt
from docx import Document

from image_analysis.inspection.assignment import BY_INSPECTOR
from image_analysis.review import AI_NOT_REVIEWED, DELETED, EDITED, ORIGINS
from tests.conftest import REPO, shared_image_path
from tests.reply_corpus import BASE
from tests.viktor_platform import app_params, call, downloaded, upload

SITE = "site_aerial_construction_caliterra_IMG_9402.jpg"  # has GPS
COLUMN = REPO / "sample_images" / "site_photo_column_crack.jpg"  # has GPS
FLOWER = "webp_photo_flower.webp"  # no GPS


FILES = {
    "column.jpg": COLUMN.read_bytes(),
    "site.jpg": shared_image_path(SITE).read_bytes(),
    "flower.webp": shared_image_path(FLOWER).read_bytes(),
}


def inspection_params(findings=None, **signoff):
    files = [upload(name, data) for name, data in FILES.items()]
    return app_params(image=files[0], photos=files[1:], preset="inspection", findings=findings or [], **signoff)


def test_the_button_fills_the_review_table_with_the_ai_findings_numbered_as_in_the_reports(model_service):
    model_service.reply(json.dumps(BASE))
    result = call("fill_review", inspection_params())
    rows = result.get("review")["findings"]
    assert [(row["photo"], row["ref"], row["defect_type"]) for row in rows] == [
        (1, "P1-F1", "crack"),
        (1, "P1-F2", "spalling"),
        (2, "P2-F1", "crack"),
        (2, "P2-F2", "spalling"),
        (3, "P3-F1", "crack"),
        (3, "P3-F2", "spalling"),
    ]
    assert {row["status"] for row in rows} == {AI_NOT_REVIEWED}
    assert rows[0]["condition_score"] == "4" and rows[0]["element"] == "reinforced concrete column"


@pytest.mark.slow
def test_edited_rows_go_into_every_report_marked_as_the_inspectors(model_service):
    model_service.reply(json.dumps(BASE))
    rows = call("fill_review", inspection_params()).get("review")["findings"]
    rows[0] = {**rows[0], "location": "north face, at the base", "condition_score": "5"}
    del rows[1]
    params = inspection_params(rows, inspector="J. de Vries", project="Kade Noord", reference="INS-14")

    _, docx = downloaded(call("download_word", params))
    document = Document(io.BytesIO(docx))
    cells = [
        [cell.text.replace("\xa0", " ").replace("\u2011", "-") for cell in row.cells]
        for table in document.tables
        for row in table.rows
    ]
    edited = next(row for row in cells if "north face, at the base" in row)
    assert edited[-1] == EDITED and "5 (inspector's score, not derived)" in edited
    assert ["Inspector", "J. de Vries"] in cells
    assert not any("lower right corner" in row for row in cells[: cells.index(edited) + 2]), "a deleted row is gone"

    csv_text = downloaded(call("download_csv", params))[1].decode("utf-8-sig")
    statuses = [(row["ref"], row["status"]) for row in csv.DictReader(io.StringIO(csv_text))]
    assert statuses[0] == ("P1-F1", EDITED) and ("P1-F2", AI_NOT_REVIEWED) not in statuses

    html = downloaded(call("download_html", params))[1].decode("utf-8")
    assert "north face, at the base" in html and "Reviewed by J. de Vries" in html


@pytest.mark.slow
def test_a_bad_row_is_marked_on_the_review_table(model_service):
    model_service.reply(json.dumps(BASE))
    rows = call("fill_review", inspection_params()).get("review")["findings"]
    rows[2] = {**rows[2], "condition_score": "9"}
    message = _refused_on_the_table("download_word", rows)
    assert "row 3, column 'Condition score': '9' is not on the NEN 2767" in message


def _refused_on_the_table(method: str, rows) -> str:
    """The message a call refused for a row of the review table gives, marked on the table."""
    with pytest.raises(vkt.UserError) as caught:
        call(method, inspection_params(rows))
    [violation] = caught.value.input_violations
    assert violation.fields == ["review.findings"]
    return violation.message


@pytest.mark.slow
def test_the_map_shows_the_photos_with_gps_coloured_by_score_and_lists_the_others(model_service):
    model_service.reply(json.dumps(BASE))
    rows = call("fill_review", inspection_params()).get("review")["findings"]
    rows = [{**row, "condition_score": "6"} if row["photo"] == 2 else row for row in rows]
    result = call("map", inspection_params(rows))
    features = result.geojson["features"]
    titles = {feature["properties"]["title"]: feature["properties"]["marker-color"] for feature in features}
    assert set(titles) == {"1. column.jpg", "2. site.jpg"}
    assert titles["2. site.jpg"] != titles["1. column.jpg"], "score 6 and score 4 differ in colour"
    site = next(feature for feature in features if feature["properties"]["title"] == "2. site.jpg")
    assert site["geometry"]["coordinates"] == pytest.approx([-98.089843, 30.170995], abs=1e-5)
    legend = [label for _, label in result.legend._entries]
    assert "6: very poor" in legend and "No GPS: 3. flower.webp" in legend


@pytest.mark.slow
def test_the_excel_download_edited_and_uploaded_again_fills_the_review_table_with_its_rows_and_origins(
    model_service, tmp_path
):
    from tests.helpers import EDITED_ORIGINS, edit_as_an_inspector, origins

    model_service.reply(json.dumps(BASE))
    name, content = downloaded(call("download_workbook", inspection_params()))
    assert name.endswith(".xlsx")
    exported, edited = tmp_path / "findings.xlsx", tmp_path / "edited.xlsx"
    exported.write_bytes(content)
    edit_as_an_inspector(exported, edited)
    book = openpyxl.load_workbook(edited)
    signoff = book["Sign-off"]
    next(row for row in signoff.iter_rows() if row[0].value == "Inspector")[1].value = "J. de Vries"
    book.save(edited)

    workbook = upload("edited.xlsx", edited.read_bytes())
    filled = call("fill_from_workbook", inspection_params(workbook=workbook)).get("review")
    assert filled["inspector"] == "J. de Vries", "the sign-off the workbook fills in"
    rows = filled["findings"]
    assert {row["file"] for row in rows if row["photo"] == 1} == {"column.jpg"}
    params = inspection_params(rows, inspector=filled["inspector"])
    again = tmp_path / "again.xlsx"
    again.write_bytes(downloaded(call("download_workbook", params))[1])
    expected = [*EDITED_ORIGINS, ("P3-F1", AI_NOT_REVIEWED), ("P3-F2", AI_NOT_REVIEWED)]
    assert origins(again) == expected, "the same rows and origins as the command line reads from the workbook"


@pytest.mark.slow
def test_a_bad_cell_of_the_uploaded_workbook_is_marked_on_its_field_with_sheet_row_and_column(model_service, tmp_path):
    model_service.reply(json.dumps(BASE))
    content = downloaded(call("download_workbook", inspection_params()))[1]
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book["Findings"]
    score = [cell.value for cell in sheet[1]].index("Condition score") + 1
    sheet.cell(row=4, column=score, value="8")
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(vkt.UserError) as caught:
        call("fill_from_workbook", inspection_params(workbook=upload("edited.xlsx", buffer.getvalue())))
    [violation] = caught.value.input_violations
    assert violation.fields == ["review.workbook"]
    assert "sheet Findings, row 4, column 'Condition score': '8' is not on the NEN 2767" in violation.message


@pytest.mark.slow
def test_the_table_filled_from_a_workbook_shows_each_origin_as_the_report_does_and_a_new_session_reads_it_back(
    platform, model_service, tmp_path
):
    from tests.helpers import EDITED_ORIGINS, edit_as_an_inspector

    model_service.reply(json.dumps(BASE))
    exported, edited = tmp_path / "findings.xlsx", tmp_path / "edited.xlsx"
    exported.write_bytes(downloaded(call("download_workbook", inspection_params()))[1])
    edit_as_an_inspector(exported, edited)  # a score changed, rows confirmed, a copy added, a row deleted, sorted
    workbook = upload("edited.xlsx", edited.read_bytes())
    rows = call("fill_from_workbook", inspection_params(workbook=workbook)).get("review")["findings"]
    expected = [*EDITED_ORIGINS, ("P3-F1", AI_NOT_REVIEWED), ("P3-F2", AI_NOT_REVIEWED)]
    assert sorted((row["ref"], row["status"]) for row in rows) == expected, "each row as the report will mark it"
    assert ("entity:1", "decisions:editor") in platform.storage.values, "the decisions kept with the entity"

    _, docx = downloaded(call("download_word", inspection_params(rows)))
    cells = [[cell.text for cell in row.cells] for table in Document(io.BytesIO(docx)).tables for row in table.rows]
    in_report = Counter(row[-1] for row in cells if row[-1] in ORIGINS)
    assert in_report == Counter(row["status"] for row in rows if row["status"] != DELETED), "the table's origins"
    paragraphs = [p.text.replace("\u2011", "-") for p in Document(io.BytesIO(docx)).paragraphs]
    assert any("P2-F2" in text and "deleted" in text for text in paragraphs)

    shutil.rmtree(platform.cache, ignore_errors=True)  # a new editor session: nothing memoized, the table empty
    again = call("fill_review", inspection_params()).get("review")["findings"]
    assert [(row["ref"], row["status"], row["location"]) for row in again] == [
        (row["ref"], row["status"], row["location"]) for row in rows
    ], "the decisions read back from the storage"


@pytest.mark.slow
def test_the_same_photo_uploaded_twice_is_one_photo_in_the_review_and_the_report(model_service):
    model_service.reply(json.dumps(BASE))
    flower = FILES["flower.webp"]
    photos = [
        upload("IMG_0001.webp", flower),
        upload("site.jpg", FILES["site.jpg"]),
        upload("IMG_0001 (1).webp", flower),
    ]
    params = app_params(photos=photos, preset="inspection", findings=[])
    rows = call("fill_review", params).get("review")["findings"]
    assert sorted({(row["photo"], row["file"]) for row in rows}) == [(1, "IMG_0001.webp"), (2, "site.jpg")]
    html = downloaded(call("download_html", params))[1].decode("utf-8")
    assert "Also uploaded as &#39;IMG_0001 (1).webp&#39;" in html


@pytest.mark.slow
def test_in_the_app_table_a_score_left_as_it_was_follows_the_observations_and_ones_own_needs_a_reason(
    platform, model_service
):
    from tests.long_replies import LONG_REPLIES

    model_service.reply(json.dumps(LONG_REPLIES["crack_concrete_ozgenel_a.png"]))
    rows = call("fill_review", inspection_params()).get("review")["findings"]
    assert (rows[0]["share"], rows[0]["condition_score"]) == ("10-30 %", "3"), "critical, advanced: 3 + 2 + 3 - 5"

    rows[0] = {**rows[0], "share": ">= 70 %"}  # the score cell left at 3
    rows = call("fill_review", inspection_params(rows)).get("review")["findings"]
    assert (rows[0]["status"], rows[0]["condition_score"]) == (EDITED, "5"), "the score followed"
    rows[0] = {**rows[0], "share": "30-70 %"}  # the table as the button left it, the score cell saying 5
    rows = call("fill_review", inspection_params(rows)).get("review")["findings"]
    assert rows[0]["condition_score"] == "4", "the kept review knew 5 was derived: it follows again"

    rows[0] = {**rows[0], "condition_score": "6"}
    message = _refused_on_the_table("fill_review", rows)
    assert "6 is not the condition NEN 2767 derives from what was observed" in message
    rows[0] = {**rows[0], "inspector_note": "the crack runs through the bearing seat"}
    rows = call("fill_review", inspection_params(rows)).get("review")["findings"]
    assert rows[0]["condition_score"] == "6"
    html = downloaded(call("download_html", inspection_params(rows)))[1].decode("utf-8").replace("\xa0", " ")
    assert "6 (inspector; derived 4)" in html


@pytest.mark.slow
def test_the_quality_view_measures_the_review_and_its_workbook_downloads(platform, model_service):
    model_service.reply(json.dumps(BASE))
    with pytest.raises(vkt.UserError, match="No finding is reviewed yet"):
        call("quality", inspection_params())
    rows = call("fill_review", inspection_params()).get("review")["findings"]
    rows = [{**row, "status": "AI, confirmed"} for row in rows]
    rows[0] = {**rows[0], "defect_type": "spalling"}  # edited: the AI said crack
    del rows[1]  # deleted
    html = call("quality", inspection_params(rows)).html
    assert "How often the AI is right" in html and "Precision</td>" in html.replace('data-label="Measure">', ">")
    assert "5 of 6" in html, "precision below ten findings: a count, not a percentage"
    name, content = downloaded(call("download_quality", inspection_params(rows)))
    sheet = openpyxl.load_workbook(io.BytesIO(content))["AI findings"]
    decisions = sorted(row[4] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert name.endswith(".xlsx") and decisions == ["confirmed"] * 4 + ["deleted", "edited"]


@pytest.mark.slow
def test_the_workspace_quality_reads_every_editors_kept_review(platform, model_service):
    model_service.reply(json.dumps(BASE))
    workspace = {"quality_scope": "workspace"}
    with pytest.raises(vkt.UserError, match="No reviewed inspection is kept in the workspace yet"):
        call("quality", inspection_params(**workspace))
    confirmed = [
        {**row, "status": "AI, confirmed"}
        for row in call("fill_review", inspection_params(), entity=1).get("review")["findings"]
    ]
    call("fill_review", inspection_params(confirmed), entity=1)  # six confirmed in the first editor
    call("fill_review", inspection_params(confirmed[::2]), entity=2)  # each photo's second finding deleted
    shared = sorted(key for where, key in platform.storage.values if where == "workspace" and ":entity-" in key)
    assert shared == ["decisions:entity-1", "decisions:entity-2", "inspection:entity-1", "inspection:entity-2"]

    html = call("quality", inspection_params(**workspace), entity=3).html.replace("\xa0", " ").replace("\u2011", "-")
    assert "2 reviewed inspections" in html and "75 % (47-91 %, n = 12)" in html, "both editors': 6 + 3 kept of 12"
    assert any("reviews kept in the workspace" in line for line in platform.progress)
    _, content = downloaded(call("download_quality", inspection_params(**workspace), entity=3))
    sheet = openpyxl.load_workbook(io.BytesIO(content))["AI findings"]
    decisions = Counter(row[4] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert decisions == {"confirmed": 9, "deleted": 3}

    for where, key in [item for item in platform.storage.values if item[1].startswith("result-")]:
        del platform.storage.values[(where, key)]  # the photos' results expired: each inspection left out, said why
    with pytest.raises(vkt.UserError, match=r"can be measured. Left out: entity-1 \(Inspection 1\): photo 1"):
        call("quality", inspection_params(**workspace), entity=3)

    session = inspection_params(**workspace, retention="session")
    with pytest.raises(vkt.UserError, match="kept for this editor session only") as raised:
        call("quality", session)
    assert raised.value.input_violations[0].fields == ["review.quality_scope"]


ELEMENT_LIST = (
    b"element_id,name,kind,material\nC1,Reinforced concrete column,column,concrete\nW1,Quay wall,wall,masonry\n"
)


def _compare_params(findings=None, **given):
    return inspection_params(
        findings, object_id="BR-10", elements=upload("elements.csv", ELEMENT_LIST), location="Bridge 10", **given
    )


@pytest.mark.slow
def test_two_editors_of_one_object_are_compared_element_by_element(platform, model_service):
    change = {"comparable": "yes", "previous_defects": [], "new_defects": [], "summary": "compared"}

    def answer(request):
        from werkzeug import Response

        from tests.conftest import completion_body

        text = request.get_json()["messages"][1]["content"][0]["text"]
        if "Two site photos of the same element" in text:
            refs = re.findall(r'"ref": "(P\d+-F\d+)"', text)
            said = {**change, "previous_defects": [{"ref": ref, "change": "worse", "notes": "longer"} for ref in refs]}
            return Response(json.dumps(completion_body(json.dumps(said))), content_type="application/json")
        return Response(json.dumps(completion_body(json.dumps(BASE))), content_type="application/json")

    model_service.handle(answer)
    before = _compare_params(inspection_date="2025-11-20", inspector="J. de Vries")
    rows = call("fill_elements", before, entity=1).get("compare")["element_photos"]
    assert {row["element"] for row in rows} == {"C1"} and all(
        "the model's element" in row["assigned_by"] for row in rows
    )
    reviewed = [
        {**row, "status": "AI, confirmed"} for row in call("fill_review", before, entity=1).get("review")["findings"]
    ]
    call("fill_review", _compare_params(reviewed, inspection_date="2025-11-20"), entity=1)  # kept and shared

    now = {"inspection_date": "2026-11-19", "inspector": "A. Jansen"}
    rows = call("fill_elements", _compare_params(**now), entity=2).get("compare")["element_photos"]
    by_gps = [row for row in rows if row["assigned_by"].startswith("GPS of the previous photo")]
    assert by_gps, "a photo at the place of the previous inspection's photo of C1"
    sent = len(model_service.requests)
    html = call("compare_view", _compare_params(element_photos=rows, **now), entity=2).html
    assert "Changes since the inspection of 2025-11-20" in html and "C1 Reinforced concrete column" in html
    changes = [request for request in model_service.requests[sent:] if "Two site photos" in json.dumps(request)]
    assert len(changes) == 3 and all(len(model_service.image_urls(sent + index)) == 2 for index in range(3))
    assert "worse" in html and "not decided" in html

    _, table = downloaded(call("download_changes", _compare_params(element_photos=rows, **now), entity=2))
    decided = list(csv.DictReader(io.StringIO(table.decode("utf-8-sig"))))
    assert decided and {row["suggested"] for row in decided} == {"worse"}
    for row in decided:
        row["decided"] = "worse"
    written = io.StringIO()
    writer = csv.DictWriter(written, fieldnames=list(decided[0]))
    writer.writeheader()
    writer.writerows(decided)
    sheet = upload("changes.csv", written.getvalue().encode())
    params = _compare_params(element_photos=rows, decisions=sheet, **now)
    sent = len(model_service.requests)
    html = call("compare_view", params, entity=2).html
    assert "worse (A. Jansen)" in html and len(model_service.requests) == sent, "answers kept: nothing sent again"

    table = call("fill_changes", params, entity=2).get("compare")["changes"]
    assert len(table) == len(decided) and {row["decided"] for row in table} == {"worse"}
    table[0] = {**table[0], "decided": "unchanged", "note": "the same hairline, measured on site"}
    html = call(
        "compare_view", _compare_params(element_photos=rows, decisions=sheet, changes=table, **now), entity=2
    ).html
    assert "unchanged (A. Jansen): the same hairline, measured on site" in html, "the table decides, the CSV left"
    again = call("fill_changes", params, entity=2).get("compare")["changes"]
    assert again[0]["decided"] == "unchanged", "the CSV still on its field does not undo the table's decision"

    cleared = [{**rows[0], "element": ""}, *rows[1:]]
    again = call("fill_elements", _compare_params(element_photos=cleared, **now), entity=2).get("compare")
    kept = again["element_photos"]
    assert (kept[0]["element"], kept[0]["assigned_by"]) == ("", BY_INSPECTOR), "a cleared element stays cleared"
    assert [row["element"] for row in kept[1:]] == [row["element"] for row in rows[1:]]

    _, content = downloaded(call("download_workbook", _compare_params(element_photos=kept, **now), entity=2))
    book = openpyxl.load_workbook(io.BytesIO(content))
    photos = {row[1]: row[2:5] for row in book["Photos"].iter_rows(min_row=2, values_only=True)}
    assert [element for element, _, _ in photos.values()] == [row["element"] or None for row in kept]
    assert any(previous and previous.endswith("on 2025-11-20") for _, previous, _ in photos.values())
    book["Photos"]["C2"] = "W1"  # the inspector says photo 1 shows the quay wall
    edited = io.BytesIO()
    book.save(edited)
    params = _compare_params(element_photos=kept, workbook=upload("findings.xlsx", edited.getvalue()), **now)
    chosen = call("fill_from_workbook", params, entity=2).get("compare")["element_photos"]
    assert (chosen[0]["element"], chosen[0]["assigned_by"]) == ("W1", BY_INSPECTOR)
    assert [row["element"] for row in chosen[1:]] == [row["element"] for row in kept[1:]]

    wrong = [{**rows[0], "element": "X9"}, *rows[1:]]
    with pytest.raises(vkt.UserError, match="'X9' is not an element of BR-10") as raised:
        call("compare_view", _compare_params(element_photos=wrong, **now), entity=2)
    assert raised.value.input_violations[0].fields == ["compare.element_photos"]
