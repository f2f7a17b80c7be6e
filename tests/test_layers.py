"""The package's shape holds: data flows one way, each layer importing only its own and those below it, with no
import cycle; the image stage and the presets' kinds load no layer above them."""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "image_analysis"

LAYERS = [  # lowest first; a module may import its own layer and those before it
    ("foundation", {"errors", "config", "safe_text", "deadline", "json_salvage", "spreadsheet", "atomic", "progress"}),
    ("imaging", {"imaging"}),
    ("standards", {"standards"}),  # the condition standards as rules, each with its source
    ("presets", {"presets", "vocabulary", "observations", "wording", "seriousness_defaults"}),
    ("findings", {"findings", "condition", "consistency", "title_text"}),
    ("prompts", {"prompts", "structured_output"}),
    ("model client", {"model"}),
    ("store", {"store", "store_keys", "workspace_store"}),  # a keyed cache of results that analysis writes through
    ("analysis", {"analysis", "chat", "comparison"}),
    ("the inspector's record", {"fields", "review", "inspection", "register", "photo_map"}),
    ("formats", {"formats"}),  # each spreadsheet format, written and read back
    ("the review kept", {"review_store", "inspection_store", "reinspection"}),  # inspections and decisions in the store
    ("campaign", {"campaign"}),
    ("quality", {"quality"}),  # how often the AI is right, from the reviews kept
    ("reports", {"reports"}),
    ("command line", {"cli", "__main__", "__init__"}),
]


def _unit(module: str) -> str:
    """The layer unit of a dotted module name below ``image_analysis``: its first part."""
    return module.split(".")[0]


def _layer(unit: str) -> int:
    for index, (_, units) in enumerate(LAYERS):
        if unit in units:
            return index
    raise AssertionError(f"image_analysis.{unit} belongs to no layer: add it to LAYERS in tests/test_layers.py")


def _imports() -> dict[str, set[str]]:
    """Every module below image_analysis (dotted, without the prefix) and the package modules it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("image_analysis"):
                base = node.module.removeprefix("image_analysis").lstrip(".")
                for alias in node.names:
                    target = f"{base}.{alias.name}" if base else alias.name
                    imported.add(target if (PACKAGE / Path(*target.split("."))).with_suffix(".py").exists() else base)
            elif isinstance(node, ast.Import):
                imported |= {
                    a.name.removeprefix("image_analysis.") for a in node.names if a.name.startswith("image_analysis.")
                }
        graph[module] = {target for target in imported if target and target != module}
    return graph


def test_nothing_imports_upwards():
    upward = [
        f"{module} ({LAYERS[_layer(_unit(module))][0]}) imports {target} ({LAYERS[_layer(_unit(target))][0]})"
        for module, targets in _imports().items()
        for target in targets
        if _layer(_unit(target)) > _layer(_unit(module))
    ]
    assert not upward, "\n".join(upward)


def test_there_is_no_import_cycle():
    graph = {module: {t for t in targets if not t.endswith("__init__")} for module, targets in _imports().items()}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise AssertionError(f"import cycle: {' -> '.join(error.args[1])}") from None


def test_the_image_stage_is_its_own_package():
    stage = {path.stem for path in (PACKAGE / "imaging").glob("*.py")}
    assert {"prepare", "prepared", "kinds", "decode", "encode", "engines", "vision_grid", "tiles", "pdf"} <= stage
    assert (PACKAGE / "reports" / "__init__.py").exists()


@pytest.mark.process
def test_the_presets_load_no_imaging_library():
    """A preset or a finding's vocabulary is usable where no image is decoded (the command line's help, the app's
    parametrization): importing them loads neither Pillow nor numpy nor pillow-heif."""
    code = (
        "import sys, image_analysis.presets, image_analysis.vocabulary, image_analysis.imaging.kinds; "
        "print(sorted(m for m in ('PIL', 'numpy', 'pillow_heif', 'pyvips') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


@pytest.mark.process
def test_the_app_and_the_local_engine_load_no_ray():
    """Ray is the campaigns' optional engine: the app, the command line and the local engine never load it (the app's
    requirements and its start-up stay as they were)."""
    code = (
        "import sys, app, image_analysis.cli, image_analysis.campaign, image_analysis.campaign.prepare; "
        "print(sorted(m for m in ('ray', 'pyarrow') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
    assert "ray" not in (REPO / "requirements.txt").read_text(encoding="utf-8")


@pytest.mark.process
def test_the_benchmarks_and_scripts_import():
    """``make bench`` and the scripts run outside pytest: a moved module must not break them unseen."""
    modules = ["benchmarks.run", "benchmarks.platform_sizes", "benchmarks.model_server"] + [
        f"scripts.{path.stem}" for path in sorted((REPO / "scripts").glob("*.py"))
    ]
    code = "import importlib, sys; [importlib.import_module(name) for name in sys.argv[1:]]"
    done = subprocess.run([sys.executable, "-c", code, *modules], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_files_are_put_in_place_in_one_module():
    """Every file replaced whole is written through ``atomic`` (one rule: flushed, synced, renamed): no other module
    renames a file into place itself."""
    renaming = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("replace", "rename")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "os"
            ):
                renaming.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert {place.split(":")[0] for place in renaming} == {"image_analysis/atomic.py"}, renaming


def test_each_command_is_a_module_of_its_own():
    """The command line is one module a command, each giving its parser and its run: a new command is a new module,
    not a branch in a shared one."""
    from image_analysis.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, parser in commands.items():
        run = parser.get_default("run")
        steps = parser._subparsers._group_actions[0].choices if parser._subparsers else {}  # type: ignore[union-attr]
        runs = [run] if run else [step.get_default("run") for step in steps.values()]
        assert runs and all(runs), f"{name} has no run"
        assert {fn.__module__ for fn in runs} == {f"image_analysis.cli.{name}"}, name
