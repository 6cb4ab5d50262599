"""Writes on recipient groups. Groups emit no events: audiences are frozen at publish."""

from collections.abc import Iterable

from django.db import transaction

from notices_api.accounts.models import User
from notices_api.groups.models import RecipientGroup


def group_create(*, name: str, description: str = "", created_by: User) -> RecipientGroup:
    group = RecipientGroup(name=name, description=description, created_by=created_by)
    group.full_clean()
    group.save()
    return group


def group_update(
    *, group: RecipientGroup, name: str | None = None, description: str | None = None
) -> RecipientGroup:
    if name is not None:
        group.name = name
    if description is not None:
        group.description = description
    group.full_clean()
    group.save()
    return group


def group_delete(*, group: RecipientGroup) -> None:
    group.delete()


def group_members_add(*, group: RecipientGroup, users: Iterable[User]) -> None:
    with transaction.atomic():
        group.members.add(*users)
        group.save(update_fields=["updated_at"])


def group_member_remove(*, group: RecipientGroup, user: User) -> None:
    with transaction.atomic():
        group.members.remove(user)
        group.save(update_fields=["updated_at"])
