from allauth.account.forms import SignupForm
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from shared_apps.tenants.models import Organization
from shared_apps.tenants.services import domain_for_slug, organization_create
from shared_apps.tenants.validators import SLUG_MAX_LENGTH, validate_slug


class OrganizationSignupForm(SignupForm):
    """allauth's sign-up (email, password twice) plus the organisation to create.

    Used by the HTML sign-up page and by `POST /api/v1/signup/`. `save()` must run in a
    transaction (both callers do): the user and the organisation are created together or
    not at all."""

    organization_name = forms.CharField(label=_("Organisation name"), max_length=200)
    slug = forms.CharField(
        label=_("Address"),
        max_length=SLUG_MAX_LENGTH,
        help_text=_("3 to 40 lowercase letters, digits and hyphens: your organisation will live at %(example)s")
        % {"example": domain_for_slug("your-address")},
    )

    field_order = ["email", "password1", "password2", "organization_name", "slug"]

    def clean_organization_name(self) -> str:
        name = self.cleaned_data["organization_name"].strip()
        if not name:
            raise ValidationError(_("The organisation needs a name."))
        return name

    def clean_slug(self) -> str:
        slug = validate_slug(self.cleaned_data["slug"])
        # Early, friendly answer; the database constraints decide concurrent sign-ups.
        if Organization.objects.filter(slug__iexact=slug).exists():
            raise ValidationError(_("The address “%(slug)s” is already taken.") % {"slug": slug}, code="slug_taken")
        return slug

    def save(self, request):
        user = super().save(request)
        self.organization = organization_create(
            slug=self.cleaned_data["slug"], name=self.cleaned_data["organization_name"], owner=user
        )
        return user
