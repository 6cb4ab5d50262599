import pytest
from conftest import PASSWORD

from notices_api.outbox.testing import events_of
from notices_contracts import RECIPIENT_UPDATED_V1

pytestmark = pytest.mark.django_db


def test_token_for_username_and_password(client, recipient, client_for):
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "bob", "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.json()["username"] == "bob"


def test_wrong_password_is_a_problem(client, recipient):
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "bob", "password": "nope"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.has_header("WWW-Authenticate")


def test_session_auth_works_for_the_browsable_api(client, recipient):
    client.force_login(recipient)
    assert client.get("/api/v1/me/").json()["username"] == "bob"


def test_me_read_and_update(client_for, recipient):
    api = client_for(recipient)
    assert api.get("/api/v1/me/").json() == {
        "id": str(recipient.id),
        "username": "bob",
        "email": "bob@example.org",
        "display_name": "Bob Reader",
        "timezone": "UTC",
        "locale": "en",
        "is_publisher": False,
    }
    response = api.patch(
        "/api/v1/me/", {"timezone": "Asia/Tokyo", "display_name": "Bob"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["timezone"] == "Asia/Tokyo"
    assert events_of(RECIPIENT_UPDATED_V1)[-1].envelope["data"]["display_name"] == "Bob"


def test_me_rejects_an_unknown_time_zone(client_for, recipient):
    response = client_for(recipient).patch("/api/v1/me/", {"timezone": "Nowhere"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/timezone"


def test_users_list_is_for_publishers(client_for, publisher, recipient, make_user):
    make_user("zed")
    assert client_for(recipient).get("/api/v1/users/").status_code == 403
    response = client_for(publisher).get("/api/v1/users/", {"search": "bo"})
    assert response.status_code == 200
    assert [u["username"] for u in response.json()["results"]] == ["bob"]
    everyone = client_for(publisher).get("/api/v1/users/").json()["results"]
    assert [u["username"] for u in everyone] == ["alice", "bob", "zed"]
