"""The quality of the AI's findings over a set of reviewed inspections: every figure of ``measures`` overall, per
defect type, per element, per model, per prompt version and per month, each leading to its photos."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from image_analysis.presets import ConditionStandard
from image_analysis.quality.measures import HUMAN_YARDSTICK, Figure, grouped, kappa, share, steps
from image_analysis.quality.outcomes import ADD, CONFIRMED, DECISIONS, DELETED, EDIT, Outcome

OBSERVATIONS = ("seriousness", "intensity", "share")


@dataclass(frozen=True)
class Findings:
    """What became of the AI's findings in a group, and the figures made of it."""

    counts: dict[str, int]
    precision: Figure
    """Kept (confirmed or edited) among those decided (kept or deleted)."""
    recall: Figure
    """Kept among the kept and the inspector's own (the model's misses)."""
    coverage: Figure
    """Decided on by a person, among all the AI's findings."""


@dataclass(frozen=True)
class Condition:
    """The AI's score against the inspector's on the findings kept (``under``, ``over``: which; ``missed``: the
    defects the AI did not report, added by the inspector, under-rated too)."""

    observations: dict[str, Figure]
    """Exact agreement per observation, on the findings where both gave one."""
    exact: Figure
    """The AI's score is the inspector's."""
    within_one: Figure
    kappa: Figure
    """Linearly weighted, over every code of the scale."""
    confusion: tuple[tuple[int, ...], ...]
    """How many kept findings the AI scored each code (rows) and the inspector each code (columns)."""
    under: tuple[Outcome, ...]
    """Scored better by the AI than by the inspector: the dangerous error."""
    over: tuple[Outcome, ...]
    missed: tuple[Outcome, ...]


@dataclass(frozen=True)
class Group:
    """One row of a breakdown."""

    name: str
    """The defect type, element, model, prompt version or month."""
    findings: Findings
    exact: Figure


@dataclass(frozen=True)
class Quality:
    """Every figure of a set of reviewed inspections, with the outcomes they were made of."""

    outcomes: tuple[Outcome, ...]
    """Every AI finding and every finding the inspector added, each leading to its photo."""
    scale: ConditionStandard
    """The scale every score of them is on (one at a time)."""
    findings: Findings
    condition: Condition
    by_type: tuple[Group, ...]
    by_element: tuple[Group, ...]
    by_model: tuple[Group, ...]
    by_prompt: tuple[Group, ...]
    by_month: tuple[Group, ...]
    type_changes: tuple[tuple[str, str, int], ...]
    """(the AI's type, the inspector's, how often) for the edited findings whose type changed."""
    inspectors: tuple[tuple[str, Figure], ...]
    """Per inspector, the share of the AI findings they decided on that they confirmed without any edit."""
    inspections: int
    yardstick: str = HUMAN_YARDSTICK


def evaluate(outcomes: Sequence[Outcome], scale: ConditionStandard, inspections: int) -> Quality:
    """Every figure of the outcomes of ``inspections`` reviewed inspections on ``scale``."""
    changes = Counter(
        (item.ai_type, item.type) for item in outcomes if item.decision == EDIT and item.ai_type != item.type
    )
    by_inspector = grouped([item for item in outcomes if item.decided], lambda item: item.inspector)
    return Quality(
        scale=scale,
        outcomes=tuple(outcomes),
        findings=_findings(outcomes),
        condition=_condition(outcomes, scale),
        by_type=_groups(outcomes, scale, lambda item: item.ai_type or item.type),
        by_element=_groups(outcomes, scale, lambda item: item.element or "not named"),
        by_model=_groups(outcomes, scale, lambda item: item.model or "not named"),
        by_prompt=_groups(outcomes, scale, lambda item: item.prompt),
        by_month=tuple(sorted(_groups(outcomes, scale, lambda item: item.month or "not dated"), key=lambda g: g.name)),
        type_changes=tuple((ai, given, count) for (ai, given), count in changes.most_common()),
        inspectors=tuple(
            (name, share([item.decision == CONFIRMED for item in items])) for name, items in by_inspector.items()
        ),
        inspections=inspections,
    )


def _findings(outcomes: Sequence[Outcome]) -> Findings:
    counts = Counter(item.decision for item in outcomes)
    kept = [item.kept for item in outcomes if item.decision in (CONFIRMED, EDIT, DELETED)]
    found = [item.kept for item in outcomes if item.decision in (CONFIRMED, EDIT, ADD)]
    decided = [item.decided for item in outcomes if item.decision != ADD]
    return Findings({name: counts[name] for name in DECISIONS}, share(kept), share(found), share(decided))


def _condition(outcomes: Sequence[Outcome], scale: ConditionStandard) -> Condition:
    kept = [item for item in outcomes if item.kept and item.ai_score in scale.codes and item.score in scale.codes]
    pairs = [(item.ai_score, item.score) for item in kept]
    apart = steps(pairs, scale)
    observations = {
        name: share(
            [
                item.ai_observed[index] == item.observed[index]
                for item in outcomes
                if item.kept and item.ai_observed[index] and item.observed[index]
            ]
        )
        for index, name in enumerate(OBSERVATIONS)
    }
    codes = scale.codes
    counted = Counter(pairs)
    return Condition(
        confusion=tuple(tuple(counted[(ai, given)] for given in codes) for ai in codes),
        exact=share([step == 0 for step in apart]),
        within_one=share([abs(step) <= 1 for step in apart]),
        kappa=kappa(pairs, scale),
        under=tuple(item for item, step in zip(kept, apart, strict=True) if step < 0),
        over=tuple(item for item, step in zip(kept, apart, strict=True) if step > 0),
        missed=tuple(item for item in outcomes if item.decision == ADD),
        observations=observations,
    )


def _groups(outcomes: Sequence[Outcome], scale: ConditionStandard, key: Callable[[Outcome], str]) -> tuple[Group, ...]:
    groups = grouped(outcomes, key)
    return tuple(
        Group(name, _findings(items), _exact(items, scale))
        for name, items in sorted(groups.items(), key=lambda pair: (-len(pair[1]), pair[0]))
    )


def _exact(outcomes: Sequence[Outcome], scale: ConditionStandard) -> Figure:
    pairs = [(item.ai_score, item.score) for item in outcomes if item.kept]
    return share([step == 0 for step in steps(pairs, scale)])
