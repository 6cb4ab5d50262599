"""The notification settings page over the notifier's preferences (a fake here), and the
client that talks to the notifier's API."""

from datetime import time

import httpx
import pytest
from django.urls import reverse

from notices_api.web.preferences import (
    NotifierPreferences,
    Preferences,
    PreferencesUnavailableError,
    QuietHours,
)
from notices_api.web.tests.factories import publish_to, signed_in_client

pytestmark = pytest.mark.django_db


def test_settings_show_and_save_email_opt_outs_and_quiet_hours(
    publisher, recipient, fake_preferences
):
    publish_to(publisher, "Boiler", recipient, category="facilities")
    publish_to(publisher, "Party", recipient, category="social")
    fake_preferences.saved[recipient.id] = Preferences(opt_outs={"webhook": ["social"]})
    client = signed_in_client(recipient)

    page = client.get(reverse("web:settings"))
    assert page.status_code == 200
    assert b'value="facilities"' in page.content
    assert b'value="social"' in page.content

    saved = client.post(
        reverse("web:settings"),
        {"email_opt_outs": ["social"], "quiet_start": "22:00", "quiet_end": "07:00"},
    )

    assert saved.status_code == 200
    assert b"Saved." in saved.content
    assert fake_preferences.saved[recipient.id] == Preferences(
        opt_outs={"webhook": ["social"], "email": ["social"]},
        quiet_hours=QuietHours(start=time(22), end=time(7)),
    )


def test_quiet_hours_need_both_ends(recipient, fake_preferences):
    response = signed_in_client(recipient).post(reverse("web:settings"), {"quiet_start": "22:00"})

    assert b"Give both ends of the quiet hours, or neither." in response.content
    assert recipient.id not in fake_preferences.saved


def test_settings_say_so_when_the_notifier_is_down(recipient, fake_preferences):
    fake_preferences.down = True

    response = signed_in_client(recipient).get(reverse("web:settings"))

    assert response.status_code == 503
    assert b"cannot be reached" in response.content


def test_settings_refuse_a_post_without_its_csrf_token(recipient, fake_preferences):
    client = signed_in_client(recipient, enforce_csrf_checks=True)

    assert client.post(reverse("web:settings"), {"quiet_start": ""}).status_code == 403


def test_the_inbox_links_to_the_settings(recipient):
    response = signed_in_client(recipient).get(reverse("web:inbox"))
    assert reverse("web:settings").encode() in response.content


def test_the_client_reads_and_writes_the_notifiers_preferences():
    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.method == "GET":
            quiet = {"start": "22:00:00", "end": "07:00:00"}
            body = {"opt_outs": {"email": ["social"]}, "quiet_hours": quiet}
            return httpx.Response(200, json=body)
        return httpx.Response(200, json={})

    client = NotifierPreferences(
        base_url="http://notifier", token="secret", transport=httpx.MockTransport(answer)
    )
    user_id = "0192e4c0-0000-7000-8000-000000000001"

    got = client.get(user_id)  # type: ignore[arg-type]
    client.put(user_id, got)  # type: ignore[arg-type]

    assert got == Preferences(
        opt_outs={"email": ["social"]}, quiet_hours=QuietHours(start=time(22), end=time(7))
    )
    assert calls[0].url == f"http://notifier/v1/recipients/{user_id}/preferences"
    assert calls[0].headers["Authorization"] == "Bearer secret"
    assert calls[1].method == "PUT"
    assert calls[1].read() == (
        b'{"opt_outs":{"email":["social"]},"quiet_hours":{"start":"22:00:00","end":"07:00:00"}}'
    )


def test_the_client_reports_an_unreachable_notifier():
    client = NotifierPreferences(
        base_url="http://notifier",
        token="secret",
        transport=httpx.MockTransport(lambda request: httpx.Response(401)),
    )
    with pytest.raises(PreferencesUnavailableError):
        client.get("0192e4c0-0000-7000-8000-000000000001")  # type: ignore[arg-type]
