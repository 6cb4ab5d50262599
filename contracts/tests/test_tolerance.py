"""Tolerant reader, strict writer.

Consumers ignore fields they do not know (so a producer may add an optional field to a
published version); producers never send a field the schema does not know.
"""

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from notices_contracts import (
    EVENT_SPECS,
    NoticeReadV1,
    build_event,
    parse_event,
)
from notices_contracts.schema import message_schema

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*/*.json"))
EXAMPLE_IDS = [f"{path.parent.name}/{path.stem}" for path in EXAMPLES]


def _resolve(root: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].removeprefix("#/$defs/")]
    return schema


def unknown_keys(root: dict[str, Any], schema: dict[str, Any], value: Any, path: str) -> list[str]:
    """Paths in ``value`` that ``schema`` has no property for, at every level."""
    schema = _resolve(root, schema)
    branches = [_resolve(root, branch) for branch in schema.get("anyOf", [])] or [schema]
    found = []
    for branch in branches:
        if isinstance(value, dict) and "properties" in branch:
            for key, item in value.items():
                if key not in branch["properties"]:
                    found.append(f"{path}.{key}")
                else:
                    found += unknown_keys(root, branch["properties"][key], item, f"{path}.{key}")
        elif isinstance(value, list) and "items" in branch:
            for index, item in enumerate(value):
                found += unknown_keys(root, branch["items"], item, f"{path}[{index}]")
    return found


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_consumer_ignores_unknown_fields_in_envelope_and_data(path: Path) -> None:
    message = json.loads(path.read_text())
    expected = parse_event(path.read_bytes())
    message["partitionkey"] = "7"  # an extension this build does not know
    message["data"]["added_in_a_later_release"] = {"nested": [1, 2]}

    event = parse_event(json.dumps(message))

    assert event == expected
    wire = json.loads(event.to_json_bytes())
    assert "partitionkey" not in wire
    assert "added_in_a_later_release" not in wire["data"]


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_producer_sends_only_fields_the_schema_knows(path: Path) -> None:
    event = parse_event(path.read_bytes())
    spec = next(spec for spec in EVENT_SPECS if spec.type == event.type)
    schema = message_schema(spec)

    assert unknown_keys(schema, schema, json.loads(event.to_json_bytes()), "$") == []


def test_the_producer_check_finds_a_field_the_schema_does_not_know() -> None:
    schema = message_schema(EVENT_SPECS[0])
    message = {"id": "x", "extra": 1, "data": {"title": "t", "recipient_ids": [], "sneaky": 2}}

    assert unknown_keys(schema, schema, message, "$") == ["$.extra", "$.data.sneaky"]


def test_an_unknown_keyword_given_to_a_model_does_not_reach_the_wire() -> None:
    now = datetime.now(UTC)
    data = NoticeReadV1(
        notice_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        read_at=now,
        user_email="leak@example.org",  # type: ignore[call-arg]
    )
    body = build_event(
        event_id=uuid.uuid4(), subject=str(data.notice_id), time=now, data=data
    ).to_json_bytes()

    assert b"leak@example.org" not in body
    assert set(json.loads(body)["data"]) == {"notice_id", "user_id", "read_at"}
