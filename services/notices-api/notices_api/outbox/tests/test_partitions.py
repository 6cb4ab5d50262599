"""The advisory-lock coordinator outlives the loss of its LISTEN session."""

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from notices_api.outbox.partitions import AdvisoryLockCoordinator


class _SessionLostWhileDraining:
    """A LISTEN session that hands over one notification, then is terminated."""

    def __init__(self) -> None:
        self.calls = 0

    def notifies(self, **_: Any) -> Iterator[object]:
        self.calls += 1
        if self.calls > 1:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        yield object()


def test_a_session_lost_while_draining_notifications_is_dropped_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    coordinator = AdvisoryLockCoordinator(partitions=4, namespace=1, notify_channel="outbox")
    session = _SessionLostWhileDraining()
    dropped: list[bool] = []
    monkeypatch.setattr(coordinator, "_session", lambda: session)
    monkeypatch.setattr(coordinator, "_drop_session", lambda: dropped.append(True))

    assert coordinator.wait_for_work(0.01) is True  # it was woken before the session went
    assert dropped == [True]  # a new session, and new locks, next time
