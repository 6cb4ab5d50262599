from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from notices_api.accounts.models import User

pytestmark = pytest.mark.django_db


def test_prints_the_token_of_the_new_publisher(client):
    out = StringIO()
    call_command(
        "create_user",
        "--username",
        "pat",
        "--email",
        "pat@example.org",
        "--publisher",
        "--password",
        "s3cret-pass",
        stdout=out,
    )

    user = User.objects.get(username="pat")
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    assert me.json()["username"] == "pat"
    assert user.is_publisher
    assert user.check_password("s3cret-pass")


def test_refuses_a_taken_username(recipient):
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_user", "--username", "bob", "--email", "b@example.org")
