import re

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render

from tenant_apps.projects.permissions import member_for_request
from tenant_apps.tasks.models import Task, TaskNumberRedirect
from tenant_apps.tasks.permissions import access_task

_REFERENCE = re.compile(r"^(?P<key>[A-Z][A-Z0-9]{1,9})-(?P<number>[1-9][0-9]{0,9})$")


def task_page(request, reference: str):
    """A task's page, where notification links lead (`/tasks/WEB-42/`). Members who can
    see the project only; anything else is a 404. A moved task's old number still works."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    match = _REFERENCE.match(reference.upper())
    if match is None:
        raise Http404
    key, number = match["key"], int(match["number"])
    member = member_for_request(request)
    tasks = Task.objects.select_related("project", "reporter").prefetch_related("assignees", "labels")
    try:
        task = access_task(member=member, project=key, number=number, queryset=tasks)
    except Http404:
        moved = TaskNumberRedirect.objects.select_related("task__project").filter(project__key=key, number=number)
        redirect = moved.first()
        if redirect is None:
            raise
        task = access_task(
            member=member, project=redirect.task.project.key, number=redirect.task.number, queryset=tasks
        )
    return render(request, "tasks/task_page.html", {"task": task, "key": f"{task.project.key}-{task.number}"})
