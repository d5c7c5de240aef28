"""Celery beat's scheduler. Its own module: tenant-schemas-celery's scheduler loads models
at import, so it cannot be imported while the Celery app itself is being set up."""

from tenant_schemas_celery.scheduler import TenantAwarePersistentScheduler

from shared_apps.tenants.models import Organization


class TesseraBeatScheduler(TenantAwarePersistentScheduler):
    """Beat entries without `tenant_schemas` run once per organisation; spare schemas in
    the sign-up pool are not organisations yet and get none."""

    @classmethod
    def get_queryset(cls):
        return Organization.objects.exclude(status=Organization.Status.SPARE)
