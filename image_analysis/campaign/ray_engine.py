"""The optional Ray engine of a campaign (``--engine ray``, installed from ``requirements-ray.txt``): the same steps on
Ray Data, on a laptop in local mode or on a cluster (``--address``), writing the same files.

- ``prepared``: the preparation as ``map_batches`` over actors that call the local engine's own per-file function
  (``prepare.prepare_file``), one file a batch, its results in the inputs' order, so that ``prepare_campaign`` writes
  the same shards, facts and manifest byte for byte, and resumes the same way (after the last complete shard: the
  manifest is the checkpoint, whichever engine prepared it). A block holds one file's prepared requests, never raw
  files of several.
- ``answered``: a shard's requests not yet answered, sent by actors through the project's own client (its retries,
  deadline and messages; one or several OpenAI-compatible endpoints, a request per second limit), each answer or
  error a line of the batch output format ``campaign import`` reads, written as it comes: a failed row is an error
  line, never a failed job, and a request answered is not sent again.
- ``vllm_config`` and ``vllm_rows``/``vllm_line``: the shards through ``ray.data.llm``'s vLLM processor on GPU nodes,
  each line's messages and sampling parameters as its body has them.

Ray is imported only here, and only when this engine is asked for: the app and the local engine never load it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import re
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from image_analysis import model
from image_analysis.campaign.folder import CampaignError, Settings
from image_analysis.campaign.prepare import Made, prepare_file
from image_analysis.campaign.run import result_line
from image_analysis.errors import AnalysisError

PACKAGE = Path(__file__).resolve().parents[1]
INSTALL = "the Ray engine needs Ray: pip install -r requirements-ray.txt (or use the local engine: no --engine)"
QUIET = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DISABLE_DOCKER_CPU_WARNING": "1",
    "RAY_DATA_DISABLE_PROGRESS_BARS": "1",
}
"""Ray's own settings for a campaign run: no usage report sent anywhere, no notes of its own on the terminal (the
command line says what happens)."""
LIMITS = "IMAGE_ANALYSIS_"
"""The settings of an upload's budget and decoder (``config``), given to every worker as the driver has them, so that
a node prepares as this machine would (never a key: those are ``OPENAI_`` and ``VIKTOR_``)."""
FILES_A_TASK = 8
"""Files one actor prepares in one task: Ray's cost of a task shared out, and a block of at most eight files' prepared
requests (a few MB), never their raw files."""
_CUSTOM_ID = re.compile(r'"custom_id":\s*"([^"]+)"')


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise CampaignError(INSTALL) from None
    return ray


@contextlib.contextmanager
def session(address: str | None = None, cpus: int | None = None) -> Iterator[None]:
    """Ray for one step: a cluster's (``address``: ``auto`` or ``ray://host:10001``), else a local instance of
    ``cpus`` CPUs started here and stopped after (one already running in this process is used as it is). The
    package travels with every task (``py_modules``), so a cluster's nodes need only its requirements."""
    os.environ.update(QUIET)  # before Ray is loaded: its native logging reads them once
    ray = _ray()
    for name in ("ray", "ray.data", "ray.llm"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if ray.is_initialized():
        yield
        return
    limits = {name: value for name, value in os.environ.items() if name.startswith(LIMITS)}
    runtime = {"py_modules": [str(PACKAGE)], "env_vars": {**QUIET, **limits}}
    try:
        if address:
            ray.init(address=address, runtime_env=runtime, log_to_driver=False, logging_level="ERROR")
        else:
            ray.init(
                num_cpus=cpus or os.cpu_count() or 1,
                include_dashboard=False,
                runtime_env=runtime,
                log_to_driver=False,
                logging_level="ERROR",
            )
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise CampaignError(f"Ray could not start{f' at {address}' if address else ''} ({error}).") from None
    try:
        yield
    finally:
        ray.shutdown()


def _context() -> Any:
    """Ray Data as a campaign wants it: rows in order, no progress bars of its own (the command line has one)."""
    from ray.data import DataContext

    for name in ("ray", "ray.data", "ray.llm"):  # as Ray Data set them up when loaded
        logging.getLogger(name).setLevel(logging.ERROR)
    context = DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.execution_options.verbose_progress = False
    return context


def _no_restarts() -> dict[str, Any]:
    """An actor is not restarted: a file's budget is kept in its own child process, so an actor that dies is a fault
    to see (the step run again resumes), and its settings need not outlive it in the object store."""
    return {"max_restarts": 0}


# -- the preparation


class _Preparer:
    """An actor that prepares one file a call with the local engine's function."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[bytes]]:
        # pickled: a request line is a megabyte of text that JSON would escape and parse again
        return {"made": [pickle.dumps(prepare_file(str(path), self.settings)) for path in batch["path"]]}


def prepared(paths: Sequence[str], settings: Settings, workers: int) -> Iterator[list[Made]]:
    """Each file's requests (``prepare.prepare_file``), in the order of ``paths``, prepared by ``workers`` actors of
    one CPU each; within the ``session`` the caller opened."""
    ray = _ray()
    _context()
    if not paths:
        return
    blocks = max(1, -(-len(paths) // FILES_A_TASK))
    files = ray.data.from_items([{"path": path} for path in paths], override_num_blocks=blocks)
    with warnings.catch_warnings():  # ray_remote_args_fn: the one way to say max_restarts, deprecated without another
        warnings.simplefilter("ignore", DeprecationWarning)
        done = files.map_batches(
            _Preparer,
            fn_constructor_kwargs={"settings": settings},
            batch_size=FILES_A_TASK,
            batch_format="default",
            compute=ray.data.ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=2),
            num_cpus=1,
            ray_remote_args_fn=_no_restarts,
        )
    for made in _rows(done, "made"):
        yield pickle.loads(made)  # noqa: S301 - made by this campaign's own actors


# -- the answers, from an OpenAI-compatible server


class _Sender:
    """An actor that sends one request line a call through the project's client, to the endpoint the row names,
    at most ``qps`` requests a second in all (shared out over the actors); its answer or error as a result line."""

    def __init__(self, settings: Sequence[model.ServiceSettings], qps: float | None, actors: int) -> None:
        self.settings = settings
        self.gap = actors / qps if qps else 0.0
        self.last = 0.0
        self.lock = threading.Lock()

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        lines = []
        for text, endpoint in zip(batch["text"], batch["endpoint"], strict=True):
            with self.lock:
                wait = self.last + self.gap - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                self.last = time.monotonic()
            lines.append(_answer(text, self.settings[int(endpoint)]))
        return {"line": lines}


def _answer(text: str, settings: model.ServiceSettings) -> str:
    """A request line's answer as a result line; whatever fails, an error line (never a failed job)."""
    custom_id = _id(text) or ""
    try:
        request = json.loads(text)
        return result_line(request["custom_id"], model.complete(request["body"], settings), None)
    except AnalysisError as error:
        return result_line(custom_id, None, error)
    except (ValueError, KeyError, TypeError) as error:
        return result_line(custom_id, None, AnalysisError(f"the request line cannot be read ({type(error).__name__})"))


def _unanswered(shard: Path, done: set[str]) -> Any:
    """A shard's request lines not in ``done``, as rows ``{"text"}``: split on the newline alone (a line may hold a
    U+2028, which ``read_text`` would split on), read where the shard lies (on a cluster: storage every node sees)."""
    ray = _ray()

    def split(row: dict[str, Any]) -> list[dict[str, str]]:
        lines = (line.decode("utf-8", errors="replace") for line in row["bytes"].split(b"\n") if line.strip())
        return [{"text": line} for line in lines if (_id(line) or "") not in done]

    return ray.data.read_binary_files(str(shard.resolve())).flat_map(split)


def answered(
    shard: Path,
    done: set[str],
    endpoints: Sequence[model.ServiceSettings],
    *,
    concurrency: int,
    qps: float | None = None,
) -> Iterator[str]:
    """The result line of each request of ``shard`` not in ``done``, as they come (in no set order), sent by
    ``concurrency`` actors spread over ``endpoints`` (the rows taken in turn); within the ``session`` the caller
    opened."""
    ray = _ray()
    context = _context()
    context.execution_options.preserve_order = False
    count = len(endpoints)
    with warnings.catch_warnings():  # max_restarts, as above
        warnings.simplefilter("ignore", DeprecationWarning)
        spread = _unanswered(shard, done).map(
            lambda row: {**row, "endpoint": int((_id(row["text"]) or "0")[-6:], 16) % count}
        )
        sent = spread.map_batches(
            _Sender,
            fn_constructor_kwargs={"settings": list(endpoints), "qps": qps, "actors": concurrency},
            batch_size=1,
            batch_format="default",
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            num_cpus=0,  # waiting on the server, not computing
            ray_remote_args_fn=_no_restarts,
        )
    yield from _rows(sent, "line")


def _rows(dataset: Any, column: str | None) -> Iterator[Any]:
    """A column of each row of ``dataset`` (``None``: the row) as it comes; a failure of Ray's a ``CampaignError`` of
    one line (run the step again: what was written is kept)."""
    from ray.exceptions import RayError

    try:
        for row in dataset.iter_rows():
            yield row if column is None else row[column]
    except RayError as error:
        cause = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise CampaignError(f"Ray stopped ({cause[:300]}); run the same command again to go on.") from None


def _id(text: str) -> str | None:
    found = _CUSTOM_ID.search(text[:400])
    return found.group(1) if found else None


# -- the answers, from vLLM on GPU nodes


def vllm_config(
    model_source: str, images: int, *, tensor_parallel: int = 1, concurrency: int = 1, batch_size: int = 16
) -> Any:
    """``ray.data.llm``'s vLLM processor configuration for a campaign: the model (a Hugging Face id or a folder),
    ``images`` per prompt at most (the campaign's largest request), a failed row an error row, not a failed job."""
    try:
        from ray.data.llm import vLLMEngineProcessorConfig
    except ImportError:
        raise CampaignError(INSTALL) from None
    return vLLMEngineProcessorConfig(
        model_source=model_source,
        engine_kwargs={
            "tensor_parallel_size": tensor_parallel,
            "limit_mm_per_prompt": {"image": images},
            "enable_chunked_prefill": True,
        },
        batch_size=batch_size,
        concurrency=concurrency,
        should_continue_on_error=True,
        prepare_multimodal_stage={"enabled": True},
        chat_template_stage={"enabled": True},
        tokenize_stage={"enabled": True},
        detokenize_stage={"enabled": True},
    )


def vllm_row(request: dict[str, Any]) -> dict[str, Any]:
    """A request line as the vLLM processor takes it: its messages, and its body's sampling parameters (the reply's
    length limit; the JSON schema of ``response_format`` as vLLM's structured output)."""
    body = request["body"]
    sampling: dict[str, Any] = {"max_tokens": body.get("max_tokens"), "temperature": body.get("temperature", 0.0)}
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        sampling["structured_outputs"] = {"json": response_format["json_schema"]["schema"]}
    elif response_format.get("type") == "json_object":
        sampling["structured_outputs"] = {"json_object": True}
    return {
        "custom_id": request["custom_id"],
        "campaign_model": body.get("model", ""),  # not "model": the vLLM stage takes another model for a LoRA adapter
        "max_tokens": body.get("max_tokens") or 0,  # the stage consumes sampling_params: kept to tell a reply cut off
        "messages": body["messages"],
        "sampling_params": {name: value for name, value in sampling.items() if value is not None},
    }


def vllm_line(row: dict[str, Any]) -> dict[str, str]:
    """The vLLM processor's output row as a line of the batch output format: the generated text as a chat
    completion's message, or the row's error."""
    error = str(row.get("__inference_error__") or "")
    if error:
        return {"line": result_line(str(row["custom_id"]), None, AnalysisError(error[:2000]))}
    generated = int(row.get("num_generated_tokens") or 0)
    limit = int(row.get("max_tokens") or 0)
    completion = {
        "id": f"vllm-{row['custom_id']}",
        "object": "chat.completion",
        "model": str(row.get("campaign_model") or ""),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": str(row.get("generated_text") or "")},
                "finish_reason": "length" if limit and generated >= limit else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": int(row.get("num_input_tokens") or 0),
            "completion_tokens": generated,
            "total_tokens": int(row.get("num_input_tokens") or 0) + generated,
        },
    }
    return {"line": result_line(str(row["custom_id"]), completion, None)}


def vllm_answered(shard: Path, done: set[str], config: Any) -> Iterator[str]:
    """The result line of each request of ``shard`` not in ``done``, through the vLLM processor of ``config``
    (``vllm_config``); within the ``session`` the caller opened, on a cluster with GPU nodes. A row that failed is
    an error line (the processor hands an error row back as it is, without ``vllm_line``)."""
    try:
        from ray.data.llm import build_processor

        processor = build_processor(
            config, preprocess=lambda row: vllm_row(json.loads(row["text"])), postprocess=vllm_line
        )
    except ImportError as error:
        raise CampaignError(
            f"--vllm needs vLLM where the command runs and on the GPU nodes ({error.name} is missing): "
            "pip install 'ray[llm]' there"
        ) from None
    context = _context()
    context.execution_options.preserve_order = False
    for row in _rows(processor(_unanswered(shard, done)), None):
        yield vllm_output(row)


def vllm_output(row: dict[str, Any]) -> str:
    """The result line of a row the vLLM processor gives back: its ``line`` (``vllm_line``), or for an error row,
    which the processor hands back as it is, an error line."""
    if row.get("line"):
        return str(row["line"])
    said = str(row.get("__inference_error__") or "no answer from vLLM")
    return vllm_line({"custom_id": row.get("custom_id", ""), "__inference_error__": said})["line"]
