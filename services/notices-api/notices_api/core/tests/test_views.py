from datetime import UTC, datetime

import pytest
from django.db import DatabaseError
from rest_framework.test import APIClient

# Registered on import, as the web process does (config.wsgi).
from notices_api.outbox import backlog
from notices_api.outbox.models import OutboxEvent

pytestmark = pytest.mark.django_db


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_the_database(client, monkeypatch):
    assert client.get("/readyz").status_code == 200

    def unreachable(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr("notices_api.core.views.connection.cursor", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"


def sample(body: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    prefix = f"{name}{{{wanted}}} " if labels else f"{name} "
    for line in body.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return None


def test_metrics_count_requests_by_route_template(client_for, recipient, client):
    api = client_for(recipient)
    before = client.get("/metrics").content.decode()
    labels = {"method": "GET", "route": "/api/v1/notices/<uuid:notice_id>/", "status": "404"}
    start = sample(before, "notices_api_http_requests_total", **labels) or 0.0
    api.get("/api/v1/notices/01a20277-39c7-75f9-8714-41be76f78c40/")
    api.get("/api/v1/notices/01a20277-39c7-75f9-8714-41be76f78c41/")

    body = client.get("/metrics").content.decode()
    assert sample(body, "notices_api_http_requests_total", **labels) == start + 2
    assert "notices_api_http_request_duration_seconds_bucket" in body


def test_metrics_label_an_unknown_request_method_other(client):
    client.generic("BOGUSMETHOD", "/healthz")

    body = client.get("/metrics").content.decode()
    assert "BOGUSMETHOD" not in body
    assert 'method="other"' in body


def test_metrics_report_the_outbox_backlog(client, published):
    OutboxEvent.objects.update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    body = client.get("/metrics").content.decode()
    assert sample(body, "notices_api_outbox_pending_events") == OutboxEvent.objects.count()
    oldest_age = sample(body, "notices_api_outbox_oldest_pending_age_seconds")
    assert oldest_age is not None
    assert oldest_age > 3600 * 24 * 365

    OutboxEvent.objects.update(status=OutboxEvent.Status.PUBLISHED)
    body = client.get("/metrics").content.decode()
    assert sample(body, "notices_api_outbox_pending_events") == 0
    assert sample(body, "notices_api_outbox_oldest_pending_age_seconds") == 0


def test_the_bench_baseline_endpoint_is_off_by_default(client_for, recipient):
    response = client_for(recipient).get("/api/v1/bench/baseline/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_the_bench_baseline_endpoint_answers_a_constant_to_a_token(client_for, recipient, settings):
    settings.BENCH_BASELINE_ENDPOINT = True
    assert client_for(recipient).get("/api/v1/bench/baseline/").json() == {"status": "ok"}
    assert APIClient().get("/api/v1/bench/baseline/").status_code == 401


def test_scrapes_within_the_cache_age_query_the_database_once(
    client, settings, monkeypatch, django_assert_num_queries
):
    settings.NOTICES_METRICS_CACHE_SECONDS = 15
    now = [1e12]  # far past any read an earlier test cached
    monkeypatch.setattr(backlog.OUTBOX_BACKLOG, "clock", lambda: now[0])
    with django_assert_num_queries(1):
        first = client.get("/metrics").content.decode()
        now[0] += 14
        second = client.get("/metrics").content.decode()
    name = "notices_api_outbox_pending_events"
    assert sample(first, name) == sample(second, name) is not None
    now[0] += 1
    with django_assert_num_queries(1):
        client.get("/metrics")


METRICS_TOKEN = "metrics-token-for-tests-only-0123456789abcdef"


def test_metrics_ask_for_their_token_when_one_is_set(client, settings):
    settings.NOTICES_METRICS_TOKEN = METRICS_TOKEN
    refused = [
        client.get("/metrics"),
        client.get("/metrics", headers={"Authorization": "Bearer wrong"}),
        client.get("/metrics", headers={"Authorization": "Bearer é"}),
    ]
    for response in refused:
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response["WWW-Authenticate"] == "Bearer"
    allowed = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert allowed.status_code == 200
