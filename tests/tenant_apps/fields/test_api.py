import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.audit.models import AuditEntry
from tenant_apps.fields.models import CustomField, CustomFieldOption, CustomFieldValue
from tenant_apps.fields.services import field_create, task_values_set
from tenant_apps.projects.services import project_create
from tenant_apps.tasks.models import Activity, Task
from tests.conftest import client_for
from tests.tenant_apps.tasks.test_api import Team

JSON = "application/json"


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _field(team, name="Severity", kind="select", options=("Low", "High"), project=None):
    with schema_context(team.organization.schema_name):
        return field_create(
            project=project or team.web,
            actor=team.owner_member,
            name=name,
            kind=kind,
            options=[{"name": option} for option in options] if kind in ("select", "multi_select") else None,
        )


def _options(team, field) -> dict[str, int]:
    with schema_context(team.organization.schema_name):
        return {option.name: option.pk for option in CustomFieldOption.objects.filter(field=field)}


def _set(team, task, field, value):
    with schema_context(team.organization.schema_name):
        task_values_set(task=task, actor=team.owner_member, values={field: value})


def _state(team) -> tuple:
    with schema_context(team.organization.schema_name):
        return (
            sorted(CustomField.objects.values_list("project__key", "name", "kind", "on_cards")),
            sorted(CustomFieldOption.objects.values_list("field__name", "name")),
            sorted(
                CustomFieldValue.objects.values_list(
                    "task_id", "field_id", "value_text", "value_number", "value_date", "value_option_id"
                )
            ),
            Activity.objects.count(),
            sorted(Task.objects.values_list("pk", "version")),
        )


@pytest.mark.django_db
def test_field_define_list_rename_delete_by_project_manager(team):
    client = team.client("Project Manager")
    response = client.post(
        "/api/v1/projects/WEB/fields/",
        {"name": "Severity", "kind": "select", "options": [{"name": "Low"}, {"name": "High"}], "on_cards": True},
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    field = response.json()
    assert [option["name"] for option in field["options"]] == ["Low", "High"]
    listed = team.client("Viewer").get("/api/v1/projects/WEB/fields/").json()["results"]
    assert [(item["name"], item["kind"], item["on_cards"]) for item in listed] == [("Severity", "select", True)]
    low = field["options"][0]["id"]
    response = client.patch(
        f"/api/v1/projects/WEB/fields/{field['id']}/",
        {"name": "Impact", "options": [{"id": low, "name": "Minor"}, {"name": "Blocker"}]},
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    assert [option["name"] for option in response.json()["options"]] == ["Minor", "Blocker"]
    assert client.delete(f"/api/v1/projects/WEB/fields/{field['id']}/").status_code == 204
    with schema_context(team.organization.schema_name):
        assert not CustomField.objects.exists()
        actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"custom_field.created", "custom_field.deleted"} <= actions


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ({"name": "", "kind": "text"}, "name"),
        ({"name": "X", "kind": "colour"}, "kind"),
        ({"name": "X", "kind": "select"}, "options"),
        ({"name": "X", "kind": "text", "options": [{"name": "a"}]}, "options"),
        ({"name": "X", "kind": "select", "options": [{"name": "a"}, {"name": "A"}]}, "options"),
        ({"name": "Severity", "kind": "text"}, "name"),
        ({"name": "X", "kind": "text", "colour": "red"}, "colour"),
    ],
)
def test_field_create_refuses_bad_input(team, payload, key):
    _field(team)
    before = _state(team)
    response = team.client("Project Manager").post("/api/v1/projects/WEB/fields/", payload, content_type=JSON)
    assert response.status_code == 400, response.content
    assert key in response.json()
    assert _state(team) == before


@pytest.mark.django_db
def test_field_define_refused_without_project_manage_and_in_other_projects(team, org_b):
    field = _field(team)
    before = _state(team)
    for name in ("Developer", "Reporter", "Viewer"):
        client = team.client(name)
        assert (
            client.post("/api/v1/projects/WEB/fields/", {"name": "Y", "kind": "text"}, content_type=JSON).status_code
            == 403
        )
        assert (
            client.patch(f"/api/v1/projects/WEB/fields/{field.pk}/", {"name": "Z"}, content_type=JSON).status_code
            == 403
        )
        assert client.delete(f"/api/v1/projects/WEB/fields/{field.pk}/").status_code == 403
    # The guest is in no project: 404. Another project's address: 404.
    assert team.client("guest").get("/api/v1/projects/WEB/fields/").status_code == 404
    manager = team.client("Project Manager")
    assert manager.get(f"/api/v1/projects/OPS/fields/{field.pk}/").status_code in (403, 404)
    # Another organisation: not a member.
    other = client_for(org_b, team.users["Project Manager"])
    assert other.get("/api/v1/projects/WEB/fields/").status_code in (403, 404)
    assert other.delete(f"/api/v1/projects/WEB/fields/{field.pk}/").status_code in (403, 404)
    assert _state(team) == before


@pytest.mark.django_db
def test_task_values_set_by_kind_and_shown_on_the_task(team):
    severity = _field(team)
    labels = _field(team, "Areas", "multi_select", ("api", "web", "docs"))
    points = _field(team, "Points", "number")
    ships = _field(team, "Ships", "date")
    link = _field(team, "Spec", "url")
    done = _field(team, "Reviewed", "checkbox")
    owner = _field(team, "Owner", "person")
    note = _field(team, "Note", "text")
    task = team.task("one")
    opts, areas = _options(team, severity), _options(team, labels)
    developer = team.members["Developer"]
    values = {
        str(severity.pk): opts["High"],
        str(labels.pk): [areas["web"], areas["api"]],
        str(points.pk): 3.5,
        str(ships.pk): "2026-12-24",
        str(link.pk): "https://example.com/spec",
        str(done.pk): True,
        str(owner.pk): developer.pk,
        str(note.pk): "  hello  ",
    }
    response = team.client("Developer").patch(
        f"/api/v1/projects/WEB/tasks/{task.number}/fields/", {"values": values}, content_type=JSON
    )
    assert response.status_code == 200, response.content
    shown = response.json()["custom_fields"]
    assert shown == {
        str(severity.pk): opts["High"],
        str(labels.pk): sorted([areas["web"], areas["api"]]),
        str(points.pk): 3.5,
        str(ships.pk): "2026-12-24",
        str(link.pk): "https://example.com/spec",
        str(done.pk): True,
        str(owner.pk): developer.pk,
        str(note.pk): "hello",
    }
    assert response.json()["version"] == task.version + 1
    with schema_context(team.organization.schema_name):
        assert Activity.objects.filter(task=task, field="Severity", new_value=opts["High"]).exists()
    # Clearing: null, false, [].
    clear = {str(severity.pk): None, str(done.pk): False, str(labels.pk): []}
    response = team.client("Developer").patch(
        f"/api/v1/projects/WEB/tasks/{task.number}/fields/", {"values": clear}, content_type=JSON
    )
    assert set(response.json()["custom_fields"]) == {
        str(points.pk),
        str(ships.pk),
        str(link.pk),
        str(owner.pk),
        str(note.pk),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("number", "many"),
        ("number", True),
        ("number", "1e400"),
        ("date", "2026-13-01"),
        ("date", 20261201),
        ("url", "javascript:alert(1)"),
        ("url", "not a url"),
        ("text", "x" * 501),
        ("text", 5),
        ("checkbox", "maybe"),
        ("select", 999999),
        ("select", [1, 2]),
        ("multi_select", ["x"]),
        ("person", 999999),
        ("person", "Ada"),
        ("person", 10**20),
        ("select", "99999999999999999999"),
        ("select", "²"),
        ("text", "a\x00b"),
        ("text", {"a": 1}),
    ],
)
def test_task_values_refuse_values_of_the_wrong_type(team, kind, value):
    field = _field(team, "F", kind, ("a", "b"))
    task = team.task("one")
    before = _state(team)
    response = team.client("Developer").patch(
        f"/api/v1/projects/WEB/tasks/{task.number}/fields/", {"values": {str(field.pk): value}}, content_type=JSON
    )
    assert response.status_code == 400, response.content
    assert f"field_{field.pk}" in response.json()
    assert _state(team) == before


@pytest.mark.django_db
def test_person_field_takes_only_people_the_project_can_assign(team):
    owner_field = _field(team, "Owner", "person")
    task = team.task("one")
    url = f"/api/v1/projects/WEB/tasks/{task.number}/fields/"
    client = team.client("Developer")
    guest = team.members["guest"]  # an organisation member outside WEB
    with schema_context(team.organization.schema_name):
        gone = team.members["Viewer"]
        gone.is_active = False
        gone.save(update_fields=["is_active"])
    before = _state(team)
    for outsider in (guest, gone):
        response = client.patch(url, {"values": {str(owner_field.pk): outsider.pk}}, content_type=JSON)
        assert response.status_code == 400, response.content
        assert f"field_{owner_field.pk}" in response.json()
    assert _state(team) == before
    # Organisation owners and admins may work on every project, as for assignees.
    for person in (team.owner_member, team.members["Developer"]):
        response = client.patch(url, {"values": {str(owner_field.pk): person.pk}}, content_type=JSON)
        assert response.status_code == 200, response.content
        assert response.json()["custom_fields"][str(owner_field.pk)] == person.pk


@pytest.mark.django_db
def test_task_values_refused_for_wrong_role_other_project_field_and_other_org(team, org_b):
    field = _field(team)
    ops_field = _field(team, "Ops only", "text", project=team.ops)
    task = team.task("one")
    before = _state(team)
    url = f"/api/v1/projects/WEB/tasks/{task.number}/fields/"
    body = {"values": {str(field.pk): _options(team, field)["High"]}}
    for name in ("Reporter", "Viewer"):
        assert team.client(name).patch(url, body, content_type=JSON).status_code == 403
    assert team.client("guest").patch(url, body, content_type=JSON).status_code == 404
    response = team.client("Developer").patch(url, {"values": {str(ops_field.pk): "x"}}, content_type=JSON)
    assert response.status_code == 400
    assert f"field_{ops_field.pk}" in response.json()
    response = team.client("Developer").patch(url, {"values": {"abc": "x"}}, content_type=JSON)
    assert response.status_code == 400
    assert client_for(org_b, team.users["Developer"]).patch(url, body, content_type=JSON).status_code in (403, 404)
    assert _state(team) == before


@pytest.mark.django_db
def test_task_list_filters_and_sorts_by_custom_fields(team):
    severity = _field(team)
    points = _field(team, "Points", "number")
    ships = _field(team, "Ships", "date")
    areas = _field(team, "Areas", "multi_select", ("api", "web"))
    reviewed = _field(team, "Reviewed", "checkbox")
    opts, area = _options(team, severity), _options(team, areas)
    one, two, three = team.task("one"), team.task("two"), team.task("three")
    _set(team, one, severity, opts["High"])
    _set(team, two, severity, opts["Low"])
    _set(team, one, points, 1)
    _set(team, two, points, 5)
    _set(team, three, points, 10)
    _set(team, one, ships, "2026-12-01")
    _set(team, three, ships, "2027-01-15")
    _set(team, one, areas, [area["api"]])
    _set(team, two, areas, [area["api"], area["web"]])
    _set(team, two, reviewed, True)
    client = team.client("Viewer")

    def titles(query: str) -> list[str]:
        response = client.get(f"/api/v1/projects/WEB/tasks/?{query}")
        assert response.status_code == 200, response.content
        return [item["title"] for item in response.json()["results"]]

    assert titles(f"field_{severity.pk}={opts['High']}") == ["one"]
    assert sorted(titles(f"field_{severity.pk}={opts['High']}&field_{severity.pk}={opts['Low']}")) == ["one", "two"]
    assert sorted(titles(f"field_{points.pk}_min=2")) == ["three", "two"]
    assert titles(f"field_{points.pk}_min=2&field_{points.pk}_max=6") == ["two"]
    assert titles(f"field_{ships.pk}_max=2026-12-31") == ["one"]
    assert sorted(titles(f"field_{areas.pk}={area['api']}")) == ["one", "two"]
    assert titles(f"field_{areas.pk}={area['web']}") == ["two"]
    assert titles(f"field_{reviewed.pk}=true") == ["two"]
    assert sorted(titles(f"field_{reviewed.pk}=false")) == ["one", "three"]
    assert titles(f"ordering=field_{points.pk}") == ["one", "two", "three"]
    assert titles(f"ordering=-field_{points.pk}") == ["three", "two", "one"]
    assert titles(f"ordering=field_{ships.pk}") == ["one", "three", "two"]  # no value: last
    assert titles(f"ordering=field_{severity.pk}") == ["two", "one", "three"]  # option order: Low, High


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "field_{points}=many",
        "field_{points}_min=1&field_{points}_min=2",
        "field_{severity}_min=1",
        "field_{severity}=abc",
        "field_999999=1",
        "ordering=field_999999",
        "field_{ops}=x",
        "field_{severity}=99999999999999999999",
        "field_{severity}=%C2%B2",
        "ordering=field_%C2%B2",
    ],
)
def test_task_list_refuses_bad_custom_field_filters(team, query):
    severity = _field(team)
    points = _field(team, "Points", "number")
    ops = _field(team, "Ops only", "text", project=team.ops)
    query = query.format(points=points.pk, severity=severity.pk, ops=ops.pk)
    response = team.client("Viewer").get(f"/api/v1/projects/WEB/tasks/?{query}")
    assert response.status_code == 400, response.content
    # On everyone's tasks a custom field parameter is unknown (fields belong to one project).
    assert team.client("Viewer").get(f"/api/v1/tasks/?field_{points.pk}=1").status_code == 400


@pytest.mark.django_db
def test_task_list_with_custom_fields_has_constant_queries(team):
    severity = _field(team)
    points = _field(team, "Points", "number")
    opts = _options(team, severity)
    client = team.client("Viewer")
    counts = []
    for size in (2, 12):
        while True:
            with schema_context(team.organization.schema_name):
                count = Task.objects.filter(project=team.web).count()
            if count >= size:
                break
            task = team.task(f"t{count}")
            _set(team, task, severity, opts["High"])
            _set(team, task, points, count)
        client.get("/api/v1/projects/WEB/tasks/?page_size=1")  # warm the caches
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/projects/WEB/tasks/?page_size={size}&field_{severity.pk}={opts['High']}")
        assert response.status_code == 200
        results = response.json()["results"]
        assert len(results) == size
        assert all(len(item["custom_fields"]) == 2 for item in results)
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1], counts


@pytest.mark.django_db
def test_custom_fields_of_a_moved_task_stay_with_their_project(team):
    field = _field(team, "Note", "text")
    task = team.task("one")
    _set(team, task, field, "hello")
    with schema_context(team.organization.schema_name):
        from tenant_apps.tasks.services import task_move

        moved = task_move(task=task, target=team.ops, actor=team.owner_member)
    response = team.client("Project Manager").get("/api/v1/tasks/?project=OPS")
    assert response.status_code == 200
    assert [item["custom_fields"] for item in response.json()["results"] if item["number"] == moved.number] == [{}]


@pytest.mark.django_db
def test_fields_are_per_organisation(team, org_b):
    _field(team)
    with schema_context(org_b.schema_name):
        from tenant_apps.members.models import Member

        owner = Member.objects.filter(role="owner").first()
        project_create(key="WEB", name="Bravo web", actor=owner)
        assert not CustomField.objects.exists()


@pytest.mark.django_db
def test_sorting_by_each_kind_keeps_tasks_without_a_value_last_and_costs_constant_queries(team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    name = _field(team, "Codename", "text")
    owner = _field(team, "Owner", "person")
    done = _field(team, "Signed off", "checkbox")
    areas = _field(team, "Areas", "multi_select", ("api", "web", "docs"))
    area = _options(team, areas)
    one, two, three = team.task("one"), team.task("two"), team.task("three")
    dev, pm = team.members["Developer"], team.members["Project Manager"]  # display names sort: D < P
    _set(team, one, name, "zulu")
    _set(team, two, name, "alpha")
    _set(team, two, owner, pm.pk)
    _set(team, three, owner, dev.pk)
    _set(team, one, done, True)
    _set(team, one, areas, [area["web"], area["docs"]])
    _set(team, three, areas, [area["api"], area["docs"]])
    client = team.client("Viewer")

    def titles(query: str) -> list[str]:
        response = client.get(f"/api/v1/projects/WEB/tasks/?{query}")
        assert response.status_code == 200, response.content
        return [item["title"] for item in response.json()["results"]]

    assert titles(f"ordering=field_{name.pk}") == ["two", "one", "three"]
    assert titles(f"ordering=-field_{name.pk}") == ["one", "two", "three"]  # no value: last both ways
    assert titles(f"ordering=field_{owner.pk}") == ["three", "two", "one"]
    assert titles(f"ordering=field_{done.pk}") == ["one", "two", "three"]  # unticked is no value (then by id)
    assert titles(f"ordering=field_{areas.pk}") == ["three", "one", "two"]  # by the first option: api, web
    # Sorting by a field while filtering by it (and by another): each task once.
    assert titles(f"ordering=field_{areas.pk}&field_{areas.pk}={area['docs']}&field_{areas.pk}={area['web']}") == [
        "three",
        "one",
    ]
    assert titles(f"ordering=-field_{name.pk}&field_{owner.pk}={pm.pk}") == ["two"]

    counts = []
    for total in (3, 8):
        while len(titles("")) < total:
            task = team.task(f"more {total}")
            _set(team, task, name, f"name {total}")
        client.get(f"/api/v1/projects/WEB/tasks/?ordering=field_{name.pk}")
        with CaptureQueriesContext(connection) as queries:
            assert len(titles(f"ordering=field_{name.pk}")) == total
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
