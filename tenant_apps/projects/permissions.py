"""The one place that answers "may this user do <code> in this project?".

- Organisation owners and admins may do everything.
- Organisation members may see every project; beyond that, and for guests entirely, the
  codes of their role in the project (ProjectMember) apply.
The answer per (user, project) is cached in the tenant's cache; any change to
memberships, project members or roles bumps a per-tenant version, so every cached
answer of that organisation is invalidated at once.
"""

import secrets

from django.core.cache import cache
from django.db import connection, transaction
from django_tenants.utils import schema_context
from rest_framework.permissions import BasePermission

from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.permissions import membership_for_request
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, ProjectMember
from tenant_apps.projects.registry import ALL_CODES

_VERSION_KEY = "permissions:version"
_TTL_SECONDS = 600


def _version() -> int:
    """The organisation's current version. Seeded randomly: if the key is ever evicted,
    answers cached under an earlier version are not revived."""
    version = cache.get(_VERSION_KEY)
    if version is None:
        cache.add(_VERSION_KEY, secrets.randbelow(2**31), None)
        version = cache.get(_VERSION_KEY) or 0
    return version


def _bump() -> None:
    if not cache.add(_VERSION_KEY, secrets.randbelow(2**31), None):
        try:
            cache.incr(_VERSION_KEY)
        except ValueError:  # expired between add() and incr()
            cache.add(_VERSION_KEY, 1, None)


def permissions_version_bump() -> None:
    """Call, inside the organisation's schema, after any change that can alter someone's
    permissions. Bumps now and again on commit: a request that read the new version
    before the commit and cached an answer from the old rows is superseded. The commit
    callback runs in the schema captured here (it may fire after a schema_context exits)."""
    _bump()
    schema = connection.schema_name

    def bump_in_schema() -> None:
        with schema_context(schema):
            _bump()

    transaction.on_commit(bump_in_schema)


def _compute(*, member: Member, project: Project) -> frozenset[str]:
    if not member.is_active:
        return frozenset()
    if member.role in (OrgRole.OWNER, OrgRole.ADMIN):
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
    key = f"permissions:{_version()}:{member.pk}:{project.pk}"
    cached = cache.get(key)
    if cached is not None:
        return frozenset(cached)
    codes = _compute(member=member, project=project)
    cache.set(key, sorted(codes), _TTL_SECONDS)
    return codes


def member_for_request(request) -> Member | None:
    """The requesting user's Member in this organisation, if they belong to it."""
    if not hasattr(request, "_tessera_member"):
        membership = membership_for_request(request)
        request._tessera_member = (
            Member.objects.filter(user_id=membership.user_id, is_active=True).first() if membership else None
        )
    return request._tessera_member


def user_can(request, code: str, project: Project) -> bool:
    return code in project_permissions(member=member_for_request(request), project=project)


class HasProjectPermission(BasePermission):
    """DRF permission: the view names `required_permissions` per HTTP method, e.g.
    {"GET": "project.view", "POST": "project.manage"}, and resolves `self.project` before
    `check_permissions` runs (see ProjectScopedApi)."""

    def has_permission(self, request, view) -> bool:
        code = view.required_permissions.get(request.method)
        return code is not None and user_can(request, code, view.project)
