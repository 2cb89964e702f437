"""Offline checks of deploy/kubernetes and deploy/Dockerfile.

Every manifest is validated against the Kubernetes OpenAPI schemas bundled in the
`kubernetes-validate` wheel (strict: unknown fields fail), each overlay is rendered by a small
kustomize-like renderer (resources, strategic-merge-ish patches, images) and the rendered objects
are checked for the properties the gateway relies on. No cluster, network or kubectl needed.

    pip install kubernetes-validate pyyaml pytest
    python -m pytest -q Tests/deploy
"""

import copy
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate import utils as kv_utils

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
BASE = K8S / "base"
OVERLAYS = sorted(p for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
KUSTOMIZE_DIRS = [BASE] + OVERLAYS
NODE_CONFIGURATION = ROOT / "Sources" / "ScutumNode" / "NodeConfiguration.swift"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
# One of the versions the wheel bundles (kubernetes_validate/kubernetes-json-schema/v1.34.0-local-strict).
K8S_VERSION = "1.34.0"
PLACEHOLDER = "REPLACE_ME"
# Prefixes of variables that the binary reads; any such name in a manifest must exist in the Swift source.
CONFIG_PREFIXES = ("SCUTUM_", "DATABASE_", "REDIS_", "JWT_", "GATEWAY_")


# ---------------------------------------------------------------- loading and rendering

def load_docs(path):
    with open(path) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def kustomization(directory):
    return load_docs(directory / "kustomization.yaml")[0]


def patch_entries(directory):
    return [(directory / entry["path"], entry.get("target")) for entry in kustomization(directory).get("patches", [])]


def patch_paths(directory):
    return [path for path, _ in patch_entries(directory)]


PATCH_FILES = {path.resolve() for d in KUSTOMIZE_DIRS for path in patch_paths(d)}
MANIFEST_FILES = sorted(
    p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml" and p.resolve() not in PATCH_FILES
)


def merge(target, patch):
    """Strategic-merge-ish: maps merge recursively, lists of named maps merge by name, other lists replace."""
    if isinstance(target, dict) and isinstance(patch, dict):
        result = dict(target)
        for key, value in patch.items():
            result[key] = merge(target[key], value) if key in target else copy.deepcopy(value)
        return result
    if (isinstance(target, list) and isinstance(patch, list) and patch
            and all(isinstance(i, dict) and "name" in i for i in target + patch)):
        result = [copy.deepcopy(i) for i in target]
        for item in patch:
            for index, existing in enumerate(result):
                if existing["name"] == item["name"]:
                    result[index] = merge(existing, item)
                    break
            else:
                result.append(copy.deepcopy(item))
        return result
    return copy.deepcopy(patch)


def identity(doc):
    return (doc["kind"], doc["metadata"]["name"])


def pod_containers(doc):
    spec = doc.get("spec", {})
    template = spec.get("jobTemplate", {}).get("spec", spec).get("template")
    if not template:
        return []
    pod = template["spec"]
    return pod.get("initContainers", []) + pod.get("containers", [])


def targeted(obj, target):
    """Whether a kustomize patch target (kind, name, namespace, labelSelector `k=v,...`) names obj."""
    for key, value in target.items():
        if key == "kind":
            found = obj["kind"] == value
        elif key in ("name", "namespace"):
            found = obj["metadata"].get(key) == value
        elif key == "labelSelector":
            labels = obj["metadata"].get("labels", {})
            found = all(labels.get(k) == v for k, v in (term.split("=", 1) for term in value.split(",")))
        else:
            raise AssertionError(f"patch target key {key} is not supported by this renderer")
        if not found:
            return False
    return True


def render(directory):
    """The objects `kubectl apply -k directory` would create (the subset of kustomize used here)."""
    config = kustomization(directory)
    objects = []
    for entry in config.get("resources", []):
        path = (directory / entry).resolve()
        objects.extend(render(path) if path.is_dir() else load_docs(path))
    for patch_file, target in patch_entries(directory):
        for patch in load_docs(patch_file):
            if target:  # kustomize applies the patch to every object the target names, whatever its own name
                matches = [i for i, o in enumerate(objects) if targeted(o, target)]
            else:
                matches = [i for i, o in enumerate(objects) if identity(o) == identity(patch)]
            assert matches, f"{patch_file}: patch target {target or identity(patch)} not among the resources"
            for index in matches:
                name = objects[index]["metadata"]["name"]
                objects[index] = merge(objects[index], patch)
                objects[index]["metadata"]["name"] = name
    for image in config.get("images", []):
        for obj in objects:
            for container in pod_containers(obj):
                name, _, tag = container["image"].partition(":")
                if name == image["name"]:
                    container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag or 'latest')}"
    if "namespace" in config:
        for obj in objects:
            if obj["kind"] != "Namespace":
                obj["metadata"]["namespace"] = config["namespace"]
    names = [identity(o) for o in objects]
    assert len(names) == len(set(names)), f"{directory}: duplicate objects {names}"
    return objects


RENDERED = {d.relative_to(K8S).as_posix(): render(d) for d in KUSTOMIZE_DIRS}


def one(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[identity(o) for o in found]}"
    return found[0]


def gateway(objects):
    return one(objects, "Deployment", "scutum")


def gateway_container(objects):
    return next(c for c in gateway(objects)["spec"]["template"]["spec"]["containers"] if c["name"] == "scutum")


def pod_labels(objects):
    return gateway(objects)["spec"]["template"]["metadata"]["labels"]


def selects(selector, labels):
    assert selector and "matchLabels" in selector, f"selector without matchLabels: {selector}"
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


def config_values(objects):
    """What the gateway's environment holds: its ConfigMap, then its explicit env."""
    values = dict(one(objects, "ConfigMap", "scutum-config")["data"])
    for var in gateway_container(objects).get("env", []):
        if "value" in var:
            values[var["name"]] = var["value"]
    return values


def swift_variable_names():
    # NodeConfiguration.swift and its extensions (NodeConfiguration+LiteLLM.swift reads SCUTUM_MODELS_FILE).
    text = "".join(path.read_text() for path in sorted(NODE_CONFIGURATION.parent.glob("NodeConfiguration*.swift")))
    names = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', text))
    assert {"SCUTUM_API_KEY", "DATABASE_URL", "SCUTUM_SHUTDOWN_GRACE_SECONDS"} <= names, "parser broken?"
    return names


# ---------------------------------------------------------------- schemas

def test_schema_version_is_bundled():
    assert K8S_VERSION in kv_utils.all_versions()


@pytest.mark.parametrize("path", MANIFEST_FILES, ids=lambda p: p.relative_to(K8S).as_posix())
def test_manifest_matches_schema(path):
    docs = load_docs(path)
    assert docs, f"{path} holds no document"
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("overlay", sorted(RENDERED))
def test_rendered_objects_match_schema(overlay):
    for doc in RENDERED[overlay]:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_validation_can_fail():
    broken = copy.deepcopy(gateway(RENDERED["base"]))
    broken["spec"]["replicas"] = "three"
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProb"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


# ---------------------------------------------------------------- kustomizations

@pytest.mark.parametrize("directory", KUSTOMIZE_DIRS, ids=lambda p: p.relative_to(K8S).as_posix())
def test_kustomization_files_exist_and_are_used(directory):
    config = kustomization(directory)
    assert config["kind"] == "Kustomization"
    listed = set()
    for entry in config.get("resources", []):
        path = (directory / entry).resolve()
        assert path.is_file() or (path / "kustomization.yaml").is_file(), f"{directory}: missing resource {entry}"
        listed.add(path)
    for path in patch_paths(directory):
        assert path.is_file(), f"{directory}: missing patch {path}"
        listed.add(path.resolve())
    unused = [p.name for p in directory.glob("*.yaml")
              if p.name not in ("kustomization.yaml", "secret.example.yaml") and p.resolve() not in listed]
    assert not unused, f"{directory}: YAML files not listed in kustomization.yaml: {unused}"
    assert "secret.example.yaml" not in config.get("resources", []), "the template would overwrite the real Secret"


@pytest.mark.parametrize("path", sorted(PATCH_FILES), ids=lambda p: p.relative_to(K8S).as_posix())
def test_patch_names_a_target(path):
    for doc in load_docs(path):
        assert doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"), path
    # render() asserts every patch finds its target; rendering all overlays happened at import.


# ---------------------------------------------------------------- the gateway

@pytest.mark.parametrize("overlay", sorted(RENDERED))
def test_deployment(overlay):
    objects = RENDERED[overlay]
    deployment = gateway(objects)
    expected_replicas = {"overlays/production": 4}.get(overlay, 3)
    assert deployment["spec"]["replicas"] == expected_replicas
    pod = deployment["spec"]["template"]["spec"]
    container = gateway_container(objects)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"proxy": 4000, "admin": 8086, "console": 5173}

    def probe_target(probe):
        port = probe["httpGet"]["port"]
        return probe["httpGet"]["path"], ports.get(port, port)

    assert probe_target(container["readinessProbe"]) == ("/health/readiness", 4000)
    assert probe_target(container["livenessProbe"]) == ("/health/liveness", 4000)
    assert probe_target(container["startupProbe"])[1] == 4000

    # Non-root, read-only, nothing extra.
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]

    # Streams drain: the pod's grace covers the preStop sleep plus the gateway's own shutdown grace.
    values = config_values(objects)
    shutdown_grace = float(values.get("SCUTUM_SHUTDOWN_GRACE_SECONDS", 30))
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] > pre_stop + shutdown_grace

    # The catalog the binary reads is the mounted ConfigMap copy of config/models.yaml.
    assert values["SCUTUM_MIGRATE_ON_START"] == "false"
    models_dir, _, models_name = values["SCUTUM_MODELS_FILE"].rpartition("/")
    models_volume = volumes[mounts[models_dir]]
    assert models_volume["configMap"]["name"] == "scutum-config"
    assert [i["path"] for i in models_volume["configMap"]["items"]] == [models_name]
    catalog = one(objects, "ConfigMap", "scutum-config")["data"]["models.yaml"]
    assert yaml.safe_load(catalog) == yaml.safe_load((ROOT / "config" / "models.yaml").read_text())

    # Sources of its environment.
    sources = container["envFrom"]
    assert {"configMapRef": {"name": "scutum-config"}} in sources
    assert {"secretRef": {"name": "scutum-secrets"}} in sources
    resources = container["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"]
    assert resources["limits"]["cpu"] and resources["limits"]["memory"]
    keys = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
    assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    for constraint in pod["topologySpreadConstraints"]:
        assert selects(constraint["labelSelector"], pod_labels(objects))


@pytest.mark.parametrize("overlay", sorted(RENDERED))
def test_services_reach_the_pods(overlay):
    objects = RENDERED[overlay]
    labels = pod_labels(objects)
    for name, port in (("scutum-proxy", 4000), ("scutum-admin", 8086), ("scutum-admin", 5173)):
        service = one(objects, "Service", name)
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
        assert all(labels.get(k) == v for k, v in service["spec"]["selector"].items())
        ports = {p["port"]: p["targetPort"] for p in service["spec"]["ports"]}
        target = ports[port]
        names = {p["name"]: p["containerPort"] for p in gateway_container(objects)["ports"]}
        assert names.get(target, target) == port


@pytest.mark.parametrize("overlay", sorted(RENDERED))
def test_migration_job(overlay):
    objects = RENDERED[overlay]
    job = one(objects, "Job")
    assert re.search(r"-v\d+(-\d+)*$", job["metadata"]["name"]), "the Job's name carries the release version"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:2] == ["scutum", "migrate"]
    assert container["image"] == gateway_container(objects)["image"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert job["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    # The Job migrates the database the gateway uses.
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    gateway_env = {e["name"]: e.get("value") for e in gateway_container(objects).get("env", [])}
    assert env.get("DATABASE_URL") == gateway_env.get("DATABASE_URL")


@pytest.mark.parametrize("overlay", sorted(RENDERED))
def test_pdb_hpa_networkpolicy_select_the_gateway(overlay):
    objects = RENDERED[overlay]
    labels = pod_labels(objects)
    pdb = one(objects, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 2 and selects(pdb["spec"]["selector"], labels)

    hpa = one(objects, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "scutum"}
    assert hpa["spec"]["minReplicas"] >= 3
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"])

    policy = one(objects, "NetworkPolicy", "scutum")
    assert selects(policy["spec"]["podSelector"], labels)
    assert "Ingress" in policy["spec"]["policyTypes"]
    admin_rules, proxy_rules = [], []
    for rule in policy["spec"]["ingress"]:
        assert rule.get("ports"), "a rule without ports opens every port, the admin one included"
        ports = {p["port"] for p in rule["ports"]}
        if ports & {8086, "admin", 5173, "console"}:
            admin_rules.append(rule)
        if 4000 in ports or "proxy" in ports:
            proxy_rules.append(rule)
    assert admin_rules and proxy_rules
    # The Admin API and the console (which serves the same API) are open only to the ingress.
    assert {8086, 5173} <= {p["port"] for rule in admin_rules for p in rule["ports"]}
    for rule in admin_rules:
        assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    assert any(rule["from"] == [{"namespaceSelector": {}}] for rule in proxy_rules)


def test_production_scales_further_than_base():
    base = one(RENDERED["base"], "HorizontalPodAutoscaler")["spec"]
    production = one(RENDERED["overlays/production"], "HorizontalPodAutoscaler")["spec"]
    assert production["maxReplicas"] > base["maxReplicas"]
    assert gateway(RENDERED["overlays/production"])["spec"]["replicas"] > gateway(RENDERED["base"])["spec"]["replicas"]
    assert not [o for o in RENDERED["overlays/production"] if o["kind"] == "StatefulSet"], "production bundles no database"


PUBLIC_HOST = "llm.example.com"
OPERATOR_ONLY = ["/metrics", "/metrics/", "/health/readiness", "/health/readiness/"]


def routed(path, rule_path, path_type, regex_host):
    """The request path a rule sends upstream for `path`, or None when the rule does not take it (the
    subset of ingress-nginx's matching used here: Exact, Prefix, and regular expressions, which it
    applies to every path of a host where any Ingress sets use-regex)."""
    if path_type == "Exact":
        return path if path == rule_path else None
    if regex_host or path_type == "ImplementationSpecific":
        return path if re.match(rule_path, path, re.IGNORECASE) else None
    prefix = rule_path.rstrip("/")
    return path if path == prefix or path.startswith(prefix + "/") or rule_path == "/" else None


def ingress_paths(objects):
    """(host, path, pathType, service, port, annotations) for every path of every Ingress."""
    entries = []
    for ingress in (o for o in objects if o["kind"] == "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                service = path["backend"]["service"]
                entries.append((rule["host"], path["path"], path["pathType"], service["name"],
                                service["port"]["number"], ingress["metadata"].get("annotations", {})))
    return entries


@pytest.mark.parametrize("overlay", sorted(RENDERED))
def test_ingress(overlay):
    objects = RENDERED[overlay]
    ingresses = [o for o in objects if o["kind"] == "Ingress"]
    assert ingresses
    main = one(objects, "Ingress", "scutum")
    annotations = main["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600
    tls_hosts = set()
    for ingress in ingresses:
        assert ingress["spec"]["ingressClassName"] == "nginx"
        assert any(k.startswith("cert-manager.io/") for k in ingress["metadata"]["annotations"])
        assert all(t.get("secretName") for t in ingress["spec"]["tls"])
        tls_hosts |= {h for t in ingress["spec"]["tls"] for h in t["hosts"]}
    entries = ingress_paths(objects)
    for host, *_ in entries:
        assert host in tls_hosts, f"{host} is served without TLS"
    assert {(service, port) for _, _, _, service, port, _ in entries} == {
        ("scutum-proxy", 4000), ("scutum-admin", 8086), ("scutum-admin", 5173)}


def public_route(objects, path):
    """Where the public host sends `path`: (service, port, upstream path), or None (404)."""
    entries = [e for e in ingress_paths(objects) if e[0] == PUBLIC_HOST]
    regex_host = any(a.get("nginx.ingress.kubernetes.io/use-regex") == "true" for *_, a in entries)
    for _, rule_path, path_type, service, port, annotations in entries:
        if routed(path, rule_path, path_type, regex_host) is None:
            continue
        target = annotations.get("nginx.ingress.kubernetes.io/rewrite-target")
        if target:
            match = re.match(rule_path, path, re.IGNORECASE)
            path = re.sub(r"\$(\d)", lambda m: match.group(int(m.group(1))), target)
        return service, port, path
    return None


@pytest.mark.parametrize("overlay", sorted(RENDERED))
def test_public_host_hides_metrics_and_readiness(overlay):
    objects = RENDERED[overlay]
    for path in OPERATOR_ONLY:
        assert public_route(objects, path) is None, f"{path} is reachable on the public host"
    assert public_route(objects, "/v1/chat/completions") == ("scutum-proxy", 4000, "/v1/chat/completions")
    assert public_route(objects, "/health/liveness") == ("scutum-proxy", 4000, "/health/liveness")


@pytest.mark.parametrize("overlay", sorted(RENDERED))
def test_admin_api_under_admin_on_the_public_host(overlay):
    """The guide's production base is https://<host>/admin/api/v1 (and /admin/auth/login)."""
    objects = RENDERED[overlay]
    assert public_route(objects, "/admin/api/v1/keys") == ("scutum-admin", 8086, "/api/v1/keys")
    assert public_route(objects, "/admin/auth/login") == ("scutum-admin", 8086, "/auth/login")
    admin_host = [e for e in ingress_paths(objects) if e[0] == "admin.llm.example.com"]
    assert [(p, s, n) for _, p, _, s, n, _ in admin_host] == [("/", "scutum-admin", 8086)]


# ---------------------------------------------------------------- trial overlay

def test_trial_bundles_postgres_and_redis():
    objects = RENDERED["overlays/trial"]
    values = config_values(objects)
    for name, port, variable in (("scutum-postgres", 5432, "DATABASE_URL"), ("scutum-redis", 6379, "REDIS_URL")):
        statefulset = one(objects, "StatefulSet", name)
        service = one(objects, "Service", statefulset["spec"]["serviceName"])
        assert service["spec"]["clusterIP"] == "None"
        assert statefulset["spec"]["volumeClaimTemplates"]
        assert statefulset["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        for container in statefulset["spec"]["template"]["spec"]["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
        host = f"{name}-0.{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local:{port}"
        assert host in values[variable], f"{variable} does not point at the bundled {name}"


# ---------------------------------------------------------------- secrets and variable names

def all_documents():
    for path in sorted(K8S.rglob("*.yaml")):
        for doc in load_docs(path):
            yield path, doc


def test_secrets_hold_only_placeholders():
    secrets = [(p, d) for p, d in all_documents() if d.get("kind") == "Secret"]
    assert secrets
    for path, secret in secrets:
        assert "data" not in secret, f"{path}: use stringData with placeholders, not base64 data"
        for key, value in secret["stringData"].items():
            assert PLACEHOLDER in value, f"{path}: {key} is not a placeholder"
            assert not re.search(r"[A-Za-z0-9+/_-]{20,}", value.replace(PLACEHOLDER, "")), f"{path}: {key} looks real"
    template = load_docs(BASE / "secret.example.yaml")[0]
    assert template["metadata"]["name"] == "scutum-secrets"
    assert {"SCUTUM_API_KEY", "DATABASE_URL", "REDIS_URL", "JWT_SECRET_KEY", "SCUTUM_ENCRYPTION_KEY"} <= set(
        template["stringData"])


def test_variable_names_exist_in_the_binary():
    known = swift_variable_names()
    used = set(one(RENDERED["base"], "ConfigMap", "scutum-config")["data"]) - {"models.yaml"}
    used |= set(load_docs(BASE / "secret.example.yaml")[0]["stringData"])
    helpers = {}
    for objects in RENDERED.values():
        for obj in objects:
            for container in pod_containers(obj):
                if not container["image"].split(":")[0].endswith("scutum"):
                    continue
                for var in container.get("env", []):
                    used.add(var["name"])
                    if not var["name"].startswith(CONFIG_PREFIXES):
                        helpers[var["name"]] = container
    unknown = sorted(n for n in used if n.startswith(CONFIG_PREFIXES) and n not in known)
    assert not unknown, f"variables the binary never reads: {unknown}"
    for name, container in helpers.items():
        # Anything else must only feed a $(NAME) reference in another variable.
        assert any(f"$({name})" in (v.get("value") or "") for v in container["env"]), f"stray variable {name}"


# ---------------------------------------------------------------- Dockerfile

def test_dockerfile():
    text = DOCKERFILE.read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    froms = [line for line in lines if line.upper().startswith("FROM ")]
    assert len(froms) >= 2, "multi-stage"
    assert re.match(r"FROM swift:6\.\d+-noble AS \w+", froms[0], re.I)
    build = " ".join(lines)
    assert "--static-swift-stdlib" in build and "-c release" in build
    product = re.search(r"--product (\S+)", build).group(1)
    assert f'.executable(name: "{product}"' in (ROOT / "Package.swift").read_text()
    final_stage = lines[lines.index(froms[-1]):]
    users = [line.split()[1] for line in final_stage if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image runs as a non-root user"
    assert users[-1].split(":")[0] == "10001"
    assert any(re.match(r"EXPOSE\s+4000\s+8086\s+5173", line) for line in final_stage)
    # The admin console's files travel next to the binary, where it looks for them.
    assert any(re.match(r"COPY\s+--from=\S+\s+\S*Scutum_ScutumAdmin\.resources\s+/usr/local/bin/Scutum_ScutumAdmin\.resources", line)
               for line in final_stage)
    assert any(line.replace(" ", "") == 'ENTRYPOINT["scutum","serve"]' for line in final_stage)
    assert any(re.match(r"COPY\s+sql\s", line) for line in final_stage)
    assert any(re.match(r"COPY\s+config/models\.yaml\s", line) for line in final_stage)
    assert "libhiredis" in " ".join(final_stage)
    for variable in re.findall(r"\b(SCUTUM_[A-Z0-9_]+)=", text):
        assert variable in swift_variable_names(), variable
