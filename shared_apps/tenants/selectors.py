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
    """The organisation whose schema is active: the request's or worker's tenant (set by
    the tenant middleware or tenant-schemas-celery), else looked up by the active schema
    (a bare `schema_context`). The one "current organisation" lookup of the code base."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Organization) and tenant.schema_name == connection.schema_name:
        return tenant
    return Organization.objects.get(schema_name=connection.schema_name)
