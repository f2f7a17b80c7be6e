"""Every file a report run writes, named once: its option on the command line and what a message calls it. The
command line asks for them, builds and writes each on its own; a campaign report streams two of them."""

from __future__ import annotations

from enum import Enum


class Output(Enum):
    """A file a report run writes (``option``: its command-line option; ``str()``: what a message calls it)."""

    PAGE = ("out", "the page")
    WORD = ("docx", "the Word report")
    PDF = ("pdf", "the PDF report")
    CSV = ("csv", "the findings CSV")
    WORKBOOK = ("xlsx", "the findings workbook")
    REGISTER = ("register", "the drawing register")
    QUALITY_PAGE = ("out", "the quality page")
    QUALITY_WORKBOOK = ("xlsx", "the quality workbook")
    LABELS_TEMPLATE = ("labels_template", "the labels template")
    CHANGES_PAGE = ("out", "the changes page")
    CHANGES_CSV = ("csv", "the changes CSV")
    ELEMENTS_TEMPLATE = ("template", "the element list template")

    def __init__(self, option: str, what: str) -> None:
        self.option, self.what = option, what

    def __str__(self) -> str:
        return self.what
