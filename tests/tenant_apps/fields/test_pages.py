"""Custom fields on the pages: the settings page (define, rename, delete), the task
page's Fields form, the list's filters, columns and sort, the board's cards; wrong role,
bad input, other organisation, constant query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from tenant_apps.fields.models import CustomField, CustomFieldOption, CustomFieldValue
from tenant_apps.fields.services import field_create, task_values_set
from tests.conftest import client_for
from tests.tenant_apps.fields.test_api import _state
from tests.tenant_apps.tasks.test_api import Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _select(team, name="Severity", on_cards=True):
    with schema_context(team.organization.schema_name):
        return field_create(
            project=team.web,
            actor=team.owner_member,
            name=name,
            kind="select",
            options=[{"name": "Low"}, {"name": "High"}],
            on_cards=on_cards,
        )


def _option(team, field, name) -> int:
    with schema_context(team.organization.schema_name):
        return CustomFieldOption.objects.get(field=field, name=name).pk


@pytest.mark.django_db
def test_settings_page_defines_renames_and_deletes_fields(team):
    client = team.client("Project Manager")
    assert client.get("/projects/WEB/settings/fields/").status_code == 200
    response = client.post(
        "/projects/WEB/settings/fields/",
        {"action": "create", "name": "Severity", "kind": "select", "options": "Low\nHigh\n", "on_cards": "on"},
    )
    assert response.status_code == 302
    with schema_context(team.organization.schema_name):
        field = CustomField.objects.get()
        assert (field.name, field.kind, field.on_cards) == ("Severity", "select", True)
        low = CustomFieldOption.objects.get(field=field, name="Low").pk
    response = client.post(
        "/projects/WEB/settings/fields/",
        {"action": "update", "field": field.pk, "name": "Impact", "options": "Low\nBlocker"},
    )
    assert response.status_code == 302
    with schema_context(team.organization.schema_name):
        assert sorted(CustomFieldOption.objects.filter(field=field).values_list("name", flat=True)) == [
            "Blocker",
            "Low",
        ]
        assert CustomFieldOption.objects.filter(pk=low).exists()  # kept its id: values stay
    response = client.post("/projects/WEB/settings/fields/", {"action": "delete", "field": field.pk})
    assert response.status_code == 302
    with schema_context(team.organization.schema_name):
        assert not CustomField.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"action": "create", "name": "", "kind": "text"},
        {"action": "create", "name": "X", "kind": "colour"},
        {"action": "create", "name": "X", "kind": "select", "options": ""},
        {"action": "create", "name": "Severity", "kind": "text"},
    ],
)
def test_settings_page_shows_bad_input_inline(team, data):
    _select(team)
    before = _state(team)
    response = team.client("Project Manager").post("/projects/WEB/settings/fields/", data)
    assert response.status_code == 400
    assert 'class="errorlist"' in response.text or "form-errors" in response.text
    assert _state(team) == before


@pytest.mark.django_db
def test_settings_page_refused_to_other_roles_and_organisations(team, org_b):
    field = _select(team)
    before = _state(team)
    for name in ("Developer", "Viewer"):
        client = team.client(name)
        assert client.get("/projects/WEB/settings/fields/").status_code == 403
        response = client.post("/projects/WEB/settings/fields/", {"action": "delete", "field": field.pk})
        assert response.status_code == 403
    assert team.client("guest").get("/projects/WEB/settings/fields/").status_code == 404
    other = client_for(org_b, team.users["Project Manager"])
    assert other.post("/projects/WEB/settings/fields/", {"action": "delete", "field": field.pk}).status_code in (
        302,
        403,
        404,
    )
    assert _state(team) == before


@pytest.mark.django_db
def test_task_page_sets_values_and_shows_errors_inline(team):
    field = _select(team)
    with schema_context(team.organization.schema_name):
        points = field_create(project=team.web, actor=team.owner_member, name="Points", kind="number")
    task = team.task("one")
    client = team.client("Developer")
    page = client.get(f"/tasks/{task.key}/")
    assert "Severity" in page.text
    high = _option(team, field, "High")
    response = client.post(f"/tasks/{task.key}/fields/", {f"field_{field.pk}": high, f"field_{points.pk}": "3"})
    assert response.status_code == 302
    with schema_context(team.organization.schema_name):
        assert CustomFieldValue.objects.get(task=task, field=field).value_option_id == high
        assert CustomFieldValue.objects.get(task=task, field=points).value_number == 3
    before = _state(team)
    response = client.post(f"/tasks/{task.key}/fields/", {f"field_{field.pk}": "", f"field_{points.pk}": "lots"})
    assert response.status_code == 400
    assert "Send a number." in response.text
    assert _state(team) == before
    # A viewer may not: 403, nothing changed.
    assert team.client("Viewer").post(f"/tasks/{task.key}/fields/", {f"field_{field.pk}": ""}).status_code == 403
    assert _state(team) == before


@pytest.mark.django_db
def test_list_and_board_filter_show_and_sort_by_custom_fields(team):
    field = _select(team)
    one, two = team.task("alpha task"), team.task("beta task")
    high, low = _option(team, field, "High"), _option(team, field, "Low")
    with schema_context(team.organization.schema_name):
        task_values_set(task=one, actor=team.owner_member, values={field: high})
        task_values_set(task=two, actor=team.owner_member, values={field: low})
    client = team.client("Viewer")
    listed = client.get(f"/projects/WEB/list/?field_{field.pk}={high}").text
    assert "alpha task" in listed
    assert "beta task" not in listed
    assert "<td>High</td>" in listed  # the column (shown on cards and in the list)
    ordered = client.get(f"/projects/WEB/list/?ordering=field_{field.pk}").text
    assert ordered.index("beta task") < ordered.index("alpha task")  # Low before High
    board = client.get(f"/projects/WEB/?field_{field.pk}={low}").text
    assert "beta task" in board
    assert "alpha task" not in board
    assert 'class="field-chip"' in board
    bad = client.get("/projects/WEB/list/?field_999999=1")
    assert bad.status_code == 200  # reported on the page, never a 500
    assert "No such field in this project." in bad.text


@pytest.mark.django_db
def test_list_with_custom_field_columns_has_constant_queries(team):
    field = _select(team)
    with schema_context(team.organization.schema_name):
        points = field_create(project=team.web, actor=team.owner_member, name="Points", kind="number", on_cards=True)
    high = _option(team, field, "High")
    client = team.client("Developer")
    counts = []
    for total in (2, 9):
        while True:
            with schema_context(team.organization.schema_name):
                count = team.web.tasks.count()
            if count >= total:
                break
            task = team.task(f"t{count}")
            with schema_context(team.organization.schema_name):
                task_values_set(task=task, actor=team.owner_member, values={field: high, points: count})
        for url in ("/projects/WEB/list/", "/projects/WEB/"):
            client.get(url)
        with CaptureQueriesContext(connection) as list_queries:
            assert client.get("/projects/WEB/list/").status_code == 200
        with CaptureQueriesContext(connection) as board_queries:
            assert client.get("/projects/WEB/").status_code == 200
        counts.append((len(list_queries), len(board_queries)))
    assert counts[0] == counts[1], counts
