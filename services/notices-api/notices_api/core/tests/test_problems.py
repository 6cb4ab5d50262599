"""Every error is an RFC 9457 problem: one shape, application/problem+json."""

from typing import Any

import pytest
from django.test import Client
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}


def assert_problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem.keys() >= PROBLEM_KEYS
    assert problem["status"] == status
    assert problem["request_id"] == response["X-Request-ID"]
    return problem


def test_unauthenticated_is_401_with_a_challenge(client):
    response = client.get("/api/v1/notices/")
    problem = assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Token"
    assert problem["type"] == "about:blank"
    assert problem["instance"] == "/api/v1/notices/"


def test_bad_token_is_401(client):
    assert_problem(client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token nope"), 401)


def test_unknown_url_is_404(client):
    assert_problem(client.get("/api/v1/nowhere/"), 404)
    # A malformed id does not match the route at all: still a problem.
    assert_problem(client.get("/api/v1/notices/not-a-uuid/"), 404)


def test_wrong_method_is_405(client_for, recipient):
    response = client_for(recipient).delete("/api/v1/notices/unread-count/")
    assert_problem(response, 405)
    assert_problem(Client().post("/healthz"), 405)


def test_validation_errors_point_at_fields(client_for, publisher):
    response = client_for(publisher).post(
        "/api/v1/groups/", {"name": "x" * 200, "description": 5}, format="json"
    )
    problem = assert_problem(response, 400)
    assert problem["type"] == "urn:notices:problem:validation-error"
    assert problem["errors"] == [
        {
            "pointer": "#/name",
            "detail": "Ensure this field has no more than 120 characters.",
            "code": "max_length",
        },
        # A number is not a string, even though it could be made into one.
        {"pointer": "#/description", "detail": "Not a valid string.", "code": "invalid"},
    ]


def test_a_limit_counts_the_characters_sent_not_the_trimmed_ones(client_for, publisher):
    # The schema says maxLength 120; whitespace trimmed afterwards must not make room.
    api = client_for(publisher)
    too_long = api.post("/api/v1/groups/", {"name": " " + "x" * 120}, format="json")
    assert assert_problem(too_long, 400)["errors"][0]["code"] == "max_length"
    fits = api.post("/api/v1/groups/", {"name": " " + "x" * 119}, format="json")
    assert fits.status_code == 201
    assert fits.json()["name"] == "x" * 119
    search = api.get("/api/v1/groups/", {"search": " " + "x" * 120})
    assert assert_problem(search, 400)["errors"][0]["parameter"] == "search"


def test_bad_page_size_is_400(client_for, recipient):
    response = client_for(recipient).get("/api/v1/notices/", {"page_size": "0"})
    problem = assert_problem(response, 400)
    assert problem["errors"][0]["parameter"] == "page_size"


def test_malformed_json_is_400(client_for, publisher):
    response = client_for(publisher).post(
        "/api/v1/groups/", "{nope", content_type="application/json"
    )
    assert_problem(response, 400)


def test_unsupported_media_type_is_415(client_for, publisher):
    response = client_for(publisher).post("/api/v1/groups/", "name=x", content_type="text/plain")
    assert_problem(response, 415)


def test_throttled_is_429_with_retry_after(client_for, recipient, monkeypatch):
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"user": "2/minute", "anon": "2/minute"}
    )
    api = client_for(recipient)
    statuses = [api.get("/api/v1/me/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = api.get("/api/v1/me/")
    assert_problem(response, 429)
    assert int(response["Retry-After"]) > 0


def test_unexpected_error_is_500_problem(client_for, recipient, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("notices_api.notices.apis.notice_unread_count", broken)
    api = client_for(recipient)
    api.raise_request_exception = False
    problem = assert_problem(api.get("/api/v1/notices/unread-count/"), 500)
    assert "boom" not in problem["detail"]


def test_request_id_is_taken_from_the_caller_or_made(client):
    given = client.get("/healthz", HTTP_X_REQUEST_ID="req-123")
    assert given["X-Request-ID"] == "req-123"
    made = client.get("/api/v1/me/")
    assert len(made["X-Request-ID"]) == 32
    assert made.json()["request_id"] == made["X-Request-ID"]
