"""The one place that answers "may this user do <code> in this project?".

- Organisation owners and admins may do everything.
- Organisation members may see every project; beyond that, and for guests entirely, the
  codes of their role in the project (ProjectMember) apply.
The answer per (user, project) is cached in the tenant's cache; any change to
memberships, project members or roles bumps a per-tenant version, so every cached
answer of that organisation is invalidated at once.
"""

from django.core.cache import cache
from rest_framework.permissions import BasePermission

from shared_apps.core.cache_namespaces import CacheNamespace
from shared_apps.tenants.models import MANAGER_ROLES, OrgRole
from shared_apps.tenants.permissions import (
    ACCESS_TTL_SECONDS,
    NOT_A_MEMBER,
    access_cache_key,
    membership_for_request,
)
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, ProjectMember
from tenant_apps.projects.registry import ALL_CODES

_TTL_SECONDS = 600
PERMISSIONS_CACHE = CacheNamespace("permissions")


def permissions_version_bump() -> None:
    """Call, inside the organisation's schema, after any change that can alter someone's
    permissions: every cached answer of the organisation is invalidated."""
    PERMISSIONS_CACHE.bump()


def _compute(*, member: Member, project: Project) -> frozenset[str]:
    if not member.is_active:
        return frozenset()
    if member.role in MANAGER_ROLES:
        return ALL_CODES
    codes: set[str] = {"project.view"} if member.role == OrgRole.MEMBER else set()
    project_member = ProjectMember.objects.select_related("role").filter(project=project, member=member).first()
    if project_member is not None:
        codes.update(project_member.role.permissions)
    return frozenset(codes)


def project_permissions(*, member: Member | None, project: Project) -> frozenset[str]:
    """The codes `member` holds in `project` (empty for None)."""
    if member is None:
        return frozenset()
    key = PERMISSIONS_CACHE.key(member.pk, project.pk)
    cached = cache.get(key)
    if cached is not None:
        return frozenset(cached)
    codes = _compute(member=member, project=project)
    cache.set(key, sorted(codes), _TTL_SECONDS)
    return codes


_MEMBER_FIELDS = [field.attname for field in Member._meta.concrete_fields]


def _member_lookup(request, user_id: int) -> Member | None:
    # Cached with the membership (ACCESS_CACHE, bumped by member_sync on every change).
    key = access_cache_key(request, "member", user_id)
    cached = cache.get(key)
    if cached == NOT_A_MEMBER:
        return None
    if cached is not None:
        return Member.from_db("default", _MEMBER_FIELDS, cached)
    member = Member.objects.filter(user_id=user_id, is_active=True).first()
    value = NOT_A_MEMBER if member is None else [getattr(member, name) for name in _MEMBER_FIELDS]
    cache.set(key, value, ACCESS_TTL_SECONDS)
    return member


def member_for_request(request) -> Member | None:
    """The requesting user's Member in this organisation, if they belong to it."""
    if not hasattr(request, "_tessera_member"):
        membership = membership_for_request(request)
        request._tessera_member = _member_lookup(request, membership.user_id) if membership else None
    return request._tessera_member


def user_can(request, code: str, project: Project) -> bool:
    return code in project_permissions(member=member_for_request(request), project=project)


class HasProjectPermission(BasePermission):
    """DRF permission: the view names `required_permissions` per HTTP method, e.g.
    {"GET": "project.view", "POST": "project.manage"}, and resolves `self.project` before
    `check_permissions` runs (see ProjectScopedApi)."""

    def has_permission(self, request, view) -> bool:
        code = view.required_permissions.get(request.method)
        if code is None:
            # A method the view does not implement: let DRF answer 405, not 403.
            return not hasattr(view, request.method.lower())
        return user_can(request, code, view.project)
