"""Make the hostile and huge uploads of the budget tests and benchmarks (issue 10); they are never committed.

    python scripts/make_hostile_files.py OUTDIR [--huge-mp 250] [--only NAME ...]

Hostile: PDFs whose page draws a form XObject 10^9 or 10^6 times (a few kB), a PDF whose content stream inflates to
600 MB, a TIFF of 100,000 one-pixel pages. Huge (``--huge-mp`` megapixels, 250 by default): a lossless WebP, a
progressive CMYK JPEG, a float32 TIFF and an RGBA PNG, drawn by libvips a few lines at a time so that making them
does not need the memory that decoding them naively would.
"""

from __future__ import annotations

import argparse
import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

try:
    from scripts.pdf_writer import write_pdf
except ImportError:  # run as a script: python scripts/...
    from pdf_writer import write_pdf


def stream(content: bytes, extra: bytes = b"", compress: bool = False) -> bytes:
    data = zlib.compress(content, 9) if compress else content
    flate = b" /Filter /FlateDecode" if compress else b""
    return b"<< /Length %d%s %s >>\nstream\n" % (len(data), flate, extra) + data + b"\nendstream"


def form_bomb(levels: int, fanout: int = 1000) -> bytes:
    """A page drawing form 1, which draws form 2 ``fanout`` times, ...: ``fanout ** levels`` draws in all."""
    forms = levels
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]
    first_form = 5
    objects.append(
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /XObject << /F0 %d 0 R >> >> >>" % first_form
    )
    objects.append(stream(b"q /F0 Do Q"))
    for level in range(forms):
        last = level == forms - 1
        body = b"0 0 m 1 1 l S\n" * fanout if last else b"/F0 Do\n" * fanout
        resources = b"" if last else b"/Resources << /XObject << /F0 %d 0 R >> >>" % (first_form + level + 1)
        objects.append(stream(body, b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] " + resources, True))
    return write_pdf(objects)


def inflate_bomb(megabytes: int = 600) -> bytes:
    """A page whose content stream inflates to ``megabytes`` MB of drawing operators."""
    compressor = zlib.compressobj(9)
    chunk = b"0 0 m 1 1 l\n" * (1 << 16)
    parts = [compressor.compress(chunk) for _ in range(megabytes * (1 << 20) // len(chunk))]
    data = b"".join(parts) + compressor.flush()
    content = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
    return write_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            content,
        ]
    )


def tiff_pages(pages: int = 100_000) -> bytes:
    """A little-endian TIFF of ``pages`` one-pixel grey pages, each IFD pointing to the next."""
    entries = 8
    ifd_size = 2 + entries * 12 + 4
    out = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for page in range(pages):
        start = len(out)
        pixel = start + ifd_size
        following = pixel + 2 if page < pages - 1 else 0
        tags = [
            (256, 3, 1, 1),  # ImageWidth
            (257, 3, 1, 1),  # ImageLength
            (258, 3, 1, 8),  # BitsPerSample
            (259, 3, 1, 1),  # Compression: none
            (262, 3, 1, 1),  # Photometric: black is zero
            (273, 4, 1, pixel),  # StripOffsets
            (278, 3, 1, 1),  # RowsPerStrip
            (279, 4, 1, 1),  # StripByteCounts
        ]
        out += struct.pack("<H", entries)
        for tag, kind, count, value in tags:
            out += struct.pack("<HHII", tag, kind, count, value)
        out += struct.pack("<I", following)
        out += b"\x80\x00"  # the pixel, and a pad byte so that the next IFD starts on a word boundary
    return bytes(out)


def _side(megapixels: float) -> int:
    return int(math.sqrt(megapixels * 1_000_000))


TILE = 1024
"""The patterns are drawn once on a tile of this many pixels and repeated: a huge file costs its encoder, not the
drawing of a quarter of a billion pixels."""


def _lines(width: int, height: int):
    """A drawing's grid lines (every 97 px across, 89 px down) on near-white, as an 8-bit grey tile in memory."""
    import pyvips

    x, y = pyvips.Image.xyz(width, height)[0], pyvips.Image.xyz(width, height)[1]
    return (((x % 97) < 2) | ((y % 89) < 2)).ifthenelse(0, 230).cast("uchar").copy_memory()


def _repeated(tile, width: int, height: int):
    """``tile`` repeated to ``width`` x ``height``."""
    return tile.replicate(width // tile.width + 1, height // tile.height + 1).crop(0, 0, width, height)


def _pattern(width: int, height: int, bands: int):
    """A plan-like pattern: grid lines and a gradient, drawn on a tile and repeated to ``width`` x ``height``."""
    import pyvips

    lines = _lines(TILE, TILE)
    x = pyvips.Image.xyz(TILE, TILE)[0]
    gradient = (x * 200 / TILE).cast("uchar")
    planes = [lines, gradient, (lines + gradient) / 2, (x % 255)][:bands]
    tile = (planes[0].bandjoin(planes[1:]) if bands > 1 else planes[0]).cast("uchar").copy_memory()
    return _repeated(tile, width, height)


def _grid(width: int, height: int):
    """A drawing's grid lines on white in RGB, as a plan exported losslessly is: what a lossless WebP of a plan holds
    (its encoder is quick on it, where a gradient costs it 20 s at 250 MP). The tile is a whole number of grid
    cells, so that the lines run on across its edges."""
    grey = _repeated(_lines(97 * 11, 89 * 11), width, height)
    return grey.bandjoin([grey, grey])


def huge_webp(path: Path, megapixels: float) -> None:
    side = min(_side(megapixels), 16383)
    _grid(side, int(megapixels * 1_000_000 // side)).webpsave(str(path), lossless=True, effort=0)


def huge_cmyk_jpeg(path: Path, megapixels: float) -> None:
    side = _side(megapixels)
    image = _pattern(side, side, 4).copy(interpretation="cmyk")
    image.jpegsave(str(path), Q=80, interlace=True, subsample_mode="off")


def huge_float_tiff(path: Path, megapixels: float) -> None:
    side = _side(megapixels)
    (_pattern(side, side, 1).cast("float") / 255).tiffsave(str(path), compression="deflate", tile=False)


def huge_rgba_png(path: Path, megapixels: float) -> None:
    side = _side(megapixels)
    image = _pattern(side, side, 3)
    alpha = (image[0] > 100).ifthenelse(255, 0).cast("uchar")
    image.bandjoin(alpha).copy(interpretation="srgb").pngsave(str(path), compression=3)


HOSTILE: dict[str, Callable[[], bytes]] = {
    "pdf_form_draws_1e9.pdf": lambda: form_bomb(3),
    "pdf_form_draws_1e6.pdf": lambda: form_bomb(2),
    "pdf_inflates_600mb.pdf": inflate_bomb,
    "tiff_100000_pages.tif": tiff_pages,
}
HUGE: dict[str, Callable[[Path, float], None]] = {
    "huge_lossless.webp": huge_webp,
    "huge_progressive_cmyk.jpg": huge_cmyk_jpeg,
    "huge_float32.tif": huge_float_tiff,
    "huge_rgba.png": huge_rgba_png,
}


PROGRESSIVE = "huge_progressive_cmyk.jpg"


def make(
    outdir: Path, huge_mp: float = 250, only: list[str] | None = None, progressive_mp: float | None = None
) -> dict[str, Path]:
    """Write the files (those named in ``only``, or all) into ``outdir``; an existing file is kept.
    ``progressive_mp``: the progressive JPEG's own size (its encoder holds every coefficient: 4 GB and 14 s at 250 MP;
    120 MP is refused all the same, at 960 MB decoded against a 717 MB budget)."""
    outdir.mkdir(parents=True, exist_ok=True)
    made = {}
    for name, build in HOSTILE.items():
        if only and name not in only:
            continue
        path = outdir / name
        if not path.exists():
            path.write_bytes(build())
        made[name] = path
    for name, draw in HUGE.items():
        if only and name not in only:
            continue
        megapixels = progressive_mp if name == PROGRESSIVE and progressive_mp else huge_mp
        path = outdir / f"{Path(name).stem}_{megapixels:g}mp{Path(name).suffix}"
        if not path.exists():
            draw(path, megapixels)
        made[name] = path
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--huge-mp", type=float, default=250)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--progressive-mp", type=float, default=None, help="the progressive JPEG's own megapixels")
    args = parser.parse_args()
    for name, path in make(args.outdir, args.huge_mp, args.only, args.progressive_mp).items():
        print(f"{name}: {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
