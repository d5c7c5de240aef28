"""The account pages' forms: they parse the request; the services decide."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shared_apps.accounts.models import ApiToken, User


class ProfileForm(forms.Form):
    full_name = forms.CharField(
        label=_("Display name"),
        max_length=User._meta.get_field("full_name").max_length,
        required=False,
        help_text=_("Shown to the people of every organisation you belong to."),
    )
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("As my browser asks")), *settings.LANGUAGES],
        help_text=_("The pages' and the emails' language."),
    )


# How long a new token lasts, in days (None: until revoked).
TOKEN_LIFETIMES = [("30", _("30 days")), ("90", _("90 days")), ("365", _("1 year")), ("never", _("No expiry"))]


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text=_("What the token is for, e.g. “CI deploy script”."),
    )
    lifetime = forms.ChoiceField(label=_("Expires"), choices=TOKEN_LIFETIMES, initial="30")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the token a name."))
        return name

    def expires_at(self):
        lifetime = self.cleaned_data["lifetime"]
        return None if lifetime == "never" else timezone.now() + timedelta(days=int(lifetime))


class TwoFactorRequirementForm(forms.Form):
    require_two_factor = forms.BooleanField(
        label=_("Require two-factor authentication of every member"),
        required=False,
        help_text=_(
            "Members without it are led to set up an authenticator app or a security key before they can go on; "
            "their API tokens are refused here until they have."
        ),
    )
