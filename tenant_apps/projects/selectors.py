from django.core.cache import cache
from django.db.models import Q, QuerySet

from shared_apps.core.cache_namespaces import CacheNamespace, request_memo
from shared_apps.tenants.models import MANAGER_ROLES, Organization, OrgRole
from tenant_apps.members.models import Member
from tenant_apps.projects.cache import PERMISSIONS_CACHE
from tenant_apps.projects.models import Project

# Every project of the organisation, cached in its schema's cache; any write to a project
# bumps the namespace (projects_cache_invalidate). Which of them a guest may see is cached
# per person under PERMISSIONS_CACHE, which every role or membership change bumps.
PROJECTS_CACHE = CacheNamespace("projects", prefetch=True)
_TTL_SECONDS = 600
# Not task_sequence: it changes with every new task, and nothing reads it from here.
_CACHED_FIELDS = [
    "id",
    "key",
    "name",
    "description",
    "lead_id",
    "archived",
    "estimate_unit",
    "created_at",
    "updated_at",
]


def projects_cache_invalidate() -> None:
    """Call after any change to a project row (create, update, archive, delete)."""
    PROJECTS_CACHE.bump()


def sees_every_project(member: Member | None) -> bool:
    """Owners, admins and members see every project of the organisation."""
    return member is not None and member.is_active and member.role in (OrgRole.OWNER, OrgRole.ADMIN, OrgRole.MEMBER)


def projects_visible_to(member: Member | None) -> QuerySet[Project]:
    """The projects `member` may see: all for owners, admins and members; the ones they
    belong to for guests (the same rule as the permission service)."""
    if member is None or not member.is_active:
        return Project.objects.none()
    if sees_every_project(member):
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


def _project_rows() -> list[tuple]:
    """Every project as a row of _CACHED_FIELDS, ordered by key, from the cache (one query
    on a miss)."""
    # The key names the row shape: rows cached by a release with other columns are not read.
    key = PROJECTS_CACHE.key(f"all:{len(_CACHED_FIELDS)}")

    def load() -> list[tuple]:
        rows = cache.get(key)
        if rows is None:
            rows = list(Project.objects.order_by("key").values_list(*_CACHED_FIELDS))
            cache.set(key, rows, _TTL_SECONDS)
        return rows

    return request_memo(key, load)  # a page reads them for its door and its side navigation


def _project(row: tuple) -> Project:
    # Without task_sequence: use these instances to read, and fetch a project afresh to
    # change it.
    return Project.from_db("default", _CACHED_FIELDS, row)


def project_list_visible(member: Member | None) -> list[Project]:
    """The projects `member` may see (projects_visible_to), ordered by key, served from the
    cache. A guest's list is the cached projects filtered by their own cached set of
    visible ids, so it can never show a project their current roles do not allow."""
    if member is None or not member.is_active:
        return []
    projects = [_project(row) for row in _project_rows()]
    if sees_every_project(member):
        return projects
    key = PERMISSIONS_CACHE.key("visible-projects", member.pk)
    visible = cache.get(key)
    if visible is None:
        visible = sorted(projects_visible_to(member).values_list("pk", flat=True))
        cache.set(key, visible, _TTL_SECONDS)
    allowed = set(visible)
    return [project for project in projects if project.pk in allowed]


def project_key_suggest(name: str) -> str:
    """A free project key made from `name`: the initials of its words ("Mobile App" ->
    "MA"), else its first letters ("Website" -> "WEB"), Latin letters and digits only,
    numbered when taken ("WEB2")."""
    import re
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_name)
    base = "".join(word[0] for word in words).upper() if len(words) > 1 else "".join(words).upper()[:3]
    base = re.sub(r"^[0-9]+", "", base)[:8]
    if len(base) < 2:
        base = (base + "PRJ")[:3] if base else "PRJ"
    taken = set(Project.objects.filter(key__startswith=base).values_list("key", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}{number}" in taken:
        number += 1
    return f"{base}{number}"[:10]


def project_for_reading(key: str) -> Project | None:
    """The project with `key` from the cached list, for requests that only read (one
    that writes reads the row afresh)."""
    key_index = _CACHED_FIELDS.index("key")
    row = next((row for row in _project_rows() if row[key_index] == key), None)
    return _project(row) if row is not None else None


def project_assignable_queryset(project_id: int):
    """Who may be assigned in the project (the rule of task services' _check_assignees,
    also a person field's values): its active members, and the organisation's owners and
    admins."""
    return Member.objects.filter(is_active=True).filter(
        Q(project_memberships__project_id=project_id) | Q(role__in=MANAGER_ROLES)
    )


def project_assignable_members(project: Project) -> list[Member]:
    """project_assignable_queryset as a list in display order. One statement."""
    return list(project_assignable_queryset(project.pk).distinct().order_by("display_name", "email", "pk"))
