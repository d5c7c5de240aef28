"""Account-level security events in the audit log: a person's API tokens and their
two-factor authenticators belong to the person, not to one organisation, yet every
organisation they can reach with them has to be able to account for them.

Decision (docs/audit.md, "Account-level events"): such an event is written to the
platform's log (`public`) and to the log of every organisation the person is a member
of at that moment, in the transaction of the change. An organisation's owners and
admins therefore see, on /settings/audit/, the tokens and authenticators of their own
members, and nobody else's. The cost follows the person's memberships (one INSERT per
organisation), not the number of organisations."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from shared_apps.audit.services import Target, audit_record
from shared_apps.tenants.models import Membership

# allauth.mfa's authenticator kinds that are a second factor (recovery codes are made and
# deleted alongside them, and are not an event of their own).
_FACTOR_KINDS = {"totp": "Authenticator app", "webauthn": "Security key"}


def account_audit_record(*, action: str, actor, user, target: Target, before=None, after=None) -> None:
    """Write the entry for `user`'s account into public and into each organisation
    `user` belongs to (call inside the change's transaction)."""
    audit_record(action=action, actor=actor, target=target, before=before, after=after, public=True)
    for membership in Membership.objects.filter(user_id=user.pk).select_related("organization"):
        audit_record(
            action=action, actor=actor, target=target, before=before, after=after, organization=membership.organization
        )


def _authenticator_target(authenticator, user) -> Target:
    kind = _FACTOR_KINDS[authenticator.type]
    name = (authenticator.data or {}).get("name") if authenticator.type == "webauthn" else None
    label = f"{kind} “{name}” ({user.email})" if name else f"{kind} ({user.email})"
    return Target(type="authenticator", id=str(authenticator.pk or ""), label=label[:254])


def _authenticator_added(sender, instance, created: bool, raw: bool = False, **_kwargs) -> None:
    if not created or raw or instance.type not in _FACTOR_KINDS:
        return
    user = instance.user
    account_audit_record(
        action="authenticator.added",
        actor=user,
        user=user,
        target=_authenticator_target(instance, user),
        after={"type": instance.type},
    )


def _authenticator_removed(sender, instance, origin=None, **_kwargs) -> None:
    # Only when the authenticator itself was deleted (the person, on allauth's pages or
    # API): not when deleting a user cascades to it.
    origin_model = getattr(origin, "model", None) or type(origin)
    if instance.type not in _FACTOR_KINDS or origin_model is not sender:
        return
    user = instance.user
    account_audit_record(
        action="authenticator.removed",
        actor=user,
        user=user,
        target=_authenticator_target(instance, user),
        before={"type": instance.type},
    )


def install() -> None:
    """Connect the authenticator receivers (AccountsConfig.ready). allauth.mfa writes the
    Authenticator rows itself and sends its own `authenticator_added`/`removed` signals
    only after the commit; the model signals run inside the transaction of the INSERT or
    DELETE, so the audit entry commits with the change or not at all."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.webauthn.internal import flows as webauthn_flows

    # Adding a security key is not one transaction in allauth 65 (the TOTP activation
    # is): make it one, so the key and its entries commit together. Its two callers
    # (the page and the headless API) look the function up in the module.
    if not getattr(webauthn_flows, "_tessera_atomic", False):
        webauthn_flows._signup_or_add_authenticator = transaction.atomic(webauthn_flows._signup_or_add_authenticator)
        webauthn_flows._tessera_atomic = True
    post_save.connect(_authenticator_added, sender=Authenticator, dispatch_uid="accounts-audit-authenticator-added")
    post_delete.connect(
        _authenticator_removed, sender=Authenticator, dispatch_uid="accounts-audit-authenticator-removed"
    )
