"""Helpers the test modules share: the command line run into a store, and LibreOffice converting a file."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from tests.conftest import shared_image_path
from tests.test_cli import cli


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


def libreoffice(soffice: str, source: Path, outdir: Path, target: str, *options: str) -> Path:
    """Convert ``source`` with LibreOffice (``--convert-to target``) into ``outdir``, in a profile of its own; the
    converted file's path."""
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{outdir}/lo-profile",
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
