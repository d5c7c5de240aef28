from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.tasks.models import Task
from tenant_apps.tasks.selectors import storage_bytes_used


def organization_usage() -> dict[str, int]:
    """What the organisation uses (call in its schema): the figures billing limits."""
    return {
        "members": Member.objects.filter(is_active=True).count(),
        "projects": Project.objects.count(),
        "tasks": Task.objects.count(),
        "storage_bytes": storage_bytes_used(),
    }
