"""The recipient's pages through Django's test client: listing, reading, access, CSRF."""

from datetime import timedelta

import pytest
from conftest import PASSWORD
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notices_api.notices.services import notice_draft_create, notice_mark_read, notice_url
from notices_api.outbox.models import OutboxEvent
from notices_api.web import views
from notices_api.web.tests.factories import publish_to, signed_in_client
from notices_contracts import NOTICE_READ_V1

pytestmark = pytest.mark.django_db


def _titles(response) -> list[str]:
    return [notice.title for notice in response.context["page"].object_list]


def test_inbox_lists_unread_first_then_read_newest_first(publisher, recipient):
    first = publish_to(publisher, "First", recipient)
    publish_to(publisher, "Second", recipient)
    publish_to(publisher, "Third", recipient)
    notice_mark_read(notice=first, user=recipient)

    response = signed_in_client(recipient).get(reverse("web:inbox"))

    assert response.status_code == 200
    assert _titles(response) == ["Third", "Second", "First"]
    first_read = publish_to(publisher, "Fourth", recipient)
    notice_mark_read(notice=first_read, user=recipient)
    response = signed_in_client(recipient).get(reverse("web:inbox"))
    assert _titles(response) == ["Third", "Second", "Fourth", "First"]
    assert b'<span class="badge" data-unread-badge' in response.content


def test_inbox_filters_by_category_and_search_and_keeps_them_across_pages(
    publisher, recipient, monkeypatch
):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for number in range(3):
        publish_to(publisher, f"Boiler {number}", recipient, category="facilities")
    publish_to(publisher, "Boiler party", recipient, category="social")
    publish_to(publisher, "Lunch", recipient, category="facilities")
    client = signed_in_client(recipient)

    response = client.get(reverse("web:inbox"), {"category": "facilities", "q": "boiler"})

    assert response.context["categories"] == ["facilities", "social"]
    assert _titles(response) == ["Boiler 2", "Boiler 1"]
    assert b"q=boiler&amp;category=facilities&amp;page=2" in response.content
    response = client.get(
        reverse("web:inbox"), {"category": "facilities", "q": "boiler", "page": "2"}
    )
    assert _titles(response) == ["Boiler 0"]


def test_inbox_shows_only_what_the_api_would(publisher, recipient, outsider):
    publish_to(publisher, "For bob", recipient)
    publish_to(publisher, "For eve", outsider)
    publish_to(
        publisher,
        "Not yet",
        recipient,
        visible_from=timezone.now() + timedelta(days=1),
    )
    notice_draft_create(author=publisher, title="A draft", audience_users=[recipient])

    assert _titles(signed_in_client(recipient).get(reverse("web:inbox"))) == ["For bob"]


def test_opening_a_notice_records_the_read_once(publisher, recipient):
    notice = publish_to(publisher, "Heating", recipient, body="Off on Monday.")
    client = signed_in_client(recipient)
    url = reverse("web:notice", kwargs={"notice_id": notice.id})

    first = client.get(url)
    again = client.get(url)

    assert first.status_code == again.status_code == 200
    assert b"Off on Monday." in first.content
    assert b"Read " in first.content
    assert OutboxEvent.objects.filter(event_type=NOTICE_READ_V1.type).count() == 1


def test_another_users_notice_is_an_html_404(publisher, recipient, outsider):
    notice = publish_to(publisher, "For bob only", recipient)

    url = reverse("web:notice", kwargs={"notice_id": notice.id})
    response = signed_in_client(outsider).get(url)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"For bob only" not in response.content
    assert not OutboxEvent.objects.filter(event_type=NOTICE_READ_V1.type).exists()


def test_signed_out_visitors_sign_in_and_come_back(publisher, recipient):
    notice = publish_to(publisher, "Heating", recipient)
    url = reverse("web:notice", kwargs={"notice_id": notice.id})
    client = Client()

    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('web:login')}?next={url}"

    response = client.post(
        response["Location"], {"username": "bob", "password": PASSWORD, "next": url}
    )
    assert response.status_code == 302
    assert response["Location"] == url
    assert client.get(url).status_code == 200


def test_the_events_link_is_the_web_notice_page(publisher, recipient, settings):
    notice = publish_to(publisher, "Heating", recipient)
    path = reverse("web:notice", kwargs={"notice_id": notice.id})
    assert notice_url(notice) == f"{settings.PUBLIC_BASE_URL}{path}"
    assert path == f"/notices/{notice.id}/"


@pytest.mark.parametrize("name", ["web:login", "web:logout"])
def test_a_form_posted_without_its_csrf_token_is_refused(recipient, name):
    client = signed_in_client(recipient, enforce_csrf_checks=True)

    response = client.post(reverse(name), {"username": "bob", "password": PASSWORD})

    assert response.status_code == 403


def test_the_unread_stream_sends_the_count_and_a_retry_then_ends(publisher, recipient, monkeypatch):
    monkeypatch.setattr(views, "STREAM_SECONDS", 0.0)
    publish_to(publisher, "One", recipient)
    publish_to(publisher, "Two", recipient)

    response = signed_in_client(recipient).get(reverse("web:unread-events"))

    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert body == f"retry: {views.RETRY_MS}\n\nevent: unread\ndata: 2\n\n"


def test_the_unread_stream_tells_a_signed_out_browser_to_stop(db):
    assert Client().get(reverse("web:unread-events")).status_code == 204
