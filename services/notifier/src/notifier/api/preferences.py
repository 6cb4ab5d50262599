"""/v1/recipients/{user_id}/preferences: opt-outs per channel and quiet hours.

A user the notifier has no preferences for has none: no opt-outs, no quiet hours.
"""

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.api.auth import require_bearer_token
from notifier.api.context import StoreDep
from notifier.api.problems import UNAUTHORIZED
from notifier.api.schemas import PreferencesBody, QuietHours
from notifier.store.models import Channel, Preferences

router = APIRouter(
    prefix="/v1/recipients",
    tags=["preferences"],
    dependencies=[Depends(require_bearer_token)],
    responses=UNAUTHORIZED,
)


@router.get("/{user_id}/preferences")
async def get_preferences(user_id: UUID, store: StoreDep) -> PreferencesBody:
    async with store.transaction() as session:
        preferences = await session.get(Preferences, user_id)
    return _body_of(preferences)


@router.put("/{user_id}/preferences")
async def put_preferences(user_id: UUID, body: PreferencesBody, store: StoreDep) -> PreferencesBody:
    async with store.transaction() as session:
        preferences = await replace(session, user_id=user_id, body=body, now=store.clock())
    return _body_of(preferences)


async def replace(
    session: AsyncSession, *, user_id: UUID, body: PreferencesBody, now: datetime
) -> Preferences:
    """All of the user's preferences become ``body``; each opt-out list sorted, once each."""
    preferences = await _preferences_or_new(session, user_id=user_id)
    preferences.opt_outs = {channel: sorted(set(cats)) for channel, cats in body.opt_outs.items()}
    quiet = body.quiet_hours
    preferences.quiet_hours_start, preferences.quiet_hours_end = (
        (quiet.start, quiet.end) if quiet else (None, None)
    )
    preferences.updated_at = now
    await session.flush()
    return preferences


async def opt_out_of_email(
    session: AsyncSession, *, user_id: UUID, category: str, now: datetime
) -> None:
    """Adds one category to the user's email opt-outs; the others stay as they are."""
    preferences = await _preferences_or_new(session, user_id=user_id)
    email_opt_outs = {*preferences.opt_outs.get(Channel.EMAIL.value, []), category}
    # A new dict: the JSON column only notices an assignment.
    preferences.opt_outs = {**preferences.opt_outs, Channel.EMAIL.value: sorted(email_opt_outs)}
    preferences.updated_at = now
    await session.flush()


async def _preferences_or_new(session: AsyncSession, *, user_id: UUID) -> Preferences:
    preferences = await session.get(Preferences, user_id)
    if preferences is None:
        preferences = Preferences(user_id=user_id, opt_outs={})
        session.add(preferences)
    return preferences


def _body_of(preferences: Preferences | None) -> PreferencesBody:
    if preferences is None:
        return PreferencesBody()
    start, end = preferences.quiet_hours_start, preferences.quiet_hours_end
    quiet = QuietHours(start=start, end=end) if start is not None and end is not None else None
    return PreferencesBody.model_validate({"opt_outs": preferences.opt_outs, "quiet_hours": quiet})
