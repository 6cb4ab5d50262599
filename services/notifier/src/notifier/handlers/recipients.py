"""recipient.updated: the local directory of where each user can be reached."""

from sqlalchemy.ext.asyncio import AsyncSession

from notices_contracts import RecipientUpdatedV1
from notifier.handlers.context import EventContext
from notifier.store.models import Recipient
from notifier.store.upsert import insert


async def handle_recipient_updated(
    session: AsyncSession, *, data: RecipientUpdatedV1, context: EventContext
) -> None:
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
