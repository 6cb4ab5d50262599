"""API tokens: stored as digests only, expiring, revoked by signing out."""

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import PASSWORD
from django.utils import timezone
from knox.models import AuthToken

from notices_api.accounts.services import user_set_active
from notices_api.core.tests.test_problems import assert_problem

pytestmark = pytest.mark.django_db

SERVICE_DIR = Path(__file__).resolve().parents[3]
TOKEN = "/api/v1/auth/token/"
LOGOUT = "/api/v1/auth/logout/"
LOGOUT_ALL = "/api/v1/auth/logout-all/"


def sign_in(client, username: str) -> dict[str, str]:
    response = client.post(
        TOKEN, {"username": username, "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    body: dict[str, str] = response.json()
    return body


def me(client, token: str):
    return client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")


def test_a_token_expires_after_the_configured_lifetime(client, recipient, settings):
    before = timezone.now()
    issued = sign_in(client, "bob")
    ttl = settings.REST_KNOX["TOKEN_TTL"]
    expires_at = datetime.fromisoformat(issued["expires_at"])
    assert before + ttl <= expires_at <= timezone.now() + ttl
    assert me(client, issued["token"]).status_code == 200


def test_the_token_table_holds_no_usable_plaintext(client, recipient):
    token = sign_in(client, "bob")["token"]
    (row,) = AuthToken.objects.filter(user=recipient).values()
    stored = [str(value) for value in row.values()]
    assert not any(token in value for value in stored)
    # What is kept of the token itself (knox's lookup prefix) does not sign in.
    assert me(client, row["token_key"]).status_code == 401
    assert me(client, row["digest"]).status_code == 401


def test_a_token_past_its_expiry_is_refused(client, recipient):
    token = sign_in(client, "bob")["token"]
    AuthToken.objects.filter(user=recipient).update(expiry=timezone.now() - timedelta(seconds=1))
    assert_problem(me(client, token), 401)
    assert not AuthToken.objects.filter(user=recipient).exists()


def test_a_deactivated_users_tokens_are_refused(client, recipient):
    token = sign_in(client, "bob")["token"]
    user_set_active(user=recipient, is_active=False)
    assert_problem(me(client, token), 401)


def test_each_sign_in_issues_a_new_token_and_forgets_expired_ones(client, recipient):
    first = sign_in(client, "bob")["token"]
    AuthToken.objects.filter(user=recipient).update(expiry=timezone.now() - timedelta(seconds=1))
    second = sign_in(client, "bob")["token"]
    assert second != first
    assert AuthToken.objects.filter(user=recipient).count() == 1
    assert me(client, second).status_code == 200


def test_logout_revokes_the_token_of_the_request_only(client, recipient):
    used, other = sign_in(client, "bob")["token"], sign_in(client, "bob")["token"]
    response = client.post(LOGOUT, HTTP_AUTHORIZATION=f"Token {used}")
    assert response.status_code == 204
    assert_problem(me(client, used), 401)
    assert me(client, other).status_code == 200


def test_logout_all_revokes_every_token_of_the_caller(client, recipient, publisher):
    tokens = [sign_in(client, "bob")["token"] for _ in range(3)]
    publishers = sign_in(client, "alice")["token"]
    response = client.post(LOGOUT_ALL, HTTP_AUTHORIZATION=f"Token {tokens[0]}")
    assert response.status_code == 204
    for token in tokens:
        assert_problem(me(client, token), 401)
    assert me(client, publishers).status_code == 200


@pytest.mark.parametrize("path", [LOGOUT, LOGOUT_ALL])
def test_logout_needs_a_valid_token(client, recipient, path):
    assert_problem(client.post(path), 401)
    assert_problem(client.post(path, HTTP_AUTHORIZATION="Token nope"), 401)
    # A browser session has no token to revoke.
    client.force_login(recipient)
    assert_problem(client.post(path), 401)


def test_the_schema_documents_sign_out(client):
    import yaml

    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    for path, operation_id in [(LOGOUT, "auth_logout"), (LOGOUT_ALL, "auth_logout_all")]:
        operation = paths[path]["post"]
        assert operation["operationId"] == operation_id
        assert "requestBody" not in operation
        assert {"204", "401"} <= operation["responses"].keys()
        assert operation["security"] == [{"tokenAuth": []}]
    token_output = paths[TOKEN]["post"]["responses"]["200"]["content"]["application/json"]
    assert token_output["schema"]["$ref"].endswith("/AuthTokenOutput")


def test_the_lifetime_comes_from_the_environment():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from config.settings import base; print(base.REST_KNOX['TOKEN_TTL'].total_seconds())",
        ],
        cwd=SERVICE_DIR,
        env={**os.environ, "NOTICES_API_TOKEN_TTL_SECONDS": "3600"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(done.stdout) == 3600


def test_the_admin_lists_tokens_without_secrets_and_revokes_them(admin_client, client, recipient):
    token = sign_in(client, "bob")["token"]
    row = AuthToken.objects.get(user=recipient)
    page = admin_client.get("/admin/knox/authtoken/").content.decode()
    assert "bob" in page
    assert token not in page
    assert row.token_key not in page
    detail = admin_client.get(f"/admin/knox/authtoken/{row.pk}/change/")
    assert detail.status_code == 200
    assert token not in detail.content.decode()
    assert row.token_key not in detail.content.decode()
    assert admin_client.get("/admin/knox/authtoken/add/").status_code == 403
    response = admin_client.post(
        "/admin/knox/authtoken/",
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    assert response.status_code == 302, response.content
    assert_problem(me(client, token), 401)
