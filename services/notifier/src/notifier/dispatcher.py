"""Claims due deliveries from the ledger and sends them, bounded per channel.

Each channel runs one loop: claim due rows (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so replicas share the work) under a lease, send them with at most
``concurrency`` in flight, and record every attempt with the delivery's new
state in one transaction per batch of finished sends. A process that dies
between send and record leaves its claims to expire: those deliveries are sent
again, with the same id (Message-ID / webhook-id), and nothing else is.

At claim time a delivery may also turn out to be moot (notice archived,
reminder already read, recipient gone or opted out): it is cancelled. A
non-urgent email inside the recipient's quiet hours is deferred to their end.
"""

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID

import structlog
from sqlalchemy import Select, Table, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

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
from notifier.logging import trace_id_of
from notifier.quiet_hours import quiet_until
from notifier.rendering import EmailContext, EmailKind, render_notice_email
from notifier.store.db import SessionFactory
from notifier.store.models import (
    Attempt,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notice,
    Preferences,
    Read,
    Recipient,
    WebhookEndpoint,
)
from notifier.store.upsert import insert
from notifier.unsubscribe import unsubscribe_url

logger = structlog.get_logger("notifier.dispatcher")

Clock = Callable[[], datetime]

CLAIM_BATCHES = 4  # claimed rows kept ready, in multiples of the channel's concurrency
RECORD_INTERVAL_SECONDS = 0.05


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
        default_factory=lambda: {Channel.EMAIL: 8, Channel.WEBHOOK: 32}
    )


@dataclass(frozen=True, slots=True)
class _EmailDraft:
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


@dataclass(frozen=True, slots=True)
class _Work:
    delivery: Delivery
    message: _EmailDraft | WebhookMessage


@dataclass(frozen=True, slots=True)
class _Sent:
    delivery: Delivery
    result: SendResult
    started_at: datetime
    finished_at: datetime


@dataclass(slots=True)
class _Pipeline:
    capacity: int
    backlog: "asyncio.Queue[_Work]" = field(default_factory=asyncio.Queue)
    finished: list[_Sent] = field(default_factory=list)
    hungry: asyncio.Event = field(default_factory=asyncio.Event)
    results: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class _Related:
    notices: dict[UUID, Notice]
    recipients: dict[UUID, Recipient]
    preferences: dict[UUID, Preferences]
    readers: set[tuple[UUID, UUID]]
    endpoints: dict[UUID, WebhookEndpoint]


async def _by_id(
    session: AsyncSession, model: Any, column: Any, ids: Iterable[UUID]
) -> dict[UUID, Any]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows: Iterable[Any] = await session.scalars(select(model).where(column.in_(wanted)))
    return {getattr(row, column.key): row for row in rows}


class Dispatcher:
    def __init__(
        self,
        *,
        session_factory: SessionFactory,
        email: EmailChannel,
        webhooks: WebhookChannel,
        policy: DispatchPolicy,
        public_base_url: str = "http://localhost:8001",
        unsubscribe_secret: str = "",
        clock: Clock = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._email = email
        self._webhooks = webhooks
        self._policy = policy
        self._public_base_url = public_base_url.rstrip("/")
        self._unsubscribe_secret = unsubscribe_secret
        self._clock = clock
        self._rng = rng or random.Random()
        self._wakeups = {channel: asyncio.Event() for channel in Channel}

    def wake(self) -> None:
        """New deliveries were committed: look now rather than at the next poll."""
        for event in self._wakeups.values():
            event.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for channel in Channel:
                group.create_task(self._run_channel(channel))

    async def dispatch_due(self, channel: Channel) -> int:
        """One claim, send and record round; returns how many were sent. For tests and tools."""
        work = await self._claim(channel, limit=self._policy.concurrency[channel])
        sent = await asyncio.gather(*(self._send(item) for item in work))
        await self._record(list(sent))
        return len(sent)

    async def _run_channel(self, channel: Channel) -> None:
        """Claimer -> backlog -> ``concurrency`` senders -> recorder, all for one channel.

        The backlog holds up to ``CLAIM_BATCHES`` x concurrency claimed rows so that
        senders never wait on the database; the recorder writes finished sends in
        batches every ``RECORD_INTERVAL_SECONDS``. Only sends finished but not yet
        recorded are repeated after a crash.
        """
        pipeline = _Pipeline(self._policy.concurrency[channel])
        async with asyncio.TaskGroup() as group:
            for _ in range(pipeline.capacity):
                group.create_task(self._sender(pipeline))
            group.create_task(self._recorder(pipeline))
            group.create_task(self._claimer(channel, pipeline))

    async def _claimer(self, channel: Channel, pipeline: "_Pipeline") -> None:
        wakeup = self._wakeups[channel]
        while True:
            wakeup.clear()
            pipeline.hungry.clear()
            room = pipeline.capacity * CLAIM_BATCHES - pipeline.backlog.qsize()
            try:
                claimed = await self._claim(channel, limit=room)
            except Exception:
                logger.exception("dispatch_claim_failed", channel=channel.value)
                claimed = []
            for item in claimed:
                pipeline.backlog.put_nowait(item)
            if claimed:
                await pipeline.hungry.wait()  # until the senders ran the backlog low
            else:
                await _wait(wakeup, self._policy.poll_seconds)

    async def _sender(self, pipeline: "_Pipeline") -> None:
        while True:
            work = await pipeline.backlog.get()
            if pipeline.backlog.qsize() < pipeline.capacity:
                pipeline.hungry.set()
            sent = await self._send(work)
            # Only now look up the list: the recorder swaps it while the send is awaited.
            pipeline.finished.append(sent)
            pipeline.results.set()

    async def _recorder(self, pipeline: "_Pipeline") -> None:
        while True:
            await pipeline.results.wait()
            await asyncio.sleep(RECORD_INTERVAL_SECONDS)
            pipeline.results.clear()
            batch, pipeline.finished = pipeline.finished, []
            try:
                await self._record(batch)
            except Exception:
                # The ledger stays the truth: these claims expire and are sent again.
                logger.exception("dispatch_record_failed", deliveries=len(batch))

    def _claim_query(self, channel: Channel, now: datetime, limit: int) -> Select[Delivery]:
        query = (
            select(Delivery)
            .where(
                Delivery.status == DeliveryStatus.PENDING.value,
                Delivery.channel == channel.value,
                Delivery.due_at <= now,
                or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
            )
            .order_by(Delivery.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if channel is Channel.WEBHOOK:
            enabled = select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
            query = query.where(Delivery.target_id.in_(enabled))
        return query

    async def _claim(self, channel: Channel, *, limit: int) -> list[_Work]:
        if limit <= 0:
            return []
        now = self._clock()
        async with self._session_factory.begin() as session:
            deliveries = list(await session.scalars(self._claim_query(channel, now, limit)))
            if not deliveries:
                return []
            related = await self._related(session, deliveries)
            # Plain objects from here on: the changes below go out as one executemany,
            # not as a flush of every touched row.
            session.expunge_all()
            work: list[_Work] = []
            changes: list[dict[str, Any]] = []
            lease = now + timedelta(seconds=self._policy.claim_lease_seconds)
            for delivery in deliveries:
                verdict = self._verdict(delivery, related, now)
                if isinstance(verdict, str):
                    changes.append(
                        _change(delivery, now, status=DeliveryStatus.CANCELLED, last_error=verdict)
                    )
                elif isinstance(verdict, datetime):
                    changes.append(_change(delivery, now, due_at=verdict))
                else:
                    delivery.attempt_count += 1
                    changes.append(
                        _change(
                            delivery, now, claimed_until=lease, attempt_count=delivery.attempt_count
                        )
                    )
                    work.append(_Work(delivery, verdict))
            await session.execute(_APPLY_CHANGES, changes)
        return work

    async def _related(self, session: AsyncSession, deliveries: list[Delivery]) -> _Related:
        emails = [d for d in deliveries if d.channel == Channel.EMAIL.value]
        user_ids = [d.target_id for d in emails]
        reminders = [d for d in emails if d.kind == DeliveryKind.REMINDER.value]
        readers: set[tuple[UUID, UUID]] = set()
        if reminders:
            rows = await session.execute(
                select(Read.notice_id, Read.user_id).where(
                    Read.notice_id.in_({d.notice_id for d in reminders}),
                    Read.user_id.in_({d.target_id for d in reminders}),
                )
            )
            readers = {(row.notice_id, row.user_id) for row in rows}
        return _Related(
            notices=await _by_id(session, Notice, Notice.notice_id, (d.notice_id for d in emails)),
            recipients=await _by_id(session, Recipient, Recipient.user_id, user_ids),
            preferences=await _by_id(session, Preferences, Preferences.user_id, user_ids),
            readers=readers,
            endpoints=await _by_id(
                session,
                WebhookEndpoint,
                WebhookEndpoint.id,
                (d.target_id for d in deliveries if d.channel == Channel.WEBHOOK.value),
            ),
        )

    def _verdict(
        self, delivery: Delivery, related: _Related, now: datetime
    ) -> "_EmailDraft | WebhookMessage | datetime | str":
        """What to send, a later due time (quiet hours), or why it is cancelled."""
        if delivery.channel == Channel.WEBHOOK.value:
            endpoint = related.endpoints.get(delivery.target_id)
            if endpoint is None:
                return "endpoint deleted"
            return WebhookMessage(
                delivery_id=delivery.id,
                url=endpoint.url,
                secrets=tuple(endpoint.secrets),
                body=delivery.body or b"",
            )
        notice = related.notices.get(delivery.notice_id)
        recipient = related.recipients.get(delivery.target_id)
        prefs = related.preferences.get(delivery.target_id)
        if notice is None or notice.archived_at is not None:
            return "archived"
        if delivery.kind == DeliveryKind.REMINDER.value and (
            (delivery.notice_id, delivery.target_id) in related.readers
        ):
            return "read"
        if recipient is None or not recipient.email or not recipient.is_active:
            return "recipient unreachable"
        category = notice.category or ""
        if prefs is not None and category in prefs.opt_outs.get(Channel.EMAIL.value, []):
            return "opted out"
        if not delivery.urgent and prefs is not None:
            until = quiet_until(
                now=now,
                timezone=recipient.timezone,
                start=prefs.quiet_hours_start,
                end=prefs.quiet_hours_end,
            )
            if until is not None:
                return until
        unsubscribe_link = unsubscribe_url(
            base_url=self._public_base_url,
            secret=self._unsubscribe_secret,
            user_id=recipient.user_id,
            category=category,
        )
        return _EmailDraft(
            delivery_id=delivery.id,
            to_address=recipient.email,
            kind=EmailKind(delivery.kind),
            context=EmailContext(
                title=notice.title or "",
                summary=notice.summary or "",
                url=notice.url or "",
                category=category,
                urgent=notice.urgent,
                recipient_name=recipient.display_name,
                unsubscribe_url=unsubscribe_link,
            ),
        )

    async def _send(self, work: _Work) -> _Sent:
        started_at = self._clock()
        started = time.perf_counter()
        try:
            if isinstance(work.message, _EmailDraft):
                result = await self._email.send(work.message.render())
            else:
                result = await self._webhooks.send(work.message)
        except Exception as error:  # a channel bug must not lose the attempt record
            result = SendResult(Outcome.RETRY, error=f"{type(error).__name__}: {error}")
        metrics.DISPATCH_LATENCY.labels(work.delivery.channel).observe(
            time.perf_counter() - started
        )
        return _Sent(work.delivery, result, started_at, self._clock())

    async def _record(self, sent: list[_Sent]) -> None:
        if not sent:
            return
        now = self._clock()
        attempts: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        gone_endpoints: set[UUID] = set()
        for item in sent:
            delivery, result = item.delivery, item.result
            attempts.append(
                {
                    "delivery_id": delivery.id,
                    "number": delivery.attempt_count,
                    "started_at": item.started_at,
                    "finished_at": item.finished_at,
                    "outcome": result.outcome.value,
                    "status_code": result.status_code,
                    "error": result.error,
                }
            )
            changes.append(self._after(item, now))
            if result.outcome is Outcome.GONE:
                gone_endpoints.add(delivery.target_id)
            self._log_and_count(item, now)
        async with self._session_factory.begin() as session:
            await session.execute(insert(session, Attempt), attempts)
            await session.execute(_APPLY_CHANGES, changes)
            if gone_endpoints:
                await session.execute(
                    update(WebhookEndpoint)
                    .where(WebhookEndpoint.id.in_(gone_endpoints))
                    .values(enabled=False, disabled_reason="410 Gone", updated_at=now)
                )

    def _after(self, item: _Sent, now: datetime) -> dict[str, Any]:
        delivery, result = item.delivery, item.result
        common = {"last_error": result.error, "last_status_code": result.status_code}
        if result.outcome is Outcome.DELIVERED:
            return _change(
                delivery, now, status=DeliveryStatus.DELIVERED, delivered_at=now, **common
            )
        if result.outcome is Outcome.RETRY and delivery.attempt_count < self._policy.max_attempts:
            delay = retry_delay(
                attempt=delivery.attempt_count,
                base_seconds=self._policy.backoff_base_seconds,
                cap_seconds=self._policy.backoff_cap_seconds,
                retry_after_seconds=result.retry_after_seconds,
                rng=self._rng,
            )
            return _change(delivery, now, due_at=now + timedelta(seconds=delay), **common)
        return _change(delivery, now, status=DeliveryStatus.FAILED, **common)

    def _log_and_count(self, item: _Sent, now: datetime) -> None:
        delivery, result = item.delivery, item.result
        metrics.DELIVERIES.labels(delivery.channel, result.outcome.value).inc()
        if result.outcome is Outcome.DELIVERED:
            metrics.COMMIT_TO_DELIVERY.labels(delivery.channel).observe(
                (now - delivery.event_time).total_seconds()
            )
        logger.info(
            "delivery_attempted",
            delivery_id=str(delivery.id),
            channel=delivery.channel,
            kind=delivery.kind,
            outcome=result.outcome.value,
            attempt=delivery.attempt_count,
            status_code=result.status_code,
            error=result.error,
            event_id=str(delivery.event_id),
            correlationid=delivery.correlation_id,
            trace_id=trace_id_of(delivery.traceparent),
        )


# executemany: SET takes every key of a row but delivery_id, which the WHERE binds.
_DELIVERIES = cast(Table, Delivery.__table__)
_APPLY_CHANGES = update(_DELIVERIES).where(_DELIVERIES.c.id == bindparam("delivery_id"))


def _change(delivery: Delivery, now: datetime, **values: Any) -> dict[str, Any]:
    """One row of an executemany UPDATE: every row sets the same columns."""
    row: dict[str, Any] = {
        "delivery_id": delivery.id,
        "status": DeliveryStatus.PENDING.value,
        "due_at": delivery.due_at,
        "claimed_until": None,
        "attempt_count": delivery.attempt_count,
        "last_error": delivery.last_error,
        "last_status_code": delivery.last_status_code,
        "delivered_at": None,
        "updated_at": now,
    }
    for key, value in values.items():
        row[key] = value.value if isinstance(value, DeliveryStatus) else value
    return row


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


async def due_backlog(session: AsyncSession, now: datetime) -> dict[str, int]:
    rows = await session.execute(
        select(Delivery.channel, func.count().label("due"))
        .where(Delivery.status == DeliveryStatus.PENDING.value, Delivery.due_at <= now)
        .group_by(Delivery.channel)
    )
    return {str(row.channel): int(row.due) for row in rows}
