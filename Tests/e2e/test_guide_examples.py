"""The user guide's examples, run verbatim against a demo gateway (`make test` starts it).

Each example lives in examples/ exactly as the guide prints it; the Python ones get only the literal
"$SCUTUM_API_KEY" replaced by the real key, the curl one reads $SCUTUM_API_KEY from the environment
as the guide intends. Snippets that continue an earlier one are preceded by the guide's client block.
"""
import json
import os
import pathlib
import subprocess
import sys

import openai
import pytest

EXAMPLES = pathlib.Path(__file__).parent / "examples"
KEY = os.environ["SCUTUM_API_KEY"]
BASE_URL = os.environ.get("SCUTUM_BASE_URL", "http://localhost:4000")


def run_python_example(name):
    code = (EXAMPLES / name).read_text().replace("$SCUTUM_API_KEY", KEY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def client(key=KEY):
    return openai.OpenAI(base_url=BASE_URL + "/v1", api_key=key, max_retries=0)


def test_curl_example_prints_an_answer():
    script = (EXAMPLES / "chat_curl.sh").read_text()
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SCUTUM_API_KEY": KEY})
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["object"] == "chat.completion"
    assert answer["model"] == "claude-sonnet-4.5"
    assert "Paris" in answer["choices"][0]["message"]["content"]


def test_python_sdk_example_prints_the_answer():
    assert "Paris" in run_python_example("chat_sdk.py")


def test_streaming_example_prints_the_poem():
    out = run_python_example("streaming_sdk.py")
    assert out.count("\n") >= 3, out
    assert "API" in out


def test_streaming_arrives_in_many_chunks():
    stream = client().chat.completions.create(
        model="claude-sonnet-4.5",
        messages=[{"role": "user", "content": "Write a short poem about APIs."}],
        stream=True,
    )
    contents = [chunk.choices[0].delta.content for chunk in stream if chunk.choices]
    assert len([c for c in contents if c]) > 10


def test_streaming_with_usage():
    stream = client().chat.completions.create(
        model="gpt-5",
        messages=[{"role": "user", "content": "Hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == chunks[-1].usage.prompt_tokens + chunks[-1].usage.completion_tokens > 0


def test_embeddings_example():
    assert run_python_example("embeddings_sdk.py").strip() == "Embedding dimension: 3072"


def test_group_alias_example():
    model, _, answer = run_python_example("alias_sdk.py").partition(" ")
    assert model in {"gpt-5-mini", "claude-haiku-4.5", "gemini-3-flash", "grok-3-mini"}
    assert answer.strip()


def test_fallback_example_prints_the_model():
    assert run_python_example("fallback_sdk.py").strip() == "gpt-5"


def test_error_handling_example_succeeds_quietly():
    assert run_python_example("error_handling_sdk.py") == ""


def test_models_list_has_models_and_aliases():
    ids = {model.id for model in client().models.list()}
    for expected in ["claude-sonnet-4.5", "gpt-5", "gemini-3-pro", "grok-4", "deepseek-r1",
                     "azure-text-embedding-3-large", "azure-text-embedding-3-small",
                     "fast", "smart", "powerful", "reasoning", "coding", "cost-effective",
                     "openai", "anthropic", "google", "xai", "deepseek", "bedrock", "vertex", "azure"]:
        assert expected in ids, expected


def test_bad_key_is_an_authentication_error():
    with pytest.raises(openai.AuthenticationError) as raised:
        client("sk-wrong").chat.completions.create(model="gpt-5", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == 401
    assert raised.value.body["code"] == "invalid_api_key"


def test_unknown_model_is_not_found():
    with pytest.raises(openai.NotFoundError) as raised:
        client().chat.completions.create(model="gpt-4-turbo-nope", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body["code"] == "model_not_found"


def test_missing_messages_is_bad_request():
    with pytest.raises(openai.BadRequestError) as raised:
        client().chat.completions.create(model="gpt-5", messages=[])
    assert raised.value.body["param"] == "messages"


def test_upstream_failure_is_500_in_openai_shape():
    # grok-3-mini has no fallback chain: the provider's failure reaches the client as a 500.
    with pytest.raises(openai.InternalServerError) as raised:
        client().chat.completions.create(model="grok-3-mini", messages=[{"role": "user", "content": "hi [mock:status=502]"}])
    assert raised.value.status_code == 500
    assert raised.value.body["code"] == "upstream_error"


def test_whole_fallback_chain_failing_is_503_listing_what_was_tried():
    with pytest.raises(openai.InternalServerError) as raised:
        client().chat.completions.create(model="grok-4", messages=[{"role": "user", "content": "hi [mock:status=502]"}])
    assert raised.value.status_code == 503
    for model in ["grok-4", "gpt-5", "claude-sonnet-4.5"]:
        assert model in raised.value.body["message"]


def test_fallback_serves_when_the_primary_fails():
    response = client().chat.completions.create(
        model="gpt-5", messages=[{"role": "user", "content": "hi [mock:status=503] [mock:fail_model=gpt-5]"}])
    assert response.model == "gpt-5.2"


def test_cli_key_lifecycle():
    scutum = os.environ["SCUTUM_BIN"]
    env = {**os.environ}
    created = subprocess.run([scutum, "keys", "create", "--alias", "e2e", "--env-file", "/dev/null"],
                             capture_output=True, text=True, env=env, timeout=30)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("sk-") and len(key) == 51
    reply = client(key).chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content
    listed = subprocess.run([scutum, "keys", "list", "--env-file", "/dev/null"], capture_output=True, text=True,
                            env=env, timeout=30)
    assert key not in listed.stdout and "e2e" in listed.stdout
    revoked = subprocess.run([scutum, "keys", "revoke", key, "--env-file", "/dev/null"], capture_output=True,
                             text=True, env=env, timeout=30)
    assert revoked.returncode == 0, revoked.stderr
    import time
    deadline = time.time() + 5
    while True:
        try:
            client(key).chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}])
        except openai.AuthenticationError:
            break
        assert time.time() < deadline, "revoked key still accepted"
        time.sleep(0.1)


def test_admin_api_examples_login_then_generate_a_key_that_works_on_the_proxy():
    # The guide's login puts the key inside single quotes, so the user types it in: so do we.
    script = (EXAMPLES / "admin_login_curl.sh").read_text().replace("$SCUTUM_API_KEY", KEY)
    script += "\n" + (EXAMPLES / "admin_examples_curl.sh").read_text()
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    decoder = json.JSONDecoder()
    text = done.stdout.strip()
    models, end = decoder.raw_decode(text)
    generated, _ = decoder.raw_decode(text[end:].lstrip())
    assert any(m["model_name"] == "claude-sonnet-4.5" for m in models["models"])
    assert generated["key"].startswith("sk-")
    assert generated["key_alias"] == "my-service"
    assert generated["max_budget"] == 100
    answer = client(generated["key"]).chat.completions.create(
        model="claude-sonnet-4.5", messages=[{"role": "user", "content": "What is the capital of France?"}])
    assert "Paris" in answer.choices[0].message.content


def test_admin_api_example_previews_the_agent_gateway_config():
    login = (EXAMPLES / "admin_login_curl.sh").read_text().replace("$SCUTUM_API_KEY", KEY)
    register = ('curl -s -X POST http://localhost:8086/api/v1/mcp-servers -H "Authorization: Bearer $TOKEN" '
                '-H "Content-Type: application/json" '
                '-d \'{"name":"docs","server_type":"http","url":"https://mcp.example.com/mcp"}\' > /dev/null')
    script = login + "\n" + register + "\n" + (EXAMPLES / "admin_mcp_preview_curl.sh").read_text()
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    preview = json.loads(done.stdout)
    assert preview["active_servers"] >= 1
    yaml_text = preview["config_yaml"]
    assert "binds:" in yaml_text and "mcp:" in yaml_text and "https://mcp.example.com/mcp" in yaml_text
