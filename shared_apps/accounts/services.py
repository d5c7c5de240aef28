"""Writes to users (public schema)."""

import logging

from django.db import transaction
from django.utils import timezone

from shared_apps.accounts.models import User
from shared_apps.audit.services import audit_record, audit_target
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
    from django.conf import settings

    if language and language not in dict(settings.LANGUAGES):
        return user
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user
