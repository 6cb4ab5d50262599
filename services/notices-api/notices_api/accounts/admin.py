from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.forms import ModelForm
from django.http import HttpRequest
from knox.models import AuthToken

from notices_api.accounts.models import User
from notices_api.accounts.services import recipient_changes_record, recipient_snapshot


@admin.register(User)
class UserAdmin(DjangoUserAdmin):  # type: ignore[type-arg]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("Delivery", {"fields": ("display_name", "timezone", "locale")}),
    )
    list_display = ("username", "email", "display_name", "is_active")

    def save_model(
        self, request: HttpRequest, obj: User, form: ModelForm[Any], change: bool
    ) -> None:
        # Edits made here reach the notifier like edits through the API.
        with transaction.atomic():
            before = None
            if change:
                locked = User.objects.select_for_update().get(pk=obj.pk)
                before = recipient_snapshot(locked)
                # save() writes every field: not the version read before the lock.
                obj.directory_version = locked.directory_version
            super().save_model(request, obj, form, change)
            recipient_changes_record(user=obj, before=before)


# knox's own admin lists each token's lookup prefix and shows a new token on creation;
# this one shows neither. Tokens are issued through the API, and revoked here by deletion.
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "created", "expiry")
    list_filter = ("expiry",)
    search_fields = ("user__username",)
    fields = ("user", "created", "expiry")
    readonly_fields = fields
    ordering = ("-created",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuthToken | None = None) -> bool:
        return False
