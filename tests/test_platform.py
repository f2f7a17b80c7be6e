"""The app as the VIKTOR platform runs it (tests/viktor_platform.py): memoize on, a storage that fails the way
``vkt.Storage`` fails, uploads keyed by their id. Nothing paid for is lost; Forget forgets; what is cached and put
on the page is bounded per photo."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from viktor.errors import InternalError
from werkzeug import Response

from image_analysis import analysis
from image_analysis.review import ADDED, DELETED, EDITED
from image_analysis.workspace_store import GENERATION_KEY
from scripts.make_drawing_set import Sheet, make_set
from tests.conftest import REPO, completion_body, shared_image_path, sse
from tests.reply_corpus import BASE
from tests.viktor_platform import app_params, call, downloaded, reads, upload

COLUMN = REPO / "sample_images" / "site_photo_column_crack.jpg"
PHONE_PHOTOS = ("site_aerial_construction_caliterra_IMG_9402.jpg", "heic_iphone13pro_gps_pug.heic")
REFUSED = {
    "InternalError": lambda key: (
        InternalError("Storage API answered 500: internal server error") if key.startswith("result-") else None
    ),
    "413": lambda key: InternalError("413 Request Entity Too Large") if key.startswith("result-") else None,
}


def reply_inspection(service, element: str = "reinforced concrete column") -> None:
    service.reply(json.dumps({**BASE, "element": element}))


def distinct_jpeg(data: bytes, number: int) -> bytes:
    """The same photo as another file: a comment segment after the start marker changes its hash, not its pixels."""
    comment = f"copy {number}".encode()
    return data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[2:]


def photos(count: int) -> list:
    """``count`` different uploads of phone photos (a 12 MP and a 6 MP JPEG, and once the 12 MP iPhone HEIC)."""
    jpegs = [COLUMN.read_bytes(), shared_image_path(PHONE_PHOTOS[0]).read_bytes()]
    files = [upload(f"photo-{number}.jpg", distinct_jpeg(jpegs[number % 2], number)) for number in range(count)]
    if count >= 3:
        files[2] = upload("photo-2.heic", shared_image_path(PHONE_PHOTOS[1]).read_bytes())
    return files


@pytest.mark.slow
def test_memoize_is_on_a_second_view_sends_nothing(platform, model_service):
    reply_inspection(model_service)
    params = app_params(image=upload("column.jpg", COLUMN.read_bytes()), preset="inspection")
    first = call("analysis", params).html
    assert len(model_service.requests) == 1 and platform.memoized(), "the view's result was memoized"
    assert call("analysis", params).html == first
    for method in ("download_word", "download_html", "download_csv", "map", "fill_review"):
        call(method, params)
    assert len(model_service.requests) == 1, "views, downloads, the map and the review button share the cache"


@pytest.mark.slow
@pytest.mark.parametrize("failure", sorted(REFUSED))
def test_a_refused_store_loses_no_description_on_a_single_image(platform, model_service, failure):
    reply_inspection(model_service, "kept column")
    params = app_params(image=upload("column.jpg", COLUMN.read_bytes()), preset="inspection")
    platform.storage.fail_set = REFUSED[failure]

    html = call("analysis", params).html
    assert "kept column" in html and "Shown but not kept" in html
    [warning] = platform.warnings()
    assert "1 description was shown but not kept" in warning and "InternalError" in warning
    assert platform.storage.results() == [] and platform.memoized()
    _, docx = downloaded(call("download_word", params))
    assert b"word/document.xml" in docx and len(model_service.requests) == 1, "reported from the cache"

    platform.storage.fail_set = None
    assert "Shown but not kept" not in call("analysis", params).html
    assert len(platform.storage.results()) == 1, "the next run keeps it"
    for path in platform.memoized():  # the cache expires (24 h): the store still has it
        path.unlink()
    assert "kept column" in call("analysis", params).html
    assert len(model_service.requests) == 1, "nothing was paid for twice"


@pytest.mark.slow
@pytest.mark.parametrize("failure", sorted(REFUSED))
def test_a_refused_store_loses_no_description_in_a_batch(platform, threaded_model_service, failure):
    reply_inspection(threaded_model_service, "batch column")
    params = app_params(photos=photos(3), preset="inspection")
    platform.storage.fail_set = REFUSED[failure]

    html = call("batch", params).html
    assert html.count("batch column") >= 3 and html.count("Shown but not kept") == 3
    assert "unexpected error" not in html
    assert any("3 descriptions were shown but not kept" in warning for warning in platform.warnings())
    csv = downloaded(call("download_csv", params))[1].decode("utf-8-sig")
    assert csv.count("batch column") >= 3

    platform.storage.fail_set = None
    call("batch", params)
    assert len(platform.storage.results()) == 3
    for path in platform.memoized():
        path.unlink()
    call("batch", params)
    assert len(threaded_model_service.requests) == 3


SHEETS = [Sheet(f"S-10{n}", f"Sheet {n}", sheet=f"{n} of 3") for n in (1, 2, 3)]


def drawing_reply(request):
    block = {"drawing_number": "S-101", "title": "Sheet", "revision": "A", "date_of_issue": "2026-03-14"}
    text = json.dumps({"drawing_kind": "floor plan", "title_block": block, "notes": [], "summary": "A plan."})
    return Response(json.dumps(completion_body(text)), content_type="application/json")


@pytest.mark.process
def test_a_refused_store_loses_no_sheet_of_a_drawing_set(platform, threaded_model_service, tmp_path):
    threaded_model_service.handle(drawing_reply)
    pdf = make_set(tmp_path / "set.pdf", SHEETS).read_bytes()
    params = app_params(image=upload("set.pdf", pdf), preset="drawing", sheets="all")
    platform.storage.fail_set = REFUSED["413"]

    html = call("drawing_set", params).html
    assert html.count("Shown but not kept") == 3 and "A plan." in html
    platform.storage.fail_set = None
    call("drawing_set", params)
    assert len(platform.storage.results()) == 3
    assert len(threaded_model_service.requests) == 3


@pytest.mark.slow
def test_a_failing_read_still_describes(platform, model_service):
    reply_inspection(model_service, "read failed column")
    unavailable = InternalError("503 Service Unavailable")
    platform.storage.fail_get = lambda key: unavailable if key.startswith("result") else None
    params = app_params(image=upload("column.jpg", COLUMN.read_bytes()), preset="inspection")
    assert "read failed column" in call("analysis", params).html
    assert len(model_service.requests) == 1 and len(platform.storage.results()) == 1


@pytest.mark.process
def test_forget_describes_every_upload_and_every_sheet_again(platform, threaded_model_service, tmp_path):
    threaded_model_service.handle(drawing_reply)
    pdf = make_set(tmp_path / "set.pdf", SHEETS).read_bytes()
    params = app_params(image=upload("set.pdf", pdf), preset="drawing", sheets="all", page=2)
    call("drawing_set", params)
    assert len(platform.storage.results()) == 3 and len(threaded_model_service.requests) == 3

    call("forget_results", params)
    assert platform.storage.results() == [], "every sheet of the set, not only the one in 'PDF page'"
    assert ("success", "3 stored results forgotten; the next view describes the uploads again.") in platform.messages
    call("drawing_set", params)
    assert len(threaded_model_service.requests) == 6, "the cached view was not served after Forget"


@pytest.mark.slow
def test_forget_reaches_the_image_and_every_photo(platform, threaded_model_service):
    reply_inspection(threaded_model_service)
    flower = shared_image_path("webp_photo_flower.webp").read_bytes()
    params = app_params(image=upload("flower.webp", flower), photos=photos(2), preset="inspection")
    call("batch", params)
    call("analysis", params)
    assert len(threaded_model_service.requests) == 3
    call("forget_results", params)
    call("batch", params)
    call("analysis", params)
    assert len(threaded_model_service.requests) == 6


@pytest.mark.slow
def test_a_refused_forget_says_so(platform, model_service):
    reply_inspection(model_service)
    params = app_params(image=upload("column.jpg", COLUMN.read_bytes()), preset="inspection")
    call("analysis", params)
    platform.storage.fail_delete = InternalError("403 Forbidden")
    import viktor as vkt

    with pytest.raises(vkt.UserError, match=r"could not delete a result \(InternalError: 403 Forbidden\)"):
        call("forget_results", params)
    assert GENERATION_KEY not in {key for _, key in platform.storage.values}


@pytest.mark.slow
def test_results_older_than_the_retention_are_described_again(platform, model_service):
    reply_inspection(model_service)
    data = COLUMN.read_bytes()
    call("analysis", app_params(image=upload("column.jpg", data), preset="inspection"))
    [(scope, key)] = [entry for entry in platform.storage.values if entry[1].startswith("result-")]
    kept = json.loads(platform.storage.values[(scope, key)])
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat(timespec="seconds")
    platform.storage.values[(scope, key)] = json.dumps({**kept, "stored_at": old}).encode()

    call("analysis", app_params(image=upload("column.jpg", data), preset="inspection", retention="90"))
    assert len(model_service.requests) == 1, "31 days is within 90"
    call("analysis", app_params(image=upload("column.jpg", data), preset="inspection"))
    assert len(model_service.requests) == 2, "31 days is past the default 30: described again"
    assert json.loads(platform.storage.values[(scope, key)])["stored_at"] != old, "and replaced"


@pytest.mark.slow
def test_session_retention_keeps_nothing_in_the_workspace(platform, model_service):
    reply_inspection(model_service)
    params = app_params(image=upload("column.jpg", COLUMN.read_bytes()), preset="inspection", retention="session")
    call("analysis", params)
    assert platform.storage.results("workspace") == [] and len(platform.storage.results("session")) == 1


def test_what_is_stored_holds_no_sent_pixels_and_no_original(platform, model_service):
    reply_inspection(model_service)
    data = COLUMN.read_bytes()
    call("analysis", app_params(image=upload("column.jpg", data), preset="inspection"))
    [value] = [value for (_, key), value in platform.storage.values.items() if key.startswith("result-")]
    stored = json.loads(value)["result"]
    assert [image["data"] for image in stored["preparation"]["images"]] == [None]
    assert stored["preparation"]["shown"]["mime"] == "image/jpeg" and len(value) < 200_000


@pytest.mark.slow
def test_the_chat_sends_the_exact_image_the_view_sent(platform, model_service):
    reply_inspection(model_service)
    params = app_params(image=upload("column.jpg", COLUMN.read_bytes()), preset="inspection")
    call("analysis", params)
    model_service.server.clear_all_handlers()
    answer = sse("It is a ", "shrinkage crack.")
    model_service.handle(lambda request: Response(answer, content_type="text/event-stream"))

    class Conversation:
        def get_messages(self):
            return [{"role": "user", "content": "Is it structural?"}]

    params.upload.chat = Conversation()
    assert "shrinkage" in "".join(call("ask", params)._response)
    _, asked = model_service.requests
    images = [part for part in asked["messages"][1]["content"] if part["type"] == "image_url"]
    assert [part["image_url"]["url"] for part in images] == model_service.image_urls(0)


@pytest.mark.slow
def test_a_batch_reads_its_uploads_as_their_turn_comes(platform, threaded_model_service):
    files = photos(8)
    reads_when_asked = []

    def handle(request):
        reads_when_asked.append(sum(reads(file) for file in files))
        return Response(json.dumps(completion_body(json.dumps(BASE))), content_type="application/json")

    threaded_model_service.handle(handle)
    call("batch", app_params(photos=files, preset="inspection"))
    assert len(reads_when_asked) == 8
    assert reads_when_asked[0] <= analysis.DEFAULT_CONCURRENCY, "not every upload read before the first request"
    assert all(reads(file) == 1 for file in files), "each upload fetched once"


@pytest.mark.slow
def test_a_batch_of_phone_photos_stays_within_400_kb_a_photo(platform, threaded_model_service):
    reply_inspection(threaded_model_service)
    files = photos(6)
    html = call("batch", app_params(photos=files, preset="inspection")).html
    per_photo = (platform.memoized_bytes() + len(html.encode("utf-8"))) / len(files)
    assert per_photo <= 400_000, f"{per_photo:,.0f} bytes a photo"


@pytest.mark.slow
def test_fill_review_keeps_the_inspectors_rows(platform, model_service):
    reply_inspection(model_service)
    files = [upload("column.jpg", COLUMN.read_bytes())]
    rows = call("fill_review", app_params(image=files[0], preset="inspection")).get("review")["findings"]
    rows[0] = {**rows[0], "condition_score": "6", "inspector_note": "measured 0.4 mm"}
    added = {**rows[1], "ref": "", "defect_type": "corrosion", "status": None}
    del rows[1]
    refilled = call("fill_review", app_params(image=files[0], preset="inspection", findings=[*rows, added]))
    again = refilled.get("review")["findings"]
    assert again[0]["inspector_note"] == "measured 0.4 mm" and again[0]["condition_score"] == "6"
    assert [(row["ref"], row["status"]) for row in again] == [
        ("P1-F1", EDITED),
        ("P1-A1", ADDED),
        ("P1-F2", DELETED),
    ], "each row with the origin the reports give it: the added row its own ref, the deleted one marked deleted"
    assert next(row for row in again if row["ref"] == "P1-A1")["defect_type"] == "corrosion"


@pytest.mark.slow
def test_review_rows_do_not_move_to_another_photo_when_the_uploads_change(platform, threaded_model_service):
    reply_inspection(threaded_model_service)
    files = photos(3)
    rows = call("fill_review", app_params(photos=files, preset="inspection")).get("review")["findings"]
    import viktor as vkt

    with pytest.raises(vkt.UserError) as caught:
        call("download_word", app_params(photos=[files[1], files[2]], preset="inspection", findings=rows))
    [violation] = caught.value.input_violations
    assert violation.fields == ["review.findings"]
    assert "column 'Photo file'" in violation.message and "the uploads changed" in violation.message


@pytest.mark.office
def test_the_pdf_download_is_the_word_report_converted_by_the_platform(platform, model_service, monkeypatch):
    """``vkt.convert_word_to_pdf`` runs on the platform: here LibreOffice stands in for it, converting the very
    Word report the app hands over; when the platform's converter fails, the message says what to do instead."""
    import io

    import viktor as vkt
    from pypdf import PdfReader

    from image_analysis.reports.pdf import word_to_pdf

    converted: list[bytes] = []

    def convert(binary):
        converted.append(binary.read())
        return vkt.File.from_data(word_to_pdf(converted[-1]))

    monkeypatch.setattr(vkt, "convert_word_to_pdf", convert)
    reply_inspection(model_service)
    params = app_params(image=upload("column.jpg", COLUMN.read_bytes()), preset="inspection", paper="Letter")
    name, pdf = downloaded(call("download_pdf", params))
    assert name == "image_analysis_report.pdf" and pdf.startswith(b"%PDF")
    assert converted and converted[0].startswith(b"PK"), "the Word report went to the converter"
    first = PdfReader(io.BytesIO(pdf)).pages[0]
    assert (round(float(first.mediabox.width)), round(float(first.mediabox.height))) == (612, 792), "US Letter"
    assert "Site inspection report" in first.extract_text()

    def refuse(binary):
        raise InternalError("conversion service unavailable")

    monkeypatch.setattr(vkt, "convert_word_to_pdf", refuse)
    with pytest.raises(vkt.UserError, match="download the Word report instead"):
        call("download_pdf", params)
    assert len(model_service.requests) == 1, "the description was not paid for again"


@pytest.mark.slow
def test_a_kept_review_the_storage_cannot_read_is_said_and_never_undone(platform, model_service):
    import viktor as vkt

    reply_inspection(model_service)
    image = upload("column.jpg", COLUMN.read_bytes())
    rows = call("fill_review", app_params(image=image, preset="inspection")).get("review")["findings"]
    rows[0] = {**rows[0], "condition_score": "6", "inspector_note": "measured on site"}
    call("fill_review", app_params(image=image, preset="inspection", findings=rows))
    kept = dict(platform.storage.values)

    unavailable = InternalError("503 Service Unavailable")
    platform.storage.fail_get = lambda key: unavailable if key.startswith("decisions") else None
    with pytest.raises(vkt.UserError) as caught:  # a new session, its table empty: the AI's rows would undo it
        call("fill_review", app_params(image=image, preset="inspection"))
    assert "could not be read" in str(caught.value) and "Try again" in str(caught.value)
    assert platform.storage.values == kept, "nothing written over the kept review"

    platform.storage.fail_get = None
    again = call("fill_review", app_params(image=image, preset="inspection")).get("review")["findings"]
    assert (again[0]["status"], again[0]["condition_score"]) == (EDITED, "6"), "read back once the storage answers"
