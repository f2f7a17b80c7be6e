"""What the command line says and how it ends: one line per message on stderr (never a traceback), the exit codes,
and the one mapping from an error, or a batch's failures, to an exit code."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from image_analysis import analysis
from image_analysis.errors import AnalysisError, InputError, ServiceError
from image_analysis.reports import document, terminal
from image_analysis.safe_text import for_terminal

PROG = "image_analysis"
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_SERVICE = 3
"""The model service failed or is not configured, or an output could not be written."""
EXIT_INTERRUPTED = 130


def error_exit_code(error: AnalysisError) -> int:
    """The exit code of a user-facing error, decided here for every command (``errors`` draws the hierarchy)."""
    if isinstance(error, ServiceError):
        return EXIT_SERVICE
    return EXIT_BAD_INPUT if isinstance(error, InputError) else EXIT_INTERNAL


def batch_exit_code(results: Sequence[analysis.Analysis]) -> int:
    """The exit code of a batch whose every image was tried: the service's failure over a bad input over success."""
    failures = {result.failed_at for result in results if result.error}
    if analysis.SERVICE in failures:
        return EXIT_SERVICE
    return EXIT_BAD_INPUT if analysis.INPUT in failures else EXIT_OK


def note(message: str, label: str = "note: ") -> None:
    print(for_terminal(f"{PROG}: {label}{message}"), file=sys.stderr)


def fail(code: int, message: str) -> int:
    """Say ``message`` as one error line; ``code``, for the caller to return."""
    print(for_terminal(f"{PROG}: error: {' '.join(message.split())}"), file=sys.stderr)
    return code


def say(lines: Sequence[terminal.Line]) -> None:
    """The report's lines for the terminal, each as an error, a warning or a note."""
    for line in lines:
        if line.error:
            fail(0, line.text)
        else:
            note(line.text, label="warning: " if line.warning else "note: ")


def print_report(report: document.ReportDocument) -> None:
    """Each description on stdout; what the reader must know about each on stderr, worded as in the reports."""
    out, err = terminal.render(report)
    for text in out:
        print(for_terminal(text))
    say(err)
