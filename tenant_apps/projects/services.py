"""Writes to roles, projects and project members. Call inside the organisation's schema;
reaching the object and the action's code are the doors' (permissions.py), invariants
here. Every write takes `actor` (the acting Member; None: the system) and records its
audit entry in the same transaction (shared_apps/audit)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, ProtectedError, Value, When
from django.db.models.functions import Now
from django.utils import translation
from django.utils.translation import gettext as _

from shared_apps.audit.services import audit_diff, audit_record, audit_target
from shared_apps.billing.limits import limit_check
from shared_apps.core.storage import files_delete_on_commit
from tenant_apps.members.models import Member
from tenant_apps.notifications import services as notify
from tenant_apps.projects.models import (
    DEFAULT_STATES,
    Project,
    ProjectMember,
    Role,
    TaskStatus,
    WorkflowState,
)
from tenant_apps.projects.permissions import may_create_projects, permissions_version_bump
from tenant_apps.projects.registry import PROJECT_MANAGER, unknown_codes
from tenant_apps.projects.selectors import projects_cache_invalidate
from tenant_apps.tasks.cache import task_counts_invalidate
from tenant_apps.tasks.live import live_bump
from tenant_apps.tasks.models import Activity, Attachment, Task


def _validate_role_fields(*, name: str | None, permissions: list[str] | None, role: Role | None = None) -> None:
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": _("A role needs a name.")})
        clash = Role.objects.filter(name__iexact=name.strip())
        if role is not None:
            clash = clash.exclude(pk=role.pk)
        if clash.exists():
            raise ValidationError({"name": _("A role named “%(name)s” exists already.") % {"name": name.strip()}})
    if permissions is not None:
        unknown = unknown_codes(permissions)
        if unknown:
            raise ValidationError(
                {"permissions": _("Unknown permission codes: %(codes)s.") % {"codes": ", ".join(unknown)}}
            )


def _role_fields(role: Role) -> dict:
    return {"name": role.name, "permissions": list(role.permissions)}


def role_create(*, name: str, permissions: list[str], actor: Member | None = None) -> Role:
    _validate_role_fields(name=name, permissions=permissions)
    try:
        with transaction.atomic():
            role = Role.objects.create(name=name.strip(), permissions=sorted(set(permissions)))
            audit_record(
                action="role.created", actor=actor, target=audit_target(role, role.name), after=_role_fields(role)
            )
            return role
    except IntegrityError as exc:  # a concurrent create with the same name
        raise ValidationError({"name": _("A role named “%(name)s” exists already.") % {"name": name}}) from exc


def role_update(
    *, role: Role, name: str | None = None, permissions: list[str] | None = None, actor: Member | None = None
) -> Role:
    if role.is_builtin:
        raise ValidationError(_("Built-in roles cannot be changed; create a custom role instead."), code="builtin")
    _validate_role_fields(name=name, permissions=permissions, role=role)
    previous = _role_fields(role)
    if name is not None:
        role.name = name.strip()
    if permissions is not None:
        role.permissions = sorted(set(permissions))
    with transaction.atomic():
        role.save(update_fields=["name", "permissions", "updated_at"])
        before, after = audit_diff(previous, _role_fields(role))
        if after:
            audit_record(
                action="role.changed", actor=actor, target=audit_target(role, role.name), before=before, after=after
            )
    permissions_version_bump()
    return role


def role_delete(*, role: Role, reassign_to: Role | None = None, actor: Member | None = None) -> None:
    """Delete a custom role. If project members hold it, `reassign_to` must name the role
    they move to (in the same transaction)."""
    if role.is_builtin:
        raise ValidationError(_("Built-in roles cannot be deleted."), code="builtin")
    with transaction.atomic():
        holders = ProjectMember.objects.select_for_update().filter(role=role)
        count = holders.count()
        if count and reassign_to is None:
            raise ValidationError(
                _("%(count)d project member(s) have this role: choose a role to reassign them to.") % {"count": count},
                code="in_use",
            )
        if reassign_to is not None and reassign_to.pk == role.pk:
            raise ValidationError({"reassign_to": _("Choose a different role.")})
        if count:
            holders.update(role=reassign_to)
        audit_record(
            action="role.deleted",
            actor=actor,
            target=audit_target(role, role.name),
            before=_role_fields(role),
            after={"reassigned_to": reassign_to.name, "holders": count} if count else {},
        )
        try:
            with transaction.atomic():
                role.delete()
        except ProtectedError as exc:  # someone was given this role meanwhile
            raise ValidationError(_("The role was just given to someone; try again."), code="in_use") from exc
    permissions_version_bump()


def project_create(*, key: str, name: str, actor: Member, description: str = "") -> Project:
    """Create a project; `actor` becomes its lead and Project Manager. Guests may not
    create projects (PermissionDenied). Refused with PlanLimitExceeded (402) at the
    plan's allowance of active projects."""
    if not may_create_projects(actor):
        raise PermissionDenied(_("Guests cannot create projects."))
    try:
        with transaction.atomic():
            project = Project(key=key, name=name, description=description, lead=actor)
            project.full_clean()
            limit_check(None, "projects", adding=1)
            project.save()
            with translation.override(None):  # stored in English, shown translated (state_label)
                WorkflowState.objects.bulk_create(
                    WorkflowState(project=project, name=str(name), category=category, colour=colour, position=position)
                    for position, (name, category, colour) in enumerate(DEFAULT_STATES)
                )
            ProjectMember.objects.create(project=project, member=actor, role=Role.objects.get(name=PROJECT_MANAGER))
    except IntegrityError as exc:  # a concurrent create took the key
        raise ValidationError({"key": _("A project with this key exists already.")}) from exc
    permissions_version_bump()
    projects_cache_invalidate()
    return project


def _project_member_target(project: Project, member: Member, project_member: ProjectMember):
    return audit_target(project_member, f"{member.email} in {project.key}")


def project_member_set(*, project: Project, member: Member, role: Role, actor: Member | None = None) -> ProjectMember:
    """Add `member` to `project` with `role`, or change their role there (audited when
    something changed: project_member.added / project_member.changed)."""
    if not member.is_active:
        raise ValidationError({"member_id": _("This person is no longer in the organisation.")})
    with transaction.atomic():
        previous = (
            ProjectMember.objects.select_for_update()
            .select_related("role")
            .filter(project=project, member=member)
            .first()
        )
        project_member, created = ProjectMember.objects.update_or_create(
            project=project, member=member, defaults={"role": role}
        )
        target = _project_member_target(project, member, project_member)
        if created:
            audit_record(action="project_member.added", actor=actor, target=target, after={"role": role.name})
        elif previous is not None and previous.role_id != role.pk:
            audit_record(
                action="project_member.changed",
                actor=actor,
                target=target,
                before={"role": previous.role.name},
                after={"role": role.name},
            )
    permissions_version_bump()
    return project_member


def project_member_remove(*, project_member: ProjectMember, actor: Member | None = None) -> None:
    with transaction.atomic():
        audit_record(
            action="project_member.removed",
            actor=actor,
            target=_project_member_target(project_member.project, project_member.member, project_member),
            before={"role": project_member.role.name},
        )
        project_member.delete()
    permissions_version_bump()


def project_update(*, project: Project, data: dict, actor: Member | None = None) -> Project:
    """Change name, description, lead, archived or estimate_unit. The key is fixed: task numbers use it.
    Unarchiving counts against the plan's active projects like creating one. Archiving
    and unarchiving are audited."""
    if "lead" in data and data["lead"] is not None:
        lead = data["lead"]
        if not lead.is_active or not ProjectMember.objects.filter(project=project, member=lead).exists():
            raise ValidationError({"lead_id": _("The lead must be a member of the project.")})
    fields = [field for field in ("name", "description", "lead", "archived", "estimate_unit") if field in data]
    with transaction.atomic():
        # The row as it is now, locked: a concurrent archive/unarchive cannot slip past the
        # plan's limit, and only the fields given are written back.
        current = Project.objects.select_for_update().get(pk=project.pk)
        unarchiving = current.archived and data.get("archived") is False
        archiving = not current.archived and data.get("archived") is True
        for field in fields:
            setattr(current, field, data[field])
        current.full_clean(exclude=["key"])
        if unarchiving:
            limit_check(None, "projects", adding=1)
        # Never a full save: it would write back a stale task_sequence and break numbering.
        current.save(update_fields=[*fields, "updated_at"])
        if archiving or unarchiving:
            audit_record(
                action="project.archived" if archiving else "project.unarchived",
                actor=actor,
                target=audit_target(current, current.key),
                before={"archived": not current.archived},
                after={"archived": current.archived},
            )
        projects_cache_invalidate()
    return current


def _time_detach_from_other_projects(project: Project) -> None:
    """Tasks of `project` that are sub-tasks of tasks elsewhere take their time out of
    those parents' rolled-up totals before they go (tenant_apps/tasks/tree.py). Each is
    cut loose right after, so a deeper one's walk stops there and nothing counts twice."""
    from tenant_apps.tasks import tree

    tree.tree_lock()
    outside = (
        Task.objects.filter(project=project, parent__isnull=False)
        .exclude(parent__project=project)
        .values_list("pk", flat=True)
    )
    for task_id in list(outside):
        parent_id, total = Task.objects.filter(pk=task_id).values_list("parent_id", "time_total_minutes").get()
        tree.subtree_detach(task_id=task_id, parent_id=parent_id, total=total)
        Task.objects.filter(pk=task_id).update(parent=None)


def project_delete(*, project: Project, confirm_key: str, actor: Member | None = None) -> None:
    """Delete the project with its tasks, comments, attachments and their files. The
    caller must repeat the project's key, so a slip of the finger deletes nothing."""
    if (confirm_key or "").strip() != project.key:
        raise ValidationError({"confirm": _("Type the project key (%(key)s) to confirm.") % {"key": project.key}})
    with transaction.atomic():
        _time_detach_from_other_projects(project)
        keys = list(Attachment.objects.filter(task__project=project).values_list("storage_key", flat=True))
        audit_record(
            action="project.deleted",
            actor=actor,
            target=audit_target(project, project.key),
            before={"key": project.key, "name": project.name, "tasks": Task.objects.filter(project=project).count()},
        )
        project.delete()
        files_delete_on_commit(keys)
    permissions_version_bump()
    projects_cache_invalidate()


# --- Workflow states (issue 15). Managing them needs project.manage (the doors:
# tenant_apps/projects/apis.py StateListApi/StateDetailApi and the settings page).

STATE_NAME_MAX = 40


def _state_fields(state: WorkflowState) -> dict:
    return {"name": state.name, "colour": state.colour, "category": state.category, "position": state.position}


def _state_target(state: WorkflowState):
    return audit_target(state, f"{state.project.key}: {state.name}")


def _state_name_clean(project: Project, name: str, state: WorkflowState | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("A state needs a name.")})
    if len(name) > STATE_NAME_MAX:
        raise ValidationError({"name": _("At most %(limit)d characters.") % {"limit": STATE_NAME_MAX}})
    clash = WorkflowState.objects.filter(project=project, name__iexact=name)
    if state is not None:
        clash = clash.exclude(pk=state.pk)
    if clash.exists():
        raise ValidationError({"name": _("A state named “%(name)s” exists in this project.") % {"name": name}})
    return name


def _category_clean(category: str) -> str:
    if category not in TaskStatus.values:
        raise ValidationError({"category": _("Unknown category.")})
    return category


def _positions_renumber(project: Project, ordered: list[WorkflowState]) -> None:
    for position, state in enumerate(ordered):
        if state.position != position:
            state.position = position
            WorkflowState.objects.filter(pk=state.pk).update(position=position)


def _project_states_locked(project: Project) -> list[WorkflowState]:
    """The project's states in order, the project row locked: concurrent state writes of
    one project take turns (positions stay 0..n-1, the last state cannot go twice)."""
    Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True).first()
    return list(WorkflowState.objects.filter(project=project).order_by("position", "pk"))


def state_create(
    *,
    project: Project,
    name: str,
    category: str,
    colour: str | None = None,
    position: int | None = None,
    actor: Member | None = None,
) -> WorkflowState:
    """Add a state to `project`'s workflow, at `position` (0-based; default: last).
    Names are unique per project, case-insensitively. Audited (workflow_state.created)."""
    name = _state_name_clean(project, name)
    category = _category_clean(category)
    try:
        with transaction.atomic():
            states = _project_states_locked(project)
            state = WorkflowState(project=project, name=name, category=category, colour=(colour or "#8c959f").lower())
            state.position = len(states)
            state.save()
            where = len(states) if position is None else max(0, min(position, len(states)))
            _positions_renumber(project, [*states[:where], state, *states[where:]])
            audit_record(
                action="workflow_state.created", actor=actor, target=_state_target(state), after=_state_fields(state)
            )
            live_bump(project_id=project.pk)
    except IntegrityError as exc:  # a concurrent create took the name
        raise ValidationError({"name": _("A state named “%(name)s” exists in this project.") % {"name": name}}) from exc
    return state


def state_update(*, state: WorkflowState, data: dict, actor: Member | None = None) -> WorkflowState:
    """Rename, recolour, move (`position`, 0-based) or recategorise a state. A new
    category is carried to its tasks in the same transaction: their status follows, and
    completed_at is set (entering done) or cleared (leaving it); every such task gets a
    new version. Audited (workflow_state.changed)."""
    project = state.project
    if "name" in data:
        data = {**data, "name": _state_name_clean(project, data["name"], state)}
    if "category" in data:
        _category_clean(data["category"])
    try:
        with transaction.atomic():
            states = _project_states_locked(project)
            current = next((item for item in states if item.pk == state.pk), None)
            if current is None:
                raise WorkflowState.DoesNotExist()
            previous = _state_fields(current)
            for field in ("name", "colour", "category"):
                if field in data and data[field] is not None:
                    setattr(current, field, data[field].lower() if field == "colour" else data[field])
            current.save(update_fields=["name", "colour", "category"])
            if "position" in data and data["position"] is not None:
                others = [item for item in states if item.pk != current.pk]
                where = max(0, min(int(data["position"]), len(others)))
                _positions_renumber(project, [*others[:where], current, *others[where:]])
            if current.category != previous["category"]:
                _state_tasks_recategorise(current)
                if current.category == TaskStatus.DONE:
                    # Every task of the state just entered done: tell whom they blocked.
                    notify.unblocked_record(blockers=Task.objects.filter(state=current), actor=actor)
            before, after = audit_diff(previous, _state_fields(current))
            if after:
                audit_record(
                    action="workflow_state.changed",
                    actor=actor,
                    target=_state_target(current),
                    before=before,
                    after=after,
                )
            live_bump(project_id=project.pk)
    except IntegrityError as exc:
        raise ValidationError({"name": _("A state with this name exists in this project.")}) from exc
    return current


def _state_tasks_recategorise(state: WorkflowState, task_ids: list[int] | None = None) -> None:
    """The tasks of `state` (those of `task_ids` only, if given) take its category: one
    UPDATE."""
    tasks = Task.objects.filter(state=state)
    if task_ids is not None:
        tasks = tasks.filter(pk__in=task_ids)
    tasks.update(
        status=state.category,
        completed_at=(
            Case(When(completed_at__isnull=True, then=Now()), default=F("completed_at"))
            if state.category == TaskStatus.DONE
            else Value(None)
        ),
        version=F("version") + 1,
        updated_at=Now(),
    )
    task_counts_invalidate()


def state_delete(*, state: WorkflowState, move_to: WorkflowState | None, actor: Member | None = None) -> int:
    """Delete a state; its tasks move to `move_to` (another state of the same project;
    required when the state has tasks) in the same transaction, each with an activity
    entry (field state), a new version, and the status / completed_at of its new category. A project
    keeps at least one state. Audited (workflow_state.deleted). Returns how many tasks
    moved."""
    project = state.project
    if move_to is not None and (move_to.project_id != project.pk or move_to.pk == state.pk):
        raise ValidationError({"move_to": _("Choose another state of this project.")})
    with transaction.atomic():
        states = _project_states_locked(project)
        if len(states) <= 1:
            raise ValidationError(_("A project needs at least one state."), code="last_state")
        tasks = list(Task.objects.select_for_update().filter(state=state).values_list("pk", "status"))
        if tasks and move_to is None:
            raise ValidationError(
                {
                    "move_to": _("%(count)d task(s) are in this state: choose the state to move them to.")
                    % {"count": len(tasks)}
                }
            )
        if tasks:
            Activity.objects.bulk_create(
                Activity(
                    task_id=pk,
                    actor=actor,
                    kind=Activity.Kind.CHANGED,
                    field="state",
                    old_value=state.name,
                    new_value=move_to.name,
                )
                for pk, _status in tasks
            )
            Task.objects.filter(state=state).update(state=move_to)
            _state_tasks_recategorise(move_to, [pk for pk, _status in tasks])
            if move_to.category == TaskStatus.DONE:
                entered = [pk for pk, status in tasks if status != TaskStatus.DONE]
                if entered:
                    notify.unblocked_record(blockers=entered, actor=actor)
        audit_record(
            action="workflow_state.deleted",
            actor=actor,
            target=_state_target(state),
            before=_state_fields(state),
            after={"moved_to": move_to.name, "tasks": len(tasks)} if tasks else {},
        )
        deleted = state.pk  # delete() clears it
        state.delete()
        _positions_renumber(project, [item for item in states if item.pk != deleted])
        live_bump(project_id=project.pk)
    return len(tasks)
