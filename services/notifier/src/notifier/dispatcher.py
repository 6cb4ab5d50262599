"""Sends what the ledger says is due, bounded per channel, and records what happened.

Each channel runs one lane: a claimer leases due rows (``notifier.ledger.claims``)
only for the senders that are free, so a lease covers only what is being sent;
each claimed row is sent at once, and a recorder writes finished sends in batches
every ``RECORD_INTERVAL_SECONDS``. A process that dies between send and record
leaves its claims to expire: those deliveries are sent again, with the same id
(Message-ID / webhook-id), and nothing else is.

The dispatcher decides nothing about who is owed what: it turns a claimed row into
a message (rendering) and a send result into a record; the ledger does the rest.
"""

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import structlog

from notifier import metrics
from notifier.channels.base import (
    EmailChannel,
    EmailMessage,
    Outcome,
    SendResult,
    WebhookChannel,
    WebhookMessage,
    retry_delay,
)
from notifier.ledger import claims
from notifier.ledger.claims import (
    Claimed,
    DueRow,
    EmailFacts,
    Finished,
    RetryPolicy,
    UnsendableError,
    WebhookFacts,
)
from notifier.logging import trace_id_of
from notifier.rendering import EmailContext, EmailKind, render_notice_email
from notifier.store.db import SessionFactory
from notifier.store.models import Channel
from notifier.store.wakeups import EVERY_CHANNEL
from notifier.telemetry import traced_send
from notifier.unsubscribe import unsubscribe_url

logger = structlog.get_logger("notifier.dispatcher")

Clock = Callable[[], datetime]

RECORD_INTERVAL_SECONDS = 0.05
# A lane claims once at least this share of its senders is free (or all are idle), so
# that claims come in batches rather than one row per finished send.
CLAIM_WHEN_FREE = 0.5


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    max_attempts: int = 8
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 3600.0
    claim_lease_seconds: float = 60.0
    poll_seconds: float = 1.0
    concurrency: dict[Channel, int] = field(
        default_factory=lambda: {Channel.EMAIL: 16, Channel.WEBHOOK: 32}
    )


@dataclass(frozen=True, slots=True)
class EmailDraft:
    """An email decided on in the claim transaction, rendered by its sender outside it."""

    delivery_id: UUID
    to_address: str
    kind: EmailKind
    context: EmailContext

    def render(self) -> EmailMessage:
        rendered = render_notice_email(kind=self.kind, context=self.context)
        return EmailMessage(
            delivery_id=self.delivery_id,
            to_address=self.to_address,
            subject=rendered.subject,
            text_body=rendered.text,
            html_body=rendered.html,
            headers={
                "List-Unsubscribe": f"<{self.context.unsubscribe_url}>",
                # RFC 8058: mail clients may POST to the link, no page to click through.
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )


@dataclass(slots=True)
class _Lane:
    """One channel's senders: how many are busy, and the sends finished but not recorded."""

    capacity: int
    in_flight: int = 0
    finished: list[Finished] = field(default_factory=list)
    freed: asyncio.Event = field(default_factory=asyncio.Event)
    results: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def room(self) -> int:
        return self.capacity - self.in_flight

    def worth_claiming(self) -> bool:
        return self.in_flight == 0 or self.room >= max(1, round(self.capacity * CLAIM_WHEN_FREE))


class Dispatcher:
    def __init__(
        self,
        *,
        session_factory: SessionFactory,
        claim_sessions: SessionFactory | None = None,
        email: EmailChannel,
        webhooks: WebhookChannel,
        policy: DispatchPolicy | None = None,
        public_base_url: str = "http://localhost:8001",
        unsubscribe_secret: str = "",
        preferences_url: str = "",
        clock: Clock = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self._session_factory = session_factory
        # A claim is a few statements, each atomic on its own (``claims.claim_due``), so
        # it may run outside a transaction (``store.db.create_claim_engine``).
        self._claim_sessions = claim_sessions or session_factory
        self._email = email
        self._webhooks = webhooks
        self._policy = policy or DispatchPolicy()
        self._public_base_url = public_base_url
        self._unsubscribe_secret = unsubscribe_secret
        self._preferences_url = preferences_url
        self._clock = clock
        self._rng = rng or random.Random()
        self._retry = RetryPolicy(max_attempts=self._policy.max_attempts, next_delay=self._delay)
        self._wakeups = {channel: asyncio.Event() for channel in Channel}

    def wake(self, channels: Iterable[Channel] = EVERY_CHANNEL) -> None:
        """New deliveries of ``channels`` were committed: those lanes look now rather than
        at the next poll."""
        for channel in channels:
            self._wakeups[channel].set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for channel in Channel:
                group.create_task(self._run_lane(channel))

    async def dispatch_due(self, channel: Channel) -> int:
        """One claim, send and record round; returns how many were sent. For tests and tools."""
        claimed = await self._claim(channel, limit=self._policy.concurrency[channel])
        finished = await asyncio.gather(*(self._send(item) for item in claimed))
        await self._record(list(finished))
        return len(finished)

    async def _run_lane(self, channel: Channel) -> None:
        lane = _Lane(self._policy.concurrency[channel])
        async with asyncio.TaskGroup() as group:
            group.create_task(self._recorder(lane))
            wakeup = self._wakeups[channel]
            while True:
                if not lane.worth_claiming():
                    lane.freed.clear()
                    await lane.freed.wait()
                    continue
                wakeup.clear()
                room = lane.room
                try:
                    claimed = await self._claim(channel, limit=room)
                except Exception:
                    logger.exception("dispatch_claim_failed", channel=channel.value)
                    claimed = []
                for item in claimed:
                    lane.in_flight += 1
                    group.create_task(self._send_in(lane, item))
                if len(claimed) < room:  # nothing more due now: until new rows or the poll
                    await _wait(wakeup, self._policy.poll_seconds)

    async def _send_in(self, lane: _Lane, item: Claimed) -> None:
        try:
            finished = await self._send(item)
        finally:
            lane.in_flight -= 1
            lane.freed.set()
        lane.finished.append(finished)
        lane.results.set()

    async def _recorder(self, lane: _Lane) -> None:
        while True:
            await lane.results.wait()
            await asyncio.sleep(RECORD_INTERVAL_SECONDS)
            lane.results.clear()
            batch, lane.finished = lane.finished, []
            try:
                await self._record(batch)
            except Exception:
                # The ledger stays the truth: these claims expire and are sent again.
                logger.exception("dispatch_record_failed", deliveries=len(batch))

    async def _claim(self, channel: Channel, *, limit: int) -> list[Claimed]:
        if limit <= 0:
            return []
        now = self._clock()
        async with self._claim_sessions.begin() as session:
            report = await claims.claim_due(
                session,
                channel=channel,
                limit=limit,
                now=now,
                lease_seconds=self._policy.claim_lease_seconds,
                prepare=self._prepare,
            )
        for fate, count in report.fates.items():
            if fate is not claims.ClaimFate.SENT:
                metrics.CLAIM_OUTCOMES.labels(channel.value, fate.value).inc(count)
        return report.claimed

    def _prepare(
        self, row: DueRow, found: EmailFacts | WebhookFacts
    ) -> EmailDraft | WebhookMessage:
        """The message a claimed row becomes; ``UnsendableError`` when it can never become one."""
        if isinstance(found, WebhookFacts):
            return WebhookMessage(
                delivery_id=row.id, url=found.url, secrets=found.secrets, body=row.body or b""
            )
        notice, recipient = found.notice, found.recipient
        category = notice.category or ""
        try:
            context = EmailContext(
                title=notice.title or "",
                summary=notice.summary or "",
                url=notice.url or "",
                category=category,
                urgent=notice.urgent,
                recipient_name=recipient.display_name,
                unsubscribe_url=unsubscribe_url(
                    base_url=self._public_base_url,
                    secret=self._unsubscribe_secret,
                    user_id=recipient.user_id,
                    category=category,
                ),
                preferences_url=self._preferences_url,
            )
        except ValueError as error:
            raise UnsendableError(f"cannot render: {error}") from error
        assert recipient.email is not None  # the rules cancel a recipient without one
        return EmailDraft(
            delivery_id=row.id,
            to_address=recipient.email,
            kind=EmailKind(row.kind),
            context=context,
        )

    async def _send(self, item: Claimed) -> Finished:
        started_at = self._clock()
        started = time.perf_counter()
        result = await traced_send(item.row, self._attempt(item.message))
        metrics.DISPATCH_LATENCY.labels(item.row.channel).observe(time.perf_counter() - started)
        return Finished(item, result, started_at, self._clock())

    async def _attempt(self, message: EmailDraft | WebhookMessage) -> SendResult:
        if isinstance(message, EmailDraft):
            try:
                email = message.render()
            except Exception as error:  # a template that cannot render this will never
                return SendResult(Outcome.FAILED, error=f"cannot render: {error!r}")
            send = self._email.send(email)
        else:
            send = self._webhooks.send(message)
        try:
            return await send
        except Exception as error:  # a channel bug must not lose the attempt record
            return SendResult(Outcome.RETRY, error=f"{type(error).__name__}: {error}")

    def _delay(self, attempt: int, result: SendResult) -> float:
        return retry_delay(
            attempt=attempt,
            base_seconds=self._policy.backoff_base_seconds,
            cap_seconds=self._policy.backoff_cap_seconds,
            retry_after_seconds=result.retry_after_seconds,
            rng=self._rng,
        )

    async def _record(self, finished: list[Finished]) -> None:
        if not finished:
            return
        now = self._clock()
        async with self._session_factory.begin() as session:
            await claims.record(session, finished=finished, now=now, policy=self._retry)
        for item in finished:
            self._log_and_count(item)

    def _log_and_count(self, item: Finished) -> None:
        row, result = item.claimed.row, item.result
        metrics.DELIVERIES.labels(row.channel, result.outcome.value).inc()
        if result.outcome is Outcome.DELIVERED:
            metrics.COMMIT_TO_DELIVERY.labels(row.channel).observe(
                (item.finished_at - row.event_time).total_seconds()
            )
        logger.info(
            "delivery_attempted",
            delivery_id=str(row.id),
            channel=row.channel,
            kind=row.kind,
            outcome=result.outcome.value,
            attempt=row.attempt_count,
            status_code=result.status_code,
            error=result.error,
            event_id=str(row.event_id),
            correlationid=row.correlation_id,
            trace_id=trace_id_of(row.traceparent),
        )


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
