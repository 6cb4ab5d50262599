"""JSON Schema of every event version, generated from the models.

``contracts/schemas/<routing key>.json`` (e.g. ``notice.published.v1.json``) holds the
schema of the whole message of that type: the CloudEvents envelope with its typed
``data``. ``make contracts`` regenerates them (see ``notices_contracts.artifacts``);
a test fails when they drift.
"""

import json
from collections.abc import Iterable
from typing import Any

from notices_contracts.envelope import CloudEvent
from notices_contracts.registry import EventSpec

SCHEMAS_DIR = "schemas"


def message_schema(spec: EventSpec) -> dict[str, Any]:
    schema = CloudEvent[spec.data_model].model_json_schema()  # type: ignore[name-defined]
    schema["$id"] = spec.dataschema
    schema["title"] = spec.type
    schema["properties"]["type"] = {"const": spec.type, "title": "Type", "type": "string"}
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def schema_file(spec: EventSpec) -> str:
    """Where the schema of ``spec`` lives, relative to ``contracts/``."""
    return f"{SCHEMAS_DIR}/{spec.routing_key}.json"


def schema_files(specs: Iterable[EventSpec]) -> dict[str, str]:
    """The content of every schema file, keyed by its path relative to ``contracts/``."""
    return {schema_file(spec): render(message_schema(spec)) for spec in specs}
