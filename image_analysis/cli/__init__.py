"""The command line: the app's pipeline without the VIKTOR platform, one module a command.

    python -m image_analysis describe IMAGE [IMAGE ...] [--preset P] [--language L] [--scale S] [--question TEXT]
                                         [--page N] [--model ID] [--concurrency N] [--out page.html] [--docx F]
                                         [--csv F] [--pdf F] [--paper A4|Letter]
    python -m image_analysis prepare IMAGE [--preset P] [--page N]
    python -m image_analysis report [FINDINGS.xlsx|FINDINGS.csv] --store PATH [--inspection ID|NAME] [--docx F]
                                         [--pdf F] [--out F] [--xlsx F] [--csv F] [--inspector NAME] [--final] ...
    python -m image_analysis inspections --store PATH
    python -m image_analysis evaluate --store PATH [--inspection ID ...] [--since DATE] [--out F] [--xlsx F] [--json]
    python -m image_analysis elements --store PATH --object ID LIST.csv|LIST.xlsx   (or --template FILE)
    python -m image_analysis compare --store PATH --inspection ID [--previous ID] [--element N=ELEMENT ...]
                                         [--decisions changes.csv] [--out F] [--csv F] [--json]
    python -m image_analysis campaign prepare|run|submit|status|fetch|import|report ...

``--store PATH`` (or ``IMAGE_ANALYSIS_STORE``) keeps every result in SQLite, and the inspection they make with its
sign-off: a photo already described with the same choices and model is not sent again, ``report`` keeps the review of
the findings workbook (or CSV) the inspector edited as decisions and builds the reports from the record (or, without
a file, from the record as kept), and ``inspections`` lists what the store keeps. A sign-off option given to
``report`` overrides the workbook's, which overrides the inspection's, and is kept with the inspection.

IMAGE may be a PDF drawing: its page ``--page`` (default 1) is rendered at a resolution that suits the tiles.

Exit codes (``console``): 0 success, 2 bad input (unreadable or unsupported file, bad arguments), 3 the model service
failed or is not configured, or an output could not be written. Messages go to stderr as one line each, never a
traceback. In a batch every photo that can be described is, and the exit code says whether any failed. Each output
(``outputs``) is built and written on its own, atomically: one that fails never stops the others.

- ``options``: the options commands share, declared once; ``console``: messages and exit codes; ``outputs``: the
  files written;
- ``describe``, ``prepare``, ``report``, ``inspections``, ``elements``, ``compare``, ``evaluate``, ``campaign``: the
  commands.
"""

from __future__ import annotations

import argparse
import logging

from image_analysis import config, seriousness_defaults
from image_analysis.cli import campaign, compare, describe, elements, evaluate, inspections, prepare, report
from image_analysis.cli.console import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, PROG, error_exit_code, fail
from image_analysis.cli.options import Parser
from image_analysis.errors import AnalysisError

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description="Describe site photos and engineering drawings with a vision model.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in (describe, report, inspections, elements, compare, evaluate, prepare, campaign):
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; an unforeseen failure is one line on stderr, never a traceback
    (``IMAGE_ANALYSIS_DEBUG=1`` shows it)."""
    args = build_parser().parse_args(argv)
    problem = config.limits_problem() or seriousness_defaults.table_problem()
    if problem:
        return fail(EXIT_BAD_INPUT, problem)
    try:
        code: int = args.run(args)
        return code
    except AnalysisError as error:  # what a command did not handle itself: its message, with its code
        return fail(error_exit_code(error), str(error))
    except KeyboardInterrupt:
        return fail(EXIT_INTERRUPTED, "interrupted")
    except Exception as error:  # the last guard of the "never a traceback" promise
        if config.debug():
            raise
        log.debug("internal error", exc_info=True)
        return fail(EXIT_INTERNAL, f"internal error ({type(error).__name__}: {error}); please report it")
