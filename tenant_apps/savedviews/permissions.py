from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.projects.permissions import in_project_or_404
from tenant_apps.savedviews.models import SavedView
from tenant_apps.savedviews.selectors import views_visible


def access_view(*, member: Member | None, project: Project | str, view_id: int) -> SavedView:
    """A view of `project` that `member` sees (their own, or shared), else 404. Changing
    it is the services' decision (owner, or project.manage for a shared view)."""
    _project, view = in_project_or_404(
        member=member,
        project=project,
        code="project.view",
        lookup=lambda found: views_visible(member=member, project=found).filter(pk=view_id),
    )
    return view
