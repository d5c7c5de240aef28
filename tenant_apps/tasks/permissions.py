"""The doors to tasks and what hangs off them: `access_task`, `access_comment`,
`access_attachment`, `access_label`. Same convention as tenant_apps/projects/permissions.py:
keyword-only, `member` (or None), the object's address, `code`; Http404 when missing or
invisible (the same answer), PermissionDenied when visible but `code` is not held.

`project` is a Project already accessed (e.g. ProjectScopedApi's `self.project`; only
`code` is checked then) or a project key (access_project first)."""

import re

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _

from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import in_project_or_404
from tenant_apps.tasks.models import Attachment, Comment, Label, Task


def access_task(
    *, member: Member | None, project: Project | str, number: int, code: str = "project.view", queryset=None
) -> Task:
    """The task `number` of `project`. `queryset` narrows or joins (e.g. select_related)."""
    rows = queryset if queryset is not None else Task.objects
    project, task = in_project_or_404(
        member=member, project=project, code=code, lookup=lambda found: rows.filter(project=found, number=number)
    )
    task.project = project  # the row just checked: no second query for it
    return task


def access_comment(
    *, member: Member | None, project: Project | str, number: int, comment_id: int, code: str = "project.view"
) -> Comment:
    """A comment of task `number` (one query, with its author). Editing and deleting
    someone else's comment are decided by the services (author / comment.moderate)."""
    _project, comment = in_project_or_404(
        member=member,
        project=project,
        code=code,
        lookup=lambda found: Comment.objects.select_related("author").filter(
            pk=comment_id, task__project=found, task__number=number
        ),
    )
    return comment


def access_attachment(
    *, member: Member | None, project: Project | str, number: int, attachment_id: int, code: str = "project.view"
) -> Attachment:
    """An attachment of task `number` (one query, with its task)."""
    _project, attachment = in_project_or_404(
        member=member,
        project=project,
        code=code,
        lookup=lambda found: Attachment.objects.select_related("task").filter(
            pk=attachment_id, task__project=found, task__number=number
        ),
    )
    return attachment


def access_label(*, member: Member | None, project: Project | str, label_id: int, code: str = "project.view") -> Label:
    """A label of `project`."""
    _project, label = in_project_or_404(
        member=member, project=project, code=code, lookup=lambda found: Label.objects.filter(pk=label_id, project=found)
    )
    return label


_REFERENCE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]{1,9})-([1-9][0-9]{0,9})\s*$")


def task_reference_resolve(*, member: Member | None, reference: str, field: str = "parent") -> Task:
    """The task `KEY-n` in any project `member` can see, for pointing at it from another
    task (a parent). A ValidationError naming `field` when there is no such task or it
    is hidden from them (the same answer: a hidden task's key leaks nothing)."""
    match = _REFERENCE.match(reference or "")
    if match is not None:
        try:
            return access_task(
                member=member,
                project=match.group(1).upper(),
                number=int(match.group(2)),
                queryset=Task.objects.select_related("project"),
            )
        except Http404:
            pass
    raise ValidationError({field: _("No such task: %(key)s.") % {"key": (reference or "").strip()[:30]}})
