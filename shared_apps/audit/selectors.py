from django.db.models import QuerySet

from shared_apps.audit.models import AuditEntry


def audit_entries(*, filters: dict) -> QuerySet[AuditEntry]:
    """The current schema's entries, newest first, narrowed by the API's validated
    filters (actor, action, target_type, target_id, created_after, created_before)."""
    entries = AuditEntry.objects.all()
    lookups = {
        "actor": "actor_user_id",
        "action": "action",
        "target_type": "target_type",
        "target_id": "target_id",
        "created_after": "created_at__gte",
        "created_before": "created_at__lt",
    }
    for name, lookup in lookups.items():
        if filters.get(name) is not None:
            entries = entries.filter(**{lookup: filters[name]})
    return entries.order_by("-created_at", "-id")
