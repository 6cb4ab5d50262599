"""The outbox in Django admin: read-only, filterable, with a replay action for parked rows."""

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest

from notices_api.outbox.models import OutboxEvent, OutboxEventQuerySet
from notices_api.outbox.services import outbox_events_replay, outbox_events_skip

if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[OutboxEvent]
else:  # django.contrib.admin.ModelAdmin is generic only in django-stubs
    ModelAdmin = admin.ModelAdmin


@admin.register(OutboxEvent)
class OutboxEventAdmin(ModelAdmin):
    list_display = (
        "position",
        "event_type",
        "aggregate_id",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "published_at",
        "last_error",
    )
    list_filter = ("status", "event_type", "aggregate_type", "partition", "created_at")
    search_fields = ("=id", "=aggregate_id", "last_error")
    ordering = ("-position",)
    date_hierarchy = "created_at"
    actions = ("replay", "skip")
    readonly_fields = tuple(field.name for field in OutboxEvent._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Replay selected parked (failed) events")
    def replay(self, request: HttpRequest, queryset: OutboxEventQuerySet) -> None:
        replayed = outbox_events_replay(
            events=queryset, batch_size=settings.OUTBOX_RELAY.batch_size
        )
        self.message_user(request, f"Replayed {replayed} parked event(s).", messages.SUCCESS)

    @admin.action(description="Skip selected parked events (never publish; release their notice)")
    def skip(self, request: HttpRequest, queryset: OutboxEventQuerySet) -> None:
        skipped = outbox_events_skip(events=queryset)
        self.message_user(request, f"Skipped {skipped} parked event(s).", messages.SUCCESS)
