"""deploy/rabbitmq/definitions.json declares exactly what the notifier declares at start.

The expected topology comes from running the notifier's own declare function against a
broker that only records: if the two differ, RabbitMQ refuses the notifier's declaration
(PRECONDITION_FAILED on inequivalent arguments) or routes messages nowhere.
"""

import asyncio
import importlib.util
import json
from typing import Any

import pytest
from deploy_code import waits_for
from deploy_manifests import RABBITMQ_DIR, compose_environment, compose_notifier_processes

DEFINITIONS = RABBITMQ_DIR / "definitions.json"


class RecordingQueue:
    def __init__(self, broker: "RecordingBroker", name: str) -> None:
        self.broker, self.name = broker, name

    async def bind(self, exchange: Any, routing_key: str = "", **_: Any) -> None:
        self.broker.bindings.add((exchange.name, self.name, routing_key))


class RecordingExchange:
    def __init__(self, name: str) -> None:
        self.name = name


class RecordingBroker:
    """Stands in for faststream's RabbitBroker in ``declare_topology``."""

    def __init__(self) -> None:
        self.exchanges: dict[str, tuple[str, bool]] = {}
        self.queues: dict[str, tuple[bool, dict[str, Any]]] = {}
        self.bindings: set[tuple[str, str, str]] = set()

    async def declare_exchange(self, exchange: Any) -> RecordingExchange:
        self.exchanges[exchange.name] = (exchange.type.value, bool(exchange.durable))
        return RecordingExchange(exchange.name)

    async def declare_queue(self, queue: Any) -> RecordingQueue:
        self.queues[queue.name] = (bool(queue.durable), dict(queue.arguments or {}))
        return RecordingQueue(self, queue.name)


def declared_by_the_notifier(monkeypatch: pytest.MonkeyPatch) -> RecordingBroker:
    if importlib.util.find_spec("notifier.topology") is None:
        waits_for("notifier.topology (notifier branch, not merged)")
    from notifier.settings import Settings
    from notifier.topology import build_topology, declare_topology

    # The names compose gives the notifier's consumer; everything else at its default.
    for field in Settings.model_fields.values():
        if isinstance(field.alias, str):
            monkeypatch.delenv(field.alias, raising=False)
    consumer = compose_notifier_processes()["notifier-consumer"]
    for name, value in compose_environment(consumer).items():
        monkeypatch.setenv(name, value)
    broker = RecordingBroker()
    asyncio.run(declare_topology(broker, build_topology(Settings())))  # type: ignore[arg-type]
    return broker


def test_definitions_match_the_notifier_topology(monkeypatch: pytest.MonkeyPatch) -> None:
    if not DEFINITIONS.exists():
        waits_for("deploy/rabbitmq/definitions.json (notifier branch, not merged)")
    declared = declared_by_the_notifier(monkeypatch)
    definitions = json.loads(DEFINITIONS.read_text())

    exchanges = {e["name"]: (e["type"], e["durable"]) for e in definitions["exchanges"]}
    queues = {q["name"]: (q["durable"], q["arguments"]) for q in definitions["queues"]}
    bindings = {
        (b["source"], b["destination"], b["routing_key"])
        for b in definitions["bindings"]
        if b["destination_type"] == "queue"
    }
    assert exchanges == declared.exchanges
    assert queues == declared.queues
    assert bindings == declared.bindings
    vhosts = {
        item["vhost"] for key in ("exchanges", "queues", "bindings") for item in definitions[key]
    }
    assert vhosts == {"/"}, "the vhost access.json creates and compose's AMQP_URL uses"
