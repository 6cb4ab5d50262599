"""The HTTP API over ASGI: bearer auth, problem details, endpoints, ledger, preferences."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from notifier_testing import FakeClock, NoticeSpec, envelope, handle, recipient_updated
from sqlalchemy import select

from notifier.api import create_api
from notifier.store.db import SessionFactory, ping
from notifier.store.models import Delivery
from notifier.unsubscribe import unsubscribe_url

TOKEN = "s3cret"


async def _broker_down() -> None:
    raise ConnectionError("no broker in unit tests")


@pytest.fixture
async def client(
    session_factory: SessionFactory, clock: FakeClock, engine: Any
) -> AsyncIterator[httpx.AsyncClient]:
    api = create_api(
        session_factory=session_factory,
        api_token=TOKEN,
        broker_probe=_broker_down,
        database_probe=lambda: ping(engine),
        asyncapi_document=lambda: {"asyncapi": "3.0.0"},
        clock=clock,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api),
        base_url="http://notifier",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


async def test_v1_needs_the_bearer_token_and_errors_are_problem_details(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/webhook-endpoints", headers={"Authorization": "Bearer no"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"

    invalid = await client.post("/v1/webhook-endpoints", json={"url": "not a url"})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["loc"] == ["body", "url"]


async def test_health_readiness_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"broker": "unavailable: ConnectionError", "database": "ok"}
    metrics = await client.get("/metrics")
    assert "notifier_due_backlog" in metrics.text


async def test_webhook_endpoint_lifecycle_shows_each_secret_once(
    client: httpx.AsyncClient,
) -> None:
    created = (
        await client.post("/v1/webhook-endpoints", json={"url": "https://hooks.example/a"})
    ).json()
    assert created["secret"].startswith("whsec_")
    path = f"/v1/webhook-endpoints/{created['id']}"
    listed = (await client.get("/v1/webhook-endpoints")).json()
    assert [item["id"] for item in listed] == [created["id"]]
    assert "secret" not in listed[0]

    rotated = (await client.post(f"{path}/rotate-secret")).json()
    assert rotated["secret"] != created["secret"]
    enabled = (await client.post(f"{path}/enable")).json()
    assert enabled["enabled"] is True
    assert (await client.delete(path)).status_code == 204
    assert (await client.get(path)).status_code == 404


async def test_deleting_an_endpoint_cancels_what_was_still_to_be_sent_to_it(
    client: httpx.AsyncClient, session_factory: SessionFactory, clock: FakeClock
) -> None:
    created = (
        await client.post("/v1/webhook-endpoints", json={"url": "https://hooks.example/a"})
    ).json()
    notice = NoticeSpec([uuid.uuid4()])
    async with session_factory.begin() as session:
        published = envelope(notice.published())
        await handle(session, published, now=clock.now)
    path = f"/v1/webhook-endpoints/{created['id']}"
    assert (await client.delete(path)).status_code == 204
    async with session_factory() as session:
        [webhook] = await session.scalars(select(Delivery).where(Delivery.channel == "webhook"))
    assert (webhook.status, webhook.last_error) == ("cancelled", "endpoint deleted")


async def test_a_signed_unsubscribe_link_opts_out_of_that_category_without_a_token(
    client: httpx.AsyncClient,
) -> None:
    user = uuid.uuid4()
    link = unsubscribe_url(base_url="http://notifier", secret=TOKEN, user_id=user, category="food")
    anonymous = {"Authorization": ""}
    page = await client.get(link, headers=anonymous)
    assert page.status_code == 200
    assert '<form method="post">' in page.text
    preferences = f"/v1/recipients/{user}/preferences"
    assert (await client.get(preferences)).json()["opt_outs"] == {}  # a GET changes nothing

    one_click = {"content": b"List-Unsubscribe=One-Click", "headers": anonymous}
    assert (await client.post(link, **one_click)).status_code == 200
    assert (await client.post(link, **one_click)).status_code == 200
    assert (await client.get(preferences)).json()["opt_outs"] == {"email": ["food"]}

    forged = link.replace("category=food", "category=safety")
    assert (await client.post(forged, **one_click)).status_code == 403
    assert (await client.get(preferences)).json()["opt_outs"] == {"email": ["food"]}


async def test_preferences_round_trip(client: httpx.AsyncClient) -> None:
    path = f"/v1/recipients/{uuid.uuid4()}/preferences"
    assert (await client.get(path)).json() == {"opt_outs": {}, "quiet_hours": None}
    body = {
        "opt_outs": {"email": ["newsletter", "newsletter"]},
        "quiet_hours": {"start": "22:00:00", "end": "07:00:00"},
    }
    assert (await client.put(path, json=body)).status_code == 200
    assert (await client.get(path)).json() == {
        "opt_outs": {"email": ["newsletter"]},
        "quiet_hours": {"start": "22:00:00", "end": "07:00:00"},
    }


async def test_ledger_acknowledgements_and_retry(
    client: httpx.AsyncClient, session_factory: SessionFactory, clock: FakeClock
) -> None:
    ann, bob, unreachable = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    notice = NoticeSpec([ann, bob, unreachable], remind_after_seconds=60)
    async with session_factory.begin() as session:
        for user in (ann, bob):
            event = envelope(recipient_updated(user))
            await handle(session, event, now=clock.now)
        published, read = envelope(notice.published()), envelope(notice.read(ann))
        await handle(session, published, now=clock.now)
        await handle(session, read, now=clock.now)
        failed = await session.scalar(
            select(Delivery).where(Delivery.target_id == bob, Delivery.kind == "notice")
        )
        assert failed is not None
        failed.status, failed.attempt_count = "failed", 5

    acks = (await client.get(f"/v1/notices/{notice.notice_id}/acknowledgements")).json()
    by_user = {ack["user_id"]: ack for ack in acks}
    assert by_user[str(ann)]["reminder_status"] == "cancelled"
    assert by_user[str(ann)]["read_at"] is not None
    assert by_user[str(bob)]["delivery_status"] == "failed"
    # In the audience, but with no address yet: owed an acknowledgement all the same.
    assert by_user[str(unreachable)]["delivery_status"] is None
    assert by_user[str(unreachable)]["read_at"] is None

    listed = (
        await client.get(
            "/v1/deliveries", params={"notice_id": str(notice.notice_id), "status": "failed"}
        )
    ).json()
    assert [item["id"] for item in listed] == [str(failed.id)]
    retried = await client.post(f"/v1/deliveries/{failed.id}/retry")
    assert retried.status_code == 202
    assert retried.json()["status"] == "pending"
    assert retried.json()["attempt_count"] == 0
    assert (await client.post(f"/v1/deliveries/{failed.id}/retry")).status_code == 409
    detail = (await client.get(f"/v1/deliveries/{failed.id}")).json()
    assert detail["attempts"] == []
