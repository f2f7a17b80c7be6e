"""``campaign prepare``: a folder of photos and a PDF set prepared in worker processes into request shards that the
batch engines take, line by line valid for the ``openai`` package's request types and for mistral-common, with a
manifest of every input; killed and run again, it resumes and every request is in the shards exactly once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
from pydantic import TypeAdapter

from image_analysis import analysis, campaign
from image_analysis.presets import AnalysisRequest, Preset
from scripts.make_drawing_set import make_set
from tests.conftest import shared_image_path
from tests.helpers import cli
from tests.scenarios import SHEETS

PHOTOS = [
    "building_arena_stage_highsmith.jpg",
    "heic_iphone13pro_gps_pug.heic",
    "exif_orientation_6_portrait.jpg",
    "webp_photo_flower.webp",
    "crack_concrete_ozgenel_a.png",
]
OPENAI_BODY = TypeAdapter(CompletionCreateParamsNonStreaming)


@pytest.fixture
def survey(tmp_path) -> Path:
    """A survey folder as a drone or an inspector leaves it: photos in subfolders, a PDF set, a damaged file, and
    files that are not images."""
    folder = tmp_path / "survey"
    (folder / "day 1").mkdir(parents=True)
    (folder / "day 2" / "deck").mkdir(parents=True)
    for index, name in enumerate(PHOTOS):
        shutil.copy(shared_image_path(name), folder / ("day 1" if index % 2 else "day 2/deck") / name)
    shutil.copy(shared_image_path("corrupt_truncated_jpeg.jpg"), folder / "day 1" / "broken.jpg")
    make_set(folder / "drawings.pdf", SHEETS[:2])
    (folder / "notes.txt").write_text("not an image")
    (folder / ".DS_Store").write_bytes(b"\0\0")
    return folder


def lines(folder: Path) -> list[dict]:
    return [json.loads(line) for shard in sorted(folder.glob("requests-*.jsonl")) for line in shard.open()]


def valid_for_openai(body: dict) -> None:
    """The ``openai`` package's request type, its lazily validated parts included."""
    validated = OPENAI_BODY.validate_python(body)
    for message in validated["messages"]:
        if not isinstance(message.get("content"), str):
            list(message["content"])


def test_prepare_writes_shards_every_engine_takes_and_a_manifest_of_every_input(survey, tmp_path):
    out = tmp_path / "campaign"
    done = cli("campaign", "prepare", str(survey), "--out", str(out), "--preset", "inspection", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "7 requests in 1 new shard, 1 refused" in done.stdout  # five photos and two sheets
    assert done.stderr.startswith("requests-0001.jsonl: 7 requests, ") and len(done.stderr.splitlines()) == 1

    manifest = json.loads((out / campaign.MANIFEST).read_text())
    entries = manifest["entries"]
    assert sorted(Path(entry["path"]).name for entry in entries) == sorted(
        [*PHOTOS, "broken.jpg", "drawings.pdf", "drawings.pdf"]
    )
    refused = [entry for entry in entries if entry["refused"]]
    assert [Path(entry["path"]).name for entry in refused] == ["broken.jpg"]
    assert "its data ends early" in refused[0]["refused"] and refused[0]["custom_id"] is None
    assert sorted(entry["page"] for entry in entries if entry["path"].endswith(".pdf")) == [1, 2]
    assert manifest["shards"][0]["requests"] == 7

    requests = lines(out)
    by_id = {line["custom_id"]: line for line in requests}
    assert len(by_id) == len(requests) == 7
    request = AnalysisRequest(preset=Preset.INSPECTION)
    for entry in entries:
        if entry["refused"]:
            continue
        upload = analysis.Upload.from_path(Path(entry["path"]))
        if entry["page"]:
            upload = analysis.sheet_uploads(upload, [entry["page"]])[0]
        assert entry["custom_id"] == analysis.record_key(upload, request, manifest["settings"]["model"])
        assert entry["shard"] == "requests-0001.jsonl" and entry["custom_id"] in by_id
    for line in requests:
        assert (line["method"], line["url"]) == ("POST", "/v1/chat/completions")
        body = line["body"]
        valid_for_openai(body)
        parsed = ChatCompletionRequest.from_openai(messages=body["messages"], model=body["model"])
        kinds = [type(chunk).__name__ for chunk in parsed.messages[-1].content]
        assert "ImageURLChunk" in kinds, kinds
        assert body["response_format"]["type"] == "json_schema"
        assert all(
            part["image_url"]["url"].startswith(("data:image/jpeg;base64,", "data:image/png;base64,"))
            for part in body["messages"][1]["content"]
            if part["type"] == "image_url"
        )


def test_the_mistral_format_carries_the_body_alone(survey, tmp_path):
    out = tmp_path / "mistral"
    done = cli("campaign", "prepare", str(survey / "day 1"), "--out", str(out), "--format", "mistral")
    assert done.returncode == 0, done.stderr
    for line in lines(out):
        assert set(line) == {"custom_id", "body"}
        ChatCompletionRequest.from_openai(messages=line["body"]["messages"], model=line["body"]["model"])


class KilledAfterFirstShard(campaign.Progress):
    def shard(self, line: str) -> None:
        raise KeyboardInterrupt


def test_killed_and_run_again_every_request_is_in_the_shards_exactly_once(survey, tmp_path, monkeypatch):
    out = tmp_path / "resumed"
    settings = campaign.Settings(AnalysisRequest(preset=Preset.INSPECTION), "test-model")
    monkeypatch.setattr(campaign, "MAX_LINES", 3)
    with pytest.raises(KeyboardInterrupt):
        campaign.prepare_campaign([survey], out, settings, workers=1, progress=KilledAfterFirstShard())
    first = lines(out)
    assert len(first) == 3 and [path.name for path in out.glob("requests-*.jsonl")] == ["requests-0001.jsonl"]

    summary = campaign.prepare_campaign([survey], out, settings, workers=2)
    assert not list(out.glob("*.part"))
    everything = lines(out)
    ids = [line["custom_id"] for line in everything]
    assert len(ids) == len(set(ids)) == 7 and everything[:3] == first
    # the first shard held the PDF's two sheets and a photo (the damaged file was refused beside them)
    assert summary.skipped == 3 and summary.shards == ("requests-0002.jsonl", "requests-0003.jsonl")
    manifest = campaign.Manifest.read(out)
    assert manifest is not None and sum(shard["requests"] for shard in manifest.shards) == 7
    assert {entry.custom_id for entry in manifest.entries if entry.custom_id} == set(ids)

    again = campaign.prepare_campaign([survey], out, settings, workers=1)
    assert (again.requests, again.shards) == (0, ()) and lines(out) == everything


def test_a_folder_prepared_otherwise_is_refused_in_one_line(survey, tmp_path):
    out = tmp_path / "campaign"
    assert cli("campaign", "prepare", str(survey / "day 1"), "--out", str(out)).returncode == 0
    done = cli("campaign", "prepare", str(survey / "day 1"), "--out", str(out), "--preset", "drawing")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"image_analysis: error: '{out}' holds a campaign prepared with other settings (request.preset 'general', "
        "not 'drawing'); prepare into a new folder, or ask for the same."
    ]
    missing = cli("campaign", "prepare", str(tmp_path / "nowhere"), "--out", str(out))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
