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

From 200 photos the workbook is written in a process of its own, fed each photo through a pipe, and finishes while
the Word report is made. A writer that fails is reported and dropped; the others go on (``finish``).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from image_analysis.analysis import PENDING, Analysis
from image_analysis.campaign import Photo, Shown
from image_analysis.formats.findings_csv import csv_columns, findings_lines
from image_analysis.presets import ConditionStandard, Preset
from image_analysis.reports import document
from image_analysis.reports.outputs import Output
from image_analysis.review import Review
from image_analysis.spreadsheet import CsvWriter

if TYPE_CHECKING:
    from image_analysis.formats.findings_workbook import ElementColumns


class Results(Protocol):
    """A campaign's results (``campaign.StoredCampaign``)."""

    def __len__(self) -> int: ...

    def photos(self, shown: Shown | None = None) -> Iterator[Photo]:
        """Every result in order, without its pixels, with its thumbnail (JPEG) when there is one, and a display
        copy for each result ``shown`` picks."""
        ...


def default_threshold(scale: ConditionStandard) -> str:
    """The score from which photos get an entry when none is asked: the worse half of the scale (NEN 2767: 4)."""
    return scale.codes[len(scale.codes) // 2]


@dataclass(frozen=True)
class CampaignReport:
    document: document.ReportDocument
    """The report the Word and HTML writers render: the cover and summary over every photo, the entries shown."""
    shown: int
    finish: Callable[[], tuple[tuple[Output, Exception], ...]]
    """Wait for the streamed outputs (the workbook may still be finishing in its own process while the Word report
    is rendered) and say which could not be made, each with why."""


OWN_PROCESS = 200
"""Photos from which the workbook is written in a process of its own (it is most of the work of one pass)."""


def campaign_report(
    results: Results,
    scale: ConditionStandard,
    worst_from: str,
    *,
    review: Review | None = None,
    title: str | None = None,
    workbook: Path | None = None,
    csv: IO[str] | None = None,
    progress: Callable[[int], None] | None = None,
    elements: ElementColumns | None = None,
) -> CampaignReport:
    """Count, stream and select in one pass over ``results``: the workbook (written to the file ``workbook``) and
    the CSV get every photo as it comes; the report document holds the entries of the photos with a finding scored
    ``worst_from`` or worse. Call ``finish`` on what it returns once the Word report is made."""
    review = review or Review()
    tally = document.Tally(Preset.INSPECTION, review)
    writers: dict[Output, _Writer] = {}
    failures: list[tuple[Output, Exception]] = []
    if workbook is not None:
        apart = len(results) >= OWN_PROCESS
        writers[Output.WORKBOOK] = (_WorkbookProcess if apart else _Workbook)(scale, review, workbook, elements)
    if csv is not None:
        writers[Output.CSV] = _Csv(csv, review)
    entries: list[Analysis] = []
    pending = 0
    for count, photo in enumerate(results.photos(Shown(worst_from, review)), start=1):
        result = photo.result
        tally.add(result)
        pending += result.failed_at == PENDING
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
    for what, writer in list(writers.items()):
        try:
            writer.finish(status)
        except Exception as error:  # noqa: BLE001 - reported, and the other outputs are still written
            failures.append((what, error))
            del writers[what]

    def finish() -> tuple[tuple[Output, Exception], ...]:
        for what, writer in writers.items():
            try:
                writer.close()
            except Exception as error:  # noqa: BLE001 - reported, and the other outputs are still written
                failures.append((what, error))
        return tuple(failures)

    report = document.build_campaign(totals, entries, worst_from, scale, review, title, pending=pending)
    return CampaignReport(report, len(entries), finish)


class _Writer(Protocol):
    def add(self, result: Analysis, picture: bytes | None) -> None: ...

    def finish(self, status: str) -> None:
        """Every photo was added: finish with the report's ``status`` (it may go on in the background)."""

    def close(self) -> None:
        """Wait until the output is written; raise what kept it from being made."""


class _Workbook:
    """The workbook written here, as the photos come."""

    def __init__(
        self, scale: ConditionStandard, review: Review, path: Path, elements: ElementColumns | None = None
    ) -> None:
        from image_analysis.formats.findings_workbook import WorkbookWriter

        self.writer, self.path = WorkbookWriter(scale, review, elements), path

    def add(self, result: Analysis, picture: bytes | None) -> None:
        self.writer.add(result, picture)

    def finish(self, status: str) -> None:
        with self.path.open("wb") as file:
            self.writer.save(file, status)

    def close(self) -> None:
        pass


class _WorkbookProcess:
    """The workbook written in a process of its own, fed each photo through a pipe as it is read: the cells of ten
    thousand photos are most of a pass's work, and this process has the rest to do (and then the Word report)."""

    def __init__(
        self, scale: ConditionStandard, review: Review, path: Path, elements: ElementColumns | None = None
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, theirs = context.Pipe()
        given = (theirs, scale, review, str(path), elements)
        self.process = context.Process(target=_write_workbook, args=given, daemon=True)
        self.process.start()
        theirs.close()

    def add(self, result: Analysis, picture: bytes | None) -> None:
        self.connection.send((result, picture))

    def finish(self, status: str) -> None:
        self.connection.send(None)
        self.connection.send(status)

    def close(self) -> None:
        try:
            said = self.connection.recv()
        except EOFError:
            said = f"its process ended with exit code {self.process.exitcode}"
        self.process.join()
        if said is not None:
            raise RuntimeError(said)


def _write_workbook(
    connection: Connection, scale: ConditionStandard, review: Review, path: str, elements: ElementColumns | None
) -> None:
    """The workbook process: every photo sent, then the status; answers ``None`` once written, or what failed."""
    try:
        writer = _Workbook(scale, review, Path(path), elements)
        while (item := connection.recv()) is not None:
            writer.add(*item)
        writer.finish(connection.recv())
    except Exception as error:  # noqa: BLE001 - said to the report's process, which reports it
        connection.send(f"{type(error).__name__}: {error}")
    else:
        connection.send(None)


class _Csv:
    def __init__(self, target: IO[str], review: Review) -> None:
        self.target, self.review = target, review
        self.columns = csv_columns()
        self.writer = CsvWriter(target, self.columns)

    def add(self, result: Analysis, picture: bytes | None) -> None:
        self.writer.rows(findings_lines(result, self.review, self.columns))

    def finish(self, status: str) -> None:
        self.target.flush()

    def close(self) -> None:
        pass
