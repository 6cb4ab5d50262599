"""Helpers for the test suites (imported by tests only; jsonschema is a dev dependency)."""

from jsonschema import Draft202012Validator

from notices_api.outbox.models import OutboxEvent
from notices_contracts import EventSpec, parse_event
from notices_contracts.schema import message_schema


def events_of(spec: EventSpec) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(event_type=spec.type).order_by("position"))


def assert_valid_message(event: OutboxEvent, spec: EventSpec) -> None:
    """The stored envelope is what the contract's JSON Schema and parser accept."""
    validator = Draft202012Validator(
        message_schema(spec), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    assert [error.message for error in validator.iter_errors(event.envelope)] == []
    assert parse_event(event.envelope_json()).type == spec.type
