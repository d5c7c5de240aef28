from celery import shared_task

from shared_apps.tenants.services import spare_pool_fill


@shared_task(name="tenants.spare_pool_fill", ignore_result=True)
def spare_pool_fill_task() -> int:
    """Keep the sign-up pool of pre-migrated schemas full (runs in public)."""
    return spare_pool_fill()
