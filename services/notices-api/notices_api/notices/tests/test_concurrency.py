"""Row locks keep one notice's events exact under concurrent requests (PostgreSQL)."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from notices_api.core.exceptions import StateConflictError
from notices_api.notices.models import ReadReceipt
from notices_api.notices.services import notice_mark_read, notice_publish
from notices_api.outbox.testing import events_of
from notices_contracts import NOTICE_PUBLISHED_V1, NOTICE_READ_V1

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def run_together(action: Callable[[], Any], times: int = 4) -> list[Any]:
    """Run ``action`` in ``times`` threads released at once; each result or exception."""
    barrier = threading.Barrier(times)
    results: list[Any] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(action())
        except Exception as error:  # collected for the assertions
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_first_reads_record_one_receipt_and_one_event(published, recipient):
    results = run_together(lambda: notice_mark_read(notice=published, user=recipient))

    assert sorted(created for _, created in results) == [False, False, False, True]
    assert ReadReceipt.objects.count() == 1
    assert len(events_of(NOTICE_READ_V1)) == 1


def test_concurrent_publishes_publish_once(draft, publisher):
    results = run_together(lambda: notice_publish(notice=draft, actor=publisher))

    assert sum(isinstance(result, StateConflictError) for result in results) == 3
    assert len(events_of(NOTICE_PUBLISHED_V1)) == 1
