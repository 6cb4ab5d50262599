from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.forms import ModelForm
from django.http import HttpRequest

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
