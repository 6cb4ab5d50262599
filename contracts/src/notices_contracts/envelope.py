"""CloudEvents 1.0 structured-mode envelope (``application/cloudevents+json``)."""

from typing import Annotated, Any, Generic, Literal, TypeVar, cast
from uuid import UUID

from pydantic import Field

from notices_contracts.base import AwareDatetime, ContractModel
from notices_contracts.registry import spec_for_data

DataT = TypeVar("DataT", bound=ContractModel)

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE: Literal["application/json"] = "application/json"
DEFAULT_SOURCE = "/notices-api"

# W3C trace-context header value: version-traceid-parentid-flags.
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


class CloudEvent(ContractModel, Generic[DataT]):
    """The envelope. ``id`` is the outbox row id (a UUIDv7), ``subject`` the aggregate id."""

    specversion: Literal["1.0"] = "1.0"
    id: Annotated[
        UUID, Field(description="The outbox row id (UUIDv7); consumers deduplicate on it.")
    ]
    source: Annotated[str, Field(min_length=1, description="The producer.")] = DEFAULT_SOURCE
    type: Annotated[
        str, Field(min_length=1, description="notices.<event>.v<version>; fixes the data model.")
    ]
    subject: Annotated[str, Field(min_length=1, description="The aggregate's id.")]
    time: Annotated[AwareDatetime, Field(description="When the change was committed.")]
    datacontenttype: Literal["application/json"] = DATA_CONTENT_TYPE
    dataschema: Annotated[str | None, Field(description="URN of this type's JSON Schema.")] = None
    data: DataT
    traceparent: Annotated[
        Annotated[str, Field(pattern=TRACEPARENT_PATTERN)] | None,
        Field(description="W3C trace context of the request that caused the event."),
    ] = None
    correlationid: Annotated[
        str | None, Field(description="Request id of the request that caused the event.")
    ] = None

    def to_json_bytes(self) -> bytes:
        """The wire form: unset optional envelope attributes are left out, as CloudEvents asks.

        Only top-level attributes are dropped: a ``null`` inside ``data`` is a value the
        data model requires (e.g. ``visible_until``), so it is sent as ``null``.
        """
        return self.model_dump_json(exclude=self._unset_attributes()).encode()

    def to_json_dict(self) -> dict[str, Any]:
        """The wire form as a JSON-ready dict (e.g. for a JSON column): ``to_json_bytes`` parsed.

        Use this, not ``model_dump(exclude_none=True)``, which also drops the ``null``
        values ``data`` requires and so makes a message consumers reject.
        """
        return self.model_dump(mode="json", exclude=self._unset_attributes())

    def _unset_attributes(self) -> set[str]:
        return {name for name, value in self if value is None}


def build_event(
    *,
    event_id: UUID,
    subject: str,
    time: AwareDatetime,
    data: DataT,
    source: str = DEFAULT_SOURCE,
    traceparent: str | None = None,
    correlationid: str | None = None,
) -> CloudEvent[DataT]:
    """The producer's one way to make an envelope: type and dataschema follow from ``data``."""
    spec = spec_for_data(data)
    # Parametrised with the concrete data class, so serialisation writes all its fields.
    envelope_model = cast("type[CloudEvent[DataT]]", CloudEvent[type(data)])  # type: ignore[misc]
    return envelope_model(
        id=event_id,
        source=source,
        type=spec.type,
        subject=subject,
        time=time,
        dataschema=spec.dataschema,
        data=data,
        traceparent=traceparent,
        correlationid=correlationid,
    )
