"""Anthropic's Messages API through Anthropic's own Python SDK, a Scutum key as `api_key` and the
gateway as `base_url`: a Claude model, an OpenAI model and a group alias, each translated through the
gateway's pipeline (the bundled mock speaks each provider's wire format)."""
import json
import os

import anthropic
import pytest

KEY = os.environ["SCUTUM_API_KEY"]
BASE_URL = os.environ.get("SCUTUM_BASE_URL", "http://localhost:4000")
MODELS = ["claude-sonnet-4.5", "gpt-5", "fast"]
WEATHER = [{
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}]


def client():
    return anthropic.Anthropic(base_url=BASE_URL, api_key=KEY, max_retries=0)


@pytest.mark.parametrize("model", MODELS)
def test_create(model):
    message = client().messages.create(
        model=model, max_tokens=100, system="Be brief.",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.model == model
    assert message.content[0].type == "text"
    assert message.content[0].text == "The capital of France is Paris."
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_stream(model):
    with client().messages.stream(
        model=model, max_tokens=100,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "The capital of France is Paris."
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


@pytest.mark.parametrize("model", ["claude-sonnet-4.5", "gpt-5"])
def test_tools_round_trip(model):
    question = {"role": "user", "content": "What is the weather in Paris? [mock:tool_call]"}
    first = client().messages.create(model=model, max_tokens=200, tools=WEATHER, messages=[question])
    assert first.stop_reason == "tool_use"
    use = next(block for block in first.content if block.type == "tool_use")
    assert use.name == "get_weather" and isinstance(use.input, dict)
    second = client().messages.create(
        model="claude-sonnet-4.5", max_tokens=200, tools=WEATHER,
        messages=[question, {"role": "assistant", "content": first.content},
                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                                "content": "18 C and sunny"}]}],
    )
    assert "18 C and sunny" in second.content[0].text


def test_count_tokens():
    count = client().messages.count_tokens(
        model="claude-sonnet-4.5", system="Be brief.",
        messages=[{"role": "user", "content": "What is the capital of France? " * 50}],
    )
    assert count.input_tokens > 300


def test_errors_in_anthropic_shape():
    with pytest.raises(anthropic.AuthenticationError) as refused:
        anthropic.Anthropic(base_url=BASE_URL, api_key="sk-wrong", max_retries=0).messages.create(
            model="gpt-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert refused.value.body["type"] == "error"
    assert refused.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.NotFoundError):
        client().messages.create(model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.BadRequestError) as bad:
        client().messages.create(model="gpt-5", max_tokens=10, messages=[{"role": "user", "content": [
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}]}])
    assert "document" in json.dumps(bad.value.body)
