"""The campaign report: thousands of photos, read from the store one at a time and never held whole.

One pass over every result counts the cover and the condition summary (``document.Tally``), streams every photo
into the findings workbook and the CSV, and notes which photos have a finding scored ``worst_from`` or worse; those
photos alone are read again, as display copies, for the entries of the Word and HTML reports. The results are
read in worker processes (one per core), without their pixels, and the display copies made there too; the
thumbnails were made by ``campaign prepare``::

    results ──> Tally ───────────────┐
            ├─> WorkbookWriter ──> .xlsx (every photo, every finding)
            ├─> findings_lines ──> .csv  (every photo, every finding)
            └─> photos shown (display copies) ──> document.build_campaign ──> Word, HTML

A writer that fails is reported and dropped; the others go on (``failures``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Protocol

from image_analysis.analysis import Analysis
from image_analysis.campaign import NOT_IMPORTED, Photo, Shown
from image_analysis.presets import Preset, ScaleDefinition
from image_analysis.reports import document
from image_analysis.reports.findings_csv import CSV_COLUMNS, findings_lines
from image_analysis.review import Review
from image_analysis.spreadsheet import CsvWriter

if TYPE_CHECKING:
    from image_analysis.reports.workbook import WorkbookWriter


class Results(Protocol):
    """A campaign's results (``campaign.StoredCampaign``)."""

    def photos(self, shown: Shown | None = None) -> Iterator[Photo]:
        """Every result in order, without its pixels, with its thumbnail (JPEG) when there is one, and a display
        copy for each result ``shown`` picks."""
        ...


def default_threshold(scale: ScaleDefinition) -> str:
    """The score from which photos get an entry when none is asked: the worse half of the scale (NEN 2767: 4)."""
    return scale.codes[len(scale.codes) // 2]


@dataclass(frozen=True)
class CampaignReport:
    document: document.ReportDocument
    """The report the Word and HTML writers render: the cover and summary over every photo, the entries shown."""
    shown: int
    failures: tuple[tuple[str, Exception], ...]
    """The streamed outputs that could not be made, each with why."""


def campaign_report(
    results: Results,
    scale: ScaleDefinition,
    worst_from: str,
    *,
    review: Review | None = None,
    title: str | None = None,
    workbook: IO[bytes] | None = None,
    csv: IO[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> CampaignReport:
    """Count, stream and select in one pass over ``results``: the workbook and the CSV (when given a file) get
    every photo as it comes; the report document holds the entries of the photos with a finding scored
    ``worst_from`` or worse."""
    review = review or Review()
    tally = document.Tally(Preset.INSPECTION, review)
    writers: dict[str, _Writer] = {}
    failures: list[tuple[str, Exception]] = []
    if workbook is not None:
        from image_analysis.reports.workbook import WorkbookWriter  # openpyxl only when a workbook is written

        writers["the findings workbook"] = _Workbook(WorkbookWriter(scale, review), workbook)
    if csv is not None:
        writers["the findings CSV"] = _Csv(csv, review)
    entries: list[Analysis] = []
    pending = 0
    for count, photo in enumerate(results.photos(Shown(worst_from, review)), start=1):
        result = photo.result
        tally.add(result)
        pending += result.error == NOT_IMPORTED
        if photo.display is not None:
            entries.append(photo.display)
        for what, writer in list(writers.items()):
            try:
                writer.add(result, photo.thumbnail)
            except Exception as error:  # noqa: BLE001 - one output's failure must not cost the others
                failures.append((what, error))
                del writers[what]
        if progress is not None:
            progress(count)
    totals = tally.totals()
    status = document.status_of(totals, review)
    for what, writer in writers.items():
        try:
            writer.finish(status)
        except Exception as error:  # noqa: BLE001 - reported, and the other outputs are still written
            failures.append((what, error))
    report = document.build_campaign(totals, entries, worst_from, scale, review, title, pending=pending)
    return CampaignReport(report, len(entries), tuple(failures))


class _Writer(Protocol):
    def add(self, result: Analysis, picture: bytes | None) -> None: ...

    def finish(self, status: str) -> None: ...


class _Workbook:
    def __init__(self, writer: WorkbookWriter, target: IO[bytes]) -> None:
        self.writer, self.target = writer, target

    def add(self, result: Analysis, picture: bytes | None) -> None:
        self.writer.add(result, picture)

    def finish(self, status: str) -> None:
        self.writer.save(self.target, status)


class _Csv:
    def __init__(self, target: IO[str], review: Review) -> None:
        self.target, self.review = target, review
        self.writer = CsvWriter(target, CSV_COLUMNS)

    def add(self, result: Analysis, picture: bytes | None) -> None:
        self.writer.rows(findings_lines(result, self.review))

    def finish(self, status: str) -> None:
        self.target.flush()
