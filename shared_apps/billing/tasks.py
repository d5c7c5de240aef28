from celery import shared_task

from shared_apps.billing.services import trials_expire


@shared_task(name="billing.trials_expire", ignore_result=True)
def trials_expire_task() -> int:
    """Hourly (beat, in public): organisations whose Tessera trial ended go to Free."""
    return trials_expire()
