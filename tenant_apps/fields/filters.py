"""Filtering and ordering tasks by custom fields, with the task list's parameters:

- `field_<id>=<value>` — equality; repeat it for any of several (selects: option ids,
  person: member ids or `me`, checkbox: `true`/`false`, text/URL: the exact text,
  number/date: the value).
- `field_<id>_min=<value>`, `field_<id>_max=<value>` — an inclusive range (number, date).
- `ordering=field_<id>` / `-field_<id>` — by the field's value, tasks without one last.

Every condition is an EXISTS on the value table that its composite index
(field_id, value_<kind>, task_id) answers (docs/benchmarks.md, "Custom fields")."""

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from tenant_apps.fields.models import SELECT_KINDS, VALUE_COLUMN, CustomField, CustomFieldValue, FieldKind
from tenant_apps.fields.services import date_parse, id_valid, number_parse

PARAM_RE = re.compile(r"^field_([0-9]{1,12})(_min|_max)?$")
ORDERING_RE = re.compile(r"^-?field_([0-9]{1,12})$")
_MAX_VALUES = 20
_RANGE_KINDS = (FieldKind.NUMBER, FieldKind.DATE)


def is_field_param(name: str) -> bool:
    return bool(PARAM_RE.match(name))


def is_field_ordering(value: str) -> bool:
    return bool(ORDERING_RE.match(value or ""))


@dataclass
class FieldFilters:
    """The parsed custom-field part of a task list request."""

    conditions: list[Q] = dataclass_field(default_factory=list)
    ordering: tuple[CustomField, bool] | None = None  # (field, descending)
    errors: dict[str, list[str]] = dataclass_field(default_factory=dict)

    def apply(self, tasks: QuerySet) -> QuerySet:
        for condition in self.conditions:
            tasks = tasks.filter(condition)
        if self.ordering is not None:
            field, descending = self.ordering
            if field.kind == FieldKind.MULTI_SELECT:
                tasks = tasks.annotate(_field_order=_order_value(field))
                value = F("_field_order")
            else:
                # Ordered by the joined column itself, not an annotation of it: the join is
                # then made only where the ordering is (the page), never in the count.
                joined = FilteredRelation("custom_values", condition=Q(custom_values__field_id=field.pk))
                tasks = tasks.annotate(_field_value=joined)
                value = _order_value(field)
            order = value.desc(nulls_last=True) if descending else value.asc(nulls_last=True)
            tasks = tasks.order_by(order, F("pk").desc() if descending else F("pk").asc())
        return tasks


def _order_value(field: CustomField):
    """What `field` sorts by. A multi select (several rows per task) by its first option,
    through a correlated subquery. Every other kind has at most one value row per task:
    one LEFT JOIN on the value table (condition field_id = the field), which PostgreSQL
    answers with a single index-only scan of the field's composite index
    (field_id, value_<kind>, task_id) hashed against the tasks — not one index probe per
    task as a correlated subquery costs (docs/benchmarks.md, "Sorting by a custom field")."""
    if field.kind == FieldKind.MULTI_SELECT:
        values = CustomFieldValue.objects.filter(task_id=OuterRef("pk"), field_id=field.pk)
        return Subquery(values.order_by("value_option__position").values("value_option__position")[:1])
    if field.kind == FieldKind.SELECT:
        return F("_field_value__value_option__position")  # options sort in their defined order
    if field.kind == FieldKind.PERSON:
        return F("_field_value__value_member__display_name")
    return F(f"_field_value__{VALUE_COLUMN[field.kind]}")


def _value(field: CustomField, raw: str, member_id: int | None) -> Any:
    kind = field.kind
    if kind in SELECT_KINDS or kind == FieldKind.PERSON:
        if kind == FieldKind.PERSON and raw == "me":
            return member_id if member_id is not None else -1
        if not id_valid(raw):
            raise ValidationError(_("Use option ids.") if kind in SELECT_KINDS else _("Use member ids or “me”."))
        return int(raw)
    if kind == FieldKind.NUMBER:
        return number_parse(raw)
    if kind == FieldKind.DATE:
        return date_parse(raw)
    if kind == FieldKind.CHECKBOX:
        if raw not in ("true", "false"):
            raise ValidationError(_("Use true or false."))
        return raw == "true"
    if "\x00" in raw or len(raw) > 500:
        raise ValidationError(_("Send text."))
    return raw


def field_filters_parse(params, *, fields: dict[int, CustomField], member_id: int | None) -> FieldFilters:
    """The custom-field conditions and ordering of `params` (a QueryDict) against the
    project's `fields` (id -> field). Errors name the parameter, as the task filters'
    do; a field of another project is unknown here."""
    result = FieldFilters()
    for name in params:
        match = PARAM_RE.match(name)
        if not match:
            continue
        values = [value.strip() for value in params.getlist(name) if value.strip() != ""]
        if not values:
            continue
        field = fields.get(int(match.group(1)))
        if field is None:
            result.errors[name] = [_("No such field in this project.")]
            continue
        bound = match.group(2)
        try:
            if len(values) > _MAX_VALUES:
                raise ValidationError(_("At most %(count)d values.") % {"count": _MAX_VALUES})
            parsed = [_value(field, value, member_id) for value in values]
            result.conditions.append(_condition(field, bound, parsed))
        except ValidationError as exc:
            result.errors[name] = exc.messages
    ordering = params.get("ordering", "")
    match = ORDERING_RE.match(ordering)
    if match:
        field = fields.get(int(match.group(1)))
        if field is None:
            result.errors["ordering"] = [_("No such field in this project.")]
        else:
            result.ordering = (field, ordering.startswith("-"))
    return result


def _condition(field: CustomField, bound: str | None, values: list[Any]) -> Q:
    column = VALUE_COLUMN[field.kind]
    rows = CustomFieldValue.objects.filter(task_id=OuterRef("pk"), field_id=field.pk)
    if bound:
        if field.kind not in _RANGE_KINDS:
            raise ValidationError(_("Ranges are for number and date fields."))
        if len(values) > 1:
            raise ValidationError(_("Give one bound."))
        lookup = "gte" if bound == "_min" else "lte"
        return Q(Exists(rows.filter(**{f"{column}__{lookup}": values[0]})))
    if field.kind == FieldKind.CHECKBOX:
        if len(set(values)) > 1:  # true or false: every task
            return Q()
        ticked = Q(Exists(rows.filter(value_bool=True)))
        return ticked if values[0] else ~ticked
    if len(values) == 1:
        return Q(Exists(rows.filter(**{column: values[0]})))
    return Q(Exists(rows.filter(**{f"{column}__in": values})))


def project_fields(project_id: int) -> dict[int, CustomField]:
    """The fields of a project by id, with their options (two statements)."""
    fields = CustomField.objects.filter(project_id=project_id).prefetch_related("options").order_by("position", "pk")
    return {field.pk: field for field in fields}


def field_params_split(params):
    """(the other parameters, the custom-field ones) of a QueryDict: `field_<id>...`
    and an `ordering` by a field go to the second."""
    rest, custom = params.copy(), params.copy()
    for name in list(params):
        if is_field_param(name):
            rest.pop(name)
        elif name != "ordering" or not is_field_ordering(params.get(name)):
            custom.pop(name)
    if "ordering" in custom:
        rest.pop("ordering", None)
    return rest, custom
