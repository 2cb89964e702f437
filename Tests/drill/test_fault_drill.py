"""The fault drill (issue 15): a real `scutum serve` under steady load on a virtual key, its own
PostgreSQL and Redis; PostgreSQL is stopped for 20 s, then Redis for 20 s (and comes back empty, as a
restart without persistence does). No request on the cached key may get a 5xx, and afterwards every
successful request's `x-request-id` has exactly one `spend_logs` row.

Environment: SCUTUM_BIN (the binary), SCUTUM_ROOT (the checkout, for deploy/local/services.sh),
SCUTUM_E2E_LOGS; DRILL_OUTAGE_SECONDS shortens the outages for a quick local run."""
import os
import pathlib
import subprocess
import threading
import time

import http.client
import json

BIN = os.environ["SCUTUM_BIN"]
ROOT = pathlib.Path(os.environ.get("SCUTUM_ROOT", pathlib.Path(__file__).resolve().parents[2]))
LOGS = pathlib.Path(os.environ.get("SCUTUM_E2E_LOGS", "/tmp"))
OUTAGE = float(os.environ.get("DRILL_OUTAGE_SECONDS", "20"))
NAME, PG_PORT, REDIS_PORT = "drill", "25438", "26385"
PROXY_PORT, MOCK_PORT = 24390, 29390
MASTER_KEY = "sk-drill-master-key-0123456789abcdef"
WORKERS = 4


def services(action):
    subprocess.run([str(ROOT / "deploy/local/services.sh"), action, NAME, PG_PORT, REDIS_PORT], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def urls():
    values = {}
    for line in (ROOT / ".data" / NAME / "urls.env").read_text().splitlines():
        name, _, value = line.partition("=")
        values[name] = value
    return values


def psql(database_url, sql):
    out = subprocess.run(["psql", "-X", "-q", "-tA", database_url, "-c", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def request(connection, method, path, body=None, key=None):
    """One request on a kept-alive connection: status, lower-cased headers, body text."""
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = connection.getresponse()
    text = response.read().decode(errors="replace")
    return response.status, {k.lower(): v for k, v in response.getheaders()}, text


def once(method, path, body=None, key=None):
    connection = http.client.HTTPConnection("127.0.0.1", PROXY_PORT, timeout=30)
    try:
        return request(connection, method, path, body, key)
    finally:
        connection.close()


class Load:
    """Workers sending one chat request after another; every answer's status and x-request-id kept."""

    def __init__(self, key, model):
        self.key, self.model = key, model
        self.results = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.work, args=(index,)) for index in range(WORKERS)]

    def work(self, index):
        number = 0
        connection = http.client.HTTPConnection("127.0.0.1", PROXY_PORT, timeout=30)
        while not self.stopping.is_set():
            number += 1
            stream = number % 4 == 0
            body = {"model": self.model, "stream": stream,
                    "messages": [{"role": "user", "content": f"drill {index}-{number}"}]}
            try:
                status, headers, text = request(connection, "POST", "/v1/chat/completions", body, self.key)
                ok = status == 200 and (not stream or "data: [DONE]" in text)
                result = (status, headers.get("x-request-id"), ok, text[:200])
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", PROXY_PORT, timeout=30)
                result = (0, None, False, repr(error))
            with self.lock:
                self.results.append((time.monotonic(),) + result)
            time.sleep(0.01)
        connection.close()

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)


def test_postgres_then_redis_outage_under_load():
    services("start")
    database = "scutum_drill"
    admin_url = urls()["DATABASE_URL"]
    psql(admin_url, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    psql(admin_url, f"CREATE DATABASE {database}")
    database_url = admin_url.rsplit("/", 1)[0] + "/" + database
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "SCUTUM_API_KEY": MASTER_KEY,
           "DATABASE_URL": database_url, "REDIS_URL": urls()["REDIS_URL"], "SCUTUM_HOST": "127.0.0.1",
           "SCUTUM_PROXY_PORT": str(PROXY_PORT), "SCUTUM_ADMIN_PORT": "0", "SCUTUM_CONSOLE_PORT": "0",
           "SCUTUM_MOCK_UPSTREAM_PORT": str(MOCK_PORT), "SCUTUM_LOG_LEVEL": "info",
           "SCUTUM_SHUTDOWN_GRACE_SECONDS": "5",
           # Shorter than the outage: the key is due for a look-up while PostgreSQL is away, and must
           # still be served from the cache.
           "SCUTUM_KEY_CACHE_SECONDS": "2"}
    subprocess.run([BIN, "migrate", "--env-file", "/dev/null"], env=env, check=True, capture_output=True)
    key = subprocess.run([BIN, "keys", "create", "--alias", "drill", "--env-file", "/dev/null"], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    # The drill is about outages, not limits: no global limit.
    psql(database_url, """UPDATE settings SET value = value || '{"global_rate_limit": 0}'::jsonb""")
    psql(database_url, "UPDATE api_keys SET rpm_limit = 10000000, tpm_limit = 2000000000 WHERE key_alias = 'drill'")
    log = open(LOGS / "drill-gateway.log", "w")
    gateway = subprocess.Popen([BIN, "serve", "--env-file", "/dev/null"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if once("GET", "/health/readiness")[0] == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        models = json.loads(once("GET", "/v1/models", key=key)[2])
        model = next(m["id"] for m in models["data"] if m["id"].startswith("gpt-"))
        phases = []
        with Load(key, model) as load:
            time.sleep(5)
            phases.append(("postgres down", time.monotonic()))
            services("stop-postgres")
            time.sleep(OUTAGE)
            services("start")
            phases.append(("postgres back", time.monotonic()))
            time.sleep(5)
            phases.append(("redis down", time.monotonic()))
            services("stop-redis")
            time.sleep(OUTAGE)
            services("start")
            phases.append(("redis back, empty", time.monotonic()))
            time.sleep(10)
        results = load.results
        served = [r for r in results if r[3]]
        failures = [r for r in results if not r[3]]
        print(f"drill: {len(results)} requests, {len(served)} served, phases {[(p, round(t - results[0][0], 1)) for p, t in phases]}")
        assert not [r for r in results if r[1] >= 500 or r[1] == 0], \
            f"5xx or transport errors during the outages: {[r[1:] for r in failures][:5]}"
        assert not failures, f"failed requests: {[r[1:] for r in failures][:5]}"
        for name, at in phases:
            near = [r for r in served if at <= r[0] < at + 3]
            assert near, f"nothing was served in the 3 s after '{name}'"
        # Afterwards: exactly one spend row per served request id.
        ids = [r[2] for r in served]
        assert len(ids) == len(set(ids))
        deadline = time.monotonic() + 120
        while True:
            counts = psql(database_url, "SELECT count(*), count(DISTINCT request_id) FROM spend_logs WHERE status = 200")
            total, distinct = (int(v) for v in counts.split("|"))
            if total >= len(ids) or time.monotonic() > deadline:
                break
            time.sleep(1)
        stored = set(psql(database_url, "SELECT request_id FROM spend_logs WHERE status = 200").split())
        missing = [i for i in ids if i not in stored]
        assert not missing, f"{len(missing)} of {len(ids)} served requests have no spend row, e.g. {missing[:3]}"
        assert total == distinct == len(ids), f"{total} rows, {distinct} distinct, {len(ids)} served"
        # The node serves and bills normally after the drill.
        after = once("POST", "/v1/chat/completions", {"model": model, "messages": [
            {"role": "user", "content": "after the drill"}]}, key)
        assert after[0] == 200, after
    finally:
        gateway.terminate()
        try:
            gateway.wait(timeout=20)
        except subprocess.TimeoutExpired:
            gateway.kill()
        log.close()
        services("stop")
