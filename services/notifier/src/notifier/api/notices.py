"""/v1/notices/{notice_id}/acknowledgements: where each recipient of a notice stands."""

from uuid import UUID

from fastapi import APIRouter, Depends

from notifier.api.auth import require_bearer_token
from notifier.api.context import StoreDep
from notifier.api.problems import NOT_FOUND, UNAUTHORIZED, ProblemKind
from notifier.api.schemas import Acknowledgement
from notifier.ledger import operator

PROBLEMS: dict[type[Exception], ProblemKind] = {operator.NoticeNotKnownError: NOT_FOUND}

router = APIRouter(
    prefix="/v1/notices",
    tags=["notices"],
    dependencies=[Depends(require_bearer_token)],
    responses=UNAUTHORIZED,
)


@router.get(
    "/{notice_id}/acknowledgements",
    responses=NOT_FOUND.response("The notifier knows nothing of this notice."),
)
async def acknowledgements(notice_id: UUID, store: StoreDep) -> list[Acknowledgement]:
    """Every recipient of the frozen audience, also those without an email."""
    async with store.transaction() as session:
        acknowledged = await operator.acknowledgements(session, notice_id=notice_id)
    return [Acknowledgement.model_validate(ack, from_attributes=True) for ack in acknowledged]
