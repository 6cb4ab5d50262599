"""notices-contracts: the versioned event contract of the notices platform.

One source of truth for producer (notices-api), consumer (notifier), the JSON
Schemas under ``contracts/schemas/`` and the AsyncAPI document.
"""

from notices_contracts.amqp import (
    EXCHANGE_NAME,
    EXCHANGE_TYPE,
    AmqpProperties,
    EnvelopeHints,
    amqp_properties,
    envelope_hints,
    routing_key_for_type,
)
from notices_contracts.envelope import (
    CLOUDEVENTS_CONTENT_TYPE,
    CloudEvent,
    build_event,
)
from notices_contracts.events.v1 import (
    NoticeArchivedV1,
    NoticePublishedV1,
    NoticeReadV1,
    RecipientUpdatedV1,
)
from notices_contracts.parsing import ContractError, ContractErrorCode, parse_event
from notices_contracts.registry import (
    EVENT_SPECS,
    NOTICE_ARCHIVED_V1,
    NOTICE_PUBLISHED_V1,
    NOTICE_READ_V1,
    RECIPIENT_UPDATED_V1,
    SPECS_BY_TYPE,
    EventSpec,
)

__all__ = [
    "CLOUDEVENTS_CONTENT_TYPE",
    "EVENT_SPECS",
    "EXCHANGE_NAME",
    "EXCHANGE_TYPE",
    "NOTICE_ARCHIVED_V1",
    "NOTICE_PUBLISHED_V1",
    "NOTICE_READ_V1",
    "RECIPIENT_UPDATED_V1",
    "SPECS_BY_TYPE",
    "AmqpProperties",
    "CloudEvent",
    "ContractError",
    "ContractErrorCode",
    "EnvelopeHints",
    "EventSpec",
    "NoticeArchivedV1",
    "NoticePublishedV1",
    "NoticeReadV1",
    "RecipientUpdatedV1",
    "amqp_properties",
    "build_event",
    "envelope_hints",
    "parse_event",
    "routing_key_for_type",
]
