from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from uuid6 import uuid7

from notices_api.accounts.validators import validate_locale, validate_timezone

PUBLISH_PERMISSION_CODENAME = "publish_notices"
PUBLISH_PERMISSION = f"accounts.{PUBLISH_PERMISSION_CODENAME}"


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


class User(AbstractUser):
    """The custom user, in place from the first migration. Public id: a UUID.

    Publishers hold the ``publish_notices`` permission (not ``is_staff``): they
    manage groups and write notices. Everyone else is a recipient.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    display_name = models.CharField(max_length=150, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    locale = models.CharField(max_length=16, default="en", validators=[validate_locale])

    objects: ClassVar[UserManager] = UserManager()

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined,misc]
        permissions = [(PUBLISH_PERMISSION_CODENAME, "Can manage groups and publish notices")]

    def __str__(self) -> str:
        return self.username

    @property
    def is_publisher(self) -> bool:
        return self.has_perm(PUBLISH_PERMISSION)
