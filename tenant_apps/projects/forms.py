"""Forms of the project pages: field shapes only; the services validate the rest (key
taken, plan limits) and their errors land next to the fields."""

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, Role, TaskStatus


class ProjectCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    key = forms.CharField(
        label=_("Key"),
        max_length=10,
        required=False,
        help_text=_(
            "2 to 10 capital letters or digits, starting with a letter: task numbers read KEY-1. "
            "Leave empty to use the suggestion."
        ),
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_key(self) -> str:
        return (self.cleaned_data.get("key") or "").strip().upper()


class ProjectDeleteForm(forms.Form):
    confirm = forms.CharField(label=_("Type the project key to confirm"), max_length=10)

    def __init__(self, *args, project: Project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.project = project


# --- Project settings (settings_pages.py) -----------------------------------------------

_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour is written #rrggbb."))


class ProjectSettingsForm(forms.Form):
    """Name, description and lead. The key is shown, not edited: task numbers use it
    (project_update keeps it fixed)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    lead = forms.ModelChoiceField(label=_("Lead"), queryset=Member.objects.none(), required=False)

    def __init__(self, *args, project: Project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The lead must be a member of the project (project_update checks it again).
        self.fields["lead"].queryset = Member.objects.filter(
            project_memberships__project=project, is_active=True
        ).order_by("display_name", "email")


class ProjectMemberAddForm(forms.Form):
    member = forms.ModelChoiceField(label=_("Person"), queryset=Member.objects.none())
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.all())

    def __init__(self, *args, project: Project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = (
            Member.objects.filter(is_active=True)
            .exclude(project_memberships__project=project)
            .order_by("display_name", "email")
        )


class ProjectMemberRoleForm(forms.Form):
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.all())


class LabelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    color = forms.CharField(label=_("Colour"), max_length=7, required=False, validators=[_COLOUR])


# --- Workflow states (issue 15) ---------------------------------------------------------


class WorkflowStateForm(forms.Form):
    """Add a state, or change one (name, colour, category). The services validate the
    rest (unique name in the project)."""

    name = forms.CharField(label=_("Name"), max_length=40)
    colour = forms.RegexField(label=_("Colour"), regex=r"^#[0-9a-fA-F]{6}$", required=False)
    category = forms.ChoiceField(label=_("Category"), choices=TaskStatus.choices)


class WorkflowStateDeleteForm(forms.Form):
    """Delete a state: where its tasks go (a state of the same project)."""

    move_to = forms.TypedChoiceField(label=_("Move its tasks to"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, states=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["move_to"].choices = [("", "—"), *((state.pk, state.name) for state in states)]
        self.state_objects = {state.pk: state for state in states}
