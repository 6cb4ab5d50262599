"""/v1/webhook-endpoints: register, list, show, delete, rotate the secret, re-enable.

A secret is shown once, in the answer that made it. Deleting an endpoint
cancels what was still to be sent to it (``ledger.cancel``).
"""

from datetime import datetime
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.api.auth import require_bearer_token
from notifier.api.context import StoreDep
from notifier.api.problems import NOT_FOUND, UNAUTHORIZED, ProblemKind
from notifier.api.schemas import WebhookEndpointIn, WebhookEndpointOut, WebhookEndpointWithSecret
from notifier.channels.webhook import new_webhook_secret
from notifier.ledger.cancel import cancel_for_endpoint_deleted
from notifier.store.models import Channel, WebhookEndpoint
from notifier.store.wakeups import announce_due


class EndpointNotFoundError(Exception):
    def __init__(self, endpoint_id: UUID) -> None:
        super().__init__(f"No webhook endpoint {endpoint_id}.")


PROBLEMS: dict[type[Exception], ProblemKind] = {EndpointNotFoundError: NOT_FOUND}
_UNKNOWN = NOT_FOUND.response("No such webhook endpoint.")

router = APIRouter(
    prefix="/v1/webhook-endpoints",
    tags=["webhook endpoints"],
    dependencies=[Depends(require_bearer_token)],
    responses=UNAUTHORIZED,
)


@router.post("", status_code=201)
async def create_endpoint(body: WebhookEndpointIn, store: StoreDep) -> WebhookEndpointWithSecret:
    async with store.transaction() as session:
        endpoint = await register(
            session,
            url=str(body.url),
            description=body.description,
            event_types=list(dict.fromkeys(body.event_types)),
            now=store.clock(),
        )
    return WebhookEndpointWithSecret.of_new_secret(endpoint)


@router.get("")
async def list_endpoints(store: StoreDep) -> list[WebhookEndpointOut]:
    async with store.transaction() as session:
        endpoints = await all_endpoints(session)
    return [WebhookEndpointOut.of(endpoint) for endpoint in endpoints]


@router.get("/{endpoint_id}", responses=_UNKNOWN)
async def get_endpoint(endpoint_id: UUID, store: StoreDep) -> WebhookEndpointOut:
    async with store.transaction() as session:
        endpoint = await endpoint_or_error(session, endpoint_id=endpoint_id)
    return WebhookEndpointOut.of(endpoint)


@router.delete("/{endpoint_id}", status_code=204, responses=_UNKNOWN)
async def delete_endpoint(endpoint_id: UUID, store: StoreDep) -> None:
    async with store.transaction() as session:
        await delete(session, endpoint_id=endpoint_id, now=store.clock())


@router.post("/{endpoint_id}/rotate-secret", responses=_UNKNOWN)
async def rotate_secret(endpoint_id: UUID, store: StoreDep) -> WebhookEndpointWithSecret:
    """The new secret signs first; the previous one keeps signing until the next rotation."""
    async with store.transaction() as session:
        endpoint = await rotate(session, endpoint_id=endpoint_id, now=store.clock())
    return WebhookEndpointWithSecret.of_new_secret(endpoint)


@router.post("/{endpoint_id}/enable", responses=_UNKNOWN)
async def enable_endpoint(endpoint_id: UUID, store: StoreDep) -> WebhookEndpointOut:
    async with store.transaction() as session:
        endpoint = await enable(session, endpoint_id=endpoint_id, now=store.clock())
    store.on_ledger_changed()
    return WebhookEndpointOut.of(endpoint)


# --- the endpoints' rows -------------------------------------------------------------------


async def register(
    session: AsyncSession, *, url: str, description: str, event_types: list[str], now: datetime
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        id=uuid4(),
        url=url,
        description=description,
        secrets=[new_webhook_secret()],
        event_types=event_types,
        enabled=True,
        disabled_reason=None,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def all_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    return list(await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at)))


async def endpoint_or_error(session: AsyncSession, *, endpoint_id: UUID) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise EndpointNotFoundError(endpoint_id)
    return endpoint


async def delete(session: AsyncSession, *, endpoint_id: UUID, now: datetime) -> None:
    endpoint = await endpoint_or_error(session, endpoint_id=endpoint_id)
    await cancel_for_endpoint_deleted(session, endpoint_id=endpoint_id, now=now)
    await session.delete(endpoint)


async def rotate(session: AsyncSession, *, endpoint_id: UUID, now: datetime) -> WebhookEndpoint:
    endpoint = await endpoint_or_error(session, endpoint_id=endpoint_id)
    endpoint.secrets = [new_webhook_secret(), endpoint.secrets[0]]
    endpoint.updated_at = now
    await session.flush()
    return endpoint


async def enable(session: AsyncSession, *, endpoint_id: UUID, now: datetime) -> WebhookEndpoint:
    endpoint = await endpoint_or_error(session, endpoint_id=endpoint_id)
    endpoint.enabled, endpoint.disabled_reason, endpoint.updated_at = True, None, now
    await session.flush()
    await announce_due(session, [Channel.WEBHOOK])  # the deliveries that waited for it
    return endpoint
