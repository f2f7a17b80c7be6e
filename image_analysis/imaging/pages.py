"""Which pages of a PDF set to analyse: ``all``, one page ``N``, or ranges ``A-B,C``."""

from __future__ import annotations

from image_analysis.errors import PageSpecError


def parse_pages(spec: str, count: int) -> list[int]:
    """The pages (from 1, in order, each once) that ``spec`` names in a file of ``count`` pages."""
    text = "".join(spec.split()).lower()
    if text in ("", "all"):
        return list(range(1, count + 1))
    pages: list[int] = []
    for part in text.split(","):
        first, dash, last = part.partition("-")
        if dash and not (first and last):
            raise PageSpecError(f"'{part}' is an open range: give both ends, such as 2-5 (or all).")
        try:
            start = int(first)
            end = int(last) if last else start
        except ValueError:
            message = f"'{spec}' is not a page choice: use all, a page such as 3, or ranges such as 2-5,8."
            raise PageSpecError(message) from None
        if not 1 <= start <= end <= count:
            raise PageSpecError(f"pages {part} do not exist: the file has {count} page(s).")
        pages.extend(page for page in range(start, end + 1) if page not in pages)
    return pages
