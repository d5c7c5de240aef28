"""Custom fields of a project and their values on tasks.

One value table with a typed column per kind (docs/architecture.md, "Custom fields"):
a filter on a field is an index range scan on (field, value_<kind>, task) — the same
shape as a filter on a built-in column — instead of a cast over a JSON document."""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.tasks.models import Task


class FieldKind(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    SELECT = "select", _("Single select")
    MULTI_SELECT = "multi_select", _("Multi select")
    PERSON = "person", _("Person")
    CHECKBOX = "checkbox", _("Checkbox")
    URL = "url", _("URL")


# Which column of CustomFieldValue holds a kind's value.
VALUE_COLUMN = {
    FieldKind.TEXT: "value_text",
    FieldKind.URL: "value_text",
    FieldKind.NUMBER: "value_number",
    FieldKind.DATE: "value_date",
    FieldKind.SELECT: "value_option_id",
    FieldKind.MULTI_SELECT: "value_option_id",
    FieldKind.PERSON: "value_member_id",
    FieldKind.CHECKBOX: "value_bool",
}
SELECT_KINDS = (FieldKind.SELECT, FieldKind.MULTI_SELECT)


class CustomField(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="custom_fields")
    name = models.CharField(max_length=60)
    kind = models.CharField(max_length=16, choices=FieldKind.choices)
    # Shown on board cards and as a column of the list by default.
    on_cards = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint("project", Lower("name"), name="fields_customfield_project_name_ci_unique"),
            models.CheckConstraint(condition=Q(kind__in=FieldKind.values), name="fields_customfield_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class CustomFieldOption(models.Model):
    """A choice of a single or multi select field."""

    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="options")
    name = models.CharField(max_length=60)
    color = models.CharField(max_length=7, default="#8c959f")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint("field", Lower("name"), name="fields_option_field_name_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class CustomFieldValue(models.Model):
    """One value of one field on one task: exactly one typed column is set. A multi
    select holds one row per chosen option; every other kind one row per task at most.
    An unset value (and an unticked checkbox) is no row."""

    # Both served by the composite indexes below (task, field) and (field, ...): no
    # single-column ones.
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="custom_values", db_index=False)
    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="values", db_index=False)
    # 500 characters (at most 2,000 bytes) stay within a B-tree entry's limit. NULL, not
    # "": a row of another kind has no text at all.
    value_text = models.CharField(max_length=500, null=True, blank=True)  # noqa: DJ001
    value_number = models.FloatField(null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)
    value_bool = models.BooleanField(null=True, blank=True)
    value_option = models.ForeignKey(
        CustomFieldOption, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    value_member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["task", "field"], condition=Q(value_option__isnull=True), name="fields_value_task_field_unique"
            ),
            models.UniqueConstraint(
                fields=["task", "field", "value_option"],
                condition=Q(value_option__isnull=False),
                name="fields_value_task_field_option_unique",
            ),
        ]
        # One composite index per typed column, ending in task_id: a filter (equality,
        # range, any-of) and the ordering by a field read the index alone.
        indexes = [
            models.Index(fields=["field", "value_text", "task"], name="fields_value_text"),
            models.Index(fields=["field", "value_number", "task"], name="fields_value_number"),
            models.Index(fields=["field", "value_date", "task"], name="fields_value_date"),
            models.Index(fields=["field", "value_option", "task"], name="fields_value_option"),
            models.Index(fields=["field", "value_member", "task"], name="fields_value_member"),
            models.Index(fields=["field", "value_bool", "task"], name="fields_value_bool"),
            models.Index(fields=["task", "field"], name="fields_value_task_field"),
        ]

    def __str__(self) -> str:
        return f"field {self.field_id} on task {self.task_id}"
