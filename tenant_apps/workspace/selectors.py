"""Reads behind the shell's pages, built on the tasks' and projects' selectors."""

from datetime import timedelta

from django.utils import timezone

from tenant_apps.members.models import Member
from tenant_apps.projects.selectors import project_list_visible, projects_visible_to, sees_every_project
from tenant_apps.tasks.filters import task_search
from tenant_apps.tasks.models import Activity, Task, TaskStatus

MY_WORK_LIMIT = 200
ACTIVITY_LIMIT = 20
SEARCH_LIMIT = 30


def tasks_visible_to(member: Member | None):
    """Every task in a project `member` may see (the API's /api/v1/tasks/ scope)."""
    if sees_every_project(member):
        return Task.objects.all()
    return Task.objects.filter(project__in=projects_visible_to(member))


def my_work(*, member: Member) -> dict:
    """Open tasks assigned to `member` grouped Overdue / Due this week / In progress / To
    do (each task in the first group it fits), and the latest activity on tasks they
    watch. Two statements however many tasks there are."""
    today = timezone.localdate()
    week_end = today + timedelta(days=7)
    open_statuses = [TaskStatus.BACKLOG, TaskStatus.TODO, TaskStatus.IN_PROGRESS]
    tasks = list(
        tasks_visible_to(member)
        .filter(assignees=member, status__in=open_statuses)
        .select_related("project")
        .order_by("due_date", "-priority", "project__key", "number")[:MY_WORK_LIMIT]
    )
    groups = {"overdue": [], "week": [], "in_progress": [], "todo": []}
    for task in tasks:
        if task.due_date is not None and task.due_date < today:
            groups["overdue"].append(task)
        elif task.due_date is not None and task.due_date <= week_end:
            groups["week"].append(task)
        elif task.status == TaskStatus.IN_PROGRESS:
            groups["in_progress"].append(task)
        else:
            groups["todo"].append(task)
    activity = list(
        Activity.objects.filter(task__watchers__member=member, task__in=tasks_visible_to(member))
        .exclude(actor=member)
        .select_related("task__project", "actor")
        .order_by("-created_at", "-pk")[:ACTIVITY_LIMIT]
    )
    return {"groups": groups, "activity": activity, "today": today, "assigned_count": len(tasks)}


def search_everything(*, member: Member, text: str) -> dict:
    """Projects whose key or name contains `text` (from the cached project list) and the
    best-matching tasks (the task list's search: words in both languages, typos, KEY-n)."""
    needle = text.casefold()
    projects = [p for p in project_list_visible(member) if needle in p.key.casefold() or needle in p.name.casefold()]
    tasks = list(
        task_search(tasks_visible_to(member), text)
        .select_related("project")
        .order_by("-relevance", "pk")[:SEARCH_LIMIT]
    )
    return {"projects": projects[:10], "tasks": tasks}
