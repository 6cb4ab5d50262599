"""Each read costs the same number of queries whatever the page holds; a publish and an
edit read their notice once."""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notices_api.groups.services import group_create, group_members_add
from notices_api.notices.models import Notice
from notices_api.notices.services import notice_draft_create, notice_mark_read, notice_publish

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _grown(make_user, publisher, recipient, *, notices: int, readers: int):
    """``notices`` published to ``recipient`` and ``readers`` more users, half of them read."""
    users = [make_user() for _ in range(readers)]
    group = group_create(name=f"group {make_user().username}", owner=publisher)
    group_members_add(group=group, actor=publisher, users=[recipient, *users])
    last = None
    for i in range(notices):
        draft = notice_draft_create(
            author=publisher, title=f"n{i}", audience_users=[recipient, *users]
        )
        last = notice_publish(notice=draft, actor=publisher)
        for user in [recipient, *users][::2]:
            notice_mark_read(notice=last, user=user)
    return last, group


def _notice_reads(captured: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith("SELECT") and 'FROM "notices_notice"' in query["sql"]
    ]


def _list(query: str = "") -> Callable[..., str]:
    return lambda notice, group: reverse("notices:list") + query


@pytest.mark.parametrize(
    ("caller", "url_of"),
    [
        pytest.param("recipient", _list(), id="list"),
        pytest.param("recipient", _list("?unread=true"), id="unread-list"),
        pytest.param("recipient", _list("?category=general"), id="category-list"),
        pytest.param("recipient", _list("?search=n1"), id="search"),
        pytest.param("publisher", _list("?authored=true"), id="authored"),
        pytest.param(
            "recipient",
            lambda n, g: reverse("notices:detail", kwargs={"notice_id": n.id}),
            id="detail",
        ),
        pytest.param(
            "publisher",
            lambda n, g: reverse("notices:detail", kwargs={"notice_id": n.id}),
            id="detail-by-author",
        ),
        pytest.param(
            "publisher",
            lambda n, g: reverse("notices:receipts", kwargs={"notice_id": n.id}),
            id="receipts",
        ),
        pytest.param("publisher", lambda n, g: reverse("groups:list"), id="groups"),
        pytest.param(
            "publisher",
            lambda n, g: reverse("groups:members", kwargs={"group_id": g.id}),
            id="members",
        ),
    ],
)
def test_query_count_does_not_grow_with_the_data(
    caller: str,
    url_of: Callable[..., str],
    make_user,
    publisher,
    recipient,
    client_for,
    django_assert_num_queries,
):
    client = client_for({"recipient": recipient, "publisher": publisher}[caller])
    small = _grown(make_user, publisher, recipient, notices=1, readers=1)
    expected = _queries(client, url_of(*small))
    grown = _grown(make_user, publisher, recipient, notices=6, readers=5)
    with django_assert_num_queries(expected):
        assert client.get(url_of(*grown)).status_code == 200


def _api_publish(client_for, publisher, draft) -> None:
    url = reverse("notices:publish", kwargs={"notice_id": draft.id})
    response = client_for(publisher).post(url)
    assert response.status_code == 200
    assert response.json()["status"] == "published"


def _console_publish(client_for, publisher, draft) -> None:
    console = Client()
    console.force_login(publisher)
    url = reverse("console:notice-publish", kwargs={"notice_id": draft.id})
    assert console.post(url).status_code == 302


@pytest.mark.parametrize("publish", [_api_publish, _console_publish], ids=["api", "console"])
def test_publishing_reads_the_notice_once_and_checks_its_status_once(
    publish, client_for, publisher, draft, monkeypatch
):
    checked = []
    ensure_status = Notice.ensure_status

    def counted(notice: Notice, expected: Notice.Status, *, action: str) -> None:
        checked.append(expected)
        ensure_status(notice, expected, action=action)

    monkeypatch.setattr(Notice, "ensure_status", counted)
    with CaptureQueriesContext(connection) as captured:
        publish(client_for, publisher, draft)
    notice_reads = _notice_reads(captured)
    assert len(notice_reads) == 1, notice_reads
    assert checked == [Notice.Status.DRAFT]
    draft.refresh_from_db()
    assert draft.status == Notice.Status.PUBLISHED


@pytest.mark.parametrize("read", [False, True], ids=["unread", "read"])
def test_a_recipient_reads_a_notice_and_its_read_state_in_one_query(
    read: bool, client_for, recipient, published
):
    """The token, then the reader's own recipient row (it says both that they may see the
    notice and whether they have read it) with the notice and its author joined."""
    if read:
        notice_mark_read(notice=published, user=recipient)
    client = client_for(recipient)
    url = reverse("notices:detail", kwargs={"notice_id": published.id})
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    assert response.json()["is_read"] is read
    assert len(captured) == 2, [query["sql"] for query in captured.captured_queries]
    notice_read = captured.captured_queries[1]["sql"]
    assert 'FROM "notices_noticerecipient" INNER JOIN "notices_notice"' in notice_read
    assert notice_read.count("JOIN") == 2, notice_read  # the notice and its author


def test_an_author_reads_their_notice_in_one_query_more_than_a_reader(
    client_for, publisher, published
):
    """The author is not in the audience: the inbox row finds nothing, then their own
    notices answer, with their read state."""
    client = client_for(publisher)
    url = reverse("notices:detail", kwargs={"notice_id": published.id})
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    assert response.json()["is_read"] is False
    # the token, the inbox row, the notice; its audience (the author's view) two more
    assert len(captured) == 5, [query["sql"] for query in captured.captured_queries]


def test_editing_a_draft_reads_the_notice_once(client_for, publisher, draft):
    client = client_for(publisher)
    url = reverse("notices:detail", kwargs={"notice_id": draft.id})
    with CaptureQueriesContext(connection) as captured:
        response = client.patch(url, {"title": "Heating off"}, format="json")
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["version"]) == ("Heating off", 2)
    notice_reads = _notice_reads(captured)
    assert len(notice_reads) == 1, notice_reads
