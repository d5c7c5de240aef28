import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tenant_apps.imports.models import TaskImport
from tenant_apps.tasks.models import Task
from tests.conftest import client_for

from .conftest import csv_bytes

pytestmark = pytest.mark.django_db

ROWS = [
    ["Название", "Срок", "Colour"],
    ["Good one", "2026-12-01", "red"],
    ["Bad date", "2026-13-01", ""],
]


def _upload(team, name="Developer", content=None, project="WEB"):
    return team.client(name).post(
        f"/projects/{project}/import/", {"file": SimpleUploadedFile("plan.csv", content or csv_bytes(ROWS))}
    )


def test_upload_map_preview_and_import_valid_rows(team):
    client = team.client("Developer")
    page = client.get("/projects/WEB/import/")
    assert page.status_code == 200
    assert "Import tasks from a CSV file" in page.content.decode()
    response = _upload(team)
    assert response.status_code == 302
    with team.schema():
        task_import = TaskImport.objects.get()
    assert response["Location"] == f"/projects/WEB/import/{task_import.pk}/"
    detail = client.get(response["Location"]).content.decode()
    assert "Unknown column: choose the field it fills, or “Skip”." in detail
    assert "Row 3, column “Срок”" in detail
    assert "is not a date" in detail
    assert 'class="cell-invalid"' in detail
    # Starting without choosing what the unknown column fills is refused in place.
    refused = client.post(
        response["Location"], {"action": "start", "mode": "valid_rows", "column-0": "title", "column-1": "due_date"}
    )
    assert refused.status_code == 400
    assert "Colour" in refused.content.decode()
    started = client.post(
        response["Location"],
        {"action": "start", "mode": "valid_rows", "column-0": "title", "column-1": "due_date", "column-2": ""},
    )
    assert started.status_code == 302
    progress = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in progress
    assert "Waiting for a worker" in progress
    team.run(task_import.pk)
    fragment = client.get(response["Location"], headers={"HX-Request": "true", "HX-Target": "import-progress"})
    body = fragment.content.decode()
    assert "1 task imported." in body
    assert "every 1s" not in body
    assert "Row 3, column “Срок”" in body
    assert "<html" not in body
    with team.schema():
        assert list(Task.objects.filter(project=team.web).values_list("title", flat=True)) == ["Good one"]


def test_a_broken_file_is_refused_inline_and_nothing_is_stored(team):
    response = _upload(team, content="Title\nCaf\xe9\n".encode("latin-1"))
    assert response.status_code == 400
    assert "neither UTF-8 nor Windows-1251" in response.content.decode()
    missing = team.client("Developer").post("/projects/WEB/import/", {})
    assert missing.status_code == 400
    with team.schema():
        assert not TaskImport.objects.exists()


def test_the_upload_page_refuses_files_over_the_limit(team, settings):
    settings.TESSERA_IMPORT_MAX_BYTES = 500
    response = _upload(team, content=csv_bytes([["Title"]] + [["x" * 40]] * 50))
    assert response.status_code == 413
    with team.schema():
        assert not TaskImport.objects.exists()


def test_russian_page(team):
    response = _upload(team)
    client = team.client("Developer")
    client.post("/language/", {"language": "ru"})
    detail = client.get(response["Location"], headers={"Accept-Language": "ru"}).content.decode()
    assert "Неизвестный столбец" in detail


def test_wrong_role_other_project_and_other_organisation(team, org_b):
    assert team.client("Viewer").get("/projects/WEB/import/").status_code == 403
    assert _upload(team, name="Viewer").status_code == 403
    assert team.client("guest").get("/projects/WEB/import/").status_code == 404
    response = _upload(team)
    detail = response["Location"]
    with team.schema():
        task_import = TaskImport.objects.get()
    # The Reporter may import but this import is the developer's.
    assert team.client("Reporter").get(detail).status_code == 404
    assert team.client("Reporter").post(detail, {"action": "discard"}).status_code == 404
    assert team.client("Viewer").post(detail, {"action": "discard"}).status_code == 403
    assert team.client("Developer").get(f"/projects/OPS/import/{task_import.pk}/").status_code == 403
    bravo = org_b.memberships.get(role="owner").user
    assert client_for(org_b, bravo).get(f"/projects/WEB/import/{task_import.pk}/").status_code == 404
    assert client_for(team.organization, bravo).get(detail).status_code == 403
    bad = team.client("Developer").post(detail, {"action": "explode"})
    assert bad.status_code == 400
    with team.schema():
        assert TaskImport.objects.get().status == "uploaded"
    discard = team.client("Developer").post(detail, {"action": "discard"})
    assert discard.status_code == 302
    with team.schema():
        assert not TaskImport.objects.exists()
