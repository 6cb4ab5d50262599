"""recipient.updated: on user creation and on every change the notifier cares about."""

import pytest
from django.core.exceptions import ValidationError

from notices_api.accounts.models import User
from notices_api.accounts.services import (
    ProfileChanges,
    user_create,
    user_profile_update,
    user_set_active,
)
from notices_api.outbox.testing import assert_valid_message, events_of
from notices_contracts import RECIPIENT_UPDATED_V1

pytestmark = pytest.mark.django_db


def test_creating_a_user_records_recipient_updated():
    user = user_create(username="dora", email="dora@example.org", display_name="Dora")

    [event] = events_of(RECIPIENT_UPDATED_V1)
    assert_valid_message(event, RECIPIENT_UPDATED_V1)
    assert event.aggregate_id == str(user.id)
    assert event.envelope["data"] == {
        "user_id": str(user.id),
        "email": "dora@example.org",
        "display_name": "Dora",
        "timezone": "UTC",
        "locale": "en",
        "is_active": True,
        "version": 1,
        "deleted": False,
    }
    assert not user.has_usable_password()
    assert not user.is_publisher


def test_users_made_by_createsuperuser_or_scripts_are_announced_too():
    admin = User.objects.create_superuser("root", "root@example.org", "pw-123456789")
    plain = User.objects.create_user("script", "script@example.org")

    announced = {event.aggregate_id for event in events_of(RECIPIENT_UPDATED_V1)}
    assert announced == {str(admin.id), str(plain.id)}


def test_a_publisher_holds_the_permission_not_staff():
    user = user_create(username="pub", email="pub@example.org", is_publisher=True)
    fresh = User.objects.get(pk=user.pk)
    assert fresh.is_publisher
    assert not fresh.is_staff


def test_profile_changes_record_an_event_and_no_change_records_none(recipient):
    user_profile_update(
        user=recipient, changes=ProfileChanges(timezone="Europe/Berlin", locale="de-CH")
    )
    user_profile_update(user=recipient, changes=ProfileChanges(timezone="Europe/Berlin"))
    user_set_active(user=recipient, is_active=False)

    events = [e for e in events_of(RECIPIENT_UPDATED_V1) if e.aggregate_id == str(recipient.id)]
    assert [(e.envelope["data"]["timezone"], e.envelope["data"]["is_active"]) for e in events] == [
        ("UTC", True),
        ("Europe/Berlin", True),
        ("Europe/Berlin", False),
    ]
    assert [e.envelope["data"]["version"] for e in events] == [1, 2, 3]
    for event in events:
        assert_valid_message(event, RECIPIENT_UPDATED_V1)


def test_invalid_profile_values_are_rejected(recipient):
    with pytest.raises(ValidationError) as raised:
        user_profile_update(
            user=recipient, changes=ProfileChanges(timezone="Mars/Olympus", locale="!!")
        )
    assert set(raised.value.message_dict) == {"timezone", "locale"}
    assert len(events_of(RECIPIENT_UPDATED_V1)) == 1


def test_usernames_are_unique(recipient):
    with pytest.raises(ValidationError):
        user_create(username=recipient.username, email="other@example.org")


def _deletions() -> dict[str, dict[str, object]]:
    return {
        event.aggregate_id: event.envelope["data"]
        for event in events_of(RECIPIENT_UPDATED_V1)
        if event.envelope["data"]["deleted"]
    }


def test_deleting_a_user_records_a_deletion_after_its_last_version(recipient):
    user_set_active(user=recipient, is_active=False)
    recipient.delete()

    [event] = [e for e in events_of(RECIPIENT_UPDATED_V1) if e.envelope["data"]["deleted"]]
    assert_valid_message(event, RECIPIENT_UPDATED_V1)
    assert event.envelope["data"] | {"user_id": None} == {
        "user_id": None,
        "email": None,
        "display_name": "",
        "timezone": "UTC",
        "locale": "en",
        "is_active": False,
        "version": 3,
        "deleted": True,
    }


def test_a_bulk_delete_records_a_deletion_for_each_user(recipient, outsider):
    User.objects.filter(pk__in=[recipient.pk, outsider.pk]).delete()

    assert set(_deletions()) == {str(recipient.id), str(outsider.id)}
