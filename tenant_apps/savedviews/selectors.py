from django.core.cache import cache
from django.db.models import Q, QuerySet

from shared_apps.core.cache_namespaces import CacheNamespace
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.savedviews.models import SavedView


def views_visible(*, member: Member | None, project: Project | None = None, projects=None) -> QuerySet[SavedView]:
    """Views `member` sees: their own and the shared ones, of `project` or of the
    `projects` queryset (the projects they see), with the project joined."""
    if member is None:
        return SavedView.objects.none()
    views = SavedView.objects.filter(Q(owner=member) | Q(shared=True)).select_related("project")
    if project is not None:
        views = views.filter(project=project)
    if projects is not None:
        views = views.filter(project__in=projects, project__archived=False)
    return views.order_by("project__key", "name", "pk")


# Each member's views for the side navigation; bumped by every write to a view.
NAV_CACHE = CacheNamespace("savedviews-nav")
_NAV_TTL_SECONDS = 600


def nav_views(*, member: Member | None, project_ids: list[int]) -> list[dict]:
    """The views the shell lists (the member's own and the shared ones) of the projects
    in `project_ids` (those the side navigation shows): from the cache, so a page costs
    no statement for them once warm."""
    if member is None or not project_ids:
        return []
    key = NAV_CACHE.key(member.pk)
    rows = cache.get(key)  # ResilientRedisCache: an outage reads as a miss
    if rows is None:
        rows = [
            {"id": view.pk, "name": view.name, "project_id": view.project_id, "project_key": view.project.key,
             "layout": view.layout, "shared": view.shared}
            for view in views_visible(member=member)
        ]  # fmt: skip
        cache.set(key, rows, _NAV_TTL_SECONDS)
    visible = set(project_ids)
    return [row for row in rows if row["project_id"] in visible]
