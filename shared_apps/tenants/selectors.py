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
