"""Who the requesting user is in the organisation the request is for.

The membership is read on every request, so it is cached per organisation (in its
schema's cache) under the ACCESS_CACHE namespace; `member_sync`, which every membership
change goes through, bumps it. A user who is not a member is cached too (as such)."""

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from shared_apps.core.cache_namespaces import CacheNamespace
from shared_apps.tenants.models import MANAGER_ROLES, Membership

ACCESS_CACHE = CacheNamespace("access", prefetch=True)
ACCESS_TTL_SECONDS = 600
NOT_A_MEMBER = "none"
_MEMBERSHIP_FIELDS = [field.attname for field in Membership._meta.concrete_fields]


def access_cache_key(request, *parts) -> str:
    """A key in this organisation's ACCESS_CACHE, its version read once per request
    (everything cached under it is read at the start of the request and kept on it)."""
    version = getattr(request, "_tessera_access_version", None)
    if version is None:
        version = request._tessera_access_version = ACCESS_CACHE.version()
    return ACCESS_CACHE.key_at(version, *parts)


def _membership_lookup(request, user_id: int, tenant) -> Membership | None:
    key = access_cache_key(request, "membership", user_id)
    cached = cache.get(key)
    if cached == NOT_A_MEMBER:
        return None
    if cached is not None:
        membership = Membership.from_db("default", _MEMBERSHIP_FIELDS, cached)
    else:
        membership = Membership.objects.filter(user_id=user_id, organization_id=tenant.pk).first()
        cache.set(
            key,
            NOT_A_MEMBER if membership is None else [getattr(membership, name) for name in _MEMBERSHIP_FIELDS],
            ACCESS_TTL_SECONDS,
        )
    if membership is not None:
        membership.organization = tenant  # the request's organisation: no query
    return membership


def membership_for_request(request) -> Membership | None:
    """The user's membership in the organisation the request is for (cached on the request).

    `public` is on every tenant's search_path, so this filters to the current organisation
    explicitly (DESIGN.md section 2)."""
    if not hasattr(request, "_tessera_membership"):
        user = request.user
        tenant = getattr(request, "tenant", None)
        membership = None
        if user.is_authenticated and user.is_active and tenant is not None and not tenant.is_public:
            membership = _membership_lookup(request, user.pk, tenant)
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
