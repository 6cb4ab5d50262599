"""compose.yaml: healthchecks, start order, the seams between containers."""

import base64
import hashlib
import json
import re
from urllib.parse import unquote, urlsplit

from deploy_code import api_management_commands, notifier_cli_commands, waits_for
from deploy_manifests import (
    API_IMAGE,
    DEPLOY,
    NOTIFIER_IMAGE,
    RABBITMQ_DIR,
    command_of,
    compose_app_services,
    compose_environment,
    compose_image,
    compose_notifier_processes,
    compose_one_shot_services,
    compose_services,
    published_container_ports,
)

DJANGO_BUILTIN_COMMANDS = {"migrate"}


def service_env(image: str) -> dict[str, str]:
    """The environment of the long-running service of an image (they share compose.env)."""
    services = compose_app_services(image)
    long_running = [s for n, s in services.items() if n not in compose_one_shot_services()]
    return compose_environment(long_running[0])


def test_every_long_running_service_has_a_healthcheck() -> None:
    one_shot = compose_one_shot_services()
    for name, service in compose_services().items():
        if name in one_shot:
            assert service.get("restart") == "no", f"{name} runs once: restart must be 'no'"
        else:
            assert "test" in service.get("healthcheck", {}), f"{name} has no healthcheck"


def test_depends_on_names_services_with_what_the_condition_needs() -> None:
    services = compose_services()
    for name, service in services.items():
        for target, condition in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}'s health"


def test_app_services_wait_for_their_stores_and_migrations() -> None:
    for image in (API_IMAGE, NOTIFIER_IMAGE):
        services = compose_app_services(image)
        migrations = [n for n in services if n in compose_one_shot_services()]
        assert len(migrations) == 1, f"{image}: exactly one migration service"
        for name, service in services.items():
            assert "postgres" in service["depends_on"], name
            if name != migrations[0]:
                assert service["depends_on"][migrations[0]] == {
                    "condition": "service_completed_successfully"
                }, name
    notifiers = compose_notifier_processes()
    assert notifiers
    for name, service in notifiers.items():
        assert "rabbitmq" in service["depends_on"], name


def test_relay_and_notifier_processes_run_two_replicas() -> None:
    """Two of each show the sharing at work: relays share partitions, consumers the
    queue, dispatchers the due deliveries (SKIP LOCKED), API replicas the requests."""
    relays = [
        s
        for s in compose_app_services(API_IMAGE).values()
        if "outbox_relay" in " ".join(command_of(s))
    ]
    notifiers = list(compose_notifier_processes().values())
    assert len(relays) == 1
    assert len(notifiers) == 3, "one service per role: test_notifier_roles.py checks which"
    for service in relays + notifiers:
        assert service["deploy"]["replicas"] == 2
        assert "container_name" not in service, "a fixed container name forbids replicas"
        for port in service.get("ports", []):
            # Replicas cannot share a host port: a range gives each its own.
            low, _, high = str(port).rsplit(":", 1)[0].rpartition(":")[2].partition("-")
            assert int(high or low) - int(low) + 1 >= service["deploy"]["replicas"], port


def test_commands_exist_in_the_code() -> None:
    api_commands = {
        command_of(s)[2]
        for s in compose_app_services(API_IMAGE).values()
        if command_of(s)[:2] == ["python", "manage.py"]
    }
    known = api_management_commands() | DJANGO_BUILTIN_COMMANDS
    if "outbox_relay" not in known:
        waits_for("manage.py outbox_relay (relay branch, not merged)")
    assert api_commands <= known
    notifier_commands = {
        command_of(s)[1]
        for s in compose_app_services(NOTIFIER_IMAGE).values()
        if command_of(s)[:1] == ["notifier"]
    }
    defined = notifier_cli_commands()
    if not defined:
        waits_for("the notifier CLI commands (notifier branch, not merged)")
    assert notifier_commands <= defined


def test_infrastructure_versions() -> None:
    services = compose_services()
    assert re.fullmatch(r"postgres:16(\.\d+)?(-\w+)?", services["postgres"]["image"])
    assert re.fullmatch(r"rabbitmq:4(\.\d+)*-management", services["rabbitmq"]["image"])


def test_database_urls_match_the_init_script() -> None:
    """Roles, passwords and databases the URLs use are the ones the init script creates."""
    script = (DEPLOY / "postgres" / "init-databases.sql").read_text()
    roles = dict(re.findall(r"CREATE ROLE (\w+) LOGIN PASSWORD '([^']+)'", script))
    databases = dict(re.findall(r"CREATE DATABASE (\w+) OWNER (\w+)", script))
    urls = [
        service_env(API_IMAGE)["DATABASE_URL"],
        service_env(NOTIFIER_IMAGE)["NOTIFIER_DATABASE_URL"],
    ]
    for url in urls:
        parts = urlsplit(url)
        assert parts.hostname == "postgres"
        assert parts.username in roles
        assert roles[parts.username] == unquote(parts.password or "")
        assert databases.get(parts.path.lstrip("/")) == parts.username, url
    assert len({urlsplit(u).path for u in urls}) == 2, "each service has its own database"


def rabbit_sha256_matches(password_hash: str, password: str) -> bool:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt(4) + sha256(salt + password))."""
    raw = base64.b64decode(password_hash)
    salt, digest = raw[:4], raw[4:]
    return hashlib.sha256(salt + password.encode()).digest() == digest


def test_amqp_url_user_is_defined_on_the_broker() -> None:
    """A node importing definitions on boot creates no default user: access.json must."""
    access = json.loads((RABBITMQ_DIR / "access.json").read_text())
    users = {u["name"]: u for u in access["users"]}
    for image in (API_IMAGE, NOTIFIER_IMAGE):
        url = urlsplit(service_env(image)["AMQP_URL"])
        assert url.hostname == "rabbitmq"
        vhost = unquote(url.path[1:]) or "/"
        user = users[url.username or ""]
        assert user["hashing_algorithm"] == "rabbit_password_hashing_sha256"
        assert rabbit_sha256_matches(user["password_hash"], unquote(url.password or ""))
        assert {"user": url.username, "vhost": vhost} in [
            {"user": p["user"], "vhost": p["vhost"]} for p in access["permissions"]
        ]
        assert vhost in {v["name"] for v in access["vhosts"]}


def test_rabbitmq_loads_every_definitions_file_from_the_configured_directory() -> None:
    conf = dict(
        line.split("=", 1)
        for line in (RABBITMQ_DIR / "rabbitmq.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    conf = {k.strip(): v.strip() for k, v in conf.items()}
    directory = conf["definitions.local.path"].rstrip("/")
    mounts = [v.split(":")[1] for v in compose_services()["rabbitmq"]["volumes"] if ":" in v]
    definitions_mounts = sorted(m for m in mounts if m.startswith(directory + "/"))
    # Imported in name order: the vhost and user must exist before the topology.
    assert [m.rsplit("/", 1)[1] for m in definitions_mounts] == [
        "00-access.json",
        "10-topology.json",
    ]


def test_smtp_points_at_the_mail_catcher() -> None:
    env = service_env(NOTIFIER_IMAGE)
    catcher = compose_services()[env["SMTP_HOST"]]
    assert compose_image(catcher) == "mailpit"
    assert int(env["SMTP_PORT"]) in published_container_ports(catcher)


def test_each_service_has_its_own_broker_user_with_only_what_it_needs() -> None:
    """The relay publishes to notices.events; the notifier owns notifier.events*."""
    access = json.loads((RABBITMQ_DIR / "access.json").read_text())
    permissions = {p["user"]: p for p in access["permissions"]}
    api_user = urlsplit(service_env(API_IMAGE)["AMQP_URL"]).username
    notifier_user = urlsplit(service_env(NOTIFIER_IMAGE)["AMQP_URL"]).username
    assert api_user != notifier_user
    assert {api_user, notifier_user}.isdisjoint(
        {u["name"] for u in access["users"] if "administrator" in u["tags"]}
    )
    relay = permissions[api_user]
    assert (relay["configure"], relay["write"], relay["read"]) == (
        "^notices\\.events$",
        "^notices\\.events$",
        "^$",
    )
    notifier = permissions[notifier_user]
    assert re.fullmatch(notifier["read"], "notifier.events")
    assert re.fullmatch(notifier["write"], "notifier.events.dlx")
    assert not re.fullmatch(notifier["write"], "notices.events"), "the notifier must not publish"
    assert service_env(NOTIFIER_IMAGE)["NOTIFIER_TRUSTED_PUBLISHER_USER"] == api_user


def test_the_management_port_is_published_on_this_host_only() -> None:
    ports = [str(p) for p in compose_services()["rabbitmq"]["ports"]]
    management = [p for p in ports if p.endswith(":15672")]
    assert management == ["127.0.0.1:15672:15672"]
