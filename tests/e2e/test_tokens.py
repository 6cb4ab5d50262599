"""API tokens against the real processes: sign in with a password, use the token, sign out."""

import uuid
from datetime import UTC, datetime

from support.stack import Stack

PASSWORD = "e2e-token-password"


def test_a_token_from_a_password_works_until_it_is_signed_out(stack: Stack) -> None:
    username = f"tina-{uuid.uuid4().hex[:6]}"
    stack.manage(
        "create_user",
        "--username",
        username,
        "--email",
        f"{username}@e2e.example",
        "--password",
        PASSWORD,
    )
    with stack.api_client() as anonymous:
        credentials = {"username": username, "password": PASSWORD}
        issued = anonymous.post("/auth/token/", json=credentials).raise_for_status().json()
        wrong = anonymous.post("/auth/token/", json={**credentials, "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert datetime.fromisoformat(issued["expires_at"]) > datetime.now(UTC)
    with stack.api_client(issued["token"]) as api:
        assert api.get("/me/").raise_for_status().json()["username"] == username
        assert api.post("/auth/logout/").status_code == 204
        refused = api.get("/me/")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
