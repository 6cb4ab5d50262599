"""Every env var a service reads without a safe default is set, wherever it is deployed.

"Reads" is discovered from the code: os.environ reads in notices-api's production
settings and app code, the fields of the notifier's pydantic-settings class. The
reverse holds too: a name set for a service that the service never reads is a typo.
"""

import pytest
from deploy_code import (
    CREDENTIAL_NAME,
    URL_WITH_PASSWORD,
    EnvRead,
    api_env_reads,
    notifier_env_reads,
    notifier_settings_available,
    notifier_settings_under,
    run_in_api,
    waits_for,
)
from deploy_manifests import (
    API_IMAGE,
    K8S_EXPANSION,
    NOTIFIER_IMAGE,
    compose_app_services,
    compose_environment,
    container_environment,
    image_name,
    k8s_containers,
    k8s_objects,
    merged_environment,
)


def env_reads(image: str) -> dict[str, EnvRead]:
    if image == API_IMAGE:
        return api_env_reads()
    if not notifier_settings_available():
        waits_for("notifier.settings (notifier branch, not merged)")
    return notifier_env_reads()


def required(image: str) -> set[str]:
    return {read.name for read in env_reads(image).values() if read.must_be_set}


def test_discovery_finds_the_known_settings() -> None:
    """Guards the discovery itself: if the AST scan broke, every coverage test would pass."""
    assert {"DATABASE_URL", "AMQP_URL", "DJANGO_SECRET_KEY"} <= required(API_IMAGE)
    if notifier_settings_available():
        assert {"NOTIFIER_DATABASE_URL", "AMQP_URL", "NOTIFIER_API_TOKEN", "SMTP_HOST"} <= (
            required(NOTIFIER_IMAGE)
        )


@pytest.mark.parametrize("image", [API_IMAGE, NOTIFIER_IMAGE])
def test_compose_sets_what_each_service_needs(image: str) -> None:
    services = compose_app_services(image)
    assert services, f"no compose service runs the {image} image"
    needed = required(image)
    for name, service in services.items():
        missing = needed - compose_environment(service).keys()
        assert missing == set(), f"compose service {name} lacks {sorted(missing)}"


def test_compose_env_sets_only_names_some_service_reads() -> None:
    read = set(api_env_reads())
    if notifier_settings_available():
        read |= set(notifier_env_reads())
    else:
        waits_for("notifier.settings (notifier branch, not merged)")
    for image in (API_IMAGE, NOTIFIER_IMAGE):
        for name, service in compose_app_services(image).items():
            unknown = compose_environment(service).keys() - read
            assert unknown == set(), f"compose service {name} sets unread {sorted(unknown)}"


@pytest.mark.parametrize("image", [API_IMAGE, NOTIFIER_IMAGE])
def test_k8s_sets_what_each_container_needs(image: str) -> None:
    containers = [(w, c) for w, _, c in k8s_containers() if image_name(c) == image]
    assert containers, f"no Kubernetes container runs the {image} image"
    needed = required(image)
    for workload, container in containers:
        config, secrets = container_environment(container)
        missing = needed - config.keys() - secrets.keys()
        assert missing == set(), f"{workload}/{container['name']} lacks {sorted(missing)}"


@pytest.mark.parametrize("image", [API_IMAGE, NOTIFIER_IMAGE])
def test_k8s_sets_only_names_the_container_reads(image: str) -> None:
    read = set(env_reads(image))
    for workload, _, container in k8s_containers():
        if image_name(container) != image:
            continue
        config, secrets = container_environment(container)
        # Helpers only used inside another value, e.g. $(POD_IP) in DJANGO_ALLOWED_HOSTS.
        expanded = {m for value in config.values() for m in K8S_EXPANSION.findall(value)}
        unknown = (config.keys() | secrets.keys()) - read - expanded
        assert unknown == set(), f"{workload}/{container['name']} sets unread {sorted(unknown)}"


def test_k8s_credentials_are_in_secrets_only() -> None:
    for name, config_map in k8s_objects("ConfigMap").items():
        leaked = {
            key
            for key, value in config_map["data"].items()
            if CREDENTIAL_NAME.search(key) or URL_WITH_PASSWORD.match(value)
        }
        assert leaked == set(), f"ConfigMap {name} holds credentials {sorted(leaked)}"
    for workload, _, container in k8s_containers():
        inline = {
            v["name"]
            for v in container.get("env", [])
            if CREDENTIAL_NAME.search(v["name"]) or URL_WITH_PASSWORD.match(v.get("value", ""))
        }
        assert inline == set(), f"{workload}/{container['name']} has inline credentials"


def test_k8s_secret_placeholders_are_obvious() -> None:
    """The base ships no usable secret: every credential is a CHANGE-ME placeholder."""
    for name, secret in k8s_objects("Secret").items():
        for key, value in secret["data"].items():
            assert "CHANGE-ME" in value, f"Secret {name} key {key} looks like a real value"


def test_notifier_settings_accept_the_compose_and_k8s_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Types too: a port that is not a number or a flag that is not a boolean fails here."""
    for name, service in compose_app_services(NOTIFIER_IMAGE).items():
        assert notifier_settings_under(compose_environment(service), monkeypatch), name
    for workload, _, container in k8s_containers():
        if image_name(container) == NOTIFIER_IMAGE:
            env = merged_environment(container)
            assert notifier_settings_under(env, monkeypatch), workload


def test_api_settings_accept_the_k8s_values_once_the_secret_is_real() -> None:
    """The placeholder secret key and metrics token are refused (fail fast); with real ones
    the production settings load from the ConfigMap and Secret, types included."""
    environments = {}
    for workload, _, container in k8s_containers():
        if image_name(container) == API_IMAGE:
            merged = merged_environment(container)
            env = {k: K8S_EXPANSION.sub("10.0.0.7", v) for k, v in merged.items()}
            environments[tuple(sorted(env.items()))] = workload  # each distinct one once
    for items, workload in environments.items():
        env = dict(items)
        assert "DJANGO_SECRET_KEY" in run_in_api(LOAD_SETTINGS_OR_ERROR, env), workload
        env["DJANGO_SECRET_KEY"] = "k" * 50
        assert "NOTICES_METRICS_TOKEN" in run_in_api(LOAD_SETTINGS_OR_ERROR, env), workload
        env["NOTICES_METRICS_TOKEN"] = "m" * 50
        assert run_in_api(LOAD_SETTINGS_OR_ERROR, env) == "loaded", workload


LOAD_SETTINGS_OR_ERROR = """
import json
try:
    import django
    django.setup()
    from django.conf import settings
    settings.OUTBOX_PARTITIONS, settings.DATABASES
    print(json.dumps("loaded"))
except Exception as error:
    print(json.dumps(str(error)))
"""
