"""The photos on a map: each photo with GPS as a point coloured by its condition score, the rest listed.

Plain values only; ``app.py`` turns them into ``vkt.MapPoint`` features and a ``vkt.MapLegend``. The colours run
from green (the best code of the scale) through amber to red (the worst); "cannot tell" and photos without
findings are grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from image_analysis.analysis import Analysis
from image_analysis.presets import ConditionStandard
from image_analysis.review import Finding, photo_condition

GREY = (128, 128, 128)
_STOPS = ((46, 139, 87), (230, 170, 30), (200, 40, 40))
"""Green, amber, red: the ends and the middle of every scale."""


@dataclass(frozen=True)
class PhotoPoint:
    number: int
    name: str
    lat: float
    lon: float
    score: str
    colour: tuple[int, int, int]
    description: str


@dataclass(frozen=True)
class PhotoMap:
    points: tuple[PhotoPoint, ...]
    legend: tuple[tuple[tuple[int, int, int], str], ...]
    without_gps: tuple[str, ...]
    """``"3. name.jpg"`` for each photo that has no GPS position."""


def scale_colours(scale: ConditionStandard) -> dict[str, tuple[int, int, int]]:
    """A colour for each code of ``scale``, best (green) to worst (red)."""
    codes = scale.codes
    colours = {}
    for index, code in enumerate(codes):
        position = index / max(len(codes) - 1, 1) * (len(_STOPS) - 1)
        low = min(int(position), len(_STOPS) - 2)
        fraction = position - low
        start, end = _STOPS[low], _STOPS[low + 1]
        red, green, blue = (round(a + (b - a) * fraction) for a, b in zip(start, end, strict=True))
        colours[code] = (red, green, blue)
    return colours


def photo_map(analyses: Sequence[Analysis], findings: Sequence[Finding], scale: ConditionStandard) -> PhotoMap:
    """Points for the photos with GPS, coloured by their condition (``photo_condition``) in ``findings`` (the record
    as it stands)."""
    colours = scale_colours(scale)
    points, without = [], []
    for result in analyses:
        gps = result.preparation.metadata.gps if result.preparation else None
        if gps is None:
            without.append(f"{result.number}. {result.name}")
            continue
        rows = [finding for finding in findings if finding.photo == result.number]
        condition = photo_condition(rows, scale) if rows else ""
        score = condition if condition in scale.codes else ""
        meaning = scale.meaning(score) if score else None
        shown = f"{score} ({meaning})" if meaning else "no score"
        defects = sum(1 for f in findings if f.photo == result.number and f.defect_type)
        points.append(
            PhotoPoint(
                number=result.number,
                name=result.name,
                lat=gps.lat,
                lon=gps.lon,
                score=score,
                colour=colours.get(score, GREY),
                description=f"{scale.name}: {shown}; {defects} defect{'s' * (defects != 1)}",
            )
        )
    legend = (*((colours[code], f"{code}: {meaning}") for code, meaning in scale.values), (GREY, "no score"))
    return PhotoMap(tuple(points), legend, tuple(without))
