from django.db.models import Sum

from shared_apps.tenants.models import Organization
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.tasks.models import Attachment, Task


def organization_usage() -> dict[str, int]:
    """What the organisation uses (call in its schema): the figures billing limits."""
    return {
        "members": Member.objects.filter(is_active=True).count(),
        "projects": Project.objects.count(),
        "tasks": Task.objects.count(),
        "storage_bytes": storage_bytes_used(),
    }


def storage_bytes_used(organization: Organization | None = None) -> int:
    """Bytes of attachments stored (call in the organisation's schema): the figure the
    plan's storage allowance limits."""
    return Attachment.objects.aggregate(total=Sum("size"))["total"] or 0
