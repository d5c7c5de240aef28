"""What every page of an organisation's domain shows in its shell (templates/shell.html):
the organisation switcher, the unread count, the projects in the side navigation. Every
figure comes from a cache the owning app keeps (membership, project list, unread count),
so the shell costs no statement of its own: the switcher's list of the user's other
organisations (a query in public) is fetched when the switcher is opened
(workspace.views.organizations_menu), and without JavaScript it links to the root
domain's organisation picker."""

from django.db import connection

from shared_apps.tenants.addresses import root_url
from shared_apps.tenants.models import MANAGER_ROLES
from shared_apps.tenants.permissions import membership_for_request
from shared_apps.tenants.selectors import organizations_for_user
from shared_apps.tenants.services import organization_url
from tenant_apps.notifications.services import unread_count
from tenant_apps.projects.permissions import member_for_request
from tenant_apps.projects.selectors import project_list_visible


def _initials(name: str) -> str:
    parts = [part for part in name.replace("@", " ").replace(".", " ").split() if part]
    return "".join(part[0] for part in parts[:2]).upper() or "?"


class _Shell:
    """Computed on first use: a page that never renders the shell (an API call, a
    redirect) pays nothing."""

    def __init__(self, request) -> None:
        self.request = request

    def __bool__(self) -> bool:
        return self.member is not None

    @property
    def member(self):
        return member_for_request(self.request)

    @property
    def is_manager(self) -> bool:
        membership = membership_for_request(self.request)
        return membership is not None and membership.role in MANAGER_ROLES

    @property
    def initials(self) -> str:
        member = self.member
        return _initials(member.display_name or member.email) if member else "?"

    @property
    def unread(self) -> int:
        if not hasattr(self, "_unread"):
            self._unread = unread_count(member=self.member) if self.member else 0
        return self._unread

    @property
    def projects(self):
        if not hasattr(self, "_projects"):
            self._projects = [p for p in project_list_visible(self.member) if not p.archived]
        return self._projects

    @property
    def picker_url(self) -> str:
        return root_url("/organizations/")

    @property
    def organizations(self) -> list[dict]:
        if not hasattr(self, "_organizations"):
            current = self.request.tenant.pk
            self._organizations = [
                {
                    "name": organization.name,
                    "url": organization_url(organization),
                    "current": organization.pk == current,
                }
                for organization, _role in organizations_for_user(self.request.user)
            ]
        return self._organizations


def shell(request) -> dict:
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)  # absent when a middleware answered first
    if tenant is None or connection.schema_name == "public" or user is None or not user.is_authenticated:
        return {"shell_template": "base.html"}
    shell = _Shell(request)
    return {"shell": shell, "shell_template": "shell.html" if shell else "base.html"}
