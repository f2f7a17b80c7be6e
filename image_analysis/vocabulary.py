"""The fixed values the findings use, and how the words a model writes for them are read.

Each ``read_*`` function takes what the model wrote and returns the value on the fixed list (or ``None`` when it
cannot tell) with a note saying what was read, so a repair is never silent. Nothing here guesses between two
candidates: a text that names two defect types or two scores is not read as either.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, get_args

from image_analysis.presets import CANNOT_TELL, ConditionStandard

DefectType = Literal[
    "crack",
    "spalling",
    "corrosion",
    "exposed rebar",
    "honeycombing",
    "efflorescence",
    "water ingress/staining",
    "deformation",
    "missing or damaged fixing",
    "vegetation",
    "debris",
    "other",
]
DEFECT_TYPES: tuple[str, ...] = get_args(DefectType)
Confidence = Literal["high", "medium", "low"]
Urgency = Literal["immediate", "within weeks", "within months", "next inspection", "none"]
URGENCIES: tuple[str, ...] = get_args(Urgency)


@dataclass(frozen=True)
class Reading:
    """A value read from the model's words: ``value`` is ``None`` when they do not name one; ``note`` says what
    was read (``None`` when the words were the value itself)."""

    value: str | None
    note: str | None = None


# Whole phrases first (exact, after lower-casing and trimming), then word stems found anywhere in the text.
_DEFECT_PHRASES = {
    "cracks": "crack",
    "cracking": "crack",
    "cracked": "crack",
    "spall": "spalling",
    "spalls": "spalling",
    "spalled concrete": "spalling",
    "concrete spalling": "spalling",
    "rust": "corrosion",
    "rusting": "corrosion",
    "rust staining": "corrosion",
    "rust stains": "corrosion",
    "corroded steel": "corrosion",
    "exposed reinforcement": "exposed rebar",
    "exposed rebars": "exposed rebar",
    "exposed steel": "exposed rebar",
    "rebar exposure": "exposed rebar",
    "honeycomb": "honeycombing",
    "leaching": "efflorescence",
    "salt deposits": "efflorescence",
    "water ingress": "water ingress/staining",
    "water staining": "water ingress/staining",
    "water stains": "water ingress/staining",
    "staining": "water ingress/staining",
    "damp": "water ingress/staining",
    "dampness": "water ingress/staining",
    "leak": "water ingress/staining",
    "leakage": "water ingress/staining",
    "moisture": "water ingress/staining",
    "deflection": "deformation",
    "sagging": "deformation",
    "buckling": "deformation",
    "bulging": "deformation",
    "missing fixing": "missing or damaged fixing",
    "missing bolt": "missing or damaged fixing",
    "missing bolts": "missing or damaged fixing",
    "loose bolt": "missing or damaged fixing",
    "damaged fixing": "missing or damaged fixing",
    "plant growth": "vegetation",
    "moss": "vegetation",
    "weeds": "vegetation",
    "litter": "debris",
    "rubbish": "debris",
}
_DEFECT_STEMS = (
    ("crack", "crack"),
    ("spall", "spalling"),
    ("corro", "corrosion"),
    ("rust", "corrosion"),
    ("rebar", "exposed rebar"),
    ("reinforcement", "exposed rebar"),
    ("honeycomb", "honeycombing"),
    ("effloresc", "efflorescence"),
    ("water", "water ingress/staining"),
    ("stain", "water ingress/staining"),
    ("leak", "water ingress/staining"),
    ("damp", "water ingress/staining"),
    ("deform", "deformation"),
    ("deflect", "deformation"),
    ("buckl", "deformation"),
    ("fixing", "missing or damaged fixing"),
    ("bolt", "missing or damaged fixing"),
    ("fastener", "missing or damaged fixing"),
    ("vegetat", "vegetation"),
    ("debris", "debris"),
)
_CONFIDENCE_WORDS = {
    "high": "high",
    "very high": "high",
    "certain": "high",
    "confident": "high",
    "medium": "medium",
    "moderate": "medium",
    "mid": "medium",
    "average": "medium",
    "fair": "medium",
    "low": "low",
    "very low": "low",
    "uncertain": "low",
    "unsure": "low",
}
_URGENCY_WORDS = (
    (re.compile(r"\b(immediate|urgent|asap|now|at once)"), "immediate"),
    (re.compile(r"\bweeks?\b|\bshort[- ]term"), "within weeks"),
    (re.compile(r"\bmonths?\b|\bmedium[- ]term|\bwithin (a|the) year"), "within months"),
    (re.compile(r"\bnext\b.*\binspection|\broutine|\bmonitor|\blong[- ]term"), "next inspection"),
    (re.compile(r"^(no|none|not required|no action|n/?a)\b"), "none"),
)
_NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
_NUMBER_WORDS |= {"nine": 9}
_OUT_OF = re.compile(r"\b(\d+(?:\.0+)?)\s*(?:/|out of|of)\s*\d+\b")
_CANNOT_TELL = re.compile(r"^(cannot|can't|can not|unable to) (tell|determine|judge|assess)|^(n/?a|unknown|none|-+)$")


def _normal(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).strip(" .;:").lower()


def read_defect_type(text: str) -> Reading:
    """The vocabulary's defect type named by ``text`` (``"Cracking"`` -> crack), else ``None``."""
    word = _normal(text)
    if word in DEFECT_TYPES:
        return Reading(word, None if word == text.strip().lower() else f"defect type '{text}' read as {word}")
    if word in _DEFECT_PHRASES:
        return Reading(_DEFECT_PHRASES[word], f"defect type '{text}' read as {_DEFECT_PHRASES[word]}")
    named = {kind for stem, kind in _DEFECT_STEMS if stem in word}
    if len(named) == 1:
        kind = named.pop()
        return Reading(kind, f"defect type '{text}' read as {kind}")
    return Reading(None)


def read_confidence(value: object) -> Reading:
    """A confidence band from a word (``"Moderate"`` -> medium) or a number from 0 to 1 (or a percentage)."""
    if isinstance(value, bool):
        return Reading(None)
    number = _number(value)
    if number is not None:
        fraction = number / 100 if 1 < number <= 100 else number
        if not 0 <= fraction <= 1:
            return Reading(None)
        band = "high" if fraction >= 0.75 else "medium" if fraction >= 0.4 else "low"
        return Reading(band, f"confidence {_quoted(value)} read as {band}")
    if not isinstance(value, str):
        return Reading(None)
    word = _normal(value)
    found = _CONFIDENCE_WORDS.get(word) or _CONFIDENCE_WORDS.get(word.removesuffix(" confidence"))
    if found is None:
        return Reading(None)
    return Reading(found, None if found == value.strip().lower() else f"confidence '{value}' read as {found}")


def read_urgency(text: str) -> Reading:
    """The listed urgency that ``text`` names (``"within 2 weeks"`` -> within weeks), else ``None``."""
    word = _normal(text)
    if word in URGENCIES:
        return Reading(word, None if word == text.strip().lower() else f"urgency '{text}' read as {word}")
    named = {urgency for pattern, urgency in _URGENCY_WORDS if pattern.search(word)}
    if len(named) == 1:
        urgency = named.pop()
        return Reading(urgency, f"urgency '{text}' read as {urgency}")
    return Reading(None)


def read_score(value: object, scale: ConditionStandard) -> Reading:
    """The code of ``scale`` that ``value`` names: ``3``, ``3.0``, ``"3 (moderate)"``, ``"3/6"``, ``"Condition 3 -
    moderate defects"``, ``"poor"``. ``None`` when it names none or several (the caller keeps the words), and
    ``CANNOT_TELL`` when the model said it cannot tell."""
    if value is None or isinstance(value, bool):
        return Reading(None)
    text = _score_text(value)
    codes = {code.lower(): code for code in scale.codes}
    word = _normal(text)
    if word in codes:
        code = codes[word]
        return Reading(code, None if code == str(value).strip() else f"score {_quoted(value)} read as {code}")
    if _CANNOT_TELL.search(word):
        return Reading(CANNOT_TELL, None if word == CANNOT_TELL else f"score '{text}' read as '{CANNOT_TELL}'")
    named = _codes_named(word, codes) or _meanings_named(word, scale)
    if len(named) == 1:
        code = named.pop()
        return Reading(code, f"score '{text}' read as {code}")
    return Reading(None)


def _quoted(value: object) -> str:
    """A value as the model wrote it: text in quotes, a number as it is."""
    return f"'{value}'" if isinstance(value, str) else str(value)


def _score_text(value: object) -> str:
    number = _number(value)
    if number is not None and not isinstance(value, str):
        return str(int(number)) if number.is_integer() else str(number)
    return value if isinstance(value, str) else str(value)


def _codes_named(word: str, codes: dict[str, str]) -> set[str]:
    """Codes named as words or numbers, after reading ``"3/6"`` and ``"3 out of 6"`` as 3."""
    word = _OUT_OF.sub(lambda match: match.group(1).split(".")[0], word)
    word = re.sub(r"\b(\d+)\.0+\b", r"\1", word)
    if re.search(r"\d\.\d", word):
        return set()  # "3.5" names no code, and is not read as 3 or 5
    for name, number in _NUMBER_WORDS.items():
        word = re.sub(rf"\b{name}\b", str(number), word)
    tokens = set(re.findall(r"[a-z]+|\d+", word))
    return {codes[token] for token in tokens if token in codes}


def _meanings_named(word: str, scale: ConditionStandard) -> set[str]:
    """Codes whose meaning is the whole of ``word`` (``"poor"`` on a scale where 4 means "poor")."""
    found = set()
    for code, meaning in scale.values:
        names = {_normal(meaning), _normal(meaning.split(",")[0])}
        if word in names:
            found.add(code)
    return found


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip().rstrip("%"))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


# ---------------------------------------------------------------------------------------------------------------
# A previous defect seen again: what the model suggests became of it (the inspector decides)

Change = Literal["unchanged", "worse", "better", "repaired", "not visible", "cannot tell"]
CHANGES: tuple[str, ...] = get_args(Change)
_CHANGE_WORDS = (  # the first that matches wins: "no longer visible" is not visible, "not worse" unchanged
    (
        re.compile(
            r"\b(not|no longer|cannot be|can't be) (visible|seen|in view)|\bout of (view|frame)|\bhidden|"
            r"\bobscured|\bcovered"
        ),
        "not visible",
    ),
    (
        re.compile(r"^(cannot|can't|can not|unable to) (tell|say|determine|judge|compare)|^(unknown|unclear|n/?a)$"),
        "cannot tell",
    ),
    (re.compile(r"\b(repaired|fixed|patched|replaced|restored|filled|sealed|removed|gone|hersteld)\b"), "repaired"),
    (
        re.compile(r"\b(unchanged|same|no change|not changed|stable|similar|not worse|as before|ongewijzigd)\b"),
        "unchanged",
    ),
    (
        re.compile(
            r"\b(worse|worsened|deteriorated|grown|longer|wider|larger|more|progressed|extended|increased|"
            r"spread|verslechterd)\b"
        ),
        "worse",
    ),
    (re.compile(r"\b(better|improved|smaller|less|reduced|verbeterd)\b"), "better"),
)


def read_change(value: object) -> Reading:
    """The listed change that the model's words name (``"crack has grown"`` -> worse), else ``None``."""
    if not isinstance(value, str) or not value.strip():
        return Reading(None)
    word = _normal(value)
    if word in CHANGES:
        return Reading(word, None if word == value.strip() else f"change '{value}' read as {word}")
    for pattern, change in _CHANGE_WORDS:
        if pattern.search(word):
            return Reading(change, f"change '{value}' read as {change}")
    return Reading(None)


Comparable = Literal["yes", "no"]
_COMPARABLE = {"yes": "yes", "true": "yes", "comparable": "yes", "y": "yes", "ja": "yes"}
_COMPARABLE |= {"no": "no", "false": "no", "not comparable": "no", "n": "no", "nee": "no", "incomparable": "no"}


def read_comparable(value: object) -> Reading:
    """Whether two photos can be compared, from ``true``/``false`` or words (``"not comparable"`` -> no)."""
    if isinstance(value, bool):
        return Reading("yes" if value else "no", None)
    if not isinstance(value, str):
        return Reading(None)
    found = _COMPARABLE.get(_normal(value))
    if found is None:
        return Reading(None)
    return Reading(found, None if found == value.strip() else f"comparable '{value}' read as {found}")
