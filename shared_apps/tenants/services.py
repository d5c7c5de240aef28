"""Writes to organisations, their domains and memberships.

Tenant-local effects (the organisation's `members.Member` rows) go through the function
named by `settings.TESSERA_MEMBER_SYNC`, run inside the organisation's schema: shared apps
never import tenant apps (STYLE.md), and this keeps that boundary explicit.
"""

import logging

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from config.celery import send_in_schema
from shared_apps.accounts.models import User
from shared_apps.audit.services import audit_diff, audit_record, audit_target
from shared_apps.billing.limits import limit_check
from shared_apps.billing.services import subscription_start
from shared_apps.tenants.addresses import domain_for_slug as domain_for_slug  # re-exported
from shared_apps.tenants.addresses import organization_url as organization_url  # re-exported
from shared_apps.tenants.models import Domain, Membership, Organization, OrgRole
from shared_apps.tenants.permissions import ACCESS_CACHE
from shared_apps.tenants.spares import REFILL_QUEUED_KEY, spare_create
from shared_apps.tenants.tasks import spare_pool_fill_task
from shared_apps.tenants.validators import validate_slug, validate_time_zone

logger = logging.getLogger(__name__)


def member_sync(
    *,
    organization: Organization,
    user: User,
    role: str,
    is_active: bool = True,
    forget_project_roles: bool = False,
) -> None:
    """Create or update the tenant-local Member for `user` inside `organization`'s schema
    (with `forget_project_roles`, also drop their project roles: they left).

    Runs on the caller's connection, so it joins the caller's transaction."""
    sync = import_string(settings.TESSERA_MEMBER_SYNC)
    with schema_context(organization.schema_name):
        # Every membership change passes here: cached memberships and members go.
        ACCESS_CACHE.bump()
        sync(user=user, role=role, is_active=is_active, forget_project_roles=forget_project_roles)


def _spare_claim(*, pk: int | None = None) -> Organization | None:
    """Lock one spare row for this transaction; concurrent claimers skip locked rows, so
    two sign-ups never get the same schema."""
    spares = Organization.objects.select_for_update(skip_locked=True).filter(status=Organization.Status.SPARE)
    if pk is not None:
        spares = spares.filter(pk=pk)
    return spares.order_by("created_at", "pk").first()


# Violating one of these means another organisation got the address first.
_SLUG_CONSTRAINTS = ("tenants_organization_slug_ci_unique", "tenants_domain_domain_key")


def _slug_taken_error(slug: str) -> ValidationError:
    return ValidationError({"slug": _("The address “%(slug)s” is already taken.") % {"slug": slug}}, code="slug_taken")


def _slug_ensure_available(slug: str) -> None:
    """A friendly early answer; the unique constraints still decide concurrent sign-ups."""
    taken = Organization.objects.filter(slug__iexact=slug).exists()
    if taken or Domain.objects.filter(domain=domain_for_slug(slug)).exists():
        raise _slug_taken_error(slug)


def _organization_activate(*, organization: Organization, slug: str, name: str, owner: User) -> Organization:
    organization.slug = slug
    organization.name = name
    organization.status = Organization.Status.ACTIVE
    organization.activated_at = timezone.now()
    organization.save(update_fields=["slug", "name", "status", "activated_at"])
    Domain.objects.create(domain=domain_for_slug(slug), tenant=organization, is_primary=True)
    membership = Membership.objects.create(user=owner, organization=organization, role=OrgRole.OWNER)
    member_sync(organization=organization, user=owner, role=OrgRole.OWNER)
    audit_record(
        action="membership.added",
        actor=owner,
        target=audit_target(membership, owner.email),
        after={"role": OrgRole.OWNER, "via": "sign-up"},
        organization=organization,
    )
    subscription_start(organization=organization)
    return organization


def organization_create(*, slug: str, name: str, owner: User) -> Organization:
    """Create an organisation at `<slug>.<BASE_DOMAIN>` owned by `owner`.

    Claims a pre-migrated spare schema (milliseconds); with the pool empty, creates and
    migrates a schema first. The slug, domain, owner Membership and tenant Member are
    written in one transaction. Raises ValidationError (field `slug` or `name`) for an
    invalid, reserved or taken slug — also when a concurrent sign-up takes it first.
    """
    try:
        slug = validate_slug(slug)
    except ValidationError as exc:
        raise ValidationError({"slug": exc.error_list}) from exc
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("The organisation needs a name.")}, code="name_required")
    if len(name) > Organization._meta.get_field("name").max_length:
        raise ValidationError({"name": _("The name is too long (at most 200 characters).")}, code="name_too_long")
    _slug_ensure_available(slug)

    created_spare: Organization | None = None
    # Normally one pass; a second pass only when the pool was empty (or a concurrent
    # sign-up claimed the spare created for this call).
    for _attempt in range(3):
        try:
            with transaction.atomic():
                spare = _spare_claim(pk=created_spare.pk) if created_spare else None
                spare = spare or _spare_claim()
                if spare is not None:
                    organization = _organization_activate(organization=spare, slug=slug, name=name, owner=owner)
                    transaction.on_commit(_spare_pool_refill_later)
                    return organization
        except IntegrityError as exc:
            # The unique constraints on slug and domain decide races between sign-ups.
            if not any(name in str(exc) for name in _SLUG_CONSTRAINTS):
                raise
            logger.info("organisation slug %r lost a race: %s", slug, exc)
            raise _slug_taken_error(slug) from exc
        logger.warning("spare pool empty: creating a schema directly for %r", slug)
        created_spare = spare_create()
    raise RuntimeError("could not claim a spare schema after creating one")  # pragma: no cover


def _spare_pool_refill_later() -> None:
    """Ask a worker to refill the pool, at most one request in flight: a burst of sign-ups
    queues one refill, not one per sign-up (beat refills every minute regardless)."""
    if caches["platform"].add(REFILL_QUEUED_KEY, True, 60):
        send_in_schema(spare_pool_fill_task, schema_name=settings.PUBLIC_SCHEMA_NAME)


def membership_create(*, organization: Organization, user: User, role: str) -> Membership:
    """Add `user`, who must not be a member yet (ValidationError otherwise, also when a
    concurrent call added them first), within the plan's member allowance."""
    already = ValidationError(_("You are already a member of this organisation."), code="already_member")
    if Membership.objects.filter(user=user, organization=organization).exists():
        raise already
    try:
        with transaction.atomic():
            # Raises PlanLimitExceeded (402) at the plan's member allowance; the lock it
            # takes makes concurrent joins count one after another.
            limit_check(organization, "members", adding=1)
            membership = Membership.objects.create(user=user, organization=organization, role=role)
    except IntegrityError as exc:
        raise already from exc
    member_sync(organization=organization, user=user, role=role)
    return membership


def membership_add(*, organization: Organization, user: User, role: str, actor: User | None = None) -> Membership:
    """Add `user` to `organization`, or set their role if they are in it already (public
    Membership and tenant Member together). For operators' tools (seed data, commands);
    invitations use `membership_create`, which never changes an existing role. Audited
    (membership.added / membership.role_changed); `actor` None: the system."""
    with transaction.atomic():
        previous = (
            Membership.objects.filter(user=user, organization=organization).values_list("role", flat=True).first()
        )
        membership, created = Membership.objects.update_or_create(
            user=user, organization=organization, defaults={"role": role}
        )
        member_sync(organization=organization, user=user, role=role)
        if created or previous != role:
            audit_record(
                action="membership.added" if created else "membership.role_changed",
                actor=actor,
                target=audit_target(membership, user.email),
                before={} if created else {"role": previous},
                after={"role": role},
                organization=organization,
            )
    return membership


def organization_status_set(*, organization: Organization, status: str, actor: User | None = None) -> Organization:
    """Suspend or reactivate an organisation. Its data is kept either way; the host cache
    is invalidated by the model signals so the change applies to the next request."""
    allowed = {Organization.Status.ACTIVE, Organization.Status.SUSPENDED}
    if status not in allowed or organization.status not in allowed:
        raise ValidationError({"status": _("Only active and suspended organisations can change status.")})
    previous = organization.status
    with transaction.atomic():
        organization.status = status
        organization.save(update_fields=["status"])
        if previous != status:
            # A platform staff action: the platform's log (public).
            audit_record(
                action="organization.suspended"
                if status == Organization.Status.SUSPENDED
                else "organization.reactivated",
                actor=actor,
                target=audit_target(organization, organization.slug),
                before={"status": previous},
                after={"status": status},
                public=True,
            )
    logger.info("organisation %s set to %s by %s", organization.schema_name, status, actor)
    return organization


def organization_settings_update(
    *,
    organization: Organization,
    actor: User,
    name: str | None = None,
    time_zone: str | None = None,
    language: str | None = None,
) -> Organization:
    """Rename the organisation, change its time zone and/or its default language (owners
    and admins: the caller checks). Raises ValidationError naming the field; nothing is
    saved then."""
    changed: list[str] = []
    previous = {"name": organization.name, "time_zone": organization.time_zone, "language": organization.language}
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationError({"name": _("The organisation needs a name.")}, code="name_required")
        if len(name) > Organization._meta.get_field("name").max_length:
            raise ValidationError({"name": _("The name is too long (at most 200 characters).")}, code="name_too_long")
        organization.name = name
        changed.append("name")
    if time_zone is not None:
        try:
            validate_time_zone(time_zone)
        except ValidationError as exc:
            raise ValidationError({"time_zone": exc.messages}) from exc
        organization.time_zone = time_zone
        changed.append("time_zone")
    if language is not None:
        if language not in dict(settings.LANGUAGES):
            raise ValidationError(
                {"language": _("Unknown language; one of: %(codes)s.") % {"codes": ", ".join(dict(settings.LANGUAGES))}}
            )
        organization.language = language
        changed.append("language")
    if changed:
        with transaction.atomic():
            # The model signals drop the cached host lookup, so the next request sees it.
            organization.save(update_fields=changed)
            before, after = audit_diff(
                previous,
                {"name": organization.name, "time_zone": organization.time_zone, "language": organization.language},
            )
            if after:
                audit_record(
                    action="organization.settings_changed",
                    actor=actor,
                    target=audit_target(organization, organization.slug),
                    before=before,
                    after=after,
                    organization=organization,
                )
        logger.info("organisation %s settings %s changed by %s", organization.schema_name, changed, actor)
    return organization
