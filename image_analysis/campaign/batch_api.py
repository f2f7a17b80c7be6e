"""``campaign submit``, ``status`` and ``fetch``: the shards through a provider's batch API (OpenAI, Azure OpenAI, a
LiteLLM proxy before vLLM) with the ``openai`` client's files and batches; what was submitted is kept in
``batches.json`` at once, so that nothing is submitted twice. A server without the API says so in one line, with
what to use instead."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from image_analysis import model
from image_analysis.atomic import Staged, write_atomically
from image_analysis.campaign.folder import BATCHES, CampaignError, Manifest, results_name
from image_analysis.errors import AnalysisError

NO_BATCH_API = (
    "{host} offers no batch API ({what}): send the shards with `python -m image_analysis campaign run {folder}`, or "
    "run them on your own GPUs with `python -m vllm.entrypoints.openai.run_batch -i {folder}/requests-0001.jsonl "
    "-o {folder}/results-0001.jsonl --model MODEL`."
)


@dataclass(frozen=True)
class BatchState:
    """One shard's batch at the provider, as ``status`` and ``fetch`` report it."""

    shard: str
    batch: str
    status: str
    completed: int = 0
    failed: int = 0
    total: int = 0
    fetched: bool = False

    def line(self) -> str:
        counts = f", {self.completed} of {self.total} done" + (f", {self.failed} failed" if self.failed else "")
        return f"{self.shard}: {self.status}{counts if self.total else ''}" + (", fetched" if self.fetched else "")


def submit_campaign(folder: Path, settings: model.ServiceSettings) -> list[BatchState]:
    """Upload every shard not yet submitted (``purpose=batch``) and create its batch (``/v1/chat/completions``, a 24 h
    window); what was submitted is kept in ``batches.json`` at once, so that submitting again sends nothing twice."""
    manifest = Manifest.require(folder)
    if manifest.settings.format != "openai":
        raise CampaignError(
            f"'{folder}' was prepared for Mistral's batch API (--format mistral): upload its shards with Mistral's "
            "client, or prepare with --format openai for an OpenAI-compatible batch API."
        )
    kept = _batches(folder)
    states = []
    with model.batch_client(settings) as client:
        for shard in manifest.shards:
            name = shard["name"]
            if name not in kept:
                try:
                    with (folder / name).open("rb") as requests:
                        uploaded = client.files.create(file=(name, requests), purpose="batch")
                    batch = client.batches.create(
                        input_file_id=uploaded.id,
                        endpoint="/v1/chat/completions",
                        completion_window="24h",
                        metadata={"shard": name},
                    )
                except model.SERVICE_FAILURES as error:  # every failure of the service is said in one line
                    raise _batch_failure(error, settings, folder) from None
                kept[name] = {"file": uploaded.id, "batch": batch.id, "status": batch.status}
                _write_batches(folder, kept)
            states.append(BatchState(name, kept[name]["batch"], kept[name]["status"], total=shard["requests"]))
    return states


def campaign_status(folder: Path, settings: model.ServiceSettings) -> list[BatchState]:
    """Each submitted shard's batch as the provider has it now."""
    kept = _submitted(folder)
    states = []
    with model.batch_client(settings) as client:
        for name, record in kept.items():
            try:
                batch = client.batches.retrieve(record["batch"])
            except model.SERVICE_FAILURES as error:
                raise _batch_failure(error, settings, folder) from None
            record.update(status=batch.status, output=batch.output_file_id, errors=batch.error_file_id)
            counts = batch.request_counts
            states.append(
                BatchState(
                    name,
                    batch.id,
                    batch.status,
                    counts.completed if counts else 0,
                    counts.failed if counts else 0,
                    counts.total if counts else 0,
                    bool(record.get("fetched")),
                )
            )
    _write_batches(folder, kept)
    return states


def fetch_campaign(folder: Path, settings: model.ServiceSettings) -> list[BatchState]:
    """Download the output (and error) lines of every completed batch not yet fetched into ``results-NNNN.jsonl``;
    ``campaign import`` then takes them."""
    states = campaign_status(folder, settings)
    kept = _batches(folder)
    with model.batch_client(settings) as client:
        for index, state in enumerate(states):
            record = kept[state.shard]
            if state.status != "completed" or record.get("fetched"):
                continue
            staged = Staged(folder / results_name(state.shard))
            try:
                for file_id in (record.get("output"), record.get("errors")):
                    if file_id:
                        content = client.files.content(file_id).read()
                        staged.file.write(content if content.endswith(b"\n") or not content else content + b"\n")
            except model.SERVICE_FAILURES as error:
                staged.discard()
                raise _batch_failure(error, settings, folder) from None
            except BaseException:
                staged.discard()
                raise
            staged.commit()
            record["fetched"] = True
            _write_batches(folder, kept)
            states[index] = dataclasses.replace(state, fetched=True)
    return states


def _batches(folder: Path) -> dict[str, dict[str, Any]]:
    try:
        return json.loads((folder / BATCHES).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise CampaignError(f"'{folder / BATCHES}' cannot be read ({error}).") from None


def _submitted(folder: Path) -> dict[str, dict[str, Any]]:
    kept = _batches(folder)
    if not kept:
        raise CampaignError(f"Nothing of '{folder}' is submitted yet: run `campaign submit {folder}` first.")
    return kept


def _write_batches(folder: Path, kept: dict[str, dict[str, Any]]) -> None:
    write_atomically(folder / BATCHES, json.dumps(kept, indent=1))


def _batch_failure(error: Exception, settings: model.ServiceSettings, folder: Path) -> AnalysisError:
    """A server without the files or batches API says so in one line, with what to do instead; any other failure is
    the service's own message."""
    status = getattr(error, "status_code", None)
    if status in (404, 405, 501):
        where = model.host(settings.base_url)
        return CampaignError(NO_BATCH_API.format(host=where, what=f"HTTP {status}", folder=folder))
    return model.service_failure(error, settings)
