"""The report document on a terminal: each entry's words from the model on stdout, and on stderr one line for each
thing its reader must know (the notes and repairs the other writers show), as the document words them."""

from __future__ import annotations

from dataclasses import dataclass

from image_analysis.reports.document import ReportDocument


@dataclass(frozen=True)
class Line:
    text: str
    error: bool = False
    """An error line (the entry has no description) rather than a note."""
    warning: bool = False
    """What the cover asks the reader to act on (not issued as final, not signed)."""


def cover_lines(report: ReportDocument) -> list[Line]:
    """The cover's sign-off notes, for stderr: said after ``describe`` and ``report`` alike."""
    return [Line(note.text, warning=True) for note in report.cover.notes if note.kind == "signoff"]


def render(report: ReportDocument) -> tuple[list[str], list[Line]]:
    """What goes to stdout (each entry's text, under a ``=== n. file ===`` line when there are several) and what
    goes to stderr."""
    single = len(report.entries) == 1
    out: list[str] = []
    err: list[Line] = cover_lines(report)
    for entry in report.entries:
        prefix = "" if single else f"{entry.number}. {entry.file_name}: "
        text = next((value for value in (entry.answer, entry.raw, entry.reply) if value is not None), None)
        if text is not None:
            if not single:
                out.append(f"=== {entry.number}. {entry.file_name} ===")
            out.append(text)
        for note in entry.notes:
            err.append(Line(prefix + note.text, error=note.kind == "error"))
        if entry.repairs:
            count = len(entry.repairs)
            err.append(
                Line(f"{prefix}findings read with {count} repair{'s' * (count > 1)}: {'; '.join(entry.repairs)}")
            )
        err += [Line(prefix + fact.value) for fact in entry.sent if fact.label == "Request"]
    return out, err
