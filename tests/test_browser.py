"""The page a user sees, in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from image_analysis.imaging.prepare import prepare_image
from image_analysis.reports import html_page as render_page
from tests.conftest import ARTIFACTS, make_analysis

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

REPORT = """\
## What the photo shows
Aerial view of a residential subdivision under construction: graded earth roads, kerb lines and
**stacked precast concrete pipe sections** beside open trenches.

## Visible defects and hazards
| Item | Where | Extent |
|---|---|---|
| Open trench without barrier | centre left | ~15 m |
| Stockpiled pipes near road edge | lower right | 12 sections |

- Surface erosion along the graded slope, upper right.
- Cannot tell from this image whether the trench walls are shored.

**Summary:** active earthworks; trench edge protection should be checked on site.
"""

HOSTILE = """\
## Findings
<script>window.__pwned = 'script'; alert('script')</script>
<img src=x onerror="window.__pwned = 'img'; alert('img')">
<iframe src="https://example.com/"></iframe>
<style>body { display: none !important; }</style>
<!-- window.__pwned = 'comment' -->
[Open the full report](javascript:window.__pwned='link';alert('link'))
[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
![tracking pixel](https://example.com/pixel.png)

The wall shows a diagonal crack, lower left.
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watch:
    """Everything a page does that it should not: dialogs, errors, requests leaving the page."""

    def __init__(self, page: Page) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("request", lambda request: self.requests.append(request.url))

    def outside_requests(self, page_url: str) -> list[str]:
        return [url for url in self.requests if url != page_url and not url.startswith("data:")]


def open_page(browser: Browser, html: str, tmp_path: Path, width: int = 1280, height: int = 900):
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": height})
    watch = Watch(page)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, watch, path.as_uri()


@pytest.fixture
def site_page_html(shared_image) -> str:
    preparation = prepare_image(shared_image("site_aerial_construction_caliterra_IMG_9402.jpg"), "IMG_9402.jpg")
    return render_page(
        make_analysis(
            preparation, REPORT, model="mistral.ministral-3-14b-instruct", question="Which safety hazards are visible?"
        )
    )


def test_the_image_and_description_are_displayed_side_by_side(browser, site_page_html, tmp_path):
    page, watch, _ = open_page(browser, site_page_html, tmp_path)
    image = page.locator("img.sent-image")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 1540
    assert page.locator(".description").is_visible()
    assert page.locator(".description table td").first.inner_text() == "Open trench without barrier"
    assert "stacked precast concrete pipe sections" in page.locator(".description strong").first.inner_text()
    image_box = page.locator("section[aria-label='Image as sent to the model']").bounding_box()
    text_box = page.locator("section[aria-label='Description']").bounding_box()
    assert text_box["x"] >= image_box["x"] + image_box["width"] - 1, "side by side on a wide screen"
    assert abs(text_box["y"] - image_box["y"]) < 2
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page-desktop.png"), full_page=True)
    assert watch.errors == [] and watch.dialogs == []


def test_on_a_phone_the_panels_stack(browser, site_page_html, tmp_path):
    page, _, _ = open_page(browser, site_page_html, tmp_path, width=390, height=844)
    image_box = page.locator("section[aria-label='Image as sent to the model']").bounding_box()
    text_box = page.locator("section[aria-label='Description']").bounding_box()
    assert text_box["y"] >= image_box["y"] + image_box["height"] - 1, "stacked on a narrow screen"
    assert image_box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page-phone.png"), full_page=True)


def test_hostile_model_output_and_file_name_execute_nothing(browser, shared_image, tmp_path):
    preparation = prepare_image(
        shared_image("crack_concrete_ozgenel_a.png"), "<img src=x onerror=\"window.__pwned='name'\">.png"
    )
    html = render_page(make_analysis(preparation, HOSTILE, question="<script>window.__pwned='question'</script>"))
    page, watch, url = open_page(browser, html, tmp_path)
    page.locator("a", has_text="Open the full report").count()  # the javascript: link must not be a link
    assert page.locator(".description a").count() == 0
    page.wait_for_timeout(300)

    assert page.evaluate("window.__pwned === undefined")
    assert watch.dialogs == []
    assert watch.errors == []
    assert watch.outside_requests(url) == []
    assert page.locator(".description iframe, .description img, .description script").count() == 0
    assert page.locator(".description").is_visible(), "an injected style must not hide the page"
    text = page.locator(".description").inner_text()
    assert "<script>" in text and "diagonal crack" in text, "the text stays readable"
    assert "window.__pwned='name'" in page.locator(".file-name").inner_text()
    assert "<script>" in page.locator(".question").inner_text()


def test_a_tiled_drawing_shows_its_overview_with_the_tile_outlines(browser, tmp_path):
    drawing = Path(__file__).resolve().parents[1] / "sample_images" / "drawing_ground_floor_A3.png"
    preparation = prepare_image(drawing.read_bytes(), drawing.name)
    html = render_page(make_analysis(preparation, "## Title block\n- Drawing number: S-101"))
    page, watch, _ = open_page(browser, html, tmp_path)
    overview = page.locator(".overview img.sent-image").bounding_box()
    outlines = page.locator(".tile-outline")
    assert outlines.count() == len(preparation.images) - 1 >= 2
    for index in range(outlines.count()):
        box = outlines.nth(index).bounding_box()
        assert box["x"] >= overview["x"] - 1 and box["y"] >= overview["y"] - 1
        assert box["x"] + box["width"] <= overview["x"] + overview["width"] + 1
        assert box["y"] + box["height"] <= overview["y"] + overview["height"] + 1
    assert f"{preparation.image_tokens:,} image tokens" in page.locator("details.sent summary").inner_text()
    page.locator("details.tiles summary").click()
    assert page.locator("details.tiles img.tile").first.evaluate("img => img.naturalWidth") > 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page-drawing.png"), full_page=True)
    assert watch.errors == []


def test_inspection_findings_show_as_tables_and_a_batch_report_reads_in_order(browser, shared_image, tmp_path):
    from image_analysis.reports import html_report as render_report

    findings = (
        '{"element": "concrete wall", "material": "concrete", "defects": [{"type": "crack", '
        '"location": "<img src=x onerror=\\"window.__pwned=1\\">lower left", "extent": "0.8 m"}], '
        '"condition_score": "3", "recommended_action": "monitor", "urgency": "next inspection", '
        '"confidence": "high", "summary": "Single crack, otherwise sound."}'
    )
    wall = prepare_image(shared_image("crack_concrete_ozgenel_a.png"), "wall.png")
    flower = prepare_image(shared_image("webp_photo_flower.webp"), "flower.webp")
    analyses = [
        make_analysis(wall, findings, preset="inspection"),
        make_analysis(None, None, preset="inspection", error="'broken.jpg' is truncated", number=2),
        make_analysis(flower, "not json", preset="inspection", number=3),
    ]
    page, watch, url = open_page(browser, render_report(analyses, "Site inspection report"), tmp_path)
    titles = [" ".join(title.split()) for title in page.locator(".entry-title").all_inner_texts()]
    assert titles == ["Photo 1 — Concrete wall wall.png", "Photo 2 missing.jpg", "Photo 3 flower.webp"]
    defects = page.locator("#entry-1 table.findings tbody tr td").all_inner_texts()
    assert defects[:3] == ["1", "crack", '<img src=x onerror="window.__pwned=1">lower left']
    assert "3\xa0(fair, sufficient)" in page.locator("#entry-1 table.fields").inner_text()
    assert "truncated" in page.locator("#entry-2 .note.error").inner_text()
    assert page.locator("#entry-3 pre.raw").inner_text() == "not json"
    assert page.evaluate("window.__pwned === undefined") and watch.outside_requests(url) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-inspection.png"), full_page=True)


def test_file_names_and_questions_are_shown_literally(browser, shared_image, tmp_path):
    name = '<b>"report"</b> \u202egpj.exe \u2067'
    question = "Is 'this' <i>OK</i>? " + "very long question " * 300
    preparation = prepare_image(shared_image("webp_photo_flower.webp"), name)
    page, _, _ = open_page(
        browser, render_page(make_analysis(preparation, "Fine.", question=question)), tmp_path, width=390, height=844
    )
    shown = page.locator(".file-name").inner_text()
    assert shown == '<b>"report"</b> ⟨U+202E⟩gpj.exe ⟨U+2067⟩'
    assert page.locator(".question").inner_text().startswith("Question: Is 'this' <i>OK</i>? very long question")
    assert page.locator(".question").inner_text().count("very long question") == 300
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "long text wraps on a phone"
    assert page.locator(".file-name b, .question i").count() == 0


WIDE = (
    "## A reply with a very wide table\n\n"
    + "|"
    + "|".join(f"column {index}" for index in range(300))
    + "|\n"
    + "|"
    + "---|" * 300
    + "\n"
    + ("|" + "|".join(f"value{index}" for index in range(300)) + "|\n") * 3
    + "\nA token without spaces: "
    + "reinforcement" * 120
    + "\n\n"
    + "`"
    + "x" * 900
    + "`\n"
)


@pytest.mark.parametrize("width", [390, 1280])
def test_a_300_column_table_scrolls_inside_its_panel_and_long_tokens_wrap(browser, shared_image, tmp_path, width):
    preparation = prepare_image(shared_image("webp_photo_flower.webp"), "flower.webp")
    html = render_page(make_analysis(preparation, WIDE, model="mistral.ministral-3-14b-instruct"))
    page, watch, _ = open_page(browser, html, tmp_path, width=width)
    document_width = page.evaluate("document.documentElement.scrollWidth")
    assert document_width <= width, f"the page is {document_width} px wide in a {width} px window"
    scroller = page.locator(".description .table-scroll").first
    sizes = scroller.evaluate("element => [element.scrollWidth, element.clientWidth]")
    assert sizes[0] > 5 * sizes[1], "the table keeps its columns and scrolls inside the panel"
    panel = page.locator(".panel[aria-label='Description']").bounding_box()
    assert panel["x"] + panel["width"] <= width
    token = page.get_by_text("A token without spaces").bounding_box()
    assert token["x"] + token["width"] <= panel["x"] + panel["width"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"wide-table-{width}.png"))
    assert watch.errors == []
    page.close()


REPAIRED_REPLY = """Here is the inspection report:

```json
{
  "element": "concrete retaining wall",
  "material": "reinforced concrete",
  "defects": [
    {"defect_type": "Cracking", "location": "lower left, running diagonally", "extent": "about 0.8 m"},
    {"defect_type": "Spalled concrete", "location": "top edge", "extent": "0.1 x 0.2 m",},
  ],
  "condition_score": "3 (moderate)",
  "condition_rationale": "one open crack and local spalling, no exposed reinforcement",
  "recommended_action": "seal the crack and repair the edge",
  "urgency": "within months",
  "confidence": "Moderate",
  "cannot_tell": "whether the crack goes through the wall",
  "summary": "Retaining wall with a diagonal crack and minor spalling."
}
```"""


@pytest.mark.parametrize("width", [390, 1280])
def test_repairs_are_listed_under_the_findings_and_the_raw_reply_is_one_click_away(
    browser, shared_image, tmp_path, width
):
    wall = prepare_image(shared_image("crack_concrete_ozgenel_a.png"), "crack_concrete_ozgenel_a.png")
    analysis = make_analysis(wall, REPAIRED_REPLY, preset="inspection", model="mistral.ministral-3-14b-instruct")
    page, watch, url = open_page(browser, render_page(analysis), tmp_path, width=width)
    types = page.locator("table.findings tbody tr td:nth-child(2)").all_inner_texts()
    assert types == ["crack", "spalling"]
    assert "3\xa0(fair, sufficient)" in page.locator("table.fields").inner_text()
    assert not page.locator(".repairs li").first.is_visible(), "how the reply was read is folded away"
    page.locator("details.repairs summary").click()
    repairs = page.locator(".repairs li").all_inner_texts()
    assert "score '3 (moderate)' read as 3" in repairs and "confidence 'Moderate' read as medium" in repairs
    raw = page.locator("details.raw-reply pre")
    assert not raw.is_visible(), "the raw reply is collapsed"
    page.locator("details.raw-reply summary").click()
    assert raw.is_visible() and "Here is the inspection report:" in raw.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert watch.errors == [] and watch.outside_requests(url) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"repairs-{width}.png"), full_page=True)
    page.close()


def test_a_reviewed_report_shows_the_sign_off_the_summary_and_each_findings_origin(browser, shared_image, tmp_path):
    from image_analysis.reports import html_report as render_report
    from image_analysis.review import AI_CONFIRMED, EDITED, Finding, Review, SignOff

    wall = prepare_image(shared_image("crack_concrete_ozgenel_a.png"), "crack_concrete_ozgenel_a.png")
    post = prepare_image(shared_image("corrosion_rusty_metal_05_polyhaven_1k.jpg"), "railing_post.jpg")
    analyses = [
        make_analysis(wall, REPAIRED_REPLY, preset="inspection", model="mistral.ministral-3-14b-instruct"),
        make_analysis(post, REPAIRED_REPLY, preset="inspection", model="mistral.ministral-3-14b-instruct", number=2),
    ]
    review = Review(
        SignOff("Kade Noord quay wall", "Delft, Kade Noord 12", "J. de Vries", "2026-11-20", "INS-2026-014"),
        (
            Finding(
                1,
                "",
                "concrete retaining wall",
                "crack",
                "lower left, 0.3 mm wide",
                "0.8 m",
                "4",
                "seal the crack",
                "within months",
                "crack gauge fitted",
                EDITED,
                "P1-F1",
            ),
            Finding(
                1,
                "",
                "concrete retaining wall",
                "spalling",
                "top edge",
                "0.1 x 0.2 m",
                "3",
                "repair the edge",
                "within months",
                "",
                AI_CONFIRMED,
                "P1-F2",
            ),
        ),
    )
    page, watch, url = open_page(browser, render_report(analyses, "Site inspection report", review), tmp_path)
    assert "J. de Vries" in page.locator(".cover table.fields").inner_text()
    summary = [row.replace("\xa0", " ").split("\t") for row in page.locator("table.summary tbody tr").all_inner_texts()]
    assert summary[0][:4] == ["1", "concrete retaining wall", "crack", "4 (inspector's score, not derived)"], (
        "the worst first"
    )
    origins = page.locator("#entry-1 td.origin").all_inner_texts()
    assert origins == [EDITED, AI_CONFIRMED]
    assert "Reviewed by J. de Vries" in page.locator("#entry-1 .review-state").inner_text()
    assert "Not reviewed" in page.locator("#entry-2 .review-state").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert watch.errors == [] and watch.outside_requests(url) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-reviewed.png"), full_page=True)
    page.close()


def test_the_drawing_register_of_a_set_reads_in_the_browser(browser, tmp_path, threaded_model_service):
    import json

    from werkzeug import Response

    from image_analysis import analysis, model
    from image_analysis.presets import AnalysisRequest, Preset
    from image_analysis.reports import html_report as render_report
    from scripts.make_drawing_set import make_set
    from tests.conftest import completion_body
    from tests.scenarios import READINGS, SHEETS, reading

    def handle(request):
        prompt = request.get_json()["messages"][1]["content"][0]["text"]
        title = next((title for title in READINGS if title and title in prompt), None)
        body = completion_body(reading(READINGS[title]), model="mistral.ministral-3-14b-instruct")
        return Response(json.dumps(body), content_type="application/json")

    threaded_model_service.handle(handle)
    data = make_set(tmp_path / "ground-works-set.pdf", SHEETS).read_bytes()
    uploads = [analysis.Upload(f"ground-works-set.pdf (page {n})", data, page=n) for n in range(1, 5)]
    results = analysis.analyse_batch(
        uploads, AnalysisRequest(preset=Preset.DRAWING), model.ServiceSettings.from_environment()
    )
    page, watch, url = open_page(browser, render_report(results, "Drawing check report"), tmp_path)
    rows = page.locator("table.register tbody tr").all_inner_texts()
    assert [row.split("\t")[:2] for row in rows] == [["1", "S-101"], ["2", "S-102"], ["3", "S-101"], ["4", "S-104"]]
    assert "the model read 'S-1O1'" in rows[0] and "revision missing" in rows[1]
    assert page.locator("table.register tr.problem").count() == 3, "the scanned sheet reads clean"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert watch.errors == [] and watch.outside_requests(url) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "register.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 520})
    page.close()


@pytest.fixture(scope="module")
def reviewed_report_html() -> str:
    """Eight photos with replies as long as a real model writes, reviewed and signed (the Word layout test's
    record), as the HTML report."""
    from image_analysis.reports import html_report
    from tests.conftest import shared_image_path
    from tests.long_replies import LONG_REPLIES
    from tests.scenarios import REMOVED, SIGNOFF, inspection_reply, inspector_review

    analyses = [
        make_analysis(
            prepare_image(shared_image_path(name).read_bytes(), name),
            inspection_reply(name, number),
            preset="inspection",
            model="mistral.ministral-3-14b-instruct",
            number=number,
        )
        for number, name in enumerate(LONG_REPLIES, start=1)
    ]
    assert SIGNOFF.inspector
    kept = [result for result in analyses if result.number != REMOVED]
    return html_report(kept, review=inspector_review(analyses))


CARDS = ".panel, .cover, .summary-section, .register-section, .appendix"


def table_widths(page) -> list[dict]:
    """Every table of the page: its width, its card's, and whether a scrolling region inside the card holds it."""
    return page.evaluate(
        """cards => [...document.querySelectorAll('table')].map(table => {
            const card = table.closest(cards);
            const scroller = table.closest('.table-scroll');
            const held = scroller !== null && card.contains(scroller) && scroller.clientWidth <= card.clientWidth;
            return {name: table.className, width: table.scrollWidth, card: card.clientWidth, held: held};
        })""",
        CARDS,
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_every_table_of_a_reviewed_report_fits_its_card(browser, reviewed_report_html, tmp_path, width):
    page, watch, url = open_page(browser, reviewed_report_html, tmp_path, width=width, height=900)
    tables = table_widths(page)
    assert len(tables) > 10
    too_wide = [table for table in tables if table["width"] > table["card"] and not table["held"]]
    assert too_wide == [], f"tables wider than their card at {width} px"
    notes = page.locator("#entry-1 td.inspector-note")
    boxes = [notes.nth(index).bounding_box() for index in range(notes.count())]
    assert boxes and all(boxes)
    for note in boxes:
        assert note["x"] >= 0 and note["x"] + note["width"] <= width, "the inspector's note is in view"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert watch.errors == [] and watch.outside_requests(url) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#entry-1").screenshot(path=str(ARTIFACTS / f"report-entry-{width}.png"))
    page.close()


def test_a_reviewed_report_has_no_serious_accessibility_violation(browser, reviewed_report_html, tmp_path):
    """axe-core (the copy in axe-playwright-python) run in Chromium: no serious or critical violation; the page
    has a main landmark and every scrollable table region can be reached by keyboard."""
    assert serious_violations(browser, reviewed_report_html, tmp_path) == []


def serious_violations(browser, html: str, tmp_path: Path) -> list[tuple[str, str, int]]:
    """The serious and critical violations axe-core finds on ``html``; also checks that the page has one main
    landmark and that every scrollable table region is reachable by keyboard."""
    import axe_playwright_python

    script = Path(axe_playwright_python.__file__).with_name("axe.min.js")
    path = tmp_path / "axe.html"
    path.write_text(html, encoding="utf-8")
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})  # to inject axe
    page = context.new_page()
    page.goto(path.as_uri())
    page.add_script_tag(path=str(script))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        (violation["id"], violation["help"], len(violation["nodes"]))
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert page.locator("main").count() == 1
    regions = page.locator(".table-scroll")
    assert regions.count() > 0 and regions.count() == page.locator(".table-scroll[tabindex='0']").count()
    context.close()
    return serious


@pytest.mark.parametrize("width", [1280, 390])
def test_the_page_shows_each_defects_derivation_and_the_standards_tables(
    browser, reviewed_report_html, tmp_path, width
):
    page, watch, url = open_page(browser, reviewed_report_html, tmp_path, width=width, height=900)
    entry = page.locator("#entry-1")
    text = entry.inner_text().replace("\xa0", " ")
    assert "3 (fair, sufficient); derived by the standard: (20×1.70 + 80×1.00) / 100 = 1.1400" in text
    assert "Observed: critical · advanced · 10-30 % → 3; the inspector's: 5" in text
    assert "5 (inspector; derived 3)" in text, "the inspector's score beside the standard's"
    cell = entry.locator("td", has_text="Observed: critical").first
    box = cell.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, "the derivation is in view"
    appendix = page.locator("section.appendix", has_text="How the condition scores were derived")
    assert appendix.count() == 1
    rows = appendix.locator("table.derivation tbody tr").all_inner_texts()
    assert len(rows) == 9 and rows[2].split() == ["critical", "final", "2", "3", "4", "5", "6"], "9 rows of 5 cells"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert watch.errors == [] and watch.outside_requests(url) == []
    page.close()


@pytest.fixture(scope="module")
def quality_html() -> str:
    """The quality page of 240 findings over six months, two models and three inspectors."""
    from image_analysis.presets import ConditionScale
    from image_analysis.quality import evaluate
    from image_analysis.quality.outcomes import ADD, CONFIRMED, DELETED, EDIT, Outcome
    from image_analysis.reports.quality import quality_page

    types = ("crack", "spalling", "corrosion", "exposed rebar", "efflorescence", "missing or damaged fixing")
    outcomes = []
    for index in range(240):
        decision = (CONFIRMED,) * 6 + (EDIT, EDIT, DELETED, ADD)
        chosen = decision[index % len(decision)]
        ai = str(2 + index % 4)
        given = str(min(6, int(ai) + (index % 3) - 1)) if chosen == EDIT else ai
        outcomes.append(
            Outcome(
                inspection=f"2026{index % 6 + 5:02d}01-{index % 4:06x}",
                photo=index // 8 + 1,
                file=f"IMG_{index // 8:04d}_kade_noord_quay_wall_section_{index % 6}.jpg",
                ref=f"P{index // 8 + 1}-F{index % 8 + 1}",
                decision=chosen,
                ai_type="" if chosen == ADD else types[index % len(types)],
                type=types[(index + (chosen == EDIT)) % len(types)],
                element=("concrete quay wall", "steel railing post", "bearing")[index % 3],
                ai_score="" if chosen == ADD else ai,
                score=given,
                ai_observed=("", "", ""),
                observed=("", "", ""),
                model=("mistral.ministral-3-14b-instruct", "qwen2.5-vl-7b")[index % 2],
                prompt=("3f9a2c1b7d4e", "a81c0e55f902")[index % 2],
                month=f"2026-{index % 6 + 5:02d}",
                inspector=("J. de Vries", "A. Jansen", "M. El Amrani")[index % 3],
            )
        )
    return quality_page(evaluate(outcomes, ConditionScale.NEN2767.definition, 24))


@pytest.mark.parametrize("width", [1280, 390])
def test_the_quality_page_fits_a_phone_and_a_desktop(browser, quality_html, tmp_path, width):
    page, watch, url = open_page(browser, quality_html, tmp_path, width=width, height=900)
    tables = table_widths(page)
    assert len(tables) >= 10
    too_wide = [table for table in tables if table["width"] > table["card"] and not table["held"]]
    assert too_wide == [], f"tables wider than their card at {width} px"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    heat = page.locator("table.heat tbody tr").all_inner_texts()
    assert len(heat) == 6, "a row per code of the scale"
    assert page.locator("ul.chart li").count() >= 6 + 6, "precision per defect type, agreement per month"
    assert watch.errors == [] and watch.outside_requests(url) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    clip = {"x": 0, "y": 0, "width": width, "height": 2200}  # the headline figures, the bars and the heat table
    page.screenshot(path=str(ARTIFACTS / f"quality-{width}.png"), full_page=True, clip=clip)
    page.close()


def test_the_quality_page_has_no_serious_accessibility_violation(browser, quality_html, tmp_path):
    assert serious_violations(browser, quality_html, tmp_path) == []


@pytest.fixture(scope="module")
def labelled_html() -> str:
    """The page of a labelled set: two models, one of them also with an added instruction, with disagreements."""
    from image_analysis.presets import ConditionScale
    from image_analysis.quality.labelled import PRESET_PROMPT, Disagreement, ModelRun, PromptVariant
    from image_analysis.quality.measures import kappa, share
    from image_analysis.reports.quality import labelled_page

    scale = ConditionScale.NEN2767.definition
    pairs = [(str(1 + index % 6), str(1 + (index + index % 3) % 6)) for index in range(40)]
    wrong = tuple(
        Disagreement(f"quay_wall_section_{index:03d}_north_face.jpg", ("crack", "spalling"), ("corrosion",), "4", "2")
        for index in range(3)
    )
    variant = PromptVariant("hairline_cracks_and_efflorescence_instruction.txt", "Report every hairline crack.")

    def run(model: str, prompt: PromptVariant = PRESET_PROMPT) -> ModelRun:
        agree = share([ai == given for ai, given in pairs])
        return ModelRun(
            model,
            40,
            1,
            share([True] * 30 + [False] * 9),
            share([True] * 30 + [False] * 14),
            agree,
            agree,
            kappa(pairs, scale),
            2520.0,
            3.4,
            0,
            wrong,
            prompt,
        )

    runs = [
        run("mistral.ministral-3-14b-instruct"),
        run("mistral.ministral-3-14b-instruct", variant),
        run("qwen2.5-vl-72b"),
    ]
    return labelled_page(runs, "labels/quay_walls_2026.csv")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_labelled_set_page_fits_a_phone_and_a_desktop(browser, labelled_html, tmp_path, width):
    page, watch, url = open_page(browser, labelled_html, tmp_path, width=width, height=900)
    too_wide = [table for table in table_widths(page) if table["width"] > table["card"] and not table["held"]]
    assert too_wide == [], f"tables wider than their card at {width} px"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.locator("figure.disagreement").count() == 9
    assert "hairline_cracks_and_efflorescence_instruction.txt (" in page.inner_text("table")
    assert watch.errors == [] and watch.outside_requests(url) == []
    page.close()


def test_the_labelled_set_page_has_no_serious_accessibility_violation(browser, labelled_html, tmp_path):
    assert serious_violations(browser, labelled_html, tmp_path) == []
