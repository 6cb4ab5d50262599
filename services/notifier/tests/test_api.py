"""The HTTP API over ASGI: bearer auth, problem details, endpoints, ledger, preferences."""

import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from typing import Any

import httpx
import pytest
from notifier_testing import FakeClock, NoticeSpec, envelope, handle, recipient_updated
from sqlalchemy import select

from notifier.api import create_api, create_health_api
from notifier.store.db import SessionFactory, ping
from notifier.store.models import Delivery
from notifier.unsubscribe import unsubscribe_url

TOKEN = "s3cret"


async def _broker_down() -> None:
    raise ConnectionError("no broker in unit tests")


Observer = Callable[[], None]
ASGIApp = Callable[..., Any]


@pytest.fixture
def observers() -> list[Observer]:
    """Called as each response starts to go out (status line and headers sent)."""
    return []


def _observing_response_start(app: ASGIApp, observers: list[Observer]) -> ASGIApp:
    async def observed(scope: Any, receive: Any, send: Any) -> None:
        async def send_observed(message: Any) -> None:
            if message["type"] == "http.response.start":
                for observe in observers:
                    observe()
            await send(message)

        await app(scope, receive, send_observed)

    return observed


@pytest.fixture
async def client(
    session_factory: SessionFactory, clock: FakeClock, engine: Any, observers: list[Observer]
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
        transport=httpx.ASGITransport(app=_observing_response_start(api, observers)),
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
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0]["pointer"] == "#/url"


def _validation_problem(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"] == "urn:notifier:problem:validation-error"
    assert problem["title"] == "Your request is not valid"
    assert problem["status"] == 400
    assert problem["instance"] == response.request.url.path
    assert problem["detail"]
    assert all(error["detail"] for error in problem["errors"])
    return problem


def _where_and_code(problem: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        ("pointer", error["pointer"], error["code"])
        if "pointer" in error
        else ("parameter", error["parameter"], error["code"])
        for error in problem["errors"]
    }


async def test_invalid_input_is_a_400_problem_naming_each_field_as_the_notices_api_does(
    client: httpx.AsyncClient,
) -> None:
    body = await client.post(
        "/v1/webhook-endpoints", json={"url": "not a url", "event_types": ["nope"]}
    )
    assert _where_and_code(_validation_problem(body)) == {
        ("pointer", "#/url", "url_parsing"),
        ("pointer", "#/event_types/0", "literal_error"),
    }
    query = await client.get("/v1/deliveries", params={"limit": "0", "status": "sent"})
    assert _where_and_code(_validation_problem(query)) == {
        ("parameter", "limit", "greater_than_equal"),
        ("parameter", "status", "enum"),
    }
    path = await client.get("/v1/deliveries/not-a-uuid")
    assert _where_and_code(_validation_problem(path)) == {
        ("parameter", "delivery_id", "uuid_parsing")
    }
    malformed = await client.post(
        "/v1/webhook-endpoints", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert _where_and_code(_validation_problem(malformed)) == {("pointer", "#", "json_invalid")}


async def test_other_errors_are_problems_of_the_same_shape(client: httpx.AsyncClient) -> None:
    missing = await client.get(f"/v1/deliveries/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"] == "urn:notifier:problem:not-found"
    assert missing.json()["instance"] == missing.request.url.path
    unknown = await client.get("/v1/nowhere")
    assert (unknown.status_code, unknown.json()["type"]) == (404, "about:blank")
    assert unknown.json()["detail"]
    wrong_method = await client.patch("/v1/webhook-endpoints")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET, POST"


async def test_the_openapi_document_lists_every_problem_an_operation_answers(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    operations = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert operations, "the /v1 operations are documented"

    def problem_statuses(operation: dict[str, Any]) -> set[str]:
        return {
            code
            for code, response in operation["responses"].items()
            if set(response.get("content", {})) == {"application/problem+json"}
            and response["content"]["application/problem+json"]["schema"]
            == {"$ref": "#/components/schemas/Problem"}
        }

    for (method, path), operation in operations.items():
        expected = {"401"}
        if "{endpoint_id}" in path or "{delivery_id}" in path or "acknowledgements" in path:
            expected.add("404")
        if path.endswith("/retry"):
            expected.add("409")
        if operation.get("parameters") or "requestBody" in operation:
            expected.add("400")
        assert problem_statuses(operation) == expected, (method, path)
        assert "422" not in operation["responses"], (method, path)
    problem_schema = document["components"]["schemas"]["Problem"]
    assert set(problem_schema["required"]) == {"type", "title", "status", "detail", "instance"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_health_readiness_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"broker": "unavailable: ConnectionError", "database": "ok"}
    metrics = await client.get("/metrics")
    assert "notifier_due_backlog" in metrics.text


async def test_a_process_without_the_api_role_serves_health_and_metrics_only(
    session_factory: SessionFactory, engine: Any, clock: FakeClock
) -> None:
    health = create_health_api(
        broker_probe=_broker_down,
        database_probe=lambda: ping(engine),
        session_factory=session_factory,
        clock=clock,
        asyncapi_document=lambda: {"asyncapi": "3.0.0"},
    )
    transport = httpx.ASGITransport(app=health)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json()["checks"]["database"] == "ok"
        assert "notifier_due_backlog" in (await client.get("/metrics")).text
        assert (await client.get("/asyncapi.json")).json() == {"asyncapi": "3.0.0"}
        for elsewhere in ("/v1/webhook-endpoints", "/unsubscribe", "/openapi.json", "/docs"):
            missing = await client.get(elsewhere, headers={"Authorization": f"Bearer {TOKEN}"})
            assert missing.status_code == 404, elsewhere
            assert missing.headers["content-type"] == "application/problem+json"


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
    conflict = await client.post(f"/v1/deliveries/{failed.id}/retry")
    assert (conflict.status_code, conflict.json()["type"]) == (
        409,
        "urn:notifier:problem:state-conflict",
    )
    assert "it is pending" in conflict.json()["detail"]
    unknown = await client.post(f"/v1/deliveries/{uuid.uuid4()}/retry")
    assert (unknown.status_code, unknown.json()["type"]) == (404, "urn:notifier:problem:not-found")
    detail = (await client.get(f"/v1/deliveries/{failed.id}")).json()
    assert detail["attempts"] == []


def _committed(engine: Any, sql: str) -> list[tuple[Any, ...]]:
    """What another connection sees now: only what is committed (WAL readers never wait)."""
    with closing(sqlite3.connect(engine.url.database)) as connection:
        return connection.execute(sql).fetchall()


async def test_a_write_is_committed_before_its_response_goes_out(
    client: httpx.AsyncClient,
    engine: Any,
    observers: list[Observer],
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    seen: list[list[tuple[Any, ...]]] = []

    def seeing(sql: str) -> None:
        observers[:] = [lambda: seen.append(_committed(engine, sql))]

    seeing("SELECT url, enabled FROM webhook_endpoints")
    created = await client.post("/v1/webhook-endpoints", json={"url": "https://hooks.example/a"})
    assert seen.pop() == [("https://hooks.example/a", 1)]
    path = f"/v1/webhook-endpoints/{created.json()['id']}"
    assert (await client.delete(path)).status_code == 204
    assert seen.pop() == []

    user = uuid.uuid4()
    seeing("SELECT opt_outs FROM preferences")
    put = await client.put(
        f"/v1/recipients/{user}/preferences", json={"opt_outs": {"email": ["food"]}}
    )
    assert put.status_code == 200
    assert seen.pop() == [('{"email": ["food"]}',)]

    notice = NoticeSpec([user])
    async with session_factory.begin() as session:
        event = envelope(recipient_updated(user))
        await handle(session, event, now=clock.now)
        published = envelope(notice.published())
        await handle(session, published, now=clock.now)
        delivery = await session.scalar(select(Delivery).where(Delivery.kind == "notice"))
        assert delivery is not None
        delivery.status = "failed"
    seeing("SELECT status FROM deliveries WHERE kind = 'notice'")
    assert (await client.post(f"/v1/deliveries/{delivery.id}/retry")).status_code == 202
    assert seen.pop() == [("pending",)]


async def test_quiet_hours_are_local_times_of_day_as_the_schema_says(
    client: httpx.AsyncClient,
) -> None:
    path = f"/v1/recipients/{uuid.uuid4()}/preferences"
    for offset_or_number in ("07:00Z", "07:00:00+02:00", 0, "07:00:00.5"):
        body = {"quiet_hours": {"start": "22:00", "end": offset_or_number}}
        refused = await client.put(path, json=body)
        assert _where_and_code(_validation_problem(refused)) == {
            ("pointer", "#/quiet_hours/end", "value_error")
        }, offset_or_number
    night = {"quiet_hours": {"start": "22:00", "end": "07:00"}}
    stored = (await client.put(path, json=night)).json()
    assert stored["quiet_hours"] == {"start": "22:00:00", "end": "07:00:00"}
    document = (await client.get("/openapi.json")).json()
    start = document["components"]["schemas"]["QuietHours"]["properties"]["start"]
    assert (start["type"], start["pattern"]) == (
        "string",
        "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
    )
    assert "format" not in start


async def test_a_description_with_a_nul_character_is_invalid_input(
    client: httpx.AsyncClient,
) -> None:
    # PostgreSQL cannot store U+0000 in text: without this it was a 500 there.
    body = {"url": "https://hooks.example/a", "description": "a\u0000b"}
    refused = await client.post("/v1/webhook-endpoints", json=body)
    assert _where_and_code(_validation_problem(refused)) == {
        ("pointer", "#/description", "string_pattern_mismatch")
    }
