"""Forms of the task pages: field shapes and limits (the API's), the services validate
the rest. A form names the fields it edits (`fields`), so an inline title edit changes
only the title and needs only task.edit."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tenant_apps.tasks.filters import PRIORITY_BY_NAME
from tenant_apps.tasks.models import TaskStatus

TITLE_MAX = 255
DESCRIPTION_MAX = 100_000
COMMENT_MAX = 20_000
EDITABLE = (
    "title",
    "description",
    "status",
    "state",
    "priority",
    "due_date",
    "assignees",
    "labels",
    "parent",
    "estimate",
)


class _Limited(forms.CharField):
    """A CharField that names its limit when passed (a pasted megabyte says so)."""

    def __init__(self, *, limit: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.limit = limit

    def clean(self, value):
        if value and len(value) > self.limit:
            raise forms.ValidationError(
                _("At most %(limit)s characters (this has %(length)s).")
                % {"limit": f"{self.limit:,}", "length": f"{len(value):,}"},
                code="too_long",
            )
        return super().clean(value)


class TaskForm(forms.Form):
    title = _Limited(label=_("Title"), limit=TITLE_MAX, required=False, strip=True)
    description = _Limited(label=_("Description"), limit=DESCRIPTION_MAX, required=False, strip=False)
    status = forms.ChoiceField(label=_("Status"), choices=TaskStatus.choices, required=False)
    # One of the project's workflow states (its id); the form is built with them.
    state = forms.TypedChoiceField(label=_("Status"), coerce=int, required=False, empty_value=None)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=[(name, name) for name in PRIORITY_BY_NAME], required=False
    )
    due_date = forms.DateField(label=_("Due date"), required=False)
    assignees = forms.TypedMultipleChoiceField(label=_("Assignees"), coerce=int, required=False)
    labels = forms.TypedMultipleChoiceField(label=_("Labels"), coerce=int, required=False)
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    # A task key (WEB-7) in any project the person sees; empty: a top-level task. The
    # page resolves it (tenant_apps.tasks.permissions.task_reference_resolve).
    parent = forms.RegexField(
        label=_("Parent task"),
        regex=r"^\s*[A-Za-z][A-Za-z0-9]{1,9}-[1-9][0-9]{0,9}\s*$",
        required=False,
        max_length=30,
        error_messages={"invalid": _("Use a task key, e.g. WEB-7.")},
    )
    estimate = forms.DecimalField(label=_("Estimate"), required=False, min_value=0, max_digits=7, decimal_places=2)
    # Confirms closing a task whose sub-tasks are open.
    force = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, people=(), label_choices=(), states=(), editing=EDITABLE, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [(state.pk, state.name) for state in states]
        self.state_objects = {state.pk: state for state in states}
        self.fields["assignees"].choices = [(p.pk, p.display_name or p.email) for p in people]
        self.fields["labels"].choices = [(label.pk, label.name) for label in label_choices]
        self.editing = [name for name in editing if name in EDITABLE]
        self.people = {p.pk: p for p in people}
        self.label_objects = {label.pk: label for label in label_choices}

    def clean_title(self):
        title = self.cleaned_data.get("title", "")
        if "title" in self.editing and not title:
            raise forms.ValidationError(_("A task needs a title."), code="required")
        return title

    def service_data(self) -> dict:
        """The cleaned fields being edited, as task_create/task_update take them."""
        data = {}
        for name in self.editing:
            value = self.cleaned_data.get(name)
            if name == "priority":
                value = PRIORITY_BY_NAME.get(value or "none", 0)
            elif name == "status":
                value = value or TaskStatus.TODO
            elif name == "state":
                value = self.state_objects.get(value)
                if value is None:  # none chosen: the service's default (a new task)
                    continue
            elif name == "assignees":
                value = [self.people[pk] for pk in value or []]
            elif name == "labels":
                value = [self.label_objects[pk] for pk in value or []]
            elif name == "description":
                value = value or ""
            elif name == "parent":
                value = (value or "").strip().upper() or None
            data[name] = value
        return data


class CommentForm(forms.Form):
    body = _Limited(label=_("Comment"), limit=COMMENT_MAX, strip=True)


class SubtaskForm(forms.Form):
    title = _Limited(label=_("Sub-task title"), limit=TITLE_MAX, strip=True)


class TimeEntryForm(forms.Form):
    """Log time: a duration as people type it (90, 90m, 1h 30m, 1.5h), a day, a note."""

    duration = forms.CharField(label=_("Time spent"), max_length=20)
    date = forms.DateField(label=_("Day"))
    note = _Limited(label=_("Note"), limit=500, required=False, strip=True)

    def clean_duration(self):
        from tenant_apps.timetracking.selectors import duration_parse

        minutes = duration_parse(self.cleaned_data["duration"])
        if minutes is None or minutes < 1:
            raise forms.ValidationError(_("Type a duration such as 45m, 1h 30m or 1.5h."), code="invalid")
        return minutes
