from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from notices_api.accounts.models import User
from notices_api.outbox.models import OutboxEvent
from notices_contracts import RECIPIENT_UPDATED_V1

pytestmark = pytest.mark.django_db


def resynced_user_ids(*, after: int) -> list[str]:
    events = OutboxEvent.objects.filter(event_type=RECIPIENT_UPDATED_V1.type, position__gt=after)
    return list(events.order_by("position").values_list("aggregate_id", flat=True))


def last_position() -> int:
    return OutboxEvent.objects.order_by("-position").values_list("position", flat=True).first() or 0


def test_records_the_current_snapshot_of_every_user_in_batches(make_user):
    users = [make_user(f"user{i}", email=f"user{i}@example.org") for i in range(5)]
    User.objects.filter(pk=users[0].pk).update(email="changed@example.org")  # no event
    before = last_position()
    out = StringIO()

    call_command("recipients_resync", "--batch-size", "2", stdout=out)

    assert resynced_user_ids(after=before) == sorted(str(user.id) for user in users)
    first = OutboxEvent.objects.get(position__gt=before, aggregate_id=str(users[0].id))
    assert first.envelope["data"]["email"] == "changed@example.org"
    assert out.getvalue().strip() == "recorded recipient.updated for 5 user(s)"


def test_since_takes_only_the_users_changed_since_then(make_user):
    make_user("old")
    cutoff = timezone.now()
    OutboxEvent.objects.update(created_at=cutoff - timedelta(days=1))
    recent = make_user("recent")
    before = last_position()

    call_command("recipients_resync", "--since", cutoff.isoformat(), stdout=StringIO())

    assert resynced_user_ids(after=before) == [str(recent.id)]


def test_since_needs_an_offset():
    with pytest.raises(CommandError, match="--since"):
        call_command("recipients_resync", "--since", "2026-01-31T00:00:00")


def test_progress_bar_only_when_asked_off_a_terminal(make_user):
    make_user("someone")
    quiet, shown = StringIO(), StringIO()

    call_command("recipients_resync", stdout=StringIO(), stderr=quiet)
    call_command("recipients_resync", "--progress", stdout=StringIO(), stderr=shown)

    assert quiet.getvalue() == ""
    assert "recipients" in shown.getvalue()
    assert "100%" in shown.getvalue()


def test_the_events_of_one_run_share_a_trace_and_a_correlation_id(make_user):
    for i in range(3):
        make_user(f"traced{i}")
    before = last_position()

    call_command("recipients_resync", stdout=StringIO())

    headers = OutboxEvent.objects.filter(position__gt=before).values_list("headers", flat=True)
    assert len(headers) == 3
    assert len({(h["correlation_id"], h["traceparent"]) for h in headers}) == 1
    assert all(h["correlation_id"] for h in headers)
