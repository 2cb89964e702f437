"""The response cache as an application sees it through the plain OpenAI Python SDK: an answer bought
once is served again from the cache, as JSON or as a stream the SDK reads like any other, whichever way
it was bought; `x-scutum-cache` says which."""
import json
import os
import time
import urllib.request
import uuid

import openai
import pytest

KEY = os.environ["SCUTUM_API_KEY"]
BASE_URL = os.environ.get("SCUTUM_BASE_URL", "http://localhost:4000")
ADMIN_URL = os.environ.get("SCUTUM_ADMIN_URL", "http://localhost:8086")


def admin(method, path, body=None, token=None):
    request = urllib.request.Request(ADMIN_URL + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def client():
    """A key whose metadata turns the cache on for it alone (the rest of the suite is unaffected)."""
    token = admin("POST", "/auth/login", {"api_key": KEY})["access_token"]
    key = admin("POST", "/api/v1/keys/generate", {"key_alias": f"cache-sdk-{uuid.uuid4().hex[:8]}",
                                                  "metadata": {"cache": {"enabled": True, "scope": "key"}}},
                token)["key"]
    return openai.OpenAI(base_url=BASE_URL + "/v1", api_key=key, max_retries=0)


def until_hit(call, timeout=10):
    """Calls `call` (a raw-response create) until its answer comes from the cache; the hit."""
    deadline = time.monotonic() + timeout
    while True:
        raw = call()
        if raw.headers.get("x-scutum-cache") == "hit" or time.monotonic() > deadline:
            return raw
        time.sleep(0.1)


def ask(client, prompt, stream=False):
    extra = {"stream": True, "stream_options": {"include_usage": True}} if stream else {}
    return client.chat.completions.with_raw_response.create(
        model="gpt-5-mini", messages=[{"role": "user", "content": prompt}], **extra)


def streamed_text(raw):
    chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


def test_a_stream_is_served_from_an_answer_bought_without_one(client):
    prompt = f"cache me plainly {uuid.uuid4().hex}"
    first = ask(client, prompt)
    assert first.headers["x-scutum-cache"] == "miss"
    answer = first.parse()
    hit = until_hit(lambda: ask(client, prompt, stream=True))
    assert hit.headers["x-scutum-cache"] == "hit"
    text, chunks = streamed_text(hit)
    assert text == answer.choices[0].message.content
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == answer.usage.completion_tokens
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)


def test_a_plain_request_is_served_from_an_answer_bought_as_a_stream(client):
    prompt = f"cache me as a stream {uuid.uuid4().hex}"
    first = ask(client, prompt, stream=True)
    assert first.headers["x-scutum-cache"] == "miss"
    text, _ = streamed_text(first)
    hit = until_hit(lambda: ask(client, prompt))
    assert hit.headers["x-scutum-cache"] == "hit"
    completion = hit.parse()
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == text
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens > 0


def test_no_cache_asks_the_provider_again(client):
    prompt = f"never cached {uuid.uuid4().hex}"
    ask(client, prompt)
    time.sleep(0.3)
    again = client.chat.completions.with_raw_response.create(
        model="gpt-5-mini", messages=[{"role": "user", "content": prompt}], extra_body={"cache": {"no-cache": True}})
    assert again.headers["x-scutum-cache"] == "bypass"
    assert again.parse().choices[0].message.content
