"""The audit log: one entry per audited action, in the same transaction as the change,
with its actor, target and changed fields; the API for owners and admins; retention."""

import csv
import io
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.accounts.models import ApiToken, User
from shared_apps.accounts.services import user_deactivate
from shared_apps.audit.actions import ACTIONS
from shared_apps.audit.models import AuditEntry
from shared_apps.audit.services import audit_record, audit_sweep, audit_target
from shared_apps.billing.models import Plan, Subscription
from shared_apps.billing.services import subscription_comp_set
from shared_apps.tenants.memberships import invitation_create
from shared_apps.tenants.models import Invitation, Membership, OrgRole
from shared_apps.tenants.services import membership_add, organization_status_set
from tenant_apps.members.models import Member
from tenant_apps.notifications.models import Webhook
from tenant_apps.projects.models import Project, Role
from tenant_apps.projects.services import project_update
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.shared_apps.billing.conftest import on_plan
from tests.shared_apps.billing.stripe_fake import checkout_session_object, deliver, event, new_id
from tests.tenant_apps.tasks.test_api import Team

JSON = "application/json"
UA = {"HTTP_USER_AGENT": "audit-test/1.0"}


@pytest.fixture
def team(org_a) -> Team:
    team = Team(org_a)
    with schema_context(org_a.schema_name):
        AuditEntry.objects.all().delete()  # the set-up's own entries
    AuditEntry.objects.all().delete()
    return team


def _only(organization, action: str) -> AuditEntry:
    """The one entry of `action` in the organisation's schema (fails on none or several)."""
    with schema_context(organization.schema_name):
        [entry] = AuditEntry.objects.filter(action=action)
    return entry


def _public(action: str, **filters) -> AuditEntry:
    """The one public entry of `action` (and `filters`): browser tests on the same test
    database commit entries of their own, so a test names what is its own."""
    connection.set_schema_to_public()
    [entry] = AuditEntry.objects.filter(action=action, **filters)
    return entry


def _owner(team) -> User:
    return User.objects.get(email="owner@alpha.test")


def _assert_actor(entry: AuditEntry, user: User) -> None:
    assert (entry.actor_kind, entry.actor_user_id, entry.actor_label) == ("user", user.pk, user.email)


# --- One entry per action, written by the services the API calls ----------------------------


@pytest.mark.django_db
def test_project_member_added_changed_removed(team):
    owner = team.client("Project Manager")
    pm = team.users["Project Manager"]
    user = UserFactory(email="new@alpha.test")
    membership_add(organization=team.organization, user=user, role=OrgRole.MEMBER)
    with schema_context(team.organization.schema_name):
        member_id = Member.objects.get(user_id=user.pk).pk
        developer, viewer = Role.objects.get(name="Developer"), Role.objects.get(name="Viewer")
    url = "/api/v1/projects/WEB/members/"
    assert (
        owner.post(url, {"member_id": member_id, "role_id": developer.pk}, content_type=JSON, **UA).status_code == 201
    )
    patched = owner.patch(f"{url}{member_id}/", {"role_id": viewer.pk}, content_type=JSON)
    assert patched.status_code == 200
    assert owner.delete(f"{url}{member_id}/").status_code == 204

    added = _only(team.organization, "project_member.added")
    _assert_actor(added, pm)
    assert (added.target_type, added.target_label) == ("projectmember", "new@alpha.test in WEB")
    assert (added.before, added.after) == ({}, {"role": "Developer"})
    assert (added.ip, added.user_agent) == ("127.0.0.1", "audit-test/1.0")
    changed = _only(team.organization, "project_member.changed")
    assert (changed.before, changed.after) == ({"role": "Developer"}, {"role": "Viewer"})
    removed = _only(team.organization, "project_member.removed")
    assert (removed.before, removed.after) == ({"role": "Viewer"}, {})
    assert removed.target_id == added.target_id


@pytest.mark.django_db
def test_project_archived_unarchived_deleted_and_task_deleted(team):
    client = team.client("Project Manager")
    task = team.task("Doomed")
    assert client.delete(f"/api/v1/projects/WEB/tasks/{task.number}/").status_code == 204
    deleted_task = _only(team.organization, "task.deleted")
    _assert_actor(deleted_task, team.users["Project Manager"])
    assert (deleted_task.target_type, deleted_task.target_label) == ("task", f"WEB-{task.number}")
    assert deleted_task.before == {"title": "Doomed", "status": "todo"}

    assert client.patch("/api/v1/projects/WEB/", {"archived": True}, content_type=JSON).status_code == 200
    assert client.patch("/api/v1/projects/WEB/", {"archived": False}, content_type=JSON).status_code == 200
    assert client.patch("/api/v1/projects/WEB/", {"name": "Site"}, content_type=JSON).status_code == 200  # not audited
    archived = _only(team.organization, "project.archived")
    assert (archived.target_label, archived.before, archived.after) == ("WEB", {"archived": False}, {"archived": True})
    unarchived = _only(team.organization, "project.unarchived")
    assert (unarchived.before, unarchived.after) == ({"archived": True}, {"archived": False})

    assert client.delete("/api/v1/projects/WEB/?confirm=WEB").status_code == 204
    deleted = _only(team.organization, "project.deleted")
    assert deleted.before == {"key": "WEB", "name": "Site", "tasks": 0}
    with schema_context(team.organization.schema_name):
        assert AuditEntry.objects.count() == 4


@pytest.mark.django_db
def test_custom_role_created_changed_deleted(team):
    owner = client_for(team.organization, _owner(team))
    created = owner.post("/api/v1/roles/", {"name": "QA", "permissions": ["project.view"]}, content_type=JSON)
    assert created.status_code == 201
    role_id = created.json()["id"]
    body = {"permissions": ["project.view", "task.change_status"]}
    assert owner.patch(f"/api/v1/roles/{role_id}/", body, content_type=JSON).status_code == 200
    assert owner.delete(f"/api/v1/roles/{role_id}/").status_code == 204

    entry = _only(team.organization, "role.created")
    _assert_actor(entry, _owner(team))
    assert (entry.target_type, entry.target_id, entry.target_label) == ("role", str(role_id), "QA")
    assert entry.after == {"name": "QA", "permissions": ["project.view"]}
    changed = _only(team.organization, "role.changed")
    assert changed.before == {"permissions": ["project.view"]}
    assert changed.after == {"permissions": ["project.view", "task.change_status"]}
    deleted = _only(team.organization, "role.deleted")
    assert deleted.before == {"name": "QA", "permissions": ["project.view", "task.change_status"]}


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE=True)
def test_webhook_created_changed_deleted_without_its_secret(team):
    owner = client_for(team.organization, _owner(team))
    url = "http://127.0.0.1:18080/hook"
    created = owner.post("/api/v1/webhooks/", {"url": url, "kinds": ["task.assigned"]}, content_type=JSON)
    assert created.status_code == 201
    hook_id = created.json()["id"]
    assert owner.patch(f"/api/v1/webhooks/{hook_id}/", {"is_active": False}, content_type=JSON).status_code == 200
    assert owner.delete(f"/api/v1/webhooks/{hook_id}/").status_code == 204

    entry = _only(team.organization, "webhook.created")
    assert entry.after == {"url": url, "kinds": ["task.assigned"], "is_active": True}
    assert created.json()["secret"] not in str(entry.after)
    changed = _only(team.organization, "webhook.changed")
    assert (changed.before, changed.after) == ({"is_active": True}, {"is_active": False})
    deleted = _only(team.organization, "webhook.deleted")
    _assert_actor(deleted, _owner(team))
    with schema_context(team.organization.schema_name):
        assert not Webhook.objects.exists()


@pytest.mark.django_db
def test_membership_role_changed_removed_and_added(team):
    owner = client_for(team.organization, _owner(team))
    viewer = team.members["Viewer"]
    assert owner.patch(f"/api/v1/members/{viewer.pk}/", {"role": "admin"}, content_type=JSON).status_code == 200
    assert owner.delete(f"/api/v1/members/{viewer.pk}/").status_code == 204
    changed = _only(team.organization, "membership.role_changed")
    _assert_actor(changed, _owner(team))
    assert (changed.target_type, changed.target_label) == ("membership", "viewer@alpha.test")
    assert (changed.before, changed.after) == ({"role": "member"}, {"role": "admin"})
    removed = _only(team.organization, "membership.removed")
    assert (removed.before, removed.after) == ({"role": "admin"}, {})

    membership_add(organization=team.organization, user=UserFactory(email="ops@alpha.test"), role=OrgRole.MEMBER)
    added = _only(team.organization, "membership.added")
    assert (added.actor_kind, added.actor_user_id, added.after) == ("system", None, {"role": "member"})
    # Leaving is recorded as such, with the leaver as actor.
    assert team.client("Developer").delete(f"/api/v1/members/{team.members['Developer'].pk}/").status_code == 204
    with schema_context(team.organization.schema_name):
        left = AuditEntry.objects.get(action="membership.removed", after={"left": True})
    _assert_actor(left, team.users["Developer"])


@pytest.mark.django_db
def test_invitation_sent_withdrawn_accepted(team):
    owner = client_for(team.organization, _owner(team))
    sent = owner.post("/api/v1/invitations/", {"email": "Sam@Example.test", "role": "member"}, content_type=JSON)
    assert sent.status_code == 201
    assert owner.delete(f"/api/v1/invitations/{sent.json()['id']}/").status_code == 204
    entry = _only(team.organization, "invitation.sent")
    _assert_actor(entry, _owner(team))
    assert (entry.target_type, entry.target_label, entry.after) == (
        "invitation",
        "sam@example.test",
        {"email": "sam@example.test", "role": "member"},
    )
    withdrawn = _only(team.organization, "invitation.withdrawn")
    assert withdrawn.target_id == entry.target_id

    actor = Membership.objects.get(organization=team.organization, user=_owner(team))
    _invitation, token = invitation_create(
        organization=team.organization, email="kim@example.test", role="guest", actor=actor
    )
    accepted = client_for(team.organization).post(
        "/api/v1/invitations/accept/", {"token": token, "password": "correct horse battery"}, content_type=JSON
    )
    assert accepted.status_code == 200, accepted.content
    entry = _only(team.organization, "invitation.accepted")
    _assert_actor(entry, User.objects.get(email="kim@example.test"))
    assert entry.after == {"email": "kim@example.test", "role": "guest"}
    assert Invitation.objects.get(pk=entry.target_id).accepted_at is not None


@pytest.mark.django_db
def test_organization_settings_changed(team):
    owner = client_for(team.organization, _owner(team))
    body = {"name": "Alpha Renamed", "time_zone": "Europe/Berlin"}
    assert owner.patch("/api/v1/organization/", body, content_type=JSON).status_code == 200
    assert owner.patch("/api/v1/organization/", body, content_type=JSON).status_code == 200  # no change: no entry
    entry = _only(team.organization, "organization.settings_changed")
    _assert_actor(entry, _owner(team))
    assert entry.before == {"name": "Alpha Corp", "time_zone": team.organization.time_zone}
    assert entry.after == body


@pytest.mark.django_db
def test_api_token_created_and_revoked_in_the_platform_log_and_the_owners_organisations(org_a):
    user = User.objects.get(email="owner@alpha.test")
    client = client_for(None, user)
    created = client.post("/api/v1/tokens/", {"name": "ci"}, content_type=JSON)
    assert created.status_code == 201, created.content
    token = ApiToken.objects.get(user=user, name="ci")
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    entry = _public("api_token.created", actor_user_id=user.pk)
    _assert_actor(entry, user)
    assert (entry.target_type, entry.target_id, entry.after) == (
        "apitoken",
        str(token.pk),
        {"name": "ci", "expires_at": None},
    )
    assert created.json()["key"] not in entry.target_label
    assert _public("api_token.revoked", actor_user_id=user.pk).target_id == str(token.pk)
    # An account-level event: also in the log of each organisation of the token's owner
    # (docs/audit.md, "Account-level security events").
    with schema_context(org_a.schema_name):
        in_org = AuditEntry.objects.filter(action__startswith="api_token.").values_list("action", "target_id")
        assert sorted(in_org) == [
            ("api_token.created", str(token.pk)),
            ("api_token.revoked", str(token.pk)),
        ]


@pytest.mark.django_db
def test_staff_actions_go_to_the_platform_log(org_a):
    staff = UserFactory(email="staff@tessera.test", is_staff=True)
    organization_status_set(organization=org_a, status="suspended", actor=staff)
    organization_status_set(organization=org_a, status="active", actor=staff)
    subscription_comp_set(
        subscription=on_plan(org_a, "free"), plan=Plan.objects.get(code="team"), actor=staff, note="NGO"
    )
    victim = UserFactory(email="gone@example.test")
    user_deactivate(user=victim, actor=staff)

    suspended = _public("organization.suspended")
    assert (suspended.actor_user_id, suspended.actor_is_staff) == (staff.pk, True)
    assert (suspended.target_type, suspended.target_label, suspended.after) == (
        "organization",
        "alpha",
        {"status": "suspended"},
    )
    assert _public("organization.reactivated").before == {"status": "suspended"}
    granted = _public("plan.changed")
    assert (granted.before, granted.after) == ({"granted_plan": None}, {"granted_plan": "team", "note": "NGO"})
    deactivated = _public("user.deactivated")
    assert (deactivated.target_id, deactivated.before, deactivated.after) == (
        str(victim.pk),
        {"is_active": True},
        {"is_active": False},
    )


@pytest.mark.django_db
def test_plan_changed_by_stripe_in_the_organisations_log(billing_on, org_a):
    on_plan(org_a, "free", stripe_customer_id="cus_audit")
    completed = event(
        "checkout.session.completed",
        checkout_session_object(organization=org_a.schema_name, customer="cus_audit", subscription_id=new_id("sub")),
        created=int(time.time()),
    )
    assert deliver(completed).status_code == 200
    assert deliver(completed).status_code == 200  # a replay changes nothing: no second entry
    entry = _only(org_a, "plan.changed")
    assert (entry.actor_kind, entry.actor_label, entry.ip) == ("stripe", "Stripe", "127.0.0.1")
    assert (entry.before, entry.after) == ({"plan": "free"}, {"plan": "team"})
    assert Subscription.objects.get(organization=org_a).plan.code == "team"


@pytest.mark.django_db
def test_checkout_started_is_recorded(billing_on, stripe_http, org_a):
    on_plan(org_a, "free")
    owner = User.objects.get(email="owner@alpha.test")
    assert (
        client_for(org_a, owner).post("/api/v1/billing/checkout/", {"plan": "team"}, content_type=JSON).status_code
        == 200
    )
    entry = _only(org_a, "plan.checkout_started")
    _assert_actor(entry, owner)
    assert entry.after == {"plan": "team"}


# --- Same transaction -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_entry(team):
    with schema_context(team.organization.schema_name):
        project = Project.objects.get(key="WEB")
        seen = []

        def archive_then_fail():
            with transaction.atomic():
                project_update(project=project, data={"archived": True}, actor=team.members["Project Manager"])
                seen.append(AuditEntry.objects.filter(action="project.archived").count())
                raise RuntimeError("the caller's transaction fails after the service")

        with pytest.raises(RuntimeError):
            archive_then_fail()
        assert seen == [1]
        assert not AuditEntry.objects.exists()
        assert Project.objects.get(key="WEB").archived is False


@pytest.mark.django_db
def test_a_refused_change_leaves_no_entry(team):
    owner = client_for(team.organization, _owner(team))
    # The last owner cannot step down: refused (400), nothing recorded.
    owner_member = team.owner_member
    assert owner.patch(f"/api/v1/members/{owner_member.pk}/", {"role": "admin"}, content_type=JSON).status_code == 400
    assert owner.delete("/api/v1/projects/WEB/?confirm=NOPE").status_code == 400
    with schema_context(team.organization.schema_name):
        assert not AuditEntry.objects.exists()


# --- The API ----------------------------------------------------------------------------


def _seed(organization, count: int, *, action="project.archived", actor=None) -> None:
    with schema_context(organization.schema_name):
        for index in range(count):
            audit_record(
                action=action,
                actor=actor,
                target=audit_target(Project(pk=index + 1, key=f"P{index}"), f"P{index}"),
                before={"archived": False},
                after={"archived": True},
            )


@pytest.mark.django_db
def test_audit_list_for_owners_and_admins_only(team):
    _seed(team.organization, 2)
    owner = client_for(team.organization, _owner(team))
    response = owner.get("/api/v1/audit/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    first = body["results"][0]
    assert first["action"] == "project.archived"
    assert first["actor"] == {"kind": "system", "user_id": None, "label": "", "is_staff": False}
    assert first["target"] == {"type": "project", "id": "2", "label": "P1"}
    assert (first["before"], first["after"]) == ({"archived": False}, {"archived": True})
    membership_add(organization=team.organization, user=(admin := UserFactory()), role=OrgRole.ADMIN)
    assert client_for(team.organization, admin).get("/api/v1/audit/").status_code == 200
    for name in ("Project Manager", "Viewer", "guest"):  # project roles do not open it
        for path in ("/api/v1/audit/", "/api/v1/audit/export/"):
            assert team.client(name).get(path).status_code == 403
    assert client_for(team.organization).get("/api/v1/audit/").status_code in (401, 403)


@pytest.mark.django_db
def test_audit_list_is_the_organisations_own(team, org_b):
    with schema_context(org_b.schema_name):
        AuditEntry.objects.all().delete()  # bravo's sign-up entry
    _seed(team.organization, 1)
    _seed(org_b, 3, action="task.deleted")
    bravo_owner = User.objects.get(email="owner@bravo.test")
    # Bravo's owner is nobody on alpha's domain; on their own, they see only bravo's entries.
    assert client_for(team.organization, bravo_owner).get("/api/v1/audit/").status_code == 403
    mine = client_for(org_b, bravo_owner).get("/api/v1/audit/").json()
    assert mine["count"] == 3
    assert {entry["action"] for entry in mine["results"]} == {"task.deleted"}
    exported = b"".join(client_for(org_b, bravo_owner).get("/api/v1/audit/export/").streaming_content).decode()
    assert "project.archived" not in exported


@pytest.mark.django_db
def test_audit_filters(team):
    pm, owner_user = team.members["Project Manager"], _owner(team)
    _seed(team.organization, 2, actor=pm)
    _seed(team.organization, 1, action="task.deleted")
    owner = client_for(team.organization, owner_user)
    assert owner.get("/api/v1/audit/", {"action": "task.deleted"}).json()["count"] == 1
    assert owner.get("/api/v1/audit/", {"actor": team.users["Project Manager"].pk}).json()["count"] == 2
    assert owner.get("/api/v1/audit/", {"target_type": "project", "target_id": "1"}).json()["count"] == 2
    now = timezone.now()
    assert owner.get("/api/v1/audit/", {"created_after": (now - timedelta(minutes=5)).isoformat()}).json()["count"] == 3
    assert (
        owner.get("/api/v1/audit/", {"created_before": (now - timedelta(minutes=5)).isoformat()}).json()["count"] == 0
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"action": "project.exploded"},
        {"actor": "me"},
        {"actor": "0"},
        {"created_after": "yesterday"},
        {"created_after": "2026-12-02T00:00:00Z", "created_before": "2026-12-01T00:00:00Z"},
        {"target_type": "Robert'); DROP TABLE"},
        {"colour": "red"},
        {"page": "0"},
        {"page_size": "100000"},
    ],
)
def test_audit_bad_filters_are_400(team, query):
    owner = client_for(team.organization, _owner(team))
    for path in ("/api/v1/audit/", "/api/v1/audit/export/"):  # the export takes no page at all
        response = owner.get(path, query)
        assert response.status_code == 400, (path, query)


@pytest.mark.django_db
def test_audit_list_query_count_is_constant(team):
    owner = client_for(team.organization, _owner(team))
    owner.get("/api/v1/audit/")  # warm the session and membership caches
    counts = []
    for more in (2, 30):
        _seed(team.organization, more)
        with CaptureQueriesContext(connection) as queries:
            assert owner.get("/api/v1/audit/").status_code == 200
        counts.append(len(queries.captured_queries))
    # search_path, user, count, the page
    assert counts == [4, 4], counts


@pytest.mark.django_db
def test_audit_export_is_csv_with_the_same_filters(team):
    _seed(team.organization, 2)
    with schema_context(team.organization.schema_name):
        audit_record(action="task.deleted", actor=None, target=audit_target(Project(pk=9, key="X"), "=HYPERLINK(1)"))
    owner = client_for(team.organization, _owner(team))
    response = owner.get("/api/v1/audit/export/", {"action": "task.deleted"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["created_at", "action", "actor_kind"]
    assert len(rows) == 2
    assert rows[1][1] == "task.deleted"
    assert rows[1][8] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet


# --- Retention, admin, docs --------------------------------------------------------------


@pytest.mark.django_db
def test_retention_sweep_deletes_only_old_entries(team, settings):
    settings.TESSERA_AUDIT_RETENTION_DAYS = 400
    _seed(team.organization, 3)
    with schema_context(team.organization.schema_name):
        AuditEntry.objects.filter(target_id__in=["1", "2"]).update(created_at=timezone.now() - timedelta(days=401))
        assert audit_sweep() == 2
        assert list(AuditEntry.objects.values_list("target_id", flat=True)) == ["3"]
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["audit-sweep-public"]["task"] == "audit.sweep"
    assert schedule["audit-sweep-public"]["tenant_schemas"] == ["public"]
    assert schedule["periodic-backstop"]["schedule"] <= 24 * 3600  # sweeps every organisation daily


@pytest.mark.django_db
def test_the_periodic_backstop_enforces_retention_in_every_organisation(team, settings):
    from tenant_apps.notifications.periodic import periodic_backstop

    settings.TESSERA_AUDIT_RETENTION_DAYS = 400
    _seed(team.organization, 2)
    with schema_context(team.organization.schema_name):
        AuditEntry.objects.filter(target_id="1").update(created_at=timezone.now() - timedelta(days=401))
    assert periodic_backstop()["audit_deleted"] >= 1
    with schema_context(team.organization.schema_name):
        assert list(AuditEntry.objects.values_list("target_id", flat=True)) == ["2"]


@pytest.mark.django_db
def test_admin_shows_entries_read_only(org_a):
    staff = UserFactory(email="root@tessera.test", is_staff=True, is_superuser=True)
    organization_status_set(organization=org_a, status="suspended", actor=staff)
    _seed(org_a, 1, action="task.deleted")
    client = client_for(None, staff)
    listing = client.get("/admin/audit/auditentry/")
    assert listing.status_code == 200
    assert b"organization.suspended" in listing.content
    entry = _public("organization.suspended")
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/change/", {"action": "x"}).status_code == 403
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    page = client.get(f"/admin/audit/auditentry/organization/{org_a.pk}/")
    assert page.status_code == 200
    assert b"task.deleted" in page.content
    assert b"organization.suspended" not in page.content
    nobody = client_for(None, UserFactory(email="user@tessera.test"))
    assert nobody.get(f"/admin/audit/auditentry/organization/{org_a.pk}/").status_code == 302


def test_docs_list_every_action():
    doc = (Path(settings.BASE_DIR) / "docs" / "audit.md").read_text()
    missing = [code for code in ACTIONS if f"`{code}`" not in doc]
    assert not missing
