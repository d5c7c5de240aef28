"""Forms of the custom fields settings page: field shapes only; the services validate
the rest and their errors land next to the fields."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tenant_apps.fields.models import FieldKind


def option_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class FieldCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), choices=FieldKind.choices)
    options = forms.CharField(
        label=_("Options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Select fields: one option per line."),
    )
    on_cards = forms.BooleanField(label=_("Show on cards and in the list"), required=False)


class FieldUpdateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    options = forms.CharField(label=_("Options"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    on_cards = forms.BooleanField(label=_("Show on cards and in the list"), required=False)
