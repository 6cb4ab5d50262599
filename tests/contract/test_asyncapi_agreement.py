"""The committed AsyncAPI document and the notifier agree on channels and message types.

FastStream's generated document names the queue the notifier subscribes to, but
not the exchange bindings (the notifier makes those in topology.py), so the
routing keys and event types are compared with what the notifier binds and handles.
"""

from pathlib import Path
from typing import Any

import pytest
import yaml
from faststream.specification import AsyncAPI

from notices_contracts import EXCHANGE_NAME
from notices_contracts.asyncapi import channels_and_message_types
from notifier.app import build_notifier
from notifier.routers.events import HANDLERS
from notifier.settings import Settings

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


@pytest.fixture
def committed() -> set[tuple[str, str]]:
    document = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text())
    return channels_and_message_types(document, base_dir=CONTRACTS)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'notifier.sqlite3'}",
        api_token="contract-test-token-0123456789abcdef",  # a process with the api role needs one
    )


def generated_document(settings: Settings) -> dict[str, Any]:
    notifier = build_notifier(settings)
    specification = AsyncAPI(notifier.broker, title="notifier", schema_version="3.0.0")
    return dict(specification.to_specification().to_jsonable())


def test_the_notifier_binds_every_committed_channel_and_handles_its_type(
    committed: set[tuple[str, str]], settings: Settings
) -> None:
    topology = build_notifier(settings).topology
    assert topology.exchange.name == EXCHANGE_NAME
    assert set(topology.routing_keys) == {routing_key for routing_key, _ in committed}
    assert set(HANDLERS) == {event_type for _, event_type in committed}


def test_faststream_documents_the_queue_the_notifier_binds(settings: Settings) -> None:
    document = generated_document(settings)
    queue = build_notifier(settings).topology.queue.name
    assert document["asyncapi"] == "3.0.0"
    [channel] = document["channels"].values()
    assert channel["address"] == queue
    assert channel["bindings"]["amqp"]["queue"]["name"] == queue
