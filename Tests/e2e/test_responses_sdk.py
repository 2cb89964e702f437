"""OpenAI's Responses API through the OpenAI Python SDK (`client.responses`) and an agent of the OpenAI
Agents SDK, a Scutum key as `api_key` and the gateway as `base_url`: OpenAI models passed through to the
(mock) provider's own Responses API, Anthropic and alias members translated onto chat, all through the
gateway's pipeline; a conversation continued on a second node."""
import json
import os

import openai
import pytest
from pydantic import BaseModel

from cluster import Node, wait_for

KEY = os.environ["SCUTUM_API_KEY"]
BASE_URL = os.environ.get("SCUTUM_BASE_URL", "http://localhost:4000")
DATABASE_URL = os.environ.get("DATABASE_URL")
REDIS_URL = os.environ.get("REDIS_URL")
ANSWER = "The capital of France is Paris."
QUESTION = "What is the capital of France?"
WEATHER = [{
    "type": "function", "name": "get_weather", "description": "Current weather for a city", "strict": True,
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"],
                   "additionalProperties": False},
}]


def client(base=BASE_URL):
    return openai.OpenAI(base_url=base + "/v1", api_key=KEY, max_retries=0)


@pytest.mark.parametrize("model", ["gpt-5", "claude-sonnet-4.5", "fast"])
def test_create_retrieve_and_input_items(model):
    response = client().responses.create(model=model, input=QUESTION, instructions="Be brief.")
    assert response.id.startswith("resp_") and response.object == "response"
    assert response.status == "completed" and response.model == model
    assert response.output_text == ANSWER
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    again = client().responses.retrieve(response.id)
    assert again.id == response.id and again.output_text == ANSWER
    items = client().responses.input_items.list(response.id)
    assert len(items.data) == 1 and items.data[0].role == "user"
    assert items.data[0].content[0].text == QUESTION


def test_stream():
    with client().responses.stream(model="gpt-5", input=QUESTION) as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == ANSWER and final.output_text == ANSWER and final.status == "completed"
    events = list(client().responses.create(model="claude-sonnet-4.5", input=QUESTION, stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert events[-1].response.output_text == ANSWER


@pytest.mark.parametrize("model", ["gpt-5", "claude-sonnet-4.5"])
def test_tools_round_trip(model):
    first = client().responses.create(model=model, tools=WEATHER,
                                      input="What is the weather in Paris? [mock:tool_call]")
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "get_weather" and json.loads(call.arguments) == {"location": "Paris"}
    second = client().responses.create(model=model, tools=WEATHER, previous_response_id=first.id,
                                       input=[{"type": "function_call_output", "call_id": call.call_id,
                                               "output": "18 C and sunny"}])
    assert "18 C and sunny" in second.output_text
    assert second.previous_response_id == first.id


class Capital(BaseModel):
    country: str
    capital: str


def test_json_schema_parse():
    parsed = client().responses.parse(model="gpt-5", input=QUESTION, text_format=Capital)
    assert isinstance(parsed.output_parsed, Capital)
    assert parsed.output_parsed.capital == ANSWER


def test_hosted_web_search_runs_on_openai_and_is_refused_elsewhere():
    searched = client().responses.create(model="gpt-5", input=QUESTION, tools=[{"type": "web_search_preview"}])
    assert [item.type for item in searched.output] == ["web_search_call", "message"]
    assert searched.output_text == ANSWER
    with pytest.raises(openai.BadRequestError) as refused:
        client().responses.create(model="claude-sonnet-4.5", input="hi", tools=[{"type": "web_search_preview"}])
    assert refused.value.code == "unsupported_tool" and "claude-sonnet-4.5" in refused.value.message


def test_errors_in_openai_shape():
    with pytest.raises(openai.NotFoundError):
        client().responses.retrieve("resp_does_not_exist")
    with pytest.raises(openai.NotFoundError):
        client().responses.create(model="gpt-5", input="hi", previous_response_id="resp_does_not_exist")
    # And the next normal request is served.
    assert client().responses.create(model="gpt-5", input=QUESTION).output_text == ANSWER


@pytest.fixture
def second_node():
    """A second gateway process on the same PostgreSQL and Redis (the same cluster), with its own port."""
    if not DATABASE_URL or not REDIS_URL:
        pytest.skip("make test provides DATABASE_URL and REDIS_URL")
    node = Node(0, DATABASE_URL, REDIS_URL, "scutum", port_base=24800,
                extra_env={"SCUTUM_API_KEY": KEY, "SCUTUM_MIGRATE_ON_START": "false"})
    try:
        wait_for(node.ready, 60, message="the second node")
        yield node
    finally:
        node.stop()


def test_previous_response_id_continues_on_another_node(second_node):
    first = client().responses.create(model="gpt-5", input="My name is Ada.", instructions="Be brief.")
    followed = client(second_node.proxy).responses.create(model="gpt-5", input="What is my name?",
                                                          previous_response_id=first.id)
    assert followed.previous_response_id == first.id and followed.status == "completed"
    # The second node's answer is kept too: the first continues from it, and lists its own input.
    third = client().responses.create(model="claude-sonnet-4.5", input=QUESTION, previous_response_id=followed.id)
    assert third.output_text == ANSWER
    items = client(second_node.proxy).responses.input_items.list(followed.id)
    assert [item.content[0].text for item in items.data] == ["What is my name?"]
    client(second_node.proxy).responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        client().responses.retrieve(first.id)


def test_agents_sdk_runs_an_agent_with_a_function_tool():
    agents = pytest.importorskip("agents")
    agents.set_tracing_disabled(True)
    calls = []

    @agents.function_tool
    def get_weather(location: str) -> str:
        """The current weather in a city."""
        calls.append(location)
        return f"18 C and sunny in {location}"

    model = agents.OpenAIResponsesModel(model="gpt-5",
                                        openai_client=openai.AsyncOpenAI(base_url=BASE_URL + "/v1", api_key=KEY))
    agent = agents.Agent(name="weather", instructions="Answer with the tool's words.", tools=[get_weather],
                         model=model)
    result = agents.Runner.run_sync(agent, "What is the weather in Paris? [mock:tool_call]")
    assert calls == ["Paris"]
    assert "18 C and sunny in Paris" in result.final_output
