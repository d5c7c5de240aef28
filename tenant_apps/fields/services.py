"""Writes to custom fields and their values. Call inside the organisation's schema.

Defining fields is the project managers' (`project.manage`, checked by the caller's
door); setting a value on a task needs `task.edit`, checked here like every task
field's (TASK_FIELD_DEFAULT_PERMISSION). Every value change records Activity and gives
the task a new version, in the same transaction."""

import math
import re
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.audit.services import audit_record, audit_target
from tenant_apps.fields.models import (
    SELECT_KINDS,
    VALUE_COLUMN,
    CustomField,
    CustomFieldOption,
    CustomFieldValue,
    FieldKind,
)
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import permission_require
from tenant_apps.projects.registry import TASK_FIELD_DEFAULT_PERMISSION
from tenant_apps.projects.selectors import project_assignable_queryset
from tenant_apps.tasks.live import live_bump
from tenant_apps.tasks.models import Activity, Task

MAX_FIELDS_PER_PROJECT = 50
MAX_OPTIONS = 100
MAX_TEXT = 500
MAX_MULTI = 50
_NUMBER_LIMIT = 1e15  # beyond this a double loses whole units
_ID = re.compile(r"[0-9]{1,12}")  # an id as people type it: ASCII digits, within bigint


def id_valid(value: Any) -> bool:
    """An option or member id as JSON or a form gives it (an int, or ASCII digits)."""
    return not isinstance(value, bool) and isinstance(value, int | str) and bool(_ID.fullmatch(str(value)))


def _name_clean(name: str, *, what: str = "name") -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({what: _("Give it a name.")})
    if len(name) > 60:
        raise ValidationError({what: _("At most 60 characters.")})
    return name


def _options_apply(field: CustomField, options: list[dict[str, Any]]) -> None:
    """Make `options` ([{"id": 3, "name": "High"}, {"name": "New"}], in order) the
    field's options: listed ids are renamed and reordered, names without an id are
    added, options not listed are removed (with their values on tasks)."""
    if len(options) > MAX_OPTIONS:
        raise ValidationError({"options": _("At most %(count)d options.") % {"count": MAX_OPTIONS}})
    existing = {option.pk: option for option in field.options.all()} if field.pk else {}
    seen_names: set[str] = set()
    kept: list[CustomFieldOption] = []
    for position, item in enumerate(options):
        name = _name_clean(item.get("name", ""), what="options")
        if name.lower() in seen_names:
            raise ValidationError({"options": _("“%(name)s” is listed twice.") % {"name": name}})
        seen_names.add(name.lower())
        option_id = item.get("id")
        if option_id is not None:
            option = existing.get(option_id)
            if option is None:
                raise ValidationError({"options": _("No such option: %(id)s.") % {"id": option_id}})
        else:
            option = CustomFieldOption(field=field)
        option.name, option.position = name, position
        if item.get("color"):
            option.color = item["color"]
        kept.append(option)
    kept_ids = {option.pk for option in kept if option.pk}
    CustomFieldOption.objects.filter(field=field).exclude(pk__in=kept_ids).delete()
    # Renames may swap names: park them first so the unique index never sees a clash.
    CustomFieldOption.objects.filter(pk__in=kept_ids).update(name=Concat(Value("\u2060#"), Cast("pk", CharField())))
    for option in kept:
        option.save()


def field_create(
    *,
    project: Project,
    actor: Member | None,
    name: str,
    kind: str,
    options: list[dict[str, Any]] | None = None,
    on_cards: bool = False,
) -> CustomField:
    """Define a field in `project` (the caller checked project.manage). Select kinds
    need at least one option; other kinds take none."""
    name = _name_clean(name)
    if kind not in FieldKind.values:
        raise ValidationError({"kind": _("Not a field kind: %(kind)s.") % {"kind": kind}})
    options = options or []
    if kind in SELECT_KINDS and not options:
        raise ValidationError({"options": _("A select field needs at least one option.")})
    if kind not in SELECT_KINDS and options:
        raise ValidationError({"options": _("Only select fields have options.")})
    try:
        with transaction.atomic():
            count = CustomField.objects.select_for_update().filter(project=project).count()
            if count >= MAX_FIELDS_PER_PROJECT:
                raise ValidationError({"name": _("At most %(count)d fields per project.") % {"count": count}})
            if CustomField.objects.filter(project=project, name__iexact=name).exists():
                raise ValidationError({"name": _("A field named “%(name)s” exists in this project.") % {"name": name}})
            field = CustomField.objects.create(project=project, name=name, kind=kind, on_cards=on_cards, position=count)
            _options_apply(field, options)
            audit_record(
                action="custom_field.created",
                actor=actor,
                target=audit_target(field, f"{project.key}: {name}"),
                after={"name": name, "kind": kind},
            )
            live_bump(project_id=project.pk)
    except IntegrityError as exc:  # a concurrent request took the name
        raise ValidationError({"name": _("A field named “%(name)s” exists in this project.") % {"name": name}}) from exc
    return field


def field_update(
    *,
    field: CustomField,
    actor: Member | None,
    name: str | None = None,
    on_cards: bool | None = None,
    position: int | None = None,
    options: list[dict[str, Any]] | None = None,
) -> CustomField:
    """Rename, show on cards or not, move, or replace the options of `field`. Its kind
    never changes (values would have to be converted)."""
    try:
        return _field_update(field=field, name=name, on_cards=on_cards, position=position, options=options)
    except IntegrityError as exc:  # a concurrent change took a name
        raise ValidationError({"name": _("A field or option of that name exists.")}) from exc


def _field_update(*, field, name, on_cards, position, options) -> CustomField:
    with transaction.atomic():
        field = CustomField.objects.select_for_update().get(pk=field.pk)
        if name is not None:
            name = _name_clean(name)
            clash = CustomField.objects.filter(project_id=field.project_id, name__iexact=name).exclude(pk=field.pk)
            if clash.exists():
                raise ValidationError({"name": _("A field named “%(name)s” exists in this project.") % {"name": name}})
            field.name = name
        if on_cards is not None:
            field.on_cards = on_cards
        if position is not None:
            field.position = position
        if options is not None:
            if field.kind not in SELECT_KINDS:
                raise ValidationError({"options": _("Only select fields have options.")})
            if not options:
                raise ValidationError({"options": _("A select field needs at least one option.")})
            _options_apply(field, options)
        field.save(update_fields=["name", "on_cards", "position"])
        live_bump(project_id=field.project_id)
    return field


def field_delete(*, field: CustomField, actor: Member | None) -> None:
    """Delete `field` and every value of it (audited: the values are gone)."""
    with transaction.atomic():
        project_id = field.project_id
        audit_record(
            action="custom_field.deleted",
            actor=actor,
            target=audit_target(field, f"{field.project.key}: {field.name}"),
            before={"name": field.name, "kind": field.kind, "values": field.values.count()},
        )
        field.delete()
        live_bump(project_id=project_id)


def _one_text(field: CustomField, raw: Any) -> str | None:
    if not isinstance(raw, str) or "\x00" in raw:
        raise ValidationError(_("Send text."))
    text = raw.strip()
    if len(text) > MAX_TEXT:
        raise ValidationError(_("At most %(count)d characters.") % {"count": MAX_TEXT})
    if text and field.kind == FieldKind.URL:
        URLValidator(schemes=["http", "https"], message=_("Enter a web address (http:// or https://)."))(text)
    return text or None


def number_parse(raw: Any) -> float:
    """A finite number from JSON (a number, or a numeric string); ValidationError
    otherwise."""
    if isinstance(raw, bool):
        raise ValidationError(_("Send a number."))
    try:
        number = float(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationError(_("Send a number.")) from exc
    if not math.isfinite(number) or abs(number) >= _NUMBER_LIMIT:
        raise ValidationError(_("Send a number between -10¹⁵ and 10¹⁵."))
    return number


def date_parse(raw: Any) -> date:
    """A date from JSON (YYYY-MM-DD); ValidationError otherwise."""
    message = _("Send a date as YYYY-MM-DD.")
    if not isinstance(raw, str) or len(raw) != 10:
        raise ValidationError(message)
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationError(message) from exc


def _option_ids(field: CustomField, raw: Any) -> list[int]:
    values = raw if isinstance(raw, list) else [raw]
    if field.kind == FieldKind.SELECT and isinstance(raw, list):
        raise ValidationError(_("Send one option id."))
    if len(values) > MAX_MULTI:
        raise ValidationError(_("At most %(count)d options.") % {"count": MAX_MULTI})
    ids = []
    for value in values:
        if not id_valid(value):
            raise ValidationError(_("Send option ids."))
        ids.append(int(value))
    ids = list(dict.fromkeys(ids))
    known = set(CustomFieldOption.objects.filter(field=field, pk__in=ids).values_list("pk", flat=True))
    missing = [str(pk) for pk in ids if pk not in known]
    if missing:
        raise ValidationError(_("No such option of this field: %(ids)s.") % {"ids": ", ".join(missing)})
    return ids


def value_columns(field: CustomField, raw: Any) -> list[dict[str, Any]]:
    """The rows (column -> value) that store `raw` (JSON) for `field`: none to clear it.
    ValidationError (a message for the field) when `raw` does not fit its kind."""
    if raw is None or raw == "" or raw == []:
        return []
    kind = field.kind
    if kind in (FieldKind.TEXT, FieldKind.URL):
        text = _one_text(field, raw)
        return [{"value_text": text}] if text else []
    if kind == FieldKind.NUMBER:
        return [{"value_number": number_parse(raw)}]
    if kind == FieldKind.DATE:
        return [{"value_date": date_parse(raw)}]
    if kind == FieldKind.CHECKBOX:
        if raw in (True, "true", "on", "1"):
            return [{"value_bool": True}]
        if raw in (False, "false", "0"):
            return []
        raise ValidationError(_("Send true or false."))
    if kind in SELECT_KINDS:
        return [{"value_option_id": pk} for pk in _option_ids(field, raw)]
    if kind == FieldKind.PERSON:
        if not id_valid(raw):
            raise ValidationError(_("Send a member id."))
        if not Member.objects.filter(pk=int(raw), is_active=True).exists():
            raise ValidationError(_("No such member: %(id)s.") % {"id": raw})
        # The people the task page offers: whom the project's tasks may be assigned to.
        if not project_assignable_queryset(field.project_id).filter(pk=int(raw)).exists():
            raise ValidationError(_("Not a member of this project: %(id)s.") % {"id": raw})
        return [{"value_member_id": int(raw)}]
    raise ValidationError(_("Not a field kind: %(kind)s.") % {"kind": kind})  # pragma: no cover


def _stored(field: CustomField, rows: list[dict[str, Any]]) -> Any:
    """Rows as the API and the activity show them (ids for selects and people; a list,
    sorted, for a multi select)."""
    values = [next(iter(row.values())) for row in rows]
    values = [value.isoformat() if isinstance(value, date) else value for value in values]
    if field.kind == FieldKind.MULTI_SELECT:
        return sorted(values) or None
    return values[0] if values else None


def task_values_set(*, task: Task, actor: Member | None, values: dict[CustomField, Any]) -> Task:
    """Set the custom fields of `task` to `values` (field -> JSON value; None, "" or []
    clears). Every field must be the task's project's; the actor needs task.edit there.
    Validates everything first: one bad value changes nothing (ValidationError naming
    `field_<id>`). Records one Activity row per changed field and gives the task a new
    version."""
    permission_require(member=actor, project=task.project, codes=TASK_FIELD_DEFAULT_PERMISSION)
    parsed: dict[CustomField, list[dict[str, Any]]] = {}
    errors: dict[str, list[str]] = {}
    for field, raw in values.items():
        if field.project_id != task.project_id:
            errors[f"field_{field.pk}"] = [_("Not a field of this project.")]
            continue
        try:
            parsed[field] = value_columns(field, raw)
        except ValidationError as exc:
            errors[f"field_{field.pk}"] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Task.objects.select_for_update().filter(pk=task.pk).first()
        changed = False
        for field, rows in parsed.items():
            current = list(CustomFieldValue.objects.filter(task=task, field=field).values(VALUE_COLUMN[field.kind]))
            old, new = _stored(field, current), _stored(field, rows)
            if old == new:
                continue
            CustomFieldValue.objects.filter(task=task, field=field).delete()
            CustomFieldValue.objects.bulk_create(CustomFieldValue(task=task, field=field, **row) for row in rows)
            Activity.objects.create(
                task=task, actor=actor, kind=Activity.Kind.CHANGED, field=field.name[:40], old_value=old, new_value=new
            )
            changed = True
        if changed:
            Task.objects.filter(pk=task.pk).update(version=F("version") + 1, updated_at=timezone.now())
            live_bump(project_id=task.project_id, task_id=task.pk)
    task.refresh_from_db(fields=["version", "updated_at"])
    return task
