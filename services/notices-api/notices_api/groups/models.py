from django.conf import settings
from django.db import models
from django.db.models import Count
from uuid6 import uuid7

MANAGE_ALL_GROUPS_CODENAME = "manage_all_groups"
MANAGE_ALL_GROUPS_PERMISSION = f"groups.{MANAGE_ALL_GROUPS_CODENAME}"


class RecipientGroupQuerySet(models.QuerySet["RecipientGroup"]):
    def with_member_count(self) -> "RecipientGroupQuerySet":
        return self.annotate(member_count=Count("members", distinct=True))

    def search(self, text: str) -> "RecipientGroupQuerySet":
        return self.filter(name__icontains=text)


class RecipientGroup(models.Model):
    """A named set of users a publisher can address at once (resolved at publish)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=120, unique=True)
    description = models.CharField(max_length=500, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="recipient_groups", blank=True
    )
    # The publisher who created the group manages it; without an owner (creator deleted)
    # only holders of manage_all_groups may. Every publisher may still address any group.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RecipientGroupQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [(MANAGE_ALL_GROUPS_CODENAME, "Can rename, delete and change any group")]

    def __str__(self) -> str:
        return self.name
