from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models, transaction
from django.dispatch import Signal
from uuid6 import uuid7

from notices_api.accounts.validators import validate_locale, validate_timezone

PUBLISH_PERMISSION_CODENAME = "publish_notices"
PUBLISH_PERMISSION = f"accounts.{PUBLISH_PERMISSION_CODENAME}"

# Sent with ``user`` in the transaction that creates a user through the manager
# (createsuperuser, scripts); the accounts app announces that user to the notifier.
user_created = Signal()


class UserQuerySet(models.QuerySet["User"]):
    def active(self) -> "UserQuerySet":
        return self.filter(is_active=True)

    def search(self, text: str) -> "UserQuerySet":
        return self.filter(
            models.Q(username__icontains=text)
            | models.Q(display_name__icontains=text)
            | models.Q(email__icontains=text)
        )


class UserManager(DjangoUserManager["User"]):
    """Django's user manager (create_user, ...) whose querysets are ``UserQuerySet``."""

    def get_queryset(self) -> UserQuerySet:
        return UserQuerySet(self.model, using=self._db)

    def active(self) -> UserQuerySet:
        return self.get_queryset().active()

    def _create_user(
        self, username: str, email: str | None, password: str | None, **extra_fields: Any
    ) -> "User":
        # createsuperuser and scripts create users here, not through user_create; the
        # notifier must hear of those users too (``user_created``).
        with transaction.atomic(using=self._db):
            # Private in Django, absent from the stubs; both create_user and
            # create_superuser go through it.
            user: User = super()._create_user(  # type: ignore[misc]
                username, email, password, **extra_fields
            )
            user_created.send(sender=self.model, user=user)
        return user


class User(AbstractUser):
    """The custom user, in place from the first migration. Public id: a UUID.

    Publishers hold the ``publish_notices`` permission (not ``is_staff``): they
    manage groups and write notices. Everyone else is a recipient.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    display_name = models.CharField(max_length=150, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    locale = models.CharField(max_length=16, default="en", validators=[validate_locale])
    # Raised in the transaction of each change announced in recipient.updated (1: as
    # created), so the notifier orders this user's events without trusting host clocks.
    directory_version = models.PositiveIntegerField(default=1, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined,misc]
        permissions = [(PUBLISH_PERMISSION_CODENAME, "Can manage groups and publish notices")]

    def __str__(self) -> str:
        return self.username

    @property
    def is_publisher(self) -> bool:
        return self.has_perm(PUBLISH_PERMISSION)
