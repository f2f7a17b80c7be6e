"""The condition standards' rules, cell by cell against the published tables (``../shared/docs/condition-standards.md``)
and their worked examples."""

from __future__ import annotations

import pytest

from image_analysis.standards import aashto, nen2767
from image_analysis.standards.aashto import ConditionState
from image_analysis.standards.nen2767 import Extent, Intensity, Observation, Seriousness

PUBLISHED = """
3 critical | 1 1 2 3 4 | 1 2 3 4 5 | 2 3 4 5 6
2 serious  | 1 1 1 2 3 | 1 1 2 3 4 | 1 2 3 4 5
1 minor    | 1 1 1 1 2 | 1 1 1 2 3 | 1 1 2 3 4
"""
"""NEN 2767's defect condition as condition-standards.md prints it: a row per seriousness, a block per intensity
(1, 2, 3), a column per extent class (1-5)."""


def _published() -> dict[tuple[int, int, int], int]:
    cells = {}
    for line in filter(None, PUBLISHED.strip().splitlines()):
        head, *blocks = line.split("|")
        seriousness = int(head.split()[0])
        for intensity, block in enumerate(blocks, start=1):
            for extent, value in enumerate(block.split(), start=1):
                cells[(seriousness, intensity, extent)] = int(value)
    return cells


@pytest.mark.parametrize(("seriousness", "intensity", "extent"), sorted(_published()))
def test_each_of_the_45_cells_is_the_published_tables(seriousness, intensity, extent):
    observation = Observation(Seriousness(seriousness), Intensity(intensity), Extent(extent))
    expected = _published()[(seriousness, intensity, extent)]
    assert nen2767.defect_condition(observation) == expected
    assert expected == max(1, seriousness + intensity + extent - 5), "as the sources say of every cell"


def test_the_table_has_45_cells_and_nothing_else():
    assert len(_published()) == 45
    cells = {
        (s, i, e + 1): value
        for s, rows in nen2767.DEFECT_CONDITION.items()
        for i, row in rows.items()
        for e, value in enumerate(row)
    }
    assert cells == _published()


def test_the_correction_factors_and_thresholds_as_published():
    assert nen2767.CORRECTION_FACTORS == {1: 1.00, 2: 1.02, 3: 1.10, 4: 1.30, 5: 1.70, 6: 2.00}
    edges = {1.0: 1, 1.01: 1, 1.0101: 2, 1.04: 2, 1.0401: 3, 1.15: 3, 1.1501: 4, 1.40: 4, 1.4001: 5, 1.78: 5}
    edges |= {1.7801: 6, 2.0: 6}
    assert {factor: nen2767.condition_of_factor(factor) for factor in edges} == edges


def test_the_standards_worked_example_is_1_2326_and_condition_4():
    parts = [(300, 4), (150, 5), (250, 2), (120, 3), (90, 2), (10, 2)]
    result = nen2767.combined(parts)
    assert result.factor == pytest.approx(1.2326, abs=5e-5) and result.condition == 4


def test_a_photo_with_one_critical_final_defect_over_70_percent_and_two_minor_ones_is_6():
    worst = Observation(Seriousness.CRITICAL, Intensity.FINAL, Extent.FROM_70)
    minor = Observation(Seriousness.MINOR, Intensity.INITIAL, Extent.FROM_2_TO_10)
    assert nen2767.defect_condition(worst) == 6 and nen2767.defect_condition(minor) == 1
    result = nen2767.component_condition([worst, minor, minor])
    assert result is not None
    assert result.factor == pytest.approx((85 * 2.0 + 6 + 6 + 3) / 100) and result.condition == 6


def test_a_small_serious_defect_weighs_by_its_share_not_as_the_worst():
    small = Observation(Seriousness.CRITICAL, Intensity.FINAL, Extent.UNDER_2)  # condition 2 on 1 %
    spread = Observation(Seriousness.SERIOUS, Intensity.ADVANCED, Extent.FROM_30_TO_70)  # condition 3 on 50 %
    result = nen2767.component_condition([small, spread])
    assert result is not None and result.condition == 3  # (1 x 1.02 + 50 x 1.10 + 49 x 1.00) / 100 = 1.0502
    assert nen2767.component_condition([]) == nen2767.Combination(1.0, 1), "no defects: condition 1"


def test_a_defect_that_cannot_be_told_has_no_condition_and_its_component_none_either():
    unknown = Observation(Seriousness.SERIOUS, None, Extent.FROM_10_TO_30)
    known = Observation(Seriousness.MINOR, Intensity.INITIAL, Extent.UNDER_2)
    assert not unknown.complete and nen2767.defect_condition(unknown) is None
    assert nen2767.component_condition([known, unknown]) is None, "incomplete, never guessed"


@pytest.mark.parametrize(
    ("percent", "extent"),
    [(0, 1), (1.99, 1), (2, 2), (9.99, 2), (10, 3), (29.9, 3), (30, 4), (69.9, 4), (70, 5), (100, 5)],
)
def test_a_share_falls_in_its_extent_class(percent, extent):
    assert nen2767.extent_of_share(percent) == Extent(extent)


def test_a_share_outside_the_component_and_bad_parts_are_refused():
    for percent in (-1, 100.5):
        with pytest.raises(ValueError):
            nen2767.extent_of_share(percent)
    for parts in ([], [(0, 3)], [(-1, 3)], [(10, 7)]):
        with pytest.raises(ValueError):
            nen2767.combined(parts)


@pytest.mark.parametrize(
    ("width", "state"),
    [
        (0.2, ConditionState.GOOD),  # the three cracks
        (0.8, ConditionState.FAIR),
        (1.5, ConditionState.POOR),
        (0.0, ConditionState.GOOD),  # and the edges
        (0.29, ConditionState.GOOD),
        (0.30, ConditionState.FAIR),
        (1.27, ConditionState.FAIR),
        (1.28, ConditionState.POOR),
    ],
)
def test_reinforced_concrete_cracks_get_the_manuals_condition_state_by_width(width, state):
    assert aashto.rc_crack_state(width_mm=width) == state


def test_crack_spacing_counts_and_the_worse_of_width_and_spacing_governs():
    assert aashto.rc_crack_state(spacing_m=1.2) == ConditionState.GOOD
    assert aashto.rc_crack_state(spacing_m=0.5) == ConditionState.FAIR
    assert aashto.rc_crack_state(spacing_m=0.2) == ConditionState.POOR
    assert aashto.rc_crack_state(width_mm=0.2, spacing_m=0.2) == ConditionState.POOR
    assert aashto.rc_crack_state() is None, "nothing measured: no state, the model's estimate stays an estimate"
    with pytest.raises(ValueError):
        aashto.rc_crack_state(width_mm=-0.1)
