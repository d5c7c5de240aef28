"""Writes to roles, projects and project members. Call inside the organisation's schema;
reaching the object and the action's code are the doors' (permissions.py), invariants
here. Every write takes `actor` (the acting Member; None: the system) and records its
audit entry in the same transaction (shared_apps/audit)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from shared_apps.audit.services import audit_diff, audit_record, audit_target
from shared_apps.billing.limits import limit_check
from shared_apps.core.storage import files_delete_on_commit
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, ProjectMember, Role
from tenant_apps.projects.permissions import may_create_projects, permissions_version_bump
from tenant_apps.projects.registry import PROJECT_MANAGER, unknown_codes
from tenant_apps.projects.selectors import projects_cache_invalidate
from tenant_apps.tasks.models import Attachment, Task


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
