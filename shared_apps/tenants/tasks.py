from celery import shared_task
from django.core.cache import caches

from shared_apps.tenants.spares import REFILL_QUEUED_KEY, spare_pool_fill


@shared_task(name="tenants.spare_pool_fill", ignore_result=True)
def spare_pool_fill_task() -> int:
    """Keep the sign-up pool of pre-migrated schemas full (runs in public)."""
    # From now on a new claim may queue another refill.
    caches["platform"].delete(REFILL_QUEUED_KEY)
    return spare_pool_fill()
