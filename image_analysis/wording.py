"""How the facts of a photo read, in every output (the reports, the findings workbook, the map): the date it was
taken as people write it, its position and a map link, its camera, a file's size. Worded here once; loads no
imaging library (the metadata's types only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from image_analysis.imaging.metadata import GpsPosition, PhotoMetadata
from image_analysis.safe_text import clean

NO_BREAK = "\u00a0"
"""A space no line breaks at (in a position, between a number and its unit)."""


@dataclass(frozen=True)
class Field:
    """One labelled value; ``source`` says where a title-block value comes from, ``link`` where it points to."""

    label: str
    value: str
    source: str = ""
    link: str | None = None


def taken(stamp: str) -> str:
    """An EXIF time as people write it: ``14 March 2026 10:32`` (the text as it is when it is not a time)."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return clean(stamp)
    return f"{long_date(moment.date())} {moment:%H:%M}"


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def position(gps: GpsPosition) -> str:
    """``52.3731° N 4.8922° E``, never broken across lines."""
    lat = f"{abs(gps.lat):.4f}°{NO_BREAK}{'N' if gps.lat >= 0 else 'S'}"
    lon = f"{abs(gps.lon):.4f}°{NO_BREAK}{'E' if gps.lon >= 0 else 'W'}"
    return f"{lat}{NO_BREAK}{lon}"


def map_link(gps: GpsPosition) -> str:
    lat, lon = f"{gps.lat:.6f}", f"{gps.lon:.6f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"


def photo_facts(metadata: PhotoMetadata) -> list[Field]:
    """When, where and with what the photo was taken, and the orientation applied, as labelled fields."""
    facts = []
    if metadata.taken_at:
        facts.append(Field("Taken", taken(metadata.taken_at)))
    if metadata.gps:
        facts.append(Field("Position", position(metadata.gps), link=map_link(metadata.gps)))
    if metadata.camera:
        facts.append(Field("Camera", clean(metadata.camera)))
    if metadata.orientation_applied:
        facts.append(Field("Orientation", f"{metadata.orientation_applied} (EXIF), applied before sending"))
    return facts


def file_size(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f} MB"
    if count >= 1_000:
        return f"{count / 1_000:.0f} kB"
    return f"{count} bytes"
