"""What the notifier knows of each recipient's email: read server-side from its HTTP API.

The services stay decoupled: notices-api never reads the notifier's database; it asks
``GET /v1/notices/{id}/acknowledgements`` with the notifier's bearer token. Views get a
``DeliveryStates`` from ``delivery_states()``; tests put a fake in its place.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from notices_api.core.notifier_api import NotifierApiClient

logger = structlog.get_logger(__name__)


class DeliveryStateUnavailableError(Exception):
    """The notifier could not be asked, or its answer could not be read."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipientDelivery:
    """The notifier's statuses (pending, delivered, failed, cancelled); None: no such email."""

    email_status: str | None
    delivered_at: datetime | None
    reminder_status: str | None


class DeliveryStates(Protocol):
    def for_notice(self, notice_id: UUID) -> dict[UUID, RecipientDelivery]:
        """Per recipient; empty while the notifier has not heard of the notice yet."""
        ...


class _Acknowledgement(BaseModel):
    user_id: UUID
    delivery_status: str | None
    delivered_at: datetime | None
    reminder_status: str | None


class NotifierDeliveryStates(NotifierApiClient):
    def for_notice(self, notice_id: UUID) -> dict[UUID, RecipientDelivery]:
        try:
            with self._client() as client:
                response = client.get(f"/v1/notices/{notice_id}/acknowledgements")
            if response.status_code == httpx.codes.NOT_FOUND:
                return {}  # the notifier has not consumed notice.published yet
            response.raise_for_status()
            rows = [_Acknowledgement.model_validate(row) for row in response.json()]
        except (httpx.HTTPError, ValueError, ValidationError) as error:
            logger.warning("notifier_acknowledgements_unavailable", error=repr(error))
            raise DeliveryStateUnavailableError(str(error)) from error
        return {
            row.user_id: RecipientDelivery(
                email_status=row.delivery_status,
                delivered_at=row.delivered_at,
                reminder_status=row.reminder_status,
            )
            for row in rows
        }


def delivery_states() -> DeliveryStates:
    return NotifierDeliveryStates.from_settings()
