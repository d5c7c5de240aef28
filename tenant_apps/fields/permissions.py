"""The doors to custom fields (the shape of tenant_apps/projects/permissions.py)."""

from tenant_apps.fields.models import CustomField
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import in_project_or_404


def access_field(*, member: Member | None, project: Project | str, field_id: int, code: str = "project.view"):
    """A custom field of `project` (with its options and project): 404 when the field is
    another project's or the member may not see the project, 403 without `code`."""
    _project, field = in_project_or_404(
        member=member,
        project=project,
        code=code,
        lookup=lambda found: (
            CustomField.objects.select_related("project").prefetch_related("options").filter(pk=field_id, project=found)
        ),
    )
    return field
