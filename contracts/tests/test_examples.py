"""Golden examples: contracts/examples/<routing key>/*.json are real messages of each version.

Each parses with parse_event, validates against the committed JSON Schema of its version,
round-trips (parse -> dump -> parse gives the same event) and is exactly what the
producer sends for that event.
"""

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from notices_contracts import EVENT_SPECS, ContractError, EventSpec, parse_event

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*/*.json"))

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_aware_datetime(value: object) -> bool:
    # jsonschema checks date-time only with an optional package; this is the contract's rule.
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def schema_errors(schemas_dir: Path, routing_key: str, document: Any) -> list[str]:
    schema = json.loads((schemas_dir / f"{routing_key}.json").read_text())
    validator = Draft202012Validator(schema, format_checker=FORMATS)
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]


def example_problems(path: Path, schemas_dir: Path) -> list[str]:
    """Everything wrong with one example file; empty when it is a golden message."""
    routing_key = path.parent.name
    body = path.read_bytes()
    try:
        event = parse_event(body)
    except ContractError as error:
        return [f"does not parse: {error}"]
    problems = schema_errors(schemas_dir, routing_key, json.loads(body))
    if event.type != f"notices.{routing_key}":
        problems.append(f"is a {event.type}, filed under {routing_key}")
    wire = event.to_json_bytes()
    if parse_event(wire) != event:
        problems.append("does not round-trip: parse(dump(parse(example))) != parse(example)")
    if json.loads(wire) != json.loads(body):
        problems.append("differs from what the producer sends for the same event")
    return problems


def _examples_of(spec: EventSpec) -> list[dict[str, Any]]:
    return [
        json.loads(path.read_text()) for path in EXAMPLES if path.parent.name == spec.routing_key
    ]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_example_is_a_golden_message(path: Path, contracts_dir: Path) -> None:
    assert example_problems(path, contracts_dir / "schemas") == []


def test_every_event_version_has_at_least_two_examples_and_every_example_a_version() -> None:
    routing_keys = [path.parent.name for path in EXAMPLES]
    assert {
        spec.routing_key: routing_keys.count(spec.routing_key) >= 2 for spec in EVENT_SPECS
    } == {spec.routing_key: True for spec in EVENT_SPECS}
    assert set(routing_keys) == {spec.routing_key for spec in EVENT_SPECS}


@pytest.mark.parametrize("spec", EVENT_SPECS, ids=lambda spec: spec.routing_key)
def test_examples_show_every_nullable_field_both_null_and_set(spec: EventSpec) -> None:
    data_properties = spec.data_model.model_json_schema()["properties"]
    nullable = [
        name
        for name, field_schema in data_properties.items()
        if {"type": "null"} in field_schema.get("anyOf", [])
    ]
    examples = _examples_of(spec)
    for name in nullable:
        values = [example["data"][name] for example in examples]
        assert None in values, f"no example of {spec.routing_key} has {name} null"
        assert any(value is not None for value in values), f"no example has {name} set"


@pytest.mark.parametrize("spec", EVENT_SPECS, ids=lambda spec: spec.routing_key)
def test_examples_show_the_optional_extensions_both_present_and_absent(spec: EventSpec) -> None:
    examples = _examples_of(spec)
    for extension in ("traceparent", "correlationid"):
        assert {extension in example for example in examples} == {True, False}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda event: event["data"].pop("notice_id"), "does not parse"),
        (lambda event: event["data"].update(urgent="yes"), "$.data.urgent: 'yes' is not"),
        (lambda event: event["data"].update(visible_from="2026-11-20T09:30:00"), "does not parse"),
        (lambda event: event.update(type="notices.notice.read.v1"), "does not parse"),
        (lambda event: event.update(source=""), "does not parse"),
        (lambda event: event.update(time="2026-11-20T09:30:00.000Z"), "differs from what"),
    ],
    ids=[
        "missing-field",
        "coerced-type",
        "naive-time",
        "wrong-type",
        "empty-source",
        "not-canonical",
    ],
)
def test_a_broken_example_trips_the_gate(contracts_copy: Path, mutate: Any, expected: str) -> None:
    path = contracts_copy / "examples/notice.published.v1/urgent-with-reminder-and-end.json"
    event = json.loads(path.read_text())
    mutate(event)
    path.write_text(json.dumps(event))

    problems = example_problems(path, contracts_copy / "schemas")

    assert any(problem.startswith(expected) for problem in problems), problems


def test_an_example_filed_under_the_wrong_version_trips_the_gate(contracts_copy: Path) -> None:
    misfiled = contracts_copy / "examples/notice.archived.v1/read.json"
    shutil.copy(contracts_copy / "examples/notice.read.v1/minimal.json", misfiled)

    problems = example_problems(misfiled, contracts_copy / "schemas")

    assert "is a notices.notice.read.v1, filed under notice.archived.v1" in problems
