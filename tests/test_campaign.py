"""``campaign prepare``: a folder of photos and a PDF set prepared in worker processes into request shards that the
batch engines take, line by line valid for the ``openai`` package's request types and for mistral-common, with a
manifest of every input; killed and run again, it resumes and every request is in the shards exactly once."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import docx
import pytest
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
from pydantic import TypeAdapter
from werkzeug import Response

from image_analysis import analysis, campaign
from image_analysis.errors import ServiceUnreachableError
from image_analysis.formats.findings_workbook import read_review_workbook
from image_analysis.presets import AnalysisRequest, Preset
from image_analysis.progress import Progress
from image_analysis.store import SqliteStore
from scripts.make_drawing_set import make_set
from tests.conftest import REPO, completion_body, shared_image_path
from tests.helpers import cli
from tests.long_replies import LONG_REPLIES
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


@pytest.mark.process
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
        assert entry["record"] == analysis.record_key(upload, request, manifest["settings"]["model"])
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", entry["custom_id"]), "as the strictest engines take it"
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


@pytest.mark.process
def test_the_mistral_format_carries_the_body_alone(survey, tmp_path):
    out = tmp_path / "mistral"
    done = cli("campaign", "prepare", str(survey / "day 1"), "--out", str(out), "--format", "mistral")
    assert done.returncode == 0, done.stderr
    for line in lines(out):
        assert set(line) == {"custom_id", "body"}
        ChatCompletionRequest.from_openai(messages=line["body"]["messages"], model=line["body"]["model"])


class KilledAfterFirstShard(Progress):
    def shard(self, line: str) -> None:
        raise KeyboardInterrupt


@pytest.mark.process
def test_killed_and_run_again_every_request_is_in_the_shards_exactly_once(survey, tmp_path, monkeypatch):
    out = tmp_path / "resumed"
    settings = campaign.Settings(AnalysisRequest(preset=Preset.INSPECTION), "test-model")
    monkeypatch.setattr("image_analysis.campaign.prepare.MAX_LINES", 3)
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


@pytest.mark.process
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


@pytest.mark.process
def test_campaign_run_killed_half_way_and_run_again_sends_every_request_exactly_once(
    survey, tmp_path, threaded_model_service
):
    out = tmp_path / "campaign"
    settings = campaign.Settings(AnalysisRequest(preset=Preset.INSPECTION), "test-model")
    campaign.prepare_campaign([survey / "day 2"], out, settings, workers=1)
    prepared = lines(out)
    assert len(prepared) == 3

    def slow(request):
        time.sleep(0.5)
        return Response(json.dumps(completion_body('{"summary": "A wall."}')), content_type="application/json")

    threaded_model_service.handle(slow)
    env = {**os.environ, "OPENAI_BASE_URL": threaded_model_service.base_url, "VISION_MAX_RETRIES": "0"}
    command = [sys.executable, "-m", "image_analysis", "campaign", "run", str(out), "--concurrency", "1"]
    running = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = out / "results-0001.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not results.exists() or not results.read_text().count("\n")):
        time.sleep(0.05)
    running.send_signal(signal.SIGTERM)  # as a scheduler stops a job
    _stdout, stderr = running.communicate(timeout=60)
    assert running.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("image_analysis: error: interrupted: every answer received")
    first = results.read_text().splitlines()
    assert 1 <= len(first) < 3, "stopped half-way, with the requests in flight answered"
    assert len(threaded_model_service.requests) == len(first)

    again = cli("campaign", "run", str(out), env_extra={"OPENAI_BASE_URL": threaded_model_service.base_url})
    assert again.returncode == 0, again.stderr
    assert f"{3 - len(first)} answered, 0 with an error, {len(first)} answered before" in again.stdout
    answers = [json.loads(line) for line in results.read_text().splitlines()]
    assert sorted(answer["custom_id"] for answer in answers) == sorted(line["custom_id"] for line in prepared)
    assert all(answer["response"]["status_code"] == 200 and answer["error"] is None for answer in answers)
    sent = [_images(request) for request in threaded_model_service.requests]
    assert len(sent) == 3 and sorted(sent) == sorted(_images(line["body"]) for line in prepared), "each once"


def _images(body: dict) -> str:
    return "".join(part["image_url"]["url"][-64:] for part in body["messages"][1]["content"] if "image_url" in part)


def test_campaign_run_keeps_an_error_in_its_place(survey, tmp_path, threaded_model_service):
    out = tmp_path / "campaign"
    settings = campaign.Settings(AnalysisRequest(), "test-model")
    campaign.prepare_campaign([survey / "day 1"], out, settings, workers=1)
    threaded_model_service.fail(400, {"error": {"message": "image too small"}})
    done = cli("campaign", "run", str(out), env_extra={"OPENAI_BASE_URL": threaded_model_service.base_url})
    assert done.returncode == 3, done.stderr
    answers = [json.loads(line) for line in (out / "results-0001.jsonl").read_text().splitlines()]
    assert len(answers) == 2 and all(answer["response"] is None for answer in answers)
    assert all("image too small" in answer["error"]["message"] for answer in answers)


def test_import_keeps_every_answer_in_the_store_as_a_live_run_would_and_twice_changes_nothing(survey, tmp_path):
    """Answers in the engines' output format (as vLLM's run_batch writes them): a reply in a fence with prose
    around it is salvaged as a live one, an error keeps its message, a line the manifest does not know is refused."""
    out = tmp_path / "campaign"
    settings = campaign.Settings(AnalysisRequest(preset=Preset.INSPECTION), "test-model")
    campaign.prepare_campaign([survey / "day 2"], out, settings, workers=1)
    prepared = lines(out)
    reply = "Here is the assessment:\n```json\n" + json.dumps(LONG_REPLIES["crack_concrete_ozgenel_a.png"]) + "\n```"
    answers = [
        campaign.result_line(prepared[0]["custom_id"], completion_body(reply, model="test-model"), None),
        campaign.result_line(prepared[1]["custom_id"], None, ServiceUnreachableError("The service timed out.")),
        campaign.result_line(prepared[2]["custom_id"], completion_body('{"element": "deck"}'), None),
    ]
    (out / "results-0001.jsonl").write_text("\n".join(answers) + "\n")
    stray = tmp_path / "other.jsonl"
    stray.write_text(campaign.result_line("result-not-ours", completion_body("{}"), None) + "\nnot json\n")
    store = tmp_path / "results.sqlite"

    done = cli("campaign", "import", str(out / "results-0001.jsonl"), str(stray), "--store", str(store))
    assert done.returncode == 2, done.stderr
    assert "2 imported, 1 errors kept, 0 already in the store, 2 refused" in done.stdout
    assert f"refused other.jsonl:1: custom_id 'result-not-ours' is not in {out / campaign.MANIFEST}" in done.stderr
    assert "refused other.jsonl:2: not a JSON line" in done.stderr

    kept = SqliteStore(store)
    records = {entry.custom_id: entry.record for entry in campaign.Manifest.read(out).entries}
    result = analysis.Analysis.from_json(kept.get(records[prepared[0]["custom_id"]]))
    assert result.description.text == reply  # the model's words as they came
    photo = next(e for e in campaign.Manifest.read(out).entries if e.custom_id == prepared[0]["custom_id"])
    again_prepared = analysis.prepare(analysis.Upload.from_path(Path(photo.path)), settings.request)
    assert result.preparation == again_prepared, "exactly what was sent, with the facts shown beside it"
    assert result.parsed.findings.element == "concrete retaining wall, exposed face"
    assert kept.get(records[prepared[1]["custom_id"]]) is None, "a failure never stands in for a result"
    assert kept.get(campaign.ERROR_KEY + records[prepared[1]["custom_id"]])["error"] == "The service timed out."
    before = {key: kept.get(key) for key in kept.keys()}

    again = cli("campaign", "import", str(out / "results-0001.jsonl"), "--store", str(store))
    assert again.returncode == 0, again.stderr
    assert "0 imported, 0 errors kept, 3 already in the store, 0 refused" in again.stdout
    assert {key: kept.get(key) for key in kept.keys()} == before


class FakeBatchServer:
    """A provider's files and batches API on 127.0.0.1 (as OpenAI, Azure and LiteLLM offer it): a batch is
    ``in_progress`` when first looked at and ``completed`` after, its answers in an output file and its failures in an
    error file, each line in the batch output format."""

    def __init__(self, server, reply: str, failing: int = 1) -> None:
        self.server, self.reply, self.failing = server, reply, failing
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.looked: dict[str, int] = {}
        server.expect_request(re.compile(r"/v1/.*")).respond_with_handler(self.handle)

    @property
    def base_url(self) -> str:
        return self.server.url_for("/v1")

    def handle(self, request):
        path = request.path.removeprefix("/v1")
        if request.method == "POST" and path == "/files":
            upload = request.files["file"]
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = upload.read()
            return self._json(
                {
                    "id": file_id,
                    "object": "file",
                    "bytes": len(self.files[file_id]),
                    "created_at": 1,
                    "filename": upload.filename,
                    "purpose": "batch",
                    "status": "processed",
                }
            )
        if request.method == "POST" and path == "/batches":
            asked = request.get_json()
            batch_id = f"batch_{len(self.batches) + 1}"
            lines = [json.loads(line) for line in self.files[asked["input_file_id"]].splitlines()]
            answers = [self._answer(line) for line in lines[self.failing :]]
            failures = [
                {
                    "id": "batch_req_e",
                    "custom_id": line["custom_id"],
                    "response": None,
                    "error": {"code": "invalid_request", "message": "image could not be decoded"},
                }
                for line in lines[: self.failing]
            ]
            self.files[f"{batch_id}-out"] = "".join(json.dumps(a) + "\n" for a in answers).encode()
            self.files[f"{batch_id}-err"] = "".join(json.dumps(f) + "\n" for f in failures).encode()
            self.batches[batch_id] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": asked["endpoint"],
                "created_at": 1,
                "input_file_id": asked["input_file_id"],
                "completion_window": asked["completion_window"],
                "status": "validating",
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            }
            return self._json(self.batches[batch_id])
        if request.method == "GET" and path.startswith("/batches/"):
            batch = self.batches[path.rsplit("/", 1)[1]]
            self.looked[batch["id"]] = self.looked.get(batch["id"], 0) + 1
            if self.looked[batch["id"]] == 1:
                batch.update(status="in_progress")
            else:
                total = batch["request_counts"]["total"]
                batch.update(
                    status="completed",
                    output_file_id=f"{batch['id']}-out",
                    error_file_id=f"{batch['id']}-err",
                    request_counts={"total": total, "completed": total - self.failing, "failed": self.failing},
                )
            return self._json(batch)
        if request.method == "GET" and path.startswith("/files/") and path.endswith("/content"):
            return Response(self.files[path.split("/")[2]], content_type="application/octet-stream")
        return Response("not found", status=404)

    def _answer(self, line: dict) -> dict:
        body = completion_body(self.reply, model=line["body"]["model"])
        return {
            "id": "batch_req_1",
            "custom_id": line["custom_id"],
            "response": {"status_code": 200, "request_id": "req_1", "body": body},
            "error": None,
        }

    @staticmethod
    def _json(value: dict) -> Response:
        return Response(json.dumps(value), content_type="application/json")


def test_the_whole_cycle_through_a_batch_api_prepare_submit_status_fetch_import_report(survey, tmp_path, httpserver):
    batch_api = FakeBatchServer(
        httpserver, json.dumps(LONG_REPLIES["crack_concrete_ozgenel_a.png"])
    )  # a defect rated 3
    env = {"OPENAI_BASE_URL": batch_api.base_url, "OPENAI_API_KEY": "sk-test", "VISION_MAX_RETRIES": "0"}
    out, store = tmp_path / "campaign", tmp_path / "results.sqlite"
    prepared = cli(  # one worker, in this process: the batch API is the point here, not the pool
        "campaign", "prepare", str(survey / "day 2"), "--out", str(out), "--preset", "inspection", "--workers", "1"
    )
    assert prepared.returncode == 0, prepared.stderr

    submitted = cli("campaign", "submit", str(out), env_extra=env)
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout.splitlines() == ["requests-0001.jsonl: validating, 0 of 3 done"]
    assert batch_api.files["file-1"] == (out / "requests-0001.jsonl").read_bytes()
    again = cli("campaign", "submit", str(out), env_extra=env)
    assert again.returncode == 0 and len(batch_api.batches) == 1, "a shard is submitted once"

    assert cli("campaign", "status", str(out), env_extra=env).stdout.startswith("requests-0001.jsonl: in_progress")
    fetched = cli("campaign", "fetch", str(out), env_extra=env)
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.strip() == "requests-0001.jsonl: completed, 2 of 3 done, 1 failed, fetched"
    answers = [json.loads(line) for line in (out / "results-0001.jsonl").read_text().splitlines()]
    assert sorted(answer["custom_id"] for answer in answers) == sorted(line["custom_id"] for line in lines(out))

    imported = cli("campaign", "import", str(out / "results-0001.jsonl"), "--store", str(store))
    assert imported.returncode == 0, imported.stderr
    assert "2 imported, 1 errors kept, 0 already in the store, 0 refused" in imported.stdout
    kept = SqliteStore(store)
    records = {entry.custom_id: entry.record for entry in campaign.Manifest.read(out).entries}
    described = [analysis.Analysis.from_json(kept.get(records[a["custom_id"]])) for a in answers if a["error"] is None]
    assert all(result.parsed.findings.element for result in described)

    book, word = tmp_path / "campaign.xlsx", tmp_path / "campaign.docx"
    reported = cli(
        "campaign", "report", "--store", str(store), "--manifest", str(out), "--photos-from", "3",
        "--xlsx", str(book), "--docx", str(word),
    )  # fmt: skip
    assert reported.returncode == 0, reported.stderr
    assert "3 photos; 2 with a finding scored 3\u00a0(fair, sufficient) or worse get an entry" in reported.stderr
    workbook = read_review_workbook(book.read_bytes())
    assert [photo.error for photo in workbook.photos].count("") == 2, "the failed request keeps its message"
    text = "\n".join(paragraph.text for paragraph in docx.Document(str(word)).paragraphs)
    assert "3 photos · " in text and "1 without a description" in text


def test_a_server_without_a_batch_api_says_what_to_use_instead(survey, tmp_path, httpserver):
    httpserver.expect_request("/v1/files", method="POST").respond_with_data("Not Found", status=404)
    out = tmp_path / "campaign"
    assert cli("campaign", "prepare", str(survey / "day 1"), "--out", str(out), "--workers", "1").returncode == 0
    env = {"OPENAI_BASE_URL": httpserver.url_for("/v1"), "VISION_MAX_RETRIES": "0"}
    done = cli("campaign", "submit", str(out), env_extra=env)
    assert done.returncode == 2
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1 and "offers no batch API (HTTP 404)" in line
    assert f"campaign run {out}" in line and "vllm.entrypoints.openai.run_batch" in line


def test_a_file_refused_after_the_last_shard_is_in_the_manifest(tmp_path):
    folder = tmp_path / "survey"
    folder.mkdir()
    shutil.copy(shared_image_path("webp_photo_flower.webp"), folder / "a.webp")
    shutil.copy(shared_image_path("corrupt_truncated_jpeg.jpg"), folder / "z.jpg")  # walked last
    out = tmp_path / "campaign"
    campaign.prepare_campaign([folder], out, campaign.Settings(AnalysisRequest(), "test-model"), workers=1)
    manifest = campaign.Manifest.read(out)
    assert [(Path(e.path).name, bool(e.refused)) for e in manifest.entries] == [("a.webp", False), ("z.jpg", True)]


@pytest.mark.process
def test_the_lines_ask_what_a_live_call_would_ask(survey, tmp_path):
    """``VISION_MAX_TOKENS`` and ``VISION_STRUCTURED`` decide a batch line as they decide a live request."""
    out = tmp_path / "campaign"
    env = {"VISION_MAX_TOKENS": "900", "VISION_STRUCTURED": "off"}
    done = cli("campaign", "prepare", str(survey / "day 1"), "--out", str(out), "--preset", "inspection", env_extra=env)
    assert done.returncode == 0, done.stderr
    bodies = [line["body"] for line in lines(out)]
    assert bodies and all(body["max_tokens"] == 900 and "response_format" not in body for body in bodies)
    bad = cli("campaign", "prepare", str(survey), "--out", str(tmp_path / "x"), env_extra={"VISION_STRUCTURED": "x"})
    assert bad.returncode == 3 and "VISION_STRUCTURED must be one of" in bad.stderr
