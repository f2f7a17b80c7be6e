"""A result store as a given release wrote it, for the migration tests (tests/fixtures/release-store/).

Run with that release's package first on the path, from a worktree of its commit:

    git worktree add /tmp/release 979a4a7
    PYTHONPATH=/tmp/release python scripts/make_release_store.py tests/fixtures/release-store

Two ``describe --store`` runs (two photos with a sign-off, then a third photo alone), answered by a local
Chat Completions server with the long replies of ``tests/long_replies`` in order, and the reviewed report that
release made from the first run's findings CSV (``report --store``). Everything it writes is that release's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent.parent
sys.path.append(str(HERE))  # tests.long_replies; the release's package stays first on the path

from tests.long_replies import LONG_REPLIES  # noqa: E402


def _this_trees(module: str, path: Path) -> ModuleType:
    """A module of this tree, by its file (the release's tree, first on the path, has one of the same name)."""
    spec = importlib.util.spec_from_file_location(module, path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


model_server = _this_trees("this_model_server", HERE / "benchmarks" / "model_server.py").model_server

IMAGES = HERE.parent / "shared" / "images"
RUNS = (
    ("crack_concrete_ozgenel_a.png", "corrosion_rusty_metal_05_polyhaven_1k.jpg"),
    ("crack_concrete_ozgenel_b.png",),
)
SIGNOFF = ("--project", "Kade Noord quay wall", "--inspector", "J. de Vries", "--date", "2026-11-20")


def main(folder: Path) -> None:
    from image_analysis.cli import main as cli

    folder.mkdir(parents=True, exist_ok=True)
    replies = iter([json.dumps(LONG_REPLIES[name]) for run in RUNS for name in run])
    with model_server(lambda: next(replies), model="mistral.ministral-3-14b-instruct") as url:
        os.environ.update(OPENAI_BASE_URL=url, OPENAI_API_KEY="release")
        store = str(folder / "store.sqlite")
        first, second = ([str(IMAGES / name) for name in run] for run in RUNS)
        common = ("--preset", "inspection", "--store", store, "--concurrency", "1")
        outputs = ("--csv", str(folder / "findings.csv"), "--xlsx", str(folder / "findings.xlsx"))
        assert cli(["describe", *first, *common, *outputs, *SIGNOFF]) == 0
        assert cli(["describe", *second, *common]) == 0
        report = ["report", str(folder / "findings.csv"), "--store", store, "--docx", str(folder / "report.docx")]
        assert cli(report) == 0
    for leftover in folder.glob("store.sqlite-*"):
        leftover.unlink()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
