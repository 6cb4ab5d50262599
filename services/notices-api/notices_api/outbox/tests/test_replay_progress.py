import uuid
from io import StringIO

import pytest
from django.core.management import call_command

from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.services import outbox_events_replay
from notices_api.outbox.tests.conftest import record_reads

pytestmark = pytest.mark.django_db(transaction=True)


def park_everything() -> None:
    OutboxEvent.objects.update(status=OutboxEvent.Status.FAILED, attempts=10, last_error="x")


def test_replay_shows_its_progress_when_asked() -> None:
    record_reads([uuid.uuid4()], per_aggregate=3)
    park_everything()
    quiet, shown, summary = StringIO(), StringIO(), StringIO()

    call_command("outbox_replay", "--failed", "--batch-size", "1", stdout=StringIO(), stderr=quiet)
    park_everything()
    call_command(
        "outbox_replay", "--failed", "--batch-size", "1", "--progress", stdout=summary, stderr=shown
    )

    assert quiet.getvalue() == ""
    assert "parked events" in shown.getvalue()
    assert "3/3" in shown.getvalue() or "100%" in shown.getvalue()
    assert "replayed 3" in summary.getvalue()
    assert OutboxEvent.objects.pending().count() == 3


def test_replay_goes_in_batches_and_leaves_other_events_alone() -> None:
    record_reads([uuid.uuid4()], per_aggregate=5)
    first, *parked = OutboxEvent.objects.order_by("position")
    OutboxEvent.objects.filter(id__in=[e.id for e in parked]).update(
        status=OutboxEvent.Status.FAILED, attempts=10
    )
    OutboxEvent.objects.filter(id=first.id).update(status=OutboxEvent.Status.PUBLISHED)
    batches: list[int] = []

    replayed = outbox_events_replay(
        events=OutboxEvent.objects.all(), batch_size=3, on_batch=batches.append
    )

    assert (replayed, batches) == (4, [3, 1])
    assert OutboxEvent.objects.pending().filter(attempts=0).count() == 4
    assert OutboxEvent.objects.get(id=first.id).status == OutboxEvent.Status.PUBLISHED
