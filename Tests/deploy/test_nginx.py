"""Offline checks of deploy/nginx/scutum.conf: which paths the public host serves and where it sends them.

The config is parsed just enough to find each `server` block's locations; nginx's own matching order is
followed for the kinds used (exact `=`, prefix, `^~`, regular expression `~`). Tests/e2e/test_tls_cluster.py
runs the same file in a real nginx.
"""

import re
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "scutum.conf"


def blocks(text, keyword):
    """The bodies of every `keyword ... { ... }` block at any depth (comments removed)."""
    text = "\n".join(line.split("#")[0] for line in text.splitlines())
    found = []
    for match in re.finditer(r"(^|\n)\s*" + keyword + r"\b([^{;]*)\{", text):
        depth, index = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        found.append((match.group(2).strip(), text[match.end():index - 1]))
    return found


def server(listen):
    for _, body in blocks(CONF.read_text(), "server"):
        if re.search(r"\blisten\s+" + re.escape(listen) + r"\b", body):
            return body
    raise AssertionError(f"no server listening on {listen}")


def location_for(body, path):
    """(modifier and pattern, location body) nginx picks for `path` in a server body."""
    locations = []
    for head, inner in blocks(body, "location"):
        parts = head.split(None, 1)
        modifier, pattern = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
        locations.append((modifier, pattern, inner))
    for modifier, pattern, inner in locations:
        if modifier == "=" and path == pattern:
            return head_of(modifier, pattern), inner
    prefixes = [(m, p, i) for m, p, i in locations if m in ("", "^~") and path.startswith(p)]
    longest = max(prefixes, key=lambda entry: len(entry[1]), default=None)
    if longest and longest[0] == "^~":
        return head_of(*longest[:2]), longest[2]
    for modifier, pattern, inner in locations:
        if modifier in ("~", "~*") and re.search(pattern, path, re.IGNORECASE if modifier == "~*" else 0):
            return head_of(modifier, pattern), inner
    assert longest, f"no location takes {path}"
    return head_of(*longest[:2]), longest[2]


def head_of(modifier, pattern):
    return f"{modifier} {pattern}".strip()


PUBLIC = "443"


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "//metrics", "/health/readiness", "/health/readiness/"])
def test_public_host_answers_404_for_operator_endpoints(path):
    _, inner = location_for(server(PUBLIC), path)
    assert re.search(r"\breturn\s+404\s*;", inner), f"{path} is proxied on the public host"


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/models", "/health/liveness"])
def test_public_host_proxies_the_api(path):
    _, inner = location_for(server(PUBLIC), path)
    assert "proxy_pass http://scutum_proxy;" in inner


@pytest.mark.parametrize("path, upstream", [("/admin/api/v1/keys", "/api/v1/keys"), ("/admin/auth/login", "/auth/login")])
def test_admin_api_under_admin_on_the_public_host(path, upstream):
    """The guide's production Admin base is https://<host>/admin/api/v1."""
    _, inner = location_for(server(PUBLIC), path)
    assert "proxy_pass http://scutum_admin;" in inner
    rewrite = re.search(r"\brewrite\s+(\S+)\s+(\S+)\s+break\s*;", inner)
    assert rewrite, "the /admin prefix must be removed before the admin listener sees the path"
    pattern, replacement = rewrite.groups()
    assert re.sub(pattern, replacement.replace("$", "\\"), path) == upstream


def test_admin_port_still_serves_the_api_at_its_root():
    _, inner = location_for(server("8443"), "/api/v1/keys")
    assert "proxy_pass http://scutum_admin;" in inner
