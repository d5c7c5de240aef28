"""The Projects page: cards with per-status counts and lead; create, archive/unarchive,
delete after typing the key. Thin: selectors read, services write, the permission
service decides (the same answers as the API)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shared_apps.core.exceptions import ServiceRefusal
from tenant_apps.members.models import Member
from tenant_apps.projects.forms import (
    ProjectCreateForm,
    ProjectDeleteForm,
    WorkflowStateDeleteForm,
    WorkflowStateForm,
)
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import access_project, may_create_projects, member_for_request
from tenant_apps.projects.selectors import project_key_suggest, project_list_visible, projects_where_member_may
from tenant_apps.projects.services import project_create, project_delete, project_update
from tenant_apps.tasks.cache import task_counts_by_project
from tenant_apps.tasks.models import TaskStatus
from tenant_apps.workspace.forms import errors_into
from tenant_apps.workspace.views import member_required


def _cards(member: Member, projects: list[Project]) -> list[dict]:
    counts = task_counts_by_project([project.pk for project in projects])
    leads = {m.pk: m for m in Member.objects.filter(pk__in={p.lead_id for p in projects if p.lead_id})}
    manageable = set(projects_where_member_may(member, "project.manage").values_list("pk", flat=True))
    cards = []
    for project in projects:
        by_status = counts.get(project.pk, {})
        total = sum(by_status.values())
        cards.append(
            {
                "project": project,
                "lead": leads.get(project.lead_id),
                "total": total,
                "statuses": [
                    {"value": value, "label": label, "count": by_status.get(value, 0)}
                    for value, label in TaskStatus.choices
                ],
                "may_manage": project.pk in manageable,
            }
        )
    return cards


@member_required
def projects_page(request):
    """GET: the projects (active first, archived below). POST: create one."""
    member = member_for_request(request)
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        key = data["key"] or project_key_suggest(data["name"])
        if Project.objects.filter(key=key).exists():
            form.add_error("key", _("A project with this key exists already."))
        else:
            with errors_into(form):
                project = project_create(key=key, name=data["name"], description=data["description"], actor=member)
                messages.success(request, _("Project %(key)s created.") % {"key": project.key})
                return redirect("board", key=project.key)
    projects = project_list_visible(member)
    context = {
        "nav": "projects",
        "form": form,
        "may_create": may_create_projects(member),
        "active": _cards(member, [p for p in projects if not p.archived]),
        "archived": _cards(member, [p for p in projects if p.archived]),
        "key_suggestion": project_key_suggest(request.POST.get("name", "")) if request.POST.get("name") else "",
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "projects/projects.html", context, status=status)


@member_required
def project_key_suggestion(request):
    """htmx: the suggested key for the name being typed (the form's key placeholder)."""
    name = (request.GET.get("name") or "")[:200]
    return render(request, "projects/projects.html#key-suggestion", {"key_suggestion": project_key_suggest(name)})


@member_required
@require_POST
def project_archive(request, key: str):
    """POST archived=1|0: archive or unarchive (project.manage)."""
    project = access_project(member=member_for_request(request), key=key, code="project.manage", fresh=True)
    archived = request.POST.get("archived") == "1"
    try:
        project_update(project=project, data={"archived": archived}, actor=member_for_request(request))
    except ServiceRefusal as refusal:  # e.g. unarchiving past the plan's active projects
        messages.error(request, refusal.as_dict().get("detail", str(refusal)))
        return redirect("projects")
    if archived:
        messages.success(request, _("Project %(key)s archived.") % {"key": project.key})
    else:
        messages.success(request, _("Project %(key)s is active again.") % {"key": project.key})
    return redirect("projects")


@member_required
def project_delete_page(request, key: str):
    """GET: what deleting removes, and the key to type. POST confirm=<KEY>: delete."""
    project = access_project(member=member_for_request(request), key=key, code="project.manage", fresh=True)
    form = ProjectDeleteForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        with errors_into(form):
            project_delete(project=project, confirm_key=form.cleaned_data["confirm"], actor=member_for_request(request))
            messages.success(request, _("Project %(key)s deleted.") % {"key": key})
            return redirect("projects")
    counts = task_counts_by_project([project.pk])[project.pk]
    return render(
        request,
        "projects/project_delete.html",
        {"project": project, "form": form, "task_total": sum(counts.values()), "nav": "projects"},
        status=400 if request.method == "POST" else 200,
    )


# --- Workflow states (issue 15): /projects/<KEY>/settings/states/ -----------------------


def _states_context(project: Project, *, errors: dict | None = None, add_form=None) -> dict:
    from django.db.models import Count

    from tenant_apps.projects.models import WorkflowState

    states = list(
        WorkflowState.objects.filter(project=project).annotate(task_count=Count("tasks")).order_by("position", "pk")
    )
    errors = errors or {}
    rows = [
        {
            "state": state,
            "form": errors.get(("save", state.pk))
            or WorkflowStateForm(initial={"name": state.name, "colour": state.colour, "category": state.category}),
            "delete_form": errors.get(("delete", state.pk))
            or WorkflowStateDeleteForm(states=[other for other in states if other.pk != state.pk]),
            "first": index == 0,
            "last": index == len(states) - 1,
        }
        for index, state in enumerate(states)
    ]
    return {
        "project": project,
        "current_project": project,
        "rows": rows,
        "add_form": add_form or WorkflowStateForm(initial={"category": TaskStatus.TODO, "colour": "#8c959f"}),
        "categories": TaskStatus.choices,
        "nav": "projects",
        "view": "states",
        "codes": frozenset({"project.manage"}),
    }


@member_required
def project_states_page(request, key: str):
    """The project's workflow states (project.manage): list; POST action=add, save
    (rename, colour, category), up / down (reorder), delete (with the state that takes
    its tasks). The same services as the API; their errors show next to the fields, with
    a 400 and nothing changed."""
    from tenant_apps.projects.models import WorkflowState
    from tenant_apps.projects.services import state_create, state_delete, state_update

    member = member_for_request(request)
    project = access_project(member=member, key=key, code="project.manage", fresh=True)
    if request.method != "POST":
        return render(request, "projects/project_states.html", _states_context(project))
    action = request.POST.get("action", "")
    state = None
    if action in ("save", "up", "down", "delete"):
        state_id = request.POST.get("state", "")
        state = (
            WorkflowState.objects.select_related("project").filter(project=project, pk=int(state_id)).first()
            if state_id.isdigit() and len(state_id) < 13
            else None
        )
        if state is None:
            raise Http404()
    if action == "add":
        form = WorkflowStateForm(request.POST)
        if form.is_valid():
            with errors_into(form):
                created = state_create(project=project, actor=member, **_state_data(form))
                messages.success(request, _("State “%(name)s” added.") % {"name": created.name})
                return redirect("project-states", key=project.key)
        return render(request, "projects/project_states.html", _states_context(project, add_form=form), status=400)
    if action == "save":
        form = WorkflowStateForm(request.POST)
        if form.is_valid():
            with errors_into(form):
                state_update(state=state, data=_state_data(form), actor=member)
                messages.success(request, _("State “%(name)s” saved.") % {"name": form.cleaned_data["name"]})
                return redirect("project-states", key=project.key)
        context = _states_context(project, errors={("save", state.pk): form})
        return render(request, "projects/project_states.html", context, status=400)
    if action in ("up", "down"):
        position = max(0, state.position - 1) if action == "up" else state.position + 1
        state_update(state=state, data={"position": position}, actor=member)
        messages.success(request, _("State “%(name)s” moved.") % {"name": state.name})
        return redirect("project-states", key=project.key)
    if action == "delete":
        others = list(WorkflowState.objects.filter(project=project).exclude(pk=state.pk).order_by("position", "pk"))
        form = WorkflowStateDeleteForm(request.POST, states=others)
        if form.is_valid():
            with errors_into(form):
                move_to = form.state_objects.get(form.cleaned_data["move_to"])
                moved = state_delete(state=state, move_to=move_to, actor=member)
                messages.success(
                    request,
                    _("State “%(name)s” deleted; %(count)d task(s) moved.") % {"name": state.name, "count": moved},
                )
                return redirect("project-states", key=project.key)
        context = _states_context(project, errors={("delete", state.pk): form})
        return render(request, "projects/project_states.html", context, status=400)
    messages.error(request, _("Choose what to do."))
    return render(request, "projects/project_states.html", _states_context(project), status=400)


def _state_data(form: WorkflowStateForm) -> dict:
    data = {"name": form.cleaned_data["name"], "category": form.cleaned_data["category"]}
    if form.cleaned_data.get("colour"):
        data["colour"] = form.cleaned_data["colour"]
    return data
