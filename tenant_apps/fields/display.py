"""Custom field values as the pages show them (list cells, card chips, the task
page's inputs), from a task's JSON (`custom_fields`: field id -> value) and the
project's field definitions, read once per page."""

from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tenant_apps.fields.models import SELECT_KINDS, CustomField, FieldKind


def value_text(field: CustomField, value: Any, people: dict[int, str]) -> str:
    """One value as text (options and people by name)."""
    if value is None:
        return ""
    if field.kind in SELECT_KINDS:
        names = {option.pk: option.name for option in field.options.all()}
        ids = value if isinstance(value, list) else [value]
        return ", ".join(names.get(pk, "?") for pk in ids)
    if field.kind == FieldKind.PERSON:
        return people.get(value, f"#{value}")
    if field.kind == FieldKind.CHECKBOX:
        return _("Yes") if value else ""
    if field.kind == FieldKind.DATE:
        from datetime import date

        return date_format(date.fromisoformat(value), "j M Y")
    if field.kind == FieldKind.NUMBER:
        return f"{value:g}"
    return str(value)


def rows_dress(rows: list[dict], fields: list[CustomField], people: dict[int, str]) -> None:
    """Give each row (a task's JSON) `custom_cells`: [(field name, text)] for `fields`,
    in order — the list's columns and the cards' chips."""
    for row in rows:
        values = row.get("custom_fields") or {}
        row["custom_cells"] = [(field.name, value_text(field, values.get(str(field.pk)), people)) for field in fields]


def task_inputs(task_values: dict[str, Any], fields: list[CustomField], errors: dict[str, list[str]]) -> list[dict]:
    """What the task page's Fields form shows for each field."""
    inputs = []
    for field in fields:
        value = task_values.get(str(field.pk))
        selected = set(value if isinstance(value, list) else [value]) if value is not None else set()
        inputs.append(
            {
                "field": field,
                "name": f"field_{field.pk}",
                "value": "" if value is None else value,
                "selected": selected,
                "options": list(field.options.all()) if field.kind in SELECT_KINDS else [],
                "errors": errors.get(f"field_{field.pk}", []),
            }
        )
    return inputs


def filter_inputs(fields: dict[int, CustomField], params) -> dict[str, list[dict]]:
    """The filter bar's controls for custom fields: a choice for selects, people and
    checkboxes ("choices"), from/to inputs for numbers and dates ("ranges"), each with
    the request's current value."""
    choices, ranges = [], []
    for field in fields.values():
        name = f"field_{field.pk}"
        if field.kind in (*SELECT_KINDS, FieldKind.PERSON, FieldKind.CHECKBOX):
            options = [(str(option.pk), option.name) for option in field.options.all()]
            if field.kind == FieldKind.CHECKBOX:
                options = [("true", _("Yes")), ("false", _("No"))]
            choices.append(
                {"field": field, "name": name, "options": options, "person": field.kind == FieldKind.PERSON,
                 "value": params.get(name, "")}
            )  # fmt: skip
        elif field.kind in (FieldKind.NUMBER, FieldKind.DATE):
            ranges.append(
                {"field": field, "name": name, "type": "date" if field.kind == FieldKind.DATE else "number",
                 "min": params.get(f"{name}_min", ""), "max": params.get(f"{name}_max", "")}
            )  # fmt: skip
    return {"field_choices": choices, "field_ranges": ranges}
