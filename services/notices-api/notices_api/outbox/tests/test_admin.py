"""The outbox in Django admin: listed, filterable, and parked events replayable."""

import uuid

import pytest
from django.test import Client

from notices_api.accounts.models import User
from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.tests.conftest import record_archived

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client() -> Client:
    user = User.objects.create_superuser(username="ops", email="ops@example.com", password="pw")
    # Creating a user records its recipient.updated; these tests look at their own events only.
    OutboxEvent.objects.all().delete()
    client = Client()
    client.force_login(user)
    return client


def test_the_outbox_is_listed_and_filterable_by_status(staff_client: Client) -> None:
    record_archived(uuid.uuid4())
    record_archived(uuid.uuid4())
    parked = OutboxEvent.objects.order_by("position").first()
    assert parked is not None
    OutboxEvent.objects.filter(id=parked.id).update(status=OutboxEvent.Status.FAILED)

    response = staff_client.get("/admin/outbox/outboxevent/", {"status__exact": "failed"})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_the_replay_action_puts_parked_events_back(staff_client: Client) -> None:
    record_archived(uuid.uuid4())
    OutboxEvent.objects.update(status=OutboxEvent.Status.FAILED, attempts=10, last_error="x")
    event = OutboxEvent.objects.get()

    response = staff_client.post(
        "/admin/outbox/outboxevent/",
        {"action": "replay", "_selected_action": [str(event.id)]},
        follow=True,
    )

    assert response.status_code == 200
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == ("pending", 0, "")
    assert "Replayed 1 parked event(s)." in response.content.decode()
