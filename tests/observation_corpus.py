"""Replies giving a defect's observations (seriousness, intensity, share affected) in the shapes vision models write
them: the listed words, numbers, percentages, ranges, fractions in words, Dutch, German and French values, Dutch
keys, synonyms, nested objects, lists, missing fields, "cannot tell", and the old direct score only. Each case holds
the observations it was meant to give, defect by defect, and the condition NEN 2767 then gives the photo.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CANNOT = "cannot tell from this photo"
INCOMPLETE = None
"""The photo's derived condition when an observation cannot be told, or was not given."""
NOT_DERIVED = "not derived"
"""A reply without observations: the model's score, shown as not derived."""


@dataclass(frozen=True)
class Case:
    id: str
    reply: str
    observed: tuple[tuple[str | None, str | None, str | None], ...]
    """Each defect's (seriousness, intensity, share) as it must be read."""
    condition: str | None
    """The photo's derived NEN 2767 condition (``INCOMPLETE``: none; ``NOT_DERIVED``: no observations)."""


def _reply(*defects: dict[str, Any], score: Any = "4", **extra: Any) -> str:
    data = {
        "element": "reinforced concrete abutment",
        "material": "concrete",
        "defects": [{"type": "crack", "location": "left", "extent": "0.5 m", **defect} for defect in defects],
        "condition_score": score,
        "condition_rationale": "",
        "recommended_action": "repair",
        "urgency": "within months",
        "confidence": "medium",
        "cannot_tell": [],
        "summary": "An abutment with cracks.",
        **extra,
    }
    return json.dumps(data, ensure_ascii=False)


def _obs(seriousness: Any = None, intensity: Any = None, share: Any = None, keys: dict | None = None) -> dict[str, Any]:
    """A defect's observations, under their own keys unless ``keys`` names others."""
    names = {"seriousness": seriousness, "intensity": intensity, "share": share}
    return {(keys or {}).get(name, name): value for name, value in names.items() if value is not None}


CASES = [
    Case("exact words", _reply(_obs("serious", "advanced", "10-30 %")), (("serious", "advanced", "10-30 %"),), "1"),
    Case("numbers and a bare percentage", _reply(_obs(3, 2, 20)), (("critical", "advanced", "10-30 %"),), "2"),
    Case("percentage as text", _reply(_obs("minor", "initial", "5%")), (("minor", "initial", "2-10 %"),), "1"),
    Case("about a percentage", _reply(_obs("serious", "final", "about 40 %")), (("serious", "final", "30-70 %"),), "3"),
    Case(
        "a fifth in words",
        _reply(_obs("critical", "advanced", "roughly a fifth of the surface")),
        (("critical", "advanced", "10-30 %"),),
        "2",
    ),
    Case(
        "dutch keys and values",
        _reply(
            _obs(
                "ernstig",
                "gevorderd stadium",
                "10-30 %",
                keys={"seriousness": "ernst", "intensity": "intensiteit", "share": "omvang"},
            )
        ),
        (("critical", "advanced", "10-30 %"),),
        "2",
    ),
    Case(
        "dutch values, a comma decimal",
        _reply(_obs("serieus", "beginstadium", "12,5 %")),
        (("serious", "initial", "10-30 %"),),
        "1",
    ),
    Case(
        "severe for critical", _reply(_obs("Severe", "Advanced", "30-70%")), (("critical", "advanced", "30-70 %"),), "3"
    ),
    Case("early stage", _reply(_obs("minor", "early stage", "< 2 %")), (("minor", "initial", "< 2 %"),), "1"),
    Case(
        "less than two percent",
        _reply(_obs("critical", "initial", "less than 2 percent")),
        (("critical", "initial", "< 2 %"),),
        "1",
    ),
    Case("a range's middle", _reply(_obs("serious", "advanced", "10-20%")), (("serious", "advanced", "10-30 %"),), "1"),
    Case(
        "the whole surface",
        _reply(_obs("critical", "final", "the whole surface")),
        (("critical", "final", ">= 70 %"),),
        "6",
    ),
    Case("a fraction below one", _reply(_obs("serious", "advanced", 0.3)), (("serious", "advanced", "30-70 %"),), "3"),
    Case(
        "synonym keys",
        _reply(
            _obs(
                "serious",
                "advanced",
                "2-10 %",
                keys={"seriousness": "severity", "intensity": "stage", "share": "percentage"},
            )
        ),
        (("serious", "advanced", "2-10 %"),),
        "1",
    ),
    Case(
        "observations in an object of their own",
        _reply({"nen2767": {"ernst": 2, "intensiteit": 3, "omvang": "30-70 %"}}),
        (("serious", "final", "30-70 %"),),
        "3",
    ),
    Case(
        "intensity cannot be told",
        _reply(_obs("serious", "cannot tell", "10-30 %")),
        (("serious", CANNOT, "10-30 %"),),
        INCOMPLETE,
    ),
    Case("n/a share", _reply(_obs("minor", "initial", "n/a")), (("minor", "initial", CANNOT),), INCOMPLETE),
    Case("only the seriousness given", _reply(_obs("serious")), (("serious", None, None),), INCOMPLETE),
    Case("the old direct score only", _reply({}, score="5"), ((None, None, None),), NOT_DERIVED),
    Case(
        "two candidates are not guessed between",
        _reply(_obs("moderate to severe", "advanced", "10-30 %")),
        ((CANNOT, "advanced", "10-30 %"),),
        INCOMPLETE,
    ),
    Case(
        "most is not a share",
        _reply(_obs("serious", "advanced", "most of it")),
        (("serious", "advanced", CANNOT),),
        INCOMPLETE,
    ),
    Case(
        "capitalised and explained",
        _reply(_obs("Serious (secondary structure)", "Advanced stage", "10-30 %")),
        (("serious", "advanced", "10-30 %"),),
        "1",
    ),
    Case("a list of one", _reply(_obs(["critical"], ["final"], ["10-30 %"])), (("critical", "final", "10-30 %"),), "3"),
    Case("at least seventy", _reply(_obs("critical", "advanced", "≥70%")), (("critical", "advanced", ">= 70 %"),), "5"),
    Case(
        "thirty to seventy percent",
        _reply(_obs("minor", "final", "30 to 70 percent")),
        (("minor", "final", "30-70 %"),),
        "3",
    ),
    Case(
        "end of life",
        _reply(_obs("serious", "final stage, end of life", "2-10 %")),
        (("serious", "final", "2-10 %"),),
        "1",
    ),
    Case(
        "german values",
        _reply(_obs("schwer", "fortgeschritten", "die Hälfte")),
        (("critical", "advanced", "30-70 %"),),
        "3",
    ),
    Case("french values", _reply(_obs("grave", "avancé", "un quart")), (("critical", "advanced", "10-30 %"),), "2"),
    Case(
        "a class by its number",
        _reply(_obs("serious", "advanced", "klasse 4")),
        (("serious", "advanced", "30-70 %"),),
        "3",
    ),
    Case("every one cannot be told", _reply(_obs(CANNOT, CANNOT, CANNOT)), ((CANNOT, CANNOT, CANNOT),), INCOMPLETE),
    Case(
        "one critical final defect over 70 percent and two minor ones",
        _reply(
            _obs("critical", "final", ">= 70 %"), _obs("minor", "initial", "2-10 %"), _obs("minor", "initial", "2-10 %")
        ),
        (("critical", "final", ">= 70 %"), ("minor", "initial", "2-10 %"), ("minor", "initial", "2-10 %")),
        "6",
    ),
    Case(
        "two defects combined by their shares",
        _reply(_obs("critical", "final", "< 2 %"), _obs("serious", "advanced", "30-70 %")),
        (("critical", "final", "< 2 %"), ("serious", "advanced", "30-70 %")),
        "3",
    ),
    Case("no defects", _reply(score="1"), (), "1"),
]
"""Each case's condition: NEN 2767's table (max(1, S + I + E - 5)), then the shares weighted by their correction
factors with the rest at 1.00 (``test_standards.py`` checks the rules; this corpus, the reading)."""
