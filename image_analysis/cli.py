"""The command line: the app's pipeline without the VIKTOR platform.

    python -m image_analysis describe IMAGE [--question TEXT] [--model ID] [--preset P] [--out page.html]
    python -m image_analysis prepare IMAGE [--preset P]

Exit codes: 0 success, 2 bad input (unreadable or unsupported file, bad arguments), 3 the model service
failed or is not configured. Messages go to stderr as one line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from image_analysis import model, prompts, render
from image_analysis.errors import ImageInputError, ServiceError
from image_analysis.prepare import Preparation, Preset, prepare_image

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

    describe = commands.add_parser("describe", help="describe an image (calls the model)")
    describe.add_argument("image", type=Path, help="photo or drawing (JPEG, PNG, WebP, HEIC, GIF, TIFF, BMP)")
    describe.add_argument("--question", default="", help="an extra question or instruction for the model")
    describe.add_argument("--model", default=None, help=f"model id (default: $VISION_MODEL or {model.DEFAULT_MODEL})")
    describe.add_argument("--out", type=Path, help="also write the page the app shows to this HTML file")
    _add_preset(describe)

    prepare = commands.add_parser("prepare", help="print as JSON what would be sent, without calling a model")
    prepare.add_argument("image", type=Path, help="photo or drawing")
    _add_preset(prepare)
    return parser


def _add_preset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset",
        choices=[preset.value for preset in Preset],
        default=Preset.AUTO.value,
        help="photo (JPEG), drawing (lossless PNG, overview plus tiles when large), or auto: from the content",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        preparation = _prepare(args.image, Preset(args.preset))
    except ImageInputError as error:
        return _fail(EXIT_BAD_INPUT, str(error))
    if args.command == "prepare":
        print(json.dumps(preparation.summary(), indent=2))
        return EXIT_OK
    return _describe(preparation, args)


def _prepare(path: Path, preset: Preset) -> Preparation:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageInputError(f"Cannot read '{path}': {error.strerror or error}.") from None
    return prepare_image(data, path.name, preset=preset)


def _describe(preparation: Preparation, args: argparse.Namespace) -> int:
    prompt = prompts.build_prompt(args.question)
    model_name = args.model or model.model_id()
    try:
        settings = model.ServiceSettings.from_environment(model_name)
        description = model.describe(preparation.images, prompt, settings)
    except ServiceError as error:
        _write_page(args.out, preparation, None, args.question, model_name, str(error))
        return _fail(EXIT_SERVICE, str(error))
    _write_page(args.out, preparation, description, args.question, model_name, None)
    print(description.text)
    if description.truncated:
        print(f"{PROG}: note: the description is incomplete (the model stopped at its length limit)", file=sys.stderr)
    return EXIT_OK


def _write_page(
    out: Path | None,
    preparation: Preparation,
    description: model.Description | None,
    question: str,
    model_name: str,
    error: str | None,
) -> None:
    if out is None:
        return
    page = render.render_page(preparation, description, question=question, model=model_name, error=error)
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        print(f"{PROG}: error: cannot write '{out}': {exc.strerror or exc}", file=sys.stderr)
        return
    print(f"{PROG}: wrote {out}", file=sys.stderr)


def _fail(code: int, message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return code
