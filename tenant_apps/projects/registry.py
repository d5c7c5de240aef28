"""Every permission code of the product, in one place (DESIGN.md section 3), and the
built-in project roles made of them. docs/permissions.md shows the same table; a test
keeps the two in step."""

from django.utils.translation import gettext_lazy as _

PERMISSIONS: dict[str, str] = {
    "project.view": _("See the project, its tasks, comments and attachments"),
    "project.manage": _("Edit or archive the project and manage its members"),
    "task.create": _("Create tasks"),
    "task.edit": _("Edit tasks"),
    "task.delete": _("Delete tasks"),
    "task.assign": _("Assign and unassign people"),
    "task.change_status": _("Move tasks between statuses"),
    "comment.create": _("Comment on tasks"),
    "comment.moderate": _("Delete anyone's comments"),
    "attachment.upload": _("Upload and delete attachments"),
    "report.create": _("Request reports"),
    # Issue 15, item 5: time tracking.
    "time.log": _("Log time on tasks (and edit or delete your own entries)"),
}
ALL_CODES = frozenset(PERMISSIONS)

PROJECT_MANAGER = "Project Manager"
DEVELOPER = "Developer"
REPORTER = "Reporter"
VIEWER = "Viewer"

BUILTIN_ROLES: dict[str, list[str]] = {
    PROJECT_MANAGER: sorted(ALL_CODES),
    DEVELOPER: [
        "project.view",
        "task.create",
        "task.edit",
        "task.assign",
        "task.change_status",
        "comment.create",
        "attachment.upload",
        "report.create",
        "time.log",
    ],
    REPORTER: ["project.view", "task.create", "comment.create", "attachment.upload", "report.create"],
    VIEWER: ["project.view"],
}


def unknown_codes(codes) -> list[str]:
    return sorted(set(codes) - ALL_CODES)


# Which code a change to each task field needs (any field not named here: task.edit).
# Decided here, once; task_create and task_update check it (tenant_apps/tasks/services.py),
# so the API, the pages and every other caller get the same answer.
TASK_FIELD_PERMISSIONS: dict[str, str] = {
    "status": "task.change_status",
    "state": "task.change_status",
    "assignees": "task.assign",
    # The order of cards on the board is arranged with their status (drag and drop).
    "rank": "task.change_status",
}
TASK_FIELD_DEFAULT_PERMISSION = "task.edit"


def task_field_codes(fields) -> set[str]:
    """The codes needed to change `fields` of a task (names as task_update takes them)."""
    return {TASK_FIELD_PERMISSIONS.get(field, TASK_FIELD_DEFAULT_PERMISSION) for field in fields}
