"""`notifier dlq replay` streams: one message out of the dead-letter queue at a time, acked
only once its republish is confirmed, against a real RabbitMQ vhost."""

import asyncio
from collections.abc import AsyncIterator

import aio_pika
import pytest
from integration_harness import settings_from

from notifier.dlq import replay_dead_letters
from notifier.topology import REASON_HEADER, Topology, build_topology

pytestmark = pytest.mark.timeout(120)

LETTERS = 400


@pytest.fixture
async def topology(settings_env: dict[str, str]) -> AsyncIterator[Topology]:
    """The main queue (nobody consumes it here) and a DLQ holding LETTERS dead letters."""
    topology = build_topology(settings_from(settings_env))
    connection = await aio_pika.connect(settings_env["AMQP_URL"])
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for queue in (topology.queue, topology.dead_letter_queue):
            await channel.declare_queue(queue.name, durable=True, arguments=queue.arguments)
        for number in range(LETTERS):
            await channel.default_exchange.publish(
                aio_pika.Message(
                    b"{}", message_id=f"letter-{number}", headers={REASON_HEADER: "invalid_data"}
                ),
                routing_key=topology.dead_letter_queue.name,
            )
        yield topology


async def ready_counts(channel: aio_pika.abc.AbstractChannel, topology: Topology) -> int:
    """Messages ready in the DLQ plus those ready in the main queue (read in that order)."""
    total = 0
    for queue in (topology.dead_letter_queue, topology.queue):
        declared = await channel.declare_queue(queue.name, passive=True)
        total += declared.declaration_result.message_count or 0
    return total


async def queued_ids(channel: aio_pika.abc.AbstractChannel, name: str) -> list[str]:
    queue = await channel.get_queue(name)
    ids = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        ids.append(message.message_id or "")
    return ids


class ReplayInterruptedError(Exception):
    """The operator's Ctrl-C, as far as the replay can tell."""


class Steps:
    """A progress report that counts, and interrupts the replay after ``stop_after`` steps."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.total: int | None = None
        self.done = 0
        self.stop_after = stop_after

    def started(self, total: int) -> None:
        self.total = total

    def advanced(self, steps: int) -> None:
        self.done += steps
        if self.done == self.stop_after:
            raise ReplayInterruptedError


async def test_replay_holds_at_most_one_dead_letter_at_a_time(
    settings_env: dict[str, str], topology: Topology
) -> None:
    steps = Steps()
    # Every message is ready in one of the two queues except those the replay holds: a
    # message counted in neither was taken and not yet republished through both reads.
    held: list[int] = []
    connection = await aio_pika.connect(settings_env["AMQP_URL"])
    async with connection:
        channel = await connection.channel()
        replay = asyncio.create_task(
            replay_dead_letters(
                amqp_url=settings_env["AMQP_URL"],
                topology=topology,
                message_id=None,
                progress=steps,
            )
        )
        while not replay.done():
            held.append(LETTERS - await ready_counts(channel, topology))
        replayed = await replay

        assert len(replayed) == LETTERS
        assert (steps.total, steps.done) == (LETTERS, LETTERS)
        assert len(held) >= 20, "too few samples to see the replay at work"
        assert max(held) <= 1, f"the replay held up to {max(held)} dead letters at once"
        assert await queued_ids(channel, topology.queue.name) == [
            f"letter-{number}" for number in range(LETTERS)
        ]


async def test_an_interrupted_replay_loses_nothing_and_leaves_the_rest_in_the_dlq(
    settings_env: dict[str, str], topology: Topology
) -> None:
    with pytest.raises(ReplayInterruptedError):
        await replay_dead_letters(
            amqp_url=settings_env["AMQP_URL"],
            topology=topology,
            message_id=None,
            progress=Steps(stop_after=100),
        )

    connection = await aio_pika.connect(settings_env["AMQP_URL"])
    async with connection:
        channel = await connection.channel()
        replayed = await queued_ids(channel, topology.queue.name)
        left = await queued_ids(channel, topology.dead_letter_queue.name)
    assert replayed == [f"letter-{number}" for number in range(100)]
    assert sorted(left) == sorted(f"letter-{number}" for number in range(100, LETTERS))


async def test_replaying_one_id_takes_only_that_letter_out_of_the_dlq(
    settings_env: dict[str, str], topology: Topology
) -> None:
    replayed = await replay_dead_letters(
        amqp_url=settings_env["AMQP_URL"], topology=topology, message_id="letter-250"
    )

    assert replayed == ["letter-250"]
    connection = await aio_pika.connect(settings_env["AMQP_URL"])
    async with connection:
        channel = await connection.channel()
        assert await queued_ids(channel, topology.queue.name) == ["letter-250"]
        left = await queued_ids(channel, topology.dead_letter_queue.name)
    assert sorted(left) == sorted(f"letter-{n}" for n in range(LETTERS) if n != 250)
