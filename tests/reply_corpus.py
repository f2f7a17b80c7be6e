"""Replies shaped like what instruction-tuned vision models (7-14B, through vLLM, Ollama, llama.cpp, Mistral's API)
write when asked for the findings JSON, each with the findings it was meant to give.

``issue=True`` marks the 26 shapes measured in issue 8 (7 of 26 recovered before the salvage parser). Expected
values name only what the case is about; ``defect_types`` is the list of types in order. A case with
``findings=False`` holds no findings at all (its text must still be shown).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from image_analysis.presets import ConditionScale, Preset

CANNOT = "cannot tell from this photo"


@dataclass(frozen=True)
class Case:
    id: str
    reply: str
    expected: dict[str, Any] = field(default_factory=dict)
    preset: Preset = Preset.INSPECTION
    scale: ConditionScale = ConditionScale.NEN2767
    issue: bool = False
    findings: bool = True
    repair: str | None = None
    """A phrase the repair note must hold (the repair is said, never silent)."""


BASE = {
    "element": "reinforced concrete column",
    "material": "concrete",
    "defects": [
        {"type": "crack", "location": "centre, top to bottom", "extent": "about 1.5 m", "description": "vertical"},
        {"type": "spalling", "location": "lower right corner", "extent": "0.2 x 0.3 m", "description": ""},
    ],
    "condition_score": "4",
    "condition_rationale": "a long crack and local spalling",
    "recommended_action": "repair the cover and inject the crack",
    "urgency": "within months",
    "confidence": "medium",
    "cannot_tell": ["the depth of the crack"],
    "summary": "Column with a vertical crack and spalling at its base.",
}
BASE_EXPECTED = {"element": "reinforced concrete column", "condition_score": "4", "defect_types": ["crack", "spalling"]}


def reply(changes: dict[str, Any] | None = None, drop: tuple[str, ...] = (), **kwargs: Any) -> str:
    data = {key: value for key, value in {**BASE, **(changes or {})}.items() if key not in drop}
    return json.dumps(data, indent=kwargs.get("indent", 2))


def expect(**changes: Any) -> dict[str, Any]:
    return {**BASE_EXPECTED, **changes}


def defect(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "location": "left edge", "extent": "small", "description": "", **extra}


ISSUE_CASES = [
    Case(id, text, expected, issue=True, repair=repair)
    for id, text, expected, repair in [
        (
            "score '3 (moderate)'",
            reply({"condition_score": "3 (moderate)"}),
            expect(condition_score="3"),
            "score '3 (moderate)' read as 3",
        ),
        ("score '3/6'", reply({"condition_score": "3/6"}), expect(condition_score="3"), None),
        ("score 3.0", reply({"condition_score": 3.0}), expect(condition_score="3"), None),
        (
            "score 'Condition 3 - moderate defects'",
            reply({"condition_score": "Condition 3 - moderate defects"}),
            expect(condition_score="3"),
            None,
        ),
        (
            "confidence 'Moderate'",
            reply({"confidence": "Moderate"}),
            expect(confidence="medium"),
            "confidence 'Moderate' read as medium",
        ),
        ("confidence 0.7", reply({"confidence": 0.7}), expect(confidence="medium"), None),
        (
            "a string where a list is expected",
            reply({"cannot_tell": "the depth of the crack"}),
            expect(cannot_tell=["the depth of the crack"]),
            None,
        ),
        ("no element", reply(drop=("element",)), expect(element=""), "no 'element'"),
        (
            "a defect without location",
            reply({"defects": [{"type": "crack", "extent": "1.5 m"}, BASE["defects"][1]]}),
            expect(),
            None,
        ),
        (
            "defect_type instead of type",
            reply(
                {
                    "defects": [
                        {"defect_type": "crack", "location": "centre"},
                        {"defect_type": "spalling", "location": "base"},
                    ]
                }
            ),
            expect(),
            "key 'defect_type' read as 'type'",
        ),
        ("'Cracking'", reply({"defects": [defect("Cracking"), defect("spalling")]}), expect(), None),
        ("'Spalled concrete'", reply({"defects": [defect("crack"), defect("Spalled concrete")]}), expect(), None),
        ("trailing commas", reply().replace('"4"', '"4",').replace('"medium"', '"medium",,'), expect(), None),
        ("single quotes", reply().replace('"', "'"), expect(), None),
        ("// comments", reply().replace('"material"', '// the main material\n  "material"'), expect(), None),
        (
            "True and None",
            reply({"material": None, "confidence": "high"})
            .replace("null", "None")
            .replace('"summary"', '"visible": True,\n  "summary"'),
            expect(confidence="high"),
            None,
        ),
        (
            "an unescaped newline inside a string",
            reply().replace("a long crack and local spalling", "a long crack\nand local spalling"),
            expect(condition_rationale="a long crack\nand local spalling"),
            None,
        ),
        ("wrapped in {'findings': {...}}", json.dumps({"findings": BASE}), expect(), "wrapped in 'findings'"),
        ("defects as one object", reply({"defects": BASE["defects"][0]}), expect(defect_types=["crack"]), None),
        (
            "cut off at max_tokens",
            reply()[: reply().index('"recommended_action"') + 30],
            expect(condition_score="4"),
            "cut off",
        ),
        (
            "cut off inside the defects",
            reply()[: reply().index('"lower right') + 8],
            expect(condition_score=CANNOT, defect_types=["crack", "spalling"]),
            "cut off",
        ),
        (
            "in a ```json fence with prose around it",
            "Here is the inspection report:\n\n```json\n" + reply() + "\n```\n\nLet me know if you need more detail.",
            expect(),
            None,
        ),
        ("inside a list", json.dumps([BASE]), expect(), None),
        ("'score' for condition_score", reply({"score": "4"}, drop=("condition_score",)), expect(), None),
        (
            "'rust' and 'Exposed reinforcement'",
            reply({"defects": [defect("rust"), defect("Exposed reinforcement")]}),
            expect(defect_types=["corrosion", "exposed rebar"]),
            None,
        ),
        (
            "'position' for location",
            reply({"defects": [{"type": "crack", "position": "centre"}, {"type": "spalling", "where": "base"}]}),
            expect(defect_locations=["centre", "base"]),
            None,
        ),
    ]
]

MORE_INSPECTION_CASES = [
    Case("exactly as asked", reply(), expect(confidence="medium", urgency="within months")),
    Case("score as an integer", reply({"condition_score": 4}), expect()),
    Case("score 'four'", reply({"condition_score": "four"}), expect()),
    Case("score 'mediocre'", reply({"condition_score": "mediocre"}), expect()),
    Case("score '4 out of 6'", reply({"condition_score": "4 out of 6"}), expect()),
    Case("score 'NEN 2767: 4'", reply({"condition_score": "NEN 2767: 4"}), expect()),
    Case(
        "score '3-4' names two codes",
        reply({"condition_score": "3-4"}),
        expect(condition_score=CANNOT),
        repair="'3-4' names no single value",
    ),
    Case("score '3.5' names none", reply({"condition_score": "3.5"}), expect(condition_score=CANNOT)),
    Case("score 7 is off the scale", reply({"condition_score": 7}), expect(condition_score=CANNOT)),
    Case("score 'N/A'", reply({"condition_score": "N/A"}), expect(condition_score=CANNOT)),
    Case("score null", reply({"condition_score": None}), expect(condition_score=CANNOT)),
    Case(
        "NBI rating '6 (satisfactory)'",
        reply({"condition_score": "6 (satisfactory)"}),
        expect(condition_score="6"),
        scale=ConditionScale.NBI,
    ),
    Case("NBI rating '7/9'", reply({"condition_score": "7/9"}), expect(condition_score="7"), scale=ConditionScale.NBI),
    Case(
        "severity 'high'", reply({"condition_score": "high"}), expect(condition_score="High"), scale=ConditionScale.LMH
    ),
    Case(
        "severity 'Medium-High'",
        reply({"condition_score": "Medium-High"}),
        expect(condition_score=CANNOT),
        scale=ConditionScale.LMH,
    ),
    Case("confidence '85%'", reply({"confidence": "85%"}), expect(confidence="high")),
    Case("confidence 0.2", reply({"confidence": 0.2}), expect(confidence="low")),
    Case("confidence 'High confidence'", reply({"confidence": "High confidence"}), expect(confidence="high")),
    Case(
        "confidence 'fairly sure' is left blank",
        reply({"confidence": "fairly sure"}),
        expect(confidence=None),
        repair="'fairly sure' is not high, medium or low",
    ),
    Case("urgency 'within 2 weeks'", reply({"urgency": "within 2 weeks"}), expect(urgency="within weeks")),
    Case(
        "urgency 'Immediate action required'",
        reply({"urgency": "Immediate action required"}),
        expect(urgency="immediate"),
    ),
    Case(
        "urgency 'before winter' kept as written", reply({"urgency": "before winter"}), expect(urgency="before winter")
    ),
    Case(
        "'hairline cracks' and 'concrete spalling'",
        reply({"defects": [defect("hairline cracks"), defect("concrete spalling")]}),
        expect(),
    ),
    Case(
        "'Delamination' is other, the word kept",
        reply({"defects": [defect("Delamination")]}),
        expect(defect_types=["other"], defect_notes_start=["Delamination"]),
    ),
    Case(
        "'corrosion and spalling' names two types",
        reply({"defects": [defect("corrosion and spalling")]}),
        expect(defect_types=["other"]),
    ),
    Case(
        "defects keyed by type",
        reply({"defects": {"crack": {"location": "centre"}, "spalling": {"location": "base"}}}),
        expect(),
    ),
    Case("defects as text 'None visible'", reply({"defects": "None"}), expect(defect_types=[])),
    Case(
        "defects as a list of sentences",
        reply({"defects": ["A vertical crack in the centre", "Spalling at the base"]}),
        expect(),
    ),
    Case(
        "Title Case keys with spaces",
        json.dumps(
            {
                "Element": "Reinforced concrete column",
                "Condition Score": 4,
                "Defects": [{"Type": "Crack", "Location": "centre"}, {"Type": "Spalling", "Location": "base"}],
            }
        ),
        expect(element="Reinforced concrete column"),
    ),
    Case("Markdown-escaped keys (condition\\_score)", reply().replace("_", "\\_"), expect()),
    Case(
        "a <think> block before the answer",
        '<think>The user wants {"element": ...}. I see a column.</think>\n' + reply(),
        expect(),
    ),
    Case("wrapped in 'inspection' with a status", json.dumps({"status": "ok", "inspection": BASE}), expect()),
    Case(
        "a bare list of defects",
        json.dumps(BASE["defects"]),
        expect(element="", condition_score=CANNOT, defect_types=["crack", "spalling"]),
    ),
    Case(
        "numbers as extent",
        reply({"defects": [defect("crack", extent=1.5), defect("spalling", extent=0.3)]}),
        expect(defect_extents=["1.5", "0.3"]),
    ),
    Case(
        "'recommendations' as a list",
        reply({"recommendations": ["inject the crack", "repair the cover"]}, drop=("recommended_action",)),
        expect(recommended_action="inject the crack; repair the cover"),
    ),
    Case("two JSON objects, one per image", reply() + "\n\n" + reply({"element": "second"}), expect()),
    Case(
        "unquoted keys",
        reply().replace('"element":', "element:").replace('"condition_score":', "condition_score:"),
        expect(),
    ),
    Case("missing commas between fields", reply().replace('",\n', '"\n'), expect()),
    Case(
        "HTML and control characters in values",
        reply({"element": "column <script>alert(1)</script>\u0007"}),
        expect(element="column <script>alert(1)</script>⟨U+0007⟩"),
    ),
    Case(
        "prose only, no JSON",
        "The photo shows a concrete column with a vertical crack. Condition: fair.",
        findings=False,
    ),
    Case("JSON without any findings field", json.dumps({"answer": "a column", "ok": True}), findings=False),
]

DRAWING = {
    "drawing_kind": "floor plan",
    "title_block": {
        "owner": "Gemeente Delft",
        "drawing_number": "S-101",
        "title": "Ground floor plan",
        "revision": "C",
        "date_of_issue": "2026-03-14",
        "scale": "1:100",
        "creator": "J. de Vries",
        "approver": "A. Jansen",
        "status": "For construction",
        "sheet": "1 of 4",
        "document_type": "Structural drawing",
    },
    "notes": ["1. ALL DIMENSIONS IN MILLIMETRES.", "2. CONCRETE C30/37."],
    "dimensions": ["5000 between grids A and B", "overall 21000"],
    "grid_lines": ["A-E at 5000", "1-4 at 6000"],
    "questions": ["Overall 21000 does not equal 4 x 5000."],
    "summary": "Ground floor plan with grid and notes.",
}


def drawing(changes: dict[str, Any] | None = None, drop: tuple[str, ...] = (), block: dict | None = None) -> str:
    data = {key: value for key, value in {**DRAWING, **(changes or {})}.items() if key not in drop}
    if block is not None:
        data["title_block"] = block
    return json.dumps(data, indent=2)


def dexpect(**changes: Any) -> dict[str, Any]:
    return {"drawing_kind": "floor plan", "drawing_number": "S-101", "revision": "C", **changes}


def _block(**changes: Any) -> dict[str, Any]:
    return {**DRAWING["title_block"], **changes}


DRAWING_CASES = [
    Case(id, text, expected, preset=Preset.DRAWING, repair=repair)
    for id, text, expected, repair in [
        ("drawing exactly as asked", drawing(), dexpect(questions_count=1, notes_count=2), None),
        ("sheet as a number", drawing(block=_block(sheet=1)), dexpect(sheet="1"), None),
        ("dimensions as numbers", drawing({"dimensions": [5000, 21000]}), dexpect(dimensions=["5000", "21000"]), None),
        (
            "drawing_no and rev keys",
            drawing(block={"drawing_no": "S-101", "rev": "C", "scale": "1:100"}),
            dexpect(),
            "key 'drawing_no' read as 'drawing_number'",
        ),
        ("title block wrapped and date key", drawing(block=_block(date="2026-03-14")), dexpect(), None),
        ("'drawing_type' for kind", drawing({"drawing_type": "floor plan"}, drop=("drawing_kind",)), dexpect(), None),
        (
            "questions as one string",
            drawing({"questions": "Overall 21000 does not equal 4 x 5000."}),
            dexpect(questions_count=1),
            "read as a list of one",
        ),
        (
            "grid lines as objects",
            drawing({"grid_lines": [{"label": "A", "spacing": 5000}, {"label": "B", "spacing": 5000}]}),
            dexpect(grid_lines=["label: A, spacing: 5000", "label: B, spacing: 5000"]),
            None,
        ),
        (
            "notes with a trailing comma in a fence",
            "```json\n" + drawing().replace('C30/37."', 'C30/37.",') + "\n```",
            dexpect(notes_count=2),
            "trailing commas",
        ),
        ("drawing wrapped in 'drawing'", json.dumps({"drawing": DRAWING}), dexpect(), "wrapped in 'drawing'"),
        (
            "drawing cut off inside the notes",
            drawing()[: drawing().index("CONCRETE") + 4],
            dexpect(notes_count=1),
            "cut off",
        ),
        ("title block fields null", drawing(block=_block(approver=None, status=None)), dexpect(approver=None), None),
        (
            "title block with Title Case keys",
            drawing(block={"Drawing Number": "S-101", "Revision": "C", "Drawn By": "J. de Vries"}),
            dexpect(creator="J. de Vries"),
            None,
        ),
        (
            "drawing with single quotes and None",
            drawing(block=_block(approver=None)).replace('"', "'").replace("null", "None"),
            dexpect(approver=None),
            "single quotes",
        ),
        (
            "questions under 'issues'",
            drawing({"issues": ["Dimension chain does not close."]}, drop=("questions",)),
            dexpect(questions_count=1),
            "key 'issues' read as 'questions'",
        ),
        ("drawing JSON after prose", "Sure! Here is the QA check:\n" + drawing(), dexpect(), None),
        ("drawing in a list", json.dumps([DRAWING]), dexpect(), None),
        (
            "title block as a sentence",
            drawing({"title_block": "S-101 rev C, Ground floor plan"}),
            dexpect(drawing_number=None, revision=None, summary_contains="S-101 rev C, Ground floor plan"),
            "kept in the summary",
        ),
        ("drawing prose only", "This is a ground floor plan with grid lines A to E.", {}, None),
    ]
]
DRAWING_CASES[-1] = Case(DRAWING_CASES[-1].id, DRAWING_CASES[-1].reply, preset=Preset.DRAWING, findings=False)

CASES = ISSUE_CASES + MORE_INSPECTION_CASES + DRAWING_CASES
