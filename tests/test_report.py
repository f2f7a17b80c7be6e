"""Reports to hand over: the Word document opened with python-docx, the CSV, and the self-contained HTML."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from docx import Document

from image_analysis.imaging.prepare import prepare_image
from image_analysis.reports import findings_csv, word_report
from image_analysis.reports import html_report as render_report
from tests.conftest import REPO, make_analysis, shared_image_path

INSPECTION = {
    "element": "concrete column",
    "material": "reinforced concrete",
    "defects": [
        {"type": "crack", "location": "centre", "extent": "1.5 m", "description": '=HYPERLINK("http://x")'},
        {"type": "spalling", "location": "lower right", "extent": "30 x 20 cm"},
    ],
    "condition_score": "4",
    "recommended_action": "repair",
    "urgency": "within months",
    "confidence": "medium",
    "summary": "Cracked and spalled column.",
}


@pytest.fixture(scope="module")
def analyses():
    site = prepare_image(shared_image_path("site_aerial_construction_caliterra_IMG_9402.jpg").read_bytes(), "site.jpg")
    column = prepare_image((REPO / "sample_images" / "site_photo_column_crack.jpg").read_bytes(), "column.jpg")
    return [
        make_analysis(site, json.dumps(INSPECTION), preset="inspection", model="mistral.ministral-3-14b-instruct"),
        make_analysis(None, None, preset="inspection", error="'broken.jpg' could not be read", number=2),
        make_analysis(column, "Not JSON at all, **sorry**.", preset="inspection", number=3),
    ]


def test_the_word_report_has_numbered_entries_pictures_and_tables(analyses):
    document = Document(io.BytesIO(word_report(analyses)))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading 1")]
    assert headings == ["Condition summary", "Photo 1 — Concrete column", "Photo 2", "Photo 3", "Appendix"]
    assert len(document.inline_shapes) == 3, "the chart and a picture for each photo that could be read"
    text = "\n".join(p.text.replace("\xa0", " ") for p in document.paragraphs)
    assert "Site inspection report" in text and "Status: Draft: AI findings not reviewed" in text
    assert "Photo 1 — taken 19 October 2014 13:22 · 30.1710° N 98.0898° W" in text
    assert "No description: 'broken.jpg' could not be read" in text
    assert text.count("mistral.ministral-3-14b-instruct") == 1, "the model is named once, on the cover"
    assert "did not come in the findings format" in text and "Not JSON at all" in text
    cells = [[c.text.replace("\xa0", " ") for c in row.cells] for table in document.tables for row in table.rows]
    score = next(row[1] for row in cells if row[0] == "NEN 2767 condition score")
    assert (
        score == "4 (mediocre); not derived: the score is the model's, whose reply gives no observations of the defects"
    )
    assert ["#", "Defect", "Where in the photo", "Extent", "Description"] in cells
    assert ["2", "spalling", "lower right", "30 x 20 cm", "—"] in cells


def test_a_general_description_keeps_its_headings_lists_and_tables():
    preparation = prepare_image(shared_image_path("webp_photo_flower.webp").read_bytes(), "flower.webp")
    text = "## Plant\n- **Leaves** green\n- flower white\n\n| Part | Colour |\n|---|---|\n| petal | white |\n"
    document = Document(io.BytesIO(word_report([make_analysis(preparation, text)])))
    styles = {p.text: p.style.name for p in document.paragraphs}
    assert styles["Plant"] == "Heading 2" and styles["Leaves green"] == "List Bullet"
    bold = [run.text for p in document.paragraphs for run in p.runs if run.bold]
    assert "Leaves" in bold
    assert [[c.text for c in row.cells] for row in document.tables[-1].rows] == [["Part", "Colour"], ["petal", "white"]]


def test_the_csv_has_one_row_per_defect_and_defuses_formulas(analyses):
    content = findings_csv(analyses)
    assert content.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(content.lstrip("\ufeff"))))
    assert [(row["photo"], row["defect"], row["defect_type"]) for row in rows] == [
        ("1", "1", "crack"),
        ("1", "2", "spalling"),
        ("2", "", ""),
        ("3", "", ""),
    ]
    assert rows[0]["lat"] == "30.170995" and rows[0]["condition_score"] == "4"
    assert rows[0]["defect_description"].startswith("'="), "a formula from the model is text in a spreadsheet"
    assert rows[1]["error"] == "" and rows[2]["error"].startswith("'broken.jpg'")


def test_the_html_report_is_one_self_contained_file(analyses):
    html = render_report(analyses)
    assert re.findall(r'src="(?!data:)[^"]*"', html) == [], "nothing loaded from elsewhere"
    links = re.findall(r'href="([^"]*)"', html)
    assert links and all(link.startswith("https://www.openstreetmap.org/?mlat=") for link in links), "GPS links only"
    assert html.count('class="entry"') == 3
    assert html.index('"file-name">site.jpg') < html.index('"file-name">column.jpg')
    assert "1 photo without a description (photo 2)" in html
    assert "Cracked and spalled column." in html and '"Defect">spalling</td>' in html
