"""/v1/deliveries: the ledger's rows, one with its attempts, and the retry of a failed one."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from notifier.api.auth import require_bearer_token
from notifier.api.context import StoreDep
from notifier.api.problems import NOT_FOUND, STATE_CONFLICT, UNAUTHORIZED, ProblemKind
from notifier.api.schemas import DeliveryDetail, DeliveryOut
from notifier.ledger import operator
from notifier.store.models import Channel, DeliveryStatus

PROBLEMS: dict[type[Exception], ProblemKind] = {
    operator.DeliveryNotFoundError: NOT_FOUND,
    operator.DeliveryNotRetryableError: STATE_CONFLICT,
}
_UNKNOWN = NOT_FOUND.response("No such delivery.")

router = APIRouter(
    prefix="/v1/deliveries",
    tags=["deliveries"],
    dependencies=[Depends(require_bearer_token)],
    responses=UNAUTHORIZED,
)


@router.get("")
async def list_deliveries(
    store: StoreDep,
    notice_id: UUID | None = None,
    user_id: UUID | None = None,
    channel: Channel | None = None,
    delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    async with store.transaction() as session:
        deliveries = await operator.list_deliveries(
            session,
            notice_id=notice_id,
            user_id=user_id,
            channel=channel,
            status=delivery_status,
            limit=limit,
        )
    return [DeliveryOut.model_validate(row, from_attributes=True) for row in deliveries]


@router.get("/{delivery_id}", responses=_UNKNOWN)
async def get_delivery(delivery_id: UUID, store: StoreDep) -> DeliveryDetail:
    async with store.transaction() as session:
        history = await operator.delivery_history(session, delivery_id=delivery_id)
    return DeliveryDetail.of(history)


@router.post(
    "/{delivery_id}/retry",
    status_code=202,
    responses={**_UNKNOWN, **STATE_CONFLICT.response("The delivery has not failed.")},
)
async def retry_delivery(delivery_id: UUID, store: StoreDep) -> DeliveryDetail:
    """Failed only: due now, with a fresh budget of attempts (the failed ones stay listed)."""
    async with store.transaction() as session:
        history = await operator.retry_failed_delivery(
            session, delivery_id=delivery_id, now=store.clock()
        )
    store.on_ledger_changed()
    return DeliveryDetail.of(history)
