"""PDF drawings: a page rendered with PDFium at a resolution for tiles; clear errors for what cannot be read."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from image_analysis.errors import ImageInputError
from image_analysis.imaging.kinds import ROLE_TILE, ImageKind
from image_analysis.imaging.prepare import prepare_image
from tests.conftest import REPO

pytestmark = pytest.mark.process  # every page rendered in a child process

DRAWING = REPO / "sample_images" / "drawing_ground_floor_A3.png"


def pdf_of(*pages: Image.Image, resolution: float = 200) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", resolution=resolution, save_all=True, append_images=list(pages[1:]))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def drawing_pdf() -> bytes:
    return pdf_of(Image.open(DRAWING).convert("RGB"))


def test_a_pdf_drawing_is_rendered_and_sent_as_overview_and_tiles(drawing_pdf):
    prepared = prepare_image(drawing_pdf, "S-101.pdf")
    assert prepared.source.format == "PDF"
    assert prepared.kind is ImageKind.DRAWING
    assert any(image.role == ROLE_TILE for image in prepared.images)
    assert max(prepared.source.width, prepared.source.height) == pytest.approx(4400, abs=2)
    assert any("Page 1 of 1" in note and "dpi" in note for note in prepared.notes)


def test_the_page_can_be_chosen():
    white, black = Image.new("RGB", (800, 600), "white"), Image.new("RGB", (800, 600), "black")
    data = pdf_of(white, black, resolution=100)
    first = Image.open(io.BytesIO(prepare_image(data, "two.pdf").images[0].data)).convert("L")
    second = Image.open(io.BytesIO(prepare_image(data, "two.pdf", page=2).images[0].data)).convert("L")
    assert first.getpixel((10, 10)) > 200 and second.getpixel((10, 10)) < 50
    with pytest.raises(ImageInputError, match=r"has 2 page\(s\); page 3 does not exist. Choose 1 to 2."):
        prepare_image(data, "two.pdf", page=3)


def test_a_password_protected_pdf_says_so(drawing_pdf):
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(drawing_pdf)))
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(ImageInputError, match=r"'locked\.pdf' is a password-protected PDF"):
        prepare_image(buffer.getvalue(), "locked.pdf")


def test_a_damaged_pdf_says_so(drawing_pdf):
    with pytest.raises(ImageInputError, match=r"'cut\.pdf' could not be read as PDF: the file is damaged"):
        prepare_image(drawing_pdf[:300], "cut.pdf")


def test_a_pdf_without_pages_says_so():
    empty = (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R /Size 3 >>\n%%EOF\n"
    )
    with pytest.raises(ImageInputError, match=r"'empty\.pdf'"):
        prepare_image(empty, "empty.pdf")
