"""Acceptance: relay processes against the real PostgreSQL and RabbitMQ.

Relays run as ``manage.py outbox_relay`` subprocesses on this run's test database
and vhost, so they can be killed, stopped and cut off like in production.
"""

import os
import random
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import amqp
import pytest
from django.db import connection

from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.tests.conftest import (
    BoundQueue,
    close_vhost_connections,
    record_reads,
    start_relay,
)

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.broker,
    pytest.mark.django_db(transaction=True),
]


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def nothing_pending() -> bool:
    return not OutboxEvent.objects.pending().exists()


def stop(relay: subprocess.Popen[bytes]) -> int:
    relay.send_signal(signal.SIGTERM)
    return relay.wait(timeout=60)


def message_ids(messages: list[amqp.Message]) -> list[str]:
    return [message.properties["message_id"] for message in messages]


def assert_first_deliveries_in_per_aggregate_order(ids: list[str]) -> None:
    rows = {
        str(event_id): (aggregate_id, position)
        for event_id, aggregate_id, position in OutboxEvent.objects.values_list(
            "id", "aggregate_id", "position"
        )
    }
    last: dict[str, int] = {}
    seen: set[str] = set()
    for event_id in ids:
        if event_id in seen:
            continue
        seen.add(event_id)
        aggregate_id, position = rows[event_id]
        assert position > last.get(aggregate_id, 0), f"{event_id} overtook an older event"
        last[aggregate_id] = position


@pytest.mark.parametrize("relay_count", [2, 3])
def test_several_relays_deliver_every_event_once_in_per_notice_order(
    relay_count: int, make_queue: Callable[..., BoundQueue], amqp_url: str, tmp_path: Path
) -> None:
    queue = make_queue()
    logs = [tmp_path / f"relay-{i}.log" for i in range(relay_count)]
    relays = [
        start_relay(amqp_url, log_path=log, extra_env={"OUTBOX_RELAY_BATCH_SIZE": "200"})
        for log in logs
    ]
    try:
        # Written while the relays run: NOTIFY wake-ups, concurrent claims, rebalancing.
        written = record_reads([uuid.uuid4() for _ in range(200)], per_aggregate=50)
        wait_until(nothing_pending, timeout=300, what="the relays to publish everything")
    finally:
        exit_codes = [stop(relay) for relay in relays]

    assert exit_codes == [0] * relay_count  # SIGTERM: finish the batch, release, exit 0
    ids = message_ids(queue.drain(expect=written))
    duplicates = [event_id for event_id, n in Counter(ids).items() if n > 1]
    assert duplicates == []
    assert set(ids) == {str(i) for i in OutboxEvent.objects.values_list("id", flat=True)}
    assert len(ids) == written == 10_000
    assert_first_deliveries_in_per_aggregate_order(ids)
    for log in logs:  # each relay owned partitions and published a share
        assert '"outbox_relay_batch"' in log.read_text(), f"{log.name} published nothing"


def test_kill_9_mid_batch_loses_nothing_and_duplicates_only_what_was_in_flight(
    make_queue: Callable[..., BoundQueue], amqp_url: str, tmp_path: Path
) -> None:
    batch_size = 300
    queue = make_queue()
    written = record_reads([uuid.uuid4() for _ in range(100)], per_aggregate=100)
    victim = start_relay(
        amqp_url,
        log_path=tmp_path / "victim.log",
        extra_env={"OUTBOX_RELAY_BATCH_SIZE": str(batch_size)},
        database_options="application_name=relay-victim",
    )
    survivor = None
    try:
        wait_until(
            lambda: OutboxEvent.objects.published().count() >= 2000,
            timeout=120,
            what="the victim to be busy publishing",
        )
        survivor = start_relay(
            amqp_url,
            log_path=tmp_path / "survivor.log",
            extra_env={"OUTBOX_RELAY_BATCH_SIZE": str(batch_size)},
        )
        time.sleep(1.5)  # let them share the partitions, then kill one mid-batch
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)

        def victim_session_gone() -> bool:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'relay-victim'"
                )
                row = cursor.fetchone()
            return row is not None and row[0] == 0

        wait_until(victim_session_gone, timeout=60, what="PostgreSQL to end the victim's sessions")
        published_at_kill = {
            str(i) for i in OutboxEvent.objects.published().values_list("id", flat=True)
        }
        assert len(published_at_kill) < written, "the victim finished before it was killed"
        # The survivor takes the dead relay's partitions over and drains the rest.
        wait_until(nothing_pending, timeout=300, what="the survivor to take over and drain")
    finally:
        if survivor is not None:
            assert stop(survivor) == 0
        if victim.poll() is None:
            victim.kill()

    ids = message_ids(queue.drain(expect=written))
    counts = Counter(ids)
    assert set(counts) == {str(i) for i in OutboxEvent.objects.values_list("id", flat=True)}
    duplicated = {event_id for event_id, n in counts.items() if n > 1}
    print(f"kill -9: {len(published_at_kill)} published at the kill, {len(duplicated)} duplicated")
    assert not duplicated & published_at_kill, "an event confirmed and recorded was sent again"
    assert len(duplicated) <= batch_size, "more duplicates than one batch in flight"
    assert max(counts.values()) <= 2
    assert_first_deliveries_in_per_aggregate_order(ids)


@dataclass(frozen=True)
class ChaosRun:
    hits: int  # connections or sessions the chaos ended
    log: str  # the relay's log
    delivered: list[str]  # message ids, in consumed order


def run_through_chaos(
    chaos: Callable[[], int],
    *,
    seed: int,
    queue: BoundQueue,
    amqp_url: str,
    log_path: Path,
    database_options: str = "",
) -> ChaosRun:
    """A relay process publishes rounds of events while ``chaos`` strikes after each round."""
    print(f"chaos seed: {seed}")
    rng = random.Random(seed)
    relay = start_relay(
        amqp_url,
        log_path=log_path,
        extra_env={"OUTBOX_RELAY_BATCH_SIZE": "100"},
        database_options=database_options,
    )
    written = hits = 0
    try:
        for _ in range(5):
            written += record_reads([uuid.uuid4() for _ in range(40)], per_aggregate=20)
            time.sleep(rng.uniform(0.0, 0.5))
            hits += chaos()
        wait_until(nothing_pending, timeout=300, what="the relay to recover and drain")
    finally:
        assert stop(relay) == 0
    delivered = message_ids(queue.drain(expect=written))
    assert set(delivered) == {str(i) for i in OutboxEvent.objects.values_list("id", flat=True)}
    assert_first_deliveries_in_per_aggregate_order(delivered)
    return ChaosRun(hits=hits, log=log_path.read_text(), delivered=delivered)


def test_broker_outage_loses_nothing_and_the_relay_recovers_by_itself(
    make_queue: Callable[..., BoundQueue], amqp_url: str, tmp_path: Path
) -> None:
    run = run_through_chaos(
        lambda: close_vhost_connections(amqp_url),
        seed=20261122,
        queue=make_queue(),
        amqp_url=amqp_url,
        log_path=tmp_path / "relay.log",
    )

    assert run.hits >= 3, "the chaos never hit the relay's connection"
    assert '"outbox_relay_broker_unavailable"' in run.log


def terminate_sessions(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()) AS terminated",
            [application_name],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def test_lost_database_sessions_lose_nothing_and_the_relay_recovers_by_itself(
    make_queue: Callable[..., BoundQueue], amqp_url: str, tmp_path: Path
) -> None:
    """Its data and lock sessions are terminated under it (only this test's relay's)."""
    run = run_through_chaos(
        lambda: terminate_sessions("relay-db-chaos"),
        seed=4242,
        queue=make_queue(),
        amqp_url=amqp_url,
        log_path=tmp_path / "relay.log",
        database_options="application_name=relay-db-chaos",
    )

    # A round may find the sessions already gone (the relay is reconnecting).
    assert run.hits >= 2, "the chaos hardly hit the relay's sessions"
    assert '"outbox_relay_database_error"' in run.log
