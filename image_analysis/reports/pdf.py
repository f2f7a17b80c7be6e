"""The Word report as PDF, made by LibreOffice (``soffice --convert-to pdf``) on the command line; on the VIKTOR
platform the app uses the SDK's ``convert_word_to_pdf`` instead."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from image_analysis.errors import PdfUnavailable

TIMEOUT = 180
"""Seconds LibreOffice may take for one report (a 50-photo report takes about 20)."""
INSTALL = "install LibreOffice Writer (Debian: apt-get install libreoffice-writer-nogui) to write a PDF"


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def word_to_pdf(docx: bytes) -> bytes:
    """The PDF LibreOffice makes of ``docx``, in a profile of its own (so that it runs beside an open LibreOffice)."""
    program = soffice()
    if program is None:
        raise PdfUnavailable(f"no soffice on this machine: {INSTALL}")
    with tempfile.TemporaryDirectory(prefix="image-analysis-pdf-") as directory:
        folder = Path(directory)
        source = folder / "report.docx"
        source.write_bytes(docx)
        command = [
            program,
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(source),
        ]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise PdfUnavailable(f"LibreOffice took more than {TIMEOUT} s to convert the report") from None
        except (OSError, subprocess.CalledProcessError) as error:
            raise PdfUnavailable(f"LibreOffice could not convert the report ({error})") from None
        result = folder / "report.pdf"
        if not result.is_file():
            raise PdfUnavailable("LibreOffice wrote no PDF")
        return result.read_bytes()
