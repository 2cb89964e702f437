"""Three gateway nodes behind real nginx over TLS, with deploy/nginx/scutum.conf rendered for
loopback: the config passes `nginx -t`, the guide's OpenAI SDK examples work through it (streaming
arrives in several chunks), the Admin API works over TLS, and SIGKILLing a node in the middle of a
load of chat completions fails none of them (nginx retries on another node)."""
import json
import os
import pathlib
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pytest

DATABASE_URL = os.environ.get("TLS_DATABASE_URL")
REDIS_URL = os.environ.get("REDIS_URL")
NGINX = shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                       if os.access(path, os.X_OK)), None)
OPENSSL = shutil.which("openssl")

pytestmark = [
    pytest.mark.skipif(not DATABASE_URL or not REDIS_URL or not os.environ.get("SCUTUM_BIN"),
                       reason="make test provides SCUTUM_BIN, TLS_DATABASE_URL and REDIS_URL"),
    pytest.mark.skipif(not NGINX or not OPENSSL, reason="needs the nginx and openssl binaries (apt-get install nginx openssl)"),
]

if DATABASE_URL and REDIS_URL and os.environ.get("SCUTUM_BIN"):
    from cluster import MASTER_KEY, start_cluster, wait_for

REPO = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "deploy" / "nginx" / "scutum.conf"
EXAMPLES = pathlib.Path(__file__).parent / "examples"
PORT_BASE = 25100          # nodes: proxy 25100+i, admin 25200+i, mock upstream 25300+i
NODES = 3
PROXY_TLS_PORT = 25443
ADMIN_TLS_PORT = 25444
HTTP_PORT = 25480
PROXY = f"https://localhost:{PROXY_TLS_PORT}"
ADMIN = f"https://localhost:{ADMIN_TLS_PORT}"


def render(template, workdir, cert, key):
    """deploy/nginx/scutum.conf with loopback ports, the test certificate, logs in `workdir`."""
    text = template
    proxy_servers = "".join(f"    server 127.0.0.1:{PORT_BASE + i} max_fails=3 fail_timeout=10s;\n" for i in range(NODES))
    admin_servers = "".join(f"    server 127.0.0.1:{PORT_BASE + 100 + i} max_fails=3 fail_timeout=10s;\n" for i in range(NODES))
    text, count = re.subn(r"(upstream scutum_proxy \{.*?\n)((?:    server [^\n]*\n)+)",
                          lambda m: m.group(1) + proxy_servers, text, flags=re.S)
    assert count == 1
    text, count = re.subn(r"(upstream scutum_admin \{.*?\n)((?:    server [^\n]*\n)+)",
                          lambda m: m.group(1) + admin_servers, text, flags=re.S)
    assert count == 1
    replacements = [
        (r"listen 80;", f"listen 127.0.0.1:{HTTP_PORT};"),
        (r"listen 443 ssl", f"listen 127.0.0.1:{PROXY_TLS_PORT} ssl"),
        (r"listen 8443 ssl", f"listen 127.0.0.1:{ADMIN_TLS_PORT} ssl"),
        (r"\n\s*listen \[::\][^\n]*", ""),
        (r"server_name llm\.example\.com;", "server_name localhost;"),
        (r"ssl_certificate +\S+;", f"ssl_certificate {cert};"),
        (r"ssl_certificate_key +\S+;", f"ssl_certificate_key {key};"),
        (r"access_log /var/log/nginx/(\S+) scutum;", f"access_log {workdir}/\\1 scutum;"),
    ]
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text)
        assert count, f"the template no longer has {pattern!r}"
    directives = "\n".join(line.split("#")[0] for line in text.splitlines())
    assert "/var/log" not in directives and "/etc/nginx" not in directives and "10.0.1." not in directives
    return text


def main_config(workdir, site):
    """A minimal nginx.conf around the site file, everything inside `workdir`."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "\n".join(f"    {name}_temp_path {workdir}/{name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""{user}worker_processes 2;
error_log {workdir}/error.log info;
events {{ worker_connections 1024; }}
http {{
{temps}
    include {site};
}}
"""


@pytest.fixture(scope="module")
def workdir():
    path = pathlib.Path(tempfile.mkdtemp(prefix="scutum-tls-"))
    yield path
    logs = pathlib.Path(os.environ.get("SCUTUM_E2E_LOGS", "/tmp"))
    for name in ("error.log", "scutum-proxy.access.log", "scutum-admin.access.log"):
        if (path / name).exists():
            shutil.copy(path / name, logs / f"tls-nginx-{name}")
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def tls(workdir):
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    site = workdir / "scutum.conf"
    site.write_text(render(TEMPLATE.read_text(), workdir, cert, key))
    conf = workdir / "nginx.conf"
    conf.write_text(main_config(workdir, site))
    return {"cert": cert, "conf": conf, "site": site}


def nginx_command(workdir, conf, *extra):
    return [NGINX, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(conf),
            "-g", f"daemon off; pid {workdir}/nginx.pid;", *extra]


@pytest.fixture(scope="module")
def stack(workdir, tls):
    # A Redis namespace of its own per run: the load below is a quarter of the gateway's global
    # limit (1000 requests a minute, counted in Redis), so back-to-back runs sharing one would 429.
    nodes = start_cluster(NODES, DATABASE_URL, REDIS_URL, f"tls-e2e-{os.getpid()}", port_base=PORT_BASE)
    nginx = subprocess.Popen(nginx_command(workdir, tls["conf"]), stdout=subprocess.DEVNULL,
                             stderr=open(workdir / "nginx.stderr", "w"))
    try:
        context = trusting(tls["cert"])

        def up():
            try:
                # Liveness: the public host does not serve /health/readiness (nor /metrics).
                with urllib.request.urlopen(PROXY + "/health/liveness", timeout=1, context=context) as response:
                    return response.status == 200
            except OSError:
                return nginx.poll() is not None and pytest.fail(
                    "nginx exited: " + (workdir / "nginx.stderr").read_text() + (workdir / "error.log").read_text())
        wait_for(up, 20, message="nginx serving the proxy over TLS")
        yield {"nodes": nodes, "nginx": nginx, **tls}
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(timeout=10)
        except subprocess.TimeoutExpired:
            nginx.kill()
            nginx.wait()
        for node in nodes:
            node.stop()


def trusting(cert):
    """Verifies the server against the test's self-signed certificate (an SSL context: the HTTP
    clients deprecate `verify=<path>`)."""
    return ssl.create_default_context(cafile=str(cert))


def sdk(api_key, cert, **options):
    """An SDK client given its own HTTP client that trusts the certificate (the SDK's default client
    class: httpx2's in openai 3, httpx's before)."""
    import openai
    client_class = getattr(openai, "DefaultHttpx2Client", None) or openai.DefaultHttpxClient
    return openai.OpenAI(base_url=PROXY + "/v1", api_key=api_key,
                         http_client=client_class(verify=trusting(cert), timeout=30), **options)


class AdminAnswer:
    def __init__(self, status_code, text):
        self.status_code, self.text = status_code, text

    def json(self):
        return json.loads(self.text)


def admin_call(method, path, cert, body=None, token=None, base=ADMIN):
    """One Admin API call over TLS with the standard library (verifying the test certificate)."""
    request = urllib.request.Request(base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10, context=trusting(cert)) as response:
            return AdminAnswer(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        return AdminAnswer(error.code, error.read().decode())


def test_rendered_config_passes_nginx_t(workdir, tls):
    result = subprocess.run(nginx_command(workdir, tls["conf"], "-t"), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def run_guide_example(name, cert):
    """An example from examples/ exactly as the guide prints it, with only the base URL (nginx over
    TLS) and the key filled in; it trusts the test certificate through SSL_CERT_FILE, which the
    SDK's HTTP client honours."""
    code = (EXAMPLES / name).read_text().replace("http://localhost:4000/v1", PROXY + "/v1")
    code = code.replace("$SCUTUM_API_KEY", MASTER_KEY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SSL_CERT_FILE": str(cert)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_guide_python_examples_over_tls(stack):
    assert "Paris" in run_guide_example("chat_sdk.py", stack["cert"])
    poem = run_guide_example("streaming_sdk.py", stack["cert"])
    assert poem.count("\n") >= 3 and "API" in poem, poem

    # The same through an SDK client given its own HTTP client that trusts the certificate.
    client = sdk(MASTER_KEY, stack["cert"])
    response = client.chat.completions.create(
        model="claude-sonnet-4.5", messages=[{"role": "user", "content": "What is the capital of France?"}])
    assert "Paris" in response.choices[0].message.content

    raw = client.chat.completions.with_raw_response.create(
        model="claude-sonnet-4.5", messages=[{"role": "user", "content": "Hello"}])
    assert re.fullmatch(r"[0-9a-f]{32}", raw.headers.get("x-request-id", "")), raw.headers
    mine = client.chat.completions.with_raw_response.create(
        model="claude-sonnet-4.5", messages=[{"role": "user", "content": "Hello"}],
        extra_headers={"X-Request-ID": "tls-e2e-caller-id-1"})
    assert mine.headers.get("x-request-id") == "tls-e2e-caller-id-1"

    # Streaming arrives in many chunks, unbuffered by nginx: with the demo provider writing 20
    # tokens a second, they reach the SDK spread over time, not all at once when the stream ends.
    arrivals = []
    for chunk in client.chat.completions.create(
            model="claude-sonnet-4.5", stream=True,
            messages=[{"role": "user", "content": "Write a short poem about APIs. [mock:tokens_per_sec=20]"}]):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic())
    assert len(arrivals) >= 5, arrivals
    expected = (len(arrivals) - 1) / 20
    assert arrivals[-1] - arrivals[0] > expected / 2, (len(arrivals), arrivals[-1] - arrivals[0], expected)


def test_admin_login_over_tls_and_a_generated_key_works_on_the_proxy(stack):
    login = admin_call("POST", "/auth/login", stack["cert"], {"api_key": MASTER_KEY})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    generated = admin_call("POST", "/api/v1/keys/generate", stack["cert"],
                           {"key_alias": "tls-service", "max_budget": 100, "duration": "90d"}, token)
    assert generated.status_code == 200, generated.text
    key = generated.json()["key"]
    assert key.startswith("sk-")
    answer = sdk(key, stack["cert"]).chat.completions.create(
        model="claude-sonnet-4.5", messages=[{"role": "user", "content": "Hello"}])
    assert answer.choices[0].message.content


def test_public_host_serves_the_admin_api_under_admin_and_hides_operator_endpoints(stack):
    """The guide's production Admin base is https://<host>/admin/api/v1; /metrics and readiness stay private."""
    login = admin_call("POST", "/admin/auth/login", stack["cert"], {"api_key": MASTER_KEY}, base=PROXY)
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    teams = admin_call("GET", "/admin/api/v1/teams", stack["cert"], token=token, base=PROXY)
    assert teams.status_code == 200, teams.text
    for path in ("/metrics", "/metrics/", "/health/readiness", "/health/readiness/"):
        hidden = admin_call("GET", path, stack["cert"], base=PROXY)
        assert hidden.status_code == 404, f"{path}: {hidden.status_code} {hidden.text[:200]}"


def test_sigkill_of_a_node_under_load_fails_no_request(stack):
    threads_count, per_thread, slow_count = 4, 60, 6
    total = threads_count * per_thread + slow_count
    victim = stack["nodes"][1]
    done, failures, request_ids = [], [], []
    lock = threading.Lock()
    killed = threading.Event()

    def worker(count=per_thread, latency_ms=50):
        client = sdk(MASTER_KEY, stack["cert"], max_retries=0)
        for _ in range(count):
            try:
                # The demo provider answers after `latency_ms`, so the kill finds requests in flight.
                raw = client.chat.completions.with_raw_response.create(
                    model="claude-sonnet-4.5",
                    messages=[{"role": "user", "content": f"Hello [mock:latency_ms={latency_ms}]"}])
                answer = raw.parse()
                assert answer.choices[0].message.content
                with lock:
                    done.append(1)
                    request_ids.append(raw.headers.get("x-request-id"))
            except Exception as error:  # noqa: BLE001 - every failure counts
                with lock:
                    failures.append(f"{'after' if killed.is_set() else 'before'} kill: {error!r}")

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    wait_for(lambda: len(done) + len(failures) >= total // 3 or not any(t.is_alive() for t in threads), 40,
             interval=0.01, message="a third of the requests")
    # Slow requests spread over the nodes by least_conn: the victim surely has some in flight.
    slow = [threading.Thread(target=worker, kwargs={"count": 1, "latency_ms": 2000}) for _ in range(slow_count)]
    for thread in slow:
        thread.start()
    threads += slow
    time.sleep(0.7)
    victim.signal(signal.SIGKILL)
    killed.set()
    victim.process.wait()
    completed_at_kill = len(done) + len(failures)
    for thread in threads:
        thread.join(60)
    elapsed = time.monotonic() - started
    print(f"{total} requests in {elapsed:.1f}s, node killed after {completed_at_kill}; failures: {len(failures)}")
    assert completed_at_kill < total * 2 // 3, "the kill came too late to matter"
    assert not failures, failures[:5]
    assert len(done) == total
    assert all(rid and re.fullmatch(r"[0-9a-f]{32}", rid) for rid in request_ids)
    assert len(set(request_ids)) == total

    # Traffic went to all three nodes, and nginx did move requests off the killed node: attempts
    # on it (reset mid-request or refused) followed by a successful attempt on another node.
    log = (stack["site"].parent / "scutum-proxy.access.log").read_text()
    used = set(re.findall(r"upstream=127\.0\.0\.1:(\d+)", log))
    assert used >= {str(PORT_BASE + i) for i in range(NODES)}, used
    victim_port = PORT_BASE + 1
    retried = [line for line in log.splitlines()
               if re.search(rf"upstream=[^ ]*127\.0\.0\.1:{victim_port}, ", line) and re.search(r"upstream_status=[\d, ]*, 200 ", line)]
    errors = (stack["site"].parent / "error.log").read_text()
    cut_off = [line for line in errors.splitlines()
               if "[error]" in line and f"127.0.0.1:{victim_port}/v1/chat/completions" in line
               and "while reading response header" in line]
    print(f"requests nginx retried on another node: {len(retried)}, of which cut off mid-request: {len(cut_off)}")
    assert retried, "no request was retried: the kill did not hit the load"
    assert cut_off, "the kill found no request in flight on the node"
