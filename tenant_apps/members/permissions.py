"""The doors to the organisation's people (`access_member`, `access_invitation`). Same
convention as tenant_apps/projects/permissions.py: keyword-only, `member` (the actor, or
None), the object's id; Http404 when missing, PermissionDenied when the actor's role does
not allow the action. Scoped to the organisation whose schema is active
(`current_organization()`): `public` is on every search_path, so the public rows (Membership,
Invitation) are filtered to it explicitly (DESIGN.md section 2)."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _

from shared_apps.tenants.models import Invitation, Membership
from shared_apps.tenants.selectors import current_organization
from tenant_apps.members.models import Member
from tenant_apps.projects.permissions import org_manager_require

INVITATION_MANAGERS = _("Only owners and admins can see and send invitations.")


def access_member(*, member: Member | None, member_id: int) -> tuple[Member, Membership]:
    """An active member of this organisation and their Membership (every member may see
    the others; what they may change is decided by the membership services)."""
    if member is None:
        raise Http404()
    target = Member.objects.filter(pk=member_id, is_active=True).first()
    membership = (
        Membership.objects.select_related("user", "organization")
        .filter(organization_id=current_organization().pk, user_id=target.user_id)
        .first()
        if target is not None
        else None
    )
    if membership is None:
        raise Http404()
    return target, membership


def access_invitation(*, member: Member | None, invitation_id: int) -> Invitation:
    """A pending invitation of this organisation (owners and admins: 403 for anyone else,
    before the lookup)."""
    org_manager_require(member=member, message=INVITATION_MANAGERS)
    invitation = Invitation.objects.filter(
        pk=invitation_id, organization_id=current_organization().pk, accepted_at=None, revoked_at=None
    ).first()
    if invitation is None:
        raise Http404()
    return invitation
