"""The AsyncAPI 3.0 document of the ``notices.events`` exchange, generated from the registry.

``contracts/asyncapi.yaml`` has one channel per routing key, the producer's ``send``
and the notifier's ``receive`` operation of each, and one message per event version
whose payload references the committed JSON Schema of that version. ``make contracts``
regenerates it (see ``notices_contracts.artifacts``); a test fails when it drifts.
"""

import json
import re
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from notices_contracts.amqp import (
    EXCHANGE_NAME,
    EXCHANGE_TYPE,
    PERSISTENT_DELIVERY_MODE,
    TRACEPARENT_HEADER,
)
from notices_contracts.envelope import CLOUDEVENTS_CONTENT_TYPE, TRACEPARENT_PATTERN
from notices_contracts.registry import EventSpec
from notices_contracts.schema import schema_file

ASYNCAPI_FILE = "asyncapi.yaml"
AMQP_BINDING_VERSION = "0.3.0"

_DESCRIPTION = (
    "Domain events of the notices platform. notices-api writes them to its outbox in the "
    "transaction of the change; the outbox relay publishes them, persistent and mandatory, "
    f"to the durable topic exchange {EXCHANGE_NAME}; the notifier consumes them. Each message "
    "is a CloudEvents 1.0 structured-mode JSON body; its AMQP properties mirror the envelope "
    "(message_id = id, type, timestamp = time, correlation_id = correlationid, header "
    "traceparent). Consumers ignore fields they do not know; a breaking change is a new "
    "version published beside the old one (see contracts/README.md)."
)


def _channel(spec: EventSpec) -> dict[str, Any]:
    return {
        "address": spec.routing_key,
        "title": spec.routing_key,
        "description": f"Messages of type {spec.type}, routed by key {spec.routing_key}.",
        "messages": {spec.routing_key: {"$ref": f"#/components/messages/{spec.routing_key}"}},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": EXCHANGE_NAME,
                    "type": EXCHANGE_TYPE,
                    "durable": True,
                    "autoDelete": False,
                    "vhost": "/",
                },
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }


def _operations(spec: EventSpec) -> dict[str, Any]:
    channel = {"$ref": f"#/channels/{spec.routing_key}"}
    messages = [{"$ref": f"#/channels/{spec.routing_key}/messages/{spec.routing_key}"}]
    return {
        f"{spec.routing_key}.send": {
            "action": "send",
            "channel": channel,
            "summary": "notices-api's outbox relay publishes it once the change committed.",
            "messages": messages,
            "bindings": {
                "amqp": {
                    "cc": [spec.routing_key],
                    "deliveryMode": PERSISTENT_DELIVERY_MODE,
                    "mandatory": True,
                    "timestamp": True,
                    "bindingVersion": AMQP_BINDING_VERSION,
                }
            },
        },
        f"{spec.routing_key}.receive": {
            "action": "receive",
            "channel": channel,
            "summary": "The notifier consumes it at least once and applies it exactly once.",
            "messages": messages,
            "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
        },
    }


def _message(spec: EventSpec) -> dict[str, Any]:
    return {
        "name": spec.type,
        "title": spec.type,
        "summary": (spec.data_model.__doc__ or spec.type).strip(),
        "contentType": CLOUDEVENTS_CONTENT_TYPE,
        "correlationId": {"location": "$message.payload#/correlationid"},
        "headers": {
            "type": "object",
            "properties": {
                TRACEPARENT_HEADER: {
                    "type": "string",
                    "pattern": TRACEPARENT_PATTERN,
                    "description": "W3C trace context, a copy of the envelope's traceparent.",
                }
            },
        },
        "payload": {"$ref": f"./{schema_file(spec)}"},
        "bindings": {"amqp": {"messageType": spec.type, "bindingVersion": AMQP_BINDING_VERSION}},
    }


def build_document(specs: Iterable[EventSpec]) -> dict[str, Any]:
    specs = tuple(specs)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "notices events",
            "version": version("notices-contracts"),
            "description": _DESCRIPTION,
        },
        "defaultContentType": CLOUDEVENTS_CONTENT_TYPE,
        "servers": {
            "rabbitmq": {
                "host": "localhost:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "RabbitMQ; the services take its address from AMQP_URL.",
            }
        },
        "channels": {spec.routing_key: _channel(spec) for spec in specs},
        "operations": {
            name: operation for spec in specs for name, operation in _operations(spec).items()
        },
        "components": {"messages": {spec.routing_key: _message(spec) for spec in specs}},
    }


_PLAIN_KEY = re.compile(r"^[A-Za-z$_][A-Za-z0-9$_.\-]*$")
# Plain scalars YAML 1.1 readers turn into booleans or null.
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})


def _key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) and key.lower() not in _YAML_WORDS else json.dumps(key)


def _lines(value: Any, indent: int) -> list[str]:
    """Block-style YAML; every scalar is written as JSON, which YAML reads alike."""
    pad = " " * indent
    if isinstance(value, dict) and value:
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines += [f"{pad}{_key(key)}:", *_lines(item, indent + 2)]
            else:
                lines.append(f"{pad}{_key(key)}: {json.dumps(item)}")
        return lines
    if isinstance(value, list) and value:
        lines = []
        for item in value:
            if isinstance(item, dict | list) and item:
                first, *rest = _lines(item, indent + 2)
                lines += [f"{pad}- {first.lstrip()}", *rest]
            else:
                lines.append(f"{pad}- {json.dumps(item)}")
        return lines
    return [f"{pad}{json.dumps(value)}"]


def render(document: dict[str, Any]) -> str:
    header = "# Generated from notices_contracts by `make contracts`: do not edit by hand.\n"
    return header + "\n".join(_lines(document, 0)) + "\n"


def _resolve(document: dict[str, Any], node: Any, base_dir: Path | None) -> Any:
    """Follow ``$ref`` chains: local JSON pointers, and files relative to ``base_dir``."""
    while isinstance(node, dict) and "$ref" in node:
        target, _, pointer = node["$ref"].partition("#")
        if target:
            if base_dir is None:
                raise ValueError(f"{node['$ref']!r} points to a file: pass base_dir")
            document = json.loads((base_dir / target).read_text())
        node = document
        for part in filter(None, unquote(pointer).split("/")):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _message_type(document: dict[str, Any], message: dict[str, Any], base_dir: Path | None) -> str:
    payload = _resolve(document, message.get("payload", {}), base_dir)
    if isinstance(payload, dict) and "schemaFormat" in payload:
        payload = _resolve(document, payload.get("schema", {}), base_dir)
    event_type = payload.get("properties", {}).get("type", {}).get("const")
    if isinstance(event_type, str):
        return event_type
    return str(message.get("name") or message.get("title"))


def channels_and_message_types(
    document: dict[str, Any], *, base_dir: Path | None = None
) -> set[tuple[str, str]]:
    """``(routing key, event type)`` of every message of every channel of an AsyncAPI 3 document.

    Works on this package's document and on one FastStream generates, so the two can be
    compared. The routing key is the channel's ``address``. The event type is the ``const``
    of the payload's ``type`` property (its CloudEvents type), else the message's ``name``,
    else its ``title``. ``base_dir`` resolves payloads that reference schema files.
    """
    pairs = set()
    for channel in document.get("channels", {}).values():
        for message in channel.get("messages", {}).values():
            resolved = _resolve(document, message, base_dir)
            pairs.add((channel["address"], _message_type(document, resolved, base_dir)))
    return pairs
