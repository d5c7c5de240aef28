"""Host-cache invalidation. Cache bookkeeping, not domain logic: it must follow every
change to a Domain or Organization row, whether a service, the admin or a shell made it."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from shared_apps.tenants.host_cache import host_cache_invalidate, organization_hosts
from shared_apps.tenants.models import Domain, Organization


def _invalidate_now_and_on_commit(*hostnames: str) -> None:
    # Now, so this transaction reads fresh data; on commit, so a concurrent request that
    # re-cached the old row while the transaction was open is corrected.
    host_cache_invalidate(*hostnames)
    transaction.on_commit(lambda: host_cache_invalidate(*hostnames))


@receiver(pre_save, sender=Domain)
def _domain_remember_old_name(sender, instance: Domain, **kwargs) -> None:
    instance._previous_domain = None
    if instance.pk:
        instance._previous_domain = Domain.objects.filter(pk=instance.pk).values_list("domain", flat=True).first()


@receiver(post_save, sender=Domain)
def _domain_saved(sender, instance: Domain, **kwargs) -> None:
    _invalidate_now_and_on_commit(instance.domain, getattr(instance, "_previous_domain", None) or "")


@receiver(post_delete, sender=Domain)
def _domain_deleted(sender, instance: Domain, **kwargs) -> None:
    _invalidate_now_and_on_commit(instance.domain)


@receiver(post_save, sender=Organization)
@receiver(post_delete, sender=Organization)
def _organization_changed(sender, instance: Organization, **kwargs) -> None:
    if instance.status == Organization.Status.SPARE and kwargs.get("created"):
        return  # a new spare has no domain yet
    _invalidate_now_and_on_commit(*organization_hosts(instance))
