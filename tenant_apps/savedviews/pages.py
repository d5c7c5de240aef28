"""Saved views on the pages: `?view=<id>` on the board and the list applies one, and
"Save current view" (/projects/<KEY>/views/new/?<the current filters>) saves one. The
same door (access_view) and services as the API."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenant_apps.fields.filters import project_fields
from tenant_apps.fields.services import id_valid
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import access_project, member_for_request, project_permissions
from tenant_apps.savedviews.models import SavedView, ViewLayout
from tenant_apps.savedviews.permissions import access_view
from tenant_apps.savedviews.services import BUILTIN_COLUMNS, view_create, view_delete
from tenant_apps.workspace.views import member_required

_NOT_SAVED = ("page", "view", "ordering")


def view_apply(request, project: Project) -> SavedView | None:
    """With `?view=<id>`, the view (404 unless `request`'s member sees it in `project`)
    becomes the request's filters and ordering; parameters given beside it win. The
    `view` parameter stays, so links and htmx requests keep the view."""
    raw = request.GET.get("view")
    if raw is None:
        return None
    if not id_valid(raw):
        raise Http404()
    view = access_view(member=member_for_request(request), project=project, view_id=int(raw))
    merged = QueryDict(mutable=True)
    for name, values in view.filters.items():
        merged.setlist(name, values)
    if view.ordering:
        merged["ordering"] = view.ordering
    for name in request.GET:
        merged.setlist(name, request.GET.getlist(name))
    merged._mutable = False
    request.GET = merged
    return view


def _column_choices(project: Project) -> list[tuple[str, str]]:
    labels = {
        "status": _("Status"),
        "priority": _("Priority"),
        "assignees": _("Assignees"),
        "labels": _("Labels"),
        "due": _("Due"),
        "updated": _("Updated"),
    }
    builtins = [(name, labels[name]) for name in BUILTIN_COLUMNS]
    return builtins + [(f"field_{field.pk}", field.name) for field in project_fields(project.pk).values()]


@member_required
def view_new(request, key: str):
    """GET ?<filters>&layout=list|board: the form that saves them as a view. POST: save
    (errors inline, 400, nothing saved), then open it."""
    member = member_for_request(request)
    project = access_project(member=member, key=key, fresh=request.method == "POST")
    source = request.POST if request.method == "POST" else request.GET
    query = QueryDict(source.get("query", ""), mutable=True) if request.method == "POST" else request.GET.copy()
    layout = source.get("layout") if source.get("layout") in ViewLayout.values else ViewLayout.LIST
    query.pop("layout", None)
    ordering = query.get("ordering", "")
    filters = {name: query.getlist(name) for name in query if name not in _NOT_SAVED}
    filters = {name: [value for value in values if value != ""] for name, values in filters.items()}
    filters = {name: values for name, values in filters.items() if values}
    columns_all = _column_choices(project)
    errors: dict[str, list[str]] = {}
    name = source.get("name", "")
    columns = request.POST.getlist("columns") if request.method == "POST" else [c for c, _label in columns_all]
    shared = request.POST.get("shared") == "on"
    if request.method == "POST":
        try:
            view = view_create(
                project=project,
                actor=member,
                name=name,
                layout=layout,
                shared=shared,
                filters=filters,
                ordering=ordering,
                columns=columns if set(columns) != {c for c, _label in columns_all} else [],
            )
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
            target = "board" if view.layout == ViewLayout.BOARD else "task-list"
            return redirect(f"{reverse(target, args=[project.key])}?view={view.pk}")
    clean_query = QueryDict(mutable=True)
    for filter_name, values in filters.items():
        clean_query.setlist(filter_name, values)
    if ordering:
        clean_query["ordering"] = ordering
    context = {
        "project": project,
        "current_project": project,
        "nav": "projects",
        "query": clean_query.urlencode(),
        "filters": filters,
        "layout": layout,
        "name": name,
        "shared": shared,
        "columns": [(value, label, value in columns) for value, label in columns_all],
        "can_share": "project.manage" in project_permissions(member=member, project=project),
        "errors": errors,
    }
    return render(request, "savedviews/view_new.html", context, status=400 if errors else 200)


@member_required
@require_POST
def view_delete_page(request, key: str, view_id: int):
    """POST: delete the view (its owner, or project.manage for a shared one: 403)."""
    member = member_for_request(request)
    project = access_project(member=member, key=key)
    view = access_view(member=member, project=project, view_id=view_id)
    view_delete(view=view, actor=member)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect("task-list", key=project.key)
