"""The inspector's record: the AI's findings as rows to review, what the inspector changed, and the sign-off.

Every finding carries its origin ("AI, not reviewed", "AI, confirmed", "edited by the inspector", "added by the
inspector"), decided by comparing a reviewed row with the model's finding it came from (``ref``), never by trusting
what the row says of itself. Reports use the reviewed rows when there are any.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from image_analysis import fields
from image_analysis.analysis import Analysis
from image_analysis.condition import DOT, Derivation, Observed, defect_score, derive, derive_observed, score_text
from image_analysis.errors import ReviewError
from image_analysis.findings import InspectionFindings
from image_analysis.observations import INTENSITIES, SERIOUSNESS, SHARES
from image_analysis.presets import ConditionStandard
from image_analysis.safe_text import clean
from image_analysis.vocabulary import CANNOT_TELL, DEFECT_TYPES, URGENCIES

AI_NOT_REVIEWED = "AI, not reviewed"
AI_CONFIRMED = "AI, confirmed"
EDITED = "edited by the inspector"
ADDED = "added by the inspector"
ORIGINS = (AI_NOT_REVIEWED, AI_CONFIRMED, EDITED, ADDED)
CHOSEN = (AI_NOT_REVIEWED, AI_CONFIRMED)
"""The origins an inspector sets on an AI finding; "edited" and "added" are decided by comparing the row with it."""
DELETED = "deleted by the inspector"
"""An AI finding whose row the inspector deleted: not in the record's findings, listed under its photo."""


SIGNOFF_LABELS = {
    "client": "Client",
    "project": "Project",
    "location": "Object / location",
    "inspector": "Inspector",
    "date": "Inspection date",
    "reference": "Reference",
}
"""The sign-off's fields in the order the cover lists them (and the command line's ``--client`` ... options)."""


@dataclass(frozen=True)
class SignOff:
    """Who signs for what, for whom: on the cover of every report. ``final`` asks for the report to be issued as
    final (it is, once no finding is left unreviewed)."""

    project: str = ""
    location: str = ""
    inspector: str = ""
    date: str = ""
    reference: str = ""
    client: str = ""
    final: bool = False

    def __post_init__(self) -> None:
        for name in SIGNOFF_LABELS:
            object.__setattr__(self, name, clean(" ".join(str(getattr(self, name) or "").split())))
        object.__setattr__(self, "final", bool(self.final))

    @property
    def empty(self) -> bool:
        return not any(getattr(self, name) for name in SIGNOFF_LABELS)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SignOff:
        return cls(**{name: str(data.get(name) or "") for name in SIGNOFF_LABELS}, final=bool(data.get("final")))

    def overridden_by(self, given: SignOff) -> SignOff:
        """This sign-off with every field ``given`` has taken from it (a flag on the command line wins)."""
        values = {name: getattr(given, name) or getattr(self, name) for name in SIGNOFF_LABELS}
        return SignOff(**values, final=given.final or self.final)


@dataclass(frozen=True)
class Finding:
    """One row of the record: a defect on a photo (or a photo's element without defects), and its origin."""

    photo: int
    file: str = ""
    element: str = ""
    defect_type: str = ""
    location: str = ""
    extent: str = ""
    condition_score: str = ""
    recommended_action: str = ""
    urgency: str = ""
    inspector_note: str = ""
    status: str = AI_NOT_REVIEWED
    ref: str = ""
    """Which model finding this row came from (``finding_ref``): ``P3-F2``, or ``P3-F0`` for a photo without
    defects."""
    seriousness: str = ""
    intensity: str = ""
    share: str = ""
    """What was observed of the defect (``observations``): the words on their lists, or "cannot tell"."""

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Review:
    """The sign-off, the reviewed findings and the AI findings the inspector deleted (nothing reviewed: the
    reports show the model's findings)."""

    signoff: SignOff = SignOff()
    findings: tuple[Finding, ...] = ()
    deleted: tuple[Finding, ...] = ()
    """The AI's findings the inspector deleted, as the model gave them (status ``DELETED``)."""

    @property
    def reviewed_photos(self) -> set[int]:
        """The photos whose findings are the inspector's: those with reviewed rows or deleted findings."""
        return {finding.photo for finding in (*self.findings, *self.deleted)}

    def for_photo(self, photo: int) -> list[Finding]:
        return [finding for finding in self.findings if finding.photo == photo]

    def deleted_from(self, photo: int) -> list[Finding]:
        return [finding for finding in self.deleted if finding.photo == photo]

    def effective(self, model_findings: Sequence[Finding]) -> list[Finding]:
        """The record as it stands: each photo's reviewed findings where it has any, else the model's."""
        reviewed = self.reviewed_photos
        kept = [finding for finding in model_findings if finding.photo not in reviewed]
        return sorted([*self.findings, *kept], key=lambda finding: finding.photo)

    @classmethod
    def from_rows(
        cls,
        signoff: SignOff,
        rows: Iterable[Mapping[str, Any]],
        analyses: Sequence[Analysis],
        scale: ConditionStandard,
        first_row: int = 1,
        before: Review | None = None,
    ) -> Review:
        """The review of ``analyses`` from the rows the inspector left (``reviewed``; ``before``: the review the
        record held when the file was made): an AI finding of a reviewed photo whose row is gone, or whose status
        says deleted, is one the inspector deleted."""
        findings = reviewed(rows, analyses, scale, first_row, before)
        kept = tuple(row for row in findings if row.status != DELETED)
        marked = {row.ref: row for row in findings if row.status == DELETED}
        present = {row.ref for row in kept}
        photos = {row.photo for row in findings}
        deleted = tuple(
            replace(finding, status=DELETED, inspector_note=marked[finding.ref].inspector_note)
            if finding.ref in marked
            else replace(finding, status=DELETED)
            for finding in ai_findings(analyses)
            if finding.photo in photos and finding.ref not in present and finding.defect_type
        )
        return cls(signoff, kept, deleted)

    def state(self, photo: int) -> str:
        """Whether a photo's findings were reviewed, and by whom."""
        rows = self.for_photo(photo)
        if not self.deleted_from(photo) and all(row.status == AI_NOT_REVIEWED for row in rows):
            return "Not reviewed: the findings are the AI's, as the model gave them."
        by = f" by {self.signoff.inspector}" if self.signoff.inspector else ""
        open_rows = sum(1 for row in rows if row.status == AI_NOT_REVIEWED)
        rest = f" ({open_rows} finding{'s' * (open_rows > 1)} not reviewed)" if open_rows else ""
        return f"Reviewed{by}{rest}."


def model_scores(analyses: Sequence[Analysis]) -> dict[int, str]:
    """The overall score the model gave each photo (its cross-check beside the derived condition)."""
    return {
        result.number: result.parsed.findings.condition_score
        for result in analyses
        if isinstance(result.parsed.findings, InspectionFindings)
    }


def shown_score(finding: Finding, scale: ConditionStandard, given: Mapping[int, str]) -> str:
    """A finding's score as a report shows it (``condition.score_text``): derived, the inspector's over the derived
    one, or one not derived, the model's (``given``: its overall score per photo) or the inspector's."""
    own = finding.status == ADDED or (finding.status == EDITED and finding.condition_score != given.get(finding.photo))
    return (
        score_text(finding.condition_score, observed(finding), scale, own)
        if finding.defect_type
        else (scale.shown(finding.condition_score))
    )


def photo_derivation(rows: Sequence[Finding], scale: ConditionStandard, given: str) -> Derivation | None:
    """A photo's condition derived from its findings as the record holds them (each defect's observations, the
    inspector's own condition of one in its place); ``given``, the model's overall score, tells a photo without
    defects that can be judged from one that cannot."""
    defects = [row for row in rows if row.defect_type]
    held = [row.condition_score for row in defects]
    return derive_observed([observed(row) for row in defects], given, scale, held)


def photo_condition(rows: Sequence[Finding], scale: ConditionStandard) -> str:
    """A photo's condition: its defects combined by its standard where every one is derived; else (and on a scale
    without a rule, and for a photo without defects) the worst score of its findings; "cannot tell" only when no
    finding has a score on the scale."""
    if not rows:
        return CANNOT_TELL
    derivation = photo_derivation(rows, scale, "") if any(row.defect_type for row in rows) else None
    if derivation is not None and derivation.condition is not None:
        return derivation.condition
    return max((row.condition_score for row in rows), key=scale.rank)


def scored_at_least(finding: Finding, scale: ConditionStandard, score: str) -> bool:
    """Whether ``finding`` is a defect scored ``score`` or worse on ``scale`` (a campaign report's entries and its
    summary's table: those at or above ``--photos-from``)."""
    return bool(finding.defect_type) and scale.rank(finding.condition_score) >= scale.rank(score)


def ai_findings(analyses: Sequence[Analysis]) -> list[Finding]:
    """The model's inspection findings as rows to review: one per defect, one for a photo without defects."""
    rows: list[Finding] = []
    for result in analyses:
        findings = result.parsed.findings
        if not isinstance(findings, InspectionFindings):
            continue
        scale = result.request.scale.definition
        derivation = None if findings.defects else derive(findings, scale)  # a sound photo's: condition 1
        base = Finding(
            photo=result.number,
            file=result.name,
            element=findings.element,
            condition_score=(derivation.condition if derivation else None) or findings.condition_score,
            recommended_action=findings.recommended_action,
            urgency=findings.urgency or "",
            ref=finding_ref(result.number, 0),
        )
        if not findings.defects:
            rows.append(base)
        for number, defect in enumerate(findings.defects, start=1):
            rows.append(
                replace(
                    base,
                    defect_type=defect.type,
                    location=defect.location,
                    extent=defect.extent,
                    condition_score=defect_score((defect.seriousness, defect.intensity, defect.share), scale)
                    or findings.condition_score,
                    seriousness=defect.seriousness or "",
                    intensity=defect.intensity or "",
                    share=defect.share or "",
                    inspector_note="",
                    ref=finding_ref(result.number, number),
                )
            )
    return rows


def reviewed(
    rows: Iterable[Mapping[str, Any]],
    analyses: Sequence[Analysis],
    scale: ConditionStandard,
    first_row: int = 1,
    before: Review | None = None,
) -> list[Finding]:
    """Rows the inspector edited, checked and given their origin against the model's findings; a row that cannot be
    taken raises ``ReviewError`` naming it (``first_row`` numbers the first, e.g. 2 for a CSV with a header). A row
    may name a finding the inspector added before (``P3-A1``, as the record wrote it): it stays that finding (a copy
    of it is another); such a ref claims nothing of the AI's, so it needs no checking beyond its photo.
    A defect's score follows its observations (``_followed``) unless the inspector gave another with a reason;
    ``before``, the review the record holds now (the file was most likely made from it), tells a score left as it
    was from one the inspector typed (without it: as the model's findings were); a file made before a later review
    of the same findings may then be refused, naming the row."""
    original = {finding.ref: finding for finding in ai_findings(analyses)}
    held = {finding.ref: finding for finding in (before.effective(list(original.values())) if before else ())}
    prior = {**original, **held}
    overall = model_scores(analyses)
    photos = {result.number: result.name for result in analyses}
    parsed: list[Finding] = []
    optional = [field.name for field in fields.FINDING_FIELDS if field.optional]
    for index, row in enumerate(rows, start=first_row):
        index = int(row.get("_row") or index)
        said = original.get(parse_ref(str(row.get("ref") or "")))
        if said is not None and any(name not in row for name in optional):  # a file made before these columns
            row = {**{name: getattr(said, name) for name in optional if name not in row}, **row}
        finding = _finding(row, index, photos, scale)
        model = original.get(finding.ref) if finding.ref else None
        if model is not None and model.photo != finding.photo:
            raise ReviewError(
                index,
                "photo",
                f"the row is AI finding {finding.ref} of photo {model.photo}, not of photo {finding.photo}: "
                "put the photo number back (to add a finding to another photo, clear its AI finding cell)",
            )
        own = own_photo(finding.ref)
        if own is not None and own != finding.photo:
            raise ReviewError(
                index,
                "photo",
                f"the row is finding {finding.ref} of photo {own}, not of photo {finding.photo}: put the photo number "
                "back (to add a finding to another photo, clear its AI finding cell)",
            )
        if finding.ref and model is None and own is None:
            raise ReviewError(index, "ref", _unknown_ref(finding.ref, finding.photo, original))
        before_it = prior.get(finding.ref) if finding.ref else None
        parsed.append(_followed(finding, before_it, scale, index, overall.get(finding.photo, "")))
    theirs = _the_ais_rows(parsed, original)
    result: list[Finding] = []
    for position, finding in enumerate(parsed):
        model = original.get(finding.ref)
        if finding.status == DELETED:
            pass  # an AI finding the inspector took out, or an own row marked so: it leaves the record
        elif own_photo(finding.ref) is not None:  # one added before: the first row naming it, its copies are new
            first = next(index for index, row in enumerate(parsed) if row.ref == finding.ref)
            finding = replace(finding, status=ADDED, ref=finding.ref if first == position else "")
        elif model is None or theirs.get(finding.ref) != position:  # a copied row is the inspector's, not the AI's
            finding = replace(finding, status=ADDED, ref="")
        elif _changed(finding, model):
            finding = replace(finding, status=EDITED)
        elif finding.status not in CHOSEN:
            finding = replace(finding, status=AI_NOT_REVIEWED)
        result.append(finding)
    return result


def _followed(
    finding: Finding, prior: Finding | None, scale: ConditionStandard, index: int, overall: str = ""
) -> Finding:
    """A defect's score as its observations derive it by ``scale``'s standard, unless the inspector gave another: a
    score left empty (a workbook's live formula reads so), or as it was (``prior``, the finding when the file was
    made) while that was the derived one, follows the observations; any other score differing from the derived one
    is the inspector's own, and needs a reason in the inspector's note (``ReviewError`` without one). An empty score
    whose observations derive none is the model's overall one (``overall``), as the AI's rows have it."""
    derived = defect_score(observed(finding), scale) if finding.defect_type else None
    given = finding.condition_score
    ai = defect_number(finding.ref) is not None
    if derived is None and given == CANNOT_TELL and overall in scale.codes and finding.defect_type and ai:
        return replace(finding, condition_score=overall)  # as the AI's rows have it: the model's, not derived
    if derived is None or given == derived:
        return finding
    untouched = prior is not None and given == prior.condition_score and not overridden(prior, scale)
    if given == CANNOT_TELL or untouched or (ai and carried_over(finding, overall, scale) is not finding):
        return replace(finding, condition_score=derived)
    if finding.inspector_note:
        return finding
    what = f"{finding.seriousness} {DOT} {finding.intensity} {DOT} {finding.share}"
    raise ReviewError(
        index,
        "condition_score",
        f"{given} is not the condition {scale.name.split(' condition')[0]} derives from what was observed ({what}: "
        f"{derived}): clear the score to take {derived}, change the seriousness, intensity or share, or give your "
        "reason for your own score in the inspector's note",
    )


def carried_over(finding: Finding, overall: str, scale: ConditionStandard) -> Finding:
    """An AI finding as a review from before scores were derived kept it: with the model's overall score (every
    finding of a photo carried it then) on a defect whose observations derive another, and no note giving a reason
    for it, the score is the derived one; any other finding as it is."""
    derived = defect_score(observed(finding), scale) if finding.defect_type else None
    score = finding.condition_score
    if derived is None or score == derived or score != overall or finding.inspector_note:
        return finding
    return replace(finding, condition_score=derived)


def observed(finding: Finding) -> Observed:
    """A finding's observations, as the standard's derivation takes them."""
    return (finding.seriousness, finding.intensity, finding.share)


def overridden(finding: Finding, scale: ConditionStandard) -> bool:
    """Whether the finding's score is the inspector's own over the one its observations derive."""
    derived = defect_score(observed(finding), scale) if finding.defect_type else None
    return derived is not None and finding.condition_score != derived


def _changed(finding: Finding, model: Finding) -> int:
    """How many of the fields the inspector may edit differ from the model's."""
    return sum(getattr(finding, name) != getattr(model, name) for name in fields.EDITABLE)


def _the_ais_rows(rows: Sequence[Finding], original: Mapping[str, Finding]) -> dict[str, int]:
    """Which row is each AI finding's when it was copied to add another: the one closest to what the model said
    (the first of equals), wherever sorting put it."""
    chosen: dict[str, int] = {}
    for position, row in enumerate(rows):
        model = original.get(row.ref)
        if model is None or row.status == DELETED:
            continue
        best = chosen.get(row.ref)
        if best is None or _changed(row, model) < _changed(rows[best], model):
            chosen[row.ref] = position
    return chosen


def _unknown_ref(ref: str, photo: int, original: Mapping[str, Finding]) -> str:
    refs = [key for key, finding in original.items() if finding.photo == photo]
    theirs = f" (photo {photo}'s are {', '.join(refs)})" if refs else ""
    coerced = " A spreadsheet may have turned it into a number or a date." if not _REF.match(ref) else ""
    return (
        f"'{ref}' is not one of the AI's findings{theirs}.{coerced} Put back the AI finding as exported, or clear "
        "the cell to keep the row as a finding of your own"
    )


_REF = re.compile(r"^P(\d{1,6})-([FA])(\d{1,6})$", re.IGNORECASE)
_LEGACY_REF = re.compile(r"^(\d{1,6})\.(\d{1,6})$")


def finding_ref(photo: int, defect: int, kind: str = "F") -> str:
    """Which finding a row is: ``P3-F2`` is the model's defect 2 of photo 3, ``P3-F0`` a photo without defects,
    ``P3-A1`` the first finding the inspector added to photo 3 (``kind`` ``A``). Letters and a hyphen, so that no
    spreadsheet reads it as a number or a date (``1.10`` became ``1.1``)."""
    return f"P{photo}-{kind}{defect}"


def parse_ref(text: str) -> str:
    """A ref as a row holds it, in its canonical form (``p3-f2`` and the older ``3.2`` read as ``P3-F2``); any other
    text is kept as it is (and matches no finding)."""
    text = text.strip()
    if match := _REF.match(text):
        return finding_ref(int(match.group(1)), int(match.group(3)), match.group(2).upper())
    if match := _LEGACY_REF.match(text):
        return finding_ref(int(match.group(1)), int(match.group(2)))
    return text


def defect_number(ref: str) -> int | None:
    """Which of the model's defects of its photo a ref names (``P3-F2`` is 2, ``P3-F0`` is 0); ``None`` for any
    other text (an added finding's ``P3-A1`` too)."""
    match = _REF.match(parse_ref(ref))
    return int(match.group(3)) if match and match.group(2) == "F" else None


def own_photo(ref: str) -> int | None:
    """The photo of a finding the inspector added, as its ref names it (``P3-A1`` is photo 3's); ``None`` for any
    other ref."""
    match = _REF.match(ref)
    return int(match.group(1)) if match and match.group(2).upper() == "A" else None


def photo_number(text: str) -> int | None:
    """A photo number as a row holds it: a whole number from 1 (``3`` or a spreadsheet's ``3.0``); ``None`` for
    anything else (``-5``, ``0``, ``1.7``, ``1e23``, ``inf``)."""
    match = re.fullmatch(r"(\d{1,6})(?:\.0+)?", text.strip())
    number = int(match.group(1)) if match else 0
    return number if number >= 1 else None


def current_rows(rows: Sequence[Mapping[str, Any]], analyses: Sequence[Analysis]) -> list[dict[str, Any]]:
    """The review table's rows that are still about the uploads: a row of a photo that is no longer the same upload
    is dropped (its photo's findings come back as the model's, or as the record keeps them)."""
    photos = {result.number: _name(result.name) for result in analyses}
    return [
        dict(row)
        for row in rows
        if not row.get("file") or photos.get(_number(row.get("photo")) or 0) == _name(str(row.get("file")))
    ]


def table_rows(review: Review, analyses: Sequence[Analysis]) -> list[dict[str, Any]]:
    """Every finding of ``analyses`` as a row of the review table, as the record stands: a reviewed photo's rows with
    their origins (those deleted marked so), the model's for the others; in photo order."""
    rows = [*review.effective(ai_findings(analyses)), *review.deleted]
    return [finding.to_row() for finding in sorted(rows, key=lambda finding: finding.photo)]


def _name(name: str) -> str:
    """A file name as a row holds it: cleaned, white space folded."""
    return clean(" ".join(name.split()))


def _number(value: Any) -> int | None:
    return photo_number(str(value)) if value is not None else None


def _finding(row: Mapping[str, Any], index: int, photos: Mapping[int, str], scale: ConditionStandard) -> Finding:
    values = {name: clean(" ".join(str(row.get(name) or "").split())) for name in Finding.__dataclass_fields__}
    photo = photo_number(values["photo"])
    if photo is None:
        raise ReviewError(index, "photo", f"'{values['photo']}' is not a photo number (a whole number from 1)")
    if photo not in photos:
        known = ", ".join(str(number) for number in sorted(photos)) or "none"
        raise ReviewError(index, "photo", f"there is no photo {photo} (photos: {known})")
    if values["file"] and values["file"] != _name(photos[photo]):
        raise ReviewError(
            index,
            "file",
            f"the row is about '{values['file']}', but photo {photo} is now '{_name(photos[photo])}': the uploads "
            "changed; correct the photo number, or clear the table and fill it again",
        )
    kind = values["defect_type"].lower()
    if kind and kind not in DEFECT_TYPES:
        raise ReviewError(index, "defect_type", f"'{values['defect_type']}' is not one of: {', '.join(DEFECT_TYPES)}")
    score = scale.read(values["condition_score"])
    if score is None:
        message = f"'{values['condition_score']}' is not on the {scale.name} ({scale.span()}, or cannot tell)"
        raise ReviewError(index, "condition_score", message)
    observed = {name: _observed(name, values[name], index) for name in _OBSERVED}
    urgency = values["urgency"].lower()
    if urgency and urgency not in URGENCIES:
        urgency = values["urgency"]  # the inspector's own words are kept
    status = _STATUSES.get(values["status"].lower()) if values["status"] else AI_NOT_REVIEWED
    if status is None:
        raise ReviewError(index, "status", f"'{values['status']}' is not one of: {', '.join(_STATUSES.values())}")
    return Finding(
        photo=photo,
        file=values["file"] or photos[photo],
        element=values["element"],
        defect_type=kind,
        location=values["location"],
        extent=values["extent"],
        condition_score=score,
        recommended_action=values["recommended_action"],
        urgency=urgency,
        inspector_note=values["inspector_note"],
        status=status,
        ref=parse_ref(values["ref"]),
        **observed,
    )


_OBSERVED = {"seriousness": SERIOUSNESS, "intensity": INTENSITIES, "share": SHARES}
"""A defect's observations, each with its list (and "cannot tell")."""


def _observed(name: str, given: str, index: int) -> str:
    """An observation as a person typed it: a word on its list in any case, "cannot tell", or nothing."""
    if not given:
        return ""
    if given.lower().startswith("cannot tell"):
        return CANNOT_TELL
    listed = {word.lower().replace(" ", ""): word for word in _OBSERVED[name]}
    found = listed.get(given.lower().replace(" ", ""))
    if found is None:
        raise ReviewError(index, name, f"'{given}' is not one of: {', '.join(_OBSERVED[name])}, or cannot tell")
    return found


_STATUSES = {origin.lower(): origin for origin in (*ORIGINS, DELETED)}
"""Every origin a row may say, by how a spreadsheet may case it."""
