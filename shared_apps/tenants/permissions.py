from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from shared_apps.tenants.models import MANAGER_ROLES, Membership


def membership_for_request(request) -> Membership | None:
    """The user's membership in the organisation the request is for (cached on the request).

    `public` is on every tenant's search_path, so this filters to the current organisation
    explicitly (DESIGN.md section 2)."""
    if not hasattr(request, "_tessera_membership"):
        user = request.user
        tenant = getattr(request, "tenant", None)
        membership = None
        if user.is_authenticated and user.is_active and tenant is not None and not tenant.is_public:
            membership = (
                Membership.objects.select_related("organization")
                .filter(user_id=user.pk, organization_id=tenant.pk)
                .first()
            )
        request._tessera_membership = membership
    return request._tessera_membership


def require_org_manager(request, message: str) -> None:
    """403 with `message` unless the requester is an owner or admin here."""
    membership = membership_for_request(request)
    if membership is None or membership.role not in MANAGER_ROLES:
        raise PermissionDenied(message)


class IsOrganizationMember(BasePermission):
    """Only members of the organisation the request's host names."""

    message = _("You are not a member of this organisation.")

    def has_permission(self, request, view) -> bool:
        return membership_for_request(request) is not None
