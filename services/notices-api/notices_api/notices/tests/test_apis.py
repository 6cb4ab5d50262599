"""The notices HTTP API: the whole job of publishers and recipients, and who may do what."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notices_api.notices.models import Notice
from notices_api.notices.services import notice_draft_create, notice_mark_read, notice_publish
from notices_api.outbox.testing import events_of
from notices_contracts import NOTICE_PUBLISHED_V1, NOTICE_READ_V1

pytestmark = pytest.mark.django_db

NOTICES = "/api/v1/notices/"


def detail(notice_id) -> str:
    return f"{NOTICES}{notice_id}/"


def test_publisher_drafts_publishes_and_the_recipient_reads(
    client_for, publisher, recipient, group
):
    author, reader = client_for(publisher), client_for(recipient)
    created = author.post(
        NOTICES,
        {
            "title": "Office closed",
            "body": "The office is closed on Friday.",
            "category": "facilities",
            "remind_after_seconds": 3600,
            "recipient_group_ids": [str(group.id)],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    notice = created.json()
    assert notice["status"] == "draft"
    assert notice["audience"] == {"user_ids": [], "group_ids": [str(group.id)]}
    assert reader.get(detail(notice["id"])).status_code == 404

    published = author.post(f"{detail(notice['id'])}publish/")
    assert published.status_code == 200
    assert published.json()["status"] == "published"

    listing = reader.get(NOTICES).json()
    assert [(n["id"], n["is_read"]) for n in listing["results"]] == [(notice["id"], False)]
    seen = reader.get(detail(notice["id"])).json()
    assert seen["audience"] is None
    assert seen["remind_after_seconds"] == 3600
    assert reader.get(f"{NOTICES}unread-count/").json() == {"unread": 1}

    first = reader.post(f"{detail(notice['id'])}read/")
    again = reader.post(f"{detail(notice['id'])}read/")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert len(events_of(NOTICE_READ_V1)) == 1
    assert reader.get(f"{NOTICES}unread-count/").json() == {"unread": 0}
    assert reader.get(NOTICES).json()["results"][0]["is_read"] is True

    receipts = author.get(f"{detail(notice['id'])}receipts/").json()
    assert receipts["recipient_count"] == 1
    assert receipts["read_count"] == 1
    assert receipts["read"][0]["user"]["username"] == "bob"
    assert receipts["unread"] == []

    archived = author.post(f"{detail(notice['id'])}archive/")
    assert archived.json()["status"] == "archived"
    assert reader.get(NOTICES).json()["results"] == []
    assert reader.get(detail(notice["id"])).status_code == 404


def test_non_recipient_gets_404_and_cannot_mark_read(client_for, published, outsider):
    api = client_for(outsider)
    assert api.get(detail(published.id)).status_code == 404
    response = api.post(f"{detail(published.id)}read/")
    assert response.status_code == 404
    # Same answer as for an id that does not exist: nothing leaks.
    unknown = api.get(detail("00000000-0000-7000-8000-000000000000"))
    assert response.json()["detail"] == unknown.json()["detail"]
    assert not events_of(NOTICE_READ_V1)


def test_recipient_cannot_write(client_for, recipient, published, draft):
    api = client_for(recipient)
    assert api.post(NOTICES, {"title": "Mine"}, format="json").status_code == 403
    assert api.post(f"{detail(published.id)}publish/").status_code == 403
    assert api.post(f"{detail(published.id)}archive/").status_code == 403
    assert api.patch(detail(published.id), {"title": "x"}, format="json").status_code == 403
    assert api.get(f"{detail(published.id)}receipts/").status_code == 403


def test_recipient_cannot_publish_a_draft(client_for, recipient, draft):
    response = client_for(recipient).post(f"{detail(draft.id)}publish/")
    assert response.status_code == 403
    assert not events_of(NOTICE_PUBLISHED_V1)


def test_publisher_cannot_edit_another_publishers_notice(
    client_for, other_publisher, draft, publisher
):
    api = client_for(other_publisher)
    assert api.patch(detail(draft.id), {"title": "Hijacked"}, format="json").status_code == 404
    # Not found before anything about the input, as for an id that does not exist.
    assert api.patch(detail(draft.id), {"title": ""}, format="json").status_code == 404
    assert api.patch(detail(draft.id), "{", content_type="application/json").status_code == 404
    assert api.post(f"{detail(draft.id)}publish/").status_code == 404
    assert api.delete(detail(draft.id)).status_code == 404
    # Even as a recipient of it, another publisher only reads it.
    draft.audience_users.add(other_publisher)
    notice_publish(notice=draft, actor=publisher)
    response = api.post(f"{detail(draft.id)}archive/")
    assert response.status_code == 403
    assert response.json()["type"] == "urn:notices:problem:forbidden"
    assert api.patch(detail(draft.id), {"title": "x"}, format="json").status_code == 403
    assert api.patch(detail(draft.id), {"title": ""}, format="json").status_code == 400
    draft.refresh_from_db()
    assert draft.title == "Heating maintenance"


def test_draft_update_and_delete(client_for, publisher, draft):
    api = client_for(publisher)
    response = api.patch(
        detail(draft.id), {"title": "Heating back on", "urgent": True}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["urgent"]) == ("Heating back on", True)
    assert response.json()["version"] == 2
    assert api.delete(detail(draft.id)).status_code == 204
    assert api.get(detail(draft.id)).status_code == 404


def test_published_notice_cannot_be_edited_or_deleted(client_for, publisher, published):
    api = client_for(publisher)
    edit = api.patch(detail(published.id), {"title": "Late change"}, format="json")
    assert edit.status_code == 409
    assert edit.json()["type"] == "urn:notices:problem:state-conflict"
    delete = api.delete(detail(published.id))
    assert delete.status_code == 409
    assert "archive" in delete.json()["detail"]


def test_invalid_draft_input_gives_field_errors(client_for, publisher):
    now = timezone.now()
    response = client_for(publisher).post(
        NOTICES,
        {
            "title": "",
            "remind_after_seconds": 5,
            "recipient_user_ids": ["not-a-uuid"],
        },
        format="json",
    )
    assert response.status_code == 400
    pointers = {error["pointer"] for error in response.json()["errors"]}
    assert pointers == {"#/title", "#/remind_after_seconds", "#/recipient_user_ids/0"}

    window = client_for(publisher).post(
        NOTICES,
        {
            "title": "Backwards",
            "visible_from": now.isoformat(),
            "visible_until": (now - timedelta(days=1)).isoformat(),
        },
        format="json",
    )
    assert window.status_code == 400
    assert window.json()["errors"][0]["pointer"] == "#/visible_until"

    unknown = client_for(publisher).post(
        NOTICES,
        {"title": "To ghosts", "recipient_user_ids": ["00000000-0000-7000-8000-000000000000"]},
        format="json",
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["pointer"] == "#/recipient_user_ids"


def test_publishing_without_recipients_is_a_conflict(client_for, publisher):
    api = client_for(publisher)
    notice = api.post(NOTICES, {"title": "Nobody"}, format="json").json()
    response = api.post(f"{detail(notice['id'])}publish/")
    assert response.status_code == 409
    assert "recipient" in response.json()["detail"]


def test_list_filters(client_for, publisher, recipient):
    def publish(title: str, category: str) -> str:
        notice = notice_draft_create(
            author=publisher, title=title, category=category, audience_users=[recipient]
        )
        return str(notice_publish(notice=notice, actor=publisher).id)

    lunch, fire, menu = (
        publish("Lunch", "food"),
        publish("Fire drill", "safety"),
        publish("New menu", "food"),
    )
    notice_mark_read(notice=Notice.objects.get(pk=menu), user=recipient)
    api = client_for(recipient)

    def ids(**params) -> list[str]:
        response = api.get(NOTICES, params)
        assert response.status_code == 200, response.json()
        return [n["id"] for n in response.json()["results"]]

    assert ids() == [menu, fire, lunch]
    assert ids(category="food") == [menu, lunch]
    assert ids(unread="true") == [fire, lunch]
    assert ids(search="drill") == [fire]
    assert ids(unread="true", category="food") == [lunch]
    assert ids(unread="false") == [menu, fire, lunch]


@pytest.mark.parametrize("flag", ["unread", "authored"])
@pytest.mark.parametrize("value", ["maybe", "", "1", "yes", "True"])
def test_a_boolean_filter_takes_only_the_documented_spellings(client_for, recipient, flag, value):
    bad = client_for(recipient).get(NOTICES, {flag: value})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["parameter"] == flag


def test_authored_lists_own_notices_in_every_status(client_for, publisher, draft, other_publisher):
    notice_draft_create(author=other_publisher, title="Not mine")
    api = client_for(publisher)
    assert api.get(NOTICES).json()["results"] == []
    authored = api.get(NOTICES, {"authored": "true"}).json()["results"]
    assert [(n["id"], n["status"]) for n in authored] == [(str(draft.id), "draft")]


def test_cursor_pagination_walks_every_notice_once(client_for, publisher, recipient):
    for index in range(5):
        notice = notice_draft_create(
            author=publisher, title=f"Notice {index}", audience_users=[recipient]
        )
        notice_publish(notice=notice, actor=publisher)
    api = client_for(recipient)
    seen, url = [], f"{NOTICES}?page_size=2"
    while url:
        page = api.get(url).json()
        seen += [n["title"] for n in page["results"]]
        url = page["next"]
    assert seen == [f"Notice {index}" for index in reversed(range(5))]


def test_listing_costs_the_same_queries_for_any_page_size(client_for, publisher, recipient):
    for index in range(25):
        notice = notice_draft_create(
            author=publisher, title=f"Notice {index}", audience_users=[recipient]
        )
        notice_publish(notice=notice, actor=publisher)
        if index % 2:
            notice_mark_read(notice=notice, user=recipient)
    api = client_for(recipient)

    def queries_for(page_size: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = api.get(NOTICES, {"page_size": page_size})
        assert len(response.json()["results"]) == page_size
        return len(queries)

    assert queries_for(1) == queries_for(20)


@pytest.mark.parametrize("page_size", [1, 20])
def test_listing_takes_two_queries(
    client_for, publisher, recipient, page_size, django_assert_num_queries
):
    for index in range(20):
        notice = notice_draft_create(
            author=publisher, title=f"Notice {index}", audience_users=[recipient]
        )
        notice_publish(notice=notice, actor=publisher)
    api = client_for(recipient)
    # One for the token and its user, one for the page with authors and read state.
    with django_assert_num_queries(2):
        api.get(NOTICES, {"page_size": page_size})


def test_receipts_are_for_the_author_only(client_for, published, other_publisher, recipient):
    assert client_for(other_publisher).get(f"{detail(published.id)}receipts/").status_code == 404
    receipts = client_for(published.author).get(f"{detail(published.id)}receipts/").json()
    assert receipts["read"] == []
    assert [u["username"] for u in receipts["unread"]] == ["bob"]


def test_archiving_answers_with_the_authors_own_read_state(client_for, publisher, recipient):
    draft = notice_draft_create(author=publisher, title="Mine too", audience_users=[publisher])
    published = client_for(publisher).post(f"{detail(draft.id)}publish/").json()
    assert published["is_read"] is False
    notice_mark_read(notice=draft, user=publisher)
    archived = client_for(publisher).post(f"{detail(draft.id)}archive/").json()
    assert (archived["status"], archived["is_read"]) == ("archived", True)
