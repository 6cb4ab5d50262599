"""Fake twins of the channels for unit tests: they record every attempt and
answer scripted outcomes per recipient address or URL (delivered when unscripted).

    email = FakeEmailChannel()
    email.script("ann@example.org", RETRY_RESULT, RETRY_RESULT)  # two failures, then delivered
    webhooks = FakeWebhookChannel()
    webhooks.script("https://hooks.example/x", then=GONE_RESULT)  # 410 for ever
"""

from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from notifier.channels.base import EmailMessage, Outcome, SendResult, WebhookMessage

DELIVERED_RESULT = SendResult(Outcome.DELIVERED, status_code=250)
RETRY_RESULT = SendResult(Outcome.RETRY, status_code=503, error="scripted transient failure")
FAILED_RESULT = SendResult(Outcome.FAILED, status_code=550, error="scripted permanent failure")
GONE_RESULT = SendResult(Outcome.GONE, status_code=410, error="410 Gone")


@dataclass
class _Script:
    """Per-key queues of results; when a key's queue is empty its ``then`` result holds."""

    pending: defaultdict[str, deque[SendResult]] = field(default_factory=lambda: defaultdict(deque))
    then: dict[str, SendResult] = field(default_factory=dict)

    def add(self, key: str, results: tuple[SendResult, ...], then: SendResult | None) -> None:
        self.pending[key].extend(results)
        if then is not None:
            self.then[key] = then

    def next_for(self, key: str) -> SendResult:
        queue = self.pending[key]
        return queue.popleft() if queue else self.then.get(key, DELIVERED_RESULT)


MessageT = TypeVar("MessageT", EmailMessage, WebhookMessage)


class _FakeChannel(Generic[MessageT]):
    def __init__(self) -> None:
        self.attempts: list[tuple[MessageT, SendResult]] = []
        self.closed = False
        self._script = _Script()

    def script(self, key: str, *results: SendResult, then: SendResult | None = None) -> None:
        """Answer ``results`` in order for ``key``, then ``then`` (default: delivered)."""
        self._script.add(key, results, then)

    @property
    def delivered(self) -> list[MessageT]:
        return [message for message, result in self.attempts if result.outcome is Outcome.DELIVERED]

    def _answer(self, key: str, message: MessageT) -> SendResult:
        if self.closed:
            raise RuntimeError(f"{type(self).__name__} is closed")
        result = self._script.next_for(key)
        self.attempts.append((message, result))
        return result

    async def aclose(self) -> None:
        self.closed = True


class FakeEmailChannel(_FakeChannel[EmailMessage]):
    """Keyed by ``to_address``."""

    async def send(self, message: EmailMessage) -> SendResult:
        return self._answer(message.to_address, message)


class FakeWebhookChannel(_FakeChannel[WebhookMessage]):
    """Keyed by ``url``; like the real one it refuses to send unsigned."""

    async def send(self, message: WebhookMessage) -> SendResult:
        if not message.secrets:
            return SendResult(Outcome.FAILED, error="invalid webhook: no signing secret")
        return self._answer(message.url, message)
