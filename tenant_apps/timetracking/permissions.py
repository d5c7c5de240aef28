"""The door to a time entry, in the convention of tenant_apps/tasks/permissions.py."""

from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import in_project_or_404
from tenant_apps.timetracking.models import TimeEntry


def access_time_entry(
    *, member: Member | None, project: Project | str, number: int, entry_id: int, code: str = "project.view"
) -> TimeEntry:
    """An entry of task `number` of `project` (one query, with its task and project).
    Whether `member` may change it (their own, time.log) the services decide."""
    _project, entry = in_project_or_404(
        member=member,
        project=project,
        code=code,
        lookup=lambda found: TimeEntry.objects.select_related("task__project", "member").filter(
            pk=entry_id, task__project=found, task__number=number
        ),
    )
    return entry
