"""Real `scutum serve` processes and PostgreSQL helpers for the scale-out tests (Tests/scale): the
nodes are Tests/e2e/cluster.py's, on ports of this suite's own."""
import os
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "e2e"))

from cluster import LOGS, MASTER_KEY, Node as ClusterNode, http, wait_for  # noqa: E402

__all__ = ["MASTER_KEY", "Node", "http", "psql", "start_nodes", "wait_for", "with_database"]


def psql(url, sql):
    """One statement through the psql binary; its output, unaligned, fields split by `|`."""
    out = subprocess.run(["psql", "-X", "-q", "-tA", url, "-c", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def with_database(url, name):
    """`url` with its database replaced by `name` (query string kept)."""
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return base + ("?" + query if query else "")


class Node(ClusterNode):
    """One gateway node in demo mode (an in-process mock upstream on `mock_port`), on given ports."""

    def __init__(self, name, proxy_port, admin_port, mock_port, env):
        self.index = name
        self.proxy_port, self.admin_port = proxy_port, admin_port
        self.log_path = LOGS / f"scale-{name}.log"
        full = {
            "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
            "SCUTUM_API_KEY": MASTER_KEY, "SCUTUM_HOST": "127.0.0.1",
            "SCUTUM_PROXY_PORT": str(proxy_port), "SCUTUM_ADMIN_PORT": str(admin_port),
            "SCUTUM_CONSOLE_PORT": "0", "SCUTUM_MOCK_UPSTREAM_PORT": str(mock_port),
            "SCUTUM_LOG_LEVEL": "info", "SCUTUM_SHUTDOWN_GRACE_SECONDS": "2",
        }
        full.update(env)
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([os.environ["SCUTUM_BIN"], "serve", "--env-file", "/dev/null"], env=full,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.node_id = None


def start_nodes(nodes, timeout=90):
    """Waits until every node answers ready; stops them all, printing their logs, if one exits or times out."""
    try:
        wait_for(lambda: all(node.process.poll() is None and node.ready() for node in nodes)
                 or any(node.process.poll() is not None for node in nodes), timeout, message="every node ready")
        dead = [node for node in nodes if node.process.poll() is not None]
        assert not dead, f"node {dead[0].index} exited: {dead[0].log_text()[-3000:]}"
    except AssertionError:
        for node in nodes:
            node.stop()
            print(f"--- {node.index}\n" + node.log_text()[-4000:])
        raise
    return nodes
