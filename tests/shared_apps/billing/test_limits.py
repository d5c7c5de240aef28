import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.billing.exceptions import OrganizationReadOnly, PlanLimitExceeded
from shared_apps.billing.limits import limit_check
from shared_apps.billing.models import Plan, Subscription
from shared_apps.tenants.memberships import invitation_accept, invitation_create
from shared_apps.tenants.models import Invitation, Membership, Organization, OrgRole
from shared_apps.tenants.services import membership_add, organization_create
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project
from tenant_apps.projects.services import project_create
from tenant_apps.tasks.models import Attachment
from tenant_apps.tasks.services import task_create
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import run_together
from tests.shared_apps.billing.conftest import on_plan, set_allowance
from tests.shared_apps.billing.stripe_fake import (
    checkout_session_object,
    deliver,
    event,
    subscription_object,
)

JSON = "application/json"
PASSWORD = "a-long-enough-passphrase-42"


def _owner(organization) -> User:
    return User.objects.get(email=f"owner@{organization.slug}.test")


def _upgrade_to_team(organization) -> None:
    """What a paid checkout does: Stripe tells us so."""
    completed = event(
        "checkout.session.completed",
        checkout_session_object(organization=organization.schema_name, customer="cus_up", subscription_id="sub_up"),
        created=int(time.time()),
    )
    assert deliver(completed).status_code == 200


def _downgrade_to_free(organization) -> None:
    """The paid subscription ends (cancelled in the portal): Stripe says so."""
    now = int(time.time())
    ended = subscription_object(subscription_id="sub_up", customer="cus_up", status="canceled", period_end=now)
    assert deliver(event("customer.subscription.deleted", ended, created=now + 5)).status_code == 200


def _project_keys(organization) -> list[str]:
    with schema_context(organization.schema_name):
        return sorted(Project.objects.values_list("key", flat=True))


# --- Projects --------------------------------------------------------------------------


@pytest.mark.django_db
def test_projects_limit_at_its_boundary_lifted_by_upgrade_and_kept_after_downgrade(billing_on, org_a):
    on_plan(org_a, "free")
    set_allowance("free", max_projects=2)
    owner = client_for(org_a, _owner(org_a))

    def create(key):
        return owner.post("/api/v1/projects/", {"key": key, "name": key}, content_type=JSON)

    assert create("ONE").status_code == 201
    assert create("TWO").status_code == 201
    refused = create("THREE")

    assert refused.status_code == 402, refused.content
    body = refused.json()
    assert body["code"] == "plan_limit_exceeded"
    assert (body["limit"], body["usage"], body["allowance"], body["plan"]) == ("projects", 2, 2, "free")
    assert body["upgrade_url"] == "http://alpha.localhost/billing/"
    assert "Free plan allows 2 active projects" in body["detail"]
    assert "http://alpha.localhost/billing/" in body["detail"]
    assert _project_keys(org_a) == ["ONE", "TWO"]

    _upgrade_to_team(org_a)
    assert create("THREE").status_code == 201

    _downgrade_to_free(org_a)
    # Everything is kept and readable; only additions are refused.
    assert _project_keys(org_a) == ["ONE", "THREE", "TWO"]
    assert owner.get("/api/v1/projects/").json()["count"] == 3
    assert owner.patch("/api/v1/projects/ONE/", {"name": "Renamed"}, content_type=JSON).status_code == 200
    assert create("FOUR").status_code == 402
    # Archiving frees a place once usage is under the allowance again.
    assert owner.patch("/api/v1/projects/ONE/", {"archived": True}, content_type=JSON).status_code == 200
    assert create("FOUR").status_code == 402  # 2 active of 2
    assert owner.patch("/api/v1/projects/TWO/", {"archived": True}, content_type=JSON).status_code == 200
    assert create("FOUR").status_code == 201
    # Unarchiving counts like creating.
    refused = owner.patch("/api/v1/projects/ONE/", {"archived": False}, content_type=JSON)
    assert refused.status_code == 402
    with schema_context(org_a.schema_name):
        assert Project.objects.get(key="ONE").archived is True


@pytest.mark.django_db
def test_billing_disabled_means_unlimited(org_a):
    on_plan(org_a, "free")
    set_allowance("free", max_projects=0, max_members=0, max_storage_bytes=0)
    owner = client_for(org_a, _owner(org_a))
    assert owner.post("/api/v1/projects/", {"key": "ANY", "name": "x"}, content_type=JSON).status_code == 201
    billing = owner.get("/api/v1/billing/").json()
    assert billing["billing_enabled"] is False
    assert billing["limits"]["projects"] == {"unit": "count", "usage": 1, "allowance": None, "available": None}


# --- Members ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_members_limit_at_its_boundary_on_invite_and_accept(billing_on, org_a):
    on_plan(org_a, "free")
    set_allowance("free", max_members=3)
    owner_membership = Membership.objects.get(organization=org_a, role=OrgRole.OWNER)
    owner = client_for(org_a, owner_membership.user)
    membership_add(organization=org_a, user=UserFactory(), role=OrgRole.MEMBER)  # 2 of 3
    early = invitation_create(organization=org_a, email="early@example.test", role="member", actor=owner_membership)
    invited = owner.post("/api/v1/invitations/", {"email": "third@example.test", "role": "member"}, content_type=JSON)
    assert invited.status_code == 201
    third_token = invitation_create(
        organization=org_a, email="third@example.test", role="member", actor=owner_membership
    )[1]

    accepted = Client(HTTP_HOST="alpha.localhost").post(
        "/api/v1/invitations/accept/", {"token": third_token, "password": PASSWORD}, content_type=JSON
    )
    assert accepted.status_code == 200, accepted.content  # 3 of 3
    assert Membership.objects.filter(organization=org_a).count() == 3

    # Full: no new invitation, and the earlier one cannot be accepted.
    refused = owner.post("/api/v1/invitations/", {"email": "fourth@example.test", "role": "member"}, content_type=JSON)
    assert refused.status_code == 402
    assert (refused.json()["limit"], refused.json()["usage"], refused.json()["allowance"]) == ("members", 3, 3)
    late = Client(HTTP_HOST="alpha.localhost").post(
        "/api/v1/invitations/accept/", {"token": early[1], "password": PASSWORD}, content_type=JSON
    )
    assert late.status_code == 402
    assert not User.objects.filter(email="early@example.test").exists()  # nothing written
    assert Invitation.objects.get(pk=early[0].pk).accepted_at is None  # the link still works

    _upgrade_to_team(org_a)
    late = Client(HTTP_HOST="alpha.localhost").post(
        "/api/v1/invitations/accept/", {"token": early[1], "password": PASSWORD}, content_type=JSON
    )
    assert late.status_code == 200
    assert Membership.objects.filter(organization=org_a).count() == 4


@pytest.mark.django_db
def test_the_invitation_page_explains_a_full_plan(billing_on, org_a):
    on_plan(org_a, "free")
    set_allowance("free", max_members=1)
    owner_membership = Membership.objects.get(organization=org_a, role=OrgRole.OWNER)
    set_allowance("free", max_members=2)
    _invitation, token = invitation_create(
        organization=org_a, email="page@example.test", role="member", actor=owner_membership
    )
    set_allowance("free", max_members=1)

    response = Client(HTTP_HOST="alpha.localhost").post(
        f"/invitations/{token}/", {"password": PASSWORD, "full_name": "Page"}
    )

    assert response.status_code == 402
    assert "Free plan allows 1 members" in response.text
    assert not User.objects.filter(email="page@example.test").exists()


# --- Storage ---------------------------------------------------------------------------


@pytest.fixture
def task_in_alpha(org_a):
    with schema_context(org_a.schema_name):
        owner = Member.objects.get(email="owner@alpha.test")
        project = project_create(key="WEB", name="Website", actor=owner)
        return task_create(project=project, actor=owner, title="Has files")


def _upload(client, task, size: int):
    return client.post(
        f"/api/v1/projects/WEB/tasks/{task.number}/attachments/",
        {"file": SimpleUploadedFile("f.bin", b"x" * size, content_type="application/octet-stream")},
    )


@pytest.mark.django_db
def test_storage_limit_at_its_boundary_stores_nothing_when_refused(billing_on, org_a, task_in_alpha):
    on_plan(org_a, "free")
    set_allowance("free", max_storage_bytes=1000)
    owner = client_for(org_a, _owner(org_a))

    assert _upload(owner, task_in_alpha, 600).status_code == 201
    assert _upload(owner, task_in_alpha, 400).status_code == 201  # exactly the allowance
    refused = _upload(owner, task_in_alpha, 1)

    assert refused.status_code == 402, refused.content
    assert (refused.json()["limit"], refused.json()["usage"], refused.json()["adding"]) == ("storage_bytes", 1000, 1)
    assert "1000 bytes of attachment storage" in refused.json()["detail"]
    with schema_context(org_a.schema_name):
        assert Attachment.objects.count() == 2
    stored = Path(django_settings.MEDIA_ROOT, org_a.schema_name, "attachments")
    assert len(list(stored.iterdir())) == 2  # the refused file did not stay behind

    _upgrade_to_team(org_a)
    assert _upload(owner, task_in_alpha, 1).status_code == 201


# --- Reports ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_reports_per_month_at_its_boundary_deleting_gives_nothing_back_upgrade_lifts_it(billing_on, org_a):
    on_plan(org_a, "free")
    set_allowance("free", max_reports_per_month=2)
    owner = client_for(org_a, _owner(org_a))
    assert owner.post("/api/v1/projects/", {"key": "RPT", "name": "Reports"}, content_type=JSON).status_code == 201

    def request(kind: str):
        return owner.post("/api/v1/reports/", {"kind": kind, "format": "csv"}, content_type=JSON)

    first = request("workload")
    assert first.status_code == 201, first.content
    assert request("project_status_placeholder").status_code == 400  # bad input counts for nothing
    second = owner.post(
        "/api/v1/reports/",
        {"kind": "completed_tasks", "format": "csv", "from": "2026-01-01", "to": "2026-02-01"},
        content_type=JSON,
    )
    assert second.status_code == 201, second.content
    assert request("workload").status_code == 200  # the same request while queued: that one again
    refused = owner.post("/api/v1/reports/", {"kind": "workload", "format": "json"}, content_type=JSON)
    assert refused.status_code == 402, refused.content
    body = refused.json()
    assert (body["code"], body["limit"], body["usage"], body["allowance"]) == (
        "plan_limit_exceeded",
        "reports_per_month",
        2,
        2,
    )
    # Deleting reports does not give the month's allowance back.
    assert owner.delete(f"/api/v1/reports/{first.json()['id']}/").status_code == 204
    assert owner.post("/api/v1/reports/", {"kind": "workload", "format": "json"}, content_type=JSON).status_code == 402
    usage = owner.get("/api/v1/billing/").json()["limits"]["reports_per_month"]
    assert usage == {"unit": "count", "usage": 2, "allowance": 2, "available": 0}
    _upgrade_to_team(org_a)
    assert owner.post("/api/v1/reports/", {"kind": "workload", "format": "json"}, content_type=JSON).status_code == 201


@pytest.mark.django_db
def test_a_limit_without_a_usage_function_is_unmeasured_and_cannot_be_checked(billing_on, org_a, settings):
    on_plan(org_a, "free")
    settings.TESSERA_BILLING_USAGE = {
        name: path for name, path in settings.TESSERA_BILLING_USAGE.items() if name != "reports_per_month"
    }
    usage = client_for(org_a, _owner(org_a)).get("/api/v1/billing/").json()["limits"]["reports_per_month"]
    assert usage["usage"] is None
    with pytest.raises(ImproperlyConfigured, match="TESSERA_BILLING_USAGE"), transaction.atomic():
        limit_check(org_a, "reports_per_month", adding=1)


@pytest.mark.django_db
def test_limit_check_names_the_known_limits(billing_on, org_a):
    with pytest.raises(ValueError, match="Unknown plan limit 'seats'"):
        limit_check(org_a, "seats")


def test_limit_check_must_run_inside_the_writing_transaction(committed, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_tessera"
    organization = Organization.objects.get(slug="alpha")
    with pytest.raises(RuntimeError, match="inside the transaction"):
        limit_check(organization, "projects")
    with transaction.atomic():
        limit_check(organization, "projects")


# --- Read-only past the grace period ---------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("days_past_due", "read_only"), [(6, False), (8, True)])
def test_past_due_beyond_the_grace_period_makes_writes_402_and_reads_work(
    billing_on, stripe_http, org_a, days_past_due, read_only
):
    with schema_context(org_a.schema_name):
        project_create(key="WEB", name="Website", actor=Member.objects.get(email="owner@alpha.test"))
    on_plan(
        org_a,
        "team",
        status=Subscription.Status.PAST_DUE,
        past_due_since=timezone.now() - timedelta(days=days_past_due),
        stripe_customer_id="cus_a",
        stripe_subscription_id="sub_a",
    )
    owner = client_for(org_a, _owner(org_a))

    created = owner.post("/api/v1/projects/", {"key": "NEW", "name": "New"}, content_type=JSON)
    renamed = owner.patch("/api/v1/projects/WEB/", {"name": "Renamed"}, content_type=JSON)
    deleted = owner.delete("/api/v1/projects/WEB/?confirm=WEB")

    if read_only:
        for response in (created, renamed, deleted):
            assert response.status_code == 402, response.content
            assert response.json()["code"] == "billing_read_only"
            assert response.json()["billing_url"] == "http://alpha.localhost/billing/"
        assert _project_keys(org_a) == ["WEB"]
    else:
        assert [created.status_code, renamed.status_code, deleted.status_code] == [201, 200, 204]
    assert owner.get("/api/v1/projects/").status_code == 200
    assert owner.get("/api/v1/billing/").json()["read_only"] is read_only
    # The owner can always reach Stripe to pay.
    assert owner.post("/api/v1/billing/portal/").status_code == 200


@pytest.mark.django_db
def test_read_only_blocks_service_additions_outside_the_api_and_a_grant_lifts_it(billing_on, org_a):
    subscription = on_plan(
        org_a, "team", status=Subscription.Status.PAST_DUE, past_due_since=timezone.now() - timedelta(days=30)
    )
    with schema_context(org_a.schema_name), pytest.raises(OrganizationReadOnly):
        project_create(key="WEB", name="Website", actor=Member.objects.get(email="owner@alpha.test"))
    subscription.comped_plan = Plan.objects.get(code="business")
    subscription.save()
    with schema_context(org_a.schema_name):
        project_create(key="WEB", name="Website", actor=Member.objects.get(email="owner@alpha.test"))
    assert client_for(org_a, _owner(org_a)).get("/api/v1/billing/").json()["read_only"] is False


# --- Races -----------------------------------------------------------------------------


def test_concurrent_project_creations_never_pass_the_allowance(committed, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_tessera"
    settings.TESSERA_TRIAL_DAYS = 0  # starts on Free: 3 active projects
    owner = User.objects.create_user(email="owner@race-projects.test", password="pw")
    organization = organization_create(slug="race-projects", name="Race", owner=owner)
    allowance = Plan.objects.get(code="free").max_projects
    with schema_context(organization.schema_name):
        creator = Member.objects.get(user_id=owner.pk)
        for index in range(allowance - 1):
            project_create(key=f"P{index}", name="x", actor=creator)

    def create(index: int):
        with schema_context(organization.schema_name):
            return project_create(key=f"R{index}", name="racer", actor=creator)

    results = run_together(4, create)

    assert sum(isinstance(result, Project) for result in results) == 1, results
    assert sum(isinstance(result, PlanLimitExceeded) for result in results) == 3, results
    with schema_context(organization.schema_name):
        assert Project.objects.count() == allowance


def test_concurrent_invitation_accepts_never_pass_the_allowance(committed, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_tessera"
    settings.TESSERA_TRIAL_DAYS = 0
    owner = User.objects.create_user(email="owner@race-members.test", password="pw")
    organization = organization_create(slug="race-members", name="Race", owner=owner)
    allowance = Plan.objects.get(code="free").max_members
    for _index in range(allowance - 2):
        membership_add(organization=organization, user=UserFactory(), role=OrgRole.MEMBER)
    owner_membership = Membership.objects.get(organization=organization, user=owner)
    tokens = [
        invitation_create(
            organization=organization,
            email=f"racer{index}@example.test",
            role="member",
            actor=owner_membership,
        )[1]
        for index in range(3)
    ]

    def accept(index: int):
        return invitation_accept(organization=organization, token=tokens[index], password=PASSWORD)

    results = run_together(3, accept)

    assert sum(isinstance(result, Membership) for result in results) == 1, results
    assert sum(isinstance(result, PlanLimitExceeded) for result in results) == 2, results
    assert Membership.objects.filter(organization=organization).count() == allowance


@pytest.mark.django_db
def test_limit_check_without_an_organisation_needs_its_schema(billing_on):
    with pytest.raises(RuntimeError, match="No organisation given"), transaction.atomic():
        limit_check(None, "projects")
    assert not Subscription.objects.filter(organization__schema_name="public").exists()


@pytest.mark.django_db
def test_anonymous_writes_learn_nothing_about_a_read_only_organisation(billing_on, org_a):
    on_plan(org_a, "team", status=Subscription.Status.PAST_DUE, past_due_since=timezone.now() - timedelta(days=30))
    response = client_for(org_a).post("/api/v1/projects/", {"key": "NEW", "name": "New"}, content_type=JSON)
    assert response.status_code == 401
    assert "past_due_since" not in response.content.decode()


def test_limit_check_outside_a_transaction_fails_with_billing_off_too(committed, settings):
    settings.STRIPE_SECRET_KEY = ""  # billing off, as in development and most tests
    with pytest.raises(RuntimeError, match="inside the transaction"):
        limit_check(Organization.objects.get(slug="alpha"), "projects", adding=1)


@pytest.mark.django_db
def test_weekly_reports_over_the_monthly_allowance_are_skipped_not_crashed(billing_on, org_a):
    from datetime import UTC, datetime

    from tenant_apps.reports.models import Report
    from tenant_apps.reports.services.schedules import report_schedule_set, report_schedules_run

    on_plan(org_a, "free")
    set_allowance("free", max_reports_per_month=0)
    with schema_context(org_a.schema_name):
        owner = Member.objects.get(email="owner@alpha.test")
        project_create(key="RPT", name="Reports", actor=owner)
        report_schedule_set(actor=owner, weekday=0, format="csv")
        assert report_schedules_run(time_zone="UTC", now=datetime(2026, 11, 9, 8, 0, tzinfo=UTC)) == 0
        assert not Report.objects.exists()
