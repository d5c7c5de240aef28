from celery import shared_task

from shared_apps.audit.services import audit_sweep


@shared_task(name="audit.sweep", ignore_result=True)
def audit_sweep_task() -> int:
    """Retention: beat runs this once a day in every organisation's schema and in public."""
    return audit_sweep()
