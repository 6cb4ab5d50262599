"""Which dispatcher lanes an announcement wakes (the LISTEN side is in tests/integration)."""

from notifier.store.models import Channel
from notifier.store.wakeups import EVERY_CHANNEL, _payload, due_channels


def test_a_notification_wakes_only_the_lanes_of_the_rows_it_announces() -> None:
    payload = _payload("writer", [Channel.WEBHOOK])

    assert due_channels(payload, own_origin="dispatcher") == {Channel.WEBHOOK}


def test_the_echo_of_its_own_processs_writes_wakes_nothing() -> None:
    # That process woke its dispatcher directly at commit; a second claim would find nothing.
    assert due_channels(_payload("mine", EVERY_CHANNEL), own_origin="mine") == frozenset()


def test_an_empty_payload_from_an_earlier_release_wakes_every_lane() -> None:
    assert due_channels("", own_origin="mine") == EVERY_CHANNEL


def test_channels_this_release_does_not_know_wake_every_lane() -> None:
    assert due_channels("writer sms", own_origin="mine") == EVERY_CHANNEL
