"""PDF drawings: one page rendered with PDFium (pypdfium2) at a resolution that suits the drawing tiles.

The cost of rendering a page cannot be known beforehand (a page may draw one form a billion times), so
``render_page`` runs it in a child process within the upload's memory and time budget (``isolation``).
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageStat

from image_analysis.errors import ImageInputError
from image_analysis.imaging import pdf_budget
from image_analysis.imaging.isolation import (
    LimitExceeded,
    NoChildProcess,
    child_memory_bytes,
    run_isolated,
    time_limit_seconds,
)

MAX_DPI = 300
TARGET_LONG_SIDE = 4400
"""Pixels on the page's long side: what an overview plus tiles can use (3 tiles of 1540 px with overlap)."""
MAX_PAGE_PIXELS = 60_000_000


@dataclass(frozen=True)
class TextSegment:
    """A run of text from the page's own text layer and its box, as fractions of the page (y from the top)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class RenderedPage:
    """A rendered page, which page it was, of how many, at what resolution, and the page's text layer (empty for
    a scanned sheet)."""

    image: Image.Image
    page: int
    pages: int
    dpi: int
    text: tuple[TextSegment, ...] = ()


_one_at_a_time = threading.Lock()

MAX_SEGMENTS = 20_000
"""Text runs read from one page (a real sheet has hundreds)."""
MAX_CHARACTERS = 500_000
"""Characters read from one page's text layer (a dense A0 sheet has tens of thousands)."""


def page_count(data: bytes, name: str) -> int:
    """How many pages a PDF has (reading its page tree only); ``ImageInputError`` for a damaged or locked file."""
    document = _open_document(data, name)
    try:
        return len(document)
    finally:
        document.close()


def _text_segments(
    pdf_page: pdfium.PdfPage, width: float, height: float, rendered: Image.Image | None = None
) -> tuple[TextSegment, ...]:
    """The page's visible text runs, in one pass over its characters (linear in the text, whatever the page holds):
    a run goes on along its baseline while the gap to the next character is small, and ends at a line break.
    Characters drawn invisible (render mode 3, as OCR layers and forgeries are) are not what a reader sees, and are
    left out; so is white text where the ``rendered`` page shows nothing but white there (white on the white
    sheet), while white text on a dark band stays."""
    textpage = pdf_page.get_textpage()
    try:
        count = min(pdfium_c.FPDFText_CountChars(textpage.raw), MAX_CHARACTERS)
        segments: list[TextSegment] = []
        run: list[str] = []
        box = [0.0, 0.0, 0.0, 0.0]  # left, bottom, right, top of the run, in points
        white = [False]  # whether the run is drawn in white

        def close() -> None:
            text = " ".join("".join(run).split())
            if text and len(segments) < MAX_SEGMENTS:
                left, bottom, right, top = box
                segment = TextSegment(text, left / width, 1 - top / height, right / width, 1 - bottom / height)
                if not white[0] or not _blank(rendered, segment):
                    segments.append(segment)
            run.clear()

        left, right, bottom, top, x, y = (ctypes.c_double() for _ in range(6))
        baseline = 0.0
        for index in range(count):
            character = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index) or 32)
            if character in "\r\n":
                close()
                continue
            pdfium_c.FPDFText_GetCharBox(textpage.raw, index, left, right, bottom, top)
            if character.isspace() or right.value <= left.value:
                if run:
                    run.append(" ")
                continue
            drawn = _drawn(textpage, index)
            if drawn is None:
                continue
            pdfium_c.FPDFText_GetCharOrigin(textpage.raw, index, x, y)
            size = max(pdfium_c.FPDFText_GetFontSize(textpage.raw, index), 1.0)
            apart = abs(y.value - baseline) > size * 0.3 or not -size < left.value - box[2] < size * 1.2
            if run and (apart or drawn != white[0]):
                close()
            if not run:
                box[:] = [left.value, bottom.value, right.value, top.value]
                baseline = y.value
                white[0] = drawn
            box[:] = [
                min(box[0], left.value),
                min(box[1], bottom.value),
                max(box[2], right.value),
                max(box[3], top.value),
            ]
            run.append(character)
        close()
        return tuple(segments)
    finally:
        textpage.close()


_INVISIBLE = 3  # FPDF_TEXTRENDERMODE_INVISIBLE


def _drawn(textpage: pdfium.PdfTextPage, index: int) -> bool | None:
    """How a character is drawn: ``None`` when it cannot be seen (render mode 3, transparent), ``True`` when in
    white (seen only on a dark background), ``False`` otherwise."""
    text_object = pdfium_c.FPDFText_GetTextObject(textpage.raw, index)
    if text_object and pdfium_c.FPDFTextObj_GetTextRenderMode(text_object) == _INVISIBLE:
        return None
    red, green, blue, alpha = (ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint())
    if pdfium_c.FPDFText_GetFillColor(textpage.raw, index, red, green, blue, alpha):
        if alpha.value == 0:
            return None
        return min(red.value, green.value, blue.value) >= 245
    return False


def _blank(rendered: Image.Image | None, segment: TextSegment) -> bool:
    """Whether the rendered page is mostly white in a segment's box, so that white text there is unseen (a line
    through the box does not make a background; a dark band does)."""
    if rendered is None:
        return True
    width, height = rendered.size
    box = (
        int(segment.x0 * width),
        int(segment.y0 * height),
        max(int(segment.x0 * width) + 1, round(segment.x1 * width)),
        max(int(segment.y0 * height) + 1, round(segment.y1 * height)),
    )
    return ImageStat.Stat(rendered.crop(box).convert("L")).mean[0] >= 160


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(b"%PDF")


def render_page(data: bytes, name: str, page: int = 1) -> RenderedPage:
    """Render page ``page`` (from 1) of a PDF in a child process within the memory and time budget; where no child
    process can be started, in this process once ``pdf_budget`` has found the file's cost within the budget. A clear
    ``ImageInputError`` for encrypted, empty, broken or too complex files, the same either way."""
    try:
        with _one_at_a_time:  # a set's sheets render one after another: each child may use most of the budget
            try:
                return run_isolated(render_page_here, data, name, page)
            except NoChildProcess:
                _check_in_process(data)
                return render_page_here(data, name, page)
    except LimitExceeded as exceeded:
        limit = f"{exceeded.limit:g} s" if exceeded.what == "time" else f"{exceeded.limit:,.0f} MB of memory"
        raise ImageInputError(
            f"Page {page} of '{name}' is too complex to render within {limit}. Export the page as PNG, "
            "or split the sheet into smaller pages, and upload that."
        ) from None


def _check_in_process(data: bytes) -> None:
    """The child's limits, estimated beforehand (``pdf_budget``), for a render in this process."""
    try:
        pdf_budget.check(data)
    except pdf_budget.TooCostly as costly:
        limit = time_limit_seconds() if costly.what == "time" else child_memory_bytes() / 2**20
        raise LimitExceeded(costly.what, limit) from None


def render_page_here(data: bytes, name: str, page: int = 1) -> RenderedPage:
    """Render page ``page`` (from 1) of a PDF in this process; a clear ``ImageInputError`` for encrypted, empty or
    broken files."""
    document = _open_document(data, name)
    try:
        pages = len(document)
        if pages == 0:
            raise ImageInputError(f"'{name}' is a PDF without pages. Export the drawing again.")
        if not 1 <= page <= pages:
            raise ImageInputError(f"'{name}' has {pages} page(s); page {page} does not exist. Choose 1 to {pages}.")
        pdf_page = document[page - 1]
        width_pt, height_pt = pdf_page.get_size()
        if width_pt <= 0 or height_pt <= 0:
            raise ImageInputError(f"Page {page} of '{name}' has no size. Export the drawing again.")
        dpi = min(MAX_DPI, TARGET_LONG_SIDE * 72 / max(width_pt, height_pt))
        dpi = min(dpi, (MAX_PAGE_PIXELS / (width_pt * height_pt)) ** 0.5 * 72)
        try:
            image = pdf_page.render(scale=dpi / 72, fill_color=(255, 255, 255, 255)).to_pil()
        except pdfium.PdfiumError as error:
            raise ImageInputError(f"Page {page} of '{name}' could not be rendered ({error}).") from None
        text = _text_segments(pdf_page, width_pt, height_pt, image)
        return RenderedPage(image=image.convert("RGB"), page=page, pages=pages, dpi=round(dpi), text=text)
    finally:
        document.close()


def _open_document(data: bytes, name: str) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise ImageInputError(
                f"'{name}' is a password-protected PDF. Save it without a password, or export the page as PNG."
            ) from None
        raise ImageInputError(
            f"'{name}' could not be read as PDF: the file is damaged. Export the drawing again, or as PNG."
        ) from None
