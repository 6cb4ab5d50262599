"""The fake twin of the broker channel: answers at once, as configured per routing key."""

from collections.abc import Callable

from notices_api.outbox.publisher import (
    BrokerUnavailableError,
    Confirmation,
    Outcome,
    OutgoingMessage,
)


class FakeConfirmChannel:
    def __init__(
        self,
        *,
        outcome_for: Callable[[OutgoingMessage], Outcome] = lambda message: Outcome.CONFIRMED,
        fail_connection_after: int | None = None,
    ) -> None:
        self.outcome_for = outcome_for
        self.fail_connection_after = fail_connection_after
        self.sent: list[OutgoingMessage] = []
        self.max_in_flight = 0
        self._unanswered: list[OutgoingMessage] = []
        self.connected = False

    def connect(self) -> None:
        self.connected = True

    def send(self, message: OutgoingMessage) -> None:
        if self.fail_connection_after is not None and len(self.sent) >= self.fail_connection_after:
            self.connected = False
            raise BrokerUnavailableError("the fake broker went away")
        self.sent.append(message)
        self._unanswered.append(message)
        self.max_in_flight = max(self.max_in_flight, len(self._unanswered))

    def collect(self, timeout: float) -> list[Confirmation]:
        answers = [
            Confirmation(message.event_id, outcome)
            for message in self._unanswered
            if (outcome := self.outcome_for(message)) is not Outcome.TIMED_OUT
        ]
        self._unanswered.clear()
        return answers

    def close(self) -> None:
        self.connected = False

    def sent_ids(self) -> list[str]:
        return [message.event_id for message in self.sent]
