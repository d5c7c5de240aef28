"""Forms of the organisation pages (members, roles, audit log): field shapes only; the
services validate the rest (already a member, last owner, plan limits, role names) and
their errors land next to the fields."""

import re
from datetime import datetime, time, timedelta, tzinfo

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from shared_apps.audit.actions import ACTIONS
from shared_apps.tenants.models import OrgRole
from tenant_apps.projects.models import Role
from tenant_apps.projects.registry import PERMISSIONS

# At most this many addresses in one invitation form (each is one email sent).
INVITE_MAX_EMAILS = 20
_SEPARATORS = re.compile(r"[\s,;]+")


class InviteForm(forms.Form):
    emails = forms.CharField(
        label=_("Email addresses"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One or more, separated by commas, spaces or new lines."),
        error_messages={"required": _("Enter at least one email address.")},
    )
    role = forms.ChoiceField(label=_("Organisation role"), choices=OrgRole.choices, initial=OrgRole.MEMBER)

    def __init__(self, *args, may_grant_owner: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not may_grant_owner:
            self.fields["role"].choices = [c for c in OrgRole.choices if c[0] != OrgRole.OWNER]

    def clean_emails(self) -> list[str]:
        emails: list[str] = []
        for raw in _SEPARATORS.split(self.cleaned_data["emails"]):
            email = raw.strip().lower()
            if not email or email in emails:
                continue
            try:
                validate_email(email)
            except ValidationError as exc:
                raise ValidationError(
                    _("“%(email)s” is not an email address.") % {"email": email[:254]}, code="invalid"
                ) from exc
            emails.append(email)
        if not emails:
            raise ValidationError(_("Enter at least one email address."), code="required")
        if len(emails) > INVITE_MAX_EMAILS:
            raise ValidationError(
                _("At most %(count)d addresses at once.") % {"count": INVITE_MAX_EMAILS}, code="too_many"
            )
        return emails


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Organisation role"), choices=OrgRole.choices)


def permission_areas() -> list[tuple[str, list[tuple[str, str]]]]:
    """The registry's codes grouped by area (the part before the dot), in registry order:
    [("project", [("project.view", "See the project…"), …]), …]."""
    areas: dict[str, list[tuple[str, str]]] = {}
    for code, description in PERMISSIONS.items():
        areas.setdefault(code.split(".", 1)[0], []).append((code, description))
    return list(areas.items())


AREA_LABELS = {
    "project": _("Projects"),
    "task": _("Tasks"),
    "comment": _("Comments"),
    "attachment": _("Attachments"),
    "report": _("Reports"),
}


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"), choices=list(PERMISSIONS.items()), required=False, widget=forms.CheckboxSelectMultiple
    )


class RoleDeleteForm(forms.Form):
    reassign_to = forms.ModelChoiceField(
        label=_("Give its holders this role"), queryset=Role.objects.none(), required=False
    )

    def __init__(self, *args, role: Role, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reassign_to"].queryset = Role.objects.exclude(pk=role.pk).order_by("-is_builtin", "name")


class AuditFilterForm(forms.Form):
    """The audit page's filters; `filters()` turns them into audit_entries' filters."""

    actor = forms.TypedChoiceField(label=_("Who"), coerce=int, required=False, empty_value=None)
    action = forms.ChoiceField(label=_("Action"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, people: list[tuple[int, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", _("Anyone")), *people]
        self.fields["action"].choices = [("", _("Any action")), *((code, code) for code in sorted(ACTIONS))]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date must not be before the start date."))
        return data

    def filters(self, zone: tzinfo) -> dict:
        """Dates are whole days in `zone` (the organisation's time zone)."""
        data = self.cleaned_data
        filters: dict = {"actor": data.get("actor"), "action": data.get("action") or None}
        if data.get("date_from"):
            filters["created_after"] = datetime.combine(data["date_from"], time.min, tzinfo=zone)
        if data.get("date_to"):
            filters["created_before"] = datetime.combine(data["date_to"] + timedelta(days=1), time.min, tzinfo=zone)
        return filters
