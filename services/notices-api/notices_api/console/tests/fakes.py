"""The fake twin of the notifier's delivery states."""

from uuid import UUID

from notices_api.console.delivery import DeliveryStateUnavailableError, RecipientDelivery


class FakeDeliveryStates:
    def __init__(self) -> None:
        self.states: dict[UUID, RecipientDelivery] = {}
        self.down = False

    def set(self, user_id: UUID, *, email: str | None, reminder: str | None = None) -> None:
        self.states[user_id] = RecipientDelivery(
            email_status=email, delivered_at=None, reminder_status=reminder
        )

    def for_notice(self, notice_id: UUID) -> dict[UUID, RecipientDelivery]:
        if self.down:
            raise DeliveryStateUnavailableError("the fake notifier is down")
        return dict(self.states)
