"""The notifier's roles (NOTIFIER_ROLES) as deployed: each role runs in exactly one
workload of a deployment, so none is missing and none is scaled by two autoscalers,
and each role's workload scales, is budgeted and is reached on its own.

Which roles a process runs is what notifier.settings makes of its environment, never
a copy of the rule here.
"""

from collections import Counter
from collections.abc import Callable

import pytest
from deploy_code import notifier_roles, notifier_roles_under
from deploy_manifests import (
    compose_environment,
    compose_notifier_processes,
    healthcheck_command,
    http_probes,
    http_targets,
    k8s_notifier_processes,
    k8s_objects,
    labels_match,
    merged_environment,
    published_container_ports,
)

from notifier.settings import Role

API_ROLE = Role.API.value
# What a notifier process serves whatever its roles; the rest (/v1, /unsubscribe,
# /docs) only with the api role, so only these may be probed or scraped elsewhere.
SERVED_BY_EVERY_ROLE = {"/healthz", "/readyz", "/metrics"}

RolesUnder = Callable[[dict[str, str]], frozenset[str]]


@pytest.fixture
def roles_under(monkeypatch: pytest.MonkeyPatch) -> RolesUnder:
    return lambda env: notifier_roles_under(env, monkeypatch)


def k8s_roles(roles_under: RolesUnder) -> dict[str, frozenset[str]]:
    """The roles of each Deployment that runs the notifier, by Deployment name."""
    return {
        name: roles_under(merged_environment(container))
        for name, container in k8s_notifier_processes().items()
    }


def compose_roles(roles_under: RolesUnder) -> dict[str, frozenset[str]]:
    return {
        name: roles_under(compose_environment(service))
        for name, service in compose_notifier_processes().items()
    }


def pod_labels(deployment_name: str) -> dict[str, str]:
    labels: dict[str, str] = k8s_objects("Deployment")[deployment_name]["spec"]["template"][
        "metadata"
    ]["labels"]
    return labels


@pytest.mark.parametrize("where", ["k8s", "compose"])
def test_every_role_runs_in_exactly_one_workload(where: str, roles_under: RolesUnder) -> None:
    workloads = k8s_roles(roles_under) if where == "k8s" else compose_roles(roles_under)
    runs = Counter(role for roles in workloads.values() for role in roles)
    assert runs == dict.fromkeys(notifier_roles(), 1), f"{where}: {workloads}"


def test_a_workload_runs_the_roles_it_names(roles_under: RolesUnder) -> None:
    """Each sets NOTIFIER_ROLES, the settings accept it, and the rest of its configuration
    changes nothing (NOTIFIER_DISPATCH_ENABLED=false shared by all would drop the
    dispatcher)."""
    environments = {
        f"k8s {name}": merged_environment(container)
        for name, container in k8s_notifier_processes().items()
    } | {
        f"compose {name}": compose_environment(service)
        for name, service in compose_notifier_processes().items()
    }
    for where, env in environments.items():
        assert "NOTIFIER_ROLES" in env, f"{where} runs every role by default"
        named = roles_under({"NOTIFIER_ROLES": env["NOTIFIER_ROLES"]})
        assert roles_under(env) == named, where


def test_every_role_has_an_autoscaler_and_a_disruption_budget(roles_under: RolesUnder) -> None:
    autoscaled = {
        hpa["spec"]["scaleTargetRef"]["name"]
        for hpa in k8s_objects("HorizontalPodAutoscaler").values()
    }
    budget_selectors = [
        pdb["spec"]["selector"]["matchLabels"]
        for pdb in k8s_objects("PodDisruptionBudget").values()
    ]
    for name, roles in k8s_roles(roles_under).items():
        assert name in autoscaled, f"{name} ({sorted(roles)}) has no autoscaler"
        budgets = [s for s in budget_selectors if labels_match(s, pod_labels(name))]
        assert len(budgets) == 1, f"{name} ({sorted(roles)}) has {len(budgets)} budgets"


def test_only_the_api_role_is_reachable(roles_under: RolesUnder) -> None:
    """The Services select API pods only, and compose publishes the API's port only."""
    roles = k8s_roles(roles_under)
    reached = {
        service_name: [
            name for name in roles if labels_match(service["spec"]["selector"], pod_labels(name))
        ]
        for service_name, service in k8s_objects("Service").items()
    }
    notifier_services = {s: names for s, names in reached.items() if names}
    assert notifier_services, "no Service reaches the notifier's API"
    for service_name, names in notifier_services.items():
        assert all(API_ROLE in roles[name] for name in names), f"{service_name} selects {names}"
    services = compose_notifier_processes()
    for name, service_roles in compose_roles(roles_under).items():
        publishes = bool(published_container_ports(services[name]))
        assert publishes == (API_ROLE in service_roles), name


def test_processes_without_the_api_role_are_probed_on_what_every_role_serves(
    roles_under: RolesUnder,
) -> None:
    containers = k8s_notifier_processes()
    for name, roles in k8s_roles(roles_under).items():
        if API_ROLE in roles:
            continue
        container = containers[name]
        annotations = k8s_objects("Deployment")[name]["spec"]["template"]["metadata"]["annotations"]
        paths = {path for _, path in http_probes(container).values()}
        paths.add(annotations["prometheus.io/path"])
        assert paths <= SERVED_BY_EVERY_ROLE, f"k8s {name} probes {sorted(paths)}"
    services = compose_notifier_processes()
    for name, roles in compose_roles(roles_under).items():
        if API_ROLE in roles:
            continue
        service = services[name]
        paths = {path for _, path in http_targets(healthcheck_command(service))}
        assert paths <= SERVED_BY_EVERY_ROLE, f"compose {name} probes {sorted(paths)}"
