from typing import Any

from django import forms


class PreferencesForm(forms.Form):
    """Email opt-outs over the user's categories, and quiet hours (both ends or neither)."""

    email_opt_outs = forms.MultipleChoiceField(
        label="No emails about",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    quiet_start = forms.TimeField(
        label="Quiet hours from",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_end = forms.TimeField(
        label="Quiet hours until",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )

    def __init__(self, *args: Any, categories: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["email_opt_outs"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(category, category) for category in categories]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (cleaned.get("quiet_start") is None) != (cleaned.get("quiet_end") is None):
            self.add_error("quiet_end", "Give both ends of the quiet hours, or neither.")
        return cleaned
