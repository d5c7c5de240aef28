import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.notifications import processing
from tenant_apps.notifications.emails import unsubscribe_token
from tenant_apps.notifications.models import Event, EventKind, Notification, Preference, ProjectMute, Watcher, Webhook
from tenant_apps.projects.models import ProjectMember
from tenant_apps.projects.services import project_member_remove
from tenant_apps.tasks.services import task_create
from tests.conftest import client_for
from tests.tenant_apps.tasks.test_api import Team

JSON = "application/json"


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _assign(team: Team, count: int, to: str = "Developer") -> None:
    with schema_context(team.organization.schema_name):
        for index in range(count):
            task_create(
                project=team.web,
                actor=team.members["Project Manager"],
                title=f"Task {index}",
                assignees=[team.members[to]],
            )
        for event in Event.objects.filter(processed_at__isnull=True):
            processing.event_process(event.pk)


@pytest.mark.django_db
def test_list_newest_first_with_texts_links_and_unread_filter(team):
    _assign(team, 3)
    client = team.client("Developer")
    body = client.get("/api/v1/notifications/").json()
    assert body["count"] == 3
    first = body["results"][0]
    assert first["text"] == "Task WEB-3 was assigned to you"
    assert first["task"] == {"key": "WEB-3", "title": "Task 2", "url": "/tasks/WEB-3/"}
    assert first["actor"]["display_name"] == "Project Manager"
    assert first["kind"] == "task.assigned"
    assert first["read_at"] is None
    client.post(f"/api/v1/notifications/{first['id']}/read/")
    assert client.get("/api/v1/notifications/?unread=true").json()["count"] == 2
    assert client.get("/api/v1/notifications/?unread=false").json()["count"] == 1
    # Others' inboxes are their own.
    assert team.client("Viewer").get("/api/v1/notifications/").json()["count"] == 0


@pytest.mark.django_db
def test_texts_follow_accept_language_and_the_personal_setting(team):
    _assign(team, 1)
    client = team.client("Developer")
    text = client.get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="ru").json()["results"][0]["text"]
    assert text == "Задача №WEB-1 была назначена вам"
    response = client.patch("/api/v1/notifications/preferences/", {"language": "ru"}, content_type=JSON)
    assert response.status_code == 200, response.content
    text = client.get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]["text"]
    assert text == "Задача №WEB-1 была назначена вам"
    assert User.objects.get(email="developer@alpha.test").language == "ru"
    # Error messages are translated too.
    detail = client.get("/api/v1/notifications/?unread=maybe").json()
    assert detail["unread"] == ["Должно быть логическим значением (true или false)."]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "?unread=maybe",
        "?page=0",
        "?page=²",
        "?page=1000000000000000000",
        "?page_size=500",
        "?page_size=٣",
        "?colour=red",
    ],
)
def test_bad_list_parameters_are_400_naming_them(team, query):
    response = team.client("Developer").get(f"/api/v1/notifications/{query}")
    assert response.status_code == 400
    assert query[1:].split("=")[0] in response.json()


@pytest.mark.django_db
def test_list_runs_a_constant_number_of_queries(team):
    client = team.client("Developer")
    _assign(team, 2)
    client.get("/api/v1/notifications/")  # warm the permission and host caches
    with CaptureQueriesContext(connection) as small:
        assert client.get("/api/v1/notifications/").status_code == 200
    _assign(team, 8)
    with CaptureQueriesContext(connection) as large:
        assert client.get("/api/v1/notifications/").json()["count"] == 10
    assert len(large) == len(small) <= 8, [q["sql"] for q in large]


@pytest.mark.django_db
def test_marking_and_the_cached_unread_count(team):
    _assign(team, 3)
    client = team.client("Developer")
    assert client.get("/api/v1/notifications/unread-count/").json() == {"count": 3}
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/notifications/unread-count/").json() == {"count": 3}
    assert not [q for q in queries if "notifications_notification" in q["sql"]]  # served from the cache
    ids = [item["id"] for item in client.get("/api/v1/notifications/").json()["results"]]
    assert client.post(f"/api/v1/notifications/{ids[0]}/read/").json()["read_at"] is not None
    assert client.get("/api/v1/notifications/unread-count/").json() == {"count": 2}
    assert client.post(f"/api/v1/notifications/{ids[0]}/unread/").json()["read_at"] is None
    assert client.get("/api/v1/notifications/unread-count/").json() == {"count": 3}
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 3}
    assert client.get("/api/v1/notifications/unread-count/").json() == {"count": 0}
    _assign(team, 1)  # a new notification invalidates the cached count
    assert client.get("/api/v1/notifications/unread-count/").json() == {"count": 1}


@pytest.mark.django_db
def test_someone_elses_or_another_tenants_notification_is_404(team, org_b):
    _assign(team, 1)
    with schema_context(team.organization.schema_name):
        notification = Notification.objects.get()
    assert team.client("Viewer").post(f"/api/v1/notifications/{notification.pk}/read/").status_code == 404
    owner_b = User.objects.get(email="owner@bravo.test")
    assert client_for(org_b, owner_b).post(f"/api/v1/notifications/{notification.pk}/read/").status_code == 404
    # An alpha member on bravo's domain is not a member there at all.
    assert team.client("Developer").get("/api/v1/notifications/", HTTP_HOST="bravo.localhost").status_code == 403
    with schema_context(team.organization.schema_name):
        assert Notification.objects.get().read_at is None


@pytest.mark.django_db
def test_preferences_round_trip(team):
    client = team.client("Developer")
    prefs = client.get("/api/v1/notifications/preferences/").json()
    assert prefs["language"] == ""
    assert {entry["kind"] for entry in prefs["kinds"]} == set(EventKind.values)
    assert all(entry["in_app"] and entry["email"] for entry in prefs["kinds"])
    payload = {"kinds": [{"kind": "comment.added", "in_app": True, "email": False}], "muted_projects": ["OPS"]}
    prefs = client.patch("/api/v1/notifications/preferences/", payload, content_type=JSON).json()
    assert {e["kind"]: e["email"] for e in prefs["kinds"]}["comment.added"] is False
    assert prefs["muted_projects"] == ["OPS"]
    prefs = client.patch("/api/v1/notifications/preferences/", {"muted_projects": []}, content_type=JSON).json()
    assert prefs["muted_projects"] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"language": "de"}, "language"),
        ({"kinds": [{"kind": "task.exploded", "in_app": True, "email": True}]}, "kinds"),
        ({"kinds": [{"kind": "mention", "in_app": "often", "email": True}]}, "kinds"),
        (
            {"kinds": [{"kind": "mention", "in_app": 1, "email": 1}, {"kind": "mention", "in_app": 0, "email": 0}]},
            "kinds",
        ),
        ({"muted_projects": ["NOPE"]}, "muted_projects"),
        ({"volume": 11}, "volume"),
    ],
)
def test_bad_preferences_are_400_and_change_nothing(team, payload, field):
    client = team.client("Developer")
    response = client.patch("/api/v1/notifications/preferences/", payload, content_type=JSON)
    assert response.status_code == 400
    assert field in response.json()
    with schema_context(team.organization.schema_name):
        assert not Preference.objects.exists()
        assert not ProjectMute.objects.exists()
    assert User.objects.get(email="developer@alpha.test").language == ""


@pytest.mark.django_db
def test_guests_cannot_mute_projects_they_cannot_see(team):
    response = team.client("guest").patch(
        "/api/v1/notifications/preferences/", {"muted_projects": ["WEB"]}, content_type=JSON
    )
    assert response.status_code == 400


@pytest.mark.django_db
def test_watch_and_unwatch(team):
    _assign(team, 1)
    client = team.client("Viewer")
    assert client.get("/api/v1/projects/WEB/tasks/1/watch/").json() == {"watching": False}
    assert client.put("/api/v1/projects/WEB/tasks/1/watch/").json() == {"watching": True}
    assert client.put("/api/v1/projects/WEB/tasks/1/watch/").json() == {"watching": True}  # idempotent
    watchers = client.get("/api/v1/projects/WEB/tasks/1/watchers/").json()["results"]
    assert {w["email"] for w in watchers} == {"projectmanager@alpha.test", "developer@alpha.test", "viewer@alpha.test"}
    assert client.delete("/api/v1/projects/WEB/tasks/1/watch/").json() == {"watching": False}
    with schema_context(team.organization.schema_name):
        assert not Watcher.objects.filter(member=team.members["Viewer"]).exists()


@pytest.mark.django_db
def test_watching_needs_sight_of_the_task_and_stays_in_the_tenant(team, org_b):
    _assign(team, 1)
    assert team.client("guest").put("/api/v1/projects/WEB/tasks/1/watch/").status_code == 404
    assert team.client("Viewer").put("/api/v1/projects/WEB/tasks/99/watch/").status_code == 404
    owner_b = User.objects.get(email="owner@bravo.test")
    assert client_for(org_b, owner_b).put("/api/v1/projects/WEB/tasks/1/watch/").status_code == 404
    with schema_context(team.organization.schema_name):
        assert not Watcher.objects.filter(member=team.members["guest"]).exists()


# --- Webhooks ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_owners_create_webhooks_and_see_the_secret_once(team):
    owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
    response = owner.post(
        "/api/v1/webhooks/", {"url": "https://93.184.216.34/hooks", "kinds": ["task.assigned"]}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert len(created["secret"]) == 64
    listed = owner.get("/api/v1/webhooks/").json()["results"]
    assert listed == [{k: v for k, v in created.items() if k != "secret"}]
    hook_id = created["id"]
    assert (
        owner.patch(f"/api/v1/webhooks/{hook_id}/", {"is_active": False}, content_type=JSON).json()["is_active"]
        is False
    )
    assert owner.get(f"/api/v1/webhooks/{hook_id}/deliveries/").json()["count"] == 0
    assert owner.delete(f"/api/v1/webhooks/{hook_id}/").status_code == 204


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "ftp://93.184.216.34/hook",
        "https://user:pw@93.184.216.34/hook",
        "not a url",
    ],
)
def test_webhook_urls_to_private_networks_or_bad_schemes_are_refused(team, url):
    owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
    response = owner.post("/api/v1/webhooks/", {"url": url}, content_type=JSON)
    assert response.status_code == 400
    assert "url" in response.json()
    with schema_context(team.organization.schema_name):
        assert not Webhook.objects.exists()


@pytest.mark.django_db
def test_webhooks_are_for_owners_and_admins_only_and_per_tenant(team, org_b):
    owner = client_for(team.organization, User.objects.get(email="owner@alpha.test"))
    hook_id = owner.post("/api/v1/webhooks/", {"url": "https://93.184.216.34/h"}, content_type=JSON).json()["id"]
    member = team.client("Project Manager")
    assert member.get("/api/v1/webhooks/").status_code == 403
    assert member.post("/api/v1/webhooks/", {"url": "https://93.184.216.34/x"}, content_type=JSON).status_code == 403
    assert member.delete(f"/api/v1/webhooks/{hook_id}/").status_code == 403
    owner_b = client_for(org_b, User.objects.get(email="owner@bravo.test"))
    assert owner_b.get(f"/api/v1/webhooks/{hook_id}/").status_code == 404
    assert owner_b.delete(f"/api/v1/webhooks/{hook_id}/").status_code == 404
    with schema_context(team.organization.schema_name):
        assert Webhook.objects.count() == 1


# --- Pages ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_unsubscribe_link_confirms_then_turns_off_that_kind_of_email(team):
    with schema_context(team.organization.schema_name):
        token = unsubscribe_token(member=team.members["Developer"], kind=EventKind.COMMENT_ADDED)
    anonymous = client_for(team.organization)
    page = anonymous.get(f"/notifications/unsubscribe/{token}/")
    assert page.status_code == 200
    assert b"<form" in page.content
    with schema_context(team.organization.schema_name):
        assert not Preference.objects.exists()  # GET alone changes nothing
    assert anonymous.post(f"/notifications/unsubscribe/{token}/").status_code == 200
    with schema_context(team.organization.schema_name):
        preference = Preference.objects.get(member=team.members["Developer"])
        assert (preference.kind, preference.email, preference.in_app) == ("comment.added", False, True)


@pytest.mark.django_db
def test_unsubscribe_tokens_are_bound_to_their_organisation(team, org_b):
    with schema_context(org_b.schema_name):
        bravo_owner = Member.objects.get(email="owner@bravo.test")
    # Signed in alpha for a member id that exists in bravo: useless on bravo's domain.
    with schema_context(team.organization.schema_name):
        token = unsubscribe_token(member=bravo_owner, kind=EventKind.COMMENT_ADDED)
    assert client_for(org_b).post(f"/notifications/unsubscribe/{token}/").status_code == 404
    assert client_for(team.organization).post("/notifications/unsubscribe/forged/").status_code == 404
    with schema_context(org_b.schema_name):
        assert not Preference.objects.exists()


@pytest.mark.django_db
def test_task_page_is_for_people_who_can_see_the_task(team, org_b):
    _assign(team, 1)
    page = team.client("Viewer").get("/tasks/WEB-1/")
    assert page.status_code == 200
    assert b"Task 0" in page.content
    assert team.client("guest").get("/tasks/WEB-1/").status_code == 404
    assert team.client("Viewer").get("/tasks/WEB-9/").status_code == 404
    assert team.client("Viewer").get("/tasks/nonsense/").status_code == 404
    assert client_for(team.organization).get("/tasks/WEB-1/").status_code == 302
    assert client_for(org_b, User.objects.get(email="owner@bravo.test")).get("/tasks/WEB-1/").status_code == 404


@pytest.mark.django_db
def test_member_rows_follow_the_language_setting(team):
    team.client("Developer").patch("/api/v1/notifications/preferences/", {"language": "ru"}, content_type=JSON)
    with schema_context(team.organization.schema_name):
        assert Member.objects.get(email="developer@alpha.test").language == "ru"


@pytest.mark.django_db
def test_notifications_about_projects_the_reader_can_no_longer_see_are_hidden(team):
    _assign(team, 2, to="Viewer")
    client = team.client("Viewer")
    assert client.get("/api/v1/notifications/").json()["count"] == 2
    # Made a guest and taken off the project (through the services, as the API does).
    membership_add(organization=team.organization, user=team.users["Viewer"], role=OrgRole.GUEST)
    with schema_context(team.organization.schema_name):
        project_member_remove(project_member=ProjectMember.objects.get(member=team.members["Viewer"]))
    assert client.get("/api/v1/notifications/").json()["count"] == 0
