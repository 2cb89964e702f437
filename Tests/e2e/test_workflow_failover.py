"""A 5-step workflow execution on a 3-node cluster of real processes: the leader is SIGKILLed
after step 2 and the execution finishes on the new leader without running steps 1-2 again,
counted at a shared mock upstream; its total cost is the sum of its steps'."""
import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from cluster import http, leader_of, start_cluster, wait_for

DATABASE_URL = os.environ.get("WORKFLOW_DATABASE_URL")
REDIS_URL = os.environ.get("REDIS_URL")
MOCK_BIN = os.environ.get("SCUTUM_MOCK_BIN")
MOCK_PORT = 24400

pytestmark = pytest.mark.skipif(not DATABASE_URL or not REDIS_URL or not MOCK_BIN,
                                reason="make test provides WORKFLOW_DATABASE_URL, REDIS_URL and SCUTUM_MOCK_BIN")


def chain(steps, slow):
    nodes = []
    for index in range(1, steps + 1):
        latency = " [mock:latency_ms=4000]" if index == slow else ""
        nodes.append({"name": f"s{index}", "type": "llm",
                      "config": {"model": "gpt-5", "prompt": f"wf-step-{index} {{{{input.topic}}}}{latency} after: {{{{last}}}}"}})
    edges = [{"source": f"s{index}", "target": f"s{index + 1}"} for index in range(1, steps)]
    return {"name": "five-steps", "graph_definition": {"nodes": nodes, "edges": edges, "entry_point": "s1",
                                                        "end_nodes": [f"s{steps}"]}}


def upstream_prompts():
    with urllib.request.urlopen(f"http://127.0.0.1:{MOCK_PORT}/__mock/requests", timeout=5) as response:
        entries = json.loads(response.read())
    prompts = []
    for entry in entries:
        try:
            prompts.append(json.loads(entry["body"])["messages"][-1]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            pass
    return prompts


@pytest.fixture
def mock():
    process = subprocess.Popen([MOCK_BIN, "--port", str(MOCK_PORT)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    wait_for(lambda: _up(), 20, message="the mock upstream")
    yield
    process.terminate()
    process.wait(timeout=10)


def _up():
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{MOCK_PORT}/health", timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def cluster(mock):
    nodes = start_cluster(3, DATABASE_URL, REDIS_URL, "workflow-e2e",
                          {"SCUTUM_DEMO_MOCK_URL": f"http://127.0.0.1:{MOCK_PORT}"})
    yield nodes
    for node in nodes:
        node.stop()


def test_execution_survives_sigkill_of_its_leader(cluster):
    leader_id = wait_for(lambda: leader_of(cluster), 20, message="one agreed leader")
    leader = next(node for node in cluster if f"-{node.process.pid}-" in leader_id)
    follower = next(node for node in cluster if node is not leader)
    token = follower.token()
    status, workflow = http("POST", follower.admin + "/api/v1/workflows", chain(5, slow=3), token=token)
    assert status in (200, 201), workflow
    status, queued = http("POST", follower.admin + "/api/v1/workflow-executions",
                          {"workflow_id": workflow["id"], "input_data": {"topic": "otters"}}, token=token)
    assert status in (200, 201) and queued["status"] == "pending", queued

    def execution():
        status, body = http("GET", follower.admin + f"/api/v1/workflow-executions/{queued['id']}", token=token)
        assert status == 200, body
        return body

    def completed(body):
        return [step for step in body["steps"] if step["status"] == "completed"]

    wait_for(lambda: len(completed(execution())) >= 2, 30, message="steps 1 and 2")
    leader.signal(signal.SIGKILL)
    leader.process.wait()

    done = wait_for(lambda: (lambda body: body if body["status"] in ("completed", "failed") else None)(execution()),
                    60, interval=0.5, message="the execution to finish on the new leader")
    assert done["status"] == "completed", done
    assert [step["node_name"] for step in completed(done)] == ["s1", "s2", "s3", "s4", "s5"]
    new_leader = leader_of(cluster)
    assert new_leader and new_leader != leader_id

    prompts = upstream_prompts()
    for step in (1, 2, 4, 5):
        assert sum(prompt.startswith(f"wf-step-{step} ") for prompt in prompts) == 1, (step, prompts)
    assert 1 <= sum(prompt.startswith("wf-step-3 ") for prompt in prompts) <= 2

    steps = done["steps"]
    assert abs(done["total_cost"] - sum(step["cost"] for step in steps)) < 1e-12
    assert done["total_cost"] > 0
    assert done["total_input_tokens"] == sum(step["input_tokens"] for step in steps)
    assert done["total_output_tokens"] == sum(step["output_tokens"] for step in steps)
