"""The command line: the app's pipeline without the VIKTOR platform.

    python -m image_analysis describe IMAGE [IMAGE ...] [--preset P] [--language L] [--scale S] [--question TEXT]
                                         [--page N] [--model ID] [--concurrency N] [--out page.html] [--docx F]
                                         [--csv F]
    python -m image_analysis prepare IMAGE [--preset P] [--page N]

IMAGE may be a PDF drawing: its page ``--page`` (default 1) is rendered at a resolution that suits the tiles.

Exit codes: 0 success, 2 bad input (unreadable or unsupported file, bad arguments), 3 the model service failed
or is not configured. Messages go to stderr as one line each, never a traceback. In a batch every photo that can
be described is, and the exit code says whether any failed.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import NoReturn

from image_analysis import analysis, model, render, report
from image_analysis.errors import ImageInputError, ServiceError
from image_analysis.presets import AnalysisRequest, ConditionScale, Language, Preset

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_SERVICE = 3
PROG = "image_analysis"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Describe site photos and engineering drawings with a vision model.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    describe = commands.add_parser("describe", help="describe images (calls the model)")
    describe.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="photos or drawings, in order")
    _add_request(describe)
    describe.add_argument("--model", default=None, help=f"model id (default: $VISION_MODEL or {model.DEFAULT_MODEL})")
    describe.add_argument(
        "--concurrency", type=int, default=analysis.DEFAULT_CONCURRENCY, help="requests in flight for a batch"
    )
    describe.add_argument("--out", type=Path, help="write the page (one image) or the HTML report (several)")
    describe.add_argument("--docx", type=Path, help="write a Word report")
    describe.add_argument("--csv", type=Path, help="write the findings of all images as CSV")

    prepare = commands.add_parser("prepare", help="print as JSON what would be sent, without calling a model")
    prepare.add_argument("image", type=Path, help="photo or drawing")
    _add_preset(prepare)
    prepare.add_argument("--page", type=int, default=1, help="the page of a PDF (default 1)")
    return parser


def _add_preset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset",
        choices=[preset.value for preset in Preset],
        default=Preset.GENERAL.value,
        help="general (default), inspection (a site photo: findings and condition score) or drawing "
        "(QA of a drawing: title block, notes; sent lossless, in tiles when large)",
    )


def _add_request(parser: argparse.ArgumentParser) -> None:
    _add_preset(parser)
    parser.add_argument("--language", choices=[language.value for language in Language], default=Language.EN.value)
    parser.add_argument(
        "--scale",
        choices=[scale.value for scale in ConditionScale],
        default=ConditionScale.NEN2767.value,
        help="condition scale for inspections: nen2767 (1-6, default), nbi (0-9), lmh (Low/Medium/High)",
    )
    parser.add_argument("--question", default="", help="an extra question or instruction for the model")
    parser.add_argument("--page", type=int, default=1, help="the page of a PDF to analyse (default 1)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "prepare":
        upload = analysis.Upload.from_path(args.image)
        try:
            if upload.unreadable:
                return _fail(EXIT_BAD_INPUT, upload.unreadable)
            preparation = analysis.prepare(upload, AnalysisRequest(preset=Preset(args.preset), page=args.page))
        except ImageInputError as error:
            return _fail(EXIT_BAD_INPUT, str(error))
        print(json.dumps(preparation.summary(), indent=2))
        return EXIT_OK
    return _describe(args)


def _describe(args: argparse.Namespace) -> int:
    if not 1 <= args.concurrency <= 16:
        return _fail(EXIT_BAD_INPUT, "--concurrency must be between 1 and 16.")
    request = AnalysisRequest(
        preset=Preset(args.preset),
        language=Language(args.language),
        scale=ConditionScale(args.scale),
        question=args.question,
        page=args.page,
    )
    if len(args.images) > analysis.MAX_BATCH:
        return _fail(EXIT_BAD_INPUT, f"At most {analysis.MAX_BATCH} images can be described at once.")
    uploads = [analysis.Upload.from_path(path) for path in args.images]
    try:
        settings, unavailable = model.ServiceSettings.from_environment(args.model), ""
    except ServiceError as error:
        settings, unavailable = None, str(error)
    results = analysis.analyse_batch(uploads, request, settings, concurrency=args.concurrency, unavailable=unavailable)
    _write_outputs(args, results)
    _print(results)
    failed = [str(path) for path, result in zip(args.images, results, strict=True) if result.error]
    if failed and len(results) > 1:
        print(
            f"{PROG}: {len(failed)} of {len(results)} without a description; to retry them: "
            f"python -m image_analysis describe {' '.join(shlex.quote(path) for path in failed)} ...",
            file=sys.stderr,
        )
    return _exit_code(results)


def _print(results: list[analysis.Analysis]) -> None:
    single = len(results) == 1
    for result in results:
        prefix = "" if single else f"{result.number}. {result.name}: "
        if result.error:
            _fail(0, prefix + result.error)
            continue
        if not single:
            print(f"=== {result.number}. {result.name} ===")
        print(result.description.text)
        if result.description.clipped:
            print(f"{PROG}: note: {prefix}the reply was very long; only its start is kept", file=sys.stderr)
        if result.description.truncated:
            print(f"{PROG}: note: {prefix}the description is incomplete (length limit)", file=sys.stderr)
        if result.parsed.problem:
            print(f"{PROG}: note: {prefix}{result.parsed.problem}; shown as it came", file=sys.stderr)


def _exit_code(results: list[analysis.Analysis]) -> int:
    failures = {result.failed_at for result in results if result.error}
    if analysis.SERVICE in failures:
        return EXIT_SERVICE
    return EXIT_BAD_INPUT if analysis.INPUT in failures else EXIT_OK


def _write_outputs(args: argparse.Namespace, results: list[analysis.Analysis]) -> None:
    outputs = []
    if args.out:
        page = render.render_page(results[0]) if len(results) == 1 else render.render_report(results)
        outputs.append((args.out, page.encode("utf-8")))
    if args.docx:
        outputs.append((args.docx, report.word_report(results)))
    if args.csv:
        outputs.append((args.csv, report.findings_csv(results).encode("utf-8")))
    for path, content in outputs:
        try:
            path.write_bytes(content)
        except OSError as error:
            _fail(0, f"cannot write '{path}': {error.strerror or error}")
            continue
        print(f"{PROG}: wrote {path}", file=sys.stderr)


def _fail(code: int, message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return code
