"""Text from outside in every output: every C0 and C1 control, lone surrogates and direction controls, in a reply,
in findings, in an EXIF value and in a file name. The page, the Word report and the CSV are all written, and hold
each character as a visible code point; the terminal gets no raw escape."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import docx
import pytest
from PIL import Image

from image_analysis import safe_text
from tests.conftest import shared_image_path
from tests.helpers import cli, service_env

C0 = [chr(code) for code in range(0x20) if chr(code) not in "\t\n\r"]
C1 = [chr(code) for code in range(0x7F, 0xA0)]
SURROGATES = ["\udc00", "\udfff", "\ud800", "\udbff"]  # lows first: a high then a low would be a pair
DIRECTION = ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"]
HOSTILE = C0 + C1 + SURROGATES + DIRECTION + ["\ufffe", "\uffff"]
ALLOWED_CONTROLS = set("\t\n\r")


def raw_controls(text: str) -> list[str]:
    """Characters that must not reach an output as they are."""
    return [f"U+{ord(c):04X}" for c in text if (c in HOSTILE or (ord(c) < 0x20 and c not in ALLOWED_CONTROLS))]


@pytest.mark.parametrize("character", HOSTILE, ids=lambda c: f"U+{ord(c):04X}")
def test_each_hostile_character_becomes_its_visible_code_point(character):
    cleaned = safe_text.clean(f"a{character}b")
    assert cleaned == f"a⟨U+{ord(character):04X}⟩b"
    assert safe_text.clean(cleaned) == cleaned  # idempotent
    cleaned.encode("utf-8")  # no lone surrogate left


def test_ordinary_text_passes_unchanged():
    text = "Crack 0.3 mm wide,\tnear C3.\nScheur bij kolom — ‘Riss’ ø 12 — 裂缝 — شرخ\r\n"
    assert safe_text.clean(text) == text


def test_the_terminal_form_also_shows_carriage_returns():
    assert safe_text.for_terminal("done\rfake\x1b]0;title\x07") == "done⟨U+000D⟩fake⟨U+001B⟩]0;title⟨U+0007⟩"
    assert safe_text.for_terminal("line\r\nnext") == "line\nnext"


def photo_with_hostile_exif(tmp_path, name: str):
    with Image.open(shared_image_path("building_arena_stage_highsmith.jpg")) as image:
        exif = image.getexif()
        exif[0x010F] = "Evil\x01Cam\x1b[2J"  # Make
        exif[0x0110] = "Model\x7fX"  # Model (EXIF ASCII: DEL, not U+202E, survives Pillow writing it)
        path = tmp_path / name
        image.save(path, "JPEG", exif=exif.tobytes(), quality=85)
    return path


REPLY = "# Findings\n\nText " + "".join(HOSTILE) + " end.\n\n| a | b\x0b |\n|---|---|\n| \x1b[31mred | \ud800 |\n"
FINDINGS = json.dumps(
    {
        "element": "column" + "".join(C0[:8]),
        "material": "concrete\u202e",
        "defects": [{"type": "crack", "location": "left\x1b[2J", "extent": "\ud83d", "description": "\x0c"}],
        "condition_score": "3",
        "summary": "sum\x00mary",
    }
)


@pytest.mark.slow
@pytest.mark.parametrize("preset, reply", [("general", REPLY), ("inspection", FINDINGS)])
def test_every_output_is_written_and_clean(model_service, tmp_path, preset, reply):
    model_service.reply(reply, model="model\x1b]0;x\x07id")
    photo = photo_with_hostile_exif(tmp_path, "site\x01photo\u202egpj.jpg")
    out, word, table = tmp_path / "page.html", tmp_path / "report.docx", tmp_path / "findings.csv"
    done = cli(
        "describe",
        str(photo),
        "--preset",
        preset,
        "--out",
        str(out),
        "--docx",
        str(word),
        "--csv",
        str(table),
        env_extra=service_env(model_service),
    )
    assert done.returncode == 0, done.stderr
    assert raw_controls(done.stdout) == [] and raw_controls(done.stderr) == []
    assert "Traceback" not in done.stderr

    page = out.read_bytes().decode("utf-8")  # strict: a lone surrogate could not have been encoded
    assert raw_controls(page) == []
    assert "site⟨U+0001⟩photo⟨U+202E⟩gpj.jpg" in page
    assert "Evil⟨U+0001⟩Cam⟨U+001B⟩[2J" in page

    document_xml = zipfile.ZipFile(word).read("word/document.xml").decode("utf-8")
    assert raw_controls(document_xml) == []
    text = "\n".join(paragraph.text for paragraph in docx.Document(str(word)).paragraphs)
    assert "⟨U+0001⟩" in text and "⟨U+202E⟩" in text

    rows = list(csv.DictReader(io.StringIO(table.read_bytes().decode("utf-8-sig"))))
    assert rows and all(raw_controls(value or "") == [] for row in rows for value in row.values())
    assert rows[0]["camera"] == "Evil⟨U+0001⟩Cam⟨U+001B⟩[2J Model⟨U+007F⟩X"
    assert rows[0]["model"] == "model⟨U+001B⟩]0;x⟨U+0007⟩id"

    if preset == "general":
        for character in HOSTILE:
            assert f"⟨U+{ord(character):04X}⟩" in page, f"U+{ord(character):04X} lost from the page"
            assert f"⟨U+{ord(character):04X}⟩" in done.stdout, f"U+{ord(character):04X} lost from the terminal"
    else:
        assert rows[0]["element"].startswith("column⟨U+0000⟩⟨U+0001⟩")
        assert rows[0]["defect_location"] == "left⟨U+001B⟩[2J" and rows[0]["defect_extent"] == "⟨U+D83D⟩"


def test_one_output_that_cannot_be_written_costs_no_other(model_service, tmp_path):
    model_service.reply("A concrete column with a crack.")
    photo = shared_image_path("building_arena_stage_highsmith.jpg")
    out, table = tmp_path / "page.html", tmp_path / "findings.csv"
    table.write_text("an older file\n")
    blocked = tmp_path / "no-such-folder" / "report.docx"
    done = cli(
        "describe",
        str(photo),
        "--out",
        str(out),
        "--docx",
        str(blocked),
        "--csv",
        str(table),
        env_extra=service_env(model_service),
    )
    assert done.returncode == 3
    assert "cannot write the Word report" in done.stderr and "no-such-folder" in done.stderr
    assert "Traceback" not in done.stderr
    assert "A concrete column with a crack." in done.stdout
    assert out.is_file() and "A concrete column" in out.read_text()
    assert out.stat().st_mode & 0o644 == 0o644, "an output is readable like any file the user writes, not private"
    assert table.read_text(encoding="utf-8-sig").startswith("ref,photo,status,")  # replaced whole, atomically
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")] == []
