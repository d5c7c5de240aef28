"""Cached task counts per project and status (project lists show them on every load)."""

from django.core.cache import cache
from django.db.models import Count

from shared_apps.core.cache_namespaces import CacheNamespace

TASK_COUNTS = CacheNamespace("task-counts")
_TTL_SECONDS = 600


def task_counts_invalidate() -> None:
    """Call after any task write (create, status change, move, delete)."""
    TASK_COUNTS.bump()


def task_counts_by_project(project_ids: list[int]) -> dict[int, dict[str, int]]:
    """{project_id: {status: count}} for `project_ids`, one query on a cache miss."""
    from tenant_apps.tasks.models import Task

    key = TASK_COUNTS.key("all")
    counts = cache.get(key)
    if counts is None:
        counts = {}
        rows = Task.objects.values_list("project_id", "status").annotate(n=Count("pk")).order_by()
        for project_id, status, n in rows:
            counts.setdefault(project_id, {})[status] = n
        cache.set(key, counts, _TTL_SECONDS)
    return {project_id: counts.get(project_id, {}) for project_id in project_ids}
