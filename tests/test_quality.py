"""``evaluate``: how often the AI is right, from a store of inspections reviewed through the real commands
(``describe``, the inspector's edits in the findings CSV, ``report``): exactly the counts the reviews hold, the kappa
scikit-learn computes on the same pairs, intervals that contain it, and every figure leading to its photos."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from PIL import Image
from sklearn.metrics import cohen_kappa_score

from image_analysis.inspection_store import InspectionStore
from image_analysis.quality.measures import MIN_N, Figure, linear_kappas, share
from image_analysis.review import AI_CONFIRMED
from image_analysis.store import SqliteStore
from image_analysis.vocabulary import DEFECT_TYPES
from tests.helpers import cli, excel_rows, save_as_excel, service_env
from tests.observation_corpus import _reply as reply

PHOTOS_PER_INSPECTION, DEFECTS = 10, 10
TYPES = ("crack", "spalling", "corrosion", "exposed rebar", "efflorescence")
SCORES = ("2", "3", "4")
"""Each photo's score (the model's, no observations given: the inspector edits it freely)."""


def _photo(path: Path, seed: int) -> str:
    image = Image.effect_noise((160, 120), 40 + seed).convert("RGB")
    image.save(path, "JPEG", quality=80)
    return str(path)


def _reply(score: str, seed: int) -> str:
    defects = [
        {"type": TYPES[(seed + index) % len(TYPES)], "location": f"zone {index}", "extent": f"{index + 1} m"}
        for index in range(DEFECTS)
    ]
    return reply(*defects, score=score, element="concrete quay wall" if seed % 2 else "steel bearing")


def _inspect(service, folder: Path, first: int, signoff, plan, added: int) -> list[tuple[str, str]]:
    """Describe ten photos into the store (one inspection), review its CSV by ``plan`` (the action for each AI
    finding, in order), add ``added`` findings and report it back; the (AI, inspector) score pairs of those kept."""
    store = folder.parent / "results.sqlite"
    paths = []
    for index in range(PHOTOS_PER_INSPECTION):
        seed = first + index
        service.reply_once(_reply(SCORES[seed % len(SCORES)], seed))
        paths.append(_photo(folder / f"photo_{seed:03d}.jpg", seed))
    exported = folder / "findings.csv"
    done = cli(
        "describe", *paths, "--preset", "inspection", "--concurrency", "1", "--store", str(store),
        "--csv", str(exported), *signoff, env_extra=service_env(service),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows, kept, pairs = excel_rows(exported), [], []
    assert len(rows) == PHOTOS_PER_INSPECTION * DEFECTS
    for row, action in zip(rows, plan, strict=True):
        score = row["condition_score"]
        if action == "delete":
            continue
        if action == "confirm":
            row["status"] = AI_CONFIRMED
        elif action == "better":  # the AI scored one step worse than the inspector
            row["condition_score"] = str(int(score) - 1)
        elif action == "worse":  # the AI scored two steps better than the inspector: under-rated
            row["condition_score"] = str(int(score) + 2)
        pairs.append((score, row["condition_score"]))
        kept.append(row)
    added = [
        {**kept[index], "ref": "", "status": "", "defect_type": "corrosion", "defect_location": f"added {index}"}
        for index in range(added)
    ]
    edited = folder / "edited.csv"
    save_as_excel(kept + added, edited)
    done = cli("report", str(edited), "--store", str(store))
    assert done.returncode == 0, done.stderr
    return pairs


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """200 AI findings over two inspections, reviewed: 150 confirmed, 20 edited one step better (the AI was one step
    worse), 10 edited two steps worse (the AI under-rated them), 20 deleted, and 15 findings added."""
    from pytest_httpserver import HTTPServer

    from tests.conftest import ModelService

    root = tmp_path_factory.mktemp("quality")
    # each inspection's 100 findings, ten a photo: the last of each photo deleted (a photo keeps rows: reviewed),
    # the one before edited one step better, the one before that (on five photos) two steps worse, the rest confirmed
    plan = [
        {9: "delete", 8: "better", 7: "worse" if photo < 5 else "confirm"}.get(slot, "confirm")
        for photo in range(PHOTOS_PER_INSPECTION)
        for slot in range(DEFECTS)
    ]
    assert [plan.count(action) for action in ("confirm", "better", "worse", "delete")] == [75, 10, 5, 10]
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        service = ModelService(server)
        pairs = []
        for name, start, who, date, added in (
            ("a", 0, "J. de Vries", "2026-10-14", 7),
            ("b", 100, "A. Jansen", "2026-11-20", 8),
        ):
            folder = root / name
            folder.mkdir()
            signoff = ("--inspector", who, "--date", date, "--project", "Quay walls 2026")
            pairs += _inspect(service, folder, start, signoff, plan, added)
    finally:
        server.stop()
    return root / "results.sqlite", pairs


@pytest.mark.slow
def test_the_figures_are_exactly_what_the_reviews_hold(reviewed, tmp_path):
    store, pairs = reviewed
    page, book = tmp_path / "quality.html", tmp_path / "quality.xlsx"
    done = cli("evaluate", "--store", str(store), "--json", "--out", str(page), "--xlsx", str(book))
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["inspections"] == 2
    assert figures["counts"] == {"confirmed": 150, "edited": 30, "deleted": 20, "added": 15, "not reviewed": 0}
    assert figures["precision"]["value"] == pytest.approx(180 / 200)
    assert figures["recall"]["value"] == pytest.approx(180 / 195)
    assert figures["coverage"]["value"] == 1.0
    condition = figures["condition"]
    assert condition["exact"]["value"] == pytest.approx(150 / 180) and condition["exact"]["n"] == 180
    assert condition["within_one"]["value"] == pytest.approx(170 / 180)
    assert (condition["under_rated"], condition["missed"], condition["over_rated"]) == (10, 15, 20)
    ai, given = zip(*pairs, strict=True)
    expected = cohen_kappa_score(ai, given, weights="linear", labels=["1", "2", "3", "4", "5", "6"])
    kappa = condition["kappa"]
    assert kappa["value"] == pytest.approx(expected) and kappa["low"] <= expected <= kappa["high"]
    assert kappa["high"] - kappa["low"] < 0.3, "a 95 % interval of 180 pairs, not the whole range"
    assert set(figures["by_month"]) == {"2026-10", "2026-11"} and len(figures["by_prompt"]) == 1
    assert figures["by_model"]["test-model"]["counts"]["deleted"] == 20
    assert set(figures["inspectors"]) == {"J. de Vries", "A. Jansen"}
    assert "precision 90 %" in done.stderr and "10 under-rated, 15 missed" in done.stderr

    html = page.read_text(encoding="utf-8")
    assert "68 % within one step of their average" in html, "the human yardstick beside the figures"
    assert html.count('<td data-label="Finding"') >= 10 + 15 + 20, "the photos behind under-rated, missed, deleted"
    sheet = openpyxl.load_workbook(io.BytesIO(book.read_bytes()))["AI findings"]
    assert sheet.max_row - 1 == 215, "one row per AI finding and per finding added"
    decisions = [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert decisions.count("deleted") == 20 and decisions.count("added") == 15


@pytest.mark.slow
def test_an_inspection_whose_photos_are_gone_is_left_out_and_named(reviewed, tmp_path):
    store = tmp_path / "results.sqlite"
    shutil.copyfile(reviewed[0], store)
    inspections = InspectionStore(SqliteStore(store))
    first = inspections.all()[0]
    with sqlite3.connect(store) as connection:
        connection.execute("DELETE FROM results WHERE key = ?", (first.photos[3].result,))
    done = cli("evaluate", "--store", str(store), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["inspections"] == 1, "the other inspection is still measured"
    assert f"left out: {first.label}: photo 4" in done.stderr and "is not in the store" in done.stderr


def test_each_bootstrap_kappa_is_the_one_scikit_learn_computes():
    rng = np.random.default_rng(7)
    ai, given = [0, 0, 1, 2, 2, 3, 5, 4], [0, 1, 1, 2, 4, 3, 5, 5]
    draws = rng.multinomial(60, [1 / 8] * 8, size=50).astype(float)
    draws[0] = [10, 0, 0, 0, 0, 0, 0, 0]  # every pair on one score: not defined, as scikit-learn says
    computed = linear_kappas(draws, ai, given, 6)
    assert np.isnan(computed[0])
    for row, value in zip(draws[1:], computed[1:], strict=True):
        expected = cohen_kappa_score(ai, given, weights="linear", labels=list(range(6)), sample_weight=row)
        assert value == pytest.approx(expected, abs=1e-12)


def test_below_ten_cases_a_figure_is_a_count():
    assert share([True] * 7 + [False] * 2).text() == "7 of 9"
    assert not Figure(7, MIN_N - 1, 0.7).shown
    assert share([True] * 9 + [False]).text().startswith("90 % (")


def test_evaluate_says_what_to_do_with_a_store_without_reviews(tmp_path):
    missing = cli("evaluate", "--store", str(tmp_path / "none.sqlite"))
    assert missing.returncode == 2 and "there is no result store" in missing.stderr
    bad = cli("evaluate", "--store", str(tmp_path / "none.sqlite"), "--since", "last week")
    assert bad.returncode == 2 and "--since 'last week' is not a date: give it as YYYY-MM-DD" in bad.stderr


@pytest.mark.office
@pytest.mark.slow
def test_the_quality_workbook_opens_in_libreoffice_with_every_row(reviewed, tmp_path):
    import shutil

    from tests.helpers import libreoffice

    store, _ = reviewed
    book = tmp_path / "quality.xlsx"
    assert cli("evaluate", "--store", str(store), "--xlsx", str(book)).returncode == 0
    out = tmp_path / "calc"
    out.mkdir()
    converted = libreoffice(shutil.which("soffice") or "soffice", book, out, "csv:Text - txt - csv (StarCalc):44,34,76")
    lines = converted.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + 215 and lines[0].startswith("Inspection,Photo,Photo file,Finding,Decision")
    assert sum(",deleted," in line for line in lines) == 20, "LibreOffice reads every decision as written"


def test_hostile_names_are_text_in_the_quality_workbook():
    from image_analysis.presets import ConditionScale
    from image_analysis.quality import evaluate
    from image_analysis.quality.outcomes import CONFIRMED, Outcome
    from image_analysis.reports.quality import quality_workbook

    hostile = ('=HYPERLINK("http://example.com","click")', "#N/A", "+1+2", "2026-11")
    outcomes = [
        Outcome(
            "20261206-aaaaaa",
            1,
            name,
            "P1-F1",
            CONFIRMED,
            "crack",
            "crack",
            name,
            "3",
            "3",
            ("", "", ""),
            ("", "", ""),
            "m",
            "p",
            "2026-11",
            name,
        )
        for name in hostile
    ]
    book = openpyxl.load_workbook(
        io.BytesIO(quality_workbook(evaluate(outcomes, ConditionScale.NEN2767.definition, 1)))
    )
    cells = [row[2] for row in book["AI findings"].iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == list(hostile) and {cell.data_type for cell in cells} == {"s"}


LABELLED = {
    "wall_01.jpg": (("crack",), "2"),
    "wall_02.jpg": (("crack", "spalling"), "3"),
    "wall_03.jpg": (("corrosion",), "4"),
    "wall_04.jpg": ((), "1"),
}


def _labelled_folder(folder: Path) -> Path:
    for seed, name in enumerate(LABELLED):
        _photo(folder / name, 100 + seed)
    lines = ["photo,defect_types,condition,element"]
    lines += [f"{name},{';'.join(types)},{condition},quay wall" for name, (types, condition) in LABELLED.items()]
    (folder / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "labels.csv"


def _as_labelled(types, score: str) -> str:
    return reply(*[{"type": kind, "location": "centre"} for kind in types], score=score)


def test_two_models_on_a_labelled_set_side_by_side_and_a_second_run_sends_nothing(model_service, tmp_path):
    labels = _labelled_folder(tmp_path)
    for types, condition in LABELLED.values():  # model-a: as labelled
        model_service.reply_once(_as_labelled(types, condition))
    for _types, condition in LABELLED.values():  # model-b: calls everything a crack, one step worse
        model_service.reply_once(_as_labelled(("crack",), str(int(condition) + 1)))
    store, page = tmp_path / "labelled.sqlite", tmp_path / "models.html"
    arguments = ["evaluate", "--labels", str(labels), "--store", str(store), "--concurrency", "1", "--json"]
    arguments += ["--model", "model-a", "--model", "model-b"]
    done = cli(*arguments, "--out", str(page), env_extra=service_env(model_service))
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert list(figures) == ["model-a", "model-b"]
    a, b = figures["model-a"], figures["model-b"]
    assert (a["precision"]["count"], a["precision"]["n"], a["recall"]["count"], a["recall"]["n"]) == (4, 4, 4, 4)
    assert (b["precision"]["count"], b["precision"]["n"], b["recall"]["count"], b["recall"]["n"]) == (2, 4, 2, 4)
    assert (a["exact"]["count"], b["exact"]["count"], b["within_one"]["count"]) == (4, 0, 4)
    assert a["tokens_per_photo"] == 2520 and a["seconds_per_photo"] is not None and b["disagreements"] == 4
    assert (a["sent"], b["sent"]) == (4, 4)
    html = page.read_text(encoding="utf-8")
    assert html.count('class="disagreement"') == 4 and html.count('src="data:image/jpeg;base64,') == 4

    sent = len(model_service.server.log)
    again = cli(*arguments, env_extra=service_env(model_service))
    assert again.returncode == 0, again.stderr
    assert len(model_service.server.log) == sent, "a second run sends nothing: every description is in the store"
    assert json.loads(again.stdout)["model-b"]["sent"] == 0 and "0 of 4 photos sent now" in again.stderr


def test_a_prompt_variant_runs_beside_the_presets_own_and_is_sent_with_its_instruction(model_service, tmp_path):
    labels = _labelled_folder(tmp_path)
    for types, condition in LABELLED.values():  # the preset's own prompt: as labelled
        model_service.reply_once(_as_labelled(types, condition))
    for _types, condition in LABELLED.values():  # with the instruction: a crack on every photo
        model_service.reply_once(_as_labelled(("crack",), condition))
    variant = tmp_path / "hairline.txt"
    variant.write_text("Report every hairline crack, however fine.\n", encoding="utf-8")
    store = tmp_path / "labelled.sqlite"
    arguments = ["evaluate", "--labels", str(labels), "--store", str(store), "--concurrency", "1", "--json"]
    done = cli(
        *arguments, "--prompt", str(variant), "--out", str(tmp_path / "p.html"), env_extra=service_env(model_service)
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    preset, instructed = list(figures)
    assert instructed.startswith(f"{preset} with hairline.txt (")
    assert figures[preset]["precision"]["count"] == 4 and figures[instructed]["precision"]["count"] == 2
    assert figures[instructed]["prompt"] == "hairline.txt" and len(figures[instructed]["prompt_digest"]) == 8
    users = [json.dumps(request["messages"]) for request in model_service.requests]
    assert [("hairline crack, however fine" in text) for text in users] == [False] * 4 + [True] * 4
    html = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert "hairline.txt (" in html and "The models and prompts side by side" in html

    variant.write_text("  \n", encoding="utf-8")
    empty = cli(*arguments, "--prompt", str(variant), env_extra=service_env(model_service))
    assert empty.returncode == 2 and "hairline.txt: the instruction is empty" in empty.stderr
    assert len(empty.stderr.strip().splitlines()) == 1


def test_a_labels_template_and_a_bad_label_are_one_line_each(tmp_path):
    template = tmp_path / "labels.csv"
    assert cli("evaluate", "--labels-template", str(template)).returncode == 0
    assert template.read_text(encoding="utf-8") == "photo,defect_types,condition,element\n"
    template.write_text("photo,defect_types,condition\nwall.jpg,rust,3\n", encoding="utf-8")
    done = cli("evaluate", "--labels", str(template), "--store", str(tmp_path / "s.sqlite"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"image_analysis: error: {template}, row 2: 'rust' is not a defect type ({', '.join(DEFECT_TYPES)})"
    ]


def test_an_inspection_day_is_read_as_people_type_it_and_a_share_of_all_has_an_interval():
    from image_analysis.inspection import Inspection
    from image_analysis.presets import AnalysisRequest, Preset
    from image_analysis.review import SignOff

    new = Inspection.new(AnalysisRequest(preset=Preset.INSPECTION), signoff=SignOff(date="20-11-2025"))
    assert new.day == "2025-11-20"
    for typed, day in (("2025-11-20", "2025-11-20"), ("20/11/2025", "2025-11-20"), ("1.2.2026", "2026-02-01")):
        assert Inspection.new(AnalysisRequest(), signoff=SignOff(date=typed)).day == day
    assert Inspection.new(AnalysisRequest(), signoff=SignOff(date="next week")).day == new.created[:10]
    every = share([True] * 40)
    assert every.text().startswith("100 % (91-100 %"), "no shrinking to 100-100 % at the edge"
