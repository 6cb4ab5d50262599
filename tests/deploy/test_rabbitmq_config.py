"""rabbitmq.conf and enabled_plugins are valid for RabbitMQ, checked against the schema of
the RabbitMQ installed on this machine (cuttlefish mappings, plugin directories)."""

import re
from pathlib import Path

import pytest
from deploy_manifests import RABBITMQ_DIR

INSTALLS = sorted(Path("/usr/lib/rabbitmq/lib").glob("rabbitmq_server-*/plugins"))


@pytest.fixture
def plugins_dir() -> Path:
    if not INSTALLS:
        pytest.skip("no RabbitMQ installation under /usr/lib/rabbitmq to read the schema from")
    return INSTALLS[-1]


def conf_keys() -> list[str]:
    lines = (RABBITMQ_DIR / "rabbitmq.conf").read_text().splitlines()
    return [line.split("=", 1)[0].strip() for line in lines if line.strip() and line[0] != "#"]


def mapping_pattern(mapping: str) -> re.Pattern[str]:
    """A cuttlefish mapping such as ``listeners.tcp.$name`` as a regex over config keys."""
    parts = [r"[^.]+" if p.startswith("$") else re.escape(p) for p in mapping.split(".")]
    return re.compile(r"\.".join(parts))


def test_every_key_is_a_known_setting(plugins_dir: Path) -> None:
    mappings = {
        m
        for schema in plugins_dir.rglob("*.schema")
        for m in re.findall(r'\{mapping, "([^"]+)"', schema.read_text(errors="replace"))
    }
    patterns = [mapping_pattern(m) for m in mappings]
    unknown = [k for k in conf_keys() if not any(p.fullmatch(k) for p in patterns)]
    assert unknown == []


def test_enabled_plugins_exist(plugins_dir: Path) -> None:
    text = (RABBITMQ_DIR / "enabled_plugins").read_text()
    listed = re.fullmatch(r"\s*\[([a-z_,\s]*)\]\.\s*", text)
    assert listed, "enabled_plugins is an Erlang list term ending with a dot"
    names = [n.strip() for n in listed.group(1).split(",") if n.strip()]
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= set(names)
    installed = {p.name.rsplit("-", 1)[0] for p in plugins_dir.iterdir()}
    assert set(names) <= installed
