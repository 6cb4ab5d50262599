"""Publishing to RabbitMQ with a window of publisher confirms, one aggregate at a time.

kombu's ``confirm_publish`` waits one round trip per message. Here the relay drives
py-amqp's channel (what kombu's ``pyamqp`` transport runs on) itself: the channel
is put in confirm mode once, publishes go out back to back, and ``basic.ack`` /
``basic.nack`` (often ``multiple``) and ``basic.return`` are collected as they
arrive. Each message is matched to its delivery tag, so a confirm, a nack and a
return are told apart per event.

Order: each aggregate's messages form a lane, and a lane has at most one message
awaiting its confirm. The next one goes out only once the broker confirmed the
previous one, so a failing event is never overtaken by a later event of the same
aggregate, while the window stays full with the heads of other lanes.
"""

import contextlib
import enum
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import amqp
import kombu.exceptions
from amqp.method_framing import frame_writer
from kombu.connection import Connection
from kombu.entity import Exchange

from notices_contracts import EXCHANGE_TYPE, AmqpProperties


class BrokerUnavailableError(ConnectionError):
    """The broker connection failed; nothing unconfirmed may be counted as published."""


class Outcome(enum.Enum):
    CONFIRMED = "confirmed"
    NACKED = "nacked"
    RETURNED = "returned"
    TIMED_OUT = "timed_out"
    NOT_SENT = "not_sent"  # queued behind a failure of its aggregate, left for later
    # Refused by the relay itself before sending: no attempt can ever succeed.
    TOO_LARGE = "too_large"
    INVALID = "invalid"

    @property
    def is_broker_wide(self) -> bool:
        """The broker refused everything for a while (alarm, no quorum): not this message."""
        return self in (Outcome.NACKED, Outcome.TIMED_OUT)

    @property
    def is_permanent(self) -> bool:
        return self in (Outcome.TOO_LARGE, Outcome.INVALID)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    event_id: str
    body: bytes
    properties: AmqpProperties


@dataclass(frozen=True, slots=True)
class Confirmation:
    event_id: str
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PublishResult:
    outcome: Outcome
    detail: str = ""
    # time.time() when the broker's answer arrived; None when there was none.
    answered_at: float | None = None


class ConfirmChannel(Protocol):
    """A broker channel in confirm mode: send without waiting, then collect answers."""

    @property
    def connected(self) -> bool: ...

    def connect(self) -> None:
        """(Re)open the connection; raises BrokerUnavailableError."""
        ...

    def send(self, message: OutgoingMessage) -> None: ...

    def collect(self, timeout: float) -> list[Confirmation]:
        """Answers that arrived, waiting up to ``timeout`` for the first one."""
        ...

    def close(self) -> None: ...


def publish_lanes(
    channel: ConfirmChannel,
    lanes: Sequence[Sequence[OutgoingMessage]],
    *,
    window: int,
    confirm_timeout: float,
) -> dict[str, PublishResult]:
    """Publish every lane in order, keeping up to ``window`` publishes unconfirmed.

    A lane stops at its first failure; what follows it is NOT_SENT. If no answer
    arrives for ``confirm_timeout`` seconds, what is in flight is TIMED_OUT.
    Raises BrokerUnavailableError when the connection fails: the caller must then
    treat everything of this call as unpublished.
    """
    results: dict[str, PublishResult] = {}
    waiting: deque[Iterator[OutgoingMessage]] = deque(iter(lane) for lane in lanes)
    lane_of: dict[str, Iterator[OutgoingMessage]] = {}

    while True:
        while waiting and len(lane_of) < window:
            lane = waiting.popleft()
            message = next(lane, None)
            if message is not None:
                lane_of[message.event_id] = lane
                channel.send(message)
        if not lane_of:
            break
        answers = channel.collect(confirm_timeout)
        if not answers:
            for event_id in lane_of:
                results[event_id] = PublishResult(
                    Outcome.TIMED_OUT, f"no confirm within {confirm_timeout:g}s"
                )
            lane_of.clear()
            break
        answered_at = time.time()
        for answer in answers:
            if answer.event_id not in lane_of:
                continue  # a late answer to a publish already counted as timed out
            lane = lane_of.pop(answer.event_id)
            results[answer.event_id] = PublishResult(answer.outcome, answer.detail, answered_at)
            if answer.outcome is Outcome.CONFIRMED:
                waiting.append(lane)
    for lane_messages in lanes:
        for message in lane_messages:
            results.setdefault(message.event_id, PublishResult(Outcome.NOT_SENT))
    return results


class _FrameBuffer:
    """Takes py-amqp's frame writes in memory, so that a window goes out in few socket writes."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        # py-amqp hands over a view of a buffer it reuses for the next frame: copy it.
        self.chunks.append(bytes(data))
        self.size += len(data)

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        self.size = 0
        return data


# Flush the buffered publishes once this much is waiting, even within a window.
_FLUSH_BYTES = 256 * 1024

_BROKER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    amqp.exceptions.AMQPError,
    kombu.exceptions.KombuError,
)


class AmqpConfirmChannel:
    """ConfirmChannel over kombu's py-amqp connection, publishing mandatory and persistent."""

    def __init__(
        self, *, url: str, exchange: str, connect_timeout: float = 10, write_timeout: float = 10
    ) -> None:
        self._url = url
        self._exchange = exchange
        self._connect_timeout = connect_timeout
        self._write_timeout = write_timeout
        self._connection: Connection | None = None
        self._channel: Any = None
        # RabbitMQ checks a message's user_id against the connection's user and refuses
        # a mismatch, so consumers can trust it names the publishing service.
        self._user_id: str = Connection(url).userid or "guest"  # type: ignore[no-untyped-call]
        self._next_tag = 1
        self._in_flight: dict[int, str] = {}  # delivery tag -> event id, in tag order
        self._returned: dict[str, str] = {}  # event id -> why the broker returned it
        self._answers: list[Confirmation] = []
        self._buffer = _FrameBuffer()
        self._direct_writer: Any = None
        self._buffered_writer: Any = None

    def connect(self) -> None:
        """Open the connection, declare the exchange (durable topic) and enter confirm mode."""
        self.close()
        try:
            # kombu is only partly annotated.
            # A write timeout: a broker that stopped reading (silent network loss) must
            # not block a publish forever; it surfaces as a lost connection instead.
            connection = Connection(  # type: ignore[no-untyped-call]
                self._url,
                connect_timeout=self._connect_timeout,
                transport_options={"write_timeout": self._write_timeout},
            )
            connection.connect()  # type: ignore[no-untyped-call]
            channel = connection.channel()  # type: ignore[no-untyped-call]
            exchange = Exchange(self._exchange, type=EXCHANGE_TYPE, durable=True)  # type: ignore[no-untyped-call]
            exchange(channel).declare()  # type: ignore[no-untyped-call]
            channel.confirm_select()
        except _BROKER_ERRORS as error:
            raise BrokerUnavailableError(f"cannot connect to the broker: {error!r}") from error
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        # Publishes are framed by py-amqp into our buffer (its frame_writer is a
        # documented constructor hook) and written out by flush(): one socket write
        # per window instead of one per message. Everything else writes directly.
        self._direct_writer = connection.connection.frame_writer
        self._buffered_writer = frame_writer(connection.connection, self._buffer)
        self._buffer.take()
        self._connection, self._channel = connection, channel
        self._next_tag = 1
        self._in_flight.clear()
        self._returned.clear()
        self._answers.clear()

    @property
    def connected(self) -> bool:
        return self._channel is not None

    def send(self, message: OutgoingMessage) -> None:
        if self._channel is None:
            raise BrokerUnavailableError("not connected")
        properties = message.properties
        amqp_message = amqp.Message(
            message.body,
            content_type=properties.content_type,
            delivery_mode=properties.delivery_mode,
            message_id=properties.message_id,
            type=properties.type,
            timestamp=int(properties.timestamp.timestamp()),  # AMQP: whole seconds
            application_headers=properties.headers,
            user_id=self._user_id,
            **({"correlation_id": properties.correlation_id} if properties.correlation_id else {}),
        )
        self._in_flight[self._next_tag] = message.event_id
        self._next_tag += 1
        raw = self._channel.connection
        raw.frame_writer = self._buffered_writer
        try:
            self._channel.basic_publish(
                amqp_message,
                exchange=self._exchange,
                routing_key=properties.routing_key,
                mandatory=True,
            )
        except _BROKER_ERRORS as error:
            self._lost(error)
        finally:
            raw.frame_writer = self._direct_writer
        if self._buffer.size >= _FLUSH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._connection is None or not self._buffer.size:
            return
        try:
            self._connection.connection.transport.write(self._buffer.take())
        except _BROKER_ERRORS as error:
            self._lost(error)

    def collect(self, timeout: float) -> list[Confirmation]:
        if self._connection is None:
            raise BrokerUnavailableError("not connected")
        self._flush()
        deadline = time.monotonic() + timeout
        try:
            while not self._answers:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    self._connection.connection.drain_events(timeout=remaining)
                except TimeoutError:
                    break
        except _BROKER_ERRORS as error:
            self._lost(error)
        answers, self._answers = self._answers, []
        return answers

    def close(self) -> None:
        self._buffer.take()  # unsent publishes were never confirmed: nothing is lost
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            # A broken connection cannot be closed cleanly; its socket is gone either way.
            with contextlib.suppress(*_BROKER_ERRORS):
                connection.release()  # type: ignore[no-untyped-call]

    def _lost(self, error: BaseException) -> None:
        self.close()
        raise BrokerUnavailableError(f"broker connection lost: {error!r}") from error

    def _settle(self, delivery_tag: int, multiple: bool) -> list[str]:
        if not multiple:
            event_id = self._in_flight.pop(delivery_tag, None)
            return [event_id] if event_id is not None else []
        settled = []
        for tag in list(self._in_flight):
            if tag > delivery_tag:
                break
            settled.append(self._in_flight.pop(tag))
        return settled

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        for event_id in self._settle(delivery_tag, multiple):
            # A mandatory message that no queue took comes back as basic.return,
            # then is acked anyway: the ack alone does not mean it was routed.
            returned = self._returned.pop(event_id, None)
            if returned is None:
                self._answers.append(Confirmation(event_id, Outcome.CONFIRMED))
            else:
                self._answers.append(Confirmation(event_id, Outcome.RETURNED, returned))

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        for event_id in self._settle(delivery_tag, multiple):
            self._returned.pop(event_id, None)
            self._answers.append(Confirmation(event_id, Outcome.NACKED, "nacked by the broker"))

    def _on_return(
        self, error: BaseException, exchange: str, routing_key: str, message: amqp.Message
    ) -> None:
        event_id = message.properties.get("message_id")
        if event_id:
            self._returned[event_id] = f"returned ({routing_key!r}): {error}"
