"""What lets a campaign report take ten thousand photos in the time and memory of a few: each shortcut gives exactly
what the general path gives. The Word rows written as XML in one go are python-docx's rows; a stored value read
without its pixels is the value with its pixels left out, whatever text the model wrote; the pixels spliced into a
stored value at import are the value a live run keeps; the streamed CSV is the CSV; the reduced copies are JPEGs
of the size they promise; the progress bar says how far and how long."""

from __future__ import annotations

import io
import json

import docx
import pytest
from docx.shared import Pt
from lxml import etree
from PIL import Image

from image_analysis.analysis import Analysis
from image_analysis.campaign.importer import _with_pixels
from image_analysis.campaign.stored import _without_pixels
from image_analysis.formats.findings_csv import csv_columns, findings_csv, findings_lines
from image_analysis.imaging.encode import THUMBNAIL_SIDE, reduced_jpeg, thumbnail
from image_analysis.imaging.prepare import prepare_image
from image_analysis.progress import progress_bar
from image_analysis.reports import word_layout
from image_analysis.spreadsheet import CsvWriter
from tests.conftest import make_analysis, shared_image_path
from tests.long_replies import LONG_REPLIES

AWKWARD = ["blast-clean the post", "  leading and trailing  ", 'x & <y> "z"', "", "0.2 × 0.3 m", "a-b-c-"]


def python_docx_row(table, values, bold=False) -> None:
    """The row as python-docx's own calls write it (what ``add_row`` did before it wrote XML)."""
    row = table.add_row()
    word_layout._row_property(row._tr, "w:cantSplit")
    for cell, column, value in zip(row.cells, table.columns, values, strict=True):
        cell.width = column.width
        paragraph = cell.paragraphs[0]
        paragraph.paragraph_format.space_after = Pt(0)
        run = paragraph.add_run()
        word_layout.unbroken_text(run, value)
        run.font.size = word_layout.TABLE_FONT
        if bold:
            run.bold = True


@pytest.mark.parametrize("bold", [False, True])
def test_a_row_written_as_xml_is_the_row_python_docx_writes(bold):
    document = docx.Document()
    widths = [40.0] * len(AWKWARD)
    ours, theirs = (word_layout.styled_table(document, None, widths) for _ in range(2))
    word_layout.add_row(ours, AWKWARD, bold=bold)
    python_docx_row(theirs, AWKWARD, bold=bold)
    assert etree.tostring(ours._tbl.tr_lst[-1]) == etree.tostring(theirs._tbl.tr_lst[-1])


def test_kept_with_the_next_as_python_docx_keeps_it():
    document = docx.Document()
    ours = [document.add_heading("Photo 1", 1), document.add_paragraph("text")]
    theirs = [document.add_heading("Photo 1", 1), document.add_paragraph("text")]
    ours[1].paragraph_format.space_after = Pt(0)
    theirs[1].paragraph_format.space_after = Pt(0)
    ours[0].paragraph_format.keep_with_next = True  # set already, as a picture's paragraph is
    word_layout.keep_with_next(ours)
    word_layout.keep_with_next(ours)  # twice changes nothing
    for paragraph in theirs:
        paragraph.paragraph_format.keep_with_next = True
        paragraph.paragraph_format.keep_together = True
    assert [etree.tostring(p._p) for p in ours] == [etree.tostring(p._p) for p in theirs]


@pytest.fixture(scope="module")
def described() -> Analysis:
    """A photo whose reply spells, in its own words, what the stored value's pixels look like."""
    name = "crack_concrete_ozgenel_a.png"
    reply = dict(LONG_REPLIES[name])
    reply["summary"] = 'The tag said "data": "AAAA" and {"data": "x"} in chalk.'
    preparation = prepare_image(shared_image_path(name).read_bytes(), name)
    return make_analysis(preparation, json.dumps(reply), preset="inspection")


def test_a_value_read_without_its_pixels_is_the_value_without_them_whatever_the_reply_says(described):
    text = json.dumps(described.to_json())
    value = _without_pixels(text)
    expected = described.to_json()
    for image in expected["preparation"]["images"]:
        image["data"] = ""
    assert value == expected
    assert Analysis.from_json(value).description == described.description
    assert 'The tag said "data": "AAAA"' in Analysis.from_json(value).parsed.findings.summary


def test_pixels_spliced_into_a_value_are_the_value_a_live_run_keeps(described):
    facts = described.for_display().preparation
    without = Analysis(described.number, described.name, described.request, facts, described.description)
    pixels = [image.data_uri.split(",", 1)[1] for image in described.preparation.images]
    spliced = json.loads(_with_pixels(without, pixels))
    spliced["preparation"]["shown"] = None  # the facts came through a display copy here; import's have none
    assert spliced == {**described.to_json(), "not_kept": None}


def test_the_streamed_csv_is_the_csv(described):
    other = make_analysis(described.preparation, "not findings at all", preset="inspection", number=2)
    buffer = io.StringIO(newline="")
    writer = CsvWriter(buffer, csv_columns())
    for result in (described, other):
        writer.rows(findings_lines(result))
    assert buffer.getvalue() == findings_csv([described, other])


def test_a_thumbnail_is_a_jpeg_of_its_size_and_a_small_photo_is_not_reduced(described):
    sent = described.preparation.images[0]
    small = Image.open(io.BytesIO(thumbnail(sent.data)))
    assert small.format == "JPEG" and max(small.size) == min(THUMBNAIL_SIDE, max(sent.width, sent.height))
    assert max(sent.width, sent.height) < 768 and reduced_jpeg(sent.data, 768) is None, "nothing to reduce"
    assert reduced_jpeg(b"\x89PNG\r\n\x1a\n", 100) is None, "not a JPEG: the caller makes a display copy"


def test_a_jpeg_photo_is_reduced_to_at_least_the_size_asked():
    name = "site_aerial_construction_caliterra_IMG_9402.jpg"
    sent = prepare_image(shared_image_path(name).read_bytes(), name).images[0]
    data, width, height = reduced_jpeg(sent.data, 768) or (b"", 0, 0)
    assert Image.open(io.BytesIO(data)).size == (width, height)
    assert max(width, height) == -(-max(sent.width, sent.height) // 2), "half the sent size: DCT scaling, no resample"
    assert reduced_jpeg(sent.data, 4000) is None, "nothing to reduce"


def test_the_progress_bar_says_how_far_and_how_long():
    line = progress_bar(2_500, 10_000, 30.0, width=80)
    assert line.endswith(" 2,500 of 10,000 (25%), 1 min 30 s left") and len(line) <= 80
    bar = line[1 : line.index("]")]
    assert bar.count("#") == round(len(bar) / 4) and set(bar) == {"#", "-"}
    assert progress_bar(10_000, 10_000, 120.0, width=80).endswith("10,000 of 10,000 (100%)")
    assert progress_bar(3, 10, 3.0, width=80).endswith("(30%), 7 s left")
