"""Writes to saved views. Call inside the organisation's schema.

A private view is its owner's alone; sharing a view with the project (or changing or
deleting a shared one someone else made) needs `project.manage`. Filters, ordering and
columns are validated here with the task list's own rules (TaskFilter and the custom
fields' parameters), so a saved view always opens."""

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import QueryDict
from django.utils.translation import gettext as _

from tenant_apps.fields.filters import field_filters_parse, field_params_split, is_field_ordering, project_fields
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import permission_require, project_permissions
from tenant_apps.savedviews.models import SavedView, ViewLayout
from tenant_apps.savedviews.selectors import NAV_CACHE
from tenant_apps.tasks.filters import ORDERINGS, TaskFilter

MAX_VIEWS_PER_MEMBER = 100
# The list's columns (tenant_apps/tasks/templates/tasks/task_list.html) besides custom fields.
BUILTIN_COLUMNS = ("status", "priority", "assignees", "labels", "due", "updated")
# The list also sorts by these, which the API's ordering lacks.
_PAGE_ORDERINGS = ("title", "status")
_NOT_FILTERS = {"ordering", "page", "page_size", "view"}


def _query(filters: dict[str, Any]) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, value in filters.items():
        values = value if isinstance(value, list) else [value]
        scalar = all(isinstance(item, str | int | float) and not isinstance(item, bool) for item in values)
        if not scalar or "\x00" in name or any("\x00" in str(item) for item in values):
            raise ValidationError({"filters": _("%(name)s: give text values.") % {"name": name.replace("\x00", "")}})
        query.setlist(name, [str(item) for item in values])
    return query


def view_definition_clean(
    *, project: Project, member: Member | None, filters: dict[str, Any], ordering: str, columns: list[str]
) -> tuple[dict[str, list[str]], str, list[str]]:
    """The filters ({name: [values]}), ordering and columns, checked as the list checks
    them; ValidationError naming what is wrong."""
    if not isinstance(filters, dict):
        raise ValidationError({"filters": _("Send an object of parameter -> values.")})
    query = _query(filters)
    unknown = sorted(name for name in query if name in _NOT_FILTERS)
    if unknown:
        raise ValidationError({"filters": _("Not a filter: %(names)s.") % {"names": ", ".join(unknown)}})
    rest, custom = field_params_split(query)
    known = set(TaskFilter.base_filters) - _NOT_FILTERS - {"project"}
    stray = sorted(set(rest) - known)
    if stray:
        raise ValidationError({"filters": _("Unknown filter: %(names)s.") % {"names": ", ".join(stray)}})
    filterset = TaskFilter(rest, queryset=project.tasks.none())
    if not filterset.is_valid():
        raise ValidationError({"filters": [f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()]})
    fields = project_fields(project.pk)
    if custom:
        parsed = field_filters_parse(custom, fields=fields, member_id=member.pk if member else None)
        if parsed.errors:
            raise ValidationError({"filters": [f"{name}: {' '.join(errs)}" for name, errs in parsed.errors.items()]})
    ordering = (ordering or "").strip()
    if ordering:
        key = ordering.lstrip("-")
        custom_order = is_field_ordering(key) and int(key[6:]) in fields
        if not (custom_order or key in _PAGE_ORDERINGS or (key in ORDERINGS and key != "relevance")):
            raise ValidationError({"ordering": _("Not an ordering: %(value)s.") % {"value": ordering}})
    if not isinstance(columns, list) or not all(isinstance(column, str) for column in columns):
        raise ValidationError({"columns": _("Send a list of column names.")})
    columns = list(dict.fromkeys(columns))
    allowed = set(BUILTIN_COLUMNS) | {f"field_{pk}" for pk in fields}
    bad = [column for column in columns if column not in allowed]
    if bad:
        raise ValidationError({"columns": _("Unknown column: %(names)s.") % {"names": ", ".join(bad[:5])}})
    cleaned = {name: [value for value in query.getlist(name) if value != ""] for name in query}
    return {name: values for name, values in cleaned.items() if values}, ordering, columns


def _share_check(*, project: Project, actor: Member | None) -> None:
    permission_require(member=actor, project=project, codes="project.manage")


def may_change(*, view: SavedView, member: Member | None) -> bool:
    """The owner may change their view; a shared one also anyone with project.manage."""
    if member is not None and view.owner_id == member.pk:
        return True
    return view.shared and "project.manage" in project_permissions(member=member, project=view.project)


def view_create(
    *,
    project: Project,
    actor: Member,
    name: str,
    layout: str = ViewLayout.LIST,
    shared: bool = False,
    filters: dict[str, Any] | None = None,
    ordering: str = "",
    columns: list[str] | None = None,
) -> SavedView:
    """Save a view of `project` for `actor` (shared: needs project.manage)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    if layout not in ViewLayout.values:
        raise ValidationError({"layout": _("Board or list.")})
    if shared:
        _share_check(project=project, actor=actor)
    filters, ordering, columns = view_definition_clean(
        project=project, member=actor, filters=filters or {}, ordering=ordering, columns=columns or []
    )
    with transaction.atomic():
        if SavedView.objects.filter(owner=actor).count() >= MAX_VIEWS_PER_MEMBER:
            raise ValidationError({"name": _("At most %(count)d views each.") % {"count": MAX_VIEWS_PER_MEMBER}})
        NAV_CACHE.bump()
        return SavedView.objects.create(
            project=project,
            owner=actor,
            name=name[:80],
            layout=layout,
            shared=shared,
            filters=filters,
            ordering=ordering,
            columns=columns,
        )


def view_update(*, view: SavedView, actor: Member, **changes: Any) -> SavedView:
    """Change some of name, layout, shared, filters, ordering, columns."""
    if not may_change(view=view, member=actor):
        raise PermissionDenied(_("Only its owner or a project manager may change this view."))
    if changes.get("shared") and not view.shared:
        _share_check(project=view.project, actor=actor)
    if "name" in changes:
        name = (changes["name"] or "").strip()
        if not name:
            raise ValidationError({"name": _("Give the view a name.")})
        view.name = name[:80]
    if "layout" in changes:
        if changes["layout"] not in ViewLayout.values:
            raise ValidationError({"layout": _("Board or list.")})
        view.layout = changes["layout"]
    if "shared" in changes:
        view.shared = bool(changes["shared"])
    view.filters, view.ordering, view.columns = view_definition_clean(
        project=view.project,
        member=actor,
        filters=changes.get("filters", view.filters),
        ordering=changes.get("ordering", view.ordering),
        columns=changes.get("columns", view.columns),
    )
    with transaction.atomic():
        view.save()
        NAV_CACHE.bump()
    return view


def view_delete(*, view: SavedView, actor: Member) -> None:
    if not may_change(view=view, member=actor):
        raise PermissionDenied(_("Only its owner or a project manager may delete this view."))
    with transaction.atomic():
        view.delete()
        NAV_CACHE.bump()
