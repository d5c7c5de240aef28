"""Webhook pages: create with kinds (the secret shown once), the delivery log, disable,
delete; bad input inline, wrong role 403 with nothing changed, other tenant 404,
constant query counts for the list and the log."""

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.audit.models import AuditEntry
from tenant_apps.notifications import processing
from tenant_apps.notifications.models import Event, Webhook, WebhookDelivery
from tenant_apps.notifications.services import webhook_create
from tenant_apps.tasks.services import task_create
from tests.conftest import client_for
from tests.tenant_apps.tasks.test_api import Team

URL = "/settings/webhooks/"
PUBLIC_URL = "https://93.184.215.14/hooks"  # a literal public address: no DNS lookup


@pytest.fixture
def team(org_a) -> Team:
    return Team(org_a)


def _owner(team):
    return client_for(team.organization, User.objects.get(email="owner@alpha.test"))


def _hooks(team) -> list[tuple]:
    with schema_context(team.organization.schema_name):
        return sorted(Webhook.objects.values_list("url", "kinds", "is_active"))


@pytest.mark.django_db
def test_create_shows_the_secret_once_and_audits(team):
    owner = _owner(team)
    response = owner.post(URL, {"url": PUBLIC_URL, "kinds": ["task.assigned", "comment.added"]})
    assert response.status_code == 302
    with schema_context(team.organization.schema_name):
        webhook = Webhook.objects.get()
        assert AuditEntry.objects.filter(action="webhook.created").count() == 1
    assert response["Location"] == f"/settings/webhooks/{webhook.pk}/"
    assert sorted(webhook.kinds) == ["comment.added", "task.assigned"]
    first = owner.get(response["Location"]).text
    assert webhook.secret in first
    assert "shown only this once" in first
    again = owner.get(response["Location"]).text
    assert webhook.secret not in again
    assert webhook.secret not in owner.get(URL).text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"url": ""}, "This field is required"),
        ({"url": "not a url at all"}, "Enter a valid URL"),
        ({"url": "ftp://example.com/x"}, "http:// or https://"),
        ({"url": "http://127.0.0.1:8080/x"}, "private or local address"),
        ({"url": PUBLIC_URL, "kinds": ["no.such.kind"]}, "Select a valid choice"),
        ({"url": "https://93.184.215.14:22/x"}, "port"),
    ],
)
def test_bad_input_is_inline_and_creates_nothing(team, data, error):
    response = _owner(team).post(URL, data)
    assert response.status_code == 400
    assert error in response.text
    assert _hooks(team) == []


@pytest.mark.django_db
def test_disable_enable_and_delete(team):
    with schema_context(team.organization.schema_name):
        webhook = webhook_create(url=PUBLIC_URL, kinds=[], actor=team.owner_member)
    owner = _owner(team)
    assert owner.post(f"{URL}{webhook.pk}/active/", {"is_active": "0"}).status_code == 302
    assert _hooks(team) == [(PUBLIC_URL, [], False)]
    assert "Enable" in owner.get(f"{URL}{webhook.pk}/").text
    assert owner.post(f"{URL}{webhook.pk}/active/", {"is_active": "1"}).status_code == 302
    assert _hooks(team) == [(PUBLIC_URL, [], True)]
    assert owner.post(f"{URL}{webhook.pk}/delete/").status_code == 302
    assert _hooks(team) == []


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE=True)
def test_the_log_shows_deliveries_with_status_and_attempts(team):
    with schema_context(team.organization.schema_name):
        webhook = webhook_create(url="http://127.0.0.1:9999/none", kinds=[], actor=team.owner_member)
        task_create(project=team.web, actor=team.owner_member, title="Hooked", assignees=[team.members["Developer"]])
        processing.event_process(Event.objects.get().pk)
        WebhookDelivery.objects.update(status="failed", attempts=3, response_status=500, last_error="boom")
    owner = _owner(team)
    log = owner.get(f"{URL}{webhook.pk}/", HTTP_HX_REQUEST="true").text
    assert "<html" not in log  # the partial only
    assert "Assigned to you" in log
    assert "Failed" in log
    assert "HTTP 500" in log
    assert "boom" in log
    assert "<td>3</td>" in log
    assert "<td>1 <span" in owner.get(URL).text  # one delivery counted in the list, with its time


@pytest.mark.django_db
def test_members_and_guests_get_403_and_change_nothing(team):
    with schema_context(team.organization.schema_name):
        webhook = webhook_create(url=PUBLIC_URL, kinds=[], actor=team.owner_member)
    before = _hooks(team)
    for role in ("Project Manager", "Developer", "guest"):
        client = team.client(role)
        assert client.get(URL).status_code == 403
        assert client.post(URL, {"url": "https://93.184.215.15/x"}).status_code == 403
        assert client.get(f"{URL}{webhook.pk}/").status_code == 403
        assert client.post(f"{URL}{webhook.pk}/active/", {"is_active": "0"}).status_code == 403
        assert client.post(f"{URL}{webhook.pk}/delete/").status_code == 403
    assert 'href="/settings/webhooks/"' not in team.client("Developer").get("/settings/organization/").text
    assert _hooks(team) == before


@pytest.mark.django_db
def test_another_organisations_webhook_is_404(team, org_b):
    with schema_context(org_b.schema_name):
        from tenant_apps.members.models import Member

        theirs = webhook_create(url=PUBLIC_URL, kinds=[], actor=Member.objects.get(email="owner@bravo.test"))
    owner = _owner(team)
    assert owner.get(f"{URL}{theirs.pk}/").status_code == 404
    assert owner.post(f"{URL}{theirs.pk}/delete/").status_code == 404
    bravo_owner = client_for(team.organization, User.objects.get(email="owner@bravo.test"))
    assert bravo_owner.get(URL).status_code in (302, 403, 404)
    with schema_context(org_b.schema_name):
        assert Webhook.objects.filter(pk=theirs.pk, is_active=True).exists()


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE=True)
def test_list_and_log_queries_stay_constant(team):
    owner = _owner(team)
    with schema_context(team.organization.schema_name):
        webhook = webhook_create(url="http://127.0.0.1:9999/a", kinds=[], actor=team.owner_member)

    def counts():
        owner.get(URL)
        owner.get(f"{URL}{webhook.pk}/")
        with CaptureQueriesContext(connection) as listing:
            owner.get(URL)
        with CaptureQueriesContext(connection) as log:
            owner.get(f"{URL}{webhook.pk}/")
        return len(listing), len(log)

    first = counts()
    with schema_context(team.organization.schema_name):
        webhook_create(url="http://127.0.0.1:9999/b", kinds=["comment.added"], actor=team.owner_member)
        for title in ("one", "two", "three"):
            task_create(project=team.web, actor=team.owner_member, title=title, assignees=[team.members["Developer"]])
        for event in Event.objects.all():
            processing.event_process(event.pk)
        assert WebhookDelivery.objects.filter(webhook=webhook).count() >= 3
    assert counts() == first


# --- Edit (URL and events) and a new secret ----------------------------------------------


def _secret(team, webhook) -> str:
    with schema_context(team.organization.schema_name):
        return Webhook.objects.get(pk=webhook.pk).secret


@pytest.mark.django_db
def test_edit_changes_the_address_and_events_and_audits(team):
    with schema_context(team.organization.schema_name):
        webhook = webhook_create(url=PUBLIC_URL, kinds=["task.assigned"], actor=team.owner_member)
    owner = _owner(team)
    form = owner.get(f"{URL}{webhook.pk}/edit/")
    assert form.status_code == 200
    assert f'value="{PUBLIC_URL}"' in form.text
    assert 'value="task.assigned" checked' in form.text
    assert webhook.secret not in form.text

    new_url = "https://93.184.215.15/v2"
    response = owner.post(f"{URL}{webhook.pk}/edit/", {"url": new_url, "kinds": ["comment.added"]})

    assert response.status_code == 302
    assert response["Location"] == f"{URL}{webhook.pk}/"
    assert _hooks(team) == [(new_url, ["comment.added"], True)]
    with schema_context(team.organization.schema_name):
        entry = AuditEntry.objects.get(action="webhook.changed")
    assert entry.before == {"url": PUBLIC_URL, "kinds": ["task.assigned"]}
    assert entry.after == {"url": new_url, "kinds": ["comment.added"]}
    assert _secret(team, webhook) == webhook.secret  # editing keeps the secret


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"url": ""}, "This field is required"),
        ({"url": "not a url at all"}, "Enter a valid URL"),
        ({"url": "ftp://example.com/x"}, "http:// or https://"),
        ({"url": "http://127.0.0.1:8080/x"}, "private or local address"),
        ({"url": "http://10.0.0.5/x"}, "private or local address"),
        ({"url": "https://user:pw@93.184.215.14/x"}, "Credentials in the URL"),
        ({"url": PUBLIC_URL, "kinds": ["no.such.kind"]}, "Select a valid choice"),
        ({"url": "https://93.184.215.14:22/x"}, "port"),
    ],
)
def test_edit_bad_input_is_inline_and_changes_nothing(team, data, error):
    with schema_context(team.organization.schema_name):
        webhook = webhook_create(url=PUBLIC_URL, kinds=["task.assigned"], actor=team.owner_member)
    before = _hooks(team)

    response = _owner(team).post(f"{URL}{webhook.pk}/edit/", data)

    assert response.status_code == 400
    assert error in response.text
    assert 'aria-invalid="true"' in response.text or "errorlist" in response.text
    assert _hooks(team) == before
    with schema_context(team.organization.schema_name):
        assert not AuditEntry.objects.filter(action="webhook.changed").exists()


@pytest.mark.django_db
def test_a_new_secret_is_shown_once_audited_and_signs_from_then_on(team):
    with schema_context(team.organization.schema_name):
        webhook = webhook_create(url=PUBLIC_URL, kinds=[], actor=team.owner_member)
    owner = _owner(team)

    response = owner.post(f"{URL}{webhook.pk}/secret/")

    assert response.status_code == 302
    new = _secret(team, webhook)
    assert new != webhook.secret
    assert len(new) == 64
    page = owner.get(response["Location"]).text
    assert new in page
    assert "shown only this once" in page
    assert new not in owner.get(response["Location"]).text
    with schema_context(team.organization.schema_name):
        entry = AuditEntry.objects.get(action="webhook.secret_rotated")
    assert entry.target_id == str(webhook.pk)
    assert new not in str(entry.before) + str(entry.after)
    assert owner.get(f"{URL}{webhook.pk}/secret/").status_code == 405


@pytest.mark.django_db
def test_edit_and_secret_refuse_the_wrong_role_and_other_tenants(team, org_b):
    with schema_context(team.organization.schema_name):
        webhook = webhook_create(url=PUBLIC_URL, kinds=[], actor=team.owner_member)
    with schema_context(org_b.schema_name):
        from tenant_apps.members.models import Member

        theirs = webhook_create(url=PUBLIC_URL, kinds=[], actor=Member.objects.get(email="owner@bravo.test"))
    before, secret = _hooks(team), webhook.secret
    for role in ("Project Manager", "Developer", "guest"):
        client = team.client(role)
        assert client.get(f"{URL}{webhook.pk}/edit/").status_code == 403
        assert client.post(f"{URL}{webhook.pk}/edit/", {"url": "https://93.184.215.15/x"}).status_code == 403
        assert client.post(f"{URL}{webhook.pk}/secret/").status_code == 403
    owner = _owner(team)
    assert owner.get(f"{URL}{theirs.pk}/edit/").status_code == 404
    assert owner.post(f"{URL}{theirs.pk}/edit/", {"url": "https://93.184.215.15/x"}).status_code == 404
    assert owner.post(f"{URL}{theirs.pk}/secret/").status_code == 404
    assert _hooks(team) == before
    assert _secret(team, webhook) == secret
    with schema_context(org_b.schema_name):
        assert Webhook.objects.get(pk=theirs.pk).url == PUBLIC_URL
