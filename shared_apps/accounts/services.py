"""Writes to users (public schema)."""

import logging

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts.models import User
from shared_apps.audit.services import audit_record, audit_target
from shared_apps.tenants.models import Organization
from shared_apps.tenants.services import member_sync

logger = logging.getLogger(__name__)


def user_deactivate(*, user: User, actor: User | None = None) -> User:
    """Deactivate `user` everywhere: no login (Django's ModelBackend refuses inactive
    users, which also ends their existing sessions on the next request), and their Member row marked
    inactive in every organisation they belong to (one schema switch per membership, so
    the cost follows the user's memberships, not the number of organisations).

    Users are never hard-deleted across schemas (DESIGN.md section 3); their tenant
    history keeps pointing at the tenant-local Member."""
    with transaction.atomic():
        was_active = user.is_active
        user.is_active = False
        user.deactivated_at = timezone.now()
        user.save(update_fields=["is_active", "deactivated_at"])
        for membership in user.memberships.select_related("organization"):
            member_sync(organization=membership.organization, user=user, role=membership.role, is_active=False)
        # The platform's log: a user is everyone's, not one organisation's.
        audit_record(
            action="user.deactivated",
            actor=actor,
            target=audit_target(user, user.email),
            before={"is_active": was_active},
            after={"is_active": False},
            public=True,
        )
    logger.info("user %s deactivated by %s", user.pk, actor.pk if actor else "system")
    return user


def user_reactivate(*, user: User, actor: User | None = None) -> User:
    """Undo `user_deactivate`: login works again and the user's Member rows are active
    again in the organisations they still belong to."""
    with transaction.atomic():
        user.is_active = True
        user.deactivated_at = None
        user.save(update_fields=["is_active", "deactivated_at"])
        for membership in user.memberships.select_related("organization"):
            member_sync(organization=membership.organization, user=user, role=membership.role, is_active=True)
    logger.info("user %s reactivated by %s", user.pk, actor.pk if actor else "system")
    return user


def user_language_set(*, user: User, language: str) -> User:
    """The interface language `user` chose ("" follows the browser). Unknown codes are
    ignored: the language stays as it was."""
    if language and language not in dict(settings.LANGUAGES):
        return user
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


def user_profile_update(*, user: User, full_name: str, language: str) -> User:
    """The person's display name and interface language ("" follows the browser), from
    their account page. The name is copied to their Member row in every organisation they
    belong to (one schema switch per membership), so every organisation shows it.
    Raises ValidationError naming the field; nothing is saved then."""
    full_name = " ".join(full_name.split())
    if len(full_name) > User._meta.get_field("full_name").max_length:
        raise ValidationError({"full_name": _("The name is too long (at most 150 characters).")})
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Unknown language.")})
    changed = [
        field for field, value in (("full_name", full_name), ("language", language)) if getattr(user, field) != value
    ]
    if not changed:
        return user
    with transaction.atomic():
        user.full_name = full_name
        user.language = language
        user.save(update_fields=changed)
        for membership in user.memberships.select_related("organization"):
            member_sync(organization=membership.organization, user=user, role=membership.role, is_active=user.is_active)
    return user


def organization_two_factor_set(*, organization: Organization, require: bool, actor: User) -> Organization:
    """Whether `organization` requires two-factor authentication of every member (owners:
    the caller checks). Turning it on needs the actor's own two-factor authentication
    first, so the owner who asks for it is never the first one locked out. Audited in the
    organisation's log (organization.two_factor_changed). Raises ValidationError; nothing
    is saved then."""
    if organization.require_two_factor == require:
        return organization
    if require and not is_mfa_enabled(actor):
        raise ValidationError(
            {
                "require_two_factor": _(
                    "Set up two-factor authentication for your own account first (Account, Two-factor authentication)."
                )
            }
        )
    with transaction.atomic():
        # The model signals drop the cached host lookup, so the next request sees it.
        organization.require_two_factor = require
        organization.save(update_fields=["require_two_factor"])
        audit_record(
            action="organization.two_factor_changed",
            actor=actor,
            target=audit_target(organization, organization.slug),
            before={"require_two_factor": not require},
            after={"require_two_factor": require},
            organization=organization,
        )
    logger.info("organisation %s two-factor requirement %s by %s", organization.schema_name, require, actor.pk)
    return organization
