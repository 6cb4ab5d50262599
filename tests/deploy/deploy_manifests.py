"""Readers for the files under deploy/: compose, env files, Dockerfiles, the kustomize base."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
K8S_DIR = DEPLOY / "k8s"
RABBITMQ_DIR = DEPLOY / "rabbitmq"

# What each image runs: the code whose env reads, ports and probes must match.
API_IMAGE = "notices-api"
NOTIFIER_IMAGE = "notifier"

# What a notifier process runs; NOTIFIER_ROLES says which of its roles.
NOTIFIER_RUN = ["notifier", "run"]

# $(NAME) in a Kubernetes env value: replaced by the kubelet with another variable's value.
K8S_EXPANSION = re.compile(r"\$\((\w+)\)")
# An init container that waits for a store's migrations: `sh -c "until <check>; do sleep N; done"`.
MIGRATION_WAIT = re.compile(r"until (?P<check>[^;]+); do sleep \d+; done")
HTTP_URL = re.compile(r"https?://[^/:'\"\s]+:(?P<port>\d+)(?P<path>/[^'\"\s)]*)")


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, # comments: the format of compose env_file and kustomize envs."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        assert sep, f"{path.relative_to(ROOT)}:{number}: not KEY=VALUE: {line!r}"
        values[key.strip()] = value
    return values


# --- compose -----------------------------------------------------------------------


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose()["services"]
    return services


def compose_image(service: dict[str, Any]) -> str:
    """The repository name of a service's image, without registry path or tag."""
    image = str(service.get("image", ""))
    return image.rsplit("/", 1)[-1].split(":", 1)[0]


def compose_app_services(image: str) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose_services().items() if compose_image(s) == image}


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    env_files = service.get("env_file", [])
    for entry in [env_files] if isinstance(env_files, str | dict) else env_files:
        path = entry["path"] if isinstance(entry, dict) else entry
        env.update(parse_env_file(COMPOSE_FILE.parent / path))
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    env.update({k: str(v) for k, v in environment.items()})
    return env


def compose_one_shot_services() -> set[str]:
    """Services others wait for to complete (migrations): they exit, so they have no healthcheck."""
    one_shot: set[str] = set()
    for service in compose_services().values():
        depends_on = service.get("depends_on", {})
        if isinstance(depends_on, dict):
            one_shot |= {
                name
                for name, condition in depends_on.items()
                if condition.get("condition") == "service_completed_successfully"
            }
    return one_shot


def compose_bind_mount_sources() -> Iterator[tuple[str, Path]]:
    for name, service in compose_services().items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                yield name, (COMPOSE_FILE.parent / source).resolve()


def healthcheck_command(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test[1:])


def http_targets(text: str) -> list[tuple[int, str]]:
    """(port, path) of every http://host:port/path in a command."""
    return [(int(m["port"]), m["path"]) for m in HTTP_URL.finditer(text)]


def published_container_ports(service: dict[str, Any]) -> set[int]:
    ports: set[int] = set()
    for entry in service.get("ports", []):
        target = entry["target"] if isinstance(entry, dict) else str(entry).rsplit(":", 1)[-1]
        ports.add(int(str(target).split("/", 1)[0]))
    return ports


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def compose_runs(service: dict[str, Any]) -> list[str]:
    """What a service's container runs: its command, else its image's default."""
    return command_of(service) or image_default_command(compose_image(service))


def compose_notifier_processes() -> dict[str, dict[str, Any]]:
    """The compose services that run `notifier run`, by name."""
    return {
        name: service
        for name, service in compose_app_services(NOTIFIER_IMAGE).items()
        if compose_runs(service) == NOTIFIER_RUN
    }


# --- Dockerfiles -------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


@dataclass
class Dockerfile:
    path: Path
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]


def dockerfiles() -> list[Path]:
    return sorted(DEPLOY.glob("*.Dockerfile"))


def dockerfile_for(image: str) -> Path:
    return DEPLOY / f"{image}.Dockerfile"


def parse_dockerfile(path: Path) -> Dockerfile:
    """Instructions per stage, continuation lines joined, comments and parser directives dropped."""
    logical: list[str] = []
    buffer = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not buffer):
            continue
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        logical.append(buffer + stripped)
        buffer = ""
    stages: list[Stage] = []
    for instruction in logical:
        keyword, _, args = instruction.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=parts[0], name=name))
        elif keyword == "ARG" and not stages:
            continue  # global build argument, before the first stage
        else:
            stages[-1].instructions.append((keyword, args.strip()))
    return Dockerfile(path, stages)


def exec_form(args: str) -> list[str]:
    """The argument list of an exec-form CMD/HEALTHCHECK CMD/ENTRYPOINT (JSON array)."""
    import json

    start = args.index("[")
    parsed: list[str] = json.loads(args[start:])
    return parsed


def image_default_command(image: str) -> list[str]:
    """The command an image runs when none is given: its Dockerfile's last CMD."""
    return exec_form(parse_dockerfile(dockerfile_for(image)).final.all("CMD")[-1])


# --- kustomize base ----------------------------------------------------------------


def kustomization() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    return loaded


def k8s_resources() -> list[dict[str, Any]]:
    """Every object of the base: listed resources, plus generated ConfigMaps and Secrets
    (with the data kustomize would put in them; names without the hash suffix)."""
    objects: list[dict[str, Any]] = []
    for resource in kustomization()["resources"]:
        objects.extend(d for d in yaml.safe_load_all((K8S_DIR / resource).read_text()) if d)
    for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for generator in kustomization().get(key, []):
            data: dict[str, str] = {}
            for env_file in generator.get("envs", []):
                data.update(parse_env_file(K8S_DIR / env_file))
            for literal in generator.get("literals", []):
                name, _, value = literal.partition("=")
                data[name] = value
            objects.append({"kind": kind, "metadata": {"name": generator["name"]}, "data": data})
    return objects


def k8s_objects(kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in k8s_resources() if o["kind"] == kind}


WORKLOAD_KINDS = ("Deployment", "Job", "CronJob")


def pod_template(workload: dict[str, Any]) -> dict[str, Any]:
    """The pod template of a Deployment or Job, or of the Jobs a CronJob makes."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template: dict[str, Any] = spec["template"]
    return template


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = pod_template(workload)["spec"]
    return spec


def k8s_containers() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(workload name, pod spec, container) for every container and init container."""
    for kind in WORKLOAD_KINDS:
        for name, workload in k8s_objects(kind).items():
            spec = pod_spec(workload)
            for container in spec.get("initContainers", []) + spec["containers"]:
                yield name, spec, container


def image_name(container: dict[str, Any]) -> str:
    return str(container["image"]).rsplit("/", 1)[-1].split(":", 1)[0]


def container_runs(container: dict[str, Any]) -> list[str]:
    """What a container runs: its command (the images set no ENTRYPOINT), else the image's CMD."""
    command: list[str] = container.get("command") or image_default_command(image_name(container))
    return command


def k8s_notifier_processes() -> dict[str, dict[str, Any]]:
    """The container of every Deployment that runs `notifier run`, by Deployment name."""
    return {
        name: container
        for name, deployment in k8s_objects("Deployment").items()
        for container in pod_spec(deployment)["containers"]
        if image_name(container) == NOTIFIER_IMAGE and container_runs(container) == NOTIFIER_RUN
    }


def migration_check(container: dict[str, Any]) -> str | None:
    """The check an init container waits to pass (``until <check>; ...``), if it waits."""
    command = container.get("command", [])
    if command[:2] != ["sh", "-c"] or len(command) != 3:
        return None
    wait = MIGRATION_WAIT.fullmatch(command[2])
    return wait["check"] if wait else None


def container_environment(container: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(plain config, secret values) a container gets from envFrom and env."""
    config: dict[str, str] = {}
    secrets: dict[str, str] = {}
    config_maps = k8s_objects("ConfigMap")
    secret_objects = k8s_objects("Secret")
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            config.update(config_maps[source["configMapRef"]["name"]]["data"])
        if "secretRef" in source:
            secrets.update(secret_objects[source["secretRef"]["name"]]["data"])
    for variable in container.get("env", []):
        config[variable["name"]] = str(variable.get("value", "<from valueFrom>"))
    return config, secrets


def merged_environment(container: dict[str, Any]) -> dict[str, str]:
    """Everything a container's process finds in its environment, config and secrets."""
    config, secrets = container_environment(container)
    return {**config, **secrets}


def container_port(container: dict[str, Any], port: int | str) -> int:
    """A probe's or Service's port, by number or by the container port's name."""
    if isinstance(port, int):
        return port
    for declared in container.get("ports", []):
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise LookupError(f"container {container['name']} has no port named {port!r}")


def http_probes(container: dict[str, Any]) -> dict[str, tuple[int, str]]:
    probes: dict[str, tuple[int, str]] = {}
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        http_get = container.get(kind, {}).get("httpGet")
        if http_get:
            probes[kind] = (container_port(container, http_get["port"]), http_get["path"])
    return probes


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())
