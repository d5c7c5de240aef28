import re

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render

from tenant_apps.projects.permissions import member_for_request, user_can
from tenant_apps.tasks.models import Task, TaskNumberRedirect

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
    task = (
        Task.objects.select_related("project", "reporter")
        .prefetch_related("assignees", "labels")
        .filter(project__key=key, number=number)
        .first()
    )
    if task is None:
        redirect = TaskNumberRedirect.objects.select_related("task__project").filter(project__key=key, number=number)
        task = redirect.first().task if redirect.exists() else None
    if task is None or member_for_request(request) is None or not user_can(request, "project.view", task.project):
        raise Http404
    return render(request, "tasks/task_page.html", {"task": task, "key": f"{task.project.key}-{task.number}"})
