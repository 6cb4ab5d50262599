import pytest
from conftest import PASSWORD, MakeUser
from django.test import Client
from django.urls import reverse

from notices_api.accounts.models import User
from notices_api.notices.models import Notice
from notices_api.outbox.models import OutboxEvent
from notices_contracts import NOTICE_READ_V1

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_inbox_asks_for_sign_in_and_comes_back() -> None:
    response = Client().get(reverse("web:inbox"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('web:login')}?next={reverse('web:inbox')}"


def test_sign_in_with_next_lands_on_the_notice(recipient: User, published: Notice) -> None:
    target = reverse("web:notice", kwargs={"notice_id": published.id})
    response = Client().post(
        reverse("web:login"), {"username": "bob", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == target


def test_the_inbox_lists_unread_first(recipient: User, published: Notice) -> None:
    response = signed_in(recipient).get(reverse("web:inbox"))
    assert response.status_code == 200
    assert published.title in response.content.decode()
    assert response.context["unread_count"] == 1


def test_opening_a_notice_records_one_read(recipient: User, published: Notice) -> None:
    client = signed_in(recipient)
    url = reverse("web:notice", kwargs={"notice_id": published.id})
    assert client.get(url).status_code == 200
    assert client.get(url).context["unread_count"] == 0
    assert OutboxEvent.objects.filter(event_type=NOTICE_READ_V1.type).count() == 1


def test_a_notice_not_for_the_user_is_an_html_404(outsider: User, published: Notice) -> None:
    response = signed_in(outsider).get(reverse("web:notice", kwargs={"notice_id": published.id}))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_form_without_its_csrf_token_is_refused(make_user: MakeUser) -> None:
    make_user("dora")
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("web:login"), {"username": "dora", "password": PASSWORD})
    assert response.status_code == 403


def test_the_stream_sends_the_unread_count(recipient: User, published: Notice) -> None:
    response = signed_in(recipient).get(reverse("web:unread_stream"), HTTP_LAST_EVENT_ID="1")
    assert response["Content-Type"] == "text/event-stream"
    first = next(iter(response.streaming_content))  # type: ignore[attr-defined]
    assert first.startswith(b"retry:")
