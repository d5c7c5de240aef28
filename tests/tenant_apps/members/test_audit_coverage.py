"""Issue 14: "the audit log lists every one of these actions". Each action of the issue's
journeys, done through the service its page calls, leaves an entry that the owner sees
on /settings/audit/ (and filters by its code)."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django_tenants.utils import schema_context

from shared_apps.accounts.services import organization_two_factor_set
from shared_apps.accounts.tokens import api_token_create, api_token_revoke
from shared_apps.tenants.memberships import (
    invitation_accept,
    invitation_create,
    invitation_revoke,
    membership_remove,
    membership_role_change,
)
from shared_apps.tenants.models import Membership, OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.notifications.services import (
    webhook_create,
    webhook_delete,
    webhook_secret_rotate,
    webhook_update,
)
from tenant_apps.projects.models import ProjectMember, Role
from tenant_apps.projects.services import (
    project_create,
    project_member_remove,
    project_member_set,
    role_create,
    role_delete,
    role_update,
)
from tenant_apps.reports.services.requests import report_request
from tests.conftest import client_for
from tests.factories import UserFactory

JOURNEY_ACTIONS = [
    "invitation.sent",
    "invitation.accepted",
    "invitation.withdrawn",
    "role.created",
    "role.changed",
    "role.deleted",
    "membership.role_changed",
    "membership.removed",
    "project_member.added",
    "project_member.changed",
    "project_member.removed",
    "api_token.created",
    "api_token.revoked",
    "webhook.created",
    "webhook.changed",
    "webhook.secret_rotated",
    "webhook.deleted",
    "authenticator.added",
    "authenticator.removed",
    "organization.two_factor_changed",
    "report.requested",
]


@pytest.mark.django_db
def test_every_action_of_the_journeys_is_on_the_audit_log_page(org_a):
    owner_user = org_a.memberships.get(role=OrgRole.OWNER).user
    owner = Membership.objects.get(organization=org_a, user=owner_user)
    # Invitations: one accepted, one withdrawn.
    _invitation, token = invitation_create(
        organization=org_a, email="nina@example.test", role="member", actor=owner, send_email=False
    )
    invitation_accept(organization=org_a, token=token, password="a-long-enough-passphrase-42", full_name="Nina")
    withdrawn, _token = invitation_create(
        organization=org_a, email="later@example.test", role="member", actor=owner, send_email=False
    )
    invitation_revoke(invitation=withdrawn, actor=owner)
    nina = Membership.objects.get(organization=org_a, user__email="nina@example.test")
    erin_user = UserFactory(email="erin@example.test")
    erin = membership_add(organization=org_a, user=erin_user, role=OrgRole.MEMBER)
    membership_role_change(membership=nina, role=OrgRole.ADMIN, actor=owner)

    with schema_context(org_a.schema_name):
        owner_member = Member.objects.get(user_id=owner_user.pk)
        nina_member = Member.objects.get(user_id=nina.user_id)
        project = project_create(key="WEB", name="Website", actor=owner_member)
        qa = role_create(name="QA", permissions=["project.view"], actor=owner_member)
        role_update(role=qa, permissions=["project.view", "task.change_status"], actor=owner_member)
        project_member_set(project=project, member=nina_member, role=qa, actor=owner_member)
        developer = Role.objects.get(name="Developer")
        project_member_set(project=project, member=nina_member, role=developer, actor=owner_member)
        project_member_remove(project_member=ProjectMember.objects.get(member=nina_member), actor=owner_member)
        role_delete(role=qa, actor=owner_member)
        webhook = webhook_create(url="https://93.184.215.14/hooks", kinds=[], actor=owner_member)
        webhook_update(webhook=webhook, data={"is_active": False}, actor=owner_member)
        webhook_secret_rotate(webhook=webhook, actor=owner_member)
        webhook_delete(webhook=webhook, actor=owner_member)
        report_request(
            actor=owner_member,
            kind="completed_tasks",
            format="csv",
            params={"from": "2026-11-01", "to": "2026-11-08"},
            time_zone="UTC",
        )
    membership_remove(membership=erin, actor=owner)
    token_row, _key = api_token_create(user=nina.user, name="CI")
    api_token_revoke(token=token_row)
    TOTP.activate(owner_user, generate_totp_secret())
    organization_two_factor_set(organization=org_a, require=True, actor=owner_user)
    TOTP.activate(nina.user, generate_totp_secret()).instance.delete()

    client = client_for(org_a, owner_user)
    page = client.get("/settings/audit/")
    assert page.status_code == 200
    missing = [action for action in JOURNEY_ACTIONS if f"<code>{action}</code>" not in page.text]
    assert not missing, f"not on the audit log page: {missing}"
    for action in JOURNEY_ACTIONS:  # and each can be filtered for
        filtered = client.get("/settings/audit/", {"action": action})
        assert filtered.status_code == 200, action
        assert f"<code>{action}</code>" in filtered.text, action
