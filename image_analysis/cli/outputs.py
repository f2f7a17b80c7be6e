"""The files a command writes (``reports.outputs.Output``), each built and written on its own, whole or not at all
(``atomic``): one that fails is said in one line, and the others are still written."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from image_analysis.atomic import write_atomically
from image_analysis.cli.console import fail, note
from image_analysis.errors import PdfUnavailable
from image_analysis.reports.outputs import Output

log = logging.getLogger(__name__)

Makers = Mapping[Output, Callable[[], bytes]]
"""How each output a command can write is made (called only for those asked for)."""


def asked(args: argparse.Namespace, output: Output) -> Path | None:
    """Where ``output`` goes, when the command's options ask for it."""
    path: Path | None = getattr(args, output.option, None)
    return path


def write_outputs(args: argparse.Namespace, makers: Makers) -> bool:
    """Make and write each output the options ask for, in ``Output``'s order, independently; whether all were."""
    written = True
    for output in Output:
        path = asked(args, output)
        if path is not None and output in makers:
            written = write_output(output, path, makers[output]) and written
    return written


def write_output(output: Output, path: Path, make: Callable[[], bytes]) -> bool:
    """Make ``output`` and write it to ``path``; a failure is one line (never a traceback), and ``False``."""
    try:
        write_atomically(path, make())
    except OSError as error:
        fail(0, cannot_write(output, path, error))
    except PdfUnavailable as error:
        fail(0, f"cannot write {output} to '{path}': {error}")
    except Exception as error:  # one output's failure must not cost the others
        log.debug("building %s failed", output, exc_info=True)
        fail(0, could_not_make(output, error))
    else:
        note(f"wrote {path}", label="")
        return True
    return False


def cannot_write(output: Output, path: Path, error: OSError) -> str:
    return f"cannot write {output} to '{path}': {error.strerror or error}"


def could_not_make(output: Output, error: BaseException) -> str:
    return f"{output} could not be made ({type(error).__name__}: {error}); please report it"
