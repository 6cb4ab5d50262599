from django.contrib import admin
from django.http import HttpRequest

from notices_api.notices.models import Notice


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: every change of a notice goes through its services, which record events."""

    list_display = ("title", "status", "category", "author", "published_at")
    list_filter = ("status", "category", "urgent")
    search_fields = ("title",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notice | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Notice | None = None) -> bool:
        return False
