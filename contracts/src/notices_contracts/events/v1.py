"""Version 1 of the notices event data.

A published version only ever gains optional fields. Removing, renaming or
retyping a field, or making one required, is a new version (``v2``) published
beside this one until every consumer has moved (see contracts/README.md).
"""

from typing import Annotated
from uuid import UUID

from pydantic import Field

from notices_contracts.base import AwareDatetime, ContractModel

NonEmptyText = Annotated[str, Field(min_length=1)]


class NoticePublishedV1(ContractModel):
    """A notice went out; its audience is frozen to ``recipient_ids``."""

    notice_id: UUID
    version: Annotated[int, Field(ge=1)]
    title: NonEmptyText
    summary: str
    category: NonEmptyText
    urgent: bool
    published_at: AwareDatetime
    visible_from: AwareDatetime
    visible_until: AwareDatetime | None
    author_id: UUID
    recipient_ids: list[UUID]
    group_ids: list[UUID]
    remind_after_seconds: Annotated[int, Field(ge=1)] | None
    url: NonEmptyText


class NoticeReadV1(ContractModel):
    """A user read a notice for the first time (emitted once per notice and user)."""

    notice_id: UUID
    user_id: UUID
    read_at: AwareDatetime


class NoticeArchivedV1(ContractModel):
    """A notice was archived: whatever is still pending for it is cancelled."""

    notice_id: UUID
    archived_at: AwareDatetime


class RecipientUpdatedV1(ContractModel):
    """Where and how a user can be reached, keyed by user id."""

    user_id: UUID
    email: str | None
    display_name: str
    timezone: NonEmptyText
    locale: NonEmptyText
    is_active: bool
