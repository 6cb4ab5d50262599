"""The kustomize base: workloads, selectors, autoscalers, budgets, migrations."""

import shlex
import shutil
import subprocess

import pytest
import yaml
from deploy_code import api_setting_default, notifier_cli_accepts, waits_for
from deploy_manifests import (
    API_IMAGE,
    K8S_DIR,
    K8S_EXPANSION,
    NOTIFIER_IMAGE,
    WORKLOAD_KINDS,
    container_environment,
    image_name,
    k8s_containers,
    k8s_objects,
    kustomization,
    labels_match,
    migration_check,
    pod_spec,
)

# How each store says, without changing anything, whether its schema is up to date
# (exit status 0); the migration Jobs below run the matching migrate.
MIGRATION_CHECKS = {
    API_IMAGE: "python manage.py migrate --check",
    NOTIFIER_IMAGE: "notifier migrate --check",
}


def test_the_workloads_exist() -> None:
    deployments = k8s_objects("Deployment")
    runs = {
        name: (image_name(c), " ".join(c.get("command", [])))
        for name, d in deployments.items()
        for c in pod_spec(d)["containers"]
    }
    assert runs == {
        "notices-api": (API_IMAGE, ""),  # the image's default command: gunicorn
        "relay": (API_IMAGE, "python manage.py outbox_relay"),
        # One per role: test_notifier_roles.py checks which runs what.
        "notifier-consumer": (NOTIFIER_IMAGE, "notifier run"),
        "notifier-dispatcher": (NOTIFIER_IMAGE, "notifier run"),
        "notifier-api": (NOTIFIER_IMAGE, "notifier run"),
    }


def test_migrations_run_as_jobs_for_both_stores() -> None:
    commands = {
        " ".join(c["command"])
        for d in k8s_objects("Job").values()
        for c in pod_spec(d)["containers"]
    }
    assert commands == {"python manage.py migrate --no-input", "notifier migrate"}


def test_the_notifier_prunes_daily_one_run_at_a_time_with_its_configuration() -> None:
    """`notifier prune` deletes what is past retention only when run: a CronJob runs it, with
    the configuration of the notifier's Deployments (the same database, the same policy)."""
    assert notifier_cli_accepts(["prune"])
    (job,) = k8s_objects("CronJob").values()
    (container,) = pod_spec(job)["containers"]
    assert (image_name(container), container["command"]) == (NOTIFIER_IMAGE, ["notifier", "prune"])
    minute, hour, *every_day = job["spec"]["schedule"].split()
    assert every_day == ["*", "*", "*"], job["spec"]["schedule"]
    assert minute.isdigit(), job["spec"]["schedule"]
    assert hour.isdigit(), job["spec"]["schedule"]
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    consumer = pod_spec(k8s_objects("Deployment")["notifier-consumer"])["containers"][0]
    assert container["envFrom"] == consumer["envFrom"]


def test_every_deployment_waits_for_its_stores_migrations() -> None:
    """An init container polls the store's migration check until the Job has migrated it,
    with the main container's image and configuration: the same code, the same database."""
    for name, deployment in k8s_objects("Deployment").items():
        spec = pod_spec(deployment)
        (main,) = spec["containers"]
        waits = [
            init
            for init in spec.get("initContainers", [])
            if migration_check(init) == MIGRATION_CHECKS[image_name(main)]
        ]
        assert len(waits) == 1, f"{name} does not wait for {MIGRATION_CHECKS[image_name(main)]}"
        (wait,) = waits
        assert image_name(wait) == image_name(main), name
        assert wait["envFrom"] == main["envFrom"], name


def test_the_notifier_has_the_migration_check_its_pods_wait_for() -> None:
    check = shlex.split(MIGRATION_CHECKS[NOTIFIER_IMAGE])
    assert check[:2] == ["notifier", "migrate"]
    if not notifier_cli_accepts(check[1:]):
        # Until then the init containers fail forever and no notifier pod starts.
        waits_for(f"`{' '.join(check)}` in the notifier CLI (Alembic migrations, not merged)")


def test_deployment_selectors_match_their_pods() -> None:
    for name, deployment in k8s_objects("Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels_match(deployment["spec"]["selector"]["matchLabels"], labels), name


def test_services_select_a_deployment_and_a_named_port() -> None:
    deployments = k8s_objects("Deployment").values()
    for name, service in k8s_objects("Service").items():
        matched = [
            d
            for d in deployments
            if labels_match(
                service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"]
            )
        ]
        assert len(matched) == 1, f"Service {name} selects {len(matched)} Deployments"
        port_names = {p["name"] for c in pod_spec(matched[0])["containers"] for p in c["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, name


def test_autoscalers_target_existing_deployments() -> None:
    deployments = k8s_objects("Deployment")
    targets = set()
    for name, hpa in k8s_objects("HorizontalPodAutoscaler").items():
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref["kind"] == "Deployment", name
        assert ref["name"] in deployments, name
        assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], name
        targets.add(ref["name"])
    # The relay does not autoscale: the outbox partitions bound its parallelism.
    assert targets == set(deployments) - {"relay"}


def test_every_deployment_has_a_disruption_budget() -> None:
    deployments = k8s_objects("Deployment")
    covered = set()
    for name, pdb in k8s_objects("PodDisruptionBudget").items():
        matched = {
            d
            for d, deployment in deployments.items()
            if labels_match(
                pdb["spec"]["selector"]["matchLabels"],
                deployment["spec"]["template"]["metadata"]["labels"],
            )
        }
        assert len(matched) == 1, f"PodDisruptionBudget {name} matches {matched}"
        (target,) = matched
        assert pdb["spec"]["minAvailable"] < deployments[target]["spec"]["replicas"], name
        covered |= matched
    assert covered == set(deployments)


def test_containers_have_resources_and_run_locked_down() -> None:
    for workload, spec, container in k8s_containers():
        where = f"{workload}/{container['name']}"
        resources = container["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys(), where
        assert "memory" in resources["limits"], where
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["automountServiceAccountToken"] is False, where
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False, where
        assert security["readOnlyRootFilesystem"] is True, where
        assert security["capabilities"]["drop"] == ["ALL"], where


def test_config_references_resolve() -> None:
    config_maps, secrets = k8s_objects("ConfigMap"), k8s_objects("Secret")
    for workload, _, container in k8s_containers():
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config_maps, workload
            if "secretRef" in source:
                assert source["secretRef"]["name"] in secrets, workload


def test_env_references_resolve_in_declaration_order() -> None:
    """$(NAME) in an env value expands only from envFrom or an env entry declared before it
    (kubelet leaves an unknown reference as literal text)."""
    config_maps, secrets = k8s_objects("ConfigMap"), k8s_objects("Secret")
    for workload, _, container in k8s_containers():
        defined: set[str] = set()
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                defined |= config_maps[source["configMapRef"]["name"]]["data"].keys()
            if "secretRef" in source:
                defined |= secrets[source["secretRef"]["name"]]["data"].keys()
        for variable in container.get("env", []):
            references = set(K8S_EXPANSION.findall(variable.get("value", "")))
            assert references <= defined, f"{workload}: {variable['name']} uses {references}"
            defined.add(variable["name"])


def test_images_are_set_by_the_kustomization() -> None:
    named = {image["name"] for image in kustomization()["images"]}
    assert {image_name(c) for _, _, c in k8s_containers()} <= named


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed here")
def test_kustomize_renders_with_hashed_config_names_wired_in() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(K8S_DIR)], capture_output=True, text=True, check=True
    ).stdout
    objects = [o for o in yaml.safe_load_all(rendered) if o]
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for obj in objects:
        if obj["kind"] not in WORKLOAD_KINDS:
            continue
        spec = pod_spec(obj)
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert "/" in container["image"], "kustomize replaced the image name"
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in names
                if "secretRef" in source:
                    assert ("Secret", source["secretRef"]["name"]) in names


def test_relays_do_not_outnumber_the_outbox_partitions() -> None:
    """A relay beyond the partition count owns nothing: it only waits for a takeover."""
    relay = k8s_objects("Deployment")["relay"]
    config, _ = container_environment(pod_spec(relay)["containers"][0])
    partitions = int(config.get("OUTBOX_PARTITIONS", api_setting_default("OUTBOX_PARTITIONS")))
    assert 2 <= relay["spec"]["replicas"] <= partitions
