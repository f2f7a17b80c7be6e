"""How often the AI is right, from the outcomes of its findings: the measures evaluation tools and inspection studies
report (``../shared/docs/quality-and-reinspection.md``), each with its n and a 95 % interval.

Each share comes with its Wilson score interval, each kappa with a seeded bootstrap interval (its pairs resampled).

- **Findings**: precision (AI findings kept, confirmed or edited, against those deleted), recall (kept against the
  findings the inspector added, the model's misses), coverage (the AI findings a person decided on).
- **Condition** on the findings kept: exact agreement, agreement within one step, and Cohen's kappa linearly
  weighted over the whole scale (scikit-learn's ``cohen_kappa_score`` with ``labels=`` every code, as the weights
  come from a code's place on the scale); **under-rating** (the AI scored better than the inspector, or missed the
  defect) counted apart from over-rating, as the dangerous error.
- A figure with fewer than ``MIN_N`` cases is a count, not a percentage.

The yardstick: human inspectors rating the same element agree within one step of their average 68 % of the time
(FHWA-RD-01-020, 49 bridge inspectors).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from image_analysis.presets import ConditionStandard

T = TypeVar("T")
MIN_N = 10
"""Below this many cases a figure is shown as a count ("7 of 9"), not a percentage."""
RESAMPLES = 1000
SEED = 2026
"""The kappa bootstrap's resamples and seed: the same outcomes give the same interval."""
HUMAN_YARDSTICK = (
    "Human inspectors rating the same element: 68 % within one step of their average, 95 % within two "
    "(FHWA-RD-01-020, 49 bridge inspectors)."
)


@dataclass(frozen=True)
class Figure:
    """A measure over ``n`` cases: ``count`` of them (a share), or ``value`` (a kappa), with its 95 % interval."""

    count: int
    n: int
    value: float | None = None
    low: float | None = None
    high: float | None = None
    share: bool = True

    @property
    def shown(self) -> bool:
        """Whether a percentage (or a kappa) is shown, rather than a count."""
        return self.n >= MIN_N and self.value is not None

    def text(self) -> str:
        """``92 % (88-95 %, n = 160)``, ``0.71 (0.64-0.78, n = 160)``; below ``MIN_N``: ``7 of 9``."""
        if not self.shown:
            if self.share:
                return f"{self.count} of {self.n}"
            return (
                f"n = {self.n}, too few" if self.n < MIN_N else f"not defined: every pair on one score (n = {self.n})"
            )
        assert self.value is not None
        if self.share:
            interval = f"{_percent(self.low)}-{_percent(self.high)}" if self.low is not None else ""
            return f"{_percent(self.value)} % ({interval} %, n = {self.n})" if interval else f"{_percent(self.value)} %"
        interval = f"{self.low:.2f} to {self.high:.2f}, " if self.low is not None and self.high is not None else ""
        return f"{self.value:.2f} ({interval}n = {self.n})"


def share(hits: Sequence[bool]) -> Figure:
    """The share of ``hits`` that are true, with its Wilson score 95 % interval (scipy's ``binomtest``): unlike a
    bootstrap of the cases, it does not shrink to nothing at 0 % or 100 %."""
    from scipy.stats import binomtest  # imported when a figure is made: it takes a moment

    n, count = len(hits), sum(1 for hit in hits if hit)
    if n == 0:
        return Figure(0, 0)
    if n < MIN_N:
        return Figure(count, n, count / n)
    interval = binomtest(count, n).proportion_ci(confidence_level=0.95, method="wilson")
    return Figure(count, n, count / n, float(interval.low), float(interval.high))


def kappa(pairs: Sequence[tuple[str, str]], scale: ConditionStandard) -> Figure:
    """Cohen's kappa of (AI, inspector) scores, linearly weighted over every code of ``scale`` (pairs with a score
    off the scale, "cannot tell", left out), with its bootstrap interval; no value when it is not defined (every
    pair on one score). scikit-learn computes each kappa from the distinct pairs weighted by their counts; a
    bootstrap resample of the pairs is a multinomial draw of those counts."""
    from sklearn.exceptions import UndefinedMetricWarning
    from sklearn.metrics import cohen_kappa_score  # imported when a kappa is asked for: it takes a second

    codes = list(scale.codes)
    counted = Counter((ai, given) for ai, given in pairs if ai in codes and given in codes)
    n = sum(counted.values())
    if n == 0:
        return Figure(0, 0, share=False)
    distinct = list(counted)
    ai = [codes.index(a) for a, _ in distinct]
    given = [codes.index(b) for _, b in distinct]
    labels = list(range(len(codes)))

    def measure(weights: np.ndarray) -> float | None:
        if weights.sum() == 0:
            return None
        with warnings.catch_warnings():  # every pair on one score: no kappa (0 / 0), said as such
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            value = cohen_kappa_score(ai, given, weights="linear", labels=labels, sample_weight=weights)
        return _defined(float(value))

    counts = np.array([counted[pair] for pair in distinct], dtype=float)
    value = measure(counts)
    if value is None or n < MIN_N:
        return Figure(n, n, value, share=False)
    draws = np.random.default_rng(SEED).multinomial(n, counts / n, size=RESAMPLES)
    replicates = linear_kappas(draws.astype(float), ai, given, len(codes))
    samples = replicates[np.isfinite(replicates)]
    if not len(samples):
        return Figure(n, n, value, share=False)
    low, high = np.percentile(samples, [2.5, 97.5])
    return Figure(n, n, value, float(low), float(high), False)


def linear_kappas(draws: np.ndarray, ai: Sequence[int], given: Sequence[int], codes: int) -> np.ndarray:
    """Linearly weighted kappa of each row of ``draws`` (counts of the distinct pairs ``(ai[d], given[d])``, codes
    ``0 .. codes - 1``), all at once: ``sklearn.metrics.cohen_kappa_score``'s own formula (the confusion matrix
    against the one its margins expect, weighted by the distance between codes) over a stack of confusion matrices.
    scikit-learn validates its input on every call, 3 ms each, which made a bootstrap of 1,000 take 3 s a figure;
    ``tests/test_quality.py`` holds every replicate equal to scikit-learn's. ``nan`` where it is not defined."""
    confusion = np.zeros((len(draws), codes, codes))
    confusion[:, np.asarray(ai), np.asarray(given)] = draws  # the pairs are distinct: each its own cell
    totals = confusion.sum(axis=(1, 2))
    expected = np.einsum("ri,rj->rij", confusion.sum(axis=2), confusion.sum(axis=1)) / totals[:, None, None]
    place = np.arange(codes)
    distance = np.abs(place[:, None] - place[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - (distance * confusion).sum(axis=(1, 2)) / (distance * expected).sum(axis=(1, 2))


def steps(pairs: Sequence[tuple[str, str]], scale: ConditionStandard) -> list[int]:
    """How far the AI's score is from the inspector's, in steps of ``scale`` (positive: the AI scored worse), for
    the pairs with both scores on the scale."""
    place = {code: index for index, code in enumerate(scale.codes)}
    return [place[ai] - place[given] for ai, given in pairs if ai in place and given in place]


def grouped(items: Sequence[T], key: Callable[[T], str]) -> dict[str, list[T]]:
    """``items`` by ``key``, in the order first seen."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


def _defined(value: float) -> float | None:
    return None if np.isnan(value) else value


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f}"
