"""An inspection: what was inspected, by whom, its photos in order, and how far its record has come.

Its life: **described** (the model's findings, nobody has looked), **reviewed** (the inspector decided on findings:
``decisions``), **signed** (a sign-off asked to be issued as final, with every finding reviewed). The photos are
identities (``identity.photo_of``) with the number the reports give them and every name they arrived under; the
description of each is a stored result, named by its key.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from image_analysis.analysis import Analysis
from image_analysis.inspection.identity import photo_of
from image_analysis.presets import AnalysisRequest, ConditionScale, Preset
from image_analysis.review import SignOff
from image_analysis.safe_text import clean

DESCRIBED, REVIEWED, SIGNED = "described", "reviewed", "signed"
STAGES = (DESCRIBED, REVIEWED, SIGNED)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
_EUROPEAN = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
FORMAT = 1
"""The version of an inspection's stored form (``to_json``)."""


def day_of(typed: str, otherwise: str) -> str:
    """A date as a person types it (``2026-11-20``, ``20-11-2026``, ``20/11/2026``, ``20.11.2026``) as
    ``YYYY-MM-DD``; ``otherwise`` when it is none of those."""
    typed = typed.strip()
    if match := _ISO.match(typed):
        year, month, day = match.groups()
    elif match := _EUROPEAN.match(typed):
        day, month, year = match.groups()
    else:
        return otherwise
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return otherwise


@dataclass(frozen=True)
class InspectedPhoto:
    """One photo of an inspection: its identity, its number in the reports, the names it arrived under (the first is
    the one shown), the key of its stored result, and what it failed with when it has none."""

    key: str
    number: int
    names: tuple[str, ...]
    result: str | None = None
    element_id: str = ""
    """Which element of the object the photo shows (the re-inspection's link between inspections); empty until
    someone says."""
    error: str = ""
    element_source: str = ""
    """Who or what assigned the element (``assignment.SOURCES``): a suggestion until it is the inspector."""
    element_why: str = ""
    """Why a suggestion was made, in words."""

    @property
    def name(self) -> str:
        return self.names[0]

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "names": list(self.names)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InspectedPhoto:
        names = tuple(clean(str(name)) for name in data.get("names") or ()) or (f"photo {data['number']}",)
        return cls(
            key=str(data["key"]),
            number=int(data["number"]),
            names=names,
            result=str(data["result"]) if data.get("result") else None,
            element_id=clean(str(data.get("element_id") or "")),
            error=clean(str(data.get("error") or "")),
            element_source=clean(str(data.get("element_source") or "")),
            element_why=clean(str(data.get("element_why") or "")),
        )


@dataclass(frozen=True)
class Inspection:
    """An inspection as it is kept: ``id`` (made here, said to the user), an optional ``name`` the user gave it, the
    object inspected, the sign-off (its date and inspector are the inspection's), the preset and scale its photos were
    described with, its photos in order, and its stage."""

    id: str
    name: str = ""
    object_name: str = ""
    object_id: str = ""
    signoff: SignOff = field(default_factory=SignOff)
    preset: Preset = Preset.INSPECTION
    scale: ConditionScale = ConditionScale.NEN2767
    photos: tuple[InspectedPhoto, ...] = ()
    stage: str = DESCRIBED
    created: str = field(default_factory=lambda: _now())
    legacy: bool = False
    """Made from a store written before inspections were kept (one per ``describe`` run that kept a sign-off)."""

    @property
    def date(self) -> str:
        return self.signoff.date

    @property
    def inspector(self) -> str:
        return self.signoff.inspector

    @property
    def day(self) -> str:
        """The day it took place as ``YYYY-MM-DD``: its sign-off's date as a person typed it (``day_of``), else the
        day it was described."""
        return day_of(self.date, self.created[:10])

    @property
    def label(self) -> str:
        """How the inspection is named to a user: its id, and its name or object when it has one."""
        about = self.name or self.object_name
        return f"{self.id} ({about})" if about else self.id

    @classmethod
    def new(cls, request: AnalysisRequest, name: str = "", signoff: SignOff | None = None) -> Inspection:
        signoff = signoff or SignOff()
        return cls(
            id=new_id(),
            name=clean(" ".join(name.split())),
            object_name=signoff.location,
            signoff=signoff,
            preset=request.preset,
            scale=request.scale,
        )

    def photo(self, key: str) -> InspectedPhoto | None:
        return next((photo for photo in self.photos if photo.key == key), None)

    def numbered(self, number: int) -> InspectedPhoto | None:
        return next((photo for photo in self.photos if photo.number == number), None)

    def named(self, results: Sequence[Analysis]) -> list[Analysis]:
        """``results`` (numbered as this inspection numbers them) with the other names each photo arrived under."""
        numbered = {photo.number: photo for photo in self.photos}
        return [
            dataclasses.replace(result, also_as=numbered[result.number].names[1:])
            if result.number in numbered
            else result
            for result in results
        ]

    def signed_off(self, given: SignOff) -> Inspection:
        """This inspection with the sign-off's fields ``given`` has (a blank one keeps what was kept)."""
        signoff = self.signoff.overridden_by(given)
        return dataclasses.replace(self, signoff=signoff, object_name=signoff.location or self.object_name)

    def filed(self, results: Sequence[Analysis]) -> tuple[Inspection, list[Analysis]]:
        """This inspection with ``results`` among its photos, and those results as its photos: numbered as the
        inspection numbers them, named by the name the photo first arrived under, one result for a photo given
        twice (a copy such as ``photo_001 (1).jpg``: the same bytes are the same photo, described once, counted
        once). A photo already in the inspection keeps its number and gains the new name."""
        photos = {photo.key: photo for photo in self.photos}
        order = [photo.key for photo in self.photos]
        filed: dict[str, Analysis] = {}
        for result in results:
            key = photo_of(result)
            known = photos.get(key)
            names = (result.name, *result.also_as)  # a result filed before brings the names it had
            if known is None:
                known = InspectedPhoto(key, len(order) + 1, tuple(dict.fromkeys(names)))
                order.append(key)
            elif any(name not in known.names for name in names):
                known = dataclasses.replace(known, names=tuple(dict.fromkeys((*known.names, *names))))
            if key not in filed or (filed[key].error and not result.error):
                filed[key] = result
                known = dataclasses.replace(known, result=result.record or known.result, error=result.error or "")
            photos[key] = known
        inspection = dataclasses.replace(self, photos=tuple(photos[key] for key in order))
        shown = [
            dataclasses.replace(result, number=photos[key].number, name=photos[key].name, also_as=photos[key].names[1:])
            for key, result in filed.items()
        ]
        return inspection, sorted(shown, key=lambda result: result.number)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "id": self.id,
            "name": self.name,
            "object_name": self.object_name,
            "object_id": self.object_id,
            "signoff": self.signoff.to_json(),
            "preset": self.preset.value,
            "scale": self.scale.value,
            "photos": [photo.to_json() for photo in self.photos],
            "stage": self.stage,
            "created": self.created,
            "legacy": self.legacy,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Inspection:
        """An inspection as kept; ``ValueError`` (or ``KeyError``, ``TypeError``) for a value that is not one."""
        if int(data.get("format") or 0) > FORMAT:
            raise ValueError("an inspection kept by a newer version")
        stage = str(data.get("stage") or DESCRIBED)
        return cls(
            id=clean(str(data["id"])),
            name=clean(str(data.get("name") or "")),
            object_name=clean(str(data.get("object_name") or "")),
            object_id=clean(str(data.get("object_id") or "")),
            signoff=SignOff.from_json(data.get("signoff") or {}),
            preset=Preset(data.get("preset") or Preset.INSPECTION.value),
            scale=ConditionScale(data.get("scale") or ConditionScale.NEN2767.value),
            photos=tuple(InspectedPhoto.from_json(photo) for photo in data.get("photos") or ()),
            stage=stage if stage in STAGES else DESCRIBED,
            created=str(data.get("created") or ""),
            legacy=bool(data.get("legacy")),
        )


def new_id(now: datetime | None = None) -> str:
    """A new inspection's id: its day and six random hex digits (``20261206-3f9a2c``), short enough to type."""
    return f"{(now or datetime.now(UTC)):%Y%m%d}-{secrets.token_hex(3)}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
