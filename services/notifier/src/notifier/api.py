"""HTTP API: health, metrics, AsyncAPI, webhook endpoints, the ledger, preferences.

Everything under /v1 needs ``Authorization: Bearer $NOTIFIER_API_TOKEN``;
``/unsubscribe`` is open to recipients and takes only signed links. Errors are
RFC 9457 problem details (``application/problem+json``).
"""

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, time
from html import escape
from http import HTTPStatus
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field, HttpUrl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from notifier import metrics
from notifier.channels.webhook import new_webhook_secret
from notifier.dispatcher import due_backlog
from notifier.ledger.cancel import cancel_for_endpoint_deleted
from notifier.store.db import SessionFactory
from notifier.store.models import (
    Attempt,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    NoticeAudience,
    Preferences,
    Read,
    WebhookEndpoint,
)
from notifier.unsubscribe import is_signed

PROBLEM_JSON = "application/problem+json"
WebhookEventType = Literal[
    "notices.notice.published.v1", "notices.notice.read.v1", "notices.notice.archived.v1"
]
Probe = Callable[[], Awaitable[None]]


def _now() -> datetime:
    return datetime.now(UTC)


# --- schemas ---------------------------------------------------------------------------------


class WebhookEndpointIn(BaseModel):
    url: HttpUrl
    event_types: list[WebhookEventType] = Field(
        default_factory=lambda: list[WebhookEventType](["notices.notice.published.v1"])
    )
    description: str = ""


class WebhookEndpointOut(BaseModel):
    id: UUID
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> "WebhookEndpointOut":
        return cls.model_validate(endpoint, from_attributes=True)


class WebhookEndpointWithSecret(WebhookEndpointOut):
    secret: str = Field(description="Shown once: store it now.")


class AttemptOut(BaseModel):
    number: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    status_code: int | None
    error: str | None


class DeliveryOut(BaseModel):
    id: UUID
    notice_id: UUID
    channel: str
    kind: str
    target_id: UUID
    status: str
    due_at: datetime
    attempt_count: int
    last_error: str | None
    last_status_code: int | None
    event_id: UUID
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


class DeliveryDetail(DeliveryOut):
    attempts: list[AttemptOut]


class Acknowledgement(BaseModel):
    user_id: UUID
    delivery_status: str | None
    delivered_at: datetime | None
    reminders_sent: int
    reminder_status: str | None
    read_at: datetime | None


class QuietHours(BaseModel):
    start: time
    end: time


class PreferencesBody(BaseModel):
    opt_outs: dict[Literal["email", "webhook"], list[str]] = Field(default_factory=dict)
    quiet_hours: QuietHours | None = None


# --- problem details -------------------------------------------------------------------------


def problem(status_code: int, title: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status_code, **extra}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status_code, media_type=PROBLEM_JSON)


async def _http_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    title = _reason(error.status_code)
    detail = str(error.detail) if error.detail and str(error.detail) != title else None
    response = problem(error.status_code, title, detail, instance=request.url.path)
    response.headers.update(error.headers or {})
    return response


async def _validation_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"loc": list(item["loc"]), "msg": item["msg"], "type": item["type"]}
        for item in error.errors()
    ]
    return problem(422, "Unprocessable Content", "The request is invalid.", errors=errors)


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


# --- dependencies ----------------------------------------------------------------------------


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the handler returns."""
    factory: SessionFactory = request.app.state.session_factory
    async with factory.begin() as db:
        yield db


DbSession = Annotated[AsyncSession, Depends(_session)]


def create_api(
    *,
    session_factory: SessionFactory,
    api_token: str,
    broker_probe: Probe,
    database_probe: Probe,
    asyncapi_document: Callable[[], dict[str, Any]],
    on_ledger_changed: Callable[[], None] = lambda: None,
    clock: Callable[[], datetime] = _now,
) -> FastAPI:
    api = FastAPI(title="notifier", version="1", docs_url="/docs", redoc_url=None)
    api.state.session_factory = session_factory
    api.add_exception_handler(StarletteHTTPException, _http_problem)
    api.add_exception_handler(RequestValidationError, _validation_problem)
    bearer = HTTPBearer(auto_error=False)

    def authorised(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        presented = credentials.credentials if credentials else ""
        if not api_token or not hmac.compare_digest(presented.encode(), api_token.encode()):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "A valid bearer token is required.",
                headers={"WWW-Authenticate": "Bearer"},
            )

    @api.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz", include_in_schema=False, response_model=None)
    async def readyz() -> dict[str, str] | JSONResponse:
        checks: dict[str, str] = {}
        for name, probe in (("broker", broker_probe), ("database", database_probe)):
            try:
                await probe()
                checks[name] = "ok"
            except Exception as error:
                checks[name] = f"unavailable: {type(error).__name__}"
        if all(value == "ok" for value in checks.values()):
            return checks
        return problem(503, "Service Unavailable", "A dependency is unreachable.", checks=checks)

    @api.get("/metrics", include_in_schema=False)
    async def metrics_endpoint(db: DbSession) -> Response:
        backlog = await due_backlog(db, clock())
        for channel in Channel:
            metrics.DUE_BACKLOG.labels(channel.value).set(backlog.get(channel.value, 0))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @api.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi() -> dict[str, Any]:
        return asyncapi_document()

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(authorised)])

    async def endpoint_or_404(db: AsyncSession, endpoint_id: UUID) -> WebhookEndpoint:
        endpoint = await db.get(WebhookEndpoint, endpoint_id)
        if endpoint is None:
            raise HTTPException(404, f"No webhook endpoint {endpoint_id}.")
        return endpoint

    @v1.post("/webhook-endpoints", status_code=201)
    async def create_endpoint(body: WebhookEndpointIn, db: DbSession) -> WebhookEndpointWithSecret:
        secret, now = new_webhook_secret(), clock()
        endpoint = WebhookEndpoint(
            id=uuid4(),
            url=str(body.url),
            description=body.description,
            secrets=[secret],
            event_types=list(dict.fromkeys(body.event_types)),
            enabled=True,
            disabled_reason=None,
            created_at=now,
            updated_at=now,
        )
        db.add(endpoint)
        await db.flush()
        return WebhookEndpointWithSecret(
            **WebhookEndpointOut.of(endpoint).model_dump(), secret=secret
        )

    @v1.get("/webhook-endpoints")
    async def list_endpoints(db: DbSession) -> list[WebhookEndpointOut]:
        rows = await db.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at))
        return [WebhookEndpointOut.of(row) for row in rows]

    @v1.get("/webhook-endpoints/{endpoint_id}")
    async def get_endpoint(endpoint_id: UUID, db: DbSession) -> WebhookEndpointOut:
        return WebhookEndpointOut.of(await endpoint_or_404(db, endpoint_id))

    @v1.delete("/webhook-endpoints/{endpoint_id}", status_code=204)
    async def delete_endpoint(endpoint_id: UUID, db: DbSession) -> None:
        endpoint = await endpoint_or_404(db, endpoint_id)
        await cancel_for_endpoint_deleted(db, endpoint_id=endpoint_id, now=clock())
        await db.delete(endpoint)

    @v1.post("/webhook-endpoints/{endpoint_id}/rotate-secret")
    async def rotate_secret(endpoint_id: UUID, db: DbSession) -> WebhookEndpointWithSecret:
        """The new secret signs first; the previous one keeps signing until the next rotation."""
        endpoint = await endpoint_or_404(db, endpoint_id)
        secret = new_webhook_secret()
        endpoint.secrets = [secret, endpoint.secrets[0]]
        endpoint.updated_at = clock()
        await db.flush()
        return WebhookEndpointWithSecret(
            **WebhookEndpointOut.of(endpoint).model_dump(), secret=secret
        )

    @v1.post("/webhook-endpoints/{endpoint_id}/enable")
    async def enable_endpoint(endpoint_id: UUID, db: DbSession) -> WebhookEndpointOut:
        endpoint = await endpoint_or_404(db, endpoint_id)
        endpoint.enabled, endpoint.disabled_reason, endpoint.updated_at = True, None, clock()
        await db.flush()
        on_ledger_changed()
        return WebhookEndpointOut.of(endpoint)

    @v1.get("/deliveries")
    async def list_deliveries(
        db: DbSession,
        notice_id: UUID | None = None,
        user_id: UUID | None = None,
        channel: Channel | None = None,
        delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[DeliveryOut]:
        query = select(Delivery).order_by(Delivery.created_at, Delivery.id).limit(limit)
        if notice_id:
            query = query.where(Delivery.notice_id == notice_id)
        if user_id:
            query = query.where(
                Delivery.target_id == user_id, Delivery.channel == Channel.EMAIL.value
            )
        if channel:
            query = query.where(Delivery.channel == channel.value)
        if delivery_status:
            query = query.where(Delivery.status == delivery_status.value)
        rows = await db.scalars(query)
        return [DeliveryOut.model_validate(row, from_attributes=True) for row in rows]

    async def delivery_detail(db: AsyncSession, delivery_id: UUID) -> DeliveryDetail:
        delivery = await db.get(Delivery, delivery_id)
        if delivery is None:
            raise HTTPException(404, f"No delivery {delivery_id}.")
        attempts = await db.scalars(
            select(Attempt).where(Attempt.delivery_id == delivery_id).order_by(Attempt.id)
        )
        return DeliveryDetail(
            **DeliveryOut.model_validate(delivery, from_attributes=True).model_dump(),
            attempts=[AttemptOut.model_validate(a, from_attributes=True) for a in attempts],
        )

    @v1.get("/deliveries/{delivery_id}")
    async def get_delivery(delivery_id: UUID, db: DbSession) -> DeliveryDetail:
        return await delivery_detail(db, delivery_id)

    @v1.post("/deliveries/{delivery_id}/retry", status_code=202)
    async def retry_delivery(delivery_id: UUID, db: DbSession) -> DeliveryDetail:
        delivery = await db.get(Delivery, delivery_id)
        if delivery is None:
            raise HTTPException(404, f"No delivery {delivery_id}.")
        if delivery.status != DeliveryStatus.FAILED.value:
            raise HTTPException(
                409, f"Only a failed delivery can be retried; it is {delivery.status}."
            )
        now = clock()
        delivery.status, delivery.due_at, delivery.claimed_until = DeliveryStatus.PENDING, now, None
        # A fresh budget of attempts: the failed ones stay in the delivery's attempt history.
        delivery.attempt_count, delivery.updated_at = 0, now
        await db.flush()
        on_ledger_changed()
        return await delivery_detail(db, delivery_id)

    @v1.get("/notices/{notice_id}/acknowledgements")
    async def acknowledgements(notice_id: UUID, db: DbSession) -> list[Acknowledgement]:
        emails = await db.scalars(
            select(Delivery).where(
                Delivery.notice_id == notice_id, Delivery.channel == Channel.EMAIL.value
            )
        )
        reads = await db.scalars(select(Read).where(Read.notice_id == notice_id))
        # Recipients without email (or who opted out) have no delivery but are still owed.
        audience = await db.scalars(
            select(NoticeAudience.user_id).where(NoticeAudience.notice_id == notice_id)
        )
        notices: dict[UUID, Delivery] = {}
        reminders: dict[UUID, Delivery] = {}
        for delivery in emails:
            by_kind = reminders if delivery.kind == DeliveryKind.REMINDER.value else notices
            by_kind[delivery.target_id] = delivery
        read_at = {read.user_id: read.read_at for read in reads}
        users = sorted({*audience, *notices, *reminders, *read_at}, key=str)
        if not users:
            raise HTTPException(404, f"Nothing is known of notice {notice_id}.")
        return [
            Acknowledgement(
                user_id=user,
                delivery_status=notices[user].status if user in notices else None,
                delivered_at=notices[user].delivered_at if user in notices else None,
                reminders_sent=int(
                    user in reminders and reminders[user].status == DeliveryStatus.DELIVERED
                ),
                reminder_status=reminders[user].status if user in reminders else None,
                read_at=read_at.get(user),
            )
            for user in users
        ]

    def signed_link(user: UUID, category: str, sig: str) -> None:
        if not is_signed(secret=api_token, user_id=user, category=category, signature=sig):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "This unsubscribe link is not valid.")

    @api.get("/unsubscribe", include_in_schema=False, response_class=HTMLResponse)
    async def unsubscribe_page(user: UUID, category: str, sig: str) -> str:
        """The link in every email: a page that asks, since link scanners follow GETs."""
        signed_link(user, category, sig)
        return _page(
            f"Stop emails about {escape(category)}?",
            '<form method="post"><button type="submit">Unsubscribe</button></form>',
        )

    @api.post("/unsubscribe", include_in_schema=False, response_class=HTMLResponse)
    async def unsubscribe(user: UUID, category: str, sig: str, db: DbSession) -> str:
        """RFC 8058 one-click (mail clients POST ``List-Unsubscribe=One-Click``) and the page."""
        signed_link(user, category, sig)
        prefs = await db.get(Preferences, user)
        if prefs is None:
            prefs = Preferences(user_id=user, opt_outs={})
            db.add(prefs)
        email_opt_outs = {*prefs.opt_outs.get(Channel.EMAIL.value, []), category}
        # A new dict: the JSON column only notices an assignment.
        prefs.opt_outs = {**prefs.opt_outs, Channel.EMAIL.value: sorted(email_opt_outs)}
        prefs.updated_at = clock()
        await db.flush()
        return _page("Unsubscribed", f"You will get no more emails about {escape(category)}.")

    @v1.get("/recipients/{user_id}/preferences")
    async def get_preferences(user_id: UUID, db: DbSession) -> PreferencesBody:
        return _preferences_out(await db.get(Preferences, user_id))

    @v1.put("/recipients/{user_id}/preferences")
    async def put_preferences(
        user_id: UUID, body: PreferencesBody, db: DbSession
    ) -> PreferencesBody:
        prefs = await db.get(Preferences, user_id)
        if prefs is None:
            prefs = Preferences(user_id=user_id)
            db.add(prefs)
        prefs.opt_outs = {channel: sorted(set(cats)) for channel, cats in body.opt_outs.items()}
        prefs.quiet_hours_start = body.quiet_hours.start if body.quiet_hours else None
        prefs.quiet_hours_end = body.quiet_hours.end if body.quiet_hours else None
        prefs.updated_at = clock()
        await db.flush()
        return _preferences_out(prefs)

    api.include_router(v1)
    return api


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{body}</p></body></html>"
    )


def _preferences_out(prefs: Preferences | None) -> PreferencesBody:
    if prefs is None:
        return PreferencesBody()
    quiet = (
        QuietHours(start=prefs.quiet_hours_start, end=prefs.quiet_hours_end)
        if prefs.quiet_hours_start is not None and prefs.quiet_hours_end is not None
        else None
    )
    return PreferencesBody.model_validate({"opt_outs": prefs.opt_outs, "quiet_hours": quiet})
