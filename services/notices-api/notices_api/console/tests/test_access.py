"""Who reaches the console, and what a form without its CSRF token gets."""

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from notices_api.accounts.models import User
from notices_api.accounts.services import user_set_active
from notices_api.groups.services import group_members_add
from notices_api.notices.services import notice_draft_create

NOTICE = uuid.uuid4()
GROUP = uuid.uuid4()
GET_PAGES = [
    ("console:notices", {}),
    ("console:notice-create", {}),
    ("console:notice", {"notice_id": NOTICE}),
    ("console:notice-edit", {"notice_id": NOTICE}),
    ("console:receipts", {"notice_id": NOTICE}),
    ("console:receipts-table", {"notice_id": NOTICE}),
    ("console:audience-count", {}),
    ("console:groups", {}),
    ("console:group", {"group_id": GROUP}),
]
POST_ACTIONS = [
    ("console:notice-create", {}),
    ("console:notice-publish", {"notice_id": NOTICE}),
    ("console:notice-archive", {"notice_id": NOTICE}),
    ("console:groups", {}),
    ("console:group-member-remove", {"group_id": GROUP, "user_id": NOTICE}),
]


def _signed_in(user: User, **options: Any) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


@pytest.mark.parametrize(("name", "kwargs"), GET_PAGES + POST_ACTIONS)
def test_a_recipient_is_refused_every_console_url(recipient, name, kwargs):
    client = _signed_in(recipient)
    url = reverse(name, kwargs=kwargs)
    assert client.get(url).status_code in {403, 404, 405}
    assert client.post(url).status_code in {403, 404, 405}


@pytest.mark.parametrize(("name", "kwargs"), GET_PAGES)
def test_a_signed_out_visitor_is_sent_to_sign_in(db, name, kwargs):
    url = reverse(name, kwargs=kwargs)
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_another_publishers_notice_is_not_found(publisher, other_publisher):
    notice = notice_draft_create(author=other_publisher, title="Theirs")
    client = _signed_in(publisher)
    for name in ("console:notice", "console:notice-edit", "console:receipts"):
        assert client.get(reverse(name, kwargs={"notice_id": notice.id})).status_code == 404
    publish = reverse("console:notice-publish", kwargs={"notice_id": notice.id})
    assert client.post(publish).status_code == 404


@pytest.mark.parametrize(("name", "kwargs"), POST_ACTIONS)
def test_a_console_form_posted_without_its_csrf_token_is_refused(publisher, name, kwargs):
    client = _signed_in(publisher, enforce_csrf_checks=True)
    response = client.post(reverse(name, kwargs=kwargs), {"title": "Sneaky", "name": "Sneaky"})
    assert response.status_code == 403


def test_the_audience_count_resolves_groups_and_people_once_each(
    publisher, recipient, group, make_user
):
    dave = make_user("dave")
    gone = make_user("gone")
    group_members_add(group=group, actor=publisher, users=[gone, dave])
    user_set_active(user=gone, is_active=False)
    client = _signed_in(publisher)
    url = reverse("console:audience-count")
    response = client.get(url, {"groups": [group.id], "users": [recipient.id, dave.id]})
    assert response.status_code == 200
    assert b'<strong class="audience-number">2</strong> people' in response.content
    assert b">0</strong> people" in client.get(url).content


def test_another_publishers_group_cannot_be_changed(other_publisher, group, recipient):
    client = _signed_in(other_publisher)
    page = reverse("console:group", kwargs={"group_id": group.id})
    assert client.get(page).status_code == 200
    assert client.post(page, {"rename": "1", "name": "Mine now"}).status_code == 403
    assert client.post(page, {"add": "1", "users": [other_publisher.id]}).status_code == 403
    remove = reverse(
        "console:group-member-remove", kwargs={"group_id": group.id, "user_id": recipient.id}
    )
    assert client.post(remove).status_code == 403
    group.refresh_from_db()
    assert (group.name, list(group.members.all())) == ("Readers", [recipient])
