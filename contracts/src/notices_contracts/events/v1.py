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

    notice_id: Annotated[UUID, Field(description="The notice (the event's subject).")]
    version: Annotated[
        int,
        Field(ge=1, description="Revision number of the notice, starting at 1."),
    ]
    title: NonEmptyText
    summary: Annotated[str, Field(description="Plain-text teaser; may be empty.")]
    category: Annotated[NonEmptyText, Field(description="Free-form category label.")]
    urgent: Annotated[bool, Field(description="Marked urgent by its author.")]
    published_at: AwareDatetime
    visible_from: Annotated[AwareDatetime, Field(description="Start of the visibility window.")]
    visible_until: Annotated[
        AwareDatetime | None,
        Field(description="End of the visibility window; null: no end."),
    ]
    author_id: Annotated[UUID, Field(description="The user who published the notice.")]
    recipient_ids: Annotated[
        list[UUID],
        Field(description="Every user the notice is for, frozen at publish time."),
    ]
    group_ids: Annotated[
        list[UUID],
        Field(description="The groups the audience was resolved from."),
    ]
    remind_after_seconds: Annotated[
        Annotated[int, Field(ge=1)] | None,
        Field(description="Remind who has not read it after this many seconds; null: never."),
    ]
    url: Annotated[NonEmptyText, Field(description="Where a recipient reads the notice.")]


class NoticeReadV1(ContractModel):
    """A user read a notice for the first time (emitted once per notice and user)."""

    notice_id: Annotated[UUID, Field(description="The notice (the event's subject).")]
    user_id: Annotated[UUID, Field(description="The reader.")]
    read_at: AwareDatetime


class NoticeArchivedV1(ContractModel):
    """A notice was archived: whatever is still pending for it is cancelled."""

    notice_id: Annotated[UUID, Field(description="The notice (the event's subject).")]
    archived_at: AwareDatetime


class RecipientUpdatedV1(ContractModel):
    """Where and how a user can be reached, keyed by user id."""

    user_id: Annotated[UUID, Field(description="The user (the event's subject).")]
    email: Annotated[str | None, Field(description="Email address; null: none known.")]
    display_name: Annotated[str, Field(description="Name used in greetings; may be empty.")]
    timezone: Annotated[NonEmptyText, Field(description="IANA time zone name, e.g. Europe/Vienna.")]
    locale: Annotated[NonEmptyText, Field(description="BCP 47 language tag, e.g. de-AT.")]
    is_active: Annotated[bool, Field(description="False once the account is deactivated.")]
    # Optional (added after release): messages without them are still valid.
    version: Annotated[
        Annotated[int, Field(ge=1)] | None,
        Field(
            description=(
                "The user's directory version, one higher with each change: the highest wins. "
                "Null or absent: from a producer that predates it (the event time decides)."
            )
        ),
    ] = None
    deleted: Annotated[
        bool,
        Field(
            description=(
                "The user was deleted: forget their address and cancel what is pending for "
                "them. Such an event also has no email and is not active."
            )
        ),
    ] = False
