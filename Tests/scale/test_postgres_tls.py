"""PostgreSQL over TLS (deploy/local/pg-tls.sh: a server that refuses connections without TLS, its
certificate from a CA made at test time, naming localhost and 127.0.0.1; it also listens on
127.0.0.2, which the certificate does not name).

`scutum migrate` as an operator runs it: `sslmode=verify-full&sslrootcert=ca.pem` is accepted; a wrong
CA, a host name the certificate does not list, the system's CAs, no TLS at all, or a CA file that
is not there are each refused at once with a message naming the problem (and never the password).
A node serves with verify-full, and one given the wrong CA stops at start-up saying why.

Environment: SCUTUM_BIN; PG_TLS_DIR (the folder pg-tls.sh wrote: ca.pem, wrong-ca.pem, urls.env); REDIS_URL."""
import os
import pathlib
import subprocess
import time

import pytest

BIN = os.environ.get("SCUTUM_BIN")
TLS_DIR = pathlib.Path(os.environ["PG_TLS_DIR"]) if os.environ.get("PG_TLS_DIR") else None
REDIS_URL = os.environ.get("REDIS_URL")

pytestmark = pytest.mark.skipif(not (BIN and TLS_DIR and REDIS_URL),
                                reason="make test provides SCUTUM_BIN, PG_TLS_DIR (deploy/local/pg-tls.sh) and REDIS_URL")

if BIN and TLS_DIR and REDIS_URL:
    from nodes import Node, http, start_nodes, wait_for


def base_url():
    for line in (TLS_DIR / "urls.env").read_text().splitlines():
        name, _, value = line.partition("=")
        if name == "TLS_DATABASE_URL":
            return value
    raise AssertionError("urls.env has no TLS_DATABASE_URL")


def password():
    return (TLS_DIR / "pg-password").read_text().strip()


def url(query, host="127.0.0.1"):
    return base_url().replace("@127.0.0.1:", f"@{host}:") + query


def migrate(database_url):
    """`scutum migrate`: exit status and everything it printed; bounded, as a refusal must be quick."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "DATABASE_URL": database_url,
           "SCUTUM_LOG_LEVEL": "warning"}
    started = time.monotonic()
    out = subprocess.run([BIN, "migrate", "--env-file", "/dev/null"], env=env, capture_output=True, text=True,
                         timeout=60)
    text = out.stdout + out.stderr
    assert password() not in text, "the password was printed"
    return out.returncode, text, time.monotonic() - started


def ca(name="ca.pem"):
    return str(TLS_DIR / name)


def test_verify_full_with_the_servers_ca_is_accepted():
    for host in ("127.0.0.1", "localhost"):
        status, text, _ = migrate(url(f"?sslmode=verify-full&sslrootcert={ca()}", host))
        assert status == 0, text
        assert "Applied migrations" in text or "up to date" in text, text


def test_a_wrong_ca_is_refused_naming_the_certificate_problem():
    status, text, seconds = migrate(url(f"?sslmode=verify-full&sslrootcert={ca('wrong-ca.pem')}"))
    assert status != 0
    assert "certificate verify failed" in text, text
    assert f"sslrootcert={ca('wrong-ca.pem')}" in text, text
    assert "user scutum" in text, text
    assert "PostgreSQL at 127.0.0.1:" in text, text
    assert seconds < 20, f"a certificate problem was retried for {seconds:.0f}s"


def test_the_systems_cas_do_not_trust_a_private_ca():
    status, text, _ = migrate(url("?sslmode=verify-full"))
    assert status != 0
    assert "certificate verify failed" in text and "system's trusted CAs" in text, text


def test_verify_full_refuses_a_host_the_certificate_does_not_name():
    status, text, _ = migrate(url(f"?sslmode=verify-full&sslrootcert={ca()}", host="127.0.0.2"))
    assert status != 0
    assert 'not issued for the host name "127.0.0.2"' in text, text
    # verify-ca checks the CA only: the same address is accepted.
    status, text, _ = migrate(url(f"?sslmode=verify-ca&sslrootcert={ca()}", host="127.0.0.2"))
    assert status == 0, text


def test_require_encrypts_without_verifying():
    status, text, _ = migrate(url("?sslmode=require", host="127.0.0.2"))
    assert status == 0, text
    # The default (prefer) takes TLS when offered, as libpq does.
    status, text, _ = migrate(url(""))
    assert status == 0, text


def test_no_tls_is_refused_by_this_server_with_its_reason():
    status, text, _ = migrate(url("?sslmode=disable"))
    assert status != 0
    assert "no encryption" in text and "SQLSTATE 28000" in text, text


def test_a_missing_ca_file_stops_start_up_with_a_clear_message():
    status, text, seconds = migrate(url("?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"))
    assert status != 0
    assert "DATABASE_URL" in text and "sslrootcert=/nonexistent/ca.pem: no such file" in text, text
    assert seconds < 10


def test_a_node_serves_over_verify_full_and_one_with_a_wrong_ca_stops_saying_why():
    env = {"DATABASE_URL": url(f"?sslmode=verify-full&sslrootcert={ca()}", host="localhost"), "REDIS_URL": REDIS_URL,
           "SCUTUM_REDIS_NAMESPACE": "scale-pg-tls"}
    [node] = start_nodes([Node("pg-tls", 24540, 24541, 24542, env)])
    try:
        status, body = http("GET", node.proxy + "/health/readiness")
        assert status == 200 and body["checks"]["postgres"] == "ok", body
        status, teams = http("GET", node.admin + "/api/v1/teams", token=node.token())
        assert status == 200, teams
    finally:
        node.stop()

    env["DATABASE_URL"] = url(f"?sslmode=verify-full&sslrootcert={ca('wrong-ca.pem')}")
    wrong = Node("pg-tls-wrong-ca", 24543, 24544, 24545, env)
    try:
        wait_for(lambda: wrong.process.poll() is not None, 30, message="the node with a wrong CA to stop")
        assert wrong.process.returncode != 0
        log = wrong.log_text()
        assert "certificate verify failed" in log and "wrong-ca.pem" in log, log[-3000:]
        assert password() not in log
    finally:
        wrong.stop()
