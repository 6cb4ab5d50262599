import pytest

from notices_api.outbox.testing import events_of
from notices_contracts import RECIPIENT_UPDATED_V1

pytestmark = pytest.mark.django_db


def test_admin_list_renders(admin_client, published, group):
    assert admin_client.get("/admin/accounts/user/").status_code == 200


def test_admin_edit_of_a_delivery_field_records_recipient_updated(admin_client, recipient):
    before = len(events_of(RECIPIENT_UPDATED_V1))
    response = admin_client.post(
        f"/admin/accounts/user/{recipient.pk}/change/",
        {
            "username": "bob",
            "email": "bob@new.example.org",
            "display_name": "Bob Reader",
            "timezone": "UTC",
            "locale": "en",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content
    latest = events_of(RECIPIENT_UPDATED_V1)
    assert len(latest) == before + 1
    assert latest[-1].envelope["data"]["email"] == "bob@new.example.org"


def test_the_admins_delete_action_records_a_deletion_for_each_user(admin_client, recipient):
    response = admin_client.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [str(recipient.pk)], "post": "yes"},
    )
    assert response.status_code == 302, response.content
    deletions = [e for e in events_of(RECIPIENT_UPDATED_V1) if e.envelope["data"]["deleted"]]
    assert [e.aggregate_id for e in deletions] == [str(recipient.id)]
