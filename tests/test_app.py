"""The VIKTOR controller through viktor.testing, with the model service on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
import viktor as vkt
from werkzeug import Response

from tests.conftest import TEST_API_KEY, shared_image_path, sse
from tests.viktor_platform import app_params, call, downloaded, upload


def params_with(image: bytes | None, name: str = "photo.jpg", question: str = "", preset: str = "general"):
    return app_params(
        image=upload(name, image) if image is not None else None, question=question, preset=preset, language="en"
    )


def open_view(params):
    """Run the WebView as VIKTOR would (mock_View lets a view be called outside the platform)."""
    return call("analysis", params)


def test_the_view_shows_the_sent_image_and_its_description(model_service, shared_image):
    model_service.reply("## Concrete wall\n- **Crack** running diagonally, lower left.")
    params = params_with(shared_image("exif_orientation_6_landscape.jpg"), "wall.jpg", question="Is it wide?")

    result = open_view(params)

    html = result.html
    assert isinstance(result, vkt.WebResult)
    assert 'src="data:image/jpeg;base64,' in html
    assert "<strong>Crack</strong> running diagonally" in html
    assert "wall.jpg" in html and "1540 × 1036 px" in html and "2,072" in html
    [request] = model_service.requests
    assert "Is it wide?" in request["messages"][1]["content"][0]["text"]
    assert request["messages"][1]["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_a_png_upload_named_jpg_is_sent_with_the_mime_type_of_its_bytes(model_service, shared_image):
    model_service.reply("A floor plan.")
    params = params_with(shared_image("floorplan_mlstruct_f23ccf_flattened_2400w.png"), "plan.jpg")
    html = open_view(params).html
    assert 'src="data:image/png;base64,' in html
    urls = model_service.image_urls()
    assert urls and all(url.startswith("data:image/png;base64,") for url in urls)


def test_without_an_image_the_view_says_what_to_do_and_calls_no_model(model_service):
    html = open_view(params_with(None)).html
    assert "Upload a site photo or an engineering drawing" in html
    assert model_service.requests == []


def test_a_broken_upload_is_marked_on_the_image_field(model_service, shared_image):
    params = params_with(shared_image("corrupt_truncated_jpeg.jpg"), "broken.jpg")
    with pytest.raises(vkt.UserError) as caught:
        open_view(params)
    [violation] = caught.value.input_violations
    assert violation.fields == ["upload.image"]
    assert "'broken.jpg'" in violation.message and "truncated" in violation.message
    assert model_service.requests == []


def test_the_fair_usage_limit_is_a_user_error(model_service, shared_image):
    model_service.fail(429, {"error": {"message": "rate limited"}})
    params = params_with(shared_image("webp_photo_flower.webp"), "flower.webp")
    with pytest.raises(vkt.UserError, match=r"Fair usage limit reached\. Please try again later\."):
        open_view(params)


def test_the_drawing_choice_sends_a_photo_losslessly(model_service, shared_image):
    model_service.reply("ok")
    params = params_with(shared_image("crack_concrete_ozgenel_a.png"), "crack.png", preset="drawing")
    assert 'src="data:image/png;base64,' in open_view(params).html


@pytest.mark.process
def test_importing_the_app_needs_no_network_and_no_viktor_environment(tmp_path):
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIKTOR", "OPENAI"))}
    code = "import app; print(app.Controller.label)"
    done = subprocess.run([sys.executable, "-c", code], cwd=os.getcwd(), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Image analysis"


def batch_params(photos: list[tuple[str, bytes]], preset: str = "inspection", image: bytes | None = None):
    return app_params(
        image=upload("single.jpg", image) if image is not None else None,
        photos=[upload(name, data) for name, data in photos],
        preset=preset,
        language="nl",
    )


INSPECTION_REPLY = (
    '{"element": "kolom", "material": "beton", "defects": [{"type": "crack", "location": "midden", '
    '"extent": "1 m"}], "condition_score": "4", "recommended_action": "herstellen", "urgency": "within months", '
    '"confidence": "medium", "summary": "Gescheurde kolom."}'
)


def test_an_inspection_shows_its_findings_as_tables_in_the_chosen_language(model_service, shared_image):
    model_service.reply(INSPECTION_REPLY)
    params = params_with(shared_image("crack_concrete_ozgenel_a.png"), "crack.png", preset="inspection")
    params.upload.language = "nl"
    html = open_view(params).html
    assert '"Defect">crack</td>' in html and "4\xa0(mediocre)" in html and "Gescheurde kolom." in html
    prompt = model_service.requests[0]["messages"][1]["content"][0]["text"]
    assert "NEN 2767" in prompt and "Write all free text in Dutch" in prompt


def test_a_reply_that_is_not_in_the_findings_format_is_shown_as_it_came(model_service, shared_image):
    model_service.reply("I see a <b>wall</b> with a crack.")
    params = params_with(shared_image("crack_concrete_ozgenel_a.png"), "crack.png", preset="inspection")
    html = open_view(params).html
    assert "did not come in the findings format" in html
    assert "I see a &lt;b&gt;wall&lt;/b&gt; with a crack." in html


def test_the_batch_view_numbers_photos_in_upload_order_and_keeps_failures_in_place(model_service, shared_image):
    model_service.reply(INSPECTION_REPLY)
    photos = [
        (name, shared_image(name))
        for name in ("webp_photo_flower.webp", "corrupt_truncated_jpeg.jpg", "crack_concrete_ozgenel_b.png")
    ]
    html = call("batch", batch_params(photos)).html
    positions = [html.index(f'id="entry-{n}-title"') for n in range(1, 4)]
    names = [html.index(f'<span class="file-name">{name}</span>') for name, _ in photos]
    assert positions == sorted(positions) and names == sorted(names)
    assert all(position < name for position, name in zip(positions, names, strict=True))
    assert "truncated" in html and html.count('<p class="entry-summary">Gescheurde kolom.</p>') == 2
    assert len(model_service.requests) == 2


def test_more_than_fifty_photos_are_marked_on_the_photos_field(model_service, shared_image):
    photo = shared_image("webp_photo_flower.webp")
    with pytest.raises(vkt.UserError) as caught:
        call("batch", batch_params([(f"p{n}.webp", photo) for n in range(51)]))
    assert caught.value.input_violations[0].fields == ["upload.photos"]
    assert model_service.requests == []


@pytest.mark.slow
def test_the_downloads_cover_the_image_then_the_photos(model_service, shared_image):
    model_service.reply(INSPECTION_REPLY)
    params = batch_params(
        [("p.webp", shared_image("webp_photo_flower.webp"))], image=shared_image("crack_concrete_ozgenel_a.png")
    )
    name, content = downloaded(call("download_word", params))
    assert name.endswith(".docx")
    import io

    from docx import Document

    document = Document(io.BytesIO(content))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["Condition summary", "Photo 1 — Kolom", "Photo 2 — Kolom", "Appendix"]
    names = [p.text for p in document.paragraphs if p.text in ("single.jpg", "p.webp")]
    assert names == ["single.jpg", "p.webp"], "each heading has its file name under it"
    csv_text = downloaded(call("download_csv", params))[1].decode("utf-8")
    assert csv_text.count("crack") == 2
    html = downloaded(call("download_html", params))[1].decode("utf-8")
    assert html.index('"file-name">single.jpg') < html.index('"file-name">p.webp')


def test_a_download_without_uploads_says_what_to_do(model_service):
    with pytest.raises(vkt.UserError, match="Upload an image or photos first"):
        call("download_word", batch_params([]))


class Conversation:
    """Stands in for VIKTOR's ChatConversation, whose history comes from the platform's API."""

    def __init__(self, messages):
        self.messages = messages

    def get_messages(self):
        return self.messages


def test_the_controller_answers_about_the_image_the_view_sent(model_service):
    data = shared_image_path("webp_photo_flower.webp").read_bytes()
    params = app_params(image=upload("f.webp", data))
    params.upload.chat = Conversation([{"role": "user", "content": "What colour is the flower?"}])
    model_service.server.expect_ordered_request("/v1/chat/completions").respond_with_json(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "A white flower."}, "finish_reason": "stop"}
            ],
        }
    )
    model_service.server.expect_ordered_request("/v1/chat/completions").respond_with_response(
        Response(sse("White", " with yellow."), content_type="text/event-stream")
    )

    result = call("ask", params)
    assert "".join(result._response) == "White with yellow."
    first, follow_up = model_service.requests
    sent = [p["image_url"]["url"] for p in first["messages"][1]["content"] if p["type"] == "image_url"]
    assert [p["image_url"]["url"] for p in follow_up["messages"][1]["content"] if p["type"] == "image_url"] == sent
    assert TEST_API_KEY not in json.dumps(follow_up)


@pytest.mark.faults
@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, {"error": {"message": "limit"}}, r"^Fair usage limit reached\. Please try again later\.$"),
        (503, {"error": {"message": "overloaded"}}, r"failed \(HTTP 503\)"),
        (413, "<html><h1>413 Request Entity Too Large</h1></html>", r"too large.*smaller image"),
        (200, '{"choices": [ oops', r"could not be read"),
    ],
)
def test_each_fault_is_a_clear_user_error_in_the_app(model_service, shared_image, status, body, expected):
    payload = body if isinstance(body, str) else json.dumps(body)
    model_service.server.expect_request("/v1/chat/completions").respond_with_response(
        Response(payload, status=status, content_type="application/json")
    )
    with pytest.raises(vkt.UserError, match=expected):
        open_view(params_with(shared_image("webp_photo_flower.webp"), "f.webp"))


def test_a_batch_with_a_failure_says_to_run_it_again_and_is_not_cached(model_service, shared_image):
    model_service.reply(INSPECTION_REPLY)
    photos = [
        ("ok.webp", shared_image("webp_photo_flower.webp")),
        ("bad.jpg", shared_image("corrupt_truncated_jpeg.jpg")),
    ]
    html = call("batch", batch_params(photos)).html
    assert "1 photo without a description (photo 2)" in html and "Run the analysis again to retry it." in html


@pytest.mark.parametrize(
    "body",
    [
        {"choices": [{"index": 0, "message": {"role": "assistant", "content": 42}, "finish_reason": "stop"}]},
        {"choices": [None]},
    ],
    ids=["content 42", "choices [null]"],
)
def test_a_malformed_reply_is_a_user_error_with_the_reason(model_service, shared_image, body):
    model_service.server.expect_request("/v1/chat/completions").respond_with_json({"model": "m", **body})
    with pytest.raises(vkt.UserError, match="does not follow the Chat Completions protocol"):
        open_view(params_with(shared_image("webp_photo_flower.webp"), "flower.webp"))


def test_a_flipped_png_is_refused_on_the_image_field(model_service, shared_image):
    data = bytearray(shared_image("png_rgba_transparent.png"))
    start = data.index(b"IDAT") + 40
    for offset in range(start, start + 16):
        data[offset] ^= 0xFF
    with pytest.raises(vkt.UserError) as caught:
        open_view(params_with(bytes(data), "drawing.png"))
    [violation] = caught.value.input_violations
    assert violation.fields == ["upload.image"] and "its data is corrupt" in violation.message
    assert model_service.requests == []
