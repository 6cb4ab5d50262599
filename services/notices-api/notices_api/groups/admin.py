from django.contrib import admin

from notices_api.groups.models import RecipientGroup


@admin.register(RecipientGroup)
class RecipientGroupAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "description", "owner", "created_at")
    search_fields = ("name",)
    filter_horizontal = ("members",)
