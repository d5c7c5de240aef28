"""The pool of spare schemas sign-up claims from: creating spares and topping the pool up
(beat, and a refill after each claim). Claiming one is part of `organization_create`
(shared_apps/tenants/services.py)."""

import logging
import secrets
import string

from django.conf import settings
from django.db import connection, transaction

from shared_apps.tenants.models import Organization
from shared_apps.tenants.template import template_refresh

logger = logging.getLogger(__name__)

SCHEMA_PREFIX = "org_"
_SCHEMA_ALPHABET = string.ascii_lowercase + string.digits
# Any constant works; it only has to be the same in every process that fills the pool.
_POOL_FILL_LOCK_ID = 0x7E55E7A


def schema_name_generate() -> str:
    """`org_` and 10 random characters: never derived from the slug, so renaming an
    organisation's address touches no schema."""
    return SCHEMA_PREFIX + "".join(secrets.choice(_SCHEMA_ALPHABET) for _ in range(10))


# Set while a refill is queued: a burst of sign-ups queues one.
REFILL_QUEUED_KEY = "tenants:spare-pool-refill-queued"


def spare_create() -> Organization:
    """Create one spare schema for the sign-up pool: a copy of the template schema when it
    is current (shared_apps/tenants/template.py, a fraction of a second), else migrated
    (as long as the tenant migrations take: do not call it from a request).

    The row and its schema are committed together: until the schema is complete no
    other connection sees the spare, so nobody can claim (or `migrate_tenants` migrate)
    a half-built schema, and a failure leaves nothing behind."""
    while True:
        schema_name = schema_name_generate()
        if not Organization.objects.filter(schema_name=schema_name).exists():
            break
    organization = Organization(schema_name=schema_name, status=Organization.Status.SPARE)
    with transaction.atomic():
        # Organization.create_schema() clones the template or migrates the new schema.
        organization.save(verbosity=0)
    return organization


def spare_pool_fill(*, size: int | None = None) -> int:
    """Top the pool of spare schemas up to `size` (default `TENANT_SPARE_POOL_SIZE`).

    Each spare is counted and created under a transaction-level advisory lock, so
    concurrent fillers (beat, the refill after a claim, several workers) never overfill:
    a filler that finds the lock taken stops, leaving the work to the one holding it.
    Returns how many spares this call created."""
    target = settings.TENANT_SPARE_POOL_SIZE if size is None else size
    created = 0
    if Organization.objects.filter(status=Organization.Status.SPARE).count() < target:
        # Spares are cloned from the template: bring it to the migrations on disk first
        # (one query when it is current), in case the deploy ran only migrate_schemas.
        template_refresh()
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_POOL_FILL_LOCK_ID])
                if not cursor.fetchone()[0]:
                    break
            if Organization.objects.filter(status=Organization.Status.SPARE).count() >= target:
                break
            spare_create()
            created += 1
    if created:
        logger.info("spare pool: created %d spare schema(s)", created)
    return created
