"""``prepare``: what would be sent for one image, as JSON, without calling a model (sizes, tokens, notes)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from image_analysis import analysis
from image_analysis.cli import options
from image_analysis.cli.console import EXIT_BAD_INPUT, EXIT_OK, fail
from image_analysis.presets import AnalysisRequest, Preset


def add_parser(commands: argparse._SubParsersAction) -> None:
    prepare = commands.add_parser("prepare", help="print as JSON what would be sent, without calling a model")
    prepare.add_argument("image", type=Path, help="photo or drawing")
    options.add_preset(prepare)
    prepare.add_argument("--page", type=options.page_number, default=1, help="the page of a PDF (default 1)")
    options.add_tiles(prepare)
    prepare.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    upload = analysis.Upload.from_path(args.image)
    if upload.unreadable:
        return fail(EXIT_BAD_INPUT, upload.unreadable)
    request = AnalysisRequest(preset=Preset(args.preset), page=args.page, tiles=args.tiles)
    preparation = analysis.prepare(upload, request)
    print(json.dumps(preparation.summary(), indent=2))
    return EXIT_OK
