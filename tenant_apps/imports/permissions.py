"""The door to imports (`access_import`). Same convention as
tenant_apps/projects/permissions.py: keyword-only, the member, the project already
resolved through access_project, the import's id; Http404 when missing or not theirs
(also for another project's or organisation's ids)."""

from django.http import Http404

from tenant_apps.imports.models import TaskImport
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import project_permissions


def access_import(*, member: Member | None, project: Project, import_id: int) -> TaskImport:
    """The import `import_id` of `project` (the caller resolved the project through
    access_project): 404 for another project's, and for someone else's import unless
    the member may manage the project."""
    task_import = TaskImport.objects.filter(project=project, pk=import_id).select_related("project").first()
    if task_import is None or member is None:
        raise Http404()
    if task_import.requested_by_id != member.pk and "project.manage" not in project_permissions(
        member=member, project=project
    ):
        raise Http404()
    return task_import
