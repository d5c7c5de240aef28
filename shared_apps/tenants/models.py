from django.conf import settings
from django.db import connection, models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import schema_exists

from shared_apps.tenants.validators import validate_time_zone


class OrgRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")
    GUEST = "guest", _("Guest")


# Roles that manage the organisation: people, roles, usage; they may do everything.
MANAGER_ROLES = frozenset({OrgRole.OWNER, OrgRole.ADMIN})


class Organization(TenantMixin):
    """An organisation and its PostgreSQL schema.

    Spare rows (`status=spare`) are pre-migrated schemas waiting in the sign-up pool: they
    have no slug, name or domain until `organization_create` claims one.
    """

    class Status(models.TextChoices):
        SPARE = "spare", _("Spare (in the sign-up pool)")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(max_length=200, blank=True)
    # NULL (not "") for spares, so the unique constraint leaves them alone.
    slug = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SPARE, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # Default language of the organisation's emails for people who chose none.
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE)
    # IANA name; reports read periods given as dates (and show times) in this zone.
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # Owners require two-factor authentication of every member (docs/account.md): members
    # without it are led to set it up before they can go on.
    require_two_factor = models.BooleanField(default=False)

    # Schemas are created (and migrated) when a row is first saved; they are never
    # dropped implicitly: deleting an organisation's data is an explicit operation.
    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("slug"), name="tenants_organization_slug_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(status="spare") | models.Q(slug__isnull=False),
                name="tenants_organization_slug_unless_spare",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.slug or self.schema_name

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """Create the schema as a copy of the migrated template schema when it is current
        (milliseconds: shared_apps/tenants/template.py), otherwise by migrating it as
        django-tenants does (seconds)."""
        from shared_apps.tenants.template import template_clone  # the template module reads this model

        creating = sync_schema and not (check_if_exists and schema_exists(self.schema_name))
        if creating and template_clone(self.schema_name):
            connection.set_schema_to_public()
            return True
        return super().create_schema(check_if_exists=check_if_exists, sync_schema=sync_schema, verbosity=verbosity)

    @property
    def is_public(self) -> bool:
        return self.schema_name == settings.PUBLIC_SCHEMA_NAME


class Domain(DomainMixin):
    """A host name that serves an organisation (`<slug>.<BASE_DOMAIN>`)."""

    def __str__(self) -> str:
        return self.domain


class Membership(models.Model):
    """Who belongs to which organisation, with what organisation role (public schema).

    Written together with the tenant-local `members.Member` in one transaction."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="tenants_membership_user_org_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class Invitation(models.Model):
    """An emailed, single-use, expiring invitation to join an organisation.

    Only a SHA-256 digest of the link's token is stored, so the database does not hold
    usable links."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.MEMBER)
    token_digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "email"], name="tenants_invitation_org_email")]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization} ({self.role})"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None


class PendingWork(models.Model):
    """An organisation with periodic work coming: unprocessed outbox events, pending
    deliveries, queued or running reports, report expiry, weekly schedules, due dates.

    Written in the same transaction as the work (`shared_apps.tenants.pending`, and a
    trigger on tasks for due dates); the periodic sweep visits only the organisations
    whose `due_at` has come, and an idle organisation has no row at all. Keyed by schema
    name, not a foreign key, so the trigger inside a tenant schema can write it with
    what it knows (its own schema)."""

    schema_name = models.CharField(max_length=63, primary_key=True)
    due_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.schema_name} at {self.due_at:%Y-%m-%d %H:%M}"


class SchemaMigrationState(models.Model):
    """That a tenant schema held every migration on disk (`digest` of the migration files)
    when recorded, so a no-op `migrate_tenants` reads one public table instead of every
    schema's `django_migrations` (shared_apps/tenants/migration_state.py). A trigger on the
    schema's `django_migrations` deletes the row on any change to it; `table_oid` ties the
    row to that table, so a schema dropped and recreated is not trusted."""

    schema_name = models.CharField(max_length=63, primary_key=True)
    digest = models.CharField(max_length=64)
    table_oid = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.schema_name} at {self.digest[:12]}"
