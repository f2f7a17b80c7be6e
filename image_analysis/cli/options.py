"""The options commands share, each declared once (the request, the store, the sign-off, the report outputs, the
paper, a number's bounds), and the values read from them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from image_analysis import analysis, config
from image_analysis.cli.console import EXIT_BAD_INPUT
from image_analysis.errors import InputError
from image_analysis.presets import AnalysisRequest, ConditionScale, Language, Preset
from image_analysis.reports.outputs import Output
from image_analysis.reports.word_layout import DEFAULT_PAPER, Paper
from image_analysis.review import SIGNOFF_LABELS, SignOff


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def page_number(text: str) -> int:
    try:
        page = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a page number") from None
    if page < 1:
        raise argparse.ArgumentTypeError(f"{page} is not a page: the first page is 1")
    return page


def add_preset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset",
        choices=[preset.value for preset in Preset],
        default=Preset.GENERAL.value,
        help="general (default), inspection (a site photo: findings and condition score) or drawing "
        "(QA of a drawing: title block, notes; sent lossless, in tiles when large)",
    )


def add_tiles(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tiles",
        choices=["auto", "off"],
        default="auto",
        help="a drawing larger than the model's box: auto (overview plus tiles, default) or off (one image, fewer "
        "tokens, small lettering unreadable); `prepare` shows the token cost of each",
    )


def add_request(parser: argparse.ArgumentParser) -> None:
    """What the model is asked: the preset, language, scale, question, page and tiles (``request``)."""
    add_preset(parser)
    parser.add_argument("--language", choices=[language.value for language in Language], default=Language.EN.value)
    add_scale(parser, "condition scale for inspections: nen2767 (1-6, default), nbi (0-9), lmh (Low/Medium/High)")
    parser.add_argument("--question", default="", help="an extra question or instruction for the model")
    parser.add_argument("--page", type=page_number, default=None, help="the page of a PDF to analyse (default 1)")
    add_tiles(parser)


def request(args: argparse.Namespace) -> AnalysisRequest:
    """What the user asked for, from the options ``add_request`` gives a command."""
    return AnalysisRequest(
        preset=Preset(args.preset),
        language=Language(args.language),
        scale=ConditionScale(args.scale),
        question=args.question,
        page=args.page or 1,
        tiles=args.tiles,
    )


def add_scale(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument(
        "--scale",
        choices=[scale.value for scale in ConditionScale],
        default=ConditionScale.NEN2767.value,
        help=help,
    )


def add_concurrency(parser: argparse.ArgumentParser, help: str = "requests in flight") -> None:
    """``--concurrency``: how many requests a command keeps in flight (checked by ``within`` when it runs)."""
    parser.add_argument(
        "--concurrency",
        type=int,
        default=analysis.DEFAULT_CONCURRENCY,
        help=f"{help} (1 to {analysis.MAX_CONCURRENCY})",
    )


def add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help=f"model id (default: $VISION_MODEL or {config.DEFAULT_MODEL})")


def add_output(parser: argparse.ArgumentParser, output: Output, help: str) -> None:
    """The option that asks for ``output`` (``--docx F``, ...)."""
    parser.add_argument(f"--{output.option}", type=Path, help=help)


def add_pdf(parser: argparse.ArgumentParser) -> None:
    add_output(parser, Output.PDF, "write the Word report as PDF (made by LibreOffice's soffice)")
    parser.add_argument(
        "--paper",
        choices=[paper.value for paper in Paper],
        default=DEFAULT_PAPER.value,
        help=f"the Word and PDF report's paper (default {DEFAULT_PAPER.value})",
    )


def add_reports(parser: argparse.ArgumentParser, workbook: str, table: str) -> None:
    """The outputs of a command that builds the reports from the store, the store, and the sign-off."""
    add_output(parser, Output.PAGE, "write the HTML report")
    add_output(parser, Output.WORD, "write the Word report")
    add_pdf(parser)
    add_output(parser, Output.WORKBOOK, f"write {workbook}")
    add_output(parser, Output.CSV, f"write {table}")
    add_store(parser)
    add_signoff(parser)


def add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        type=Path,
        default=config.store_path(),
        help=f"a SQLite file that keeps every result (default: ${config.STORE_ENV}); nothing is described twice",
    )


def add_inspection(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--inspection", default=None, metavar="ID_OR_NAME", help=help)


def store(args: argparse.Namespace, use: str) -> Path:
    """The store a command needs for ``use`` (``"campaign import keeps the answers in"``); when none is given, an
    ``InputError`` saying how to give it."""
    if not args.store:
        raise InputError(f"{use} a store: give --store PATH or set {config.STORE_ENV}.")
    path: Path = args.store
    return path


def add_signoff(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sign-off (at the top of the reports)")
    for name, label in SIGNOFF_LABELS.items():
        group.add_argument(f"--{name}", default="", help=label.lower())
    group.add_argument(
        "--final", action="store_true", help="issue the report as final (once every finding is reviewed)"
    )


def signoff(args: argparse.Namespace) -> SignOff:
    """The sign-off the options give."""
    return SignOff(**{name: getattr(args, name, "") for name in SIGNOFF_LABELS}, final=args.final)


def within(value: int | None, option: str, most: int) -> None:
    """An ``InputError`` when ``value`` (given) is not from 1 to ``most``."""
    if value is not None and not 1 <= value <= most:
        raise InputError(f"{option} must be between 1 and {most}.")


def add_object(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--object", default="", metavar="OBJECT_ID", help=help)
