from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from notices_api.accounts.services import user_create, user_set_active

pytestmark = pytest.mark.django_db


def issue_token(username: str) -> str:
    out = StringIO()
    call_command("issue_token", "--username", username, stdout=out)
    return out.getvalue().strip()


def test_prints_a_new_token_of_a_user_without_a_password(client):
    user_create(username="svc", email="svc@example.org")
    first, second = issue_token("svc"), issue_token("svc")
    assert first != second
    for token in (first, second):
        me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
        assert me.json()["username"] == "svc"


def test_refuses_an_unknown_or_inactive_user(recipient):
    with pytest.raises(CommandError, match="no active user"):
        issue_token("nobody")
    user_set_active(user=recipient, is_active=False)
    with pytest.raises(CommandError, match="no active user"):
        issue_token("bob")
