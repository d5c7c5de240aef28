"""Known data for the report tests: alpha in Europe/Berlin with projects WEB and OPS.

People: the owner; `dev` (member, Developer in WEB: report.create there only);
`viewer` (member, Viewer in WEB: no report.create anywhere); `guest` (guest, Reporter
in OPS). Tasks completed around the period [2026-11-01, 2026-11-08) in Berlin time
(UTC+1 in November, so local midnight is 23:00 UTC the day before):

| task  | project | completed (UTC)      | local                | cycle | assignees  | in period |
|-------|---------|----------------------|----------------------|-------|------------|-----------|
| WEB-1 | WEB     | 2026-10-31 22:59:59  | 31 Oct 23:59:59      | 1 d   | dev        | no        |
| WEB-2 | WEB     | 2026-10-31 23:00:00  | 1 Nov 00:00          | 1 d   | dev, owner | yes       |
| WEB-3 | WEB     | 2026-11-07 22:59:59  | 7 Nov 23:59:59       | 2 d   | dev        | yes       |
| WEB-4 | WEB     | 2026-11-07 23:00:00  | 8 Nov 00:00          | 1 d   | —          | no        |
| OPS-1 | OPS     | 2026-11-04 12:00:00  | 4 Nov 13:00          | 4 d   | —          | yes       |
| WEB-5 | WEB     | open (todo)          |                      |       | dev        | no        |
"""

from datetime import UTC, datetime, timedelta

import pytest
from django_tenants.utils import schema_context

from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Role
from tenant_apps.projects.services import project_create, project_member_set
from tenant_apps.tasks.models import Label, Task
from tenant_apps.tasks.services import task_create
from tests.conftest import client_for
from tests.factories import UserFactory

JSON = "application/json"
PERIOD = {"from": "2026-11-01", "to": "2026-11-08"}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


class World:
    def __init__(self, organization):
        self.organization = organization
        organization.time_zone = "Europe/Berlin"
        organization.save(update_fields=["time_zone"])
        self.users = {"owner": organization.memberships.get(role=OrgRole.OWNER).user}
        for name, role in (("dev", OrgRole.MEMBER), ("viewer", OrgRole.MEMBER), ("guest", OrgRole.GUEST)):
            user = UserFactory(email=f"{name}@alpha.test", full_name=name.capitalize())
            membership_add(organization=organization, user=user, role=role)
            self.users[name] = user
        with self.schema():
            self.members = {name: Member.objects.get(user_id=user.pk) for name, user in self.users.items()}
            owner = self.members["owner"]
            self.web = project_create(key="WEB", name="Website", actor=owner)
            self.ops = project_create(key="OPS", name="Operations", actor=owner)
            project_member_set(project=self.web, member=self.members["dev"], role=Role.objects.get(name="Developer"))
            project_member_set(project=self.web, member=self.members["viewer"], role=Role.objects.get(name="Viewer"))
            project_member_set(project=self.ops, member=self.members["guest"], role=Role.objects.get(name="Reporter"))
            self.bug = Label.objects.create(project=self.web, name="bug")
            dev = self.members["dev"]
            self.tasks = {}
            for key, project, completed, days, assignees in (
                ("WEB-1", self.web, utc(2026, 10, 31, 22, 59, 59), 1, [dev]),
                ("WEB-2", self.web, utc(2026, 10, 31, 23, 0, 0), 1, [dev, owner]),
                ("WEB-3", self.web, utc(2026, 11, 7, 22, 59, 59), 2, [dev]),
                ("WEB-4", self.web, utc(2026, 11, 7, 23, 0, 0), 1, []),
                ("OPS-1", self.ops, utc(2026, 11, 4, 12, 0, 0), 4, []),
                ("WEB-5", self.web, None, 0, [dev]),
            ):
                task = task_create(project=project, actor=owner, title=f"Task {key}", assignees=assignees)
                created = (completed or utc(2026, 11, 2)) - timedelta(days=days)
                Task.objects.filter(pk=task.pk).update(
                    created_at=created, completed_at=completed, status="done" if completed else "todo"
                )
                self.tasks[key] = task
            self.tasks["WEB-3"].labels.add(self.bug)

    def schema(self):
        return schema_context(self.organization.schema_name)

    def client(self, name: str):
        return client_for(self.organization, self.users[name])

    def request(self, name: str, **body):
        return self.client(name).post("/api/v1/reports/", body, content_type=JSON)


@pytest.fixture
def world(org_a) -> World:
    return World(org_a)
