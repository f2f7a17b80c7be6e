"""The command line as a user runs it (in this process, as `cli.main`; `tests/test_cli_process.py` runs it as a shell
does): real files, exit codes and one-line messages."""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import TEST_API_KEY, shared_image_path
from tests.helpers import cli, service_env


def test_prepare_prints_what_would_be_sent():
    done = cli("prepare", str(shared_image_path("exif_orientation_6_landscape.jpg")))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["source"] == {
        "name": "exif_orientation_6_landscape.jpg",
        "format": "JPEG",
        "width": 1800,
        "height": 1200,
        "bytes": shared_image_path("exif_orientation_6_landscape.jpg").stat().st_size,
    }
    [image] = report["images"]
    assert image["mime"] == "image/jpeg"
    assert (image["width"], image["height"]) == (1540, 1036)
    assert image["image_tokens"] == 37 * (55 + 1)
    assert report["payload_bytes"] == len("data:image/jpeg;base64,") + 4 * -(-image["bytes"] // 3)
    assert report["metadata"]["orientation"] == 6


def test_describe_prints_the_description_and_writes_the_page(model_service, tmp_path):
    model_service.reply("## Site\nGraded roads and **concrete pipes**.")
    out = tmp_path / "report.html"
    image = shared_image_path("site_aerial_construction_caliterra_IMG_9402.jpg")
    args = ["describe", str(image), "--question", "Any hazards?", "--out", str(out)]
    done = cli(*args, env_extra=service_env(model_service))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "## Site\nGraded roads and **concrete pipes**."
    page = out.read_text(encoding="utf-8")
    assert 'src="data:image/jpeg;base64,' in page and "<strong>concrete pipes</strong>" in page
    assert "Any hazards?" in page
    assert TEST_API_KEY not in page + done.stdout + done.stderr


def test_describe_with_a_model_option(model_service):
    model_service.reply("fine", model="qwen2.5-vl")
    done = cli(
        "describe",
        str(shared_image_path("webp_photo_flower.webp")),
        "--model",
        "qwen2.5-vl",
        env_extra=service_env(model_service),
    )
    assert done.returncode == 0, done.stderr
    assert model_service.requests[0]["model"] == "qwen2.5-vl"


def test_no_endpoint_writes_the_prepared_page_and_exits_3(tmp_path):
    out = tmp_path / "page.html"
    done = cli("describe", str(shared_image_path("webp_photo_flower.webp")), "--out", str(out))
    assert done.returncode == 3
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "OPENAI_BASE_URL" in errors[0]
    assert "Traceback" not in done.stderr
    page = out.read_text(encoding="utf-8")
    assert 'src="data:image/jpeg;base64,' in page and "OPENAI_BASE_URL" in page


def test_a_service_failure_exits_3_with_one_line(model_service):
    model_service.fail(429, {"error": {"message": "limit"}})
    done = cli("describe", str(shared_image_path("webp_photo_flower.webp")), env_extra=service_env(model_service))
    assert done.returncode == 3
    assert (
        done.stderr.strip()
        == "image_analysis: error: No description: Fair usage limit reached. Please try again later."
    )
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["prepare", "corrupt_truncated_jpeg.jpg"], "truncated"),
        (["describe", "SOURCES.md"], "not an image"),
        (["prepare", "no_such_file.jpg"], "Cannot read"),
        (["prepare"], "required: image"),
        (["describe", "webp_photo_flower.webp", "--preset", "sketch"], "invalid choice"),
        (["summarise", "x.jpg"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line_on_stderr(args, expected):
    args = [
        str(shared_image_path(arg))
        if arg.endswith((".jpg", ".md", ".webp")) and arg != "no_such_file.jpg" and arg != "x.jpg"
        else arg
        for arg in args
    ]
    done = cli(*args)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def test_several_images_are_described_in_order_with_reports(model_service, tmp_path):
    model_service.reply('{"element": "wall", "condition_score": "3", "defects": [], "summary": "Sound wall."}')
    names = ["webp_photo_flower.webp", "corrupt_truncated_jpeg.jpg", "crack_concrete_ozgenel_a.png"]
    docx, csv_path, html = tmp_path / "r.docx", tmp_path / "f.csv", tmp_path / "r.html"
    args = [
        "describe",
        *map(str, map(shared_image_path, names)),
        "--preset",
        "inspection",
        "--scale",
        "nbi",
        "--docx",
        str(docx),
        "--csv",
        str(csv_path),
        "--out",
        str(html),
    ]
    done = cli(*args, env_extra=service_env(model_service))
    assert done.returncode == 2, "one file was bad input"
    assert done.stdout.index("=== 1. webp_photo_flower.webp") < done.stdout.index("=== 3. crack_concrete_ozgenel_a")
    assert (
        "2. corrupt_truncated_jpeg.jpg: No description: 'corrupt_truncated_jpeg.jpg' could not be read" in done.stderr
    )
    assert "Traceback" not in done.stderr
    from docx import Document

    paragraphs = Document(str(docx)).paragraphs
    headings = [p.text for p in paragraphs if p.style.name == "Heading 1"]
    assert headings[0] == "Condition summary" and headings[-1] == "Appendix"
    assert [heading.split(" —")[0] for heading in headings[1:-1]] == [f"Photo {n}" for n in range(1, len(names) + 1)]
    texts = [p.text for p in paragraphs]
    assert [texts.index(name) for name in names] == sorted(texts.index(name) for name in names), "files in order"
    assert csv_path.read_text(encoding="utf-8-sig").count("Sound wall.") == 2
    assert "NBI condition rating" in model_service.requests[0]["messages"][1]["content"][0]["text"]
    assert html.read_text(encoding="utf-8").count('class="entry"') == 3


def test_a_batch_with_no_service_exits_3_after_writing_what_it_prepared(tmp_path):
    out = tmp_path / "r.html"
    done = cli(
        "describe",
        str(shared_image_path("webp_photo_flower.webp")),
        str(shared_image_path("crack_concrete_ozgenel_b.png")),
        "--out",
        str(out),
    )
    assert done.returncode == 3
    assert out.read_text(encoding="utf-8").count('src="data:image/jpeg;base64,') == 2


FAULTS = [
    (503, {"error": {"message": "overloaded"}}, "failed (HTTP 503)"),
    (413, "<html><body><h1>413 Request Entity Too Large</h1></body></html>", "too large"),
    (200, '{"id": "x", "choices": [ oops', "could not be read"),
    (
        200,
        {"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": []},
        "without any description",
    ),
    (400, {"error": {"message": "Image could not be decoded"}}, "rejected the request (HTTP 400): Image could not be"),
]


@pytest.mark.faults
@pytest.mark.parametrize(("status", "body", "expected"), FAULTS)
def test_each_fault_is_one_clear_line_and_exit_3(model_service, status, body, expected):
    from werkzeug import Response

    payload = body if isinstance(body, str) else json.dumps(body)
    model_service.server.expect_request("/v1/chat/completions").respond_with_response(
        Response(payload, status=status, content_type="text/html" if status == 413 else "application/json")
    )
    done = cli("describe", str(shared_image_path("webp_photo_flower.webp")), env_extra=service_env(model_service))
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in done.stderr


def test_a_batch_says_which_images_to_run_again(model_service):
    names = ["webp_photo_flower.webp", "corrupt_truncated_jpeg.jpg"]
    model_service.reply("fine")
    done = cli("describe", *map(str, map(shared_image_path, names)), env_extra=service_env(model_service))
    assert "1 of 2 without a description; to retry them: python -m image_analysis describe" in done.stderr
    assert "corrupt_truncated_jpeg.jpg" in done.stderr.splitlines()[-1]


@pytest.mark.office
def test_pdf_writes_the_word_report_as_pdf_and_says_what_to_install_without_libreoffice(model_service, tmp_path):
    model_service.reply("## What the photo shows\nA flower in a garden, with a question answered.")
    photo = str(shared_image_path("webp_photo_flower.webp"))
    pdf = tmp_path / "report.pdf"
    done = cli("describe", photo, "--pdf", str(pdf), "--question", "What is it?", env_extra=service_env(model_service))
    assert done.returncode == 0, done.stderr
    assert pdf.read_bytes().startswith(b"%PDF") and f"wrote {pdf}" in done.stderr

    bare = tmp_path / "bin"  # a PATH with python and nothing else: no soffice
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    docx, missing = tmp_path / "report.docx", tmp_path / "missing.pdf"
    env = {**service_env(model_service), "PATH": str(bare)}
    done = cli("describe", photo, "--pdf", str(missing), "--docx", str(docx), env_extra=env)
    assert done.returncode == 3 and not missing.exists()
    lines = [line for line in done.stderr.splitlines() if "error" in line]
    assert lines == [
        f"image_analysis: error: cannot write the PDF report to '{missing}': no soffice on this machine: install "
        "LibreOffice Writer (Debian: apt-get install libreoffice-writer-nogui) to write a PDF"
    ]
    assert docx.is_file(), "the other outputs are written all the same"
    assert len(model_service.requests) == 2 and "Traceback" not in done.stderr
