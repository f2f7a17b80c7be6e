"""Make a PDF drawing set: sheets with a grid, dimensions and an ISO 7200 title block in the PDF's text layer, and
optionally scanned sheets (the same drawing as a picture, no text layer).

    python scripts/make_drawing_set.py OUT.pdf [--sheets 40] [--size A1|A3]

Used by the drawing-set tests (a four-sheet set with planted problems) and the benchmark (a 40-sheet A1 set).
"""

from __future__ import annotations

import argparse
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path

try:
    from scripts.pdf_writer import write_pdf
except ImportError:  # run as a script: python scripts/...
    from pdf_writer import write_pdf

from PIL import Image, ImageDraw

SIZES = {"A1": (2384, 1684), "A3": (1191, 842)}
"""Landscape page sizes in points."""


@dataclass(frozen=True)
class Sheet:
    number: str
    title: str
    revision: str | None = "A"
    date: str | None = "2026-03-14"
    scale: str | None = "1:100"
    status: str = "For construction"
    sheet: str | None = None
    owner: str = "Gemeente Delft"
    scanned: bool = False
    notes: tuple[str, ...] = field(default=("1. ALL DIMENSIONS IN MILLIMETRES.", "2. CONCRETE C30/37."))
    revisions: tuple[tuple[str, str, str], ...] = ()
    """A revision table above the title block: (rev, date, description) rows, the latest last."""
    detail_scale: str | None = None
    """A detail in the drawing area with its own "SCALE" label (say 1:20), which is not the sheet's scale."""
    hidden: tuple[tuple[str, str], ...] = ()
    """(label, value) pairs in the title block that no reader sees: the first drawn invisible (render mode 3),
    the rest white on the white sheet."""
    banner: str | None = None
    """White text on a black band above the title block (a company bar): seen by every reader."""
    labels: int = 0
    """That many extra "REV" labels scattered over the sheet (a cheap file that makes a naive search quadratic)."""


def _escape(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")


def _content(sheet: Sheet, width: float, height: float) -> bytes:
    """Vector content: a grid of axes with labels, a dimension line, notes, and the title block with its labels."""
    ops = [b"0.6 w"]
    left, bottom, right, top = 60, 220, width - 60, height - 60
    for index in range(6):
        x = left + index * (right - left) / 5
        ops.append(b"%.1f %.1f m %.1f %.1f l S" % (x, bottom, x, top))
        ops.append(b"BT /F1 14 Tf %.1f %.1f Td (%s) Tj ET" % (x - 4, top + 10, _escape("ABCDEF"[index])))
    for index in range(4):
        y = bottom + index * (top - bottom) / 3
        ops.append(b"%.1f %.1f m %.1f %.1f l S" % (left, y, right, y))
        ops.append(b"BT /F1 14 Tf %.1f %.1f Td (%s) Tj ET" % (left - 24, y - 4, _escape(str(index + 1))))
    ops.append(b"BT /F1 10 Tf %.1f %.1f Td (%s) Tj ET" % (left + 20, bottom - 20, _escape("5000")))
    for row, note in enumerate(sheet.notes):
        ops.append(b"BT /F1 9 Tf 60 %.1f Td (%s) Tj ET" % (150 - row * 14, _escape(note)))
    # the title block: a box at the lower right, label above value in each cell
    box_left, box_bottom, cell_w, cell_h = width - 560, 40, 140, 40
    fields = [
        ("DRAWING NO.", sheet.number),
        ("TITLE", sheet.title),
        ("REV", sheet.revision),
        ("DATE", sheet.date),
        ("SCALE", sheet.scale),
        ("STATUS", sheet.status),
        ("SHEET", sheet.sheet),
        ("OWNER", sheet.owner),
    ]
    for index, (label, value) in enumerate(fields):
        x = box_left + (index % 4) * cell_w
        y = box_bottom + (1 - index // 4) * cell_h
        ops.append(b"%.1f %.1f %.1f %.1f re S" % (x, y, cell_w, cell_h))
        ops.append(b"BT /F1 7 Tf %.1f %.1f Td (%s) Tj ET" % (x + 4, y + cell_h - 10, _escape(label)))
        if value:
            ops.append(b"BT /F1 11 Tf %.1f %.1f Td (%s) Tj ET" % (x + 4, y + 8, _escape(value)))
    table_bottom = box_bottom + 2 * cell_h + 10
    for row, (rev, when, what) in enumerate(reversed(sheet.revisions)):  # the latest just above the title block
        y = table_bottom + row * 14
        for offset, text in ((4, rev), (40, when), (130, what), (420, "JdV")):
            ops.append(b"BT /F1 8 Tf %.1f %.1f Td (%s) Tj ET" % (box_left + offset, y, _escape(text)))
    if sheet.revisions:
        y = table_bottom + len(sheet.revisions) * 14
        for offset, text in ((4, "REV"), (40, "DATE"), (130, "DESCRIPTION"), (420, "BY")):
            ops.append(b"BT /F1 7 Tf %.1f %.1f Td (%s) Tj ET" % (box_left + offset, y, _escape(text)))
    if sheet.detail_scale:
        ops.append(b"BT /F1 9 Tf %.1f %.1f Td (DETAIL 1) Tj ET" % (width * 0.4, height * 0.5))
        ops.append(b"BT /F1 7 Tf %.1f %.1f Td (SCALE) Tj ET" % (width * 0.4, height * 0.5 - 14))
        ops.append(
            b"BT /F1 9 Tf %.1f %.1f Td (%s) Tj ET" % (width * 0.4 + 40, height * 0.5 - 14, _escape(sheet.detail_scale))
        )
    for index, (label, value) in enumerate(sheet.hidden):
        style = b"3 Tr" if index == 0 else b"1 1 1 rg"
        y = box_bottom + 2 * cell_h - 22 - index * 9
        ops.append(
            b"q BT %s /F1 7 Tf %.1f %.1f Td (%s: %s) Tj ET Q"
            % (style, box_left + 70, y, _escape(label), _escape(value))
        )
    if sheet.banner:
        top = box_bottom + 2 * cell_h + 10 + (len(sheet.revisions) + 1) * 14 + 6
        ops.append(b"q 0 0 0 rg %.1f %.1f 560 16 re f Q" % (box_left, top))
        ops.append(b"q 1 1 1 rg BT /F1 9 Tf %.1f %.1f Td (%s) Tj ET Q" % (box_left + 6, top + 4, _escape(sheet.banner)))
    for index in range(sheet.labels):
        x = 20 + (index * 37) % int(width - 40)
        y = 20 + (index * 53) % int(height - 40)
        ops.append(b"BT /F1 4 Tf %d %d Td (REV) Tj ET" % (x, y))
    return b"\n".join(ops)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data, 6)
    return b"<< /Length %d /Filter /FlateDecode %s >>\nstream\n" % (len(packed), extra) + packed + b"\nendstream"


def _scan(sheet: Sheet, width: float, height: float) -> bytes:
    """The sheet as a 150 dpi greyscale picture (lines and text drawn by Pillow), JPEG: what a scanner makes."""
    scale = 150 / 72
    image = Image.new("L", (int(width * scale), int(height * scale)), 250)
    draw = ImageDraw.Draw(image)
    for index in range(6):
        x = (60 + index * (width - 120) / 5) * scale
        draw.line([(x, 60 * scale), (x, (height - 220) * scale)], fill=20, width=2)
    draw.text((int((width - 540) * scale), int((height - 60) * scale)), f"DRAWING NO. {sheet.number}", fill=0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def make_set(path: Path, sheets: list[Sheet], size: str = "A3") -> Path:
    width, height = SIZES[size]
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    font = 3
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    for sheet in sheets:
        page = len(objects) + 1
        kids.append(page)
        if sheet.scanned:
            jpeg = _scan(sheet, width, height)
            image = page + 2
            objects.append(
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
                b"/Resources << /XObject << /Im0 %d 0 R >> >> >>" % (width, height, page + 1, image)
            )
            objects.append(_stream(b"q %d 0 0 %d 0 0 cm /Im0 Do Q" % (width, height)))
            picture = Image.open(io.BytesIO(jpeg))
            objects.append(
                b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n"
                % (*picture.size, len(jpeg))
                + jpeg
                + b"\nendstream"
            )
        else:
            objects.append(
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
                b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (width, height, page + 1, font)
            )
            objects.append(_stream(_content(sheet, width, height)))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % kid for kid in kids),
        len(kids),
    )
    path.write_bytes(write_pdf(objects))
    return path


def numbered_set(count: int) -> list[Sheet]:
    return [
        Sheet(f"S-{100 + number}", f"Level {number} floor plan", sheet=f"{number} of {count}")
        for number in range(1, count + 1)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sheets", type=int, default=40)
    parser.add_argument("--size", choices=sorted(SIZES), default="A1")
    args = parser.parse_args()
    make_set(args.out, numbered_set(args.sheets), args.size)
    print(f"{args.out}: {args.sheets} sheets, {args.size}, {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
