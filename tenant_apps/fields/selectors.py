"""Reads of custom field values for other apps (reports, exports)."""

from dataclasses import dataclass

from django.db.models import CharField, DateField, Expression, FloatField, QuerySet
from django.utils.translation import gettext as _

from tenant_apps.fields.models import CustomField, FieldKind
from tenant_apps.projects.models import Project


@dataclass(frozen=True)
class FieldColumn:
    """One column of an export: the fields of that name and kind in the exported
    projects (a task has at most one of them, its own project's). `type` is how the
    report writers format it: text, float or date."""

    key: str
    label: str
    kind: str
    field_ids: tuple[int, ...]

    @property
    def type(self) -> str:
        return {FieldKind.NUMBER: "float", FieldKind.DATE: "date"}.get(self.kind, "text")

    def value(self) -> "TaskFieldValue":
        return TaskFieldValue(self.kind, self.field_ids)


def report_field_columns(projects: QuerySet[Project]) -> list[FieldColumn]:
    """The custom-field columns of an export over `projects`: one per field name and
    kind (case-insensitive name; "Severity" in two projects is one column, named as
    the first project by key names it), in the projects' key order and each project's
    field order. A name used with two kinds gets the kind in each label."""
    groups: dict[tuple[str, str], list[CustomField]] = {}
    fields = CustomField.objects.filter(project__in=projects.values("pk")).order_by("project__key", "position", "pk")
    for field in fields:
        groups.setdefault((field.name.lower(), field.kind), []).append(field)
    kinds_per_name: dict[str, int] = {}
    for name, _kind in groups:
        kinds_per_name[name] = kinds_per_name.get(name, 0) + 1
    columns = []
    for (name, kind), fields in groups.items():
        label = fields[0].name
        if kinds_per_name[name] > 1:
            label = f"{label} ({FieldKind(kind).label})"
        columns.append(FieldColumn(f"field_{fields[0].pk}", label, kind, tuple(field.pk for field in fields)))
    return columns


class TaskFieldValue(Expression):
    """A task's value of one of `field_ids` (typed: number as float, date as date,
    everything else as text — options and people by name, several options joined by
    ", " in their order, a ticked checkbox "Yes"): one correlated subquery on the
    value table's (task, field) index."""

    _VALUE = {
        FieldKind.NUMBER: "v.value_number",
        FieldKind.DATE: "v.value_date",
        FieldKind.TEXT: "v.value_text",
        FieldKind.URL: "v.value_text",
    }
    _FROM = "FROM fields_customfieldvalue v"
    _WHERE = "WHERE v.task_id = {task}.id AND v.field_id = ANY(%s)"

    def __init__(self, kind: str, field_ids: tuple[int, ...]) -> None:
        output = {FieldKind.NUMBER: FloatField(), FieldKind.DATE: DateField()}.get(kind, CharField())
        super().__init__(output_field=output)
        self.kind, self.field_ids = kind, list(field_ids)

    def as_sql(self, compiler, connection):
        task = compiler.quote_name_unless_alias(compiler.query.base_table)
        params: list = []
        if self.kind in self._VALUE:
            sql = f"SELECT {self._VALUE[self.kind]} {self._FROM} {self._WHERE} LIMIT 1"
        elif self.kind == FieldKind.CHECKBOX:
            sql = f"SELECT CASE WHEN v.value_bool THEN %s END {self._FROM} {self._WHERE} LIMIT 1"
            params.append(_("Yes"))
        elif self.kind == FieldKind.PERSON:
            sql = (
                f"SELECT COALESCE(NULLIF(m.display_name, ''), m.email) {self._FROM} "
                f"JOIN members_member m ON m.id = v.value_member_id {self._WHERE} LIMIT 1"
            )
        else:  # single and multi select: option names in their order
            sql = (
                f"SELECT string_agg(o.name, ', ' ORDER BY o.position, o.id) {self._FROM} "
                f"JOIN fields_customfieldoption o ON o.id = v.value_option_id {self._WHERE}"
            )
        params.append(self.field_ids)
        return "(" + sql.replace("{task}", task) + ")", params
