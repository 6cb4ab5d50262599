"""Raw bytes to a typed event, or one exception that says what is wrong."""

import json
import re
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from notices_contracts.envelope import CloudEvent
from notices_contracts.registry import KNOWN_EVENT_NAMES, SPECS_BY_TYPE, TYPE_PREFIX

_TYPED_ENVELOPES: dict[str, type[CloudEvent[Any]]] = {
    event_type: CloudEvent[spec.data_model]  # type: ignore[name-defined]
    for event_type, spec in SPECS_BY_TYPE.items()
}
_VERSIONED_TYPE = re.compile(rf"^{re.escape(TYPE_PREFIX)}(?P<name>.+)\.v(?P<version>\d+)$")


class ContractErrorCode(StrEnum):
    INVALID_JSON = "invalid_json"
    NOT_A_CLOUDEVENT = "not_a_cloudevent"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_VERSION = "unsupported_version"
    INVALID_DATA = "invalid_data"


class ContractError(ValueError):
    """A message does not meet the contract. ``code`` says how, ``str()`` says where."""

    def __init__(self, code: ContractErrorCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    @property
    def is_unknown_event(self) -> bool:
        """A well-formed CloudEvent of a type or version this build does not know.

        Forward compatibility: consumers acknowledge and skip these instead of
        dead-lettering them.
        """
        return self.code in {ContractErrorCode.UNKNOWN_TYPE, ContractErrorCode.UNSUPPORTED_VERSION}


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}"
        for item in error.errors(include_url=False)
    )


def parse_event(body: bytes | str) -> CloudEvent[Any]:
    """Parse a structured-mode CloudEvent and validate its data against its type's model."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ContractError(ContractErrorCode.INVALID_JSON, str(error)) from error
    if not isinstance(document, dict):
        raise ContractError(ContractErrorCode.NOT_A_CLOUDEVENT, "body is not a JSON object")
    return parse_event_document(document)


def parse_event_document(document: dict[str, Any]) -> CloudEvent[Any]:
    event_type = document.get("type")
    spec = SPECS_BY_TYPE.get(event_type) if isinstance(event_type, str) else None
    if spec is not None:
        # The common case in one validation: a known type, envelope and data valid.
        try:
            return _TYPED_ENVELOPES[spec.type].model_validate(document)
        except ValidationError as error:
            data_error = error
    # Which rule the document breaks: the envelope's first, then its type's, then its data's.
    try:
        envelope = CloudEvent[Any].model_validate(document)
    except ValidationError as error:
        raise ContractError(ContractErrorCode.NOT_A_CLOUDEVENT, _describe(error)) from error
    if spec is not None:
        raise ContractError(ContractErrorCode.INVALID_DATA, _describe(data_error)) from data_error
    match = _VERSIONED_TYPE.match(envelope.type)
    if match and match["name"] in KNOWN_EVENT_NAMES:
        raise ContractError(
            ContractErrorCode.UNSUPPORTED_VERSION,
            f"{envelope.type!r} is not a version this build supports",
        )
    raise ContractError(ContractErrorCode.UNKNOWN_TYPE, f"unknown event type {envelope.type!r}")
