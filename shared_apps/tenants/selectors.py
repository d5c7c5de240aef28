from django.db import connection

from shared_apps.accounts.models import User
from shared_apps.tenants.models import Membership, Organization


def organizations_for_user(user: User) -> list[tuple[Organization, str]]:
    """The active organisations `user` belongs to, with their role, by name."""
    memberships = (
        Membership.objects.filter(user=user, organization__status=Organization.Status.ACTIVE)
        .select_related("organization")
        .order_by("organization__name")
    )
    return [(membership.organization, membership.role) for membership in memberships]


def current_organization() -> Organization:
    """The organisation whose schema is active: the worker's tenant (set by
    tenant-schemas-celery), or looked up when a bare `schema_context` is active."""
    tenant = connection.tenant
    if isinstance(tenant, Organization):
        return tenant
    return Organization.objects.get(schema_name=connection.schema_name)
