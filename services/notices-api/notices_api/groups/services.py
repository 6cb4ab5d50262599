"""Writes on recipient groups. Groups emit no events: audiences are frozen at publish.

Every publisher may read and address any group; changing one is for its owner and for
holders of ``groups.manage_all_groups`` (see may_manage_group).
"""

from collections.abc import Iterable

from django.db import transaction

from notices_api.accounts.models import User
from notices_api.core.exceptions import ActionForbiddenError
from notices_api.groups.models import MANAGE_ALL_GROUPS_PERMISSION, RecipientGroup


def may_manage_group(*, user: User, group: RecipientGroup) -> bool:
    """The one rule for renaming, deleting and changing the members of a group."""
    owns = group.owner_id is not None and group.owner_id == user.pk
    return owns or user.has_perm(MANAGE_ALL_GROUPS_PERMISSION)


def _ensure_may_manage(*, group: RecipientGroup, actor: User) -> None:
    if not may_manage_group(user=actor, group=group):
        raise ActionForbiddenError("Only the owner of a group can change it.")


def group_create(*, name: str, description: str = "", owner: User) -> RecipientGroup:
    group = RecipientGroup(name=name, description=description, owner=owner)
    group.full_clean()
    group.save()
    return group


def group_update(
    *,
    group: RecipientGroup,
    actor: User,
    name: str | None = None,
    description: str | None = None,
) -> RecipientGroup:
    _ensure_may_manage(group=group, actor=actor)
    if name is not None:
        group.name = name
    if description is not None:
        group.description = description
    group.full_clean()
    group.save()
    return group


def group_delete(*, group: RecipientGroup, actor: User) -> None:
    _ensure_may_manage(group=group, actor=actor)
    group.delete()


def group_members_add(*, group: RecipientGroup, actor: User, users: Iterable[User]) -> None:
    _ensure_may_manage(group=group, actor=actor)
    with transaction.atomic():
        group.members.add(*users)
        group.save(update_fields=["updated_at"])


def group_member_remove(*, group: RecipientGroup, actor: User, user: User) -> None:
    _ensure_may_manage(group=group, actor=actor)
    with transaction.atomic():
        group.members.remove(user)
        group.save(update_fields=["updated_at"])
