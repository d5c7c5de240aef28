"""Usage functions of the limits measured in the public schema (the others live in the
tenant apps); settings.TESSERA_BILLING_USAGE names them all."""

from shared_apps.tenants.models import Membership, Organization


def members_count(organization: Organization) -> int:
    """People in the organisation, whatever their role (guests included)."""
    return Membership.objects.filter(organization_id=organization.pk).count()
