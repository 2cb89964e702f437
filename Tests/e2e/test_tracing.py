"""OpenTelemetry tracing end to end: a `scutum serve` process with `SCUTUM_TRACING=otlp` sends its
spans over OTLP/HTTP (protobuf, the default) to a collector run by this test, which decodes them with
OpenTelemetry's own protobuf definitions (opentelemetry-proto). The caller's W3C `traceparent` is
continued; the upstream call is a client span with the GenAI semantic conventions' attributes."""
import http.server
import json
import os
import secrets
import threading
import urllib.request

import pytest

from cluster import MASTER_KEY, Node, wait_for

DATABASE_URL = os.environ.get("TRACING_DATABASE_URL")
REDIS_URL = os.environ.get("REDIS_URL")

pytestmark = pytest.mark.skipif(not DATABASE_URL or not REDIS_URL or not os.environ.get("SCUTUM_BIN"),
                                reason="make test provides TRACING_DATABASE_URL, REDIS_URL and SCUTUM_BIN")

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402

SERVER, CLIENT = 2, 3  # Span.SpanKind
STATUS_ERROR = 2


class Collector(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver: keeps every span it is sent, with its resource's attributes."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), CollectorHandler)
        self.spans = []
        self.content_types = set()
        self.lock = threading.Lock()

    def received(self):
        with self.lock:
            return list(self.spans)


class CollectorHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/v1/traces":
            self.send_response(404)
            self.end_headers()
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self.server.lock:
            self.server.content_types.add(self.headers.get("Content-Type"))
            for resource_spans in request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.server.spans.append((resource, span))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def attributes(pairs):
    values = {}
    for pair in pairs:
        kind = pair.value.WhichOneof("value")
        values[pair.key] = getattr(pair.value, kind) if kind else None
    return values


@pytest.fixture(scope="module")
def traced():
    collector = Collector()
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    node = Node(0, DATABASE_URL, REDIS_URL, "tracing-e2e", port_base=24700, extra_env={
        "SCUTUM_TRACING": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "SCUTUM_LOG_FORMAT": "json",
    })
    try:
        wait_for(node.ready, 60, message="the traced node ready")
        yield node, collector
    finally:
        node.stop()
        collector.shutdown()


def chat(node, body, traceparent):
    request = urllib.request.Request(node.proxy + "/v1/chat/completions", data=json.dumps(body).encode(),
                                     method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", "Bearer " + MASTER_KEY)
    request.add_header("traceparent", traceparent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def trace_of(collector, trace_id, count):
    """The spans of one trace, once `count` of them have arrived."""
    def spans():
        found = [(resource, span) for resource, span in collector.received() if span.trace_id.hex() == trace_id]
        return found if len(found) >= count else None
    return wait_for(spans, 20, message=f"{count} spans of trace {trace_id} at the collector")


def new_traceparent():
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, parent_id, f"00-{trace_id}-{parent_id}-01"


def test_chat_completion_is_traced_with_genai_attributes(traced):
    node, collector = traced
    trace_id, parent_id, traceparent = new_traceparent()
    status, body = chat(node, {"model": "gpt-5-mini", "messages": [{"role": "user", "content": "Hello"}],
                               "max_tokens": 64, "temperature": 0.2}, traceparent)
    assert status == 200, body
    answer = json.loads(body)

    spans = trace_of(collector, trace_id, 2)
    resource = spans[0][0]
    assert resource.get("service.name") == "scutum"
    server = [span for _, span in spans if span.kind == SERVER]
    client = [span for _, span in spans if span.kind == CLIENT]
    assert len(server) == 1 and len(client) == 1, [(span.name, span.kind) for _, span in spans]
    server, client = server[0], client[0]

    # The caller's traceparent is continued: our server span is its child, the upstream span ours.
    assert server.parent_span_id.hex() == parent_id
    assert client.parent_span_id == server.span_id
    assert client.start_time_unix_nano >= server.start_time_unix_nano

    server_attributes = attributes(server.attributes)
    assert server_attributes["http.request.method"] == "POST"
    assert server_attributes["http.response.status_code"] == 200

    genai = attributes(client.attributes)
    assert client.name == f"chat {genai['gen_ai.request.model']}"
    assert genai["gen_ai.operation.name"] == "chat"
    assert genai["gen_ai.provider.name"] == "openai"
    assert genai["scutum.model_requested"] == "gpt-5-mini"
    assert genai["gen_ai.request.max_tokens"] == 64
    assert genai["gen_ai.request.temperature"] == pytest.approx(0.2)
    assert genai["gen_ai.usage.input_tokens"] == answer["usage"]["prompt_tokens"] > 0
    assert genai["gen_ai.usage.output_tokens"] == answer["usage"]["completion_tokens"] > 0
    assert genai["scutum.request_id"].startswith("req-")
    assert genai["server.address"] == "127.0.0.1"
    assert client.status.code != STATUS_ERROR


def test_a_stream_span_lasts_the_whole_stream_and_carries_its_usage(traced):
    node, collector = traced
    trace_id, _, traceparent = new_traceparent()
    status, body = chat(node, {"model": "gpt-5-mini", "stream": True, "stream_options": {"include_usage": True},
                               "messages": [{"role": "user", "content": "Count [mock:tokens_per_sec=40]"}]},
                        traceparent)
    assert status == 200, body
    events = [line[6:] for line in body.decode().splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    usage = json.loads(events[-2])["usage"]

    client = [span for _, span in trace_of(collector, trace_id, 2) if span.kind == CLIENT][0]
    genai = attributes(client.attributes)
    assert genai["scutum.stream"] is True
    assert genai["gen_ai.usage.output_tokens"] == usage["completion_tokens"] > 0
    # At 40 tokens/s the answer takes a while; the span covers it, not just the response head.
    chunks = len(events) - 2
    assert (client.end_time_unix_nano - client.start_time_unix_nano) / 1e9 >= 0.8 * (chunks - 1) / 40


def test_a_failed_provider_call_is_an_error_span(traced):
    node, collector = traced
    trace_id, _, traceparent = new_traceparent()
    status, body = chat(node, {"model": "gpt-5-mini",
                               "messages": [{"role": "user", "content": "x [mock:status=400]"}]}, traceparent)
    assert status == 400, body
    spans = trace_of(collector, trace_id, 2)
    client = [span for _, span in spans if span.kind == CLIENT]
    assert len(client) == 1, "a 400 from the provider is not retried"
    assert client[0].status.code == STATUS_ERROR
    assert attributes(client[0].attributes)["error.type"]
    server = [span for _, span in spans if span.kind == SERVER][0]
    assert attributes(server.attributes)["http.response.status_code"] == 400

    # The node's JSON log line about the failure names the request and the trace.
    lines = [json.loads(line) for line in node.log_text().splitlines() if line.startswith("{")]
    failures = [line for line in lines if line.get("message") == "provider call failed"
                and line.get("trace_id") == trace_id]
    assert len(failures) == 1, [line for line in lines if line.get("message") == "provider call failed"]
    assert failures[0]["request_id"] == attributes(client[0].attributes)["scutum.request_id"]
    assert failures[0]["span_id"] == client[0].parent_span_id.hex(), "the log line is written in the server span"
