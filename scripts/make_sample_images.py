"""Render the project's own sample images into sample_images/ (deterministic; run again to rebuild them).

- ``drawing_ground_floor_A3.png``: an A3 engineering drawing at 200 dpi with grid lines, dimensions, notes and an
  ISO 7200 title block: the kind of sheet a QA engineer checks, with lettering too small to survive squeezing,
  and one planted inconsistency (the overall dimension 21000 is not the sum of four 5000 bays).
- ``site_photo_column_crack.jpg``: a photo-like image of a cracked, spalled concrete column, stored sideways
  with EXIF Orientation 6, a date taken and a GPS position, as a phone would write it.

    python scripts/make_sample_images.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

OUT = Path(__file__).resolve().parents[1] / "sample_images"
DPI = 200
MM = DPI / 25.4


def font(size_mm: float) -> ImageFont.FreeTypeFont:
    """Pillow's bundled font at a size given in millimetres on paper (no system fonts needed)."""
    return ImageFont.load_default(size=max(int(size_mm * MM), 8))


def px(mm: float) -> int:
    return round(mm * MM)


def drawing() -> Image.Image:
    """A3 landscape (420 x 297 mm) ground-floor plan with grids, dimensions, notes and a title block."""
    sheet = Image.new("L", (px(420), px(297)), 255)
    draw = ImageDraw.Draw(sheet)
    line = max(px(0.35), 1)
    thin = max(px(0.18), 1)
    draw.rectangle([px(10), px(10), px(410), px(287)], outline=0, width=px(0.7))

    # Structural grid: axes A-E (vertical) and 1-4 (horizontal), 5.0 m bays at 1:100 (50 mm on paper).
    left, top, bay = px(40), px(50), px(50)
    columns = "ABCDE"
    for index, name in enumerate(columns):
        x = left + index * bay
        draw.line([x, top - px(14), x, top + 3 * bay + px(6)], fill=110, width=thin)
        draw.ellipse([x - px(4), top - px(22), x + px(4), top - px(14)], outline=0, width=thin)
        draw.text((x, top - px(18)), name, font=font(4), fill=0, anchor="mm")
    for index in range(4):
        y = top + index * bay
        draw.line([left - px(14), y, left + 4 * bay + px(6), y], fill=110, width=thin)
        draw.ellipse([left - px(22), y - px(4), left - px(14), y + px(4)], outline=0, width=thin)
        draw.text((left - px(18), y), str(index + 1), font=font(4), fill=0, anchor="mm")
    for i in range(5):
        for j in range(4):
            cx, cy = left + i * bay, top + j * bay
            draw.rectangle([cx - px(2), cy - px(2), cx + px(2), cy + px(2)], fill=0)

    # Walls, openings and room labels.
    draw.rectangle([left, top, left + 4 * bay, top + 3 * bay], outline=0, width=px(1.0))
    draw.line([left + 2 * bay, top, left + 2 * bay, top + 2 * bay], fill=0, width=line * 2)
    draw.line([left, top + 2 * bay, left + 4 * bay, top + 2 * bay], fill=0, width=line * 2)
    draw.rectangle(
        [left + 3 * bay + px(12), top + 3 * bay - px(1), left + 3 * bay + px(30), top + 3 * bay + px(1)], fill=255
    )
    draw.arc(
        [left + 3 * bay + px(12), top + 3 * bay - px(18), left + 3 * bay + px(48), top + 3 * bay + px(18)],
        180,
        270,
        fill=0,
        width=thin,
    )
    rooms = {"OFFICE 0.01\n100 M2": (0.5, 0.5), "LAB 0.02\n100 M2": (2.5, 0.5), "HALL 0.03\n100 M2": (1.5, 2.5)}
    for label, (i, j) in rooms.items():
        draw.multiline_text((left + i * bay, top + j * bay), label, font=font(3.5), fill=0, anchor="mm", align="center")

    # Dimension chain along the top, in millimetres.
    y = top - px(28)
    draw.line([left, y, left + 4 * bay, y], fill=0, width=thin)
    for i in range(5):
        x = left + i * bay
        draw.line([x - px(1.5), y + px(1.5), x + px(1.5), y - px(1.5)], fill=0, width=line)
        draw.line([x, y - px(3), x, y + px(3)], fill=0, width=thin)
        if i < 4:
            draw.text((x + bay // 2, y - px(3)), "5000", font=font(2.5), fill=0, anchor="mb")
    # Deliberate inconsistency for a checker to find: the overall dimension does not add up (4 x 5000).
    draw.text((left + 2 * bay, y - px(9)), "21000", font=font(2.5), fill=0, anchor="mb")

    # General notes, small lettering (2.5 mm) as on real sheets.
    notes = [
        "GENERAL NOTES",
        "1. ALL DIMENSIONS IN MILLIMETRES UNLESS NOTED OTHERWISE.",
        "2. CONCRETE C30/37, EXPOSURE CLASS XC3. COVER 35 MM.",
        "3. REINFORCEMENT B500B TO EN 10080.",
        "4. COLUMNS 400 X 400 MM AT ALL GRID INTERSECTIONS.",
        "5. DO NOT SCALE FROM THIS DRAWING.",
        "6. SLAB THICKNESS 250 MM; SEE DRAWING S-201 FOR REINFORCEMENT.",
    ]
    for index, text in enumerate(notes):
        draw.text((px(300), px(40) + index * px(6)), text, font=font(3 if index == 0 else 2.5), fill=0)

    # Revision table and ISO 7200 title block, bottom right.
    x0, y0, x1, y1 = px(250), px(227), px(410), px(287)
    draw.rectangle([x0, y0, x1, y1], outline=0, width=line)
    rows = [
        ("OWNER", "GEMEENTE DELFT"),
        ("PROJECT", "LAB BUILDING ZUIDPOORT"),
        ("TITLE", "GROUND FLOOR PLAN - STRUCTURAL GRID"),
        ("DRAWING NO.", "S-101"),
        ("REVISION", "C"),
        ("DATE OF ISSUE", "2026-10-14"),
        ("SCALE", "1:100 (A3)"),
        ("CREATED BY", "J. DE VRIES"),
        ("APPROVED BY", "M. JANSEN"),
        ("STATUS", "FOR CONSTRUCTION"),
        ("SHEET", "1 OF 3"),
    ]
    height = (y1 - y0) / len(rows)
    for index, (field, value) in enumerate(rows):
        y = y0 + index * height
        if index:
            draw.line([x0, y, x1, y], fill=0, width=thin)
        draw.text((x0 + px(2), y + height / 2), field, font=font(2), fill=0, anchor="lm")
        draw.text((x0 + px(40), y + height / 2), value, font=font(2.8), fill=0, anchor="lm")
    draw.line([x0 + px(38), y0, x0 + px(38), y1], fill=0, width=thin)
    rx0, ry0 = px(250), px(205)
    draw.rectangle([rx0, ry0, x1, y0], outline=0, width=thin)
    for index, text in enumerate(
        [
            "REV  DATE        DESCRIPTION",
            "B    2026-09-02  COLUMN SIZES REVISED",
            "C    2026-10-14  ISSUED FOR CONSTRUCTION",
        ]
    ):
        draw.text((rx0 + px(2), ry0 + px(2) + index * px(6.5)), text, font=font(2.5), fill=0)
    draw.text((px(40), px(270)), "GROUND FLOOR PLAN  1:100", font=font(5), fill=0)
    return sheet


def site_photo() -> tuple[Image.Image, Image.Exif]:
    """A 3000 x 2000 'photo' of a concrete column with a crack and a spall, stored sideways (Orientation 6)."""
    rng = np.random.default_rng(2767)
    height, width = 2000, 3000
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 0.75 + 0.25 * np.cos((xx - 1500) / 1400)  # shading across the round-ish column
    base = 150 + 25 * rng.standard_normal((height // 8, width // 8)).astype(np.float32)
    texture = np.asarray(Image.fromarray(base).resize((width, height), Image.Resampling.BICUBIC))
    grain = 12 * rng.standard_normal((height, width)).astype(np.float32)
    grey = np.clip((texture + grain) * light, 0, 255)
    rgb = np.stack([grey * 1.02, grey * 1.0, grey * 0.94], axis=-1)
    rgb[yy > 1700] *= 0.55  # ground
    photo = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))

    draw = ImageDraw.Draw(photo)
    x, y = 1300.0, 150.0
    points = [(x, y)]
    while y < 1650:
        y += 40
        x += rng.normal(8, 18)
        points.append((x, y))
    draw.line(points, fill=(45, 42, 40), width=7, joint="curve")
    draw.ellipse([1480, 1180, 1760, 1390], fill=(118, 110, 100))
    for bar_x in (1520, 1640):
        draw.line([(bar_x, 1230), (bar_x + 90, 1340)], fill=(120, 62, 30), width=14)
    photo = photo.filter(ImageFilter.GaussianBlur(1.2))

    exif = Image.Exif()
    exif[0x010F] = "ImageAnalysis"
    exif[0x0110] = "Sample Camera 1"
    exif[0x0112] = 6
    exif.get_ifd(0x8769).update({0x9003: "2026:10:21 09:41:27", 0x9011: "+02:00"})
    exif.get_ifd(0x8825).update(
        {
            1: "N",
            2: (52.0, 0.0, 41.28),
            3: "E",
            4: (4.0, 21.0, 30.84),
        }
    )
    return photo.transpose(Image.Transpose.ROTATE_90), exif


def main(out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    drawing().save(out / "drawing_ground_floor_A3.png", optimize=True)
    photo, exif = site_photo()
    photo.save(out / "site_photo_column_crack.jpg", quality=88, exif=exif)
    for path in sorted(out.iterdir()):
        print(f"{path.name}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
