"""Relations between tasks (issue 15 item 3): blocks / blocked by, duplicates /
duplicated by, relates to. One TaskRelation row per linked pair; "blocked by" and
"duplicated by" are the rows read from the other end.

Rules (the services below; the doors are the API's and the page's):
- Both tasks are in the same organisation (one schema: a task of another organisation
  cannot even be named) and the actor must see both; across projects is allowed.
  Adding or removing a relation needs task.edit on the task it is added from.
- No relation of a task to itself, and a pair of tasks is linked once (whatever the
  kind or direction): refused with a clear error (and by the database's constraints).
- Marking a task as a duplicate closes it: it moves to its project's first state of
  the cancelled category (needs task.change_status there), recorded like any move.
- Each addition and removal writes an activity entry on both tasks."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenant_apps.members.models import Member
from tenant_apps.projects.models import CLOSED_CATEGORIES, TaskStatus, WorkflowState
from tenant_apps.tasks.live import live_bump
from tenant_apps.tasks.models import Activity, Task, TaskRelation
from tenant_apps.tasks.services import task_update

# What a relation is called from each end: (kind as stored, seen from the source) and
# the inverse, seen from the target.
KINDS = {
    "blocks": gettext_lazy("blocks"),
    "blocked_by": gettext_lazy("is blocked by"),
    "duplicates": gettext_lazy("duplicates"),
    "duplicated_by": gettext_lazy("is duplicated by"),
    "relates_to": gettext_lazy("relates to"),
}
_STORED = {
    "blocks": (TaskRelation.Kind.BLOCKS, False),
    "blocked_by": (TaskRelation.Kind.BLOCKS, True),
    "duplicates": (TaskRelation.Kind.DUPLICATES, False),
    "duplicated_by": (TaskRelation.Kind.DUPLICATES, True),
    "relates_to": (TaskRelation.Kind.RELATES_TO, False),
}
_INVERSE = {"blocks": "blocked_by", "duplicates": "duplicated_by", "relates_to": "relates_to"}


def relation_seen_from(relation: TaskRelation, task_id: int) -> str:
    """The relation's kind as `task_id` sees it: blocks or blocked_by, and so on."""
    return relation.kind if relation.source_id == task_id else _INVERSE[relation.kind]


def relation_add(*, task: Task, other: Task, kind: str, actor: Member) -> TaskRelation:
    """Link `task` to `other` (`kind` as seen from `task`: one of KINDS). Marking a
    duplicate closes the duplicate (its project's first cancelled state) in the same
    transaction; ValidationError if that project has no such state."""
    if kind not in _STORED:
        raise ValidationError({"kind": _("Unknown kind of relation.")})
    if other.pk == task.pk:
        raise ValidationError({"task": _("A task cannot be related to itself.")})
    stored, reverse = _STORED[kind]
    source, target = (other, task) if reverse else (task, other)
    with transaction.atomic():
        if TaskRelation.objects.filter(Q(source=task, target=other) | Q(source=other, target=task)).exists():
            raise ValidationError({"task": _("These tasks are related already.")})
        try:
            with transaction.atomic():
                relation = TaskRelation.objects.create(source=source, target=target, kind=stored, created_by=actor)
        except IntegrityError as exc:  # a concurrent request linked the same pair
            raise ValidationError({"task": _("These tasks are related already.")}) from exc
        _activity(relation, Activity.Kind.RELATION_ADDED, actor)
        if stored == TaskRelation.Kind.DUPLICATES:
            _close_as_duplicate(source, actor)
        live_bump(project_id=source.project_id, task_id=source.pk)
        live_bump(project_id=target.project_id, task_id=target.pk)
    return relation


def _close_as_duplicate(duplicate: Task, actor: Member) -> None:
    current = Task.objects.get(pk=duplicate.pk)
    if current.status in CLOSED_CATEGORIES:
        return
    state = (
        WorkflowState.objects.filter(project_id=current.project_id, category=TaskStatus.CANCELLED)
        .order_by("position", "pk")
        .first()
    )
    if state is None:
        raise ValidationError(
            {"kind": _("%(key)s's project has no cancelled state to close the duplicate in.") % {"key": current.key}}
        )
    task_update(task=current, actor=actor, data={"state": state})


def _activity(relation: TaskRelation, kind: str, actor: Member | None) -> None:
    pair = list(Task.objects.filter(pk__in=[relation.source_id, relation.target_id]).select_related("project"))
    keys = {task.pk: task.key for task in pair}
    Activity.objects.bulk_create(
        Activity(
            task_id=me,
            actor=actor,
            kind=kind,
            field="relation",
            new_value={"kind": relation_seen_from(relation, me), "task": keys.get(them, "")},
        )
        for me, them in ((relation.source_id, relation.target_id), (relation.target_id, relation.source_id))
    )


def relation_remove(*, relation: TaskRelation, actor: Member) -> None:
    """Unlink the pair (an activity entry on both tasks). A closed duplicate stays closed."""
    with transaction.atomic():
        _activity(relation, Activity.Kind.RELATION_REMOVED, actor)
        source, target = relation.source, relation.target
        relation.delete()
        live_bump(project_id=source.project_id, task_id=source.pk)
        live_bump(project_id=target.project_id, task_id=target.pk)


def relations_of(task: Task, *, visible_project_ids: set[int] | None) -> list[dict]:
    """The task's relations as it sees them, with the other task (key, title, state,
    status), in one statement. `visible_project_ids`: the projects the viewer sees
    (None: every one); relations to tasks the viewer cannot see are left out."""
    rows = (
        TaskRelation.objects.filter(Q(source=task) | Q(target=task))
        .select_related("source__project", "source__state", "target__project", "target__state")
        .order_by("kind", "pk")
    )
    result = []
    for relation in rows:
        other = relation.target if relation.source_id == task.pk else relation.source
        if visible_project_ids is not None and other.project_id not in visible_project_ids:
            continue
        seen = relation_seen_from(relation, task.pk)
        result.append(
            {
                "id": relation.pk,
                "kind": seen,
                "kind_label": str(KINDS[seen]),
                "task": {
                    "key": other.key,
                    "title": other.title,
                    "status": other.status,
                    "state": {"id": other.state_id, "name": other.state.name, "colour": other.state.colour},
                },
                "open": other.status not in CLOSED_CATEGORIES,
                "created_at": relation.created_at,
            }
        )
    return result
