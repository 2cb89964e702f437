"""Anthropic, Gemini, Vertex AI and Bedrock models through the plain OpenAI Python SDK, against the
demo gateway, whose bundled mock speaks each provider's own wire format (and Google's token endpoint)."""
import json
import os

import openai
import pytest

KEY = os.environ["SCUTUM_API_KEY"]
BASE_URL = os.environ.get("SCUTUM_BASE_URL", "http://localhost:4000")
MODELS = ["claude-sonnet-4.5", "gemini-3-pro", "vertex-gemini-2.5-pro", "bedrock-claude-sonnet-4.5"]
WEATHER = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    },
}]


def client():
    return openai.OpenAI(base_url=BASE_URL + "/v1", api_key=KEY, max_retries=0)


@pytest.mark.parametrize("model", MODELS)
def test_answer_with_system_prompt(model):
    response = client().chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "What is the capital of France?"}],
        max_tokens=100, temperature=0.2,
    )
    assert response.model == model
    assert response.choices[0].message.content == "The capital of France is Paris."
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.prompt_tokens > 0 and response.usage.completion_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_stream_with_usage(model):
    stream = client().chat.completions.create(
        model=model, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Write a short poem about APIs."}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.count("\n") >= 3
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_tool_call_round_trip(model):
    messages = [{"role": "user", "content": "[mock:tool_call] What's the weather in Paris?"}]
    first = client().chat.completions.create(model=model, messages=messages, tools=WEATHER, tool_choice="auto")
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Paris"}

    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "18C and sunny"})
    second = client().chat.completions.create(model=model, messages=messages, tools=WEATHER)
    assert second.choices[0].message.content == "The tool said: 18C and sunny"


@pytest.mark.parametrize("model", MODELS)
def test_provider_rate_limit_is_a_rate_limit_error(model):
    with pytest.raises(openai.RateLimitError):
        client().chat.completions.create(model=model, messages=[{"role": "user", "content": "[mock:status=429] hi"}])
