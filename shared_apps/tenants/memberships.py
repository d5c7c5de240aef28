"""Who is in an organisation: invitations, role changes, removal.

Every write keeps the public `Membership` and the organisation's `Member` row in one
transaction (`member_sync`). Rules:
- owners and admins invite, change roles and remove people;
- only an owner grants, changes or removes the owner role (admins cannot touch owners);
- anyone may leave (remove themselves);
- an organisation always keeps at least one owner.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shared_apps.accounts.models import User
from shared_apps.audit.services import audit_record, audit_target
from shared_apps.billing.limits import limit_check
from shared_apps.tenants.models import MANAGER_ROLES, Invitation, Membership, Organization, OrgRole
from shared_apps.tenants.services import member_sync, membership_create, organization_url

logger = logging.getLogger(__name__)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_manager(*, actor: Membership, target_role: str | None = None) -> None:
    if actor.role not in MANAGER_ROLES:
        raise PermissionDenied(_("Only owners and admins can manage members."))
    if target_role == OrgRole.OWNER and actor.role != OrgRole.OWNER:
        raise PermissionDenied(_("Only an owner can grant, change or remove the owner role."))


_LAST_OWNER_MESSAGE = gettext_lazy("An organisation needs at least one owner: make someone else owner first.")


def invitation_url(invitation: Invitation, token: str) -> str:
    return organization_url(invitation.organization, f"/invitations/{token}/")


def invitation_create(
    *, organization: Organization, email: str, role: str, actor: Membership, send_email: bool = True
) -> tuple[Invitation, str]:
    """Invite `email` with `role`; emails a single-use link valid TESSERA_INVITATION_DAYS
    (with `send_email=False`, the caller hands the link over itself: the members page's
    "copy link"). A pending invitation to the same address is replaced (the old link
    stops working): resending is inviting again.
    Refused (PlanLimitExceeded) when the plan's member allowance is used up.
    Returns the invitation and the link's token (not stored: only its digest is)."""
    _require_manager(actor=actor, target_role=role)
    email = email.strip().lower()
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError({"email": _("%(email)s is already a member.") % {"email": email}}, code="already_member")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(
            organization=organization, email__iexact=email, accepted_at=None, revoked_at=None
        ).update(revoked_at=now)
        # No invitation once the plan's members are full (402 naming the upgrade; the
        # revocation above rolls back with it). The binding check is when an invitation
        # is accepted: invitations hold no seat. Invitation rows are locked before the
        # subscription row here as in invitation_accept, so the two never deadlock.
        limit_check(organization, "members", adding=1)
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            token_digest=_digest(token),
            invited_by=actor.user,
            expires_at=now + timedelta(days=settings.TESSERA_INVITATION_DAYS),
        )
        audit_record(
            action="invitation.sent",
            actor=actor,
            target=audit_target(invitation, email),
            after={"email": email, "role": role},
            organization=organization,
        )
        url = invitation_url(invitation, token)
        # robust: an SMTP failure after the commit is logged, never a 500 for an
        # invitation that exists; the inviter sees it pending and can invite again (a
        # new link replaces the old).
        if send_email:
            transaction.on_commit(lambda: _invitation_email_send(invitation=invitation, url=url), robust=True)
    return invitation, token


def _invitation_email_send(*, invitation: Invitation, url: str) -> None:
    context = {"invitation": invitation, "organization": invitation.organization, "url": url}
    subject = _("You are invited to join %(name)s on Tessera") % {"name": invitation.organization.name}
    body = render_to_string("tenants/email/invitation.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])


def invitation_revoke(*, invitation: Invitation, actor: Membership) -> Invitation:
    _require_manager(actor=actor, target_role=invitation.role)
    if invitation.is_pending:
        with transaction.atomic():
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            audit_record(
                action="invitation.withdrawn",
                actor=actor,
                target=audit_target(invitation, invitation.email),
                before={"email": invitation.email, "role": invitation.role},
                organization=invitation.organization,
            )
    return invitation


def invitation_for_token(*, organization: Organization, token: str, lock: bool = False) -> Invitation:
    """The pending invitation behind `token` for this organisation, or a ValidationError
    saying exactly why the link does not work."""
    invitations = Invitation.objects.select_related("organization")
    if lock:
        invitations = invitations.select_for_update(of=("self",))
    invitation = invitations.filter(organization=organization, token_digest=_digest(token or "")).first()
    if invitation is None:
        raise ValidationError(_("This invitation link is not valid. Check that you copied all of it."), code="invalid")
    if invitation.accepted_at is not None:
        raise ValidationError(_("This invitation has already been used."), code="used")
    if invitation.revoked_at is not None:
        raise ValidationError(_("This invitation was withdrawn. Ask for a new one."), code="revoked")
    if invitation.expires_at <= timezone.now():
        raise ValidationError(_("This invitation has expired. Ask for a new one."), code="expired")
    return invitation


def invitation_accept(
    *,
    organization: Organization,
    token: str,
    actor: User | None = None,
    password: str | None = None,
    full_name: str = "",
) -> Membership:
    """Accept an invitation: as the logged-in `actor` (whose email must match), or by
    creating the account with `password` when none exists for the invited address.
    Account, Membership and Member are written in one transaction; the link is then used
    up. Raises ValidationError with a message a person can act on, PlanLimitExceeded when
    the plan's members are full (nothing is written, the link stays valid)."""
    with transaction.atomic():
        invitation = invitation_for_token(organization=organization, token=token, lock=True)
        user = actor
        if user is not None and user.is_authenticated:
            if user.email.lower() != invitation.email.lower():
                raise ValidationError(
                    _("This invitation is for %(email)s. Log in with that address to accept it.")
                    % {"email": invitation.email},
                    code="wrong_user",
                )
        else:
            if User.objects.filter(email__iexact=invitation.email).exists():
                raise ValidationError(
                    _("An account for %(email)s exists already: log in to accept the invitation.")
                    % {"email": invitation.email},
                    code="login_required",
                )
            if not password:
                raise ValidationError({"password": _("Choose a password for your new account.")})
            candidate = User(email=invitation.email, full_name=full_name)
            try:
                validate_password(password, user=candidate)
            except ValidationError as exc:
                raise ValidationError({"password": exc.messages}) from exc
            user = User.objects.create_user(email=invitation.email, password=password, full_name=full_name)
            # The link reached this mailbox: the address is verified.
            EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
        membership = membership_create(organization=organization, user=user, role=invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(
            action="invitation.accepted",
            actor=user,
            target=audit_target(invitation, invitation.email),
            after={"email": user.email, "role": invitation.role},
            organization=organization,
        )
    logger.info("invitation %s accepted by user %s", invitation.pk, user.pk)
    return membership


def _lock_with_owners(*, organization_id: int, pks: list[int]) -> dict[int, Membership]:
    """Lock `pks` and every owner row of the organisation in one statement, in primary
    key order: concurrent role changes and removals serialise without deadlocking, and
    the checks below read rows no one else can change until this transaction ends."""
    rows = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "organization")
        .filter(Q(pk__in=pks) | Q(organization_id=organization_id, role=OrgRole.OWNER))
        .order_by("pk")
    )
    return {row.pk: row for row in rows}


def _locked_pair(*, membership: Membership, actor: Membership) -> tuple[Membership, Membership, int]:
    """The target and the actor as locked, current rows, and the number of owners."""
    rows = _lock_with_owners(organization_id=membership.organization_id, pks=[membership.pk, actor.pk])
    if actor.pk not in rows:
        raise PermissionDenied(_("You are no longer a member of this organisation."))
    if membership.pk not in rows:
        raise ValidationError(_("This person is no longer a member."), code="gone")
    owners = sum(1 for row in rows.values() if row.role == OrgRole.OWNER)
    return rows[membership.pk], rows[actor.pk], owners


def membership_role_change(*, membership: Membership, role: str, actor: Membership) -> Membership:
    if role not in OrgRole.values:
        raise ValidationError({"role": _("Unknown role.")})
    with transaction.atomic():
        membership, actor, owners = _locked_pair(membership=membership, actor=actor)
        touches_owner = OrgRole.OWNER in (role, membership.role)
        _require_manager(actor=actor, target_role=OrgRole.OWNER if touches_owner else None)
        if membership.role == role:
            return membership
        if membership.role == OrgRole.OWNER and owners <= 1:
            raise ValidationError(_LAST_OWNER_MESSAGE, code="last_owner")
        previous = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        member_sync(organization=membership.organization, user=membership.user, role=role)
        audit_record(
            action="membership.role_changed",
            actor=actor,
            target=audit_target(membership, membership.user.email),
            before={"role": previous},
            after={"role": role},
            organization=membership.organization,
        )
    return membership


def membership_remove(*, membership: Membership, actor: Membership) -> None:
    """Remove someone (or yourself) from the organisation. Access ends at once: every
    request checks the Membership, whatever session or token it carries. The
    organisation's Member row stays, inactive, for its history; their project roles go,
    so being invited again starts from nothing."""
    with transaction.atomic():
        membership, actor, owners = _locked_pair(membership=membership, actor=actor)
        if membership.pk != actor.pk:
            _require_manager(actor=actor, target_role=membership.role)
        if membership.role == OrgRole.OWNER and owners <= 1:
            raise ValidationError(_LAST_OWNER_MESSAGE, code="last_owner")
        member_sync(
            organization=membership.organization,
            user=membership.user,
            role=membership.role,
            is_active=False,
            forget_project_roles=True,
        )
        audit_record(
            action="membership.removed",
            actor=actor,
            target=audit_target(membership, membership.user.email),
            before={"role": membership.role},
            after={"left": True} if membership.pk == actor.pk else {},
            organization=membership.organization,
        )
        membership.delete()
