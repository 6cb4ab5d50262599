"""Every event type of the contract, its data model and its routing key."""

from dataclasses import dataclass

from notices_contracts.base import ContractModel
from notices_contracts.events.v1 import (
    NoticeArchivedV1,
    NoticePublishedV1,
    NoticeReadV1,
    RecipientUpdatedV1,
)

TYPE_PREFIX = "notices."
SCHEMA_URI_PREFIX = "urn:notices:schema:"


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One version of one event: ``name`` is e.g. ``notice.published``, ``version`` 1."""

    name: str
    version: int
    data_model: type[ContractModel]
    aggregate: str

    @property
    def routing_key(self) -> str:
        """``notice.published.v1``: the CloudEvents type without the ``notices.`` prefix."""
        return f"{self.name}.v{self.version}"

    @property
    def type(self) -> str:
        return f"{TYPE_PREFIX}{self.routing_key}"

    @property
    def dataschema(self) -> str:
        return f"{SCHEMA_URI_PREFIX}{self.routing_key}"


NOTICE_PUBLISHED_V1 = EventSpec("notice.published", 1, NoticePublishedV1, "notice")
NOTICE_READ_V1 = EventSpec("notice.read", 1, NoticeReadV1, "notice")
NOTICE_ARCHIVED_V1 = EventSpec("notice.archived", 1, NoticeArchivedV1, "notice")
RECIPIENT_UPDATED_V1 = EventSpec("recipient.updated", 1, RecipientUpdatedV1, "user")

EVENT_SPECS: tuple[EventSpec, ...] = (
    NOTICE_PUBLISHED_V1,
    NOTICE_READ_V1,
    NOTICE_ARCHIVED_V1,
    RECIPIENT_UPDATED_V1,
)
SPECS_BY_TYPE: dict[str, EventSpec] = {spec.type: spec for spec in EVENT_SPECS}
SPECS_BY_DATA_MODEL: dict[type[ContractModel], EventSpec] = {
    spec.data_model: spec for spec in EVENT_SPECS
}
KNOWN_EVENT_NAMES: frozenset[str] = frozenset(spec.name for spec in EVENT_SPECS)


def spec_for_data(data: ContractModel) -> EventSpec:
    return SPECS_BY_DATA_MODEL[type(data)]
