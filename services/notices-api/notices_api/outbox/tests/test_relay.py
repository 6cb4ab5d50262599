"""The relay's rules, with the fake broker channel (runs on PostgreSQL and on SQLite)."""

import random
import threading
import time
import uuid
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.partitions import SoleRelayCoordinator
from notices_api.outbox.publisher import BrokerUnavailableError, Outcome, OutgoingMessage
from notices_api.outbox.relay import Relay, relay_settings, retry_delay
from notices_api.outbox.tests.conftest import record_archived, record_reads
from notices_api.outbox.tests.fakes import FakeConfirmChannel

pytestmark = pytest.mark.django_db(transaction=True)


def make_relay(channel: FakeConfirmChannel, **overrides: Any) -> Relay:
    return Relay(
        tuning=relay_settings(
            **{"batch_size": 50, "confirm_window": 8, "backoff_base_seconds": 60, **overrides}
        ),
        channel=channel,
        coordinator=SoleRelayCoordinator(partitions=settings.OUTBOX_PARTITIONS),
        rng=random.Random(4),
    )


def positions_by_id() -> dict[str, tuple[str, int]]:
    return {
        str(event_id): (aggregate_id, position)
        for event_id, aggregate_id, position in OutboxEvent.objects.values_list(
            "id", "aggregate_id", "position"
        )
    }


def assert_per_aggregate_order(sent_ids: list[str]) -> None:
    rows = positions_by_id()
    last: dict[str, int] = {}
    for event_id in sent_ids:
        aggregate_id, position = rows[event_id]
        assert position > last.get(aggregate_id, 0), f"{event_id} overtook an older event"
        last[aggregate_id] = position


def returned_for(routing_key: str) -> Any:
    def outcome(message: OutgoingMessage) -> Outcome:
        if message.properties.routing_key == routing_key:
            return Outcome.RETURNED
        return Outcome.CONFIRMED

    return outcome


def test_publishes_every_pending_event_once_in_per_aggregate_order() -> None:
    aggregates = [uuid.uuid4() for _ in range(7)]
    written = record_reads(aggregates, per_aggregate=20, chunk=37)
    channel = FakeConfirmChannel()

    make_relay(channel).run(once=True)

    assert sorted(channel.sent_ids()) == sorted(
        str(i) for i in OutboxEvent.objects.values_list("id", flat=True)
    )
    assert len(channel.sent) == written
    assert_per_aggregate_order(channel.sent_ids())
    assert channel.max_in_flight <= 8
    assert not OutboxEvent.objects.exclude(status=OutboxEvent.Status.PUBLISHED).exists()
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()


def test_message_carries_the_envelope_and_its_amqp_properties() -> None:
    notice_id = uuid.uuid4()
    record_archived(notice_id)
    channel = FakeConfirmChannel()

    make_relay(channel).run(once=True)

    event = OutboxEvent.objects.get()
    (message,) = channel.sent
    assert message.body == event.envelope_json()
    assert message.properties.message_id == str(event.id)
    assert message.properties.type == "notices.notice.archived.v1"
    assert message.properties.routing_key == "notice.archived.v1"
    assert message.properties.delivery_mode == 2


def test_an_unconfirmed_publish_is_never_marked_published() -> None:
    record_archived(uuid.uuid4())
    channel = FakeConfirmChannel(outcome_for=lambda message: Outcome.TIMED_OUT)

    make_relay(channel, confirm_timeout_seconds=0.01).run(once=True)

    event = OutboxEvent.objects.get()
    assert event.status == OutboxEvent.Status.PENDING
    # A broker that stops confirming is a broker-wide problem, not this event's.
    assert event.attempts == 0


def test_a_failing_event_holds_back_only_its_own_aggregate() -> None:
    blocked, flowing = uuid.uuid4(), uuid.uuid4()
    record_archived(blocked)  # unroutable in this test
    record_reads([blocked, flowing], per_aggregate=3)
    channel = FakeConfirmChannel(outcome_for=returned_for("notice.archived.v1"))

    make_relay(channel).run(once=True)
    make_relay(channel).run(once=True)  # the blocked aggregate stays blocked while backing off

    blocked_events = OutboxEvent.objects.filter(aggregate_id=str(blocked)).order_by("position")
    head, *behind = blocked_events
    assert head.attempts == 1
    assert head.status == OutboxEvent.Status.PENDING
    assert head.last_error.startswith("returned")
    assert all(e.status == OutboxEvent.Status.PENDING and e.attempts == 0 for e in behind)
    assert [m.event_id for m in channel.sent].count(str(head.id)) == 1
    assert not {str(e.id) for e in behind} & set(channel.sent_ids())
    flowing_events = OutboxEvent.objects.filter(aggregate_id=str(flowing))
    assert all(e.status == OutboxEvent.Status.PUBLISHED for e in flowing_events)


def test_a_parked_event_holds_its_aggregates_later_events_until_replayed() -> None:
    notice_id, other = uuid.uuid4(), uuid.uuid4()
    record_archived(notice_id)
    record_reads([notice_id, other], per_aggregate=2)
    channel = FakeConfirmChannel(outcome_for=returned_for("notice.archived.v1"))
    relay = make_relay(channel, max_attempts=3, backoff_base_seconds=0.01, backoff_cap_seconds=0.02)

    run_until_settled(relay)

    head, *behind = OutboxEvent.objects.filter(aggregate_id=str(notice_id)).order_by("position")
    assert head.status == OutboxEvent.Status.FAILED
    assert head.attempts == 3
    assert all(e.status == OutboxEvent.Status.PENDING and e.attempts == 0 for e in behind)
    assert not {str(e.id) for e in behind} & set(channel.sent_ids())
    assert not OutboxEvent.objects.filter(aggregate_id=str(other)).pending().exists()
    assert set(OutboxEvent.objects.held().values_list("id", flat=True)) == {e.id for e in behind}

    channel.outcome_for = lambda message: Outcome.CONFIRMED
    call_command("outbox_replay", "--event-id", str(head.id), stdout=StringIO())
    make_relay(channel).run(once=True)

    assert not OutboxEvent.objects.exclude(status=OutboxEvent.Status.PUBLISHED).exists()
    assert_per_aggregate_order(channel.sent_ids()[-3:])


def test_skipping_a_parked_event_releases_its_aggregate_and_keeps_the_row() -> None:
    notice_id = uuid.uuid4()
    record_archived(notice_id)
    record_reads([notice_id], per_aggregate=2)
    head = OutboxEvent.objects.order_by("position").first()
    assert head is not None
    OutboxEvent.objects.filter(id=head.id).update(
        status=OutboxEvent.Status.FAILED, attempts=10, last_error="returned: x"
    )
    out = StringIO()

    call_command("outbox_skip", "--event-id", str(head.id), stdout=out)
    make_relay(FakeConfirmChannel()).run(once=True)

    head.refresh_from_db()
    assert head.status == OutboxEvent.Status.SKIPPED
    assert head.last_error == "returned: x"
    assert "skipped 1" in out.getvalue()
    assert OutboxEvent.objects.published().count() == 2
    with pytest.raises(CommandError):
        call_command("outbox_skip", "--event-id", str(head.id))


def run_until_settled(relay: Relay, *, seconds: float = 30) -> None:
    """Batches until nothing publishable is left (rows may stay held or backing off)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        relay.run_batch()
        if not OutboxEvent.objects.publishable(now=timezone.now() + timedelta(seconds=1)).exists():
            return
        time.sleep(0.02)


@pytest.mark.parametrize("outcome", [Outcome.NACKED, Outcome.TIMED_OUT])
def test_broker_wide_refusals_never_burn_attempts_nor_park(outcome: Outcome) -> None:
    record_reads([uuid.uuid4()], per_aggregate=2)
    channel = FakeConfirmChannel(outcome_for=lambda message: outcome)
    relay = make_relay(channel, max_attempts=2, confirm_timeout_seconds=0.01)

    for _ in range(5):
        channel.connect()
        report = relay.run_batch()
        assert report.broker_refused == 1

    assert OutboxEvent.objects.pending().count() == 2
    assert not OutboxEvent.objects.filter(attempts__gt=0).exists()


def oversized(event: OutboxEvent, size: int) -> None:
    envelope = {**event.envelope, "data": {**event.envelope["data"], "padding": "x" * size}}
    OutboxEvent.objects.filter(id=event.id).update(envelope=envelope)


def test_an_envelope_above_the_max_message_size_is_parked_at_once_and_the_rest_flows() -> None:
    big, other = uuid.uuid4(), uuid.uuid4()
    record_archived(big)
    record_reads([big, other], per_aggregate=2)
    head = OutboxEvent.objects.filter(aggregate_id=str(big)).order_by("position").first()
    assert head is not None
    oversized(head, 5000)
    channel = FakeConfirmChannel()

    make_relay(channel, max_message_bytes=4096).run(once=True)

    head.refresh_from_db()
    assert head.status == OutboxEvent.Status.FAILED
    assert head.last_error.startswith("too_large")
    assert str(head.id) not in channel.sent_ids()
    assert OutboxEvent.objects.filter(aggregate_id=str(other)).published().count() == 2
    assert OutboxEvent.objects.held().count() == 2


def test_an_invalid_envelope_is_parked_instead_of_crashing_the_relay() -> None:
    bad, other = uuid.uuid4(), uuid.uuid4()
    record_archived(bad)
    record_reads([other], per_aggregate=2)
    OutboxEvent.objects.filter(aggregate_id=str(bad)).update(envelope={"specversion": "0.1"})
    channel = FakeConfirmChannel()

    make_relay(channel).run(once=True)
    make_relay(channel).run(once=True)  # a restart does not trip on it again

    event = OutboxEvent.objects.get(aggregate_id=str(bad))
    assert event.status == OutboxEvent.Status.FAILED
    assert event.last_error.startswith("invalid")
    assert OutboxEvent.objects.published().count() == 2


def test_a_broker_failure_mid_batch_counts_nothing_as_published() -> None:
    record_reads([uuid.uuid4() for _ in range(5)], per_aggregate=4)
    channel = FakeConfirmChannel(fail_connection_after=7)
    channel.connect()

    with pytest.raises(BrokerUnavailableError):
        make_relay(channel, confirm_window=3).run_batch()

    assert OutboxEvent.objects.pending().count() == 20
    assert not OutboxEvent.objects.filter(attempts__gt=0).exists()


def test_retry_delay_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(1)
    delays = [retry_delay(n, base=1, cap=30, rng=rng) for n in range(1, 9)]
    for attempts, delay in enumerate(delays, start=1):
        ceiling = min(30, 2 ** (attempts - 1))
        assert ceiling / 2 <= delay <= ceiling


def test_replay_puts_a_parked_event_back_with_fresh_attempts() -> None:
    record_archived(uuid.uuid4())
    OutboxEvent.objects.update(status=OutboxEvent.Status.FAILED, attempts=10, last_error="x")
    event = OutboxEvent.objects.get()
    out = StringIO()

    call_command("outbox_replay", "--event-id", str(event.id), stdout=out)

    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == ("pending", 0, "")
    assert "replayed 1" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("outbox_replay", "--event-id", str(event.id))


def test_replay_failed_replays_only_parked_events() -> None:
    record_reads([uuid.uuid4()], per_aggregate=3)
    first, *_ = OutboxEvent.objects.order_by("position")
    OutboxEvent.objects.exclude(id=first.id).update(status=OutboxEvent.Status.FAILED, attempts=4)
    out = StringIO()

    call_command("outbox_replay", "--failed", stdout=out)

    assert "replayed 2" in out.getvalue()
    assert OutboxEvent.objects.pending().count() == 3


def test_prune_deletes_only_published_rows_past_retention_in_batches() -> None:
    record_reads([uuid.uuid4()], per_aggregate=7)
    old, recent = timezone.now() - timedelta(days=8), timezone.now()
    ids = list(OutboxEvent.objects.values_list("id", flat=True))
    OutboxEvent.objects.filter(id__in=ids[:5]).update(status="published", published_at=old)
    OutboxEvent.objects.filter(id__in=ids[5:6]).update(status="published", published_at=recent)
    out = StringIO()

    call_command(
        "outbox_prune", "--older-than", str(7 * 24 * 3600), "--batch-size", "2", stdout=out
    )

    assert "deleted 5" in out.getvalue()
    assert set(OutboxEvent.objects.values_list("id", flat=True)) == set(ids[5:])


@pytest.mark.postgres_only
def test_rows_locked_by_another_relay_hold_back_only_their_aggregates() -> None:
    """Two relays briefly owning one partition (a lock session died mid-batch) keep order."""
    held, free = uuid.uuid4(), uuid.uuid4()
    record_reads([held, free], per_aggregate=3)
    head = OutboxEvent.objects.filter(aggregate_id=str(held)).order_by("position").first()
    assert head is not None
    locked, release = threading.Event(), threading.Event()

    def other_relay_holding_the_head() -> None:
        with transaction.atomic():
            OutboxEvent.objects.select_for_update().get(id=head.id)
            locked.set()
            release.wait(30)
        connection.close()

    other = threading.Thread(target=other_relay_holding_the_head)
    other.start()
    try:
        assert locked.wait(30)
        channel = FakeConfirmChannel()
        channel.connect()
        make_relay(channel).run_batch()
    finally:
        release.set()
        other.join(30)

    sent = set(channel.sent_ids())
    assert not {str(e.id) for e in OutboxEvent.objects.filter(aggregate_id=str(held))} & sent
    assert {str(e.id) for e in OutboxEvent.objects.filter(aggregate_id=str(free))} <= sent


def test_metrics_count_publishes_failures_and_the_commit_to_confirm_latency() -> None:
    def sample(name: str, labels: dict[str, str] | None = None) -> float:
        return REGISTRY.get_sample_value(name, labels or {}) or 0.0

    before = {
        "published": sample("outbox_relay_published_total"),
        "returned": sample("outbox_relay_failed_attempts_total", {"reason": "returned"}),
        "latencies": sample("outbox_commit_to_confirm_seconds_count"),
    }
    record_archived(uuid.uuid4())
    record_reads([uuid.uuid4()], per_aggregate=3)
    channel = FakeConfirmChannel(outcome_for=returned_for("notice.archived.v1"))

    make_relay(channel).run(once=True)

    assert sample("outbox_relay_published_total") - before["published"] == 3
    assert sample("outbox_relay_failed_attempts_total", {"reason": "returned"}) == (
        before["returned"] + 1
    )
    assert sample("outbox_commit_to_confirm_seconds_count") - before["latencies"] == 3
    make_relay(channel).run(once=True)  # gauges are refreshed as a run starts
    assert sample("outbox_backlog") == 1  # the returned event, backing off
    assert sample("outbox_oldest_pending_age_seconds") > 0
    assert sample("outbox_relay_owned_partitions") == 0  # released when the relay stopped
    OutboxEvent.objects.filter(event_type="notices.notice.archived.v1").update(
        status=OutboxEvent.Status.FAILED
    )
    record_reads([uuid.UUID(OutboxEvent.objects.failed().get().aggregate_id)], per_aggregate=2)
    make_relay(channel).run(once=True)
    assert sample("outbox_parked_events") == 1
    assert sample("outbox_held_events") == 2
    assert sample("outbox_held_aggregates") == 1
