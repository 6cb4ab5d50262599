"""What a hostile client or publisher can send the notifier, and the bound each one meets.

Each test proves one limit of docs/security.md.
"""

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from notifier_testing import FakeClock

from notifier import metrics
from notifier.api import create_api, health
from notifier.app import UnsafeSettingsError, check_settings
from notifier.channels.email import SmtpTls
from notifier.settings import Settings
from notifier.store.db import SessionFactory, ping
from notifier.unsubscribe import unsubscribe_url

TOKEN = "hostile-input-test-token-0123456789abcdef"
OLD_LINK_KEY = "old-link-signing-key-0123456789abcdefghij"
NEW_LINK_KEY = "new-link-signing-key-0123456789abcdefghij"
METRICS_TOKEN = "metrics-scrape-token-0123456789abcdefghij"
LIMIT = 64 * 1024
FIFTY_MB = 50 * 1024 * 1024
CHUNK = 64 * 1024


async def _no_broker() -> None:
    return None


def _api(session_factory: SessionFactory, clock: FakeClock, engine: Any, **options: Any) -> Any:
    return create_api(
        session_factory=session_factory,
        api_token=TOKEN,
        broker_probe=_no_broker,
        database_probe=lambda: ping(engine),
        asyncapi_document=lambda: {"asyncapi": "3.0.0"},
        clock=clock,
        max_request_bytes=LIMIT,
        **options,
    )


@pytest.fixture
async def client(
    session_factory: SessionFactory, clock: FakeClock, engine: Any
) -> AsyncIterator[httpx.AsyncClient]:
    api = _api(
        session_factory,
        clock,
        engine,
        link_signing_keys=[NEW_LINK_KEY, OLD_LINK_KEY],
        metrics_token=METRICS_TOKEN,
        metrics_cache_seconds=3600,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api),
        base_url="http://notifier",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


class _Body:
    """50 MB streamed in chunks, counting what the server actually pulled."""

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < FIFTY_MB:
            self.sent += CHUNK
            yield b"x" * CHUNK


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_50_mb_post_without_a_token_is_refused_413_before_it_is_read(
    client: httpx.AsyncClient, declared: bool
) -> None:
    body = _Body()
    headers = {"Authorization": "", "Content-Type": "application/json"}
    if declared:
        headers["Content-Length"] = str(FIFTY_MB)

    response = await client.post("/v1/webhook-endpoints", content=body, headers=headers)

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413
    # The server stopped reading at the limit: it never held more than that.
    assert body.sent <= (CHUNK if declared else LIMIT + CHUNK)


async def test_a_body_within_the_limit_still_reaches_authentication(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": "https://example.com/"}, headers={"Authorization": ""}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "d" * 1001),
        ("url", "https://example.com/" + "p" * 2083),
    ],
)
async def test_every_stored_endpoint_string_has_a_length_limit(
    client: httpx.AsyncClient, field: str, value: str
) -> None:
    body = {"url": "https://example.com/hook", field: value}
    response = await client.post("/v1/webhook-endpoints", json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == f"#/{field}"


async def test_an_opt_out_category_has_a_length_limit(client: httpx.AsyncClient) -> None:
    response = await client.put(
        f"/v1/recipients/{uuid.uuid4()}/preferences", json={"opt_outs": {"email": ["c" * 101]}}
    )
    assert response.status_code == 400


async def test_an_unknown_body_field_is_refused_by_name(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": "https://example.com/hook", "event_type": []}
    )
    assert response.status_code == 400
    assert [error["pointer"] for error in response.json()["errors"]] == ["#/event_type"]

    preferences = await client.put(
        f"/v1/recipients/{uuid.uuid4()}/preferences", json={"opt_out": {"email": ["food"]}}
    )
    assert preferences.status_code == 400
    assert preferences.json()["errors"][0]["pointer"] == "#/opt_out"


async def test_the_openapi_document_says_request_bodies_take_no_other_field(
    client: httpx.AsyncClient,
) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    for name in ("WebhookEndpointIn", "PreferencesBody", "QuietHours"):
        assert schemas[name]["additionalProperties"] is False, name


def _link(key: str, user: uuid.UUID) -> str:
    return unsubscribe_url(base_url="http://notifier", secret=key, user_id=user, category="food")


async def test_links_signed_with_an_old_key_still_verify_after_a_rotation(
    client: httpx.AsyncClient,
) -> None:
    user = uuid.uuid4()
    anonymous = {"Authorization": ""}
    assert (await client.get(_link(NEW_LINK_KEY, user), headers=anonymous)).status_code == 200
    assert (await client.get(_link(OLD_LINK_KEY, user), headers=anonymous)).status_code == 200
    # The API token is no link key once keys of their own are set.
    assert (await client.get(_link(TOKEN, user), headers=anonymous)).status_code == 403


@pytest.mark.parametrize("signature", ["é" * 64, "zz", "A" * 64, ""])
async def test_a_malformed_link_signature_is_a_400_not_a_500(
    client: httpx.AsyncClient, signature: str
) -> None:
    link = _link(NEW_LINK_KEY, uuid.uuid4())
    query = parse_qs(urlsplit(link).query)
    response = await client.post(
        "/unsubscribe",
        params={"user": query["user"][0], "category": "food", "sig": signature},
        headers={"Authorization": ""},
    )
    assert response.status_code == 400


async def test_without_link_keys_the_api_token_signs_links_as_before(
    session_factory: SessionFactory, clock: FakeClock, engine: Any
) -> None:
    api = _api(session_factory, clock, engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://notifier"
    ) as client:
        assert (await client.get(_link(TOKEN, uuid.uuid4()))).status_code == 200
    assert Settings(NOTIFIER_API_TOKEN=TOKEN).link_signing_keys == [TOKEN]


async def test_metrics_ask_for_their_token_when_one_is_set(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics", headers={"Authorization": ""})).status_code == 401
    api_token = {"Authorization": f"Bearer {TOKEN}"}
    assert (await client.get("/metrics", headers=api_token)).status_code == 401
    scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200


async def test_scrapes_within_the_cache_age_query_the_database_once(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries = 0
    real_due_backlog = health.due_backlog

    async def counted(*args: Any, **kwargs: Any) -> dict[str, int]:
        nonlocal queries
        queries += 1
        return await real_due_backlog(*args, **kwargs)

    monkeypatch.setattr(health, "due_backlog", counted)
    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    for _ in range(5):
        assert (await client.get("/metrics", headers=scrape)).status_code == 200
    assert queries == 1


def test_the_ignored_event_counter_takes_only_known_event_types() -> None:
    assert metrics.event_type_label("notices.notice.published.v1") == "notices.notice.published.v1"
    for hostile in ("notices.notice.published.v9", "x" * 10_000, "", None):
        assert metrics.event_type_label(hostile) == "other"


@pytest.mark.parametrize(
    "token", ["", "short", "CHANGE-ME", "CHANGE-ME-CHANGE-ME-CHANGE-ME-CHANGE-ME-CHANGE-ME"]
)
def test_an_api_process_refuses_a_short_or_placeholder_token_naming_the_variable(
    token: str,
) -> None:
    settings = Settings(NOTIFIER_API_TOKEN=token, NOTIFIER_ROLES="api")
    with pytest.raises(UnsafeSettingsError, match="NOTIFIER_API_TOKEN"):
        check_settings(settings)


def test_weak_link_or_metrics_keys_are_refused_too() -> None:
    for variable in ("NOTIFIER_LINK_SIGNING_KEYS", "NOTIFIER_METRICS_TOKEN"):
        settings = Settings(NOTIFIER_API_TOKEN=TOKEN, **{variable: "short"})
        with pytest.raises(UnsafeSettingsError, match=variable):
            check_settings(settings)


def test_a_process_without_the_api_role_needs_no_api_token_but_a_strong_metrics_one() -> None:
    check_settings(Settings(NOTIFIER_API_TOKEN="", NOTIFIER_ROLES="consumer,dispatcher"))
    weak_metrics = Settings(NOTIFIER_ROLES="consumer", NOTIFIER_METRICS_TOKEN="CHANGE-ME")
    with pytest.raises(UnsafeSettingsError, match="NOTIFIER_METRICS_TOKEN"):
        check_settings(weak_metrics)


@pytest.mark.parametrize(
    ("environment", "tls"),
    [
        ({}, SmtpTls.OPPORTUNISTIC),
        ({"SMTP_TLS": "implicit"}, SmtpTls.IMPLICIT),
        ({"SMTP_STARTTLS": "true"}, SmtpTls.REQUIRED),
        ({"SMTP_STARTTLS": "false"}, SmtpTls.OPPORTUNISTIC),
        ({"SMTP_STARTTLS": "true", "SMTP_TLS": "off"}, SmtpTls.OFF),
    ],
)
def test_smtp_tls_defaults_to_opportunistic_and_reads_the_old_starttls_flag(
    environment: dict[str, str], tls: SmtpTls
) -> None:
    assert Settings(**environment).effective_smtp_tls is tls  # type: ignore[arg-type]


@pytest.mark.parametrize("link", ["javascript:alert(1)", "/settings/", "localhost:8000/settings/"])
def test_a_settings_page_link_that_is_not_a_web_link_is_refused_at_startup(link: str) -> None:
    with pytest.raises(ValueError, match="NOTIFIER_PREFERENCES_URL"):
        Settings(NOTIFIER_PREFERENCES_URL=link)
