"""Project settings (/projects/<KEY>/settings/): general, members, labels, archive;
wrong role and other tenant refused with nothing changed, bad input inline (400),
constant query count as members and labels grow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.audit.models import AuditEntry
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, ProjectMember, Role
from tenant_apps.tasks.models import Label
from tests.conftest import client_for
from tests.tenant_apps.tasks.test_api import Team

URL = "/projects/WEB/settings/"


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _in(team, fn):
    with schema_context(team.organization.schema_name):
        return fn()


def _state(team) -> tuple:
    return _in(
        team,
        lambda: (
            list(Project.objects.filter(key="WEB").values_list("name", "description", "lead_id", "archived")),
            sorted(ProjectMember.objects.filter(project__key="WEB").values_list("member__email", "role__name")),
            sorted(Label.objects.filter(project__key="WEB").values_list("name", "color")),
        ),
    )


def _role(team, name: str) -> int:
    return _in(team, lambda: Role.objects.get(name=name).pk)


@pytest.mark.django_db
def test_settings_page_shows_sections_and_the_board_links_to_it_for_managers(team):
    page = team.client("Project Manager").get(URL)
    assert page.status_code == 200
    for text in ("General", "Members", "Labels", "Archive and delete", "developer@alpha.test", "Delete the project"):
        assert text in page.text
    assert 'href="/projects/WEB/settings/"' in team.client("Project Manager").get("/projects/WEB/").text
    assert 'href="/projects/WEB/settings/"' not in team.client("Developer").get("/projects/WEB/").text


@pytest.mark.django_db
def test_general_settings_change_name_description_and_lead(team):
    client = team.client("Project Manager")
    lead = team.members["Developer"].pk
    response = client.post(URL, {"action": "general", "name": "Web site", "description": "Ours", "lead": lead})
    assert response.status_code == 302
    assert response["Location"] == "/projects/WEB/settings/#general"
    assert _state(team)[0] == [("Web site", "Ours", lead, False)]


@pytest.mark.django_db
def test_members_add_change_remove_are_audited(team):
    client = team.client("Project Manager")
    guest = team.members["guest"]
    add = {"action": "member-add", "member": guest.pk, "role": _role(team, "Reporter")}
    assert client.post(URL, add).status_code == 302
    assert ("guest@alpha.test", "Reporter") in _state(team)[1]
    change = {"action": "member-change", "member_id": guest.pk, "role": _role(team, "Developer")}
    assert client.post(URL, change).status_code == 302
    assert ("guest@alpha.test", "Developer") in _state(team)[1]
    assert client.post(URL, {"action": "member-remove", "member_id": guest.pk}).status_code == 302
    assert "guest@alpha.test" not in [email for email, _ in _state(team)[1]]
    actions = _in(
        team,
        lambda: list(
            AuditEntry.objects.filter(action__startswith="project_member.", target_label__contains="guest")
            .order_by("pk")
            .values_list("action", flat=True)
        ),
    )
    assert actions == ["project_member.added", "project_member.changed", "project_member.removed"]


@pytest.mark.django_db
def test_labels_create_rename_recolour_delete(team):
    client = team.client("Project Manager")
    assert client.post(URL, {"action": "label-create", "name": "bug", "color": "#D1242F"}).status_code == 302
    assert _state(team)[2] == [("bug", "#d1242f")]
    label_id = _in(team, lambda: Label.objects.get(name="bug").pk)
    response = client.post(URL, {"action": "label-change", "label_id": label_id, "name": "defect", "color": "#00aa00"})
    assert response.status_code == 302
    assert _state(team)[2] == [("defect", "#00aa00")]
    assert "defect" in client.get(URL).text
    assert client.post(URL, {"action": "label-delete", "label_id": label_id}).status_code == 302
    assert _state(team)[2] == []


@pytest.mark.django_db
def test_archive_and_unarchive_from_settings(team):
    client = team.client("Project Manager")
    assert client.post(URL, {"action": "archive", "archived": "1"}).status_code == 302
    assert _state(team)[0][0][3] is True
    assert "Unarchive the project" in client.get(URL).text
    assert client.post(URL, {"action": "archive", "archived": "0"}).status_code == 302
    assert _state(team)[0][0][3] is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "general", "name": ""}, "This field is required"),
        ({"action": "general", "name": "x" * 201}, "at most 200"),
        ({"action": "general", "name": "ok", "lead": "999999"}, "Select a valid choice"),
        ({"action": "member-add", "member": "", "role": ""}, "This field is required"),
        ({"action": "member-add", "member": "999999", "role": "1"}, "Select a valid choice"),
        ({"action": "label-create", "name": "", "color": "#000000"}, "This field is required"),
        ({"action": "label-create", "name": "x", "color": "red"}, "#rrggbb"),
        ({"action": "nonsense"}, "Unknown action"),
        ({"action": "member-change", "member_id": "abc", "role": "1"}, "incomplete"),
    ],
)
def test_bad_input_is_refused_inline_and_changes_nothing(team, data, error):
    before = _state(team)
    response = team.client("Project Manager").post(URL, data)
    assert response.status_code == 400
    assert error in response.text
    assert _state(team) == before


@pytest.mark.django_db
def test_duplicate_label_and_lead_outside_the_project_are_refused(team):
    client = team.client("Project Manager")
    client.post(URL, {"action": "label-create", "name": "bug", "color": "#000000"})
    before = _state(team)
    response = client.post(URL, {"action": "label-create", "name": "BUG", "color": "#111111"})
    assert response.status_code == 400
    assert "exists in this project" in response.text
    # A member of the organisation outside WEB is not offered, and refused if forced.
    response = client.post(URL, {"action": "general", "name": "Website", "lead": team.members["guest"].pk})
    assert response.status_code == 400
    assert _state(team) == before


@pytest.mark.django_db
def test_wrong_role_gets_403_and_changes_nothing(team):
    before = _state(team)
    label = {"action": "label-create", "name": "sneaky", "color": "#000000"}
    remove = {"action": "member-remove", "member_id": team.members["Viewer"].pk}
    for role in ("Developer", "Reporter", "Viewer"):
        client = team.client(role)
        assert client.get(URL).status_code == 403
        assert client.post(URL, label).status_code == 403
        assert client.post(URL, remove).status_code == 403
        assert client.post(URL, {"action": "archive", "archived": "1"}).status_code == 403
    # A guest does not see the project at all.
    assert team.client("guest").get(URL).status_code == 404
    assert team.client("guest").post(URL, label).status_code == 404
    assert _state(team) == before


@pytest.mark.django_db
def test_other_tenant_cannot_reach_the_settings(team, org_b):
    before = _state(team)
    with schema_context(org_b.schema_name):
        from tenant_apps.projects.services import project_create

        bravo_owner = Member.objects.get(email="owner@bravo.test")
        project_create(key="SEC", name="Secret", actor=bravo_owner)
        bravo_user_id = bravo_owner.user_id
    from shared_apps.accounts.models import User

    bravo = client_for(team.organization, User.objects.get(pk=bravo_user_id))
    # Bravo's owner on Alpha's domain is not a member there.
    assert bravo.get(URL).status_code in (302, 403, 404)
    assert bravo.post(URL, {"action": "label-create", "name": "x"}).status_code in (302, 403, 404)
    # Alpha's manager cannot reach Bravo's project by its key.
    assert team.client("Project Manager").get("/projects/SEC/settings/").status_code == 404
    # Nor another project's member or label through WEB's page.
    with schema_context(org_b.schema_name):
        assert not Label.objects.exists()
    assert _state(team) == before


@pytest.mark.django_db
def test_a_label_of_another_project_is_404_through_this_page(team):
    with schema_context(team.organization.schema_name):
        from tenant_apps.tasks.services import label_save

        other = label_save(project=team.ops, name="ops-only", color="#123456")
    response = team.client("Project Manager").post(URL, {"action": "label-delete", "label_id": other.pk})
    assert response.status_code == 404
    assert _in(team, lambda: Label.objects.filter(pk=other.pk).exists())


@pytest.mark.django_db
def test_settings_queries_stay_constant_as_members_and_labels_grow(team):
    client = team.client("Project Manager")
    client.get(URL)
    with CaptureQueriesContext(connection) as first:
        client.get(URL)
    with schema_context(team.organization.schema_name):
        from tenant_apps.projects.services import project_member_set
        from tenant_apps.tasks.services import label_save

        project_member_set(project=team.web, member=team.members["guest"], role=Role.objects.get(name="Viewer"))
        for index in range(5):
            label_save(project=team.web, name=f"label {index}", color="#abcdef")
    client.get(URL)
    with CaptureQueriesContext(connection) as second:
        client.get(URL)
    assert len(second) == len(first)
