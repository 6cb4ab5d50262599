"""JSON Schema of every event version, generated from the models.

``contracts/schemas/<routing key>.json`` (e.g. ``notice.published.v1.json``) holds the
schema of the whole message of that type: the CloudEvents envelope with its typed
``data``. Regenerate with ``make contracts``; a test fails when they drift.
"""

import json
import sys
from pathlib import Path
from typing import Any

from notices_contracts.envelope import CloudEvent
from notices_contracts.registry import EVENT_SPECS, EventSpec


def message_schema(spec: EventSpec) -> dict[str, Any]:
    schema = CloudEvent[spec.data_model].model_json_schema()  # type: ignore[name-defined]
    schema["$id"] = spec.dataschema
    schema["title"] = spec.type
    schema["properties"]["type"] = {"const": spec.type, "title": "Type", "type": "string"}
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def schema_path(directory: Path, spec: EventSpec) -> Path:
    return directory / f"{spec.routing_key}.json"


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in EVENT_SPECS:
        path = schema_path(directory, spec)
        path.write_text(render(message_schema(spec)))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "schemas")):
        print(written_path)
