from django.db.models import QuerySet

from shared_apps.tenants.models import Organization, OrgRole
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project


def projects_visible_to(member: Member | None) -> QuerySet[Project]:
    """The projects `member` may see: all for owners, admins and members; the ones they
    belong to for guests (the same rule as the permission service)."""
    if member is None or not member.is_active:
        return Project.objects.none()
    if member.role in (OrgRole.OWNER, OrgRole.ADMIN, OrgRole.MEMBER):
        return Project.objects.all()
    # A guest sees a project only if their role there grants project.view (custom roles
    # may not): the same answer as the permission service.
    return Project.objects.filter(memberships__member=member, memberships__role__permissions__contains=["project.view"])


def projects_where_member_may(member: Member | None, code: str) -> QuerySet[Project]:
    """The visible projects in which `member` holds permission `code`: all of them for
    owners and admins; for everyone else those whose project role grants it (the same
    answer as `project_permissions`, as one query)."""
    visible = projects_visible_to(member)
    if member is None or not member.is_active or member.role in (OrgRole.OWNER, OrgRole.ADMIN):
        return visible
    if code == "project.view" and member.role == OrgRole.MEMBER:
        return visible
    granted = Project.objects.filter(memberships__member=member, memberships__role__permissions__contains=[code])
    return visible.filter(pk__in=granted.values("pk"))


def projects_active_count(organization: Organization) -> int:
    """Projects that count against the plan (call in the organisation's schema): archived
    ones keep their data but free their place."""
    return Project.objects.filter(archived=False).count()
