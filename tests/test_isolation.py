"""The drawing path wherever the app runs: in a daemonic worker (where ``multiprocessing`` children are refused),
and where no child process can be started at all (rendered in-process behind ``pdf_budget``)."""

from __future__ import annotations

import multiprocessing
import subprocess

import pytest

from image_analysis.errors import ImageInputError
from image_analysis.imaging import isolation, pdf, pdf_budget
from image_analysis.imaging.kinds import ImageKind
from image_analysis.imaging.prepare import prepare_image
from scripts.make_drawing_set import Sheet, make_set
from scripts.make_hostile_files import form_bomb, inflate_bomb

SHEETS = [Sheet("S-101", "Ground floor plan", sheet="1 of 2"), Sheet("S-102", "Roof plan", sheet="2 of 2")]


def prepare_in_worker(data: bytes, page: int) -> str:
    """Run in a daemonic pool worker: the summary of the prepared sheet, or the refusal's message."""
    assert multiprocessing.current_process().daemon
    try:
        preparation = prepare_image(data, "set.pdf", kind=ImageKind.DRAWING, page=page)
    except ImageInputError as error:
        return f"refused: {error}"
    return f"{preparation.page} {len(preparation.images)} {len(preparation.text or ())}"


@pytest.fixture(scope="module")
def drawing_set(tmp_path_factory):
    return make_set(tmp_path_factory.mktemp("set") / "set.pdf", SHEETS).read_bytes()


@pytest.mark.process
def test_the_drawing_path_renders_inside_a_daemonic_worker(drawing_set):
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        first, second = pool.starmap(prepare_in_worker, [(drawing_set, 1), (drawing_set, 2)])
        bomb = pool.apply(prepare_in_worker, (form_bomb(3), 1))
    assert first.startswith("1 ") and second.startswith("2 ")
    assert int(first.split()[2]) > 0, "the page's text layer came back from the child"
    assert bomb.startswith("refused:") and "too complex to render within" in bomb, "the child's limits hold there"


@pytest.fixture
def no_child_process(monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("operation not permitted")

    monkeypatch.setattr(subprocess, "Popen", refuse)


def test_without_child_processes_a_sheet_renders_in_process(no_child_process, drawing_set):
    with pytest.raises(isolation.NoChildProcess):
        isolation.run_isolated(len, b"")
    rendered = pdf.render_page(drawing_set, "set.pdf", 2)
    assert rendered.page == 2 and rendered.pages == 2 and rendered.text


@pytest.mark.parametrize(
    ("make", "limit"),
    [
        (lambda: form_bomb(3), "20 s"),
        pytest.param(lambda: inflate_bomb(300), "768 MB of memory", marks=pytest.mark.slow),  # 300 MB deflated
    ],
)
def test_without_child_processes_a_hostile_pdf_is_refused_before_pdfium_sees_it(no_child_process, make, limit):
    with pytest.raises(ImageInputError, match=f"too complex to render within {limit}"):
        pdf.render_page(make(), "bomb.pdf", 1)


def test_the_estimate_lets_a_million_draws_through_and_stops_a_billion():
    pdf_budget.check(form_bomb(2))
    with pytest.raises(pdf_budget.TooCostly):
        pdf_budget.check(form_bomb(3))


@pytest.mark.process
def test_a_child_that_prints_cannot_corrupt_its_answer():
    assert isolation.run_isolated(print_and_return, 41) == 42


def print_and_return(value: int) -> int:
    print("noise on the standard output" * 100)
    return value + 1
