from collections.abc import Collection
from uuid import UUID

from notices_api.accounts.models import User, UserQuerySet
from notices_api.core.exceptions import InvalidInputError


def user_list(*, search: str | None = None) -> UserQuerySet:
    """Active users a publisher can address, optionally matching ``search``."""
    users = User.objects.active()
    return users.search(search) if search else users


def active_users_by_ids(*, user_ids: Collection[UUID], field: str) -> list[User]:
    """The active users with these ids, in one query; unknown ids are an input error."""
    users = list(User.objects.active().filter(pk__in=set(user_ids)))
    missing = set(user_ids) - {user.pk for user in users}
    if missing:
        raise InvalidInputError(
            "Some users do not exist or are not active.",
            field_errors={
                field: [
                    f"No active user with id {user_id}." for user_id in sorted(map(str, missing))
                ]
            },
        )
    return users
