"""The committed AsyncAPI 3.0 document: valid, every reference resolving, the registry described.

It is validated against the official AsyncAPI 3.0.0 JSON Schema (vendored under
tests/vendor/, see its README: no PyPI package ships it) and checked structurally for
what that schema cannot see: references that resolve, one channel, message and send
operation per event version, bound to the notices.events topic exchange.
"""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from notices_contracts import (
    CLOUDEVENTS_CONTENT_TYPE,
    EVENT_SPECS,
    EXCHANGE_NAME,
    EXCHANGE_TYPE,
)
from notices_contracts.asyncapi import (
    ASYNCAPI_FILE,
    build_document,
    channels_and_message_types,
    render,
)

Document = dict[str, Any]

OFFICIAL_SCHEMA = Path(__file__).parent / "vendor" / "asyncapi-3.0.0.schema.json"


def official_schema_errors(document: Document) -> list[str]:
    validator = Draft7Validator(json.loads(OFFICIAL_SCHEMA.read_text()))
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]


def _load(contracts_dir: Path) -> Document:
    return yaml.safe_load((contracts_dir / ASYNCAPI_FILE).read_text())  # type: ignore[no-any-return]


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    return []


def _pointer_target(document: Any, pointer: str) -> Any:
    node = document
    for part in filter(None, pointer.split("/")):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _unresolved(document: Document, base_dir: Path) -> list[str]:
    problems = []
    for ref in _references(document):
        target, _, pointer = ref.partition("#")
        try:
            root = json.loads((base_dir / target).read_text()) if target else document
            _pointer_target(root, pointer)
        except (OSError, KeyError, IndexError, TypeError, ValueError):
            problems.append(f"{ref} does not resolve")
    return problems


def structural_problems(document: Document, base_dir: Path) -> list[str]:
    """What keeps ``document`` from being a sound AsyncAPI 3.0 description of the registry."""
    problems = _unresolved(document, base_dir)
    if document.get("asyncapi") != "3.0.0":
        problems.append(f"asyncapi is {document.get('asyncapi')!r}, not '3.0.0'")
    if not {"title", "version"} <= document.get("info", {}).keys():
        problems.append("info needs a title and a version")
    channels = document.get("channels", {})
    messages = document.get("components", {}).get("messages", {})
    for name, operation in document.get("operations", {}).items():
        if operation.get("action") not in {"send", "receive"}:
            problems.append(f"operation {name}: action {operation.get('action')!r}")
        channel_ref = operation.get("channel", {}).get("$ref", "")
        for message in operation.get("messages", []):
            # AsyncAPI 3: an operation's messages are a subset of its channel's messages.
            if not message.get("$ref", "").startswith(f"{channel_ref}/messages/"):
                problems.append(f"operation {name}: {message} is not a message of its channel")
    for spec in EVENT_SPECS:
        channel = channels.get(spec.routing_key, {})
        amqp = channel.get("bindings", {}).get("amqp", {})
        if channel.get("address") != spec.routing_key:
            problems.append(f"{spec.routing_key}: no channel with that address")
        exchange = amqp.get("exchange", {})
        if amqp.get("is") != "routingKey" or (
            exchange.get("name"),
            exchange.get("type"),
            exchange.get("durable"),
        ) != (EXCHANGE_NAME, EXCHANGE_TYPE, True):
            problems.append(f"{spec.routing_key}: channel is not bound to the exchange")
        message = messages.get(spec.routing_key, {})
        if message.get("contentType") != CLOUDEVENTS_CONTENT_TYPE:
            problems.append(f"{spec.routing_key}: message content type is not CloudEvents JSON")
        payload_ref = message.get("payload", {}).get("$ref", "")
        if (
            not (base_dir / payload_ref).is_file()
            or json.loads((base_dir / payload_ref).read_text()).get("$id") != spec.dataschema
        ):
            problems.append(f"{spec.routing_key}: payload is not the schema {spec.dataschema}")
        sends = [
            operation
            for operation in document.get("operations", {}).values()
            if operation.get("action") == "send"
            and operation.get("channel", {}).get("$ref") == f"#/channels/{spec.routing_key}"
        ]
        if not sends:
            problems.append(f"{spec.routing_key}: no send operation")
    return problems


def test_committed_document_is_valid_asyncapi_3(contracts_dir: Path) -> None:
    assert official_schema_errors(_load(contracts_dir)) == []


@pytest.mark.parametrize(
    "break_document",
    [
        lambda d: d["channels"]["notice.read.v1"]["bindings"]["amqp"].update(
            **{"is": "exchangeAndQueue"}
        ),
        lambda d: d["operations"]["notice.read.v1.send"].update(action="publish"),
        lambda d: d["info"].pop("version"),
    ],
    ids=["amqp-binding", "v2-style-action", "no-info-version"],
)
def test_the_official_schema_trips_on_an_invalid_document(
    contracts_dir: Path, break_document: Any
) -> None:
    document = _load(contracts_dir)
    break_document(document)

    assert official_schema_errors(document) != []


def test_committed_document_is_structurally_sound(contracts_dir: Path) -> None:
    assert structural_problems(_load(contracts_dir), contracts_dir) == []


def test_default_content_type_is_cloudevents_json(contracts_dir: Path) -> None:
    assert _load(contracts_dir)["defaultContentType"] == CLOUDEVENTS_CONTENT_TYPE


def test_send_operations_publish_persistent_and_mandatory(contracts_dir: Path) -> None:
    document = _load(contracts_dir)
    sends = [
        operation for operation in document["operations"].values() if operation["action"] == "send"
    ]

    assert len(sends) == len(EVENT_SPECS)
    assert {
        (op["bindings"]["amqp"]["deliveryMode"], op["bindings"]["amqp"]["mandatory"])
        for op in sends
    } == {(2, True)}


def test_every_event_version_has_its_channel_and_message_type(contracts_dir: Path) -> None:
    document = _load(contracts_dir)

    assert channels_and_message_types(document, base_dir=contracts_dir) == {
        (spec.routing_key, spec.type) for spec in EVENT_SPECS
    }


@pytest.mark.parametrize(
    ("break_document", "expected"),
    [
        (
            lambda d: d["components"]["messages"].pop("notice.read.v1"),
            "#/components/messages/notice.read.v1 does not resolve",
        ),
        (
            lambda d: d["components"]["messages"]["notice.archived.v1"].update(
                payload={"$ref": "./schemas/notice.archived.v9.json"}
            ),
            "./schemas/notice.archived.v9.json does not resolve",
        ),
        (
            lambda d: d["channels"].pop("recipient.updated.v1"),
            "recipient.updated.v1: no channel with that address",
        ),
        (
            lambda d: d["channels"]["notice.read.v1"]["bindings"]["amqp"]["exchange"].update(
                type="direct"
            ),
            "notice.read.v1: channel is not bound to the exchange",
        ),
        (
            lambda d: d["components"]["messages"]["notice.read.v1"].update(
                contentType="application/json"
            ),
            "notice.read.v1: message content type is not CloudEvents JSON",
        ),
        (
            lambda d: d["operations"]["notice.read.v1.send"]["messages"][0].update(
                {"$ref": "#/channels/notice.archived.v1/messages/notice.archived.v1"}
            ),
            "is not a message of its channel",
        ),
        (lambda d: d.update(asyncapi="2.6.0"), "asyncapi is '2.6.0', not '3.0.0'"),
    ],
    ids=[
        "dangling-message",
        "dangling-schema-file",
        "missing-channel",
        "wrong-exchange",
        "wrong-content-type",
        "foreign-message",
        "wrong-version",
    ],
)
def test_the_structural_check_trips_on_a_broken_document(
    contracts_copy: Path, break_document: Any, expected: str
) -> None:
    document = _load(contracts_copy)
    break_document(document)

    problems = structural_problems(document, contracts_copy)

    assert any(expected in problem for problem in problems), problems


def test_rendered_yaml_reads_back_as_the_document() -> None:
    document = build_document(EVENT_SPECS)

    assert yaml.safe_load(render(document)) == document


def test_rendered_yaml_keeps_tricky_scalars_and_keys() -> None:
    tricky = {
        "yes": "no",
        "on": ["off", "null", "~", "", "a: b", "# not a comment", "- item", "ünïcode"],
        "key with space": {"nested": [{"a": 1, "b": [True, None, 2.5]}, []], "empty": {}},
        "$ref": "#/x",
        "3.0.0": "3.0.0",
    }

    assert yaml.safe_load(render(tricky)) == tricky


# What FastStream 0.7's `faststream docs gen` writes for a RabbitMQ subscriber: the channel
# address is the routing key; payloads are component schemas with percent-encoded names.
FASTSTREAM_DOCUMENT: Document = {
    "asyncapi": "3.0.0",
    "channels": {
        "notifier.events:notices.events:Handle": {
            "address": "notice.read.v1",
            "messages": {
                "SubscribeMessage": {
                    "$ref": "#/components/messages/notifier.events:notices.events:Handle:Message"
                }
            },
        }
    },
    "components": {
        "messages": {
            "notifier.events:notices.events:Handle:Message": {
                "title": "notifier.events:notices.events:Handle:Message",
                "payload": {"$ref": "#/components/schemas/CloudEvent%5BNoticeReadV1%5D"},
            }
        },
        "schemas": {
            "CloudEvent[NoticeReadV1]": {
                "properties": {"type": {"const": "notices.notice.read.v1", "type": "string"}}
            }
        },
    },
}


def test_channels_and_message_types_reads_a_faststream_document() -> None:
    assert channels_and_message_types(FASTSTREAM_DOCUMENT) == {
        ("notice.read.v1", "notices.notice.read.v1")
    }


def test_channels_and_message_types_falls_back_to_the_message_name_then_title() -> None:
    document = json.loads(json.dumps(FASTSTREAM_DOCUMENT))
    del document["components"]["schemas"]["CloudEvent[NoticeReadV1]"]["properties"]["type"]
    message = document["components"]["messages"]["notifier.events:notices.events:Handle:Message"]

    assert channels_and_message_types(document) == {
        ("notice.read.v1", "notifier.events:notices.events:Handle:Message")
    }
    message["name"] = "notices.notice.read.v1"
    assert channels_and_message_types(document) == {("notice.read.v1", "notices.notice.read.v1")}


def test_channels_and_message_types_needs_base_dir_for_schema_files(contracts_dir: Path) -> None:
    with pytest.raises(ValueError, match="pass base_dir"):
        channels_and_message_types(_load(contracts_dir))
