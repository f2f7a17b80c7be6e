"""The observations an inspector records of a defect, and from which a standard derives its condition: how
serious it is, how far it has progressed, and what share of the component it affects; how the words a model (or a
spreadsheet) writes for them are read.

The values are the standards' own terms (NEN 2767's *ernst*, *intensiteit* and *omvang*: ``standards.nen2767``),
written as words so that a person reads them: "serious", "advanced", "10-30 %". A model writes them many ways:
numbers (``2``, ``20``, ``"about 20%"``), words ("severe", "early stage", "roughly a fifth of the surface"), in
English or Dutch ("ernstig", "gevorderd stadium", "de helft"). Each ``read_*`` gives the value on the list, or
``CANNOT_TELL`` when the words say so, or ``None`` when they name none (the caller keeps them), with a note of what
was read. Nothing is guessed between two candidates.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal, get_args

from image_analysis.presets import CANNOT_TELL
from image_analysis.standards.nen2767 import Extent, Intensity, Seriousness, extent_of_share
from image_analysis.vocabulary import Reading

CannotTell = Literal["cannot tell from this photo"]
"""``CANNOT_TELL``, as a type: an honest answer for each observation."""
SeriousnessWord = Literal["minor", "serious", "critical"]
IntensityWord = Literal["initial", "advanced", "final"]
ShareWord = Literal["< 2 %", "2-10 %", "10-30 %", "30-70 %", ">= 70 %"]
SERIOUSNESS: tuple[str, ...] = get_args(SeriousnessWord)
INTENSITIES: tuple[str, ...] = get_args(IntensityWord)
SHARES: tuple[str, ...] = get_args(ShareWord)
assert get_args(CannotTell) == (CANNOT_TELL,)

DEFINITIONS = {
    "seriousness": "minor: the defect hardly affects the component; serious: it affects a secondary function or the "
    "secondary structure; critical: it affects the primary structure or function, the material itself or safety",
    "intensity": "initial: just begun, barely visible; advanced: clearly developed; final: fully developed, the "
    "component failing where it occurs",
    "share": "the share of the component in view that the defect affects",
}
"""What each observation means, as the prompt gives it (NEN 2767's terms, nen.nl "Achtergrond conditiemeting")."""

_SERIOUSNESS_WORDS = {
    "minor": (
        *("minor", "low", "slight", "small", "cosmetic", "superficial", "negligible"),
        *("gering", "licht", "klein", "leicht", "geringfügig", "mineur", "faible", "léger"),
    ),
    "serious": (
        *("serious", "moderate", "medium", "significant", "considerable"),
        *("serieus", "matig", "aanzienlijk", "mittel", "erheblich", "moyen", "modéré", "important"),
    ),
    "critical": (
        *("critical", "severe", "high", "major", "grave", "structural"),
        *("ernstig", "kritiek", "zwaar", "schwer", "kritisch", "critique", "sévère"),
    ),
}
_INTENSITY_WORDS = {
    "initial": (
        *("initial", "early", "beginning", "incipient", "starting", "onset", "first"),
        *("begin", "beginstadium", "beginnend", "anfangsstadium", "anfang", "début", "naissant"),
    ),
    "advanced": (
        *("advanced", "progressed", "progressing", "developing", "developed", "intermediate", "middle"),
        *("gevorderd", "gevorderde", "ontwikkeld", "fortgeschritten", "avancé", "avancée", "développé"),
    ),
    "final": (
        *("final", "end", "late", "terminal", "last"),
        *("eindstadium", "eind", "laatste", "endstadium", "fin", "ultime"),
    ),
}
_FRACTIONS = {
    "a tenth": Fraction(1, 10),
    "one tenth": Fraction(1, 10),
    "a fifth": Fraction(1, 5),
    "one fifth": Fraction(1, 5),
    "a quarter": Fraction(1, 4),
    "one quarter": Fraction(1, 4),
    "a third": Fraction(1, 3),
    "one third": Fraction(1, 3),
    "half": Fraction(1, 2),
    "two thirds": Fraction(2, 3),
    "three quarters": Fraction(3, 4),
    "een tiende": Fraction(1, 10),
    "een vijfde": Fraction(1, 5),
    "een kwart": Fraction(1, 4),
    "een derde": Fraction(1, 3),
    "de helft": Fraction(1, 2),
    "helft": Fraction(1, 2),
    "twee derde": Fraction(2, 3),
    "driekwart": Fraction(3, 4),
    "ein fünftel": Fraction(1, 5),
    "ein viertel": Fraction(1, 4),
    "ein drittel": Fraction(1, 3),
    "die hälfte": Fraction(1, 2),
    "un cinquième": Fraction(1, 5),
    "un quart": Fraction(1, 4),
    "un tiers": Fraction(1, 3),
    "la moitié": Fraction(1, 2),
}
_WHOLE = re.compile(
    r"\b(entire|entirely|whole|all over|throughout|complete|completely|full|geheel|volledig|overal|ganz|gesamte|"
    r"vollständig|entier|entière|totalité)\b"
)
_CLASS = re.compile(r"^(?:class|klasse|category|categorie|omvang)\s*([1-5])$")
_CANNOT = re.compile(
    r"^(cannot|can't|can not|unable to|not possible to) (tell|determine|judge|assess|be told)|"
    r"^(n/?a|unknown|unclear|not visible|niet te bepalen|onbekend|-+)$"
)
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_RANGE = re.compile(rf"{_NUMBER}\s*(?:%|percent|procent)?\s*(?:-|–|to|tot)\s*{_NUMBER}\s*(?:%|percent|procent)")
_PERCENT = re.compile(
    rf"([<>]=?|≥|≤|under|below|over|above|less than|more than|minder dan|meer dan)?\s*{_NUMBER}\s*"
    r"(?:%|percent|procent|pct)"
)
_BARE_RANGE = re.compile(rf"^{_NUMBER}\s*(?:-|–|to|tot)\s*{_NUMBER}$")


def read_seriousness(value: object) -> Reading:
    """The seriousness ``value`` names: a word (English or Dutch) or 1-3."""
    return _read_word(value, "seriousness", SERIOUSNESS, _SERIOUSNESS_WORDS)


def read_intensity(value: object) -> Reading:
    """The intensity (the stage the defect has reached) ``value`` names: a word (English or Dutch) or 1-3."""
    return _read_word(value, "intensity", INTENSITIES, _INTENSITY_WORDS)


def read_share(value: object) -> Reading:
    """The share class ``value`` names: a class as listed (``"10-30 %"``), a percentage (``20``, ``"about 20%"``,
    ``"< 2 %"``, a range's middle), a fraction in words ("roughly a fifth", "de helft"), or "the whole" (>= 70 %).
    A number without a unit is a percentage (a fraction below 1, ``0.25``, is 25 %)."""
    if value is None or isinstance(value, bool):
        return Reading(None)
    if isinstance(value, int | float):
        percent = float(value) * 100 if 0 < value < 1 else float(value)
        return _share_of(percent, value, f"share {value}")
    text, word, plain = _plain(value, "share", SHARES)
    if plain is not None:
        return plain
    spaced = word.replace("≥", ">=").replace("≤", "<=").replace(" ", "")
    listed = {share.replace(" ", ""): share for share in SHARES} | {">70%": ">= 70 %", "<2%": "< 2 %"}
    if spaced in listed:
        return Reading(listed[spaced], f"share '{text}' read as {listed[spaced]}")
    if match := _CLASS.match(word):
        share = SHARES[int(match.group(1)) - 1]
        return Reading(share, f"share '{text}' read as {share}")
    if match := _RANGE.search(word) or _BARE_RANGE.search(word):
        low, high = (_float(group) for group in match.groups())
        if low is not None and high is not None and low <= high:
            return _share_of((low + high) / 2, value, f"share '{text}' (the middle of its range)")
    if match := _PERCENT.search(word):
        bound, number = match.group(1), _float(match.group(2))
        if number is not None:
            below = bound in ("<", "<=", "≤", "under", "below", "less than", "minder dan")
            percent = number - 0.01 if below else number
            return _share_of(max(percent, 0.0), value, f"share '{text}'")
    named = {fraction for phrase, fraction in _FRACTIONS.items() if re.search(rf"\b{phrase}\b", word)}
    if len(named) == 1:
        return _share_of(float(named.pop()) * 100, value, f"share '{text}'")
    if _WHOLE.search(word) and not named:
        return Reading(">= 70 %", f"share '{text}' read as >= 70 %")
    number = _float(word)
    if number is not None:
        return _share_of(number * 100 if 0 < number < 1 else number, value, f"share '{text}'")
    return Reading(None)


def seriousness_of(word: str | None) -> Seriousness | None:
    """The standard's seriousness for a word on the list; ``None`` for "cannot tell" or nothing."""
    return Seriousness(SERIOUSNESS.index(word) + 1) if word in SERIOUSNESS else None


def intensity_of(word: str | None) -> Intensity | None:
    return Intensity(INTENSITIES.index(word) + 1) if word in INTENSITIES else None


def extent_of(word: str | None) -> Extent | None:
    return Extent(SHARES.index(word) + 1) if word in SHARES else None


def _read_word(value: object, what: str, listed: tuple[str, ...], words: dict[str, tuple[str, ...]]) -> Reading:
    if value is None or isinstance(value, bool):
        return Reading(None)
    if isinstance(value, int | float):
        if float(value).is_integer() and 1 <= value <= len(listed):
            found = listed[int(value) - 1]
            return Reading(found, f"{what} {value} read as {found}")
        return Reading(None)
    text, word, plain = _plain(value, what, listed)
    if plain is not None:
        return plain
    if word.isdigit() and 1 <= int(word) <= len(listed):
        found = listed[int(word) - 1]
        return Reading(found, f"{what} '{text}' read as {found}")
    tokens = set(re.findall(r"[^\W\d_]+", word))
    named = {name for name, synonyms in words.items() if tokens & set(synonyms)}
    if len(named) == 1:
        found = named.pop()
        return Reading(found, f"{what} '{text}' read as {found}")
    return Reading(None)


def _plain(value: object, what: str, listed: tuple[str, ...]) -> tuple[str, str, Reading | None]:
    """The text as written and folded, and its reading when that needs no more: nothing, a value on the list, or
    "cannot tell" in any of its words."""
    text = " ".join(str(value).split())
    word = text.lower().strip(" .;:")
    if not word:
        return text, word, Reading(None)
    if word in listed:
        return text, word, Reading(word, None if word == text.lower() else f"{what} '{text}' read as {word}")
    if _CANNOT.search(word) or word.startswith(CANNOT_TELL[:11]):
        note = None if word == CANNOT_TELL else f"{what} '{text}' read as '{CANNOT_TELL}'"
        return text, word, Reading(CANNOT_TELL, note)
    return text, word, None


def _share_of(percent: float, given: object, said: str) -> Reading:
    if not 0.0 <= percent <= 100.0:
        return Reading(None)
    share = SHARES[extent_of_share(percent) - 1]
    return Reading(share, f"{said} read as {share}")


def _float(text: str) -> float | None:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


StateWord = Literal["CS1", "CS2", "CS3", "CS4"]
STATES: tuple[str, ...] = get_args(StateWord)
STATE_DEFINITION = (
    "the AASHTO element condition state of the defect: CS1 good, CS2 fair, CS3 poor, CS4 severe (warrants a "
    "structural review)"
)
MEASURE_DEFINITION = (
    "a crack's width, or a spall's size across, in mm, read against a crack gauge, ruler or object of known size "
    "in view; null when nothing in view gives the scale"
)
AGAINST_DEFINITION = "what in the photo the measure was read against (e.g. 'crack gauge'); empty when none"
_STATE_WORDS = {"good": "CS1", "fair": "CS2", "poor": "CS3", "severe": "CS4"}
_STATE = re.compile(r"^(?:cs|condition\s*state|state)?\s*([1-4])$")
_MEASURE = re.compile(
    r"^(?:about|approx\.?|approximately|ca\.?|~)?\s*(\d+(?:[.,]\d+)?)\s*"
    r"(mm|millimet(?:er|re)s?|cm|centimet(?:er|re)s?|m|met(?:er|re)s?)?\s*(?:wide|across)?$"
)
_TO_MM = {"mm": 1.0, "mi": 1.0, "cm": 10.0, "ce": 10.0, "m": 1000.0, "me": 1000.0}


def read_state(value: object) -> Reading:
    """A defect's AASHTO condition state as a model writes it: ``CS2``, ``2``, ``condition state 2``, ``fair``."""
    if value is None or isinstance(value, bool) or value == "":
        return Reading(None)
    text = str(value).strip()
    word = " ".join(text.lower().replace("-", " ").split())
    if word.startswith("cannot tell"):
        return Reading(CANNOT_TELL, None if text == CANNOT_TELL else f"condition state '{text}' read as cannot tell")
    if match := _STATE.match(word.replace(" ", "") if word.startswith("cs") else word):
        state = f"CS{match.group(1)}"
        return Reading(state, None if text == state else f"condition state '{text}' read as {state}")
    if word in _STATE_WORDS:
        return Reading(_STATE_WORDS[word], f"condition state '{text}' read as {_STATE_WORDS[word]}")
    return Reading(None)


def read_measure(value: object) -> float | None:
    """A measure in mm as a model writes it: ``0.8``, ``"0.8 mm"``, ``"0,8 mm"``, ``"8 cm"``, ``"about 2 metres"``;
    ``None`` for anything else (a negative number, no number, a unit not metric: a measure is never guessed)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    match = _MEASURE.match(" ".join(str(value).lower().split()))
    if match is None:
        return None  # a unit not metric ("0.05 in", 1/16"), or more words than a measure: not read as millimetres
    number = float(match.group(1).replace(",", "."))
    unit = match.group(2)
    return number * (_TO_MM[unit[:2]] if unit else 1.0)
