"""Writes to tasks. Call inside the organisation's schema. Every change records Activity
in the same transaction (DESIGN.md section 4). Which fields need which permission is
declared once (TASK_FIELD_PERMISSIONS in tenant_apps/projects/registry.py) and checked
here, by task_create and task_update, whoever calls them; reaching the task (and the
action's own code) is the caller's door (tenant_apps/tasks/permissions.py)."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shared_apps.audit.services import audit_record, audit_target
from shared_apps.billing.limits import limit_check, limit_precheck
from shared_apps.core.exceptions import ServiceRefusal
from shared_apps.core.storage import files_delete_on_commit, storage
from tenant_apps.members.models import Member
from tenant_apps.notifications import services as notify
from tenant_apps.projects.models import Project, WorkflowState
from tenant_apps.projects.permissions import permission_require
from tenant_apps.projects.registry import task_field_codes
from tenant_apps.projects.selectors import project_assignable_queryset
from tenant_apps.tasks import attachments, tree
from tenant_apps.tasks.cache import task_counts_invalidate
from tenant_apps.tasks.live import live_bump
from tenant_apps.tasks.models import Activity, Attachment, Comment, Label, Task, TaskNumberRedirect, TaskStatus
from tenant_apps.tasks.ranks import rank_between, rank_valid
from tenant_apps.tasks.selectors import CLOSED_STATUSES, closed_q

# Fields whose changes are recorded one Activity row each (state and status: _state_apply).
_TRACKED = ("title", "description", "priority", "due_date", "estimate")
# How many open sub-tasks a refusal to close names (the count is always exact).
_OPEN_CHILDREN_LISTED = 20


class OpenChildren(ServiceRefusal, ValidationError):
    """Closing a task whose sub-tasks are still open: asked first (HTTP 409, code
    `open_children`); the caller confirms with `force`. A ValidationError too, so a form
    or a bulk change that does not offer the confirmation shows it as an error."""

    status_code = 409
    code = "open_children"

    def __init__(self, *, count: int, keys: list[str]) -> None:
        message = ngettext(
            "%(count)d sub-task is still open (%(keys)s). Confirm to close it anyway.",
            "%(count)d sub-tasks are still open (%(keys)s). Confirm to close it anyway.",
            count,
        ) % {
            "count": count,
            "keys": ", ".join(keys),
        }
        ValidationError.__init__(self, message, code="open_children")
        self.message = message
        self.details = {"open_children": keys, "open_children_count": count}


def _tree_lock() -> None:
    """The organisation's tree lock, exclusively (tenant_apps/tasks/tree.py): two
    concurrent moves (A under B, B under A) run one after the other, so the second sees
    the first and refuses the cycle. Creating a sub-task cannot make a cycle and takes no
    lock (its totals start at 0)."""
    tree.tree_lock()


def _is_ancestor_or_self(*, task_id: int, of_id: int) -> bool:
    """Whether `task_id` is `of_id` or one of its ancestors (a recursive walk upwards)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH RECURSIVE up(id, parent_id) AS (
                   SELECT id, parent_id FROM tasks_task WHERE id = %s
                   UNION SELECT t.id, t.parent_id FROM tasks_task t JOIN up ON t.id = up.parent_id)
               SELECT EXISTS (SELECT 1 FROM up WHERE id = %s)""",
            [of_id, task_id],
        )
        return cursor.fetchone()[0]


def _parent_check(task: Task, parent: Task | None) -> None:
    """A parent may not be the task itself nor one of its sub-tasks (at any depth).
    Call under _tree_lock()."""
    if parent is None:
        return
    if parent.pk == task.pk or _is_ancestor_or_self(task_id=task.pk, of_id=parent.pk):
        raise ValidationError(
            {
                "parent": _("%(key)s is this task or one of its sub-tasks: that would make a cycle.")
                % {"key": parent.key}
            },
            code="cycle",
        )


def _key(task: Task | None) -> str | None:
    return f"{task.project.key}-{task.number}" if task is not None else None


# What task_update saves: every column but the key, the generated search vector and the
# rolled-up time (tenant_apps/tasks/tree.py keeps that with increments).
_UPDATABLE = [
    field.name
    for field in Task._meta.concrete_fields
    if not field.primary_key
    and not getattr(field, "generated", False)
    and field.name not in ("time_spent_minutes", "time_total_minutes")
]


class StaleVersion(Exception):
    """The task changed since the client read it (optimistic concurrency): HTTP 412."""


def _next_number(project: Project) -> int:
    """Take the project's next task number. The row stays locked until the transaction
    ends and a rollback returns the number, so numbers are gap-free and never repeat."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE projects_project SET task_sequence = task_sequence + 1 WHERE id = %s RETURNING task_sequence",
            [project.pk],
        )
        return cursor.fetchone()[0]


def _check_assignees(project: Project, assignees: list[Member]) -> None:
    """Assignees must be active members of the project (or organisation owners/admins,
    who may work on every project)."""
    ids = {member.pk for member in assignees}
    allowed = set(project_assignable_queryset(project.pk).filter(pk__in=ids).values_list("pk", flat=True))
    outsiders = sorted(ids - allowed)
    if outsiders:
        raise ValidationError(
            {"assignee_ids": _("Not members of this project: %(ids)s.") % {"ids": ", ".join(map(str, outsiders))}}
        )


def _check_labels(project: Project, labels: list[Label]) -> None:
    foreign = sorted(label.pk for label in labels if label.project_id != project.pk)
    if foreign:
        message = _("Labels of another project: %(ids)s.") % {"ids": ", ".join(map(str, foreign))}
        raise ValidationError({"label_ids": message})


def state_default(project: Project) -> WorkflowState:
    """Where a new task starts: the project's first state in category to do, else its
    first state in backlog, else its first state."""
    states = list(WorkflowState.objects.filter(project=project).order_by("position", "pk"))
    if not states:
        raise ValidationError({"state": _("The project has no workflow states.")})
    for category in (TaskStatus.TODO, TaskStatus.BACKLOG):
        for state in states:
            if state.category == category:
                return state
    return states[0]


def state_for_category(project: Project, category: str) -> WorkflowState:
    """The project's first state (in board order) of `category`: where a task goes when
    a caller names only a status (the API's `status`, the list's bulk change, a move to
    another project)."""
    state = WorkflowState.objects.filter(project=project, category=category).order_by("position", "pk").first()
    if state is None:
        raise ValidationError(
            {
                "status": _("The project has no state in the category “%(category)s”.")
                % {"category": TaskStatus(category).label if category in TaskStatus.values else category}
            }
        )
    return state


def _state_check(project: Project, state: WorkflowState) -> None:
    if state.project_id != project.pk:
        raise ValidationError({"state": _("Not a state of this project.")})


def _state_apply(task: Task, state: WorkflowState, changes: list[tuple[str, Any, Any]]) -> None:
    """Put `task` in `state`: the one place that writes state, status (the state's
    category) and completed_at (set on entering the done category, cleared on leaving
    it) together, recording the changes: ("state", old name, new name) and, when the
    category changes, ("status", old, new) for the notifications (the activity records
    the state row only: the category follows from it)."""
    if state.pk == task.state_id:
        return
    old_state = WorkflowState.objects.filter(pk=task.state_id).values_list("name", flat=True).first()
    changes.append(("state", old_state, state.name))
    task.state = state
    if state.category != task.status:
        changes.append(("status", task.status, state.category))
        task.status = state.category
        if task.status == TaskStatus.DONE:
            task.completed_at = task.completed_at or timezone.now()
        else:
            task.completed_at = None


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value.isoformat() if isinstance(value, date) else value


def task_create(
    *,
    project: Project,
    actor: Member,
    title: str,
    description: str = "",
    state: WorkflowState | None = None,
    status: str | None = None,
    priority: int = 0,
    due_date: date | None = None,
    assignees: list[Member] | None = None,
    labels: list[Label] | None = None,
    rank: str | None = None,
    parent: Task | None = None,
    estimate=None,
) -> Task:
    """Create a task with the project's next number, in `state` (or the project's first
    state of category `status`, or else its default state: state_default). Needs
    task.create, plus the field codes (TASK_FIELD_PERMISSIONS) for a state other than
    the default and for assignees. `parent` (a task the caller has checked the actor may
    see) makes it a sub-task."""
    assignees = assignees or []
    labels = labels or []
    default = state_default(project)
    if state is None:
        state = state_for_category(project, status) if status and status != default.category else default
    _state_check(project, state)
    fields = [name for name, given in (("state", state.pk != default.pk), ("assignees", assignees)) if given]
    permission_require(member=actor, project=project, codes={"task.create", *task_field_codes(fields)})
    if project.archived:
        raise ValidationError(_("The project is archived: unarchive it to add tasks."), code="archived")
    _check_assignees(project, assignees)
    _check_labels(project, labels)
    with transaction.atomic():
        number = _next_number(project)  # locks the project: ranks below are taken in turn
        task = Task.objects.create(
            project=project,
            number=number,
            rank=rank if rank is not None and rank_valid(rank) else _rank_last(state),
            title=title,
            description=description,
            state=state,
            status=state.category,
            priority=priority,
            due_date=due_date,
            reporter=actor,
            completed_at=timezone.now() if state.category == TaskStatus.DONE else None,
            parent=parent,
            estimate=estimate,
        )
        task.assignees.set(assignees)
        task.labels.set(labels)
        Activity.objects.create(task=task, actor=actor, kind=Activity.Kind.CREATED)
        if parent is not None:
            Activity.objects.create(
                task=parent,
                actor=actor,
                kind=Activity.Kind.CHANGED,
                field="subtasks",
                new_value={"added": f"{project.key}-{number}"},
            )
            live_bump(project_id=parent.project_id, task_id=parent.pk)
        notify.watchers_add(task=task, members=[actor])
        notify.assignment_record(
            task=task, actor=actor, added=[m.pk for m in assignees if m.pk != actor.pk], removed=[]
        )
        notify.mentions_record(task=task, actor=actor, text=description)
        task_counts_invalidate()
        live_bump(project_id=project.pk)
    return task


def _rank_last(state: WorkflowState) -> str:
    """A rank after every task of `state`'s column: new cards go to the end of it. Read
    backwards from the (state, rank) index: one row however large the project (0.1 ms at
    100k tasks, where sorting the whole project's ranks took 25 ms of every task_create)."""
    last = Task.objects.filter(state=state).order_by("-rank").values_list("rank", flat=True).first()
    return rank_between(last or None, None)


def task_update(
    *,
    task: Task,
    actor: Member,
    data: dict[str, Any],
    expected_version: int | None = None,
    force_close: bool = False,
) -> Task:
    """Apply `data` (any of the tracked fields, `state`, `status`, `assignees`, `labels`,
    `parent`) to `task`.

    `state` is a WorkflowState of the task's project; `status` alone (a category) moves
    the task to the project's first state of that category unless it is in that
    category already. `completed_at` follows the category (_state_apply).
    With `expected_version`, the update happens only if the task is still at that
    version (else StaleVersion, nothing changed). PermissionDenied, before anything
    else, unless `actor` holds the code of every field given (TASK_FIELD_PERMISSIONS).

    `parent` (a Task the caller has checked the actor may see, or None) is refused when
    it would make a cycle. Closing a task (a state in the done or cancelled category)
    whose direct sub-tasks are not all closed raises OpenChildren (nothing changed)
    unless `force_close`."""
    permission_require(member=actor, project=task.project, codes=task_field_codes(data))
    with transaction.atomic():
        if "parent" in data and data["parent"] is not None:
            _tree_lock()  # before the row lock: every re-parenting takes them in this order
        current = (
            Task.objects.select_for_update(of=("self",)).select_related("project", "parent__project").get(pk=task.pk)
        )
        if expected_version is not None and current.version != expected_version:
            raise StaleVersion(current.version)
        closing = data["state"].category if data.get("state") is not None else data.get("status")
        if not force_close and closing in CLOSED_STATUSES and current.status not in CLOSED_STATUSES:
            open_children = Task.objects.filter(parent=current).exclude(closed_q()).select_related("project")
            count = open_children.count()
            if count:
                keys = [child.key for child in open_children.order_by("project__key", "number")[:_OPEN_CHILDREN_LISTED]]
                raise OpenChildren(count=count, keys=keys)
        changes: list[tuple[str, Any, Any]] = []
        old_description = current.description
        for field in _TRACKED:
            if field in data and data[field] != getattr(current, field):
                changes.append((field, _json(getattr(current, field)), _json(data[field])))
                setattr(current, field, data[field])
        state = data.get("state")
        if state is None and data.get("status") and data["status"] != current.status:
            state = state_for_category(current.project, data["status"])
        if state is not None:
            _state_check(current.project, state)
            _state_apply(current, state, changes)
        rank_changed = "rank" in data and data["rank"] != current.rank
        if rank_changed:
            if not rank_valid(data["rank"]):
                raise ValidationError({"rank": _("Not a valid rank.")})
            current.rank = data["rank"]
        if "parent" in data and (data["parent"].pk if data["parent"] else None) != current.parent_id:
            if data["parent"] is None:
                _tree_lock()  # the totals of the old chain change
            _parent_check(current, data["parent"])
            changes.append(("parent", _key(current.parent), _key(data["parent"])))
            tree.subtree_detach(task_id=current.pk, parent_id=current.parent_id, total=current.time_total_minutes)
            tree.subtree_attach(
                parent_id=data["parent"].pk if data["parent"] else None, total=current.time_total_minutes
            )
            current.parent = data["parent"]
        for relation, check in (("assignees", _check_assignees), ("labels", _check_labels)):
            if relation in data:
                check(current.project, data[relation])
                before = sorted(getattr(current, relation).values_list("pk", flat=True))
                after = sorted(item.pk for item in data[relation])
                if before != after:
                    getattr(current, relation).set(data[relation])
                    changes.append((relation, before, after))
        if changes:
            current.version += 1
            # Never the rolled-up time: only tree.py writes it, with increments.
            current.save(update_fields=_UPDATABLE)
            Activity.objects.bulk_create(
                Activity(
                    task=current, actor=actor, kind=Activity.Kind.CHANGED, field=field, old_value=old, new_value=new
                )
                for field, old, new in changes
                if field != "status"
            )
            _changes_notify(task=current, actor=actor, changes=changes, old_description=old_description)
            task_counts_invalidate()
        elif rank_changed:
            # Only its place on the board: one column of one row, no new version (an open
            # edit of the task is not in conflict with a reorder), no activity.
            Task.objects.filter(pk=current.pk).update(rank=current.rank)
        if changes or rank_changed:
            live_bump(project_id=current.project_id, task_id=current.pk)
    return current


def task_place(
    *,
    task: Task,
    actor: Member,
    state: WorkflowState | None = None,
    after: Task | None = None,
    before: Task | None = None,
    expected_version: int | None = None,
    force_close: bool = False,
) -> Task:
    """Put `task` on the board: in column `state` (default: its own), right below
    `after` or else right above `before` (neither: at the top). The rank is computed
    from the column as it is now, so a client's stale view of its neighbours still
    lands the card where it was dropped. Needs task.change_status (TASK_FIELD_PERMISSIONS).
    Closing a task with open sub-tasks raises OpenChildren unless `force_close`."""
    column = state.pk if state is not None else task.state_id
    others = Task.objects.filter(state_id=column).exclude(pk=task.pk)
    if after is not None and after.pk != task.pk:
        low = after.rank
        high = others.filter(rank__gt=low).order_by("rank").values_list("rank", flat=True).first()
    elif before is not None and before.pk != task.pk:
        high = before.rank
        low = others.filter(rank__lt=high).order_by("-rank").values_list("rank", flat=True).first()
    else:
        low, high = None, others.order_by("rank").values_list("rank", flat=True).first()
    data: dict[str, Any] = {"rank": rank_between(low or None, high or None)}
    if state is not None:
        data["state"] = state
    return task_update(task=task, actor=actor, data=data, expected_version=expected_version, force_close=force_close)


def _changes_notify(*, task: Task, actor: Member, changes: list[tuple[str, Any, Any]], old_description: str) -> None:
    """The outbox events of an update (same transaction): a new workflow state (a status
    change for people, within one category too; entering done, also the tasks it
    blocked), assignees, mentions."""
    changed = {field: (old, new) for field, old, new in changes}
    if "state" in changed or "status" in changed:
        old_status, new_status = changed.get("status", (task.status, task.status))
        old_state, new_state = changed.get("state", (None, None))
        notify.status_change_record(
            task=task, actor=actor, old=old_status, new=new_status, old_state=old_state, new_state=new_state
        )
        if "status" in changed and new_status == TaskStatus.DONE:
            notify.unblocked_record(blockers=[task.pk], actor=actor)
    for field, old, new in changes:
        if field == "assignees":
            added = [pk for pk in new if pk not in old and pk != actor.pk]
            removed = [pk for pk in old if pk not in new and pk != actor.pk]
            notify.assignment_record(task=task, actor=actor, added=added, removed=removed)
        elif field == "description":
            notify.mentions_record(task=task, actor=actor, text=new, previous_text=old_description)


def task_delete(*, task: Task, actor: Member | None = None) -> None:
    """Delete the task with its comments, activity and attachments (files included);
    audited (task.deleted). `actor` None: the system."""
    with transaction.atomic():
        # Lock the task first: an upload in flight (which locks it too) either lands
        # before we list the files or finds the task gone; no file is left behind.
        tree.tree_lock()  # its subtree's time leaves its ancestors' totals
        current = Task.objects.select_for_update(of=("self",)).select_related("project").filter(pk=task.pk).first()
        if current is not None:
            tree.subtree_detach(task_id=current.pk, parent_id=current.parent_id, total=current.time_total_minutes)
        keys = list(Attachment.objects.filter(task=task).values_list("storage_key", flat=True))
        live_bump(project_id=task.project_id, task_id=task.pk)
        if current is not None:
            audit_record(
                action="task.deleted",
                actor=actor,
                target=audit_target(current, f"{current.project.key}-{current.number}"),
                before={"title": current.title, "status": current.status},
            )
        task.delete()
        files_delete_on_commit(keys)
        task_counts_invalidate()


def comment_create(*, task: Task, actor: Member, body: str) -> Comment:
    """`actor` writes a comment on `task` (its author)."""
    with transaction.atomic():
        comment = Comment.objects.create(task=task, author=actor, body=body)
        Activity.objects.create(task=task, actor=actor, kind=Activity.Kind.COMMENTED, new_value={"comment": comment.pk})
        notify.comment_record(task=task, actor=actor, comment_id=comment.pk, body=body)
        live_bump(project_id=task.project_id, task_id=task.pk)
    return comment


def comment_update(*, comment: Comment, actor: Member, body: str) -> Comment:
    """Authors edit their own comments; the comment is marked edited."""
    if comment.author_id != actor.pk:
        raise PermissionDenied(_("You can edit only your own comments."))
    if body == comment.body:
        return comment
    with transaction.atomic():
        notify.mentions_record(task=comment.task, actor=actor, text=body, previous_text=comment.body, where="comment")
        comment.body = body
        comment.edited = True
        comment.save(update_fields=["body", "edited", "updated_at"])
        Activity.objects.create(
            task_id=comment.task_id, actor=actor, kind=Activity.Kind.COMMENT_EDITED, new_value={"comment": comment.pk}
        )
        live_bump(task_id=comment.task_id)
    return comment


def comment_delete(*, comment: Comment, actor: Member, may_moderate: bool) -> None:
    """Authors delete their own comments; holders of comment.moderate anyone's."""
    if comment.author_id != actor.pk and not may_moderate:
        raise PermissionDenied(_("You can delete only your own comments."))
    with transaction.atomic():
        Activity.objects.create(
            task_id=comment.task_id, actor=actor, kind=Activity.Kind.COMMENT_DELETED, old_value={"comment": comment.pk}
        )
        comment.delete()
        live_bump(task_id=comment.task_id)


def label_save(
    *, project: Project, name: str, color: str | None = None, label: Label | None = None, actor: Member | None = None
) -> Label:
    """Create a label in `project`, or rename/recolour `label`. Names are unique per
    project, case-insensitively. (`actor` is taken like every write's; labels are not
    audited.)"""
    name = name.strip()
    clash = Label.objects.filter(project=project, name__iexact=name)
    if label is not None:
        clash = clash.exclude(pk=label.pk)
    if not name or clash.exists():
        raise ValidationError({"name": _("A label named “%(name)s” exists in this project.") % {"name": name}})
    label = label or Label(project=project)
    label.name = name
    if color:
        label.color = color.lower()
    try:
        with transaction.atomic():
            label.save()
            live_bump(project_id=project.pk)  # open boards show the new chip; filter bars the label
    except IntegrityError as exc:  # a concurrent request created the same name
        raise ValidationError({"name": _("A label named “%(name)s” exists in this project.") % {"name": name}}) from exc
    return label


def attachment_add(*, task: Task, actor: Member, upload) -> Attachment:
    """Store `upload` for `task` under a tenant-prefixed random key. Refused with
    PlanLimitExceeded (402) when it would pass the plan's storage allowance (checked
    before the file is stored, and again, binding, in the writing transaction)."""
    limit_precheck(None, "storage_bytes", adding=upload.size)
    head = upload.read(2048)
    upload.seek(0)
    key = attachments.storage_key_new()
    saved_key = storage().save(key, upload)
    try:
        with transaction.atomic():
            # Raises Task.DoesNotExist (the file is then removed) if the task was deleted
            # meanwhile; holds off a concurrent task_delete until this row exists.
            Task.objects.select_for_update().get(pk=task.pk)
            limit_check(None, "storage_bytes", adding=upload.size)
            attachment = Attachment.objects.create(
                task=task,
                uploaded_by=actor,
                filename=attachments.filename_sanitize(upload.name),
                content_type=attachments.content_type_sniff(head),
                size=upload.size,
                storage_key=saved_key,
            )
            Activity.objects.create(
                task=task,
                actor=actor,
                kind=Activity.Kind.ATTACHMENT_ADDED,
                new_value={"attachment": attachment.pk, "filename": attachment.filename},
            )
            live_bump(task_id=task.pk)
    except Exception:
        storage().delete(saved_key)
        raise
    return attachment


def attachment_remove(*, attachment: Attachment, actor: Member) -> None:
    with transaction.atomic():
        Activity.objects.create(
            task_id=attachment.task_id,
            actor=actor,
            kind=Activity.Kind.ATTACHMENT_REMOVED,
            old_value={"attachment": attachment.pk, "filename": attachment.filename},
        )
        attachment.delete()
        files_delete_on_commit([attachment.storage_key])
        live_bump(task_id=attachment.task_id)


def task_move(*, task: Task, target: Project, actor: Member) -> Task:
    """Move `task` to `target`: it takes the target's next number, the old number keeps
    redirecting to it, labels (per project) are dropped and assignees who are not in
    the target project are unassigned — all recorded."""
    if target.pk == task.project_id:
        raise ValidationError({"project": _("The task is already in this project.")})
    if target.archived:
        raise ValidationError({"project": _("The target project is archived.")})
    with transaction.atomic():
        current = Task.objects.select_for_update().select_related("project").get(pk=task.pk)
        if current.project_id == target.pk:  # a concurrent move got there first
            raise ValidationError({"project": _("The task is already in this project.")})
        old_project, old_number = current.project, current.number
        # The same category in the target's workflow (its first state of it), else the
        # target's default state.
        state_changes: list[tuple[str, Any, Any]] = []
        target_state = WorkflowState.objects.filter(project=target, category=current.status).order_by(
            "position", "pk"
        ).first() or state_default(target)
        _state_apply(current, target_state, state_changes)
        TaskNumberRedirect.objects.filter(task=current, project=target).delete()
        TaskNumberRedirect.objects.create(project=old_project, number=old_number, task=current)
        current.project = target
        current.number = _next_number(target)
        current.rank = _rank_last(target_state)
        current.version += 1
        current.save(
            update_fields=["project", "number", "rank", "version", "state", "status", "completed_at", "updated_at"]
        )
        labels_before = sorted(current.labels.values_list("pk", flat=True))
        current.labels.clear()
        assignees = list(current.assignees.all())
        assignable = set(
            project_assignable_queryset(target.pk).filter(pk__in=[m.pk for m in assignees]).values_list("pk", flat=True)
        )
        keep = [m for m in assignees if m.pk in assignable]
        current.assignees.set(keep)
        dropped = [
            ("labels", labels_before, []),
            ("assignees", sorted(m.pk for m in assignees), sorted(m.pk for m in keep)),
        ]
        Activity.objects.bulk_create(
            Activity(task=current, actor=actor, kind=Activity.Kind.CHANGED, field=field, old_value=old, new_value=new)
            for field, old, new in [*state_changes, *dropped]
            if old != new and field != "status"
        )
        Activity.objects.create(
            task=current,
            actor=actor,
            kind=Activity.Kind.MOVED,
            field="project",
            old_value=f"{old_project.key}-{old_number}",
            new_value=f"{target.key}-{current.number}",
        )
        task_counts_invalidate()
        live_bump(project_id=old_project.pk, task_id=current.pk)
        live_bump(project_id=target.pk)
    return current


def label_delete(*, label: Label, actor: Member) -> None:
    """Delete a label; the tasks that carried it get a new version and an activity row,
    like any other change to them."""
    with transaction.atomic():
        tasks = list(Task.objects.select_for_update().filter(labels=label))
        for task in tasks:
            before = sorted(task.labels.values_list("pk", flat=True))
            Activity.objects.create(
                task=task,
                actor=actor,
                kind=Activity.Kind.CHANGED,
                field="labels",
                old_value=before,
                new_value=[pk for pk in before if pk != label.pk],
            )
        Task.objects.filter(pk__in=[task.pk for task in tasks]).update(version=F("version") + 1)
        label.delete()
        live_bump(project_id=label.project_id)
