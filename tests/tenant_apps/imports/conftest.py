"""Alpha's project WEB with one person per project role, a second project OPS, a label
"bug" in WEB; and helpers to build CSV files and drive the import API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context

from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.imports.models import TaskImport
from tenant_apps.imports.services import import_run
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Role
from tenant_apps.projects.services import project_create, project_member_set
from tenant_apps.tasks.models import Activity, Label, Task
from tests.conftest import client_for
from tests.factories import UserFactory

JSON = "application/json"


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


class Team:
    def __init__(self, organization):
        self.organization = organization
        self.users = {}
        self.members = {}
        with schema_context(organization.schema_name):
            self.owner = Member.objects.get(email="owner@alpha.test")
            self.web = project_create(key="WEB", name="Website", actor=self.owner)
            self.ops = project_create(key="OPS", name="Operations", actor=self.owner)
            self.bug = Label.objects.create(project=self.web, name="bug")
        for name in ("Project Manager", "Developer", "Reporter", "Viewer", "guest"):
            user = UserFactory(email=f"{name.replace(' ', '').lower()}@alpha.test", full_name=name)
            membership_add(
                organization=organization, user=user, role=OrgRole.GUEST if name == "guest" else OrgRole.MEMBER
            )
            with schema_context(organization.schema_name):
                member = Member.objects.get(user_id=user.pk)
                if name != "guest":
                    project_member_set(project=self.web, member=member, role=Role.objects.get(name=name))
            self.users[name] = user
            self.members[name] = member

    def schema(self):
        return schema_context(self.organization.schema_name)

    def client(self, name: str) -> Client:
        return client_for(self.organization, self.users[name])

    def upload(self, name: str, content: bytes, *, project: str = "WEB", filename: str = "tasks.csv"):
        return self.client(name).post(
            f"/api/v1/projects/{project}/imports/", {"file": SimpleUploadedFile(filename, content, "text/csv")}
        )

    def run(self, import_id: int) -> str:
        """What the Celery task does (the worker test runs the real one)."""
        with self.schema():
            return import_run(import_id=import_id)

    def state(self) -> tuple:
        with self.schema():
            return (
                sorted(Task.objects.values_list("project__key", "number", "title", "status")),
                sorted(Label.objects.values_list("project__key", "name")),
                Activity.objects.count(),
                sorted(TaskImport.objects.values_list("pk", "status", "mode")),
            )


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)
