"""Leader election with real processes: exactly one leader, SIGKILL moves leadership within 10 s,
and a leader paused past its lease (SIGSTOP) does not act when it resumes and says so in its log."""
import os
import signal
import time
import urllib.request

import pytest

from cluster import leader_of, start_cluster, wait_for

DATABASE_URL = os.environ.get("CLUSTER_DATABASE_URL")
REDIS_URL = os.environ.get("REDIS_URL")

pytestmark = pytest.mark.skipif(not DATABASE_URL or not REDIS_URL,
                                reason="make test provides CLUSTER_DATABASE_URL and REDIS_URL")


def node_by_id(nodes, node_id):
    """Node ids are `<host>-<pid>-<random>`."""
    for node in nodes:
        if f"-{node.process.pid}-" in node_id:
            return node
    raise AssertionError(f"no node has the id {node_id}")


@pytest.fixture
def cluster():
    nodes = start_cluster(3, DATABASE_URL, REDIS_URL, "cluster-e2e")
    yield nodes
    for node in nodes:
        node.stop()


def test_one_leader_then_sigkill_moves_it_within_ten_seconds(cluster):
    leader_id = wait_for(lambda: leader_of(cluster), 20, message="one agreed leader")
    listed = wait_for(lambda: (lambda entries: entries if len(entries) == 3 else None)(cluster[0].cluster()["nodes"]),
                      10, message="three nodes in the registry")
    assert [entry["role"] for entry in listed].count("leader") == 1
    for entry in listed:
        assert entry["version"] and entry["address"].startswith("127.0.0.1:") and entry["last_heartbeat"]

    leader = node_by_id(cluster, leader_id)
    killed_at = time.monotonic()
    leader.signal(signal.SIGKILL)
    leader.process.wait()
    new_leader = wait_for(lambda: (lambda found: found if found and found != leader_id else None)(leader_of(cluster)),
                          15, message="a new leader")
    elapsed = time.monotonic() - killed_at
    assert new_leader != leader_id
    assert elapsed < 10, f"took {elapsed:.1f}s"


def test_a_paused_leader_is_fenced_when_it_resumes(cluster):
    leader_id = wait_for(lambda: leader_of(cluster), 20, message="one agreed leader")
    leader = node_by_id(cluster, leader_id)
    others = [node for node in cluster if node is not leader]
    leader.signal(signal.SIGSTOP)
    try:
        # Past its 5 s lease: another node takes over meanwhile.
        new_leader = wait_for(
            lambda: (lambda found: found if found and found != leader_id else None)(leader_of(others)),
            15, message="a new leader while the old one is paused")
    finally:
        leader.signal(signal.SIGCONT)
    wait_for(lambda: "paused past its lease; fenced: not acting as leader" in leader.log_text(), 10,
             message="the resumed node saying it is fenced")
    time.sleep(3)
    assert leader_of(cluster) == new_leader, "the resumed node took leadership back"
    with urllib.request.urlopen(leader.proxy + "/metrics", timeout=5) as response:
        metrics = response.read().decode()
    assert "scutum_cluster_leader_state 0" in metrics
