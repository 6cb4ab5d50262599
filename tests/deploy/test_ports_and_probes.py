"""Ports and probe paths in Dockerfiles, compose and Kubernetes match what the code serves."""

from dataclasses import dataclass
from typing import Any

from deploy_code import (
    api_resolve_paths,
    api_setting_default,
    notifier_route_paths,
    notifier_setting_default,
    notifier_settings_available,
    run_in_api,
    waits_for,
)
from deploy_manifests import (
    API_IMAGE,
    NOTIFIER_IMAGE,
    command_of,
    compose_app_services,
    compose_environment,
    compose_notifier_processes,
    compose_one_shot_services,
    container_environment,
    dockerfile_for,
    exec_form,
    healthcheck_command,
    http_probes,
    http_targets,
    image_name,
    k8s_containers,
    k8s_objects,
    merged_environment,
    parse_dockerfile,
    pod_spec,
)

API_PORT = 8000  # gunicorn's --bind is part of the deployment; everything else must agree.
RELAY_METRICS_PORT = "OUTBOX_RELAY_METRICS_PORT"
NOTIFIER_PORT = "NOTIFIER_API_PORT"


def is_relay(command: list[str]) -> bool:
    return "outbox_relay" in command


def api_env() -> dict[str, str]:
    return compose_environment(compose_app_services(API_IMAGE)["notices-api"])


@dataclass(frozen=True)
class Probe:
    where: str
    port: int
    path: str
    env: dict[str, str]  # the environment of the probed process there


def relay_metrics_port(env: dict[str, str]) -> int:
    """The port the relay serves metrics on under ``env`` (the setting, else its default)."""
    try:
        default = api_setting_default(RELAY_METRICS_PORT)
    except LookupError:
        waits_for(f"{RELAY_METRICS_PORT} in the settings (relay branch)")
    return int(env.get(RELAY_METRICS_PORT, default))


def notifier_port(env: dict[str, str]) -> int:
    if not notifier_settings_available():
        waits_for("notifier.settings (notifier branch, not merged)")
    return int(env.get(NOTIFIER_PORT, notifier_setting_default(NOTIFIER_PORT)))


def probe_targets() -> dict[str, list[Probe]]:
    """Every HTTP probe of the Dockerfiles, compose and Kubernetes, by the process it probes."""
    targets: dict[str, list[Probe]] = {"api": [], "relay": [], "notifier": []}
    for image, process in ((API_IMAGE, "api"), (NOTIFIER_IMAGE, "notifier")):
        dockerfile = parse_dockerfile(dockerfile_for(image))
        for check in dockerfile.final.all("HEALTHCHECK"):
            targets[process] += [Probe("Dockerfile", *t, {}) for t in http_targets(check)]
        for name, service in compose_app_services(image).items():
            if name in compose_one_shot_services():
                continue
            kind = "relay" if is_relay(command_of(service)) else process
            found = http_targets(healthcheck_command(service))
            assert found, f"compose {name}: healthcheck is not an HTTP probe"
            env = compose_environment(service)
            targets[kind] += [Probe(f"compose {name}", *t, env) for t in found]
    for workload, _, container in k8s_containers():
        kind = "notifier" if image_name(container) == NOTIFIER_IMAGE else "api"
        kind = "relay" if is_relay(container.get("command", [])) else kind
        targets[kind] += [
            Probe(f"k8s {workload} {k}", *t, merged_environment(container))
            for k, t in http_probes(container).items()
        ]
    return targets


def test_every_k8s_deployment_container_has_probes() -> None:
    for name, deployment in k8s_objects("Deployment").items():
        for container in pod_spec(deployment)["containers"]:
            assert {"livenessProbe", "readinessProbe"} <= http_probes(container).keys(), name


def test_api_probes_hit_its_port_and_routes() -> None:
    targets = probe_targets()["api"]
    assert {t.port for t in targets} == {API_PORT}, targets
    paths = sorted({t.path for t in targets} | {"/metrics"})
    resolved = api_resolve_paths(paths, api_env())
    if not any(resolved.values()):
        waits_for(f"the probe routes {paths} in config/urls.py (api branch)")
    assert {p for p, view in resolved.items() if view is None} == set(), targets


def test_api_process_listens_where_probes_look() -> None:
    dockerfile = parse_dockerfile(dockerfile_for(API_IMAGE))
    command = exec_form(dockerfile.final.all("CMD")[-1])
    assert command[:2] == ["gunicorn", "config.wsgi:application"]
    assert command[command.index("--bind") + 1] == f"0.0.0.0:{API_PORT}"
    assert dockerfile.final.all("EXPOSE") == [str(API_PORT)]
    assert API_PORT in {
        int(str(p).rsplit(":", 1)[-1])
        for p in compose_app_services(API_IMAGE)["notices-api"]["ports"]
    }
    for _, _, container in k8s_containers():
        if image_name(container) == API_IMAGE and "command" not in container:
            assert [p["containerPort"] for p in container["ports"]] == [API_PORT]


def test_relay_probes_hit_its_metrics_port() -> None:
    targets = probe_targets()["relay"]
    assert targets, "the relay is probed nowhere"
    for probe in targets:
        assert probe.port == relay_metrics_port(probe.env), probe.where
    for workload, _, container in k8s_containers():
        if is_relay(container.get("command", [])):
            ports = [p["containerPort"] for p in container["ports"]]
            assert ports == [relay_metrics_port(merged_environment(container))], workload


def test_notifier_probes_hit_its_api_port_and_routes() -> None:
    targets = probe_targets()["notifier"]
    for probe in targets:
        assert probe.port == notifier_port(probe.env), probe.where
    routes = notifier_route_paths()
    if not routes:
        waits_for("the notifier HTTP API routes (notifier branch, not merged)")
    probed = {t.path for t in targets} | {"/metrics"}
    assert probed - routes == set(), f"probed paths the notifier does not serve; it has {routes}"
    dockerfile = parse_dockerfile(dockerfile_for(NOTIFIER_IMAGE))
    assert dockerfile.final.all("EXPOSE") == [str(notifier_port({}))]
    for workload, _, container in k8s_containers():
        if image_name(container) == NOTIFIER_IMAGE and container.get("ports"):
            ports = [p["containerPort"] for p in container["ports"]]
            assert ports == [notifier_port(merged_environment(container))], workload


def test_notifier_listens_on_every_interface() -> None:
    """Kubernetes probes and Services reach the pod by its IP, not by loopback."""
    notifier_port({})  # skips until the notifier's settings exist
    host = notifier_setting_default("NOTIFIER_API_HOST")
    assert host in {"0.0.0.0", "::", ""}
    for name, service in compose_notifier_processes().items():
        assert compose_environment(service).get("NOTIFIER_API_HOST", host) == host, name
    for _, _, container in k8s_containers():
        if image_name(container) == NOTIFIER_IMAGE:
            config, _ = container_environment(container)
            assert config.get("NOTIFIER_API_HOST", host) == host


def test_prometheus_annotations_name_the_metrics_port() -> None:
    for name, deployment in k8s_objects("Deployment").items():
        annotations: dict[str, Any] = deployment["spec"]["template"]["metadata"]["annotations"]
        ports = {p["containerPort"] for c in pod_spec(deployment)["containers"] for p in c["ports"]}
        assert int(annotations["prometheus.io/port"]) in ports, name
        assert annotations["prometheus.io/path"] == "/metrics", name


def test_production_settings_start_with_the_compose_environment() -> None:
    """config.settings.production refuses DEBUG and weak keys; compose must satisfy it."""
    env = {**api_env(), "DJANGO_SETTINGS_MODULE": "config.settings.production"}
    loaded = run_in_api(
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps([settings.DEBUG, settings.ALLOWED_HOSTS]))",
        env,
    )
    assert loaded[0] is False
    assert "127.0.0.1" in loaded[1], "the container healthcheck calls 127.0.0.1"
