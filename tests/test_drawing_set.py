"""A PDF drawing set: every sheet described, the register checked against the PDF's own text, set problems found
by code. The set is made by scripts/make_drawing_set.py; the model is the local test server."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from werkzeug import Response

from image_analysis.imaging.pages import PageSpecError, parse_pages
from scripts.make_drawing_set import make_set
from tests.conftest import completion_body
from tests.helpers import cli
from tests.scenarios import READINGS, SHEETS, reading
from tests.viktor_platform import app_params, call, downloaded, upload

pytestmark = pytest.mark.process  # every sheet rendered in a child process


@pytest.fixture
def drawing_set(tmp_path):
    return make_set(tmp_path / "set.pdf", SHEETS)


@pytest.fixture
def reading_service(threaded_model_service):
    """Answers each sheet with the model's reading of it, told apart by the PDF text in the request."""

    def handle(request):
        prompt = request.get_json()["messages"][1]["content"][0]["text"]
        title = next((title for title in READINGS if title and title in prompt), None)
        return Response(json.dumps(completion_body(reading(READINGS[title]))), content_type="application/json")

    threaded_model_service.handle(handle)
    return threaded_model_service


def register_rows(path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_a_four_sheet_set_gives_a_register_checked_against_the_pdf_text(reading_service, drawing_set, tmp_path):
    register = tmp_path / "register.csv"
    env = {"OPENAI_BASE_URL": reading_service.base_url, "VISION_MAX_RETRIES": "0"}
    done = cli(
        "describe",
        str(drawing_set),
        "--preset",
        "drawing",
        "--register",
        str(register),
        "--out",
        str(tmp_path / "set.html"),
        "--docx",
        str(tmp_path / "set.docx"),
        env_extra=env,
    )
    assert done.returncode == 0, done.stderr
    assert len(reading_service.requests) == 4, "one request per sheet"
    rows = register_rows(register)
    assert [row["page"] for row in rows] == ["1", "2", "3", "4"]
    assert [row["drawing_number"] for row in rows] == ["S-101", "S-102", "S-101", "S-104"]
    assert "the model read 'S-1O1', the PDF text says 'S-101'" in rows[0]["problems"]
    assert "drawing number S-101 is also on page 3" in rows[0]["problems"]
    assert "drawing number S-101 is also on page 1" in rows[2]["problems"]
    assert "revision missing" in rows[1]["problems"]
    assert rows[0]["source"] == "PDF text layer" and "scanned sheet: no text layer" in rows[3]["source"]
    prompts = [body["messages"][1]["content"][0]["text"] for body in reading_service.requests]
    assert sum("The PDF's own text layer" in prompt for prompt in prompts) == 3
    page = (tmp_path / "set.html").read_text(encoding="utf-8")
    assert "Drawing register" in page and "is also on page 3" in page


def test_pages_2_3_sends_two_requests(reading_service, drawing_set, tmp_path):
    env = {"OPENAI_BASE_URL": reading_service.base_url, "VISION_MAX_RETRIES": "0"}
    register = tmp_path / "register.csv"
    done = cli(
        "describe",
        str(drawing_set),
        "--preset",
        "drawing",
        "--pages",
        "2-3",
        "--register",
        str(register),
        env_extra=env,
    )
    assert done.returncode == 0, done.stderr
    assert len(reading_service.requests) == 2
    assert [row["page"] for row in register_rows(register)] == ["2", "3"]


def test_pages_that_do_not_exist_are_one_line_and_exit_2(drawing_set):
    done = cli("describe", str(drawing_set), "--preset", "drawing", "--pages", "3-9")
    assert done.returncode == 2 and "the file has 4 page(s)" in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("spec", "pages"), [("all", [1, 2, 3, 4, 5]), ("2", [2]), ("1-2,4", [1, 2, 4]), (" 4,2-3 ", [4, 2, 3])]
)
def test_page_choices(spec, pages):
    assert parse_pages(spec, 5) == pages


@pytest.mark.parametrize("spec", ["0", "6", "a-b", "3-1"])
def test_bad_page_choices_say_what_to_do(spec):
    with pytest.raises(PageSpecError):
        parse_pages(spec, 5)


def test_set_checks_by_code():
    from datetime import date

    from image_analysis.register import RegisterRow, check_set

    def row(page, number, revision="A", issued="2026-03-14", sheet=None, owner="Gemeente Delft", title="Plan"):
        return RegisterRow(
            page,
            number,
            title,
            revision,
            issued,
            "1:100",
            "For construction",
            "PDF text layer",
            owner=owner,
            sheet=sheet,
        )

    rows = check_set(
        [
            row(1, "S-1", revision="C", sheet="1 of 5"),
            row(2, "S-1", revision="B", sheet="2 of 5"),
            row(3, "S-3", issued="2027-01-02", sheet="4 of 5"),
            row(4, "S-4", issued=None, sheet="5 of 5", owner="Provincie Zuid-Holland"),
        ],
        today=date(2026, 11, 22),
    )
    problems = {row.page: " | ".join(row.problems) for row in rows}
    assert "revision goes back from C (page 1) to B" in problems[2]
    assert "date 2027-01-02 is in the future" in problems[3]
    assert "date missing" in problems[4]
    assert "sheet 3 of 5 is not in the set" in problems[1]
    assert "owner 'Provincie Zuid-Holland' differs from the rest of the set" in problems[4]
    assert "owner" not in problems[1]


def test_the_app_analyses_the_chosen_sheets_and_downloads_the_register(reading_service, drawing_set):
    params = app_params(image=upload("set.pdf", drawing_set.read_bytes()), preset="drawing", sheets="1-3")

    def run(method):
        return call(method, params)

    html = run("drawing_set").html
    assert "Drawing register" in html and "is also on page 3" in html
    rows = list(csv.DictReader(io.StringIO(downloaded(run("download_register"))[1].decode("utf-8-sig"))))
    assert [row["page"] for row in rows] == ["1", "2", "3"]
    assert len(reading_service.requests) == 2 * 3, "three sheets per call (offline, vkt.memoize is a pass-through)"


@pytest.mark.office
def test_the_drawing_report_reads_in_drawing_terms(threaded_model_service, drawing_set, tmp_path):
    """The Word report as LibreOffice lays it out: the register first, then each sheet on a landscape page of its
    own with its title block (each field's source as the register took it) and its notes numbered from 1."""
    import shutil
    import subprocess

    from tests.helpers import libreoffice

    notes = ["1. ALL DIMENSIONS IN MILLIMETRES.", "2. CONCRETE C30/37.", "3. DO NOT SCALE FROM THIS DRAWING."]

    def handle(request):
        prompt = request.get_json()["messages"][1]["content"][0]["text"]
        title = next((title for title in READINGS if title and title in prompt), None)
        answer = json.loads(reading(READINGS[title]))
        answer.update(notes=notes, questions=["Rev. B is in the revision table but the title block says A."])
        return Response(json.dumps(completion_body(json.dumps(answer))), content_type="application/json")

    threaded_model_service.handle(handle)
    docx, findings = tmp_path / "set.docx", tmp_path / "sheets.csv"
    env = {"OPENAI_BASE_URL": threaded_model_service.base_url, "VISION_MAX_RETRIES": "0"}
    done = cli(
        "describe", str(drawing_set), "--preset", "drawing", "--docx", str(docx), "--csv", str(findings), env_extra=env
    )
    assert done.returncode == 0, done.stderr
    pdf = libreoffice(shutil.which("soffice") or "soffice", docx, tmp_path, "pdf")
    pdftotext = shutil.which("pdftotext") or "pdftotext"
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = text.split("\f")
    assert "Drawing register" in pages[0] and "Drawing check report" in pages[0]
    assert "Inspector" not in text and "Inspection date" not in text and "date taken" not in text
    sheets = [index for index, page in enumerate(pages) if re.search(r"^Sheet \d — .*(?<!\(continued\))$", page, re.M)]
    assert len(sheets) == 4, "each sheet on a page of its own"
    rows = {row["page"]: row for row in csv.DictReader(io.StringIO(findings.read_text(encoding="utf-8-sig")))}
    assert {"drawing_number", "drawing_number_source", "title", "revision", "notes", "questions"} <= set(rows["1"])
    assert rows["1"]["drawing_number"] == "S-101" and rows["1"]["drawing_number_source"] == "PDF text"
    assert rows["4"]["drawing_number_source"] == "model (scanned sheet)"
    for sheet, (index, end) in enumerate(zip(sheets, [*sheets[1:], len(pages)], strict=True), start=1):
        read = " ".join(" ".join(pages[index + 1 : end]).split())  # what was read from it, on the pages after
        assert read.startswith(f"Sheet {sheet} — ") and "(continued)" in read.split("Register")[0]
        row = rows[str(sheet)]
        block = re.search(r"Drawing number (\S+) (PDF text|both agree|model \(scanned sheet\))", read)
        assert block, f"sheet {sheet}'s title block says where its drawing number comes from"
        assert (block.group(1), block.group(2)) == (row["drawing_number"], row["drawing_number_source"])
        assert "1. ALL DIMENSIONS" in read and "2. CONCRETE" in read and "1. 1." not in read, "notes from 1"
    assert "'S-1O1'," in pages[0], "the register flags the misreading"
    landscape = subprocess.run(
        [shutil.which("pdfinfo") or "pdfinfo", "-f", str(sheets[0] + 1), "-l", str(sheets[0] + 1), str(pdf)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    width, height = map(float, re.search(r"size:\s+([\d.]+) x ([\d.]+)", landscape).groups())
    assert width > height, "a sheet is shown on a landscape page"
    from tests.conftest import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = str(sheets[0] + 1)
    pdftoppm = shutil.which("pdftoppm") or "pdftoppm"
    command = [
        pdftoppm,
        "-png",
        "-r",
        "60",
        "-singlefile",
        "-f",
        page,
        "-l",
        page,
        str(pdf),
        str(ARTIFACTS / "word-sheet"),
    ]
    subprocess.run(command, check=True, timeout=60)
