from django.conf import settings
from django.db import models
from django.db.models import Count
from uuid6 import uuid7


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
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RecipientGroupQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
