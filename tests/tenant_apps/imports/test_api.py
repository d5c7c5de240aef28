from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.audit.models import AuditEntry
from shared_apps.core.storage import storage
from tenant_apps.imports.models import TaskImport
from tenant_apps.notifications.models import Event, Watcher
from tenant_apps.projects.models import Project
from tenant_apps.tasks.models import Activity, Label, Task
from tests.conftest import client_for

from .conftest import JSON, csv_bytes

pytestmark = pytest.mark.django_db

GOOD = [
    ["Title", "Description", "Status", "Priority", "Assignee", "Labels", "Due date"],
    ["Write the docs", "All of them", "In progress", "High", "developer@alpha.test", "docs; Bug", "2026-12-31"],
    ["Fix the login", "", "done", "urgent", "", "bug", "31.12.2026"],
    ["Plain task", "", "", "", "", "", ""],
]


def test_upload_suggests_the_mapping_and_previews_rows(team):
    response = team.upload("Developer", csv_bytes(GOOD))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["encoding"] == "utf-8"
    assert body["delimiter"] == ","
    assert body["row_count"] == 3
    assert body["mapping"] == {
        "0": "title",
        "1": "description",
        "2": "state",
        "3": "priority",
        "4": "assignees",
        "5": "labels",
        "6": "due_date",
    }
    assert [row["row"] for row in body["preview"]] == [2, 3, 4]
    assert all(row["errors"] == {} for row in body["preview"])
    assert body["problems"] == []
    with team.schema():
        task_import = TaskImport.objects.get()
        assert task_import.storage_key.startswith(f"{team.organization.schema_name}/imports/")
        assert storage().exists(task_import.storage_key)


def test_russian_headers_in_windows_1251_with_semicolons_are_understood(team):
    rows = [
        ["Название", "Описание", "Статус", "Приоритет", "Исполнитель", "Метки", "Срок"],
        ["Починить вход", "Срочно", "В работе", "Высокий", "developer@alpha.test", "ошибка", "01.02.2027"],
    ]
    response = team.upload("Developer", csv_bytes(rows, encoding="cp1251", delimiter=";"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["encoding"] == "cp1251"
    assert body["delimiter"] == ";"
    assert body["mapping"] == {str(i): key for i, key in enumerate(
        ["title", "description", "state", "priority", "assignees", "labels", "due_date"])}  # fmt: skip
    assert body["preview"][0]["cells"][0] == "Починить вход"
    assert body["preview"][0]["errors"] == {}, body["preview"]
    start = team.client("Developer").post(
        f"/api/v1/projects/WEB/imports/{body['id']}/start/", {"mode": "all_or_nothing"}, content_type=JSON
    )
    assert start.status_code == 202, start.content
    assert team.run(body["id"]) == "done"
    with team.schema():
        task = Task.objects.get(project__key="WEB")
        assert (task.title, task.status, task.priority, task.due_date) == (
            "Починить вход",
            "in_progress",
            3,
            date(2027, 2, 1),
        )
        assert list(task.labels.values_list("name", flat=True)) == ["ошибка"]


def test_utf8_with_bom_is_accepted(team):
    response = team.upload("Developer", b"\xef\xbb\xbf" + csv_bytes([["Title"], ["Один"]]))
    assert response.status_code == 201, response.content
    assert response.json()["encoding"] == "utf-8-sig"
    assert response.json()["headers"] == ["Title"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Title\nCaf\xe9\n".encode("latin-1"), "neither UTF-8 nor Windows-1251"),
        ("Title\nOne\n".encode("utf-16"), "UTF-16"),
        (b"", "empty"),
        (b"Title\n", "no rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a text file"),
        (b",,\nx,y\n", "header"),
    ],
)
def test_unreadable_files_are_refused_and_nothing_is_stored(team, content, message):
    before = team.state()
    response = team.upload("Developer", content)
    assert response.status_code == 400, response.content
    assert message in str(response.json()["file"])
    assert team.state() == before
    assert not (Path(settings.MEDIA_ROOT) / team.organization.schema_name / "imports").exists() or not any(
        (Path(settings.MEDIA_ROOT) / team.organization.schema_name / "imports").iterdir()
    )


def test_upload_over_the_size_limit_is_413(team, settings):
    settings.TESSERA_IMPORT_MAX_BYTES = 1000
    response = team.upload("Developer", csv_bytes([["Title"]] + [["x" * 50]] * 100))
    assert response.status_code == 413, response.content
    with team.schema():
        assert not TaskImport.objects.exists()


def test_too_many_rows_are_refused(team, settings):
    settings.TESSERA_IMPORT_MAX_ROWS = 2
    response = team.upload("Developer", csv_bytes([["Title"], ["a"], ["b"], ["c"]]))
    assert response.status_code == 400
    assert "more than 2 rows" in str(response.json())


BROKEN = [
    ["Title", "Status", "Assignee", "Due", "Colour"],
    ["Good one", "todo", "developer@alpha.test", "2026-12-01", "red"],
    ["", "todo", "", "", ""],
    ["Bad date", "todo", "", "2026-13-01", ""],
    ["Unknown person", "todo", "nobody@alpha.test", "", ""],
    ["Unknown state", "Someday", "", "", ""],
    ["Second good", "", "", "", ""],
]


def _broken_import(team, name="Developer") -> int:
    response = team.upload(name, csv_bytes(BROKEN))
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_preview_reports_row_and_column_and_unknown_columns(team):
    import_id = _broken_import(team)
    body = team.client("Developer").get(f"/api/v1/projects/WEB/imports/{import_id}/").json()
    assert body["mapping"]["4"] is None
    assert body["problems"] == [
        {"row": 1, "column": "Colour", "message": "Unknown column: choose the field it fills, or “Skip”."}
    ]
    errors = {row["row"]: row["errors"] for row in body["preview"]}
    assert errors[2] == {}
    assert errors[3] == {"Title": ["A task needs a title."]}
    assert "is not a date" in errors[4]["Due"][0]
    assert errors[5] == {"Assignee": ["No one in this project has the email nobody@alpha.test."]}
    assert errors[6] == {"Status": ["No state named “Someday”."]}
    # Starting with an unmapped column is refused; nothing is queued.
    start = team.client("Developer").post(
        f"/api/v1/projects/WEB/imports/{import_id}/start/", {"mode": "valid_rows"}, content_type=JSON
    )
    assert start.status_code == 400
    assert "Colour" in str(start.json())
    with team.schema():
        assert TaskImport.objects.get().status == "uploaded"


def _skip_colour_and_start(team, import_id, mode, name="Developer"):
    client = team.client(name)
    mapped = client.put(
        f"/api/v1/projects/WEB/imports/{import_id}/mapping/", {"mapping": {"Colour": ""}}, content_type=JSON
    )
    assert mapped.status_code == 200, mapped.content
    assert mapped.json()["problems"] == []
    start = client.post(f"/api/v1/projects/WEB/imports/{import_id}/start/", {"mode": mode}, content_type=JSON)
    assert start.status_code == 202, start.content
    assert start.json()["status"] == "queued"


def test_a_broken_file_imports_nothing_when_asked(team):
    import_id = _broken_import(team)
    _skip_colour_and_start(team, import_id, "all_or_nothing")
    with team.schema():
        tasks_before = Task.objects.count()
        sequence = Project.objects.get(key="WEB").task_sequence
    assert team.run(import_id) == "failed"
    body = team.client("Developer").get(f"/api/v1/projects/WEB/imports/{import_id}/").json()
    assert body["status"] == "failed"
    assert body["imported_count"] == 0
    assert body["failure_reason"] == "4 of 6 rows have errors: nothing was imported."
    assert [(e["row"], e["column"]) for e in body["errors"]] == [
        (3, "Title"),
        (4, "Due"),
        (5, "Assignee"),
        (6, "Status"),
    ]
    with team.schema():
        assert Task.objects.count() == tasks_before
        assert Project.objects.get(key="WEB").task_sequence == sequence
        assert not storage().exists(TaskImport.objects.get().storage_key or "nothing")
        assert TaskImport.objects.get().storage_key == ""


def test_valid_rows_are_imported_and_the_others_reported(team, django_capture_on_commit_callbacks):
    team.upload("Developer", csv_bytes([["Title"], ["Existing"]]))  # another import, never started
    with team.schema():
        todo = team.web.states.get(name="To do")
        first = Task.objects.create(project=team.web, number=1, title="Already there", rank="a0", state=todo)
        Project.objects.filter(pk=team.web.pk).update(task_sequence=1)
    import_id = _broken_import(team)
    _skip_colour_and_start(team, import_id, "valid_rows")
    with team.schema():
        key = TaskImport.objects.get(pk=import_id).storage_key
    with django_capture_on_commit_callbacks(execute=True):
        assert team.run(import_id) == "done"
    body = team.client("Developer").get(f"/api/v1/projects/WEB/imports/{import_id}/").json()
    assert (body["status"], body["imported_count"], body["error_count"], body["progress"]) == ("done", 2, 4, 100)
    with team.schema():
        tasks = list(Task.objects.filter(project=team.web).order_by("number"))
        assert [(t.number, t.title) for t in tasks] == [(1, "Already there"), (2, "Good one"), (3, "Second good")]
        assert tasks[0].rank < tasks[1].rank < tasks[2].rank
        assert list(tasks[1].assignees.values_list("email", flat=True)) == ["developer@alpha.test"]
        assert tasks[1].due_date == date(2026, 12, 1)
        assert tasks[1].reporter_id == team.members["Developer"].pk
        assert Project.objects.get(pk=team.web.pk).task_sequence == 3
        activity = Activity.objects.filter(task__in=tasks[1:])
        assert (
            sorted(activity.values_list("kind", "field", "new_value"))
            == [("created", "import", {"import": import_id})] * 2
        )
        assert Watcher.objects.filter(task__in=tasks[1:], member=team.members["Developer"]).count() == 2
        assert not Event.objects.filter(task__in=tasks[1:]).exists()
        entry = AuditEntry.objects.get(action="task.imported")
        assert entry.after == {"import": import_id, "file": "tasks.csv", "tasks": 2, "skipped": 4}
        assert not storage().exists(key)
        assert first.pk


def test_labels_are_created_as_needed_and_matched_case_insensitively(team):
    response = team.upload("Developer", csv_bytes(GOOD))
    import_id = response.json()["id"]
    team.client("Developer").post(
        f"/api/v1/projects/WEB/imports/{import_id}/start/", {"mode": "all_or_nothing"}, content_type=JSON
    )
    assert team.run(import_id) == "done"
    with team.schema():
        assert sorted(Label.objects.filter(project=team.web).values_list("name", flat=True)) == ["bug", "docs"]
        write = Task.objects.get(title="Write the docs")
        assert sorted(write.labels.values_list("name", flat=True)) == ["bug", "docs"]
        assert (write.status, write.priority, write.completed_at) == ("in_progress", 3, None)
        fix = Task.objects.get(title="Fix the login")
        assert fix.status == "done"
        assert fix.completed_at is not None
        assert fix.due_date == date(2026, 12, 31)
        assert Task.objects.get(title="Plain task").status == "todo"


def test_mapping_refuses_unknown_columns_fields_and_duplicates(team):
    import_id = team.upload("Developer", csv_bytes(GOOD)).json()["id"]
    client = team.client("Developer")
    url = f"/api/v1/projects/WEB/imports/{import_id}/mapping/"
    for mapping, text in (
        ({"Nope": "title"}, "No column"),
        ({"0": "colour"}, "not a field"),
        ({"1": "title"}, "same field"),
        ({"99": "title"}, "No column"),
    ):
        response = client.put(url, {"mapping": mapping}, content_type=JSON)
        assert response.status_code == 400, mapping
        assert text in str(response.json()), response.json()
    assert client.put(url, {"mapping": "title"}, content_type=JSON).status_code == 400
    assert client.put(url, {"mapping": {}, "extra": 1}, content_type=JSON).status_code == 400
    bad_mode = client.post(f"/api/v1/projects/WEB/imports/{import_id}/start/", {"mode": "maybe"}, content_type=JSON)
    assert bad_mode.status_code == 400
    with team.schema():
        assert TaskImport.objects.get().mapping["1"] == "description"
        assert TaskImport.objects.get().status == "uploaded"


def test_a_started_import_cannot_be_remapped_or_started_again(team):
    import_id = team.upload("Developer", csv_bytes(GOOD)).json()["id"]
    client = team.client("Developer")
    assert (
        client.post(
            f"/api/v1/projects/WEB/imports/{import_id}/start/", {"mode": "valid_rows"}, content_type=JSON
        ).status_code
        == 202
    )
    again = client.post(f"/api/v1/projects/WEB/imports/{import_id}/start/", {"mode": "valid_rows"}, content_type=JSON)
    assert again.status_code == 400
    remap = client.put(f"/api/v1/projects/WEB/imports/{import_id}/mapping/", {"mapping": {"1": ""}}, content_type=JSON)
    assert remap.status_code == 400
    assert team.run(import_id) == "done"
    assert team.run(import_id) == "skipped"  # a redelivered message does nothing
    with team.schema():
        assert Task.objects.filter(project=team.web).count() == 3


def test_wrong_role_is_refused_and_nothing_changes(team):
    before = team.state()
    assert team.upload("Viewer", csv_bytes(GOOD)).status_code == 403
    # A Reporter may create tasks but not set states or assignees: mapping them is refused.
    response = team.upload("Reporter", csv_bytes(GOOD))
    assert response.status_code == 201
    import_id = response.json()["id"]
    start = team.client("Reporter").post(
        f"/api/v1/projects/WEB/imports/{import_id}/start/", {"mode": "valid_rows"}, content_type=JSON
    )
    assert start.status_code == 403
    remap = team.client("Reporter").put(
        f"/api/v1/projects/WEB/imports/{import_id}/mapping/", {"mapping": {"2": "", "4": ""}}, content_type=JSON
    )
    assert remap.status_code == 200
    # Someone else's import is not theirs to see or start (the Developer), but a project
    # manager sees it.
    assert team.client("Developer").get(f"/api/v1/projects/WEB/imports/{import_id}/").status_code == 404
    assert (
        team.client("Developer")
        .post(f"/api/v1/projects/WEB/imports/{import_id}/start/", {"mode": "valid_rows"}, content_type=JSON)
        .status_code
        == 404
    )
    assert team.client("Project Manager").get(f"/api/v1/projects/WEB/imports/{import_id}/").status_code == 200
    assert team.client("Viewer").get(f"/api/v1/projects/WEB/imports/{import_id}/").status_code == 403
    with team.schema():
        assert TaskImport.objects.get().status == "uploaded"
    assert team.state()[0] == before[0]


def test_other_project_and_other_organisation_are_404(team, org_b):
    import_id = team.upload("Developer", csv_bytes(GOOD)).json()["id"]
    client = team.client("Developer")
    # The import belongs to WEB: through OPS (no role there) the developer is refused;
    # through a project where they may import, it is not there.
    assert client.get(f"/api/v1/projects/OPS/imports/{import_id}/").status_code == 403
    with team.schema():
        from tenant_apps.projects.services import project_create

        project_create(key="DOC", name="Docs", actor=team.members["Developer"])
    assert client.get(f"/api/v1/projects/DOC/imports/{import_id}/").status_code == 404
    assert (
        client.post(
            f"/api/v1/projects/DOC/imports/{import_id}/start/", {"mode": "valid_rows"}, content_type=JSON
        ).status_code
        == 404
    )
    assert team.upload("guest", csv_bytes(GOOD)).status_code == 404
    # Bravo's owner on bravo's domain: no WEB there; on alpha's domain: not a member.
    bravo_owner = org_b.memberships.get(role="owner").user
    assert client_for(org_b, bravo_owner).get(f"/api/v1/projects/WEB/imports/{import_id}/").status_code == 404
    assert (
        client_for(team.organization, bravo_owner).get(f"/api/v1/projects/WEB/imports/{import_id}/").status_code == 403
    )
    with team.schema():
        assert TaskImport.objects.get().status == "uploaded"


def test_detail_costs_a_constant_number_of_queries(team):
    small = team.upload("Developer", csv_bytes(GOOD)).json()["id"]
    large = team.upload("Developer", csv_bytes(GOOD + GOOD[1:] * 5)).json()["id"]
    client = team.client("Developer")
    client.get(f"/api/v1/projects/WEB/imports/{small}/")
    counts = []
    for import_id in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/projects/WEB/imports/{import_id}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_an_archived_project_refuses_imports(team):
    with team.schema():
        Project.objects.filter(pk=team.web.pk).update(archived=True)
    response = team.upload("Project Manager", csv_bytes(GOOD))
    assert response.status_code == 400
    assert "archived" in str(response.json())


SAVED: list[tuple[str, int]] = []


def _points(text: str) -> int:
    from django.core.exceptions import ValidationError

    if not text.isdigit():
        raise ValidationError("Points are a whole number.")
    return int(text)


def points_provider(project):
    """A target another app could provide (custom fields do): parsed per cell, saved per
    batch inside the import's transaction."""
    from tenant_apps.imports.targets import Target

    def save(pairs):
        SAVED.extend((task.title, value) for task, value in pairs)

    return [Target("points", "Points", ("points", "очки"), parse=_points, save=save)]


def test_other_apps_provide_targets(team, settings):
    settings.TESSERA_IMPORT_TARGET_PROVIDERS = ["tests.tenant_apps.imports.test_api.points_provider"]
    SAVED.clear()
    response = team.upload("Developer", csv_bytes([["Title", "Очки"], ["Small", "3"], ["Odd", "x"]]))
    body = response.json()
    assert body["mapping"] == {"0": "title", "1": "points"}
    assert "points" in [target["key"] for target in body["targets"]]
    assert body["preview"][1]["errors"] == {"Очки": ["Points are a whole number."]}
    client = team.client("Developer")
    start = client.post(f"/api/v1/projects/WEB/imports/{body['id']}/start/", {"mode": "valid_rows"}, content_type=JSON)
    assert start.status_code == 202
    assert team.run(body["id"]) == "done"
    assert SAVED == [("Small", 3)]
