"""Guardrails as an application sees them through the plain OpenAI Python SDK: a masked prompt, a
refused prompt (BadRequestError with the guardrail code), and a streamed answer that a guardrail ends
(the SDK raises APIError mid-stream), with nothing secret reaching the caller."""
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
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


def admin(method, path, body=None, token=None):
    request = urllib.request.Request(ADMIN_URL + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def keys():
    """A key for a team with an input profile, and one for a team with an output profile."""
    token = admin("POST", "/auth/login", {"api_key": KEY})["access_token"]
    suffix = uuid.uuid4().hex[:8]
    made = {}
    for kind, profile in {
        "input": {"mode": "input", "enable_pii_detection": True, "pii_action": "mask",
                  "pii_entities": ["CREDIT_CARD"], "enable_secrets_detection": True},
        "output": {"mode": "output", "enable_secrets_detection": True},
    }.items():
        team = f"sdk-{kind}-{suffix}"
        admin("POST", "/api/v1/teams", {"team_id": team, "team_alias": team}, token)
        created = admin("POST", "/api/v1/guardrails", {"name": f"sdk-{kind}-{suffix}", **profile}, token)
        admin("POST", f"/api/v1/guardrails/{created['id']}/assign/{team}?priority=1", None, token)
        made[kind] = admin("POST", "/api/v1/keys/generate", {"key_alias": team, "team_id": team}, token)["key"]
    # Profiles reach the proxy by NOTIFY: wait until both apply.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client(made["output"]).chat.completions.create(
                model="gpt-5-mini", messages=[{"role": "user", "content": f"say {AWS_KEY}"}])
        except openai.BadRequestError:
            break
        time.sleep(0.1)
    return made


def client(key):
    return openai.OpenAI(base_url=BASE_URL + "/v1", api_key=key, max_retries=0)


def test_a_card_number_is_masked_before_the_model_sees_it(keys):
    answer = client(keys["input"]).chat.completions.create(
        model="gpt-5-mini", messages=[{"role": "user", "content": "Charge 4111 1111 1111 1111 please"}])
    # The mock echoes what it received: the masked prompt.
    assert "Charge <CREDIT_CARD> please" in answer.choices[0].message.content
    assert "4111" not in answer.choices[0].message.content


def test_a_pasted_key_is_a_bad_request_naming_the_rule(keys):
    with pytest.raises(openai.BadRequestError) as caught:
        client(keys["input"]).chat.completions.create(
            model="gpt-5-mini", messages=[{"role": "user", "content": f"why does {AWS_KEY} fail?"}])
    assert caught.value.code == "guardrail_violation"
    assert "aws_access_key_id" in caught.value.message
    assert AWS_KEY not in str(caught.value.body)


def test_a_streamed_secret_split_across_chunks_ends_the_stream_with_an_error(keys):
    stream = client(keys["output"]).chat.completions.create(
        model="gpt-5-mini", stream=True,
        messages=[{"role": "user", "content": f"[mock:chunk_chars=5] the key is {AWS_KEY} ok"}])
    received = ""
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                received += chunk.choices[0].delta.content
    assert "guardrail" in str(caught.value)
    assert "AKIA" not in received
