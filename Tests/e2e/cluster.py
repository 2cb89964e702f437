"""Real `scutum serve` processes sharing one PostgreSQL and Redis, for the cluster tests: they are
killed (SIGKILL) and paused (SIGSTOP) as a crash or a stalled machine would be."""
import json
import os
import pathlib
import signal
import subprocess
import time
import urllib.request

BIN = os.environ["SCUTUM_BIN"]
MASTER_KEY = "sk-cluster-e2e-master-key-0123456789"
LOGS = pathlib.Path(os.environ.get("SCUTUM_E2E_LOGS", "/tmp"))


def http(method, url, body=None, token=None, timeout=5):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Node:
    def __init__(self, index, database_url, redis_url, namespace, extra_env=None, port_base=24100):
        """Ports: proxy `port_base + index`, admin `port_base + 100 + index`, mock `port_base + 200 + index`."""
        self.index = index
        self.proxy_port = port_base + index
        self.admin_port = port_base + 100 + index
        self.log_path = LOGS / f"cluster-node-{namespace}-{index}.log"
        env = {
            "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
            "SCUTUM_API_KEY": MASTER_KEY, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "SCUTUM_HOST": "127.0.0.1", "SCUTUM_PROXY_PORT": str(self.proxy_port),
            "SCUTUM_ADMIN_PORT": str(self.admin_port), "SCUTUM_CONSOLE_PORT": "0",
            "SCUTUM_MOCK_UPSTREAM_PORT": str(port_base + 200 + index),
            "SCUTUM_REDIS_NAMESPACE": namespace, "SCUTUM_LOG_LEVEL": "info",
            "SCUTUM_SHUTDOWN_GRACE_SECONDS": "2",
        }
        env.update(extra_env or {})
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([BIN, "serve", "--env-file", "/dev/null"], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.node_id = None

    @property
    def admin(self):
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def proxy(self):
        return f"http://127.0.0.1:{self.proxy_port}"

    def ready(self):
        try:
            return http("GET", self.proxy + "/health/readiness", timeout=1)[0] == 200
        except OSError:
            return False

    def token(self):
        status, body = http("POST", self.admin + "/auth/login", {"api_key": MASTER_KEY})
        assert status == 200, body
        return body["access_token"]

    def cluster(self):
        status, body = http("GET", self.admin + "/api/v1/cluster", token=self.token())
        assert status == 200, body
        return body

    def log_text(self):
        self.log.flush()
        return self.log_path.read_text()

    def signal(self, number):
        self.process.send_signal(number)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def wait_for(predicate, timeout, interval=0.2, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def start_cluster(count, database_url, redis_url, namespace, extra_env=None, port_base=24100):
    nodes = [Node(index, database_url, redis_url, namespace, extra_env, port_base) for index in range(count)]
    try:
        wait_for(lambda: all(node.ready() for node in nodes), 60, message="every node ready")
    except AssertionError:
        for node in nodes:
            node.stop()
            print(node.log_text()[-4000:])
        raise
    return nodes


def leader_of(nodes):
    """The node id every live node names as leader, once they agree on one that is alive."""
    live = [node for node in nodes if node.process.poll() is None]
    views = []
    for node in live:
        try:
            views.append((node.cluster().get("leader") or {}).get("node_id"))
        except (OSError, AssertionError):
            return None
    if views and views[0] and all(view == views[0] for view in views):
        return views[0]
    return None
