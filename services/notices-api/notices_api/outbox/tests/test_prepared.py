"""A QuerySet compiled once gives the rows the QuerySet itself gives, at any time."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db.models import QuerySet
from django.utils import timezone

from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.prepared import PreparedQuery
from notices_api.outbox.tests.conftest import record_reads

pytestmark = pytest.mark.django_db

FIELDS = ("id", "position", "envelope", "attempts", "created_at", "next_attempt_at")


def publishable(now: datetime) -> QuerySet[Any]:
    return OutboxEvent.objects.publishable(now=now).order_by("position").values_list(*FIELDS)


def test_rows_match_the_queryset_as_the_time_passes_a_retry() -> None:
    record_reads([uuid.uuid4(), uuid.uuid4()], per_aggregate=2)
    backing_off = OutboxEvent.objects.order_by("position").first()
    assert backing_off is not None
    retry_at = timezone.now() + timedelta(minutes=5)
    OutboxEvent.objects.filter(id=backing_off.id).update(attempts=1, next_attempt_at=retry_at)
    prepared = PreparedQuery(publishable)

    for now in (timezone.now(), retry_at - timedelta(seconds=1), retry_at + timedelta(seconds=1)):
        assert prepared.rows(now=now) == list(publishable(now))
    # Before the retry its whole aggregate waits; after it, every row is due.
    assert len(prepared.rows(now=timezone.now())) == 2
    assert len(prepared.rows(now=retry_at + timedelta(seconds=1))) == 4
    assert isinstance(prepared.rows(now=timezone.now())[0][2], dict)  # the JSON, decoded


def test_a_query_that_ignores_the_time_is_refused() -> None:
    with pytest.raises(ValueError, match="does not use the time"):
        PreparedQuery(lambda now: OutboxEvent.objects.values_list("id"))
