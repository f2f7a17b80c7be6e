"""The Ray engine of campaigns, offline in Ray's local mode (one instance for the module): the preparation, stopped
after its first shard and run again, the same shards, facts and manifest, byte for byte, as the local engine's in one
go (every request in the shards exactly once); the shards answered by Ray's actors against the local fake model
server, each request once and a failure an error line; the vLLM stage's configuration and rows checked without a
GPU, and run end to end where there is one (``gpu``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from werkzeug import Response

from image_analysis import campaign, model
from image_analysis.campaign import ray_engine
from image_analysis.presets import AnalysisRequest, Preset
from image_analysis.store import SqliteStore
from tests.conftest import completion_body
from tests.helpers import cli
from tests.test_campaign import KilledAfterFirstShard, lines, survey  # noqa: F401

pytest.importorskip("ray", reason="the Ray engine's extra: pip install -r requirements-ray.txt")
pytestmark = [pytest.mark.slow, pytest.mark.process]  # Ray starts processes of its own

SETTINGS = campaign.Settings(AnalysisRequest(preset=Preset.INSPECTION), "test-model")


@pytest.fixture(scope="module")
def ray_local():
    """Ray in local mode, two CPUs, started once for the module (about 7 s) and stopped after."""
    with ray_engine.session(None, 2):
        yield


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def test_ray_prepares_what_the_local_engine_does_byte_for_byte_and_resumes_after_its_last_shard(
    survey,  # noqa: F811
    tmp_path,
    monkeypatch,
    ray_local,
):
    monkeypatch.setattr("image_analysis.campaign.prepare.MAX_LINES", 2)
    inputs = [survey / "day 1", survey / "drawings.pdf"]  # two photos, a damaged file, a set of two sheets
    out, whole = tmp_path / "resumed", tmp_path / "whole"
    with pytest.raises(KeyboardInterrupt):
        campaign.prepare_campaign(  # one actor here, two below: the order kept either way
            inputs, out, SETTINGS, workers=1, progress=KilledAfterFirstShard(), engine=ray_engine.prepared
        )
    first = lines(out)
    assert len(first) == 2 and [path.name for path in out.glob("requests-*.jsonl")] == ["requests-0001.jsonl"]
    summary = campaign.prepare_campaign(inputs, out, SETTINGS, workers=2, engine=ray_engine.prepared)
    assert summary.skipped == 3 and summary.shards == ("requests-0002.jsonl",), "the set's sheets in one shard"
    ids = [line["custom_id"] for line in lines(out)]
    assert len(ids) == len(set(ids)) == 4 and lines(out)[:2] == first
    campaign.prepare_campaign(inputs, whole, SETTINGS, workers=1)  # the local engine, in one go (in this process)
    made, expected = _files(out), _files(whole)
    assert list(made) == list(expected) and len(made) == 5, "two shards, their facts and the manifest"
    assert [name for name in made if made[name] != expected[name]] == [], "byte for byte the local engine's"


def test_ray_answers_each_request_once_and_a_failed_one_is_an_error_line(
    survey,  # noqa: F811
    tmp_path,
    threaded_model_service,
    ray_local,
):
    out = tmp_path / "campaign"
    campaign.prepare_campaign([survey / "day 2"], out, SETTINGS, workers=1)
    prepared = lines(out)
    failing = prepared[0]["body"]["messages"][1]["content"][-1]["image_url"]["url"][-64:]

    def answer(request):
        content = request.get_json()["messages"][1]["content"]
        if content[-1]["image_url"]["url"][-64:] == failing:
            return Response(json.dumps({"error": {"message": "image too small"}}), 400, content_type="application/json")
        return Response(json.dumps(completion_body('{"summary": "A wall."}')), content_type="application/json")

    threaded_model_service.handle(answer)
    url = threaded_model_service.base_url
    env = {"OPENAI_BASE_URL": url, "VISION_MAX_RETRIES": "0"}
    command = ("campaign", "run", str(out), "--engine", "ray", "--endpoint", url, "--qps", "50", "--concurrency", "1")
    done = cli(*command, env_extra=env)  # in this process: the module's Ray instance is used as it is
    assert done.returncode == 3 and "2 answered, 1 with an error" in done.stdout, "an error line, not a failed job"
    answers = [json.loads(line) for line in (out / "results-0001.jsonl").read_text().splitlines()]
    assert sorted(answer["custom_id"] for answer in answers) == sorted(line["custom_id"] for line in prepared)
    failed = next(answer for answer in answers if answer["error"])
    assert failed["custom_id"] == prepared[0]["custom_id"] and "image too small" in failed["error"]["message"]
    assert len(threaded_model_service.requests) == 3, "each request sent once"

    again = cli(*command, env_extra=env)
    assert (
        "0 answered, 0 with an error, 3 answered before" in again.stdout and len(threaded_model_service.requests) == 3
    )
    store = SqliteStore(tmp_path / "store.sqlite")
    imported = campaign.import_results([out / "results-0001.jsonl"], store, out)
    assert (imported.imported, imported.errors, imported.refused) == (2, 1, ()), "as any engine's output"


def test_the_vllm_stage_is_configured_from_the_campaign_and_its_rows_are_the_lines_bodies(survey, tmp_path):  # noqa: F811
    out = tmp_path / "campaign"
    drawings = campaign.Settings(AnalysisRequest(preset=Preset.DRAWING), "test-model")
    campaign.prepare_campaign([survey / "drawings.pdf"], out, drawings, workers=1)
    images = campaign.images_per_request(out)
    assert images > 1, "a drawing's overview and its tiles in one request"
    local = cli("campaign", "run", str(out), "--vllm", "/models/ministral")
    assert local.returncode == 2 and "--endpoint, --qps and --vllm go with --engine ray" in local.stderr
    mixed = cli("campaign", "run", str(out), "--engine", "ray", "--vllm", "/models/ministral", "--qps", "5")
    assert mixed.returncode == 2 and "--endpoint and --qps go with servers" in mixed.stderr
    config = ray_engine.vllm_config("/models/ministral", images, tensor_parallel=2, concurrency=3)
    assert config.model_source == "/models/ministral" and config.should_continue_on_error
    assert config.engine_kwargs["tensor_parallel_size"] == 2
    assert config.engine_kwargs["limit_mm_per_prompt"] == {"image": images}

    request = lines(out)[0]
    row = ray_engine.vllm_row(request)
    assert row["messages"] == request["body"]["messages"] and row["custom_id"] == request["custom_id"]
    assert "model" not in row, "a row's model other than the engine's is taken for a LoRA adapter"
    schema = request["body"]["response_format"]["json_schema"]["schema"]
    assert row["sampling_params"] == {
        "max_tokens": request["body"]["max_tokens"],
        "temperature": 0.0,
        "structured_outputs": {"json": schema},
    }
    reply = json.dumps({"summary": "A ground-floor plan."})
    done = {**row, "generated_text": reply, "num_generated_tokens": 12, "num_input_tokens": 900}
    done.pop("sampling_params")  # the stage consumes it
    failed = {"custom_id": lines(out)[1]["custom_id"], "__inference_error__": "CUDA out of memory"}  # handed back
    cut = {**done, "num_generated_tokens": row["max_tokens"]}
    assert json.loads(ray_engine.vllm_line(cut)["line"])["response"]["body"]["choices"][0]["finish_reason"] == "length"
    results = out / "results-0001.jsonl"
    answers = [ray_engine.vllm_output(ray_engine.vllm_line(done)), ray_engine.vllm_output(failed)]
    results.write_text("\n".join(answers) + "\n")
    store = SqliteStore(tmp_path / "store.sqlite")
    imported = campaign.import_results([results], store, out)
    assert (imported.imported, imported.errors, imported.refused) == (1, 1, ())
    kept = store.get(campaign.Manifest.require(out).entries[0].record or "")
    assert kept is not None and kept["description"]["text"] == reply


@pytest.mark.gpu
def test_a_tiny_vision_model_answers_a_campaign_through_vllm_on_a_gpu(survey, tmp_path):  # noqa: F811
    """On a GPU machine with vLLM: a vision-language model of a few layers made here (randomly initialised, saved to
    a temporary folder, nothing downloaded) answers every request of a campaign; its words are noise, but each line
    comes back as an answer or an error line that ``campaign import`` takes. Run with ``pytest -m gpu``."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("vllm")
    transformers = pytest.importorskip("transformers")
    if not torch.cuda.is_available():
        pytest.skip("no GPU")
    source = _tiny_vision_model(tmp_path / "tiny", transformers)
    out = tmp_path / "campaign"
    campaign.prepare_campaign([survey / "day 2"], out, SETTINGS, workers=1)
    config = ray_engine.vllm_config(str(source), campaign.images_per_request(out), batch_size=2)
    with ray_engine.session(None):
        summary = campaign.run_campaign(
            out,
            model.ServiceSettings("http://unused", "unused", "tiny"),
            engine=lambda shard, done: ray_engine.vllm_answered(shard, done, config),
        )
    assert summary.answered + summary.failed == 3
    imported = campaign.import_results([out / "results-0001.jsonl"], SqliteStore(tmp_path / "s.sqlite"), out)
    assert imported.refused == () and imported.imported + imported.errors == 3


def _tiny_vision_model(folder: Path, transformers) -> Path:
    """A Qwen2-VL of two layers and a word-level tokenizer of the prompt's own words, saved as vLLM loads a model."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["<unk>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>"]
    words += [f"w{index}" for index in range(250)]
    vocabulary = {word: index for index, word in enumerate(words)}
    tokenizer = Tokenizer(models.WordLevel(vocabulary, unk_token="<unk>"))  # noqa: S106 - a token, not a secret
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    special = {"unk_token": "<unk>", "eos_token": "<|im_end|>"}
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, **special)
    fast.chat_template = (
        "{% for m in messages %}<|im_start|>{% if m.content is string %}{{ m.content }}{% else %}"
        "{% for c in m.content %}{% if c.type == 'text' %}{{ c.text }}{% else %}<|vision_start|><|image_pad|>"
        "<|vision_end|>{% endif %}{% endfor %}{% endif %}<|im_end|>{% endfor %}<|im_start|>"
    )
    config = transformers.Qwen2VLConfig(
        vocab_size=len(words),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vision_config={"depth": 2, "embed_dim": 32, "hidden_size": 64, "num_heads": 2},
        image_token_id=vocabulary["<|image_pad|>"],
        vision_start_token_id=vocabulary["<|vision_start|>"],
        vision_end_token_id=vocabulary["<|vision_end|>"],
        rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]},
    )
    transformers.Qwen2VLForConditionalGeneration(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    transformers.Qwen2VLImageProcessor().save_pretrained(folder)
    shutil.copy(folder / "preprocessor_config.json", folder / "processor_config.json")
    return folder
