"""The topology the notifier declares is the one deploy/rabbitmq/definitions.json holds."""

import json
from pathlib import Path

from notifier.settings import Settings
from notifier.topology import HANDLED_ROUTING_KEYS, build_topology, definitions

DEFINITIONS = Path(__file__).resolve().parents[3] / "deploy" / "rabbitmq" / "definitions.json"


def test_deploy_definitions_match_the_declared_topology() -> None:
    expected = definitions(build_topology(Settings(_env_file=None)))
    assert json.loads(DEFINITIONS.read_text()) == expected, (
        "regenerate with: notifier definitions > deploy/rabbitmq/definitions.json"
    )


def test_the_retry_path_is_bounded_and_returns_to_the_main_queue() -> None:
    topology = build_topology(Settings(NOTIFIER_QUEUE="q", NOTIFIER_CONSUME_RETRY_DELAYS=[1, 30]))
    assert [queue.name for queue in topology.retry_queues] == ["q.retry.1s", "q.retry.30s"]
    assert [queue.arguments for queue in topology.retry_queues] == [
        {
            "x-queue-type": "classic",
            "x-message-ttl": 1000,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "q",
        },
        {
            "x-queue-type": "classic",
            "x-message-ttl": 30000,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "q",
        },
    ]
    assert topology.retry_queue_for(3) is None
    assert topology.max_consume_attempts == 3
    assert set(HANDLED_ROUTING_KEYS) == {
        "notice.published.v1",
        "notice.read.v1",
        "notice.archived.v1",
        "recipient.updated.v1",
    }
