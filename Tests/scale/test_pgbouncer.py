"""Three gateway nodes whose DATABASE_URL is PgBouncer in transaction pooling (Debian's pgbouncer,
deploy/local/pgbouncer.sh) and whose DATABASE_LISTEN_URL is the server itself.

They migrate at once through the pooler (each migration once), serve the Admin API (teams, keys,
budgets: create, list, update, delete, each step on another node), bill every chat request exactly
once in `spend_logs` and in the spend API, and a key revoked through one node is refused by another
within seconds (LISTEN/NOTIFY on the direct connections; the key cache would otherwise keep it 300 s).

Environment: SCUTUM_BIN; SCALE_DATABASE_URL (the server, a superuser: makes the test database),
PGBOUNCER_URL (PgBouncer in front of that server), REDIS_URL."""
import os
import pathlib
import uuid

import pytest

DIRECT = os.environ.get("SCALE_DATABASE_URL")
BOUNCER = os.environ.get("PGBOUNCER_URL")
REDIS_URL = os.environ.get("REDIS_URL")
DATABASE = "scutum_pgbouncer"
SQL_FILES = len(list((pathlib.Path(__file__).resolve().parents[2] / "sql").glob("*.sql")))

pytestmark = pytest.mark.skipif(not (DIRECT and BOUNCER and REDIS_URL and os.environ.get("SCUTUM_BIN")),
                                reason="make test provides SCUTUM_BIN, SCALE_DATABASE_URL, PGBOUNCER_URL, REDIS_URL")

if DIRECT and BOUNCER and REDIS_URL and os.environ.get("SCUTUM_BIN"):
    from nodes import Node, http, psql, start_nodes, wait_for, with_database


@pytest.fixture(scope="module")
def cluster():
    psql(DIRECT, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    psql(DIRECT, f"CREATE DATABASE {DATABASE}")
    env = {"DATABASE_URL": with_database(BOUNCER, DATABASE), "DATABASE_LISTEN_URL": with_database(DIRECT, DATABASE),
           "REDIS_URL": REDIS_URL, "SCUTUM_REDIS_NAMESPACE": "scale-pgbouncer"}
    nodes = start_nodes([Node(f"pgbouncer-{i}", 24500 + i, 24510 + i, 24520 + i, env) for i in range(3)])
    yield nodes
    for node in nodes:
        node.stop()


def direct(sql):
    return psql(with_database(DIRECT, DATABASE), sql)


def bouncer_admin(sql):
    """PgBouncer's admin console (the `pgbouncer` pseudo-database)."""
    return psql(with_database(BOUNCER, "pgbouncer"), sql)


def test_nodes_go_through_pgbouncer_in_transaction_mode_and_listen_directly(cluster):
    # The nodes' pool connections are PgBouncer's clients, in a transaction-pooled pool.
    pools = [line.split("|") for line in bouncer_admin("SHOW POOLS").splitlines()]
    modes = {row[0]: row[-1] for row in pools}
    assert modes.get(DATABASE) == "transaction", pools
    clients = [line for line in bouncer_admin("SHOW CLIENTS").splitlines() if f"|{DATABASE}|" in f"|{line}|"]
    assert len(clients) >= 3, clients
    # Each node holds one LISTEN on a direct session (PgBouncer's server connections never run it).
    listening = wait_for(lambda: (lambda n: n if n == 3 else None)(int(direct(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'"))),
        10, message="three LISTEN sessions")
    assert listening == 3


def test_one_leader_elected_through_the_pooler(cluster):
    """The lease row and its fenced transactions need nothing beyond a transaction."""
    def agreed():
        views = []
        for node in cluster:
            status, body = http("GET", node.admin + "/api/v1/cluster", token=node.token())
            assert status == 200, body
            views.append(body)
        leaders = {(view.get("leader") or {}).get("node_id") for view in views}
        nodes = views[0]["nodes"]
        return views[0] if len(leaders) == 1 and None not in leaders and len(nodes) == 3 else None
    view = wait_for(agreed, 20, interval=0.5, message="three nodes agreeing on one leader")
    assert [entry["role"] for entry in view["nodes"]].count("leader") == 1, view


def test_migrations_ran_once_through_the_pooler(cluster):
    rows = direct("SELECT count(*), count(DISTINCT version), max(version) FROM schema_migrations")
    total, distinct, highest = (int(value) for value in rows.split("|"))
    assert total == distinct == SQL_FILES, rows
    assert highest == SQL_FILES
    # No session-level advisory lock is left behind (migrations lock per transaction).
    assert direct("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == "0"


def test_admin_api_on_every_node(cluster):
    a, b, c = cluster
    token_a, token_b, token_c = a.token(), b.token(), c.token()
    team = f"scale-team-{uuid.uuid4().hex[:8]}"

    status, body = http("POST", a.admin + "/api/v1/teams", {"team_id": team, "team_alias": "Scale"}, token_a)
    assert status == 200, body
    status, body = http("GET", b.admin + "/api/v1/teams", token=token_b)
    assert status == 200 and team in [t["team_id"] for t in body["teams"]], body
    status, body = http("PUT", c.admin + f"/api/v1/teams/{team}", {"team_alias": "Scale renamed"}, token_c)
    assert status == 200, body
    status, body = http("GET", a.admin + f"/api/v1/teams/{team}", token=token_a)
    assert status == 200 and body["team_alias"] == "Scale renamed", body

    status, key = http("POST", b.admin + "/api/v1/keys/generate", {"key_alias": team, "team_id": team}, token_b)
    assert status == 200 and key["key"].startswith("sk-"), key
    status, body = http("GET", c.admin + "/api/v1/keys", token=token_c)
    assert status == 200 and key["key_id"] in [k["key_id"] for k in body["keys"]], body
    status, body = http("POST", a.admin + "/api/v1/keys/update", {"key": key["key"], "key_alias": team + "-x"}, token_a)
    assert status == 200 and body["key_alias"] == team + "-x", body

    status, budget = http("POST", c.admin + "/api/v1/budgets",
                          {"scope": "team", "scope_id": team, "max_budget": 50, "budget_duration": "30d"}, token_c)
    assert status == 200, budget
    status, body = http("GET", a.admin + "/api/v1/budgets", token=token_a)
    assert status == 200 and budget["id"] in [x["id"] for x in body["budgets"]], body
    status, body = http("PUT", b.admin + f"/api/v1/budgets/{budget['id']}", {"max_budget": 75}, token_b)
    assert status == 200 and float(body["max_budget"]) == 75, body
    status, body = http("DELETE", a.admin + f"/api/v1/budgets/{budget['id']}", token=token_a)
    assert status == 200, body
    assert http("GET", c.admin + f"/api/v1/budgets/{budget['id']}", token=token_c)[0] == 404

    status, body = http("POST", c.admin + "/api/v1/keys/delete", {"keys": [key["key"]]}, token_c)
    assert status == 200, body
    status, body = http("DELETE", b.admin + f"/api/v1/teams/{team}", token=token_b)
    assert status == 200, body
    assert http("GET", a.admin + f"/api/v1/teams/{team}", token=token_a)[0] == 404


def demo_model(node, key):
    status, body = http("GET", node.proxy + "/v1/models", token=key)
    assert status == 200, body
    return next(m["id"] for m in body["data"] if m["id"].startswith("gpt-"))


def test_spend_is_billed_once_per_request_across_nodes(cluster):
    token = cluster[0].token()
    status, key = http("POST", cluster[0].admin + "/api/v1/keys/generate", {"key_alias": "scale-spend"}, token)
    assert status == 200, key
    model = demo_model(cluster[1], key["key"])
    served = 0
    for number in range(30):
        node = cluster[number % 3]
        status, body = http("POST", node.proxy + "/v1/chat/completions",
                            {"model": model, "messages": [{"role": "user", "content": f"scale {number}"}]}, key["key"])
        assert status == 200, body
        served += 1

    def rows():
        count = int(direct(f"SELECT count(*) FROM spend_logs WHERE key_id = '{key['key_id']}' AND status = 200"))
        return count if count >= served else None
    assert wait_for(rows, 30, interval=0.5, message="every request's spend row") == served
    assert direct(f"SELECT count(DISTINCT request_id) FROM spend_logs WHERE key_id = '{key['key_id']}'") == str(served)
    status, body = http("GET", cluster[2].admin + "/api/v1/spend/keys", token=cluster[2].token())
    assert status == 200, body
    total = next(t for t in body["totals"] if t["key_id"] == key["key_id"])
    assert total["requests"] == served and total["total_cost"] > 0, total


def test_a_key_revoked_on_one_node_is_refused_on_another(cluster):
    a, b, _ = cluster
    token = a.token()
    status, key = http("POST", a.admin + "/api/v1/keys/generate", {"key_alias": "scale-revoke"}, token)
    assert status == 200, key
    model = demo_model(b, key["key"])
    body = {"model": model, "messages": [{"role": "user", "content": "before"}]}
    # Node b has the key cached (for 300 s unless told otherwise).
    assert http("POST", b.proxy + "/v1/chat/completions", body, key["key"])[0] == 200
    status, blocked = http("POST", a.admin + "/api/v1/keys/block", {"key": key["key"]}, token)
    assert status == 200, blocked
    refused = wait_for(lambda: (lambda s: s if s in (401, 403) else None)(
        http("POST", b.proxy + "/v1/chat/completions", body, key["key"])[0]), 5, interval=0.1,
        message="node b refusing the revoked key")
    assert refused in (401, 403)


def metric(node, line_start):
    import urllib.request
    with urllib.request.urlopen(node.proxy + "/metrics", timeout=5) as response:
        text = response.read().decode()
    return next((line.split()[-1] for line in text.splitlines() if line.startswith(line_start)), None)


def test_a_pooler_that_refuses_is_reported_by_readiness_metrics_and_log(cluster):
    """Last: PgBouncer refuses the database for a while (DISABLE + KILL), then takes it back."""
    node = cluster[0]
    bouncer_admin(f"DISABLE {DATABASE}")
    bouncer_admin(f"KILL {DATABASE}")
    try:
        def report():
            # Answered within the probe's bound (2 s) whatever PostgreSQL's side does: while PgBouncer keeps a
            # new client waiting the check says "no answer within 2.0 seconds"; the refusal comes with a later one.
            status, body = http("GET", node.proxy + "/health/readiness", timeout=4)
            return (status, body) if body["checks"]["postgres"] == "unavailable" else None
        status, body = wait_for(report, 20, interval=0.5, message="readiness reporting postgres")
        # Reached before: degraded, still serving its cached keys; the direct LISTEN connection is fine.
        assert status == 200 and body["status"] == "degraded", body
        assert body["checks"]["postgres"] == "unavailable" and body["checks"]["postgres_listen"] == "ok", body
        assert float(metric(node, 'scutum_backend_up{backend="postgres"}')) == 0
        assert float(metric(node, 'scutum_backend_up{backend="postgres_listen"}')) == 1
        port = BOUNCER.rsplit(":", 1)[1].split("/")[0]
        wait_for(lambda: f"PostgreSQL at 127.0.0.1:{port} (database {DATABASE}, user scutum, sslmode=prefer): "
                 f'the server refused: database "{DATABASE}" is disabled' in node.log_text(), 10,
                 message="the node's log naming the pooler and its reason")
    finally:
        bouncer_admin(f"ENABLE {DATABASE}")
        bouncer_admin(f"RESUME {DATABASE}")
    wait_for(lambda: http("GET", node.proxy + "/health/readiness")[1]["checks"]["postgres"] == "ok", 30,
             interval=0.5, message="postgres ok again")
    assert float(metric(node, 'scutum_backend_up{backend="postgres"}')) == 1
