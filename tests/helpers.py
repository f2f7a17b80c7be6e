"""Helpers the test modules share: the command line run (in this process, or in one of its own), to every output or
into a store; a CSV saved as Excel saves it; LibreOffice converting a file; and the findings workbook edited as an
inspector would."""

from __future__ import annotations

import atexit
import contextlib
import csv
import functools
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import openpyxl

from image_analysis.formats.findings_workbook import FINDINGS, finding_headings
from image_analysis.review import ADDED, AI_CONFIRMED, DELETED, EDITED
from tests.conftest import REPO, TEST_API_KEY, shared_image_path


def cli_environment(env_extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a command runs in: this one without the model service's or VIKTOR's settings, plus
    ``env_extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIKTOR", "OPENAI", "VISION"))}
    env.update(env_extra or {})
    return env


def cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m image_analysis ARGS`` run in this process (``cli.main``), as a new process would run it: in the
    repository, with ``cli_environment(env_extra)`` as its whole environment and nothing remembered from an earlier
    run; its exit code, stdout and stderr. ``cli_process`` starts a real process, where that is the point."""
    from image_analysis import cli as command_line
    from image_analysis.structured_output import REGISTER

    out, err = io.StringIO(), io.StringIO()
    REGISTER.forget()  # what a server accepted is remembered per process: a new process knows nothing
    with _environment(cli_environment(env_extra)), contextlib.chdir(REPO):
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = command_line.main(list(args))
            except SystemExit as exit:  # argparse's usage errors and --help
                code = exit.code if isinstance(exit.code, int) else 0 if exit.code is None else 1
    REGISTER.forget()
    return subprocess.CompletedProcess(["image_analysis", *args], code, out.getvalue(), err.getvalue())


def cli_process(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m image_analysis ARGS`` in a process of its own (exit codes, signals and isolation as a shell sees
    them)."""
    return subprocess.run(
        [sys.executable, "-m", "image_analysis", *args],
        cwd=REPO,
        env=cli_environment(env_extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` replaced by ``env`` for the duration, then restored as it was."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def describe_to_every_output(
    image, tmp_path, *args: str, env_extra: dict[str, str]
) -> tuple[subprocess.CompletedProcess, Path, Path, Path]:
    """Run ``describe`` writing the page, the Word report and the CSV; return the run and the three paths."""
    out, docx, csv = tmp_path / "page.html", tmp_path / "report.docx", tmp_path / "findings.csv"
    outputs = ("--out", str(out), "--docx", str(docx), "--csv", str(csv))
    return cli("describe", str(image), *args, *outputs, env_extra=env_extra), out, docx, csv


def inspect_photo_to_every_output(model_service, tmp_path) -> tuple[subprocess.CompletedProcess, Path, Path, Path]:
    """``describe --preset inspection`` of a shared photo against ``model_service`` (no retries), to every output."""
    photo = shared_image_path("webp_photo_flower.webp")
    env = {"OPENAI_BASE_URL": model_service.base_url, "VISION_MAX_RETRIES": "0"}
    return describe_to_every_output(photo, tmp_path, "--preset", "inspection", env_extra=env)


def service_env(model_service) -> dict[str, str]:
    return {"OPENAI_BASE_URL": model_service.base_url, "OPENAI_API_KEY": TEST_API_KEY, "VISION_MAX_RETRIES": "0"}


def excel_rows(path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def save_as_excel(rows: list[dict[str, str]], path, separator: str = ";") -> None:
    """As Excel saves "CSV UTF-8" where the decimal comma is used: BOM, semicolons, CRLF."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=separator, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))


def describe_into_store(service, tmp_path: Path, photos: Sequence[str], reply: str) -> tuple[Path, Path]:
    """``describe --preset inspection`` of shared ``photos`` into a store, with the findings CSV; both paths."""
    service.reply(reply)
    store, exported = tmp_path / "results.sqlite", tmp_path / "findings.csv"
    paths = [str(shared_image_path(name)) for name in photos]
    env = {"OPENAI_BASE_URL": service.base_url, "VISION_MAX_RETRIES": "0"}
    done = cli(
        "describe", *paths, "--preset", "inspection", "--store", str(store), "--csv", str(exported), env_extra=env
    )
    assert done.returncode == 0, done.stderr
    return store, exported


def describe_inspection(service, folder: Path, paths: Sequence[str], *extra: str) -> tuple[Path, Path, Path]:
    """``describe --preset inspection`` of ``paths`` into a store in ``folder``, with the findings workbook and CSV
    (and the ``extra`` options); the store, workbook and CSV."""
    store, book, table = folder / "results.sqlite", folder / "findings.xlsx", folder / "findings.csv"
    outputs = ("--store", str(store), "--xlsx", str(book), "--csv", str(table))
    done = cli("describe", *paths, "--preset", "inspection", *outputs, *extra, env_extra=service_env(service))
    assert done.returncode == 0, done.stderr
    return store, book, table


def copied(paths: Sequence[Path], folder: Path) -> tuple[Path, ...]:
    """Each of ``paths`` copied into ``folder`` with the files beside it that belong to it (a store's ``-wal`` and
    ``-shm``, its journal): a result made once per module, given to each test as its own to change."""
    copies = []
    for path in paths:
        for part in path.parent.glob(f"{path.name}*"):
            shutil.copy2(part, folder / part.name)
        copies.append(folder / path.name)
    return tuple(copies)


def libreoffice(soffice: str, source: Path, outdir: Path, target: str, *options: str) -> Path:
    """Convert ``source`` with LibreOffice (``--convert-to target``) into ``outdir``, in this process's LibreOffice
    profile (made by the first conversion, then warm: each test process, each xdist worker, has its own); the
    converted file's path."""
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={_libreoffice_profile().as_uri()}",
            "--headless",
            "--norestore",
            *options,
            "--convert-to",
            target,
            "--outdir",
            str(outdir),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return outdir / f"{source.stem}.{target.split(':')[0]}"


@functools.cache
def _libreoffice_profile() -> Path:
    """A LibreOffice profile of this process's own, removed when it exits (two conversions never share one at once:
    a worker runs one test at a time)."""
    folder = Path(tempfile.mkdtemp(prefix="image-analysis-lo-profile-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder / "profile"


HEAD = {label: index for index, label in enumerate(finding_headings().values(), start=1)}
"""The Findings sheet's columns by heading, from 1."""


def findings_rows(sheet) -> list[list[str]]:
    return [[cell.value or "" for cell in row] for row in sheet.iter_rows(min_row=2) if any(c.value for c in row)]


def edit_as_an_inspector(source, target) -> None:
    """A score changed, two rows confirmed, a row added by copying another, a row deleted, the rows sorted by
    score, worst first."""
    book = openpyxl.load_workbook(source)
    sheet = book[FINDINGS]
    rows = findings_rows(sheet)
    by_ref = {row[HEAD["AI finding"] - 1]: row for row in rows}
    by_ref["P1-F1"][HEAD["Condition score"] - 1] = "5"
    for ref in ("P1-F2", "P2-F1"):
        by_ref[ref][HEAD["Origin"] - 1] = AI_CONFIRMED
    by_ref["P2-F1"][HEAD["Inspector's note"] - 1] = "checked on site, 0.4 mm wide"
    copy = list(by_ref["P2-F1"])
    copy[HEAD["Defect"] - 1], copy[HEAD["Where in the photo"] - 1] = "corrosion", "bearing plate, left"
    copy[HEAD["Condition score"] - 1] = "3"
    rows = [row for row in rows if row[HEAD["AI finding"] - 1] != "P2-F2"] + [copy]
    rows.sort(key=lambda row: row[HEAD["Condition score"] - 1], reverse=True)
    sheet.delete_rows(2, sheet.max_row)
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=number, column=column, value=value)
    book.save(target)


EDITED_ORIGINS = [
    ("P1-F1", EDITED),
    ("P1-F2", AI_CONFIRMED),
    ("P2-A1", ADDED),
    ("P2-F1", AI_CONFIRMED),
    ("P2-F2", DELETED),
]
"""Each row's ref and origin after ``edit_as_an_inspector``, sorted: the copied row is the inspector's first finding
of photo 2, ``P2-A1``."""


def origins(path) -> list[tuple[str, str]]:
    """The (ref, origin) of every row of a workbook's Findings sheet, sorted."""
    return sorted((row[0], row[2]) for row in findings_rows(openpyxl.load_workbook(path)[FINDINGS]))
