"""The import on a real Celery worker (real Redis, committed data): two organisations
import at once, each into its own schema; the progress is readable while it runs."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add, organization_create
from tenant_apps.imports.models import TaskImport
from tenant_apps.members.models import Member
from tenant_apps.projects.services import project_create
from tenant_apps.tasks.models import Task
from tests.celery_support import running_worker
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import run_together

from .conftest import JSON, csv_bytes


class Org:
    def __init__(self, slug: str):
        self.owner = UserFactory(email=f"owner@{slug}.test")
        self.organization = organization_create(slug=slug, name=slug.title(), owner=self.owner)
        self.person = UserFactory(email=f"dev@{slug}.test")
        membership_add(organization=self.organization, user=self.person, role=OrgRole.MEMBER)
        with schema_context(self.organization.schema_name):
            project_create(key="WEB", name="Website", actor=Member.objects.get(user_id=self.owner.pk))

    def import_file(self, rows: int) -> int:
        client = client_for(self.organization, self.owner)
        content = csv_bytes(
            [["Title", "Assignee", "Labels"]]
            + [
                [f"{self.organization.slug} task {n}", f"owner@{self.organization.slug}.test", "bulk"]
                for n in range(rows)
            ]
        )
        upload = client.post("/api/v1/projects/WEB/imports/", {"file": SimpleUploadedFile("t.csv", content)})
        assert upload.status_code == 201, upload.content
        import_id = upload.json()["id"]
        start = client.post(
            f"/api/v1/projects/WEB/imports/{import_id}/start/", {"mode": "all_or_nothing"}, content_type=JSON
        )
        assert start.status_code == 202, start.content
        return import_id

    def progress(self, import_id: int) -> dict:
        return client_for(self.organization, self.owner).get(f"/api/v1/projects/WEB/imports/{import_id}/").json()


def _wait(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.1)


@pytest.fixture
def orgs(committed) -> tuple[Org, Org]:
    return Org("impa"), Org("impb")


def test_two_organisations_import_at_once_on_a_real_worker(orgs, settings):
    settings.TESSERA_IMPORT_BATCH_SIZE = 50
    with running_worker():
        ids = run_together(2, lambda index: orgs[index].import_file(300))
        assert not [item for item in ids if isinstance(item, Exception)], ids
        for org, import_id in zip(orgs, ids, strict=True):
            readings: list[int] = []

            def finished(org=org, import_id=import_id, readings=readings) -> bool:
                body = org.progress(import_id)
                readings.append(body["progress"])
                return body["status"] == "done"

            _wait(finished)
            # The progress read while it ran (the row's, then the cache's during the
            # inserting transaction) never goes back.
            assert readings == sorted(readings), readings
    for org, import_id in zip(orgs, ids, strict=True):
        body = org.progress(import_id)
        assert (body["imported_count"], body["progress"], body["error_count"]) == (300, 100, 0)
        with schema_context(org.organization.schema_name):
            titles = set(Task.objects.values_list("title", flat=True))
            assert titles == {f"{org.organization.slug} task {n}" for n in range(300)}
            assert sorted(Task.objects.values_list("number", flat=True)) == list(range(1, 301))
            assert set(Task.objects.values_list("labels__name", flat=True)) == {"bulk"}
            assert TaskImport.objects.get().storage_key == ""
