"""The console's pages through Django's test client: edit, publish refusals, archive."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from notices_api.notices.models import Notice
from notices_api.notices.services import notice_draft_create, notice_publish


@pytest.fixture
def client_of(publisher):
    client = Client()
    client.force_login(publisher)
    return client


def test_editing_a_draft_goes_through_the_service_and_keeps_the_audience(
    client_of, publisher, recipient, group
):
    notice = notice_draft_create(author=publisher, title="Old", audience_groups=[group])
    url = reverse("console:notice-edit", kwargs={"notice_id": notice.id})
    assert b'value="Old"' in client_of.get(url).content

    response = client_of.post(
        url,
        {"title": "New", "category": "safety", "remind_after_minutes": "90", "groups": [group.id]},
    )

    assert response.status_code == 302
    notice.refresh_from_db()
    assert (notice.title, notice.category, notice.version) == ("New", "safety", 2)
    assert notice.remind_after == timedelta(minutes=90)
    assert list(notice.audience_groups.all()) == [group]


def test_a_reminder_delay_out_of_bounds_is_an_error_next_to_its_field(client_of):
    response = client_of.post(
        reverse("console:notice-create"),
        {"title": "T", "category": "general", "remind_after_minutes": "0"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["remind_after_minutes"]
    assert not Notice.objects.exists()


def test_publishing_without_an_audience_is_refused_with_the_reason(client_of, publisher):
    notice = notice_draft_create(author=publisher, title="Nobody")
    response = client_of.post(
        reverse("console:notice-publish", kwargs={"notice_id": notice.id}), follow=True
    )
    assert b"at least one active recipient" in response.content
    notice.refresh_from_db()
    assert notice.status == Notice.Status.DRAFT


def test_a_published_notice_is_archived_and_no_longer_editable(client_of, publisher, group):
    notice = notice_draft_create(author=publisher, title="Live", audience_groups=[group])
    notice_publish(notice=notice, actor=publisher)

    client_of.post(reverse("console:notice-archive", kwargs={"notice_id": notice.id}))
    notice.refresh_from_db()
    assert notice.status == Notice.Status.ARCHIVED

    edit = client_of.get(reverse("console:notice-edit", kwargs={"notice_id": notice.id}))
    assert edit.status_code == 302


def test_a_group_name_taken_already_is_an_error_next_to_the_name(client_of, group):
    response = client_of.post(reverse("console:groups"), {"name": group.name})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]


def test_a_draft_has_no_receipts_page_yet(client_of, publisher):
    notice = notice_draft_create(author=publisher, title="Draft")
    response = client_of.get(reverse("console:receipts", kwargs={"notice_id": notice.id}))
    assert response.status_code == 302
