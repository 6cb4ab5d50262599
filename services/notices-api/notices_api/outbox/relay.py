"""The outbox relay: moves committed outbox rows to the broker, confirmed, in order.

One batch: claim the oldest publishable rows of the owned partitions (PostgreSQL:
``FOR UPDATE SKIP LOCKED``, inside the transaction that later records the result),
keep only aggregates whose oldest pending row is among them, publish them as lanes
with a window of confirms, and record each outcome: confirmed rows are published;
a row the broker returned gets a retry time with exponential backoff and jitter, or
is parked as failed after the last attempt; a row that can never be sent (invalid,
too large) is parked at once. A parked row holds its aggregate's later rows until
an operator replays or skips it. Nacks and confirm timeouts are the broker's
problem, not the row's: the relay pauses and counts no attempt. If the broker
connection breaks, the batch's transaction rolls back and nothing of it counts as
published; rows the broker got anyway are published again (at-least-once), and the
notifier deduplicates by id.
"""

import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import structlog
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Min, OuterRef, QuerySet, Subquery
from django.utils import timezone
from pydantic import ValidationError

from notices_api.outbox import metrics
from notices_api.outbox.config import RelaySettings
from notices_api.outbox.models import OutboxEvent, encode_envelope
from notices_api.outbox.partitions import (
    AdvisoryLockCoordinator,
    Coordinator,
    SoleRelayCoordinator,
)
from notices_api.outbox.prepared import PreparedQuery
from notices_api.outbox.publisher import (
    AmqpConfirmChannel,
    BrokerUnavailableError,
    ConfirmChannel,
    Outcome,
    OutgoingMessage,
    PublishResult,
    publish_lanes,
)
from notices_api.outbox.tracing import PublishSpans
from notices_contracts import CloudEvent, amqp_properties

log = structlog.get_logger(__name__)


def relay_settings(**overrides: Any) -> RelaySettings:
    """settings.OUTBOX_RELAY, with some fields replaced (tests, benchmarks)."""
    return replace(settings.OUTBOX_RELAY, **overrides)


def retry_delay(attempts: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: between half and all of min(cap, base * 2^(n-1))."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return rng.uniform(ceiling / 2, ceiling)


def coordinator_for_database(tuning: RelaySettings) -> Coordinator:
    if connection.vendor == "postgresql":
        return AdvisoryLockCoordinator(
            partitions=settings.OUTBOX_PARTITIONS,
            namespace=tuning.lock_namespace,
            notify_channel=settings.OUTBOX_NOTIFY_CHANNEL,
        )
    return SoleRelayCoordinator(partitions=settings.OUTBOX_PARTITIONS)


def relay_from_settings(**overrides: Any) -> "Relay":
    """The production wiring: RabbitMQ at AMQP_URL, coordination fitting the database."""
    tuning = relay_settings(**overrides)
    return Relay(
        tuning=tuning,
        channel=AmqpConfirmChannel(
            url=settings.AMQP_URL,
            exchange=settings.OUTBOX_EXCHANGE,
            write_timeout=tuning.confirm_timeout_seconds,
        ),
        coordinator=coordinator_for_database(tuning),
    )


class ClaimedRow(NamedTuple):
    id: Any
    position: int
    aggregate_type: str
    aggregate_id: str
    event_type: str
    envelope: dict[str, Any]
    attempts: int
    created_at: datetime
    head: int  # position of the aggregate's oldest pending row


@dataclass(frozen=True, slots=True)
class BatchReport:
    claimed: int = 0
    published: int = 0
    failed: int = 0
    parked: int = 0
    deferred: int = 0
    # Nacked or unconfirmed: the broker's problem, retried after a pause, no attempt counted.
    broker_refused: int = 0

    @property
    def made_progress(self) -> bool:
        return bool(self.published or self.failed)


def prune_published(
    *,
    older_than: timedelta,
    batch_size: int,
    on_batch: Callable[[int], None] = lambda _deleted: None,
) -> int:
    """Delete published rows older than ``older_than``, ``batch_size`` rows per statement
    (``on_batch`` hears how many each one deleted)."""
    cutoff = timezone.now() - older_than
    deleted = 0
    while True:
        ids = list(
            OutboxEvent.objects.published_before(cutoff)
            .order_by()
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        batch_deleted = OutboxEvent.objects.filter(id__in=ids).delete()[0]
        deleted += batch_deleted
        on_batch(batch_deleted)


class Relay:
    """The loop of one relay process. ``stop()`` (SIGTERM) ends it between batches."""

    def __init__(
        self,
        *,
        tuning: RelaySettings,
        channel: ConfirmChannel,
        coordinator: Coordinator,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = tuning
        self._channel = channel
        self._coordinator = coordinator
        self._rng = rng or random.Random()
        self._stopping = False
        self._locks_rows = connection.vendor == "postgresql"
        # Compiled for the partitions owned when it was made (see prepared.py).
        self._claim_query: tuple[tuple[int, ...], PreparedQuery] | None = None

    def stop(self) -> None:
        self._stopping = True

    def run(self, *, once: bool = False) -> None:
        """Publish until stopped; with ``once``, until nothing publishable is left."""
        next_rebalance = next_prune = next_gauges = 0.0
        broker_failures = database_failures = 0
        try:
            while not self._stopping:
                now = time.monotonic()
                if now >= next_rebalance:
                    self._coordinator.rebalance()
                    next_rebalance = now + self._settings.rebalance_interval_seconds
                try:
                    if now >= next_prune:
                        self._prune()
                        next_prune = now + self._settings.prune_interval_seconds
                    if now >= next_gauges:
                        self._update_gauges()
                        next_gauges = now + self._settings.gauge_interval_seconds
                    if not self._channel.connected:
                        self._channel.connect()
                        metrics.BROKER_RECONNECTS.inc()
                        log.info("outbox_relay_broker_connected", after_failures=broker_failures)
                        broker_failures = 0
                    report = self.run_batch()
                    database_failures = 0
                    if report.broker_refused:
                        if once:
                            return
                        broker_failures += 1
                        self._back_off(
                            "outbox_relay_broker_refused",
                            BrokerUnavailableError(f"{report.broker_refused} refused"),
                            broker_failures,
                        )
                        continue
                except BrokerUnavailableError as error:
                    broker_failures += 1
                    self._back_off("outbox_relay_broker_unavailable", error, broker_failures)
                    continue
                except DatabaseError as error:
                    database_failures += 1
                    connection.close()
                    self._back_off("outbox_relay_database_error", error, database_failures)
                    continue
                if once:
                    if report.made_progress:
                        continue
                    return
                if report.made_progress and report.claimed >= self._settings.batch_size:
                    continue  # a full batch: more is probably waiting
                # Whatever committed since the claim has sent a NOTIFY, which ends the
                # wait at once; an empty claim round first would only add latency.
                wait = min(self._settings.poll_interval_seconds, max(0.0, next_rebalance - now))
                self._wait_for_work(wait)
        finally:
            self._channel.close()
            self._coordinator.close()

    def run_batch(self) -> BatchReport:
        partitions = self._coordinator.owned()
        if not partitions:
            return BatchReport()
        started = time.monotonic()
        now = timezone.now()
        with self._claim_scope(), PublishSpans(exchange=settings.OUTBOX_EXCHANGE) as spans:
            rows = self._claim(partitions, now)
            if not rows:
                return BatchReport()
            lanes, refused = self._messages(self._lanes(rows), spans)
            claimed_at = time.monotonic()
            results = publish_lanes(
                self._channel,
                lanes,
                window=self._settings.confirm_window,
                confirm_timeout=self._settings.confirm_timeout_seconds,
            )
            spans.answered(results)
            results.update(refused)
            confirmed_at = time.monotonic()
            report = self._record(rows, results, claimed=len(rows))
        if any(result.outcome is Outcome.TIMED_OUT for result in results.values()):
            # A broker that stopped confirming may have a stuck connection: start afresh.
            self._channel.close()
        finished = time.monotonic()
        metrics.BATCH_SECONDS.observe(finished - started)
        log.info(
            "outbox_relay_batch",
            claimed=report.claimed,
            published=report.published,
            failed=report.failed,
            parked=report.parked,
            deferred=report.deferred,
            partitions=len(partitions),
            duration_ms=round((finished - started) * 1000, 1),
            claim_ms=round((claimed_at - started) * 1000, 1),
            publish_ms=round((confirmed_at - claimed_at) * 1000, 1),
            record_ms=round((finished - confirmed_at) * 1000, 1),
        )
        return report

    def _claim_scope(self) -> contextlib.AbstractContextManager[Any]:
        # PostgreSQL: the row locks live until the outcome is recorded. SQLite has one
        # relay and takes the write lock at BEGIN, so it claims without a transaction
        # rather than blocking the API's writers while it waits for confirms.
        return transaction.atomic() if self._locks_rows else contextlib.nullcontext()

    def _claim(self, partitions: tuple[int, ...], now: datetime) -> list[ClaimedRow]:
        if self._claim_query is None or self._claim_query[0] != partitions:
            query = PreparedQuery(lambda at: self._claim_queryset(partitions, at))
            self._claim_query = (partitions, query)
        return [ClaimedRow(*values) for values in self._claim_query[1].rows(now=now)]

    def _claim_queryset(self, partitions: tuple[int, ...], now: datetime) -> QuerySet[Any]:
        oldest_pending = (
            OutboxEvent.objects.pending()
            .filter(
                aggregate_type=OuterRef("aggregate_type"), aggregate_id=OuterRef("aggregate_id")
            )
            .order_by("position")
            .values("position")[:1]
        )
        claim = (
            OutboxEvent.objects.publishable(now=now)
            .in_partitions(partitions)
            .annotate(head=Subquery(oldest_pending))
            .order_by("position")
        )
        if self._locks_rows:
            claim = claim.select_for_update(skip_locked=True, of=("self",))
        return claim.values_list(*ClaimedRow._fields)[: self._settings.batch_size]

    def _lanes(self, rows: list[ClaimedRow]) -> list[list[ClaimedRow]]:
        """Group by aggregate, keeping only aggregates whose oldest pending row we hold.

        An older pending row we did not claim is locked by another relay (say, one
        whose lock session died while its batch was in flight): publishing past it
        could overtake it.
        """
        lanes: dict[tuple[str, str], list[ClaimedRow]] = {}
        for row in rows:
            lanes.setdefault((row.aggregate_type, row.aggregate_id), []).append(row)
        return [lane for lane in lanes.values() if lane[0].position == lane[0].head]

    def _messages(
        self, lanes: list[list[ClaimedRow]], spans: PublishSpans
    ) -> tuple[list[list[OutgoingMessage]], dict[str, PublishResult]]:
        """The lanes as messages; a lane ends before a row that can never be sent.

        Such a row (invalid envelope, larger than the broker takes) is refused here:
        a broker refuses an oversized message by closing the channel, which looks
        like a lost connection and would roll the batch back for ever.
        """
        message_lanes: list[list[OutgoingMessage]] = []
        refused: dict[str, PublishResult] = {}
        for lane in lanes:
            messages: list[OutgoingMessage] = []
            for row in lane:
                try:
                    message = self._message(row)
                except ValidationError as error:
                    refused[str(row.id)] = PublishResult(Outcome.INVALID, str(error))
                    break
                if len(message.body) > self._settings.max_message_bytes:
                    refused[str(row.id)] = PublishResult(
                        Outcome.TOO_LARGE,
                        f"{len(message.body)} bytes > max_message_bytes"
                        f" {self._settings.max_message_bytes}",
                    )
                    break
                messages.append(spans.start(message, event_type=row.event_type))
            message_lanes.append(messages)
        return message_lanes, refused

    def _message(self, row: ClaimedRow) -> OutgoingMessage:
        properties = amqp_properties(CloudEvent[Any].model_validate(row.envelope))
        return OutgoingMessage(
            event_id=properties.message_id,
            body=encode_envelope(row.envelope),
            properties=properties,
        )

    def _record(
        self, rows: list[ClaimedRow], results: dict[str, PublishResult], *, claimed: int
    ) -> BatchReport:
        now = timezone.now()
        confirmed: list[Any] = []
        failed = parked = broker_refused = 0
        debug = log.isEnabledFor(logging.DEBUG)
        with transaction.atomic(savepoint=False):
            for row in rows:
                result = results.get(str(row.id))
                if result is None or result.outcome is Outcome.NOT_SENT:
                    continue
                if result.outcome is Outcome.CONFIRMED:
                    confirmed.append(row.id)
                    if result.answered_at is not None:
                        metrics.COMMIT_TO_CONFIRM.observe(
                            max(0.0, result.answered_at - row.created_at.timestamp())
                        )
                    if debug:
                        log.debug("outbox_event_published", **_event_context(row))
                    continue
                if result.outcome.is_broker_wide:
                    broker_refused += 1
                    metrics.FAILED_ATTEMPTS.labels(reason=result.outcome.value).inc()
                    continue
                failed += 1
                parked += self._record_failure(row, result, now)
            if confirmed:
                OutboxEvent.objects.filter(id__in=confirmed).update(
                    status=OutboxEvent.Status.PUBLISHED,
                    published_at=now,
                    attempts=F("attempts") + 1,
                    last_error="",
                )
        metrics.PUBLISHED.inc(len(confirmed))
        return BatchReport(
            claimed=claimed,
            published=len(confirmed),
            failed=failed,
            parked=parked,
            deferred=sum(1 for row in rows if str(row.id) not in results)
            + sum(1 for result in results.values() if result.outcome is Outcome.NOT_SENT),
            broker_refused=broker_refused,
        )

    def _record_failure(self, row: ClaimedRow, result: PublishResult, now: datetime) -> int:
        attempts = row.attempts + 1
        error = f"{result.outcome.value}: {result.detail}"[:2000]
        metrics.FAILED_ATTEMPTS.labels(reason=result.outcome.value).inc()
        context = _event_context(row)
        if result.outcome.is_permanent or attempts >= self._settings.max_attempts:
            OutboxEvent.objects.filter(id=row.id).update(
                status=OutboxEvent.Status.FAILED, attempts=attempts, last_error=error
            )
            metrics.PARKED.inc()
            log.error("outbox_event_parked", attempts=attempts, error=error, **context)
            return 1
        delay = retry_delay(
            attempts,
            base=self._settings.backoff_base_seconds,
            cap=self._settings.backoff_cap_seconds,
            rng=self._rng,
        )
        OutboxEvent.objects.filter(id=row.id).update(
            attempts=attempts, next_attempt_at=now + timedelta(seconds=delay), last_error=error
        )
        log.warning(
            "outbox_event_publish_failed",
            attempts=attempts,
            retry_in_s=round(delay, 3),
            error=error,
            **context,
        )
        return 0

    def _prune(self) -> None:
        deleted = prune_published(
            older_than=timedelta(seconds=self._settings.retention_seconds),
            batch_size=self._settings.prune_batch_size,
        )
        if deleted:
            log.info("outbox_pruned", deleted=deleted)

    def _update_gauges(self) -> None:
        pending = OutboxEvent.objects.pending().order_by()
        oldest = pending.aggregate(oldest=Min("created_at"))["oldest"]
        metrics.BACKLOG.set(pending.count())
        held = OutboxEvent.objects.held().order_by()
        metrics.PARKED_EVENTS.set(OutboxEvent.objects.failed().count())
        metrics.HELD_EVENTS.set(held.count())
        metrics.HELD_AGGREGATES.set(
            held.values("aggregate_type", "aggregate_id").distinct().count()
        )
        metrics.OLDEST_PENDING_AGE.set(
            (timezone.now() - oldest).total_seconds() if oldest is not None else 0
        )

    def _wait_for_work(self, seconds: float) -> None:
        for chunk in self._slices(seconds):
            if self._coordinator.wait_for_work(chunk):
                return

    def _back_off(self, event: str, error: BaseException, failures: int) -> None:
        delay = retry_delay(
            failures,
            base=self._settings.reconnect_base_seconds,
            cap=self._settings.reconnect_cap_seconds,
            rng=self._rng,
        )
        log.warning(event, error=repr(error), failures=failures, retry_in_s=round(delay, 3))
        for chunk in self._slices(delay):
            time.sleep(chunk)

    def _slices(self, seconds: float, step: float = 0.25) -> Iterator[float]:
        """Cut a wait in short steps, so that ``stop()`` is noticed within one."""
        deadline = time.monotonic() + seconds
        while not self._stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            yield min(step, remaining)


def _event_context(row: ClaimedRow) -> dict[str, Any]:
    traceparent = row.envelope.get("traceparent")
    return {
        "event_id": str(row.id),
        "event_type": row.event_type,
        "correlation_id": row.envelope.get("correlationid"),
        "trace_id": traceparent.split("-")[1] if traceparent else None,
    }
