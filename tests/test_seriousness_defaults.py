"""The project's seriousness defaults: one table, used where the model observed a defect without saying how serious
it is, listed as a repair, shown in the appendix, and replaced by a user's CSV (``IMAGE_ANALYSIS_SERIOUSNESS``)."""

from __future__ import annotations

import pytest

from image_analysis import seriousness_defaults
from image_analysis.findings import parse_reply
from image_analysis.presets import ConditionScale, Preset
from image_analysis.reports import document
from image_analysis.seriousness_defaults import PROJECT_DEFAULTS, SeriousnessTable, SeriousnessTableError, read_table
from image_analysis.vocabulary import DEFECT_TYPES
from tests.observation_corpus import _obs, _reply
from tests.test_derived_record import _photo

TABLE = SeriousnessTable()


def test_every_defect_type_but_other_has_a_general_default_on_the_list():
    general = {row.defect_type: row.seriousness for row in PROJECT_DEFAULTS if not row.element}
    assert set(general) == set(DEFECT_TYPES) - {"other"}
    assert {row.seriousness for row in PROJECT_DEFAULTS} <= {"minor", "serious", "critical"}
    assert all(row.why for row in PROJECT_DEFAULTS), "each default says why"
    assert TABLE.default("crack", "Prestressed concrete girder").seriousness == "critical", "the element matters"
    assert TABLE.default("crack", "concrete abutment").seriousness == "serious"
    assert TABLE.default("other", "anything") is None


def test_a_defect_observed_without_its_seriousness_takes_its_types_default_and_says_so():
    reply = _reply(_obs(None, "advanced", "10-30 %"), _obs("cannot tell", "final", "< 2 %"), _obs(), score="3")
    parsed = parse_reply(Preset.INSPECTION, reply, ConditionScale.NEN2767, TABLE)
    assert [defect.seriousness for defect in parsed.findings.defects] == [
        "serious",
        "cannot tell from this photo",
        None,
    ]
    [repair] = [text for text in parsed.repairs if "no seriousness given" in text]
    assert repair.startswith("defect 1 (crack): no seriousness given; serious, the default for crack (lets water")
    assert "this project's defaults" in repair
    nbi = parse_reply(Preset.INSPECTION, reply, ConditionScale.NBI, TABLE)
    assert nbi.findings.defects[0].seriousness is None, "NBI derives nothing from a seriousness"
    plain = parse_reply(Preset.INSPECTION, reply, ConditionScale.NEN2767)
    assert plain.findings.defects[0].seriousness is None, "no table, no default"


def test_a_users_table_replaces_the_projects_and_a_bad_one_is_named_by_row(tmp_path, monkeypatch):
    text = "defect_type,element_contains,seriousness,why\ncrack,,minor,hairline cracks are normal here\n"
    table = read_table(text, str(tmp_path / "ours.csv"))
    assert table.default("crack", "wall").seriousness == "minor" and table.default("spalling", "wall") is None
    assert "ours.csv" in table.source and "IMAGE_ANALYSIS_SERIOUSNESS" in table.source
    with pytest.raises(SeriousnessTableError, match=r"row 2: 'severe' is not one of minor, serious, critical"):
        read_table("defect_type,element_contains,seriousness\ncrack,,severe\n", "bad.csv")
    with pytest.raises(SeriousnessTableError, match=r"row 3: 'rust' is not a defect type"):
        read_table("defect_type,element_contains,seriousness\ncrack,,minor\nrust,,serious\n", "bad.csv")

    ours = tmp_path / "ours.csv"
    ours.write_text(text, encoding="utf-8")
    monkeypatch.setenv("IMAGE_ANALYSIS_SERIOUSNESS", str(ours))
    assert seriousness_defaults.table_problem() is None
    report = document.build([_photo(1, _reply(_obs(None, "advanced", "10-30 %"), score="3"))])
    title, shown = report.appendix.derivation[-1]
    assert report.appendix.derivation_intro[-1] == document.DEFAULTS_NOTE, "said where a default was taken"
    assert "ours.csv" in title and shown.rows == (("crack", "any", "minor", "hairline cracks are normal here"),)
    observed = report.entries[0].findings.rows[0]
    assert any("minor · advanced · 10-30\u00a0%\u00a0→\u00a01" in cell for cell in observed), "the user's minor"

    monkeypatch.setenv("IMAGE_ANALYSIS_SERIOUSNESS", str(tmp_path / "missing.csv"))
    assert seriousness_defaults.table_problem().startswith("IMAGE_ANALYSIS_SERIOUSNESS: ")
    assert seriousness_defaults.active() == SeriousnessTable(), "the project's, while the command line refuses"


def test_the_command_line_refuses_a_table_it_cannot_take_in_one_line(tmp_path):
    from tests.helpers import cli

    bad = tmp_path / "bad.csv"
    bad.write_text("defect_type,element_contains,seriousness\ncrack,,severe\n", encoding="utf-8")
    done = cli("inspections", "--store", str(tmp_path / "s.sqlite"), env_extra={"IMAGE_ANALYSIS_SERIOUSNESS": str(bad)})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"image_analysis: error: {bad}, row 2: 'severe' is not one of minor, serious, critical"
    ]


def test_a_table_excel_saved_in_its_own_encoding_is_refused_in_one_line(tmp_path):
    from tests.helpers import cli

    table = tmp_path / "ernst.csv"
    table.write_bytes(
        "defect_type,element_contains,seriousness,why\ncrack,,minor,scheur in beton \u2013 gering\n".encode("cp1252")
    )
    done = cli(
        "inspections", "--store", str(tmp_path / "s.sqlite"), env_extra={"IMAGE_ANALYSIS_SERIOUSNESS": str(table)}
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f'image_analysis: error: {table}: the file is not UTF-8: save it as "CSV UTF-8"'
    ]
