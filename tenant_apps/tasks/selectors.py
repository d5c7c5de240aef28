from django.db.models import Sum

from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.tasks.models import Attachment, Task


def organization_usage() -> dict[str, int]:
    """What the organisation uses (call in its schema): the figures billing limits."""
    return {
        "members": Member.objects.filter(is_active=True).count(),
        "projects": Project.objects.count(),
        "tasks": Task.objects.count(),
        "storage_bytes": Attachment.objects.aggregate(total=Sum("size"))["total"] or 0,
    }
