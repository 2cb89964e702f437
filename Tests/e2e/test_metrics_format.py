"""`/metrics` parses as the Prometheus text format (with the reference client's parser), carries the
per-request series after traffic, and the proxy's response headers (request id, overhead) arrive
through the plain OpenAI SDK."""
import os
import urllib.request

import openai
from prometheus_client.parser import text_string_to_metric_families

KEY = os.environ["SCUTUM_API_KEY"]
BASE_URL = os.environ.get("SCUTUM_BASE_URL", "http://localhost:4000")


def test_metrics_parse_as_prometheus_text_and_count_requests():
    client = openai.OpenAI(base_url=BASE_URL + "/v1", api_key=KEY, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-5-mini", messages=[{"role": "user", "content": "metrics please"}],
        extra_headers={"x-request-id": "e2e-metrics-1"})
    assert raw.headers["x-request-id"] == "e2e-metrics-1"
    assert float(raw.headers["x-scutum-overhead-ms"]) >= 0
    raw.parse()
    urllib.request.urlopen(BASE_URL + "/health/readiness", timeout=5).read()
    with urllib.request.urlopen(BASE_URL + "/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    for name in ["scutum_requests", "scutum_request_duration_seconds", "scutum_gateway_overhead_seconds",
                 "scutum_tokens", "scutum_queue_depth", "scutum_backend_up", "scutum_cluster_leader_state"]:
        assert name in families, f"{name} missing from {sorted(families)}"
    served = [sample for sample in families["scutum_requests"].samples
              if sample.labels.get("model") == "gpt-5-mini" and sample.labels.get("status") == "200"]
    assert served and served[0].value >= 1
    assert any(sample.value == 1 for sample in families["scutum_backend_up"].samples
               if sample.labels.get("backend") == "postgres")
