"""The console's forms. Each validates its fields, then hands the change to the service
layer; a rule the service refuses comes back as an error next to its field."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.template.defaultfilters import pluralize

from notices_api.accounts.models import User
from notices_api.accounts.selectors import user_list
from notices_api.core.exceptions import ApplicationError
from notices_api.groups.models import RecipientGroup
from notices_api.groups.selectors import group_list, group_members
from notices_api.groups.services import group_create, group_members_add, group_update
from notices_api.notices.models import MAX_REMIND_AFTER_SECONDS, Notice
from notices_api.notices.services import DraftChanges, notice_draft_create, notice_draft_update

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _model_field(model: type[models.Model], name: str, **options: Any) -> Any:
    """The form field of a model column: one source for lengths and required-ness."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field.formfield(**options)


def remind_after_minutes(notice: Notice) -> int | None:
    """The console speaks of reminder delays in whole minutes."""
    seconds = notice.remind_after_seconds
    return seconds // 60 if seconds else None


class _DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format=DATETIME_LOCAL)


class UserChoice(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name or obj.username} ({obj.username})"


class GroupChoice(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.member_count} member{pluralize(obj.member_count)})"


class AudienceForm(forms.Form):
    groups = GroupChoice(queryset=group_list(), required=False, widget=forms.CheckboxSelectMultiple)
    users = UserChoice(
        queryset=user_list().order_by("username"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class NoticeForm(AudienceForm):
    field_order = ["title", "body", "category", "urgent", "visible_from", "visible_until"]

    title = _model_field(Notice, "title")
    body = _model_field(Notice, "body", widget=forms.Textarea(attrs={"rows": 8}))
    category = _model_field(Notice, "category")
    urgent = _model_field(Notice, "urgent", help_text="Urgent notices are shown first and marked.")
    visible_from = forms.DateTimeField(
        required=False,
        widget=_DateTimeLocal(),
        label="Visible from (UTC)",
        help_text="Empty: from the moment it is published.",
    )
    visible_until = forms.DateTimeField(
        required=False,
        widget=_DateTimeLocal(),
        label="Visible until (UTC)",
        help_text="Empty: until it is archived.",
    )
    remind_after_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_REMIND_AFTER_SECONDS // 60,
        label="Remind unread after (minutes)",
        help_text="Empty: no reminder.",
    )

    @classmethod
    def for_notice(cls, notice: Notice, data: Any = None) -> "NoticeForm":
        initial = {
            "title": notice.title,
            "body": notice.body,
            "category": notice.category,
            "urgent": notice.urgent,
            "visible_from": notice.visible_from,
            "visible_until": notice.visible_until,
            "remind_after_minutes": remind_after_minutes(notice),
            "users": list(notice.audience_users.all()),
            "groups": list(notice.audience_groups.all()),
        }
        return cls(data, initial=initial)

    def save(self, *, actor: User, notice: Notice | None = None) -> Notice | None:
        """The created or updated draft; None when the service refused (errors added)."""
        data = self.cleaned_data
        minutes = data["remind_after_minutes"]
        content: DraftChanges = {
            "title": data["title"],
            "body": data["body"],
            "category": data["category"],
            "urgent": data["urgent"],
            "visible_from": data["visible_from"],
            "visible_until": data["visible_until"],
            "remind_after_seconds": minutes * 60 if minutes else None,
            "audience_users": list(data["users"]),
            "audience_groups": list(data["groups"]),
        }
        try:
            if notice is None:
                return notice_draft_create(author=actor, **content)
            return notice_draft_update(notice=notice, actor=actor, **content)
        except ApplicationError as error:
            add_service_errors(self, error)
            return None


def add_service_errors(form: forms.Form, error: ApplicationError) -> None:
    fields = {
        name: messages for name, messages in error.field_errors.items() if name in form.fields
    }
    for name, texts in fields.items():
        for text in texts:
            form.add_error(name, text)
    if not fields:
        form.add_error(None, error.detail)


class GroupForm(forms.Form):
    name = _model_field(RecipientGroup, "name")
    description = _model_field(RecipientGroup, "description")

    def save(self, *, actor: User, group: RecipientGroup | None = None) -> RecipientGroup | None:
        try:
            if group is None:
                return group_create(owner=actor, **self.cleaned_data)
            return group_update(group=group, actor=actor, **self.cleaned_data)
        except ValidationError as error:
            self.add_error(None, error)
            return None


class GroupMembersForm(forms.Form):
    users = UserChoice(queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, group: RecipientGroup, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group = group
        field = self.fields["users"]
        assert isinstance(field, UserChoice)
        field.queryset = user_list().exclude(pk__in=group_members(group=group)).order_by("username")

    def save(self, *, actor: User) -> None:
        group_members_add(group=self.group, actor=actor, users=self.cleaned_data["users"])
