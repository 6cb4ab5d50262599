import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.tests.conftest import record_reads

pytestmark = pytest.mark.django_db(transaction=True)


def test_prune_shows_its_progress_when_asked() -> None:
    record_reads([uuid.uuid4()], per_aggregate=3)
    OutboxEvent.objects.update(status="published", published_at=timezone.now() - timedelta(days=9))
    quiet, shown = StringIO(), StringIO()

    call_command("outbox_prune", "--batch-size", "1", stdout=StringIO(), stderr=quiet)
    record_reads([uuid.uuid4()], per_aggregate=3)
    OutboxEvent.objects.update(status="published", published_at=timezone.now() - timedelta(days=9))
    call_command("outbox_prune", "--batch-size", "1", "--progress", stdout=StringIO(), stderr=shown)

    assert quiet.getvalue() == ""
    assert "published events" in shown.getvalue()
    assert "3/3" in shown.getvalue() or "100%" in shown.getvalue()
    assert not OutboxEvent.objects.exists()
