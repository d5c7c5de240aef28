from celery import shared_task

from tenant_apps.imports.services import import_run


@shared_task(name="imports.run", ignore_result=True)
def import_run_task(import_id: int) -> str:
    """Run one queued CSV import in the organisation's schema (idempotent)."""
    return import_run(import_id=import_id)
