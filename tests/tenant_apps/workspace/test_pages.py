"""Shell pages: My work, the inbox and its bell, search, the language switch, the static
budget of a page."""

import gzip
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from tenant_apps.notifications.models import Event, Notification
from tenant_apps.notifications.processing import event_process
from tests.tenant_apps.tasks.test_api import Team


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


@pytest.mark.django_db
def test_my_work_groups_my_open_tasks(team):
    me = team.members["Developer"]
    today = timezone.localdate()
    team.task("Late one", assignees=[me], due_date=today - timedelta(days=2))
    team.task("Soon one", assignees=[me], due_date=today + timedelta(days=3))
    team.task("Busy one", assignees=[me], status="in_progress")
    team.task("Later one", assignees=[me])
    team.task("Not mine")
    team.task("Finished", assignees=[me], status="done")
    page = team.client("Developer").get("/").text
    page = page[: page.index('id="watched-title"')]  # the groups, not the activity feed
    overdue, week, progress, todo = (
        page.index(f'id="group-{name}"') for name in ("overdue", "week", "in_progress", "todo")
    )
    assert overdue < page.index("Late one") < week < page.index("Soon one") < progress
    assert progress < page.index("Busy one") < todo < page.index("Later one")
    assert "Not mine" not in page
    assert "Finished" not in page


@pytest.mark.django_db
def test_inbox_marks_read_and_the_bell_follows(team):
    team.task("For you", assignees=[team.members["Developer"]])
    with schema_context(team.organization.schema_name):
        for event in Event.objects.all():
            event_process(event_id=event.pk)
        notification = Notification.objects.get(recipient=team.members["Developer"])
    client = team.client("Developer")
    assert 'data-unread="1"' in client.get("/inbox/bell/").text
    assert "was assigned to you" in client.get("/inbox/?unread=1").text
    response = client.post(f"/inbox/{notification.pk}/read/", {"open": "1"})
    assert response.status_code == 302
    assert response["Location"].startswith("/tasks/WEB-")
    assert "data-unread" not in client.get("/inbox/bell/").text
    assert "All caught up" in client.get("/inbox/?unread=1").text
    # Someone else's notification is a 404 and stays as it is.
    assert team.client("Reporter").post(f"/inbox/{notification.pk}/read/", {"read": "0"}).status_code == 404
    with schema_context(team.organization.schema_name):
        assert Notification.objects.get(pk=notification.pk).read_at is not None
    assert client.post("/inbox/read-all/").status_code == 302


@pytest.mark.django_db
def test_bell_reads_the_cached_count(team):
    client = team.client("Developer")
    client.get("/inbox/bell/")
    with CaptureQueriesContext(connection) as captured:
        client.get("/inbox/bell/")
    assert not [q for q in captured.captured_queries if "notifications_notification" in q["sql"]]


@pytest.mark.django_db
def test_language_switch_is_kept_on_the_account(team):
    client = team.client("Developer")
    response = client.post("/language/", {"language": "ru", "next": "/projects/"})
    assert response.status_code == 302
    assert response["Location"] == "/projects/"
    team.users["Developer"].refresh_from_db()
    assert team.users["Developer"].language == "ru"
    assert "Проекты" in client.get("/projects/").text
    assert client.post("/language/", {"language": "xx", "next": "https://evil.example/"})["Location"] == "/"
    assert client.get("/language/").status_code == 405


@pytest.mark.django_db
def test_coming_soon_pages_say_so_and_others_are_404(team):
    assert "Coming in part 2" in team.client("Developer").get("/soon/roles/").text
    assert team.client("Developer").get("/soon/nothing/").status_code == 404


def test_javascript_and_css_of_a_page_stay_under_60_kb_compressed():
    """Everything a page loads (htmx, our modules, the stylesheet), gzipped."""
    import django_htmx

    static = Path(settings.BASE_DIR) / "static"
    files = [*static.glob("js/*.js"), static / "css" / "tessera.css"]
    files.append(Path(django_htmx.__file__).parent / "static" / "django_htmx" / "htmx-2.min.js")
    total = sum(len(gzip.compress(path.read_bytes(), 9)) for path in files)
    assert total <= 60 * 1024, total


@pytest.mark.django_db
def test_the_organisation_switcher_loads_its_list_when_opened(team, org_b):
    from shared_apps.accounts.models import User
    from shared_apps.tenants.services import membership_add
    from tests.conftest import client_for

    developer = team.users["Developer"]
    membership_add(organization=org_b, user=developer, role="member")
    client = team.client("Developer")
    page = client.get("/projects/").text
    # The shell itself lists only this organisation and the picker (no query for it).
    assert 'hx-get="/organizations/menu/"' in page
    assert "/organizations/" in page
    assert org_b.name not in page
    with CaptureQueriesContext(connection) as captured:
        menu = client.get("/organizations/menu/", HTTP_HX_REQUEST="true")
    assert menu.status_code == 200
    assert team.organization.name in menu.text
    assert org_b.name in menu.text
    assert 'aria-current="true"' in menu.text
    assert len(captured) <= 3, [q["sql"] for q in captured.captured_queries]  # user, search path, memberships
    # Wrong role or place: someone who is not a member here gets the members-only page,
    # and the list is never another person's.
    outsider = User.objects.get(email="owner@bravo.test")
    refused = client_for(team.organization, outsider).get("/organizations/menu/")
    assert refused.status_code == 403
    assert org_b.name not in refused.text
    assert client_for(team.organization).get("/organizations/menu/").status_code == 302  # log in first
    # Bad input: it is read-only.
    assert client.post("/organizations/menu/").status_code == 405
