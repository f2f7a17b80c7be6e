"""Follow-up questions about an analysed image.

VIKTOR's chat history is text only, so every turn re-attaches the prepared image (the same one the view sent, not
the original), with the preset's system message and the first description as context. A long conversation is
trimmed to a token budget, oldest turns first; the image and the first description are never trimmed.
"""

from __future__ import annotations

from typing import Any

from image_analysis import model, prompts
from image_analysis.analysis import Analysis

HISTORY_TOKEN_BUDGET = 12_000
"""Text tokens kept of earlier turns (estimated at four characters a token)."""

CHAT_SYSTEM = (
    "\n\nYou are now answering follow-up questions about an image you have already described. The image is "
    "attached again with your first description. Answer in {language}, in Markdown, briefly and from what is "
    "visible; say plainly when the image cannot tell."
)
NO_IMAGE = "Upload an image in the Image field first, then ask about it here."


def estimate_tokens(text: str) -> int:
    """A rough count for trimming; the server counts exactly."""
    return len(text) // 4 + 1


def build_messages(history: list[dict[str, str]], analysis: Analysis, budget: int = HISTORY_TOKEN_BUDGET) -> list:
    """The Chat Completions messages for the next reply: system, the image with the first description and the
    kept conversation, ending with the user's latest question."""
    turns = _alternating([m for m in history if m.get("role") in ("user", "assistant") and m.get("content")])
    turns = _trimmed(turns, budget)
    preparation, description = analysis.preparation, analysis.description
    assert preparation is not None, "a chat follows a successful analysis"
    context: list[dict[str, Any]] = [{"type": "text", "text": "The image these questions are about:"}]
    for caption, image in zip(prompts.image_captions(preparation.images), preparation.images, strict=True):
        if caption:
            context.append({"type": "text", "text": caption})
        context.append({"type": "image_url", "image_url": {"url": image.data_uri}})
    first = description.text if description else "(There is no first description: it failed.)"
    context.append({"type": "text", "text": f"Your first description of it:\n{first}"})
    system = prompts.build_prompt(analysis.request).system + CHAT_SYSTEM.format(
        language=analysis.request.language.english_name
    )
    question, *rest = turns
    context.append({"type": "text", "text": f"Question: {question['content']}"})
    return [{"role": "system", "content": system}, {"role": "user", "content": context}, *rest]


def _alternating(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """User and assistant in turn, starting and ending with the user (a greeting first is dropped; repeats merge)."""
    turns: list[dict[str, str]] = []
    for message in messages:
        if not turns and message["role"] != "user":
            continue
        if turns and turns[-1]["role"] == message["role"]:
            turns[-1] = {"role": message["role"], "content": turns[-1]["content"] + "\n\n" + message["content"]}
        else:
            turns.append({"role": message["role"], "content": message["content"]})
    if not turns or turns[-1]["role"] != "user":
        raise ValueError("the conversation has no question to answer")
    return turns


def _trimmed(turns: list[dict[str, str]], budget: int) -> list[dict[str, str]]:
    """Drop the oldest question-and-answer pairs until the rest fits ``budget``; the last question always stays."""
    while len(turns) > 1 and sum(estimate_tokens(turn["content"]) for turn in turns) > budget:
        turns = turns[2:]
    return turns


def reply(history: list[dict[str, str]], analysis: Analysis, settings: model.ServiceSettings):
    """The streamed answer to the latest question in ``history`` (text chunks)."""
    return model.stream(build_messages(history, analysis), settings)
