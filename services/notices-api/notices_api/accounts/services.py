"""Writes on users. Every change the notifier must know about records ``recipient.updated``.

Each such change but the creation raises the user's directory version in its own
transaction, and the event carries it: the notifier keeps the highest. A deletion (of
one user, in bulk, or in the admin: all go through ``pre_delete``) is the last version,
marked ``deleted``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from knox.models import AuthToken

from notices_api.accounts.models import PUBLISH_PERMISSION_CODENAME, User
from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.services import outbox_event_record
from notices_contracts import RECIPIENT_UPDATED_V1, RecipientUpdatedV1


def recipient_snapshot(user: User) -> RecipientUpdatedV1:
    """What the notifier knows of a user: how and whether to reach them."""
    return RecipientUpdatedV1(
        user_id=user.id,
        email=user.email or None,
        display_name=user.display_name,
        timezone=user.timezone,
        locale=user.locale,
        is_active=user.is_active,
        version=user.directory_version,
    )


def _directory_version_raise(user: User) -> None:
    User.objects.filter(pk=user.pk).update(directory_version=F("directory_version") + 1)
    user.directory_version = User.objects.values_list("directory_version", flat=True).get(
        pk=user.pk
    )


def recipient_changes_record(*, user: User, before: RecipientUpdatedV1 | None) -> None:
    """Record ``recipient.updated`` for a new user (``before`` None) or a changed one."""
    if before is not None:
        if recipient_snapshot(user) == before:  # the version is raised below, not yet
            return
        _directory_version_raise(user)
    outbox_event_record(data=recipient_snapshot(user), aggregate_id=user.id)


def recipient_deletion_record(*, user: User) -> None:
    """Record the deletion of ``user``, in the transaction that deletes them."""
    _directory_version_raise(user)
    deleted = recipient_snapshot(user).model_copy(
        update={"email": None, "display_name": "", "is_active": False, "deleted": True}
    )
    outbox_event_record(data=deleted, aggregate_id=user.id)


def recipients_to_resync(*, since: datetime | None) -> QuerySet[User]:
    """Every user, or those whose ``recipient.updated`` the outbox recorded since ``since``
    (as far back as the outbox keeps published rows)."""
    users = User.objects.order_by("id")
    if since is None:
        return users
    changed = OutboxEvent.objects.filter(
        event_type=RECIPIENT_UPDATED_V1.type, created_at__gte=since
    ).values_list("aggregate_id", flat=True)
    return users.filter(id__in={UUID(user_id) for user_id in changed.distinct()})


def recipients_resync(
    *, users: QuerySet[User], batch_size: int, on_batch: Callable[[int], None]
) -> int:
    """Record ``recipient.updated`` with the current snapshot of each of ``users``, one
    transaction per batch (keyset on the id), so the notifier can rebuild its store.

    Each batch locks its users, ordering these events with concurrent profile changes as
    their commits are ordered. Returns how many events were recorded.
    """
    recorded = 0
    after: UUID | None = None
    while True:
        page = users.order_by("id")
        if after is not None:
            page = page.filter(id__gt=after)
        with transaction.atomic():
            batch = list(page.select_for_update()[:batch_size])
            for user in batch:
                outbox_event_record(data=recipient_snapshot(user), aggregate_id=user.id)
        if not batch:
            return recorded
        recorded += len(batch)
        after = batch[-1].id
        on_batch(len(batch))


def user_create(
    *,
    username: str,
    email: str,
    password: str | None = None,
    display_name: str = "",
    is_publisher: bool = False,
) -> User:
    user = User(username=username, email=email, display_name=display_name)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.full_clean(exclude=["password"])
    with transaction.atomic():
        user.save()
        if is_publisher:
            user.user_permissions.add(
                Permission.objects.get(
                    content_type__app_label="accounts", codename=PUBLISH_PERMISSION_CODENAME
                )
            )
        recipient_changes_record(user=user, before=None)
    return user


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileChanges:
    """Fields a user may change on themselves; None leaves a field as it is."""

    email: str | None = None
    display_name: str | None = None
    timezone: str | None = None
    locale: str | None = None


def user_profile_update(*, user: User, changes: ProfileChanges) -> User:
    with transaction.atomic():
        # The lock orders this user's recipient.updated events as their commits are ordered.
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = recipient_snapshot(locked)
        updated_fields = []
        for field in ("email", "display_name", "timezone", "locale"):
            value = getattr(changes, field)
            if value is not None and value != getattr(locked, field):
                setattr(locked, field, value)
                updated_fields.append(field)
        if updated_fields:
            locked.full_clean(exclude=["password"])
            locked.save(update_fields=updated_fields)
            recipient_changes_record(user=locked, before=before)
    return locked


def user_set_active(*, user: User, is_active: bool) -> User:
    """(De)activate a user; the notifier stops or resumes delivering to them."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = recipient_snapshot(locked)
        locked.is_active = is_active
        locked.save(update_fields=["is_active"])
        recipient_changes_record(user=locked, before=before)
    return locked


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedToken:
    """An API token as its holder gets it, once: the database keeps only its digest."""

    token: str
    expires_at: datetime


def auth_token_for(*, user: User) -> IssuedToken:
    """Issue ``user`` a new API token (expiring after ``REST_KNOX["TOKEN_TTL"]``), and forget
    their expired ones."""
    with transaction.atomic():
        AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        row, token = AuthToken.objects.create(user=user)
    return IssuedToken(token=token, expires_at=row.expiry)


def auth_token_revoke(*, token: AuthToken) -> None:
    """Sign out one token: it is refused from now on."""
    token.delete()


def auth_tokens_revoke_all(*, user: User) -> None:
    """Sign out every token of ``user``."""
    AuthToken.objects.filter(user=user).delete()
