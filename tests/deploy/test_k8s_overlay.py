"""deploy/overlays/production: the example overlay renders, and its Ingress, NetworkPolicies
and ServiceMonitors fit the base's workloads and Services (as rendered by kustomize)."""

from __future__ import annotations

import subprocess
from functools import cache
from typing import Any

import kubernetes_validate
import yaml
from deploy_code import ROOT
from deploy_manifests import WORKLOAD_KINDS, pod_template

OVERLAY = ROOT / "deploy" / "overlays" / "production"
POSTGRES, AMQP, AMQPS = 5432, 5672, 5671
SMTP_AND_WEBHOOKS = {25, 465, 587, 80, 443}
# What each workload's pods need to reach (DNS aside), and nothing more.
EGRESS_PORTS = {
    "notices-api": {POSTGRES, AMQP, AMQPS},
    "relay": {POSTGRES, AMQP, AMQPS},
    "notifier-consumer": {POSTGRES, AMQP, AMQPS},
    "notifier-dispatcher": {POSTGRES} | SMTP_AND_WEBHOOKS,
    "notifier-api": {POSTGRES},
    "notices-api-migrate": {POSTGRES},
    "notifier-migrate": {POSTGRES},
    "notifier-prune": {POSTGRES},
}
# Who may open connections to a workload's pods, besides Prometheus.
PUBLIC = {"notices-api", "notifier-api"}


@cache
def rendered() -> tuple[dict[str, Any], ...]:
    output = subprocess.run(
        ["kubectl", "kustomize", str(OVERLAY)], capture_output=True, text=True, check=True
    ).stdout
    return tuple(o for o in yaml.safe_load_all(output) if o)


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in rendered() if o["kind"] == kind}


def workloads() -> dict[str, dict[str, Any]]:
    return {name: o for kind in WORKLOAD_KINDS for name, o in objects(kind).items()}


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = pod_template(workload)["metadata"]["labels"]
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value, operator = labels.get(expression["key"]), expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
    return True


def policies_of(workload: dict[str, Any], policy_type: str) -> list[dict[str, Any]]:
    return [
        policy["spec"]
        for policy in objects("NetworkPolicy").values()
        if policy_type in policy["spec"]["policyTypes"]
        and selects(policy["spec"]["podSelector"], pod_labels(workload))
    ]


def named_ports(workload: dict[str, Any]) -> dict[str, int]:
    spec = pod_template(workload)["spec"]
    return {
        port["name"]: port["containerPort"]
        for container in spec["containers"]
        for port in container.get("ports", [])
    }


def test_the_overlay_sets_its_namespace_and_images() -> None:
    for obj in rendered():
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == "notices", obj["metadata"]["name"]
    for workload in workloads().values():
        for container in pod_template(workload)["spec"]["containers"]:
            assert container["image"].startswith("registry.example.com/"), container["image"]


def test_every_namespace_pod_starts_denied() -> None:
    deny = objects("NetworkPolicy")["default-deny"]["spec"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny


def test_each_workload_reaches_only_what_it_needs() -> None:
    assert set(workloads()) == set(EGRESS_PORTS)
    for name, workload in workloads().items():
        allowed = {
            port["port"]
            for policy in policies_of(workload, "Egress")
            for rule in policy.get("egress", [])
            for port in rule.get("ports", [])
            if port["port"] != 53  # DNS, for everyone
        }
        assert allowed == EGRESS_PORTS[name], name


def test_only_the_ingress_controller_reaches_the_public_apis() -> None:
    for name, workload in workloads().items():
        sources = {
            peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            for policy in policies_of(workload, "Ingress")
            for rule in policy.get("ingress", [])
            for peer in rule.get("from", [])
        }
        expected = {"monitoring", "ingress-nginx"} if name in PUBLIC else {"monitoring"}
        assert sources == expected, name


def test_ingress_routes_to_named_ports_of_existing_services() -> None:
    services = objects("Service")
    backends = [
        path["backend"]["service"]
        for ingress in objects("Ingress").values()
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert {backend["name"] for backend in backends} == {"notices-api", "notifier"}
    for backend in backends:
        ports = {port["name"] for port in services[backend["name"]]["spec"]["ports"]}
        assert backend["port"]["name"] in ports, backend


def test_every_long_running_pod_is_scraped() -> None:
    """Each Deployment's pods are behind a Service a ServiceMonitor selects, on a port one of
    its endpoints names, and that port is the container's /metrics port."""
    scraped: set[str] = set()
    for monitor in objects("ServiceMonitor").values():
        endpoint_ports = {endpoint["port"] for endpoint in monitor["spec"]["endpoints"]}
        assert {e["path"] for e in monitor["spec"]["endpoints"]} == {"/metrics"}
        for service in objects("Service").values():
            if not selects(monitor["spec"]["selector"], service["metadata"].get("labels", {})):
                continue
            ports = {port["name"] for port in service["spec"]["ports"]} & endpoint_ports
            assert ports, service["metadata"]["name"]
            for name, deployment in objects("Deployment").items():
                if selects({"matchLabels": service["spec"]["selector"]}, pod_labels(deployment)):
                    metrics_port = deployment["spec"]["template"]["metadata"]["annotations"][
                        "prometheus.io/port"
                    ]
                    assert {str(named_ports(deployment)[p]) for p in ports} == {metrics_port}
                    scraped.add(name)
    assert scraped == set(objects("Deployment"))


# Kinds of the Prometheus Operator: no schema in the Kubernetes release; the test above
# checks the ServiceMonitors' fields that matter against the Services they select.
CUSTOM_KINDS = {"ServiceMonitor"}
KUBERNETES_VERSION = "1.32"  # the oldest release the manifests are meant for


def test_every_object_is_valid_for_its_kubernetes_schema() -> None:
    """Base and overlay as rendered, against the Kubernetes JSON schemas bundled by
    kubernetes-validate (offline), strict: an unknown or misplaced field fails."""
    base = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "deploy" / "k8s")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for obj in (*rendered(), *(o for o in yaml.safe_load_all(base) if o)):
        if obj["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            raise AssertionError(f"{obj['kind']}/{obj['metadata']['name']}: {error}") from None
