"""recipient.updated: the local directory of where each user can be reached."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from notices_contracts import RecipientUpdatedV1
from notifier.handlers.context import EventContext
from notifier.handlers.notices import deliver_to_latecomer
from notifier.store.models import Recipient
from notifier.store.upsert import insert


def _reachable_by_email(recipient: Recipient | None) -> bool:
    return recipient is not None and bool(recipient.email) and recipient.is_active


async def handle_recipient_updated(
    session: AsyncSession, *, data: RecipientUpdatedV1, context: EventContext, now: datetime
) -> None:
    before = _reachable_by_email(await session.get(Recipient, data.user_id))
    values = {
        "email": data.email,
        "display_name": data.display_name,
        "timezone": data.timezone,
        "locale": data.locale,
        "is_active": data.is_active,
        "source_time": context.time,
    }
    statement = insert(session, Recipient).values(user_id=data.user_id, **values)
    # An older update arriving late must not overwrite a newer one.
    statement = statement.on_conflict_do_update(
        index_elements=["user_id"],
        set_=values,
        where=Recipient.source_time <= context.time,
    )
    await session.execute(statement)
    after = _reachable_by_email(await session.get(Recipient, data.user_id, populate_existing=True))
    # Events of different aggregates are not ordered: the notice.published that
    # names this user may have come first and found no way to email them.
    if after and not before:
        await deliver_to_latecomer(session, user_id=data.user_id, context=context, now=now)
