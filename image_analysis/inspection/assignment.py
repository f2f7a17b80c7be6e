"""Which element a photo shows: said by the inspector, or suggested, and a suggestion stays one until confirmed.

Suggestions, most specific first (``suggest``):

1. **the file name** carries an element id as the list defines it (``P12-N_north.jpg`` → ``P12-N``; the longest id
   that stands apart from the letters and digits around it);
2. **the previous inspection's photo at the same place**: the nearest earlier photo of an element within the
   photos' GPS accuracy (``DEFAULT_ACCURACY_M`` when a camera does not say), and no photo of another element as
   near;
3. **the model's element text** matched against the element names (the share of a name's words the text holds, at
   least ``MIN_WORDS_SHARED`` and ahead of the next name).

Field apps match by element record rather than by photo (``../shared/docs/quality-and-reinspection.md``); this is
how a photo gets to its record without the inspector typing every id.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from image_analysis.imaging.metadata import GpsPosition
from image_analysis.inspection.elements import Element

BY_INSPECTOR = "inspector"
BY_FILE_NAME = "file name"
BY_PREVIOUS_GPS = "GPS of the previous photo"
BY_MODEL_TEXT = "the model's element"
SOURCES = (BY_INSPECTOR, BY_FILE_NAME, BY_PREVIOUS_GPS, BY_MODEL_TEXT)
"""Who or what assigned a photo to its element; every one but the inspector is a suggestion."""

DEFAULT_ACCURACY_M = 8.0
"""A phone's horizontal GPS error in the open, when the camera does not write its own (EXIF GPSHPositioningError)."""
MIN_WORDS_SHARED = 0.5
EARTH_RADIUS_M = 6_371_008.8
_WORD = re.compile(r"[^\W_]+")
_FILLER = frozenset({"the", "a", "an", "of", "and", "with", "de", "het", "een", "van", "en", "face", "side"})


@dataclass(frozen=True)
class Assignment:
    """A photo's element, who or what said so (``SOURCES``), and why, in words."""

    element_id: str
    source: str
    why: str = ""

    @property
    def suggested(self) -> bool:
        """Whether it still waits for the inspector's word."""
        return self.source != BY_INSPECTOR


@dataclass(frozen=True)
class PlacedPhoto:
    """A photo of an earlier inspection whose element is known, and where it was taken."""

    element_id: str
    gps: GpsPosition
    label: str
    """How it is named in a suggestion: ``photo 3 of 2025-11-20``."""


def suggest(
    names: Sequence[str],
    gps: GpsPosition | None,
    model_element: str,
    elements: Sequence[Element],
    previous: Sequence[PlacedPhoto] = (),
) -> Assignment | None:
    """The element a photo probably shows, by the first rule that finds one; ``None`` when none does."""
    return (
        from_file_name(names, elements)
        or (from_previous_gps(gps, previous) if gps is not None else None)
        or from_model_text(model_element, elements)
    )


def from_file_name(names: Sequence[str], elements: Sequence[Element]) -> Assignment | None:
    """The element whose id a file name carries, apart from the letters and digits around it (the longest)."""
    for name in names:
        stem = name.rsplit(".", 1)[0]
        found = [
            element
            for element in elements
            if re.search(rf"(?<![A-Za-z0-9]){re.escape(element.id)}(?![A-Za-z0-9])", stem, re.IGNORECASE)
        ]
        if found:
            element = max(found, key=lambda item: len(item.id))
            return Assignment(element.id, BY_FILE_NAME, f"the file name '{name}' carries {element.id}")
    return None


def from_previous_gps(gps: GpsPosition, previous: Sequence[PlacedPhoto]) -> Assignment | None:
    """The element of the nearest earlier photo within both photos' accuracy, when no photo of another element is
    within it too."""
    near = []
    for photo in previous:
        apart = distance_m(gps, photo.gps)
        if apart <= max(gps.accuracy_m or DEFAULT_ACCURACY_M, photo.gps.accuracy_m or DEFAULT_ACCURACY_M):
            near.append((apart, photo))
    if not near or len({photo.element_id for _, photo in near}) > 1:
        return None
    apart, photo = min(near, key=lambda pair: pair[0])
    return Assignment(photo.element_id, BY_PREVIOUS_GPS, f"{apart:.1f} m from {photo.label} ({photo.element_id})")


def from_model_text(text: str, elements: Sequence[Element]) -> Assignment | None:
    """The element whose name's words the model's element text holds the largest share of (at least
    ``MIN_WORDS_SHARED``), when no other name shares as many."""
    said = _words(text)
    if not said:
        return None
    scored = []
    for element in elements:
        words = _words(f"{element.name} {element.kind}") | _words(element.id)
        named = _words(element.name)
        if named:
            scored.append((len(named & said) / len(named), len(words & said), element))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    if not scored or scored[0][0] < MIN_WORDS_SHARED:
        return None
    if len(scored) > 1 and scored[1][:2] == scored[0][:2]:
        return None
    element = scored[0][2]
    return Assignment(element.id, BY_MODEL_TEXT, f"the model's element '{text[:80]}' matches '{element.name}'")


def distance_m(a: GpsPosition, b: GpsPosition) -> float:
    """The great-circle distance between two positions, in metres (haversine)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.casefold()) if word not in _FILLER}
