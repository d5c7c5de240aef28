"""The one place that answers "may this user do <code> in this project?", and the
project-level doors (`access_project`, `access_role`, `access_project_member`).

- Organisation owners and admins may do everything.
- Organisation members may see every project; beyond that, and for guests entirely, the
  codes of their role in the project (ProjectMember) apply.
The answer per (user, project) is cached in the tenant's cache; any change to
memberships, project members or roles bumps a per-tenant version, so every cached
answer of that organisation is invalidated at once.
"""

from collections.abc import Iterable

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.views import APIView

from shared_apps.core.cache_namespaces import request_memo
from shared_apps.tenants.models import MANAGER_ROLES, OrgRole
from shared_apps.tenants.permissions import (
    ACCESS_TTL_SECONDS,
    NOT_A_MEMBER,
    IsOrganizationMember,
    access_cache_key,
    membership_for_request,
)
from tenant_apps.members.models import Member
from tenant_apps.projects.cache import PERMISSIONS_CACHE
from tenant_apps.projects.models import Project, ProjectMember, Role
from tenant_apps.projects.registry import ALL_CODES
from tenant_apps.projects.selectors import project_for_reading

_TTL_SECONDS = 600
__all__ = ["PERMISSIONS_CACHE"]  # re-exported: tests and older callers import it from here


def permissions_version_bump() -> None:
    """Call, inside the organisation's schema, after any change that can alter someone's
    permissions: every cached answer of the organisation is invalidated."""
    PERMISSIONS_CACHE.bump()


def _needs_project_member(member: Member) -> bool:
    return member.is_active and member.role not in MANAGER_ROLES


def _codes(*, member: Member, project_member: ProjectMember | None) -> frozenset[str]:
    if not member.is_active:
        return frozenset()
    if member.role in MANAGER_ROLES:
        return ALL_CODES
    codes: set[str] = {"project.view"} if member.role == OrgRole.MEMBER else set()
    if project_member is not None:
        codes.update(project_member.role.permissions)
    return frozenset(codes)


def _compute(*, member: Member, project: Project) -> frozenset[str]:
    project_member = None
    if _needs_project_member(member):
        project_member = ProjectMember.objects.select_related("role").filter(project=project, member=member).first()
    return _codes(member=member, project_member=project_member)


def project_permissions(*, member: Member | None, project: Project) -> frozenset[str]:
    """The codes `member` holds in `project` (empty for None)."""
    if member is None:
        return frozenset()
    key = PERMISSIONS_CACHE.key(member.pk, project.pk)

    def load() -> frozenset[str]:
        cached = cache.get(key)
        if cached is not None:
            return frozenset(cached)
        codes = _compute(member=member, project=project)
        cache.set(key, sorted(codes), _TTL_SECONDS)
        return codes

    return request_memo(key, load)  # a page asks at its door and again for its controls


def project_permissions_many(*, pairs: Iterable[tuple[Member, Project]]) -> dict[tuple[int, int], frozenset[str]]:
    """`project_permissions` for many (member, project) pairs at once, keyed by (member
    id, project id): one cache round trip for the cached answers, at most one query for
    the others (the notification worker's batches). The same rule and the same cache
    entries as the one-pair call."""
    pairs = {(member.pk, project.pk): (member, project) for member, project in pairs}
    if not pairs:
        return {}
    version = PERMISSIONS_CACHE.version()
    keys = {pair: PERMISSIONS_CACHE.key_at(version, *pair) for pair in pairs}
    cached = cache.get_many(list(keys.values()))
    result = {pair: frozenset(cached[key]) for pair, key in keys.items() if key in cached}
    missing = [pair for pair in pairs if pair not in result]
    if not missing:
        return result
    looked_up = [pair for pair in missing if _needs_project_member(pairs[pair][0])]
    rows = {}
    if looked_up:
        rows = {
            (row.member_id, row.project_id): row
            for row in ProjectMember.objects.select_related("role").filter(
                member_id__in={member_id for member_id, _project_id in looked_up},
                project_id__in={project_id for _member_id, project_id in looked_up},
            )
        }
    fresh = {}
    for pair in missing:
        result[pair] = _codes(member=pairs[pair][0], project_member=rows.get(pair))
        fresh[keys[pair]] = sorted(result[pair])
    cache.set_many(fresh, _TTL_SECONDS)
    return result


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


def permission_require(*, member: Member | None, project: Project, codes) -> None:
    """PermissionDenied (403) unless `member` holds every code of `codes` (a code or an
    iterable of codes) in `project`. The one check behind every access_* helper and the
    services' field checks (TASK_FIELD_PERMISSIONS)."""
    needed = {codes} if isinstance(codes, str) else set(codes)
    missing = needed - project_permissions(member=member, project=project)
    if missing:
        raise PermissionDenied(_("Your role may not do this (%(codes)s).") % {"codes": ", ".join(sorted(missing))})


def may_create_projects(member: Member | None) -> bool:
    """Owners, admins and members create projects; guests do not."""
    return member is not None and member.is_active and member.role != OrgRole.GUEST


def org_manager_require(*, member: Member | None, message=None) -> None:
    """PermissionDenied (403) unless `member` is an active owner or admin here."""
    if member is None or not member.is_active or member.role not in MANAGER_ROLES:
        raise PermissionDenied(message or _("Only organisation owners and admins may do this."))


# The doors. Every access_* helper takes keyword arguments only: `member` (the acting
# Member, or None: a request's is member_for_request(request)), the object's address, and
# `code`, the permission the action needs. It answers the object, or raises Django's
# Http404 when the object does not exist *or* the member may not see it (the same answer,
# so ids of hidden objects leak nothing), or PermissionDenied when the member sees it but
# lacks `code`. DRF maps both (404/403), so do the pages (shared_apps.core.pages).


def access_project(*, member: Member | None, key: str, code: str = "project.view", fresh: bool = False) -> Project:
    """The project with `key`. `fresh=True` reads the row from the database (for writes:
    a service never saves fields it did not read); otherwise it comes from the
    per-organisation cache."""
    project = Project.objects.filter(key=key).first() if fresh else project_for_reading(key)
    if project is None or "project.view" not in project_permissions(member=member, project=project):
        raise Http404()
    if code != "project.view":
        permission_require(member=member, project=project, codes=code)
    return project


def project_resolve(*, member: Member | None, project: "Project | str", code: str) -> Project:
    """`project` as given (an already accessed Project: only `code` is checked) or by key
    (access_project). For the task-level doors, which take either."""
    if isinstance(project, str):
        return access_project(member=member, key=project, code=code)
    if "project.view" not in project_permissions(member=member, project=project):
        raise Http404()
    if code != "project.view":
        permission_require(member=member, project=project, codes=code)
    return project


def in_project_or_404(*, member: Member | None, project: "Project | str", code: str, lookup):
    """The shape of every door to an object inside a project: the project (seen by
    `member`, else 404), the one row `lookup(project)` (a queryset) finds there (else
    404), then `code` (else 403). Returns (project, row)."""
    project = project_resolve(member=member, project=project, code="project.view")
    found = lookup(project).first()
    if found is None:
        raise Http404()
    if code != "project.view":
        permission_require(member=member, project=project, codes=code)
    return project, found


def access_project_member(
    *, member: Member | None, project: "Project | str", member_id: int, code: str = "project.view"
) -> ProjectMember:
    """Someone's membership in `project` (with member and role)."""
    _project, project_member = in_project_or_404(
        member=member,
        project=project,
        code=code,
        lookup=lambda found: ProjectMember.objects.select_related("member", "role").filter(
            project=found, member_id=member_id
        ),
    )
    return project_member


def access_role(*, member: Member | None, role_id: int, manage: bool = True) -> Role:
    """A project role of the organisation. Every member may see roles; `manage=True`
    (changing or deleting it) needs an owner or admin, checked first (403 before 404, as
    for the organisation-level resources)."""
    if manage:
        org_manager_require(member=member, message=_("Only organisation owners and admins manage roles."))
    role = Role.objects.filter(pk=role_id).first()
    if role is None:
        raise Http404()
    return role


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


class ProjectScopedApi(APIView):
    """Resolves the project from the URL (access_project) before permissions are
    checked. A project the user may not see is a 404, never a 403 (DESIGN.md section 8).
    `self.member` is the requester's Member, for the access_* helpers."""

    permission_classes = [IsOrganizationMember, HasProjectPermission]
    required_permissions: dict[str, str] = {}

    def initial(self, request, *args, **kwargs):
        self.project = None
        self.member = None
        super().initial(request, *args, **kwargs)

    def check_permissions(self, request):
        # Membership first (403 for outsiders), then the project (404 if invisible).
        for permission in self.get_permissions():
            if isinstance(permission, HasProjectPermission):
                self.member = member_for_request(request)
                # Reads take the project from the per-organisation cache; writes read the
                # row afresh, so a service never saves fields it did not read.
                self.project = access_project(
                    member=self.member, key=self.kwargs["key"], fresh=request.method not in SAFE_METHODS
                )
            if not permission.has_permission(request, self):
                self.permission_denied(request, message=getattr(permission, "message", None))
