"""Bodies the API reads and writes (its OpenAPI schemas); problems are in ``problems``."""

import re
from datetime import datetime, time
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    PlainSerializer,
    WithJsonSchema,
)

from notifier.ledger.operator import DeliveryHistory
from notifier.store.models import WebhookEndpoint

WebhookEventType = Literal[
    "notices.notice.published.v1", "notices.notice.read.v1", "notices.notice.archived.v1"
]


# Every string a client can store has a bound (see docs/security.md).
MAX_DESCRIPTION_LENGTH = 1000
MAX_CATEGORY_LENGTH = 100
MAX_OPT_OUTS_PER_CHANNEL = 200


class RequestBody(BaseModel):
    """A body the API reads: an unknown field is refused (400 naming it), not ignored."""

    model_config = ConfigDict(extra="forbid")


class WebhookEndpointIn(RequestBody):
    url: HttpUrl  # at most 2083 characters: pydantic's bound for HttpUrl
    event_types: list[WebhookEventType] = Field(
        default_factory=lambda: list[WebhookEventType](["notices.notice.published.v1"]),
        max_length=len(get_args(WebhookEventType)),
    )
    # PostgreSQL text cannot hold U+0000.
    description: str = Field("", pattern=r"^[^\x00]*$", max_length=MAX_DESCRIPTION_LENGTH)


class WebhookEndpointOut(BaseModel):
    id: UUID
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> "WebhookEndpointOut":
        return cls.model_validate(endpoint, from_attributes=True)


class WebhookEndpointWithSecret(WebhookEndpointOut):
    secret: str = Field(description="Shown once: store it now.")

    @classmethod
    def of_new_secret(cls, endpoint: WebhookEndpoint) -> "WebhookEndpointWithSecret":
        return cls(**WebhookEndpointOut.of(endpoint).model_dump(), secret=endpoint.secrets[0])


class AttemptOut(BaseModel):
    number: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    status_code: int | None
    error: str | None


class DeliveryOut(BaseModel):
    id: UUID
    notice_id: UUID
    channel: str
    kind: str
    target_id: UUID
    status: str
    due_at: datetime
    attempt_count: int
    last_error: str | None
    last_status_code: int | None
    event_id: UUID
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


class DeliveryDetail(DeliveryOut):
    attempts: list[AttemptOut]

    @classmethod
    def of(cls, history: DeliveryHistory) -> "DeliveryDetail":
        return cls(
            **DeliveryOut.model_validate(history.delivery, from_attributes=True).model_dump(),
            attempts=[AttemptOut.model_validate(a, from_attributes=True) for a in history.attempts],
        )


class Acknowledgement(BaseModel):
    user_id: UUID
    delivery_status: str | None
    delivered_at: datetime | None
    reminders_sent: int
    reminder_status: str | None
    read_at: datetime | None


_TIME_OF_DAY = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")


def _time_of_day(value: Any) -> time:
    if isinstance(value, time):  # read back from the store
        return value
    # Exactly what the schema's pattern allows: a wall-clock time, no offset, no fraction.
    if not isinstance(value, str) or not _TIME_OF_DAY.match(value):
        raise ValueError("a local time of day, HH:MM or HH:MM:SS")
    return time.fromisoformat(value)


TimeOfDay = Annotated[
    time,
    BeforeValidator(_time_of_day),
    PlainSerializer(lambda value: value.strftime("%H:%M:%S"), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _TIME_OF_DAY.pattern,
            "description": "A time of day in the recipient's timezone, e.g. 22:00.",
        }
    ),
]


class QuietHours(RequestBody):
    start: TimeOfDay
    end: TimeOfDay


Category = Annotated[str, Field(min_length=1, max_length=MAX_CATEGORY_LENGTH)]


class PreferencesBody(RequestBody):
    opt_outs: dict[
        Literal["email", "webhook"],
        Annotated[list[Category], Field(max_length=MAX_OPT_OUTS_PER_CHANNEL)],
    ] = Field(default_factory=dict)
    quiet_hours: QuietHours | None = None
