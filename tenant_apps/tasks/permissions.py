"""The doors to tasks and what hangs off them: `access_task`, `access_comment`,
`access_attachment`, `access_label`. Same convention as tenant_apps/projects/permissions.py:
keyword-only, `member` (or None), the object's address, `code`; Http404 when missing or
invisible (the same answer), PermissionDenied when visible but `code` is not held.

`project` is a Project already accessed (e.g. ProjectScopedApi's `self.project`; only
`code` is checked then) or a project key (access_project first)."""

from django.http import Http404

from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import permission_require, project_resolve
from tenant_apps.tasks.models import Attachment, Comment, Label, Task


def access_task(
    *, member: Member | None, project: Project | str, number: int, code: str = "project.view", queryset=None
) -> Task:
    """The task `number` of `project`. `queryset` narrows or joins (e.g. select_related)."""
    project = project_resolve(member=member, project=project, code="project.view")
    task = (queryset if queryset is not None else Task.objects).filter(project=project, number=number).first()
    if task is None:
        raise Http404()
    task.project = project  # the row just checked: no second query for it
    if code != "project.view":
        permission_require(member=member, project=project, codes=code)
    return task


def access_comment(
    *, member: Member | None, project: Project | str, number: int, comment_id: int, code: str = "project.view"
) -> Comment:
    """A comment of task `number` (one query, with its author). Editing and deleting
    someone else's comment are decided by the services (author / comment.moderate)."""
    project = project_resolve(member=member, project=project, code="project.view")
    comment = (
        Comment.objects.select_related("author")
        .filter(pk=comment_id, task__project=project, task__number=number)
        .first()
    )
    if comment is None:
        raise Http404()
    if code != "project.view":
        permission_require(member=member, project=project, codes=code)
    return comment


def access_attachment(
    *, member: Member | None, project: Project | str, number: int, attachment_id: int, code: str = "project.view"
) -> Attachment:
    """An attachment of task `number` (one query, with its task)."""
    project = project_resolve(member=member, project=project, code="project.view")
    attachment = (
        Attachment.objects.select_related("task")
        .filter(pk=attachment_id, task__project=project, task__number=number)
        .first()
    )
    if attachment is None:
        raise Http404()
    if code != "project.view":
        permission_require(member=member, project=project, codes=code)
    return attachment


def access_label(*, member: Member | None, project: Project | str, label_id: int, code: str = "project.view") -> Label:
    """A label of `project`."""
    project = project_resolve(member=member, project=project, code="project.view")
    label = Label.objects.filter(pk=label_id, project=project).first()
    if label is None:
        raise Http404()
    if code != "project.view":
        permission_require(member=member, project=project, codes=code)
    return label
