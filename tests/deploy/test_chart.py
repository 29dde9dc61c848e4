"""The Helm chart, checked by machines: real `helm lint` and `helm template` for several value
sets, every rendered built-in object validated offline against the Kubernetes OpenAPI schemas
(`kubernetes-validate --strict`), custom resources against their CRDs, least-privilege RBAC,
security contexts everywhere, and bad values rejected with messages naming them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.support.paths import REPO

CHART = REPO / "charts" / "botrader"
VALUE_SETS = ["default", *sorted(p.stem for p in (CHART / "ci").glob("*.yaml"))]
K8S_VERSION = "1.32.0"
POD_KINDS = {"Deployment", "StatefulSet", "Job"}


def helm_binary() -> str:
    found = os.environ.get("HELM") or shutil.which("helm") or str(REPO / ".venv" / "bin" / "helm")
    assert Path(found).exists(), "no helm binary: run `make install` (scripts/fetch_helm.py)"
    return found


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm_binary(), *args], capture_output=True, text=True, timeout=60)


def render(value_set: str = "default", *extra: str) -> list[dict[str, Any]]:
    files = [] if value_set == "default" else ["-f", str(CHART / "ci" / f"{value_set}.yaml")]
    done = helm("template", "rel", str(CHART), "--namespace", "trading", *files, *extra)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    schemas = {}
    for path in sorted((CHART / "crds").glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            for version in crd["spec"]["versions"]:
                api = f"{crd['spec']['group']}/{version['name']}"
                schemas[(api, crd["spec"]["names"]["kind"])] = version["schema"]["openAPIV3Schema"]
    return schemas


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_lint_render_and_validate_offline(value_set: str) -> None:
    files = [] if value_set == "default" else ["-f", str(CHART / "ci" / f"{value_set}.yaml")]
    lint = helm("lint", "--strict", str(CHART), *files)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    docs = render(value_set)
    schemas = crd_schemas()
    for obj in docs:
        key = (obj["apiVersion"], obj["kind"])
        if key in schemas:
            jsonschema.validate(obj, schemas[key])
        elif obj["apiVersion"].startswith("monitoring.coreos.com/"):
            assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}
        else:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    names = [(o["kind"], o["metadata"]["name"]) for o in docs]
    assert len(names) == len(set(names)), "two objects share a kind and name"


def test_the_validator_rejects_what_it_should() -> None:
    """The offline validation is not a no-op: an unknown field and a wrong type fail."""
    deployment = next(o for o in render() if o["kind"] == "Deployment")
    deployment["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    deployment["spec"]["replicas"] = 1
    deployment["spec"]["replica"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_chart_crds_are_the_repository_crds_byte_for_byte() -> None:
    ours = {p.name: p.read_bytes() for p in (REPO / "crds").glob("*.yaml")}
    chart = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    assert ours and ours == chart  # Kopf's peering CRDs too: installing without Helm needs them


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_pod_is_locked_down(value_set: str) -> None:
    for obj in render(value_set):
        if obj["kind"] not in POD_KINDS:
            continue
        pod = obj["spec"]["template"]["spec"]
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"], where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert c["resources"]["requests"] and c["resources"]["limits"]["memory"], where
            if obj["kind"] != "Job":
                assert c.get("livenessProbe") and c.get("readinessProbe"), where
            assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"]), where


def rbac_rules(value_set: str, component: str = "operator") -> set[tuple[str, str, str]]:
    role = next(
        o
        for o in render(value_set)
        if o["kind"] == "ClusterRole" and o["metadata"]["name"].endswith(component)
    )
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_rbac_is_exactly_what_the_operator_uses() -> None:
    from botrader.operator.apply import PATHS

    rules = rbac_rules("default")
    assert not any("*" in part for rule in rules for part in rule)
    assert not any(resource == "secrets" for _, resource, _ in rules)  # pods reference Secrets by name
    deletes = {(group, resource) for group, resource, verb in rules if verb == "delete"}
    assert deletes == {("apps", "deployments")}  # the ownerless shared collectors; GC deletes the rest
    assert not any(verb in ("deletecollection", "update") for *_, verb in rules)
    for kind, (prefix, plural) in PATHS.items():
        group = "" if prefix == "/api/v1" else prefix.split("/")[2]
        wanted = {(group, plural, verb) for verb in ("get", "create", "patch")}
        if kind == "RayJob":
            assert not wanted & rules, "RayJob rights without kuberay.enabled"
            assert wanted <= rbac_rules("full-values")
        else:
            assert wanted <= rules, kind
    for plural in ("tradingbots", "trainingruns", "optimizationruns"):
        assert {("botrader.io", plural, v) for v in ("get", "list", "watch", "patch")} <= rules
        assert ("botrader.io", f"{plural}/status", "patch") in rules
    assert ("kopf.dev", "clusterkopfpeerings", "patch") in rules
    assert ("", "events", "create") in rules


BAD_VALUES = [
    ("operator.replicas=0", "at '/operator/replicas': minimum: got 0, want 1"),
    ("operator.replica=2", "at '/operator': additional properties 'replica' not allowed"),
    ("images.pullPolicy=Sometimes", "at '/images/pullPolicy': value must be one of"),
    ("api.service.port=70000", "at '/api/service/port': maximum"),
    ("database.url=mysql://db/x", "at '/database/url': 'mysql://db/x' does not match pattern"),
    ("metrics.podMonitor.interval=soon", "at '/metrics/podMonitor/interval': 'soon' does not match"),
    (
        "timescaledb.enabled=false",
        "database: set database.existingSecret, database.url, or timescaledb.enabled",
    ),
]


@pytest.mark.parametrize(("setting", "message"), BAD_VALUES)
def test_bad_values_are_rejected_with_a_message_naming_them(setting: str, message: str) -> None:
    done = helm("template", "rel", str(CHART), "--set", setting)
    assert done.returncode != 0 and message in done.stderr, done.stderr


def test_operator_replicas_get_distinct_priorities_and_env_the_settings_read() -> None:
    from botrader.operator.cli import ordinal

    docs = render("full-values")
    operator = next(
        o for o in docs if o["kind"] == "StatefulSet" and o["metadata"]["name"].endswith("-operator")
    )
    assert operator["spec"]["replicas"] == 2
    args = containers(operator)[0]["args"]
    assert "--priority-from-ordinal" in args and "--standalone" not in args
    assert {ordinal(f"rel-botrader-operator-{i}") for i in range(2)} == {0, 1}
    settings_source = (REPO / "operator/src/botrader/operator/settings.py").read_text()
    for env in containers(operator)[0]["env"]:
        assert f'"{env["name"]}"' in settings_source, f"{env['name']} is not read by OperatorSettings"
    assert any(o["kind"] == "ClusterKopfPeering" and o["metadata"]["name"] == "botrader" for o in docs)
    namespaced = render("external-db-values")
    assert [
        (o["kind"], o["metadata"]["namespace"]) for o in namespaced if o["kind"].endswith("KopfPeering")
    ] == [("KopfPeering", "trading")]


def test_images_and_database_wiring() -> None:
    docs = render("minimal-values")
    images = {c["image"] for o in docs if o["kind"] in POD_KINDS for c in containers(o)}
    assert images == {"registry.local/botrader-operator:dev", "registry.local/botrader-services:dev"}
    secret = next(o for o in docs if o["kind"] == "Secret")
    import base64

    assert base64.b64decode(secret["data"]["url"]).decode().startswith("postgresql://botrader:secret@")
    default = render()
    url = base64.b64decode(next(o for o in default if o["kind"] == "Secret")["data"]["url"]).decode()
    assert re.fullmatch(r"postgresql://botrader:[A-Za-z0-9]{32}@rel-botrader-timescaledb:5432/botrader", url)
    hook = next(o for o in default if o["kind"] == "Job")
    assert containers(hook)[0]["args"] == ["db", "upgrade"]
    assert hook["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    external = render("external-db-values")
    refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for o in external
        if o["kind"] in POD_KINDS
        for c in containers(o)
        for e in c["env"]
        if e["name"] == "BOTRADER_DB_URL"
    }
    assert refs == {"my-postgres-url"} and not any(o["kind"] == "Secret" for o in external)


def test_dashboards_and_rules_ship_as_they_are_in_the_repository(tmp_path: Path) -> None:
    docs = render("full-values")
    maps = [o for o in docs if o["kind"] == "ConfigMap"]
    shipped = {name: json.loads(text) for o in maps for name, text in o["data"].items()}
    files = {p.name: json.loads(p.read_text()) for p in (REPO / "grafana" / "dashboards").glob("*.json")}
    assert shipped == files and len(files) == 5
    assert all(o["metadata"]["labels"]["grafana_dashboard"] == "1" for o in maps)
    assert {o["metadata"]["namespace"] for o in maps} == {"monitoring"}
    rule = next(o for o in docs if o["kind"] == "PrometheusRule")
    source = yaml.safe_load((CHART / "files" / "prometheus-rules.yaml").read_text())
    assert rule["spec"] == source
    rendered = tmp_path / "rules.yaml"
    rendered.write_text(yaml.safe_dump(rule["spec"]))
    check = subprocess.run(["promtool", "check", "rules", str(rendered)], capture_output=True, text=True)
    assert check.returncode == 0 and "SUCCESS: 10 rules found" in check.stdout, check.stdout + check.stderr


def test_notes_tell_the_user_what_to_do_next() -> None:
    done = helm("install", "--dry-run=client", "rel", str(CHART), "--namespace", "trading")
    assert done.returncode == 0, done.stderr
    notes = done.stdout.split("NOTES:", 1)[1]
    assert "kubectl -n trading apply -f examples/tradingbot-rsi.yaml" in notes
    assert "port-forward svc/rel-botrader-api 8001" in notes
    assert "Control endpoints are disabled" in notes


def test_the_api_may_only_read_and_patch_tradingbots_and_only_with_control_enabled() -> None:
    assert rbac_rules("full-values", "api") == {
        ("botrader.io", "tradingbots", "get"),
        ("botrader.io", "tradingbots", "patch"),
    }
    api = next(
        o
        for o in render("full-values")
        if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-api")
    )
    pod = api["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "rel-botrader-api" and pod["automountServiceAccountToken"] is True
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert (
        env["BOTRADER_CONTROL"]["value"] == "kubernetes"
        and "secretKeyRef" in env["BOTRADER_API_TOKEN"]["valueFrom"]
        and env["BOTRADER_API_READ_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "botrader-api-read-token"
    )
    default = render()
    assert not [o for o in default if o["kind"] == "ClusterRole" and o["metadata"]["name"].endswith("-api")]
    api = next(o for o in default if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-api"))
    assert api["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


def test_network_policies_let_each_component_reach_only_what_it_uses() -> None:
    def policies(*extra: str) -> dict[str, dict[str, Any]]:
        found = [o for o in render("default", *extra) if o["kind"] == "NetworkPolicy"]
        return {o["metadata"]["name"].removeprefix("rel-botrader-"): o["spec"] for o in found}

    def egress(spec: dict[str, Any]) -> set[int]:
        return {p["port"] for rule in spec["egress"] for p in rule["ports"]}

    found = policies()
    assert set(found) == {"bots", "api", "operator"}
    assert all(s["policyTypes"] == ["Ingress", "Egress"] for s in found.values())
    bots = found["bots"]
    assert {e["key"]: e["values"] for e in bots["podSelector"]["matchExpressions"]} == {
        "app.kubernetes.io/managed-by": ["botrader-operator"],
        "app.kubernetes.io/component": ["trader", "collector"],
    }
    assert egress(bots) == {53, 5432, 5000, 443, 9443}
    assert egress(found["api"]) == {53, 5432, 5000}  # no control token: no Kubernetes API
    assert egress(policies("--set", "api.token.existingSecret=t")["api"]) == {53, 5432, 5000, 443, 6443}
    assert egress(found["operator"]) == {53, 5432, 5000, 443, 6443}
    assert policies("--set", "networkPolicy.enabled=false") == {}
