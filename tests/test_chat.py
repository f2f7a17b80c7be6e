"""Follow-up questions: the prepared image on every turn, the first description as context, trimming, streaming."""

from __future__ import annotations

import pytest
from werkzeug import Response

from image_analysis import chat, model
from image_analysis.imaging.prepare import prepare_image
from tests.conftest import make_analysis, shared_image_path, sse


@pytest.fixture(scope="module")
def analysed():
    preparation = prepare_image(shared_image_path("crack_concrete_ozgenel_a.png").read_bytes(), "crack.png")
    return make_analysis(preparation, "## Wall\nA jagged crack with a small spall at the left.")


def image_urls(message) -> list[str]:
    return [part["image_url"]["url"] for part in message["content"] if part["type"] == "image_url"]


def test_every_turn_carries_the_prepared_image_and_the_first_description(analysed):
    history = [
        {"role": "assistant", "content": "Ask a follow-up question"},
        {"role": "user", "content": "Is the crack structural?"},
        {"role": "assistant", "content": "It looks like a surface crack."},
        {"role": "user", "content": "How wide is it?"},
    ]
    messages = chat.build_messages(history, analysed)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "follow-up questions" in messages[0]["content"]
    context = messages[1]
    assert image_urls(context) == [image.data_uri for image in analysed.preparation.images]
    texts = [part["text"] for part in context["content"] if part["type"] == "text"]
    assert any("A jagged crack with a small spall" in text for text in texts)
    assert texts[-1] == "Question: Is the crack structural?"
    assert messages[-1] == {"role": "user", "content": "How wide is it?"}


def test_a_long_conversation_is_trimmed_oldest_first_but_never_the_image(analysed):
    history = []
    for turn in range(30):
        history += [
            {"role": "user", "content": f"question {turn} " + "x" * 400},
            {"role": "assistant", "content": f"answer {turn} " + "y" * 400},
        ]
    history.append({"role": "user", "content": "the last question"})
    messages = chat.build_messages(history, analysed, budget=2_000)
    kept = " ".join(m["content"] for m in messages[2:])
    question = messages[1]["content"][-1]["text"]
    assert "question 0 " not in question + kept, "the oldest turns go first"
    assert "answer 29" in kept and messages[-1]["content"] == "the last question"
    assert sum(chat.estimate_tokens(m["content"]) for m in messages[2:]) <= 2_000
    assert image_urls(messages[1]), "the image stays"


def test_without_a_question_there_is_nothing_to_answer(analysed):
    with pytest.raises(ValueError):
        chat.build_messages([{"role": "assistant", "content": "Hello"}], analysed)


def test_the_reply_streams_chunk_by_chunk(model_service, analysed):
    model_service.server.expect_request("/v1/chat/completions").respond_with_response(
        Response(sse("The crack ", "looks ", "superficial."), content_type="text/event-stream")
    )
    settings = model.ServiceSettings.from_environment()
    chunks = list(chat.reply([{"role": "user", "content": "Structural?"}], analysed, settings))
    assert chunks == ["The crack ", "looks ", "superficial."]
    assert model_service.requests[0]["stream"] is True


def test_a_service_failure_becomes_the_reply_text_not_an_exception(model_service, analysed):
    model_service.fail(429, {"error": {"message": "limit"}})
    settings = model.ServiceSettings.from_environment()
    assert list(chat.reply([{"role": "user", "content": "?"}], analysed, settings)) == [
        "Fair usage limit reached. Please try again later."
    ]
