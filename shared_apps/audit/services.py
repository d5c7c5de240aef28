"""Writing audit entries. `audit_record` is called by the services whose actions an
organisation's admins or the platform's staff must be able to account for, inside the
service's own transaction: the entry commits with the change or not at all.

Where an entry goes:
- into the current schema by default: a tenant request's writes land in that
  organisation's log, a public one's in the platform's;
- `organization=`: into that organisation's schema, from wherever the caller runs (the
  billing webhooks and the membership services run in `public`). Same connection, same
  transaction: only the search_path changes for the one INSERT.
Staff actions on the platform itself (suspending an organisation, a staff plan grant,
deactivating a user) are written to `public`: they are the platform's account, read in
the Django admin (docs/audit.md)."""

import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from django_tenants.utils import schema_context

from shared_apps.audit.context import request_context
from shared_apps.audit.models import ActorKind, AuditEntry

# The actor of a write Stripe caused (its webhooks). None is "the system".
STRIPE = "stripe"


@dataclass(frozen=True)
class Target:
    type: str
    id: str
    label: str


def audit_target(obj: models.Model, label: str = "") -> Target:
    """What an entry is about: the object's model name, its id (read now, before a
    delete clears it) and a label a person recognises (a key, an email, a name)."""
    return Target(type=obj._meta.model_name, id=str(obj.pk or ""), label=(label or str(obj))[:254])


def _actor(actor) -> tuple[str, int | None, str, bool]:
    """(kind, user id, label, is staff) of a User, Membership, Member, STRIPE or None."""
    if actor is None:
        return ActorKind.SYSTEM, None, "", False
    if actor == STRIPE:
        return ActorKind.STRIPE, None, "Stripe", False
    model_name = actor._meta.model_name
    if model_name == "user":
        return ActorKind.USER, actor.pk, actor.email, bool(actor.is_staff)
    if model_name == "membership":
        return ActorKind.USER, actor.user_id, actor.user.email, bool(actor.user.is_staff)
    # tenant_apps.members.Member (shared apps never import it: duck-typed on its fields)
    return ActorKind.USER, actor.user_id, actor.email, False


def audit_diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose values differ, as (before, after)."""
    changed = [name for name in after if before.get(name) != after.get(name)]
    return {name: before.get(name) for name in changed}, {name: after.get(name) for name in changed}


def _ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def audit_record(
    *,
    action: str,
    actor,
    target: Target,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    organization=None,
    public: bool = False,
) -> AuditEntry:
    """Write one entry (call inside the transaction of the change it records).

    `action` is a code such as "project.archived" (docs/audit.md lists them); `actor` a
    User, Membership, Member, STRIPE or None (the system); `before`/`after` hold the
    changed fields only. `organization` writes into that organisation's schema,
    `public=True` into the platform's; neither: the current schema. The request's IP
    and user agent come from AuditContextMiddleware, when there is a request."""
    kind, user_id, label, is_staff = _actor(actor)
    context = request_context()
    entry = AuditEntry(
        actor_kind=kind,
        actor_user_id=user_id,
        actor_label=label[:254],
        actor_is_staff=is_staff,
        action=action,
        target_type=target.type,
        target_id=target.id,
        target_label=target.label,
        before=before or {},
        after=after or {},
        ip=_ip(context.ip) if context else None,
        user_agent=context.user_agent if context else "",
    )
    schema = settings.PUBLIC_SCHEMA_NAME if public else organization.schema_name if organization else None
    if schema is None or schema == connection.schema_name:
        entry.save()
    else:
        with schema_context(schema):
            entry.save()
    return entry


def audit_sweep(*, now=None) -> int:
    """Delete the current schema's entries older than TESSERA_AUDIT_RETENTION_DAYS (beat
    runs it in every organisation and in public). Returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.TESSERA_AUDIT_RETENTION_DAYS)
    deleted, _by_model = AuditEntry.objects.filter(created_at__lt=cutoff).delete()
    return deleted
