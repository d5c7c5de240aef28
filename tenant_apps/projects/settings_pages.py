"""Project settings (/projects/<KEY>/settings/): name, description and lead; members (add
with a role, change the role, remove); labels (create, rename, recolour, delete); archive,
and the way to the delete page. Holders of project.manage only (owners and admins hold
every code), through the same door as the API (access_project); every write is the API's
service (project_update, project_member_set/remove, label_save/delete).

One view, one URL: a POST names its `action`; success redirects back to the section
(post/redirect/get), a refusal renders the page again with the errors next to the form
that caused them (status 400). Kept apart from pages.py (the Projects page) because it
is a page of its own with its own forms."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from shared_apps.core.exceptions import ServiceRefusal
from tenant_apps.members.models import Member
from tenant_apps.projects.forms import (
    LabelForm,
    ProjectMemberAddForm,
    ProjectMemberRoleForm,
    ProjectSettingsForm,
)
from tenant_apps.projects.models import Project, ProjectMember, Role
from tenant_apps.projects.permissions import access_project, access_project_member, member_for_request
from tenant_apps.projects.services import project_member_remove, project_member_set, project_update
from tenant_apps.tasks.models import Label
from tenant_apps.tasks.permissions import access_label
from tenant_apps.tasks.services import label_delete, label_save
from tenant_apps.workspace.forms import errors_into
from tenant_apps.workspace.views import member_required


def _back(project: Project, section: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("project-settings", args=[project.key]) + f"#{section}")


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(_("The form was incomplete; reload the page and try again.")) from exc


class _Page:
    """The page's forms: unbound ones, and at most one bound (the POST that failed)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.general = ProjectSettingsForm(
            project=project,
            initial={"name": project.name, "description": project.description, "lead": project.lead_id},
        )
        self.member_add = ProjectMemberAddForm(project=project)
        self.label_create = LabelForm(initial={"color": "#8c959f"})
        self.member_forms: dict[int, ProjectMemberRoleForm] = {}
        self.label_forms: dict[int, LabelForm] = {}
        self.archive_errors: list[str] = []

    def context(self) -> dict:
        project_members = list(
            ProjectMember.objects.filter(project=self.project)
            .select_related("member", "role")
            .order_by("member__display_name", "member__email", "pk")
        )
        roles = list(Role.objects.all())
        labels = list(Label.objects.filter(project=self.project).order_by("name", "pk"))
        member_rows = [
            {
                "project_member": pm,
                "form": self.member_forms.get(pm.member_id) or ProjectMemberRoleForm(initial={"role": pm.role_id}),
            }
            for pm in project_members
        ]
        label_rows = [
            {
                "label": label,
                "form": self.label_forms.get(label.pk) or LabelForm(initial={"name": label.name, "color": label.color}),
            }
            for label in labels
        ]
        return {
            "nav": "projects",
            "project": self.project,
            "general": self.general,
            "member_add": self.member_add,
            "label_create": self.label_create,
            "member_rows": member_rows,
            "label_rows": label_rows,
            "roles": roles,
            "archive_errors": self.archive_errors,
        }


def _general(request, page: _Page, actor: Member):
    form = ProjectSettingsForm(request.POST, project=page.project)
    page.general = form
    if form.is_valid():
        data = form.cleaned_data
        with errors_into(form):
            project_update(
                project=page.project,
                data={"name": data["name"], "description": data["description"], "lead": data["lead"]},
                actor=actor,
            )
            messages.success(request, _("Project settings saved."))
            return _back(page.project, "general")
    return None


def _member_add(request, page: _Page, actor: Member):
    form = ProjectMemberAddForm(request.POST, project=page.project)
    page.member_add = form
    if form.is_valid():
        with errors_into(form):
            added = project_member_set(
                project=page.project, member=form.cleaned_data["member"], role=form.cleaned_data["role"], actor=actor
            )
            messages.success(
                request,
                _("%(person)s added as %(role)s.") % {"person": added.member, "role": added.role.name},
            )
            return _back(page.project, "members")
    return None


def _member_change(request, page: _Page, actor: Member):
    project_member = access_project_member(
        member=actor, project=page.project, member_id=_int(request.POST.get("member_id")), code="project.manage"
    )
    form = ProjectMemberRoleForm(request.POST)
    page.member_forms[project_member.member_id] = form
    if form.is_valid():
        with errors_into(form):
            project_member_set(
                project=page.project, member=project_member.member, role=form.cleaned_data["role"], actor=actor
            )
            messages.success(request, _("Role of %(person)s changed.") % {"person": project_member.member})
            return _back(page.project, "members")
    return None


def _member_remove(request, page: _Page, actor: Member):
    project_member = access_project_member(
        member=actor, project=page.project, member_id=_int(request.POST.get("member_id")), code="project.manage"
    )
    project_member_remove(project_member=project_member, actor=actor)
    messages.success(request, _("%(person)s removed from the project.") % {"person": project_member.member})
    return _back(page.project, "members")


def _label_form_save(request, page: _Page, actor: Member, *, label: Label | None):
    """Create (label=None) or rename/recolour a label from the posted LabelForm."""
    form = LabelForm(request.POST)
    if label is None:
        page.label_create = form
    else:
        page.label_forms[label.pk] = form
    if form.is_valid():
        with errors_into(form):
            saved = label_save(
                project=page.project,
                label=label,
                name=form.cleaned_data["name"],
                color=form.cleaned_data["color"] or None,
                actor=actor,
            )
            if label is None:
                messages.success(request, _("Label “%(name)s” created.") % {"name": saved.name})
            else:
                messages.success(request, _("Label “%(name)s” saved.") % {"name": saved.name})
            return _back(page.project, "labels")
    return None


def _label_create(request, page: _Page, actor: Member):
    return _label_form_save(request, page, actor, label=None)


def _label_change(request, page: _Page, actor: Member):
    label = access_label(
        member=actor, project=page.project, label_id=_int(request.POST.get("label_id")), code="project.manage"
    )
    return _label_form_save(request, page, actor, label=label)


def _label_delete(request, page: _Page, actor: Member):
    label = access_label(
        member=actor, project=page.project, label_id=_int(request.POST.get("label_id")), code="project.manage"
    )
    label_delete(label=label, actor=actor)
    messages.success(request, _("Label “%(name)s” deleted.") % {"name": label.name})
    return _back(page.project, "labels")


def _archive(request, page: _Page, actor: Member):
    archived = request.POST.get("archived") == "1"
    try:
        project_update(project=page.project, data={"archived": archived}, actor=actor)
    except ServiceRefusal as refusal:  # unarchiving past the plan's active projects
        page.archive_errors.append(refusal.message)
        return None
    if archived:
        messages.success(request, _("Project %(key)s archived.") % {"key": page.project.key})
    else:
        messages.success(request, _("Project %(key)s is active again.") % {"key": page.project.key})
    return _back(page.project, "archive")


_ACTIONS = {
    "general": _general,
    "member-add": _member_add,
    "member-change": _member_change,
    "member-remove": _member_remove,
    "label-create": _label_create,
    "label-change": _label_change,
    "label-delete": _label_delete,
    "archive": _archive,
}


@member_required
def project_settings(request, key: str):
    """GET: the settings page. POST action=<one of _ACTIONS>: that change."""
    member = member_for_request(request)
    project = access_project(member=member, key=key, code="project.manage", fresh=True)
    page = _Page(project)
    if request.method == "POST":
        handler = _ACTIONS.get(request.POST.get("action", ""))
        if handler is None:
            raise ValidationError(_("Unknown action."))
        response = handler(request, page, member)
        if response is not None:
            return response
        page.project = Project.objects.get(pk=project.pk)
    return render(
        request,
        "projects/project_settings.html",
        page.context(),
        status=400 if request.method == "POST" else 200,
    )
