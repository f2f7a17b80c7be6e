"""The same element, next time: two inspections of one object made through the real commands (12 photos of 6
elements; a year later 10, one crack visibly longer in an edited copy of its photo, one defect repaired, one element
not photographed), photos assigned from the element list, GPS and names, change requests sent with both images in
order, the fake model's answers decided by the inspector, and the page of the changes."""

from __future__ import annotations

import base64
import csv
import functools
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from image_analysis.imaging.metadata import GpsPosition
from image_analysis.inspection.assignment import (
    BY_FILE_NAME,
    BY_MODEL_TEXT,
    BY_PREVIOUS_GPS,
    PlacedPhoto,
    distance_m,
    from_file_name,
    from_model_text,
    from_previous_gps,
)
from image_analysis.inspection.elements import Element, ElementListError, read_element_csv
from image_analysis.inspection.history import BEYOND_SPREAD, NO_REPAIR, WITHIN_SPREAD
from tests.conftest import shared_image_path
from tests.helpers import cli, service_env
from tests.observation_corpus import _reply as reply
from tests.test_browser import ARTIFACTS, browser, open_page, serious_violations, table_widths  # noqa: F401
from tests.test_word_layout import image_pages, pages

ELEMENTS = {  # id: (name, kind, lat, lon)
    "P10-N": ("Pier 10 north face", "pier", 52.0800000, 4.3100000),
    "P10-S": ("Pier 10 south face", "pier", 52.0801000, 4.3100000),
    "P11-N": ("Pier 11 north face", "pier", 52.0802000, 4.3102000),
    "P11-S": ("Pier 11 south face", "pier", 52.0803000, 4.3102000),
    "DECK-1": ("Deck slab span 10-11", "deck", 52.0804000, 4.3104000),
    "RAIL-1": ("Railing north side", "railing", 52.0805000, 4.3104000),
}
IDS = list(ELEMENTS)
CRACK = {
    "type": "crack",
    "location": "mid-height",
    "seriousness": "critical",
    "intensity": "advanced",
    "share": "10-30 %",
}
LONGER = {**CRACK, "intensity": "final", "share": "30-70 %", "extent": "1.2 m"}
SPALL = {"type": "spalling", "location": "base", "seriousness": "critical", "intensity": "final", "share": "10-30 %"}
RUST = {"type": "corrosion", "location": "posts", "seriousness": "minor", "intensity": "advanced", "share": "10-30 %"}
SALT = {"type": "efflorescence", "location": "soffit", "seriousness": "minor", "intensity": "initial", "share": "< 2 %"}
BEFORE = {"P10-N": [CRACK], "P10-S": [SPALL], "P11-N": [CRACK], "P11-S": [], "DECK-1": [SALT], "RAIL-1": [RUST]}
AFTER = {"P10-N": [LONGER], "P10-S": [], "P11-N": [CRACK], "P11-S": [], "DECK-1": [SALT]}
WORDS = {  # what the model calls each element
    "P10-N": "concrete pier",
    "P10-S": "concrete pier",
    "P11-N": "concrete pier",
    "P11-S": "concrete pier",
    "DECK-1": "soffit of the deck slab, span 10-11",
    "RAIL-1": "steel railing",
}


NOTES = {  # as long as a real model writes them
    "P10-N": "The crack across the face, which in the previous photo ended about two thirds of the way to the right, "
    "now runs on to the right edge of the frame, roughly half as long again; near its right end it has branched "
    "into a second, finer crack, and its edges look darker, which may mean water is getting in. The light is similar "
    "in both photos and the framing almost the same, so the difference in length is not an effect of the viewpoint.",
    "P10-S": "The spalled area at the base has been patched with a repair mortar of a lighter grey; its edges are "
    "sound and no exposed reinforcement is visible any more.",
}
NOTES.update({key: "Looks the same in both photos." for key in ("P11-N", "P11-S", "DECK-1", "RAIL-1")})


PICTURES = {  # each element's look: real photos (../shared/images/SOURCES.md)
    "P10-N": "crack_concrete_ozgenel_a.png",
    "P10-S": "crack_concrete_ozgenel_b.png",
    "P11-N": "infrastructure_metro_vault_ustreet.jpg",
    "P11-S": "building_arena_stage_highsmith.jpg",
    "DECK-1": "site_aerial_construction_caliterra_IMG_9402.jpg",
    "RAIL-1": "corrosion_rusty_metal_05_polyhaven_1k.jpg",
}
LIGHT = {"2019": 1.12, "2025": 1.0, "2026": 0.88}
"""Each inspection's light: what tells an inspection's photo from another's of the same element."""


def _signature(image: Image.Image) -> list[int]:
    return list(image.convert("L").resize((24, 18)).tobytes())


def _sent(data_uri: str) -> list[int]:
    with Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1]))) as image:
        return _signature(image)


def _apart(one: list[int], other: list[int]) -> int:
    return sum((a - b) ** 2 for a, b in zip(one, other, strict=True))


@functools.cache
def _base(key: str) -> Image.Image:
    """The element's real photo, at most 1200 px wide (what an 800 px photo is cut from)."""
    with Image.open(shared_image_path(PICTURES[key])) as source:
        source.draft("RGB", (1200, 1200))
        picture = source.convert("RGB")
    picture.thumbnail((1200, 1200))
    return picture


def _photo(path: Path, key: str, year: str, shift: int, gps: tuple[float, float] | None) -> list[int]:
    """A photo of element ``key`` as taken in ``year`` (``shift``: a step to the side), with GPS; its signature.
    In 2019 P10-N's crack is shorter (its right part filled with the concrete below it); in 2026 P11-N is taken
    from the other bank at dusk."""
    picture = _base(key).copy()
    if key == "P10-N" and year != "2026":  # the crack was shorter before
        patch = picture.crop((262, 6, 456, 92))  # the concrete above it, brought to the light where it goes
        below = picture.crop((262, 180, 456, 200)).convert("L").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        above = patch.convert("L").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        mask = Image.linear_gradient("L").resize(patch.size).point(lambda value: min(255, 4 * min(value, 255 - value)))
        picture.paste(patch.point(lambda value: round(value * below / above)), (262, 90), mask)
    width, height = picture.size
    left, top = shift * width // 30, shift * height // 40
    picture = picture.crop((left, top, left + width * 9 // 10, top + height * 9 // 10))
    picture = picture.resize((800, round(800 * picture.height / picture.width)))
    light = LIGHT[year] * (0.6 if key == "P11-N" and year == "2026" else 1.0)
    picture = picture.point(lambda value: min(255, round(value * light)))
    if key == "P11-N" and year == "2026":
        picture = picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    exif = Image.Exif()
    if gps is not None:
        lat, lon = gps
        exif.get_ifd(0x8825).update(
            {1: "N", 2: (int(lat), int(lat * 60) % 60, round(lat * 3600 % 60, 4)), 3: "E"}
            | {4: (int(lon), int(lon * 60) % 60, round(lon * 3600 % 60, 4)), 31: 5.0}
        )
    picture.save(path, "JPEG", quality=90, exif=exif)
    return _signature(picture)


@pytest.fixture(scope="module")
def object_store(tmp_path_factory):
    """The store after the first inspection (2025) and the second described (2026), and what the fake model saw."""
    from pytest_httpserver import HTTPServer

    from tests.conftest import ModelService

    root = tmp_path_factory.mktemp("reinspection")
    store = root / "bridge.sqlite"
    listing = root / "elements.csv"
    lines = ["element_id,name,kind,material,location,lat,lon,quantity,replacement_value"]
    lines += [
        f"{key},{name},{kind},reinforced concrete,,{lat},{lon},10,1000"
        for key, (name, kind, lat, lon) in ELEMENTS.items()
    ]
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    replies: list[str] = []  # the describe requests come one at a time, in the order of the files
    signatures: dict[str, tuple[str, list[int]]] = {}  # file: (element, year), signature
    oldest, first, second = [], [], []
    for key in IDS:  # 2019: one photo of each element, P10-N's crack shorter
        path = root / f"{key}_2019.jpg"
        signatures[path.name] = (f"{key} 2019", _photo(path, key, "2019", 0, ELEMENTS[key][2:]))
        replies.append(reply(*[item for item in BEFORE[key] if item is not CRACK], score="3", element=WORDS[key]))
        oldest.append(str(path))
    for number, key in enumerate(IDS * 2):  # 2025: two photos of each element, named after it
        lat, lon = ELEMENTS[key][2:]
        path = root / f"{key}_{number // 6 + 1}.jpg"
        gps = (lat + 0.00001 * (number // 6), lon)
        signatures[path.name] = (f"{key} 2025", _photo(path, key, "2025", number // 6, gps))
        replies.append(reply(*BEFORE[key], score="3", element=WORDS[key]))
        first.append(str(path))
    for offset, key in enumerate(IDS[:5] * 2):  # 2026: no photo of the railing; named by the camera
        lat, lon = ELEMENTS[key][2:]
        path = root / f"IMG_{2000 + offset}.jpg"
        gps = None if key == "DECK-1" and offset < 5 else (lat + 0.00001, lon + 0.00001)
        signatures[path.name] = (f"{key} 2026", _photo(path, key, "2026", offset // 5 + 1, gps))
        replies.append(reply(*AFTER[key], score="3", element=WORDS[key]))
        second.append(str(path))
    queue = iter(replies)

    def answer(request):
        from werkzeug import Response

        from tests.conftest import completion_body

        text = request.get_json()["messages"][1]["content"][0]["text"]
        if "Two site photos of the same element" in text:
            key = re.search(r'"(\S+) ', text.split("The element, as the owner's list names it")[1]).group(1)
            refs = re.findall(r'"ref": "(P\d+-F\d+)"', text)
            change = {"P10-N": "the crack has grown longer", "P10-S": "repaired"}.get(key, "unchanged")
            comparable = "no" if key == "P11-N" else "yes"
            reply_text = json.dumps(
                {
                    "comparable": comparable,
                    "not_comparable_because": "taken from the other bank, at dusk" if comparable == "no" else "",
                    "previous_defects": [{"ref": ref, "change": change, "notes": NOTES[key]} for ref in refs],
                    "new_defects": [],
                    "summary": f"{key}: {change}",
                }
            )
        else:  # the photos described in order; then (a campaign's) any photo, its element not said
            reply_text = next(queue, None) or reply(CRACK, score="3", element="")
        return Response(json.dumps(completion_body(reply_text)), content_type="application/json")

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        service = ModelService(server)
        service.handle(answer)
        env = service_env(service)
        kept = cli("elements", str(listing), "--store", str(store), "--object", "BR-10", "--name", "Bridge 10")
        assert kept.returncode == 0, kept.stderr

        def describe(files: list[str], name: str, date: str, inspector: str) -> str:
            """One inspection of BR-10 described into the store (one photo at a time: the replies are in order)."""
            options = ["--store", str(store), "--inspection", name, "--object", "BR-10", "--date", date]
            done = cli(
                "describe", *files, "--concurrency", "1", "--preset", "inspection", *options,
                "--inspector", inspector, env_extra=env,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            return done.stderr

        describe(oldest, "2019", "2019-10-02", "P. Bakker")
        assert "12 by file name; 0 without an element" in describe(first, "2025", "2025-11-20", "J. de Vries")
        said = describe(second, "2026", "2026-11-19", "A. Jansen")
        yield store, service, env, signatures, said, root
    finally:
        server.stop()


@pytest.mark.slow
def test_the_second_inspection_is_compared_element_by_element_and_the_inspector_decides(object_store, tmp_path):
    store, service, env, signatures, described, _ = object_store
    assert "9 by GPS of the previous photo, 1 by the model's element; 0 without" in described
    page, table = tmp_path / "changes.html", tmp_path / "changes.csv"
    sent_before = len(service.requests)
    done = cli("compare", "--store", str(store), "--inspection", "2026", "--out", str(page), "--csv", str(table),
               "--json", env_extra=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assigned = {item["photo"]: (item["element"], item["assigned_by"]) for item in figures["photos"]}
    assert {element for element, _ in assigned.values()} == set(IDS[:5])
    assert [source for _, source in assigned.values()].count(BY_PREVIOUS_GPS) == 9

    requests = service.requests[sent_before:]
    assert len(requests) == 10, "one request per photo whose element was photographed before"
    for request in requests:
        urls = [part["image_url"]["url"] for part in request["messages"][1]["content"] if part["type"] == "image_url"]
        captions = [part["text"] for part in request["messages"][1]["content"] if part["type"] == "text"][1:]
        before, now = (min(signatures.values(), key=lambda item: _apart(item[1], _sent(url)))[0] for url in urls)
        assert before.split()[0] == now.split()[0], "both photos of one element"
        assert (before.split()[1], now.split()[1]) == ("2025", "2026"), "the previous photo first"
        assert "previous inspection's photo (2025-11-20)" in captions[0] and "(2026-11-19)" in captions[1]

    trends = {item["element"]: item for item in figures["elements"]}
    assert trends["P10-N"]["trend"] == "worse" and trends["P10-N"]["spread"] in (WITHIN_SPREAD, BEYOND_SPREAD)
    assert trends["P10-S"]["trend"] == "better" and trends["P10-S"]["flag"] == NO_REPAIR, "no repair decided yet"
    assert trends["RAIL-1"]["trend"] == "not inspected" and trends["RAIL-1"]["current"] is None
    assert figures["elements"][0]["element"] == "P10-N", "the worse element first"
    not_comparable = [answer for answer in figures["answers"] if answer["comparable"] is False]
    assert {answer["element"] for answer in not_comparable} == {"P11-N"}
    assert "taken from the other bank" in not_comparable[0]["not_comparable_because"]

    html = page.read_text(encoding="utf-8")
    first_card = html.split('id="element-1-title">')[1].split("</section>")[0]
    assert first_card.startswith("P10-N") and first_card.count("<img") >= 2
    assert "The inspector decided" in first_card and "not decided" in first_card
    assert "Not inspected this time" in html and "RAIL-1 Railing north side (condition" in html
    history = "History: 2019-10-02: 1 (excellent), P. Bakker · 6.1 years later · 2025-11-20: 2 (good), J. de Vries"
    shown = html.replace("&#39;", "'").replace("\xa0", " ")
    assert history + " · 1 year later · 2026-11-19: 4 (mediocre), A. Jansen" in shown
    assert "no, not comparable: taken from the other bank, at dusk" in html

    rows = list(csv.DictReader(io.StringIO(table.read_text(encoding="utf-8-sig"))))
    assert {row["suggested"] for row in rows} >= {"worse", "repaired", "not comparable"}
    for row in rows:
        row["decided"] = row["suggested"] if row["suggested"] != "not comparable" else "cannot tell"
    with table.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    sent = len(service.requests)
    decided = cli("compare", "--store", str(store), "--inspection", "2026", "--decisions", str(table),
                  "--inspector", "A. Jansen", "--out", str(page), "--json", env_extra=env)  # fmt: skip
    assert decided.returncode == 0, decided.stderr
    assert len(service.requests) == sent, "a second run sends nothing: every answer is in the store"
    assert f"{len(rows)} change decisions kept" in decided.stderr
    after = {item["element"]: item for item in json.loads(decided.stdout)["elements"]}
    assert after["P10-S"]["flag"] == "", "the repair is recorded: the better condition is explained"
    assert "worse (A. Jansen)" in page.read_text(encoding="utf-8")


def test_an_element_list_is_read_as_owners_write_it():
    text = "\ufeffID;Name;Kind;Latitude;Longitude;Quantity;Value\nP12-N;Pier 12 north;pier;52,1;4,3;12;1500\n"
    [element] = read_element_csv(text, "list.csv")
    assert (element.id, element.lat, element.lon, element.weight) == ("P12-N", 52.1, 4.3, 18000.0)
    with pytest.raises(ElementListError, match=r"list.csv, row 3: the element id 'p1' is given twice"):
        read_element_csv("element_id,name\nP1,a\np1,b\n", "list.csv")
    with pytest.raises(ElementListError, match=r"row 2, column 'lat': 95 is out of range"):
        read_element_csv("element_id,name,lat,lon\nP1,a,95,4\n", "list.csv")
    with pytest.raises(ElementListError, match=r"row 2: give both lat and lon"):
        read_element_csv("element_id,name,lat\nP1,a,52\n", "list.csv")


def test_suggestions_name_their_reason_and_stand_back_when_two_elements_fit():
    elements = [Element("P1", "Pier 1 north face"), Element("P12-N", "Pier 12 north face"), Element("D1", "Deck")]
    found = from_file_name(["IMG_P12-N_2.jpg"], elements)
    assert found is not None and (found.element_id, found.source) == ("P12-N", BY_FILE_NAME)
    assert from_file_name(["P12.jpg"], elements) is None, "P1 does not match inside P12"
    here = GpsPosition(52.0, 4.0, 3.0)
    north = GpsPosition(52.00005, 4.0)  # 5.6 m north
    assert 5.4 < distance_m(here, north) < 5.8
    near = from_previous_gps(here, [PlacedPhoto("P1", north, "photo 1 of 2025-11-20")])
    assert near is not None and near.element_id == "P1" and "5.6 m from photo 1 of 2025-11-20" in near.why
    far = GpsPosition(52.0002, 4.0)
    assert from_previous_gps(here, [PlacedPhoto("P1", far, "photo 1")]) is None, "22 m: beyond both accuracies"
    two = [PlacedPhoto("P1", north, "photo 1"), PlacedPhoto("D1", here, "photo 2")]
    assert from_previous_gps(here, two) is None, "two elements within reach: the inspector decides"
    worded = from_model_text("north face of pier 12", elements)
    assert worded is not None and (worded.element_id, worded.source) == ("P12-N", BY_MODEL_TEXT)
    assert from_model_text("pier", elements) is None, "a word two names share"


@pytest.fixture(scope="module")
def changes_html(object_store, tmp_path_factory) -> str:
    store, _, env, _, _, _ = object_store
    page = tmp_path_factory.mktemp("changes") / "changes.html"
    done = cli("compare", "--store", str(store), "--inspection", "2026", "--out", str(page), env_extra=env)
    assert done.returncode == 0, done.stderr
    return page.read_text(encoding="utf-8")


def _fitting(browser, html: str, folder: Path, width: int):  # noqa: F811
    """The page opened at ``width`` px, once no table is wider than its card and the page no wider than the screen."""
    page, watch, url = open_page(browser, html, folder, width=width, height=900)
    too_wide = [table for table in table_widths(page) if table["width"] > table["card"] and not table["held"]]
    assert too_wide == [], f"tables wider than their card at {width} px"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    return page, watch, url


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_the_changes_page_shows_both_photos_side_by_side_and_fits_a_phone(browser, changes_html, tmp_path, width):  # noqa: F811
    page, watch, url = _fitting(browser, changes_html, tmp_path, width)
    first, second = (page.locator("#element-1-title ~ .pair img").nth(index).bounding_box() for index in (0, 1))
    assert first and second and first["width"] > 100
    if width == 1280:
        assert abs(first["y"] - second["y"]) < 1 and second["x"] > first["x"] + first["width"], "side by side"
    else:
        assert second["y"] >= first["y"] + first["height"], "one above the other on a phone"
    assert watch.errors == [] and watch.outside_requests(url) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    clip = {"x": 0, "y": 0, "width": width, "height": 1800}
    page.screenshot(path=str(ARTIFACTS / f"changes-{width}.png"), full_page=True, clip=clip)
    page.close()


@pytest.mark.browser
def test_the_changes_page_has_no_serious_accessibility_violation(browser, changes_html, tmp_path):  # noqa: F811
    assert serious_violations(browser, changes_html, tmp_path) == []


@pytest.mark.office
@pytest.mark.slow
def test_the_word_report_has_the_changes_worse_first_with_both_photos_on_one_page(object_store, tmp_path):
    store, _, env, _, _, _ = object_store
    pdf = tmp_path / "report.pdf"
    done = cli("compare", "--store", str(store), "--inspection", "2026", "--pdf", str(pdf), env_extra=env)
    assert done.returncode == 0, done.stderr
    sheets = pages(pdf)
    start = next(
        number for number, text in enumerate(sheets, 1) if "Changes since the inspection of 2025-11-20" in text
    )
    assert start == 2, "the changes section starts after the cover and summary, on a page of its own"
    text = " ".join(" ".join(sheet.split()) for sheet in sheets[start - 1 :])
    order = [text.index(label) for label in ("→ 4 (mediocre): worse by 2", "→ 1 (excellent): better by 2")]
    assert order == sorted(order), "the worse element first"
    pictures = image_pages(pdf)
    first = next(number for number, sheet in enumerate(sheets, 1) if "2026-11-19: photo 1, IMG_2000.jpg" in sheet)
    assert "Previous, 2025-11-20: photo 7, P10-N_2.jpg" in sheets[first - 1], "both captions on one page"
    assert pictures.count(first) >= 2, "both photos of the pair on that page"
    assert "roughly half as long again" in text, "the model's words kept, whole"
    assert "Not inspected this time" in text and "RAIL-1 Railing north side (condition" in text
    assert "no, not comparable: taken from the other bank, at dusk" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    command = [shutil.which("pdftoppm") or "pdftoppm", "-png", "-r", "70", "-singlefile", "-f", str(first)]
    subprocess.run([*command, "-l", str(first), str(pdf), str(ARTIFACTS / "word-changes")], check=True, timeout=60)


@pytest.mark.slow
def test_an_earlier_inspection_brought_from_another_store_is_compared_with(object_store, tmp_path):
    store, _, env, _, _, _ = object_store
    moved = tmp_path / "moved.sqlite"
    done = cli("inspections", "--store", str(moved), "--import", str(store), "--inspection", "2025")
    assert done.returncode == 0, done.stderr
    assert "2025): imported" in done.stderr
    again = cli("inspections", "--store", str(moved), "--import", str(store))
    assert "is in" in again.stderr and again.stderr.count("imported") == 2, "the 2019 and 2026 inspections"
    before = cli("compare", "--store", str(store), "--inspection", "2026", "--json", env_extra=env)
    after = cli("compare", "--store", str(moved), "--inspection", "2026", "--json", env_extra=env)
    assert after.returncode == 0, after.stderr
    trends = [
        [(item["element"], item["trend"]) for item in json.loads(run.stdout)["elements"]] for run in (before, after)
    ]
    assert trends[0] == trends[1] and ("P10-N", "worse") in trends[1]
    missing = cli("inspections", "--store", str(moved), "--import", str(tmp_path / "none.sqlite"))
    assert missing.returncode == 2 and "there is no result store" in missing.stderr


@pytest.mark.slow
def test_the_report_shows_the_changes_the_store_keeps_and_sends_nothing(object_store, tmp_path):
    store, service, env, _, _, _ = object_store
    compared = cli("compare", "--store", str(store), "--inspection", "2026", env_extra=env)
    assert compared.returncode == 0, compared.stderr
    sent = len(service.requests)
    page = tmp_path / "report.html"
    done = cli("report", "--store", str(store), "--inspection", "2026", "--out", str(page))
    assert done.returncode == 0, done.stderr
    assert len(service.requests) == sent, "report asks nothing: no model service is even configured"
    assert "changes since the inspection of 2025-11-20: 10 photo pairs with the model's suggestion kept" in done.stderr
    html = page.read_text(encoding="utf-8")
    section = html.split('id="changes-title"')[1]
    assert section.startswith(">Changes since the inspection of 2025-11-20</h2>")
    assert '<h3 id="element-1-title">P10-N' in section and section.index("P10-N") < section.index("P10-S")
    assert "RAIL-1 Railing north side (condition" in section
    assert "the crack has grown longer" not in section.split("<h3")[0], "the model's suggestion under its element"
    alone = cli("report", "--store", str(store), "--inspection", "2019", "--out", str(tmp_path / "old.html"))
    assert alone.returncode == 0 and "changes since" not in alone.stderr, "nothing earlier: no section"


def test_the_previous_inspection_is_found_by_the_day_as_people_type_it():
    from image_analysis.inspection import InspectedPhoto, Inspection
    from image_analysis.inspection_store import InspectionStore
    from image_analysis.reinspection import ChangeDecision, decide, decided, previous_inspection
    from image_analysis.review import SignOff
    from image_analysis.store import MemoryStore

    inspections = InspectionStore(MemoryStore())
    made = {}
    for name, typed in (("2024", "05-03-2024"), ("2025", "20/11/2025"), ("2026", "2026-01-19")):
        photos = (InspectedPhoto(f"key-{name}-1", 1, ("a.jpg",)), InspectedPhoto(f"key-{name}-2", 2, ("b.jpg",)))
        made[name] = Inspection(name, object_id="BR-10", signoff=SignOff(date=typed), photos=photos)
        inspections.save(made[name])
    found = previous_inspection(inspections, made["2026"])
    assert found is not None and found.id == "2025", "20/11/2025 is before 2026-01-19, though '2' > '0' as text"
    assert previous_inspection(inspections, made["2024"]) is None

    current = made["2026"]
    decide(inspections, current, [ChangeDecision(2, "P1-F1", "repaired")], "A. Jansen")
    assert decided(inspections_decisions := _kept_decisions(inspections, current), current) == {
        (2, "P1-F1"): ("repaired", "", "A. Jansen")
    }
    renumbered = Inspection(current.id, photos=(current.photos[1].__class__("key-2026-2", 1, ("b.jpg",)),))
    assert decided(inspections_decisions, renumbered) == {(1, "P1-F1"): ("repaired", "", "A. Jansen")}, (
        "the decision follows the photo's bytes, not its number"
    )
    assert decided(inspections_decisions, Inspection(current.id, photos=current.photos[:1])) == {}


def _kept_decisions(inspections, inspection):
    from image_analysis.reinspection import change_decisions

    return change_decisions(inspections, inspection.id)


@pytest.mark.slow
def test_the_findings_workbook_has_each_photos_element_to_choose_and_its_change(object_store, tmp_path):
    import openpyxl

    store, _, env, _, _, _ = object_store
    copy = tmp_path / "bridge.sqlite"
    shutil.copy(store, copy)
    workbook = tmp_path / "findings.xlsx"
    done = cli("report", "--store", str(copy), "--inspection", "2026", "--xlsx", str(workbook))
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(io.BytesIO(workbook.read_bytes()))  # its images read from memory when saved
    photos = book["Photos"]
    heads = [cell.value for cell in photos[1]]
    assert heads[:5] == ["Photo", "Photo file", "Element", "Previous condition", "Change"]
    rows = {row[1]: row[2:5] for row in photos.iter_rows(min_row=2, values_only=True)}
    element, previous, change = rows["IMG_2000.jpg"]
    assert element == "P10-N" and previous.replace("\xa0", " ") == "2 (good) on 2025-11-20"
    assert change.startswith("worse by 2 steps; beyond")
    assert rows["IMG_2004.jpg"][0] == "DECK-1"
    [check] = photos.data_validations.dataValidation
    assert str(check.sqref).startswith("C2:C") and check.type == "list"
    lists = book["Lists"]
    column = check.formula1.split("!")[1].split(":")[0].replace("$", "")[0]
    assert [cell.value for cell in lists[column][1:] if cell.value] == IDS, "the object's elements to choose from"
    assert photos.protection.sheet and not photos["C2"].protection.locked and photos["D2"].protection.locked

    untouched = tmp_path / "untouched.xlsx"
    shutil.copy(workbook, untouched)

    def choose(element: str) -> None:
        edited = openpyxl.load_workbook(io.BytesIO(workbook.read_bytes()))
        edited["Photos"]["C2"] = element
        edited.save(workbook)

    choose("P10-S")  # the inspector says photo 1 shows the other face
    kept = cli("report", str(workbook), "--store", str(copy))
    assert kept.returncode == 0, kept.stderr
    figures = json.loads(cli("compare", "--store", str(copy), "--inspection", "2026", "--json", env_extra=env).stdout)
    first = next(item for item in figures["photos"] if item["photo"] == 1)
    assert (first["element"], first["assigned_by"]) == ("P10-S", "inspector")
    again = cli("report", str(untouched), "--store", str(copy))  # made before the choice, its cell left as it was
    assert again.returncode == 0, again.stderr
    figures = json.loads(cli("compare", "--store", str(copy), "--inspection", "2026", "--json", env_extra=env).stdout)
    assert next(item for item in figures["photos"] if item["photo"] == 1)["element"] == "P10-S", "nothing undone"

    choose("X9")
    wrong = cli("report", str(workbook), "--store", str(copy))
    assert wrong.returncode == 2
    assert "sheet Photos, row 2, column 'Element': 'X9' is not an element of BR-10" in wrong.stderr


@pytest.mark.slow
def test_a_campaign_prepared_with_the_previous_store_carries_its_change_requests(object_store, tmp_path):
    store, service, env, signatures, _, root = object_store
    photos = sorted(str(path) for path in root.glob("IMG_*.jpg"))
    folder, target = tmp_path / "campaign", tmp_path / "portfolio.sqlite"
    prepared = cli("campaign", "prepare", *photos, "--out", str(folder), "--preset", "inspection", "--workers", "1",
                   "--previous", str(store), "--object", "BR-10", "--date", "19-11-2026")  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr
    assert "photos assigned to the elements of BR-10: 9 by GPS of the previous photo" in prepared.stderr
    [shard] = folder.glob("requests-changes-*.jsonl")
    lines = shard.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 9 and "9 change requests against the inspection " in prepared.stderr
    for line in map(json.loads, lines):
        content = line["body"]["messages"][1]["content"]
        urls = [part["image_url"]["url"] for part in content if part["type"] == "image_url"]
        before, now = (min(signatures.values(), key=lambda item: _apart(item[1], _sent(url)))[0] for url in urls)
        assert before.split()[0] == now.split()[0] and (before.split()[1], now.split()[1]) == ("2025", "2026")
        assert "(2025-11-20)" in content[1]["text"] and "(2026-11-19)" in content[3]["text"]

    sent = len(service.requests)
    ran = cli("campaign", "run", str(folder), "--concurrency", "2", env_extra=env)
    assert ran.returncode == 0, ran.stderr
    assert len(service.requests) - sent == 19, "10 photos and 9 change requests, through the same run"
    again = cli("campaign", "prepare", *photos, "--out", str(folder), "--preset", "inspection", "--workers", "1",
                "--previous", str(store), "--object", "BR-10", "--date", "2026-11-19", env_extra=env)  # fmt: skip
    assert again.returncode == 0 and list(folder.glob("requests-changes-*.jsonl")) == [shard]
    sent = len(service.requests)
    assert cli("campaign", "run", str(folder), env_extra=env).returncode == 0
    assert len(service.requests) == sent, "prepared again the same: every answer is kept, nothing sent"
    wrong = cli("campaign", "prepare", *photos, "--out", str(folder), "--preset", "inspection",
                "--previous", str(store), "--object", "BR-10", "--date", "30-02-2026")  # fmt: skip
    assert wrong.returncode == 2 and "--date '30-02-2026' is not a date" in wrong.stderr

    results = sorted(str(path) for path in folder.glob("results-*.jsonl"))
    imported = cli("campaign", "import", *results, "--manifest", str(folder), "--store", str(target))
    assert imported.returncode == 0, imported.stderr
    assert "19 imported" in imported.stdout and "brought in from" in imported.stderr

    sent = len(service.requests)
    report = tmp_path / "campaign.html"
    workbook = tmp_path / "campaign.xlsx"
    done = cli("campaign", "report", "--manifest", str(folder), "--store", str(target), "--out", str(report),
               "--xlsx", str(workbook))  # fmt: skip
    assert done.returncode == 0, done.stderr
    import openpyxl

    sheet = openpyxl.load_workbook(workbook, read_only=True)["Photos"]
    elements = {row[1]: row[2] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert elements["IMG_2000.jpg"] == "P10-N" and sum(1 for value in elements.values() if value) == 9
    assert "changes since the inspection of 2025-11-20: 9 photo pairs compared" in done.stderr
    dated = cli("campaign", "report", "--manifest", str(folder), "--store", str(target), "--out", str(report),
                "--date", "2026-11-21")  # fmt: skip
    assert "9 photo pairs compared" in dated.stderr, "the day signed is not the day planned: the answers still found"
    html = report.read_text(encoding="utf-8")
    assert "Changes since the inspection of 2025-11-20" in html and "RAIL-1 Railing north side (condition" in html
    compared = cli("compare", "--store", str(target), "--inspection", "campaign", "--json", env_extra=env)
    assert compared.returncode == 0, compared.stderr
    assert len(service.requests) == sent, "every answer the campaign got is where compare looks: none sent again"
    figures = json.loads(compared.stdout)
    assert sum(1 for answer in figures["answers"] if answer["from_store"]) == 9
    trends = dict((item["element"], item["trend"]) for item in figures["elements"])
    assert trends["DECK-1"] == "worse" and trends["RAIL-1"] == "not inspected", "a critical crack where salt was"


def test_a_changes_csv_and_an_element_list_are_read_as_excel_saves_them_where_the_decimal_comma_is():
    from image_analysis.formats.element_workbook import read_element_list
    from image_analysis.reports.changes import ChangesFileError, read_changes_csv

    saved = "photo;ref;decided;note\r\n1;P7-F1;Repaired;hersteld, nieuwe mortel é\r\n2;P8-F1;;\r\n".encode("cp1252")
    [decision] = read_changes_csv(saved, "changes.csv")
    assert (decision.photo, decision.ref, decision.change, decision.note) == (
        1,
        "P7-F1",
        "repaired",
        "hersteld, nieuwe mortel é",
    )
    with pytest.raises(ChangesFileError, match=r"changes.csv, row 2, column 'decided': 'fixed' is not one of"):
        read_changes_csv(b"\xef\xbb\xbfphoto,ref,decided\n1,P7-F1,fixed\n", "changes.csv")
    [element] = read_element_list("element_id;name;lat;lon\r\nP1;Pijler één;52,1;4,3\r\n".encode("cp1252"), "l.csv")
    assert (element.name, element.lat) == ("Pijler één", 52.1)


def test_each_source_of_decisions_says_only_what_it_says_anew_and_a_row_follows_its_photos_file():
    from image_analysis.inspection import InspectedPhoto, Inspection
    from image_analysis.inspection_store import InspectionStore
    from image_analysis.reinspection import ChangeDecision, change_decisions, decide, decided
    from image_analysis.store import MemoryStore

    inspections = InspectionStore(MemoryStore())
    photos = tuple(InspectedPhoto(f"key-{n}", n, (f"IMG_{n}.jpg",)) for n in (1, 2, 3, 4))
    current = Inspection("2026", object_id="BR-10", photos=photos)

    def state(inspection=current):
        return {key: value[0] for key, value in decided(change_decisions(inspections, "2026"), inspection).items()}

    def row(photo, change, file=""):
        return ChangeDecision(photo, "P1-F1", change, file=file)

    decide(inspections, current, [row(1, "worse")], "A", "table")
    decide(inspections, current, [row(1, "unchanged")], "A", "changes CSV")
    decide(inspections, current, [row(1, "worse")], "A", "table")  # the table left as it was
    assert state() == {(1, "P1-F1"): "unchanged"}, "a table left as it was undoes nothing the CSV said since"
    decide(inspections, current, [row(1, "unchanged")], "A", "table")  # the table filled again: what it says now
    decide(inspections, current, [row(1, "worse")], "A", "table")  # and then set back
    assert state() == {(1, "P1-F1"): "worse"}, "a row set back to an earlier word is a decision again"

    decide(inspections, current, [row(2, "repaired")], "A", "changes CSV")  # another file: other rows
    decide(inspections, current, [row(1, "unchanged")], "A", "changes CSV")  # the first file again
    assert state()[(1, "P1-F1")] == "worse", "a file read again decides nothing it said before"

    renumbered = Inspection("2026", object_id="BR-10", photos=(photos[0], *(
        InspectedPhoto(photo.key, photo.number - 1, photo.names) for photo in photos[2:]
    )))  # fmt: skip
    decide(inspections, renumbered, [row(3, "better", "IMG_3.jpg")], "A", "changes CSV")
    assert state(renumbered)[(2, "P1-F1")] == "better", "the row's file says which photo it meant"
    assert decide(inspections, renumbered, [row(2, "worse", "IMG_2.jpg")], "A", "table") == [], (
        "a photo no longer in the inspection decides nothing"
    )


@pytest.fixture(scope="module")
def report_html(object_store, tmp_path_factory) -> str:
    store, _, env, _, _, _ = object_store
    assert cli("compare", "--store", str(store), "--inspection", "2026", env_extra=env).returncode == 0  # answers kept
    page = tmp_path_factory.mktemp("report") / "report.html"
    done = cli("report", "--store", str(store), "--inspection", "2026", "--out", str(page))
    assert done.returncode == 0, done.stderr
    return page.read_text(encoding="utf-8")


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_the_reports_changes_section_fits_the_page_as_the_changes_page_does(browser, report_html, tmp_path, width):  # noqa: F811
    page, watch, url = _fitting(browser, report_html, tmp_path, width)
    intro = page.locator(".changes-intro").bounding_box()
    title = page.locator("#changes-title").bounding_box()
    assert intro and title and title["x"] > intro["x"], "the section's title inside its card, not on the page's edge"
    assert page.locator(".changes-section .pair img").count() >= 2
    assert watch.errors == [] and watch.outside_requests(url) == []
    page.close()
