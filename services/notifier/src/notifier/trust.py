"""Which events the notifier trusts: those the configured producer published.

RabbitMQ refuses a message whose AMQP ``user_id`` is not the publishing
connection's user, so ``user_id`` names the broker user that really sent it. Any
other user with write access to the exchange (a compromised service, a
mis-scoped credential) could otherwise forge ``recipient.updated`` and redirect
mail. Such events are dead-lettered with the reason ``untrusted_publisher``.

The notifier's own user is trusted too: its delayed-retry copies come back from
its wait queues under that name, and only it may write to them.
"""

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

UNTRUSTED_PUBLISHER = "untrusted_publisher"


@dataclass(frozen=True, slots=True)
class TrustedPublisher:
    user_id: str
    source: str
    own_user_id: str

    @classmethod
    def of(cls, *, user_id: str | None, source: str, amqp_url: str) -> "TrustedPublisher":
        """Unset ``user_id``: the notifier's own broker user (one shared user in development).

        With a user per service, as deployed, that refuses every event until the
        producer's user is configured: a mistake that fails closed and shows at once.
        """
        own = unquote(urlsplit(amqp_url).username or "guest")
        return cls(user_id=user_id or own, source=source, own_user_id=own)

    def refusal(self, *, user_id: str | None, source: str) -> str | None:
        """Why an event from this publisher is refused, or None when it is trusted."""
        if user_id not in (self.user_id, self.own_user_id):
            return f"user_id {user_id!r} is not the trusted publisher {self.user_id!r}"
        if source != self.source:
            return f"source {source!r} is not the trusted source {self.source!r}"
        return None
