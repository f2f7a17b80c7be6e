"""A finding's fields are declared once (``image_analysis.fields``): the app's review table, the findings workbook,
the findings CSV and the reports take their columns from the declaration. A field given another heading, CSV name
and width there is shown so everywhere, and read back so; a field declared is a field of the record."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import io
import json

import openpyxl
import pytest
from docx import Document

from image_analysis import fields, reports
from image_analysis.analysis import Analysis
from image_analysis.fields import FINDING_FIELDS, Choices, Level
from image_analysis.formats.findings_csv import csv_columns, findings_csv, read_review_csv
from image_analysis.formats.findings_workbook import FINDINGS, findings_workbook, read_review_workbook
from image_analysis.imaging.prepare import prepare_image
from image_analysis.model import Description
from image_analysis.presets import AnalysisRequest, ConditionScale, Preset
from image_analysis.review import Finding, Review, SignOff
from tests.conftest import shared_image_path
from tests.reply_corpus import BASE

INSPECTION = AnalysisRequest(preset=Preset.INSPECTION, scale=ConditionScale.NEN2767)
SIZE = "Size of the defect"


@functools.cache
def _photo() -> Analysis:
    prepared = prepare_image(shared_image_path("webp_photo_flower.webp").read_bytes(), "flower.webp")
    return Analysis(1, "flower.webp", INSPECTION, prepared, Description(json.dumps(BASE), "m"), record="result-x")


@pytest.fixture
def renamed(monkeypatch):
    """The declaration with the extent renamed, given another CSV column and a wider column."""
    changed = tuple(
        dataclasses.replace(field, heading=SIZE, csv="defect_size", width=40) if field.name == "extent" else field
        for field in FINDING_FIELDS
    )
    monkeypatch.setattr(fields, "FINDING_FIELDS", changed)
    yield changed


def test_every_declared_field_is_a_field_of_the_record_and_the_other_way_round():
    assert {field.name for field in FINDING_FIELDS} == {field.name for field in dataclasses.fields(Finding)}
    assert {field.level for field in FINDING_FIELDS} == set(Level)
    assert [field.name for field in FINDING_FIELDS if field.choices is Choices.SCORES] == ["condition_score"]


def test_the_workbook_takes_its_columns_from_the_declaration_and_reads_them_back(renamed):
    content = findings_workbook([_photo()])
    sheet = openpyxl.load_workbook(io.BytesIO(content))[FINDINGS]
    header = [cell.value for cell in sheet[1]]
    assert header == [field.heading for field in renamed]
    column = sheet.cell(row=1, column=header.index(SIZE) + 1).column_letter
    assert sheet.column_dimensions[column].width == pytest.approx(40, abs=1)
    book = read_review_workbook(content)
    assert {row["extent"] for row in book.rows} == {defect["extent"] for defect in BASE["defects"]}


def test_the_csv_takes_its_columns_from_the_declaration_and_reads_them_back(renamed):
    text = findings_csv([_photo()])
    header = text.removeprefix("\ufeff").splitlines()[0].split(",")
    assert header[: len(renamed)] == [field.csv for field in renamed] and "defect_size" in csv_columns()
    table = read_review_csv(text.encode("utf-8"))
    assert {row["extent"] for row in table.rows} == {defect["extent"] for defect in BASE["defects"]}


def test_the_word_report_takes_its_columns_from_the_declaration(renamed):
    review = Review(SignOff(inspector="J. de Vries"))
    document = Document(io.BytesIO(reports.word_report([_photo()], review=review)))
    headings = [[cell.text for cell in table.rows[0].cells] for table in document.tables]
    findings = next(row for row in headings if SIZE in row)
    assert findings[:5] == ["#", "Defect", "Where in the photo", SIZE, "Description"]


def test_the_apps_review_table_takes_its_columns_from_the_declaration(renamed):
    import app

    try:
        importlib.reload(app)  # the Parametrization is built when the app is loaded, as on the platform
        attrs = app.Parametrization.review.findings._attrs.items()
        columns = {name: item._ui_name for name, item in attrs if not name.startswith("_")}
        assert list(columns) == [field.name for field in renamed]
        assert columns["extent"] == SIZE
    finally:
        fields.FINDING_FIELDS = FINDING_FIELDS
        importlib.reload(app)
