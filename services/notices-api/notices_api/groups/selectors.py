from collections.abc import Collection
from uuid import UUID

from django.shortcuts import get_object_or_404

from notices_api.accounts.models import User, UserQuerySet
from notices_api.core.exceptions import InvalidInputError
from notices_api.groups.models import RecipientGroup, RecipientGroupQuerySet


def group_list(*, search: str | None = None) -> RecipientGroupQuerySet:
    groups = RecipientGroup.objects.with_member_count()
    return groups.search(search) if search else groups


def group_get(*, group_id: UUID) -> RecipientGroup:
    return get_object_or_404(RecipientGroup.objects.with_member_count(), pk=group_id)


def group_members(*, group: RecipientGroup) -> UserQuerySet:
    return User.objects.get_queryset().filter(recipient_groups=group)


def groups_by_ids(*, group_ids: Collection[UUID], field: str) -> list[RecipientGroup]:
    """The groups with these ids, in one query; unknown ids are an input error."""
    groups = list(RecipientGroup.objects.filter(pk__in=set(group_ids)))
    missing = set(group_ids) - {group.pk for group in groups}
    if missing:
        raise InvalidInputError(
            "Some groups do not exist.",
            field_errors={
                field: [f"No group with id {group_id}." for group_id in sorted(map(str, missing))]
            },
        )
    return groups
