"""Cached host -> organisation lookup, done on every request.

Entries live in the `platform` cache alias (not tenant-prefixed: they are platform data,
and must be the same key whichever schema is active when a domain changes). A missing
host is cached too, briefly, so a flood of requests for unknown hosts does not reach the
database each time.

An entry is trusted only once this process has seen it match the database: an entry
written by something else sharing the Redis (a benchmark's own database, a restored
backup, a deleted organisation) may name a schema that does not exist here, and serving
it would answer 500 to every request for that host. So the first hit of an entry in each
process costs one primary-key query (then none for `_VERIFIED_SECONDS`), and an entry that
does not match is dropped and looked up in the database.
"""

import time

from django.conf import settings
from django.core.cache import caches

from shared_apps.tenants.models import Domain, Organization

_MISSING = "missing"
_MISSING_SECONDS = 30
_VERIFIED_SECONDS = 60
_VERIFIED_MAX_HOSTS = 10_000
# hostname -> ((organisation id, schema), monotonic time it was last seen in the database).
_verified: dict[str, tuple[tuple[int, str], float]] = {}


def _remember(hostname: str, organization: Organization) -> None:
    if len(_verified) >= _VERIFIED_MAX_HOSTS:
        _verified.clear()
    _verified[hostname] = ((organization.pk, organization.schema_name), time.monotonic())


def _trusted(hostname: str, organization: Organization) -> bool:
    """Whether the cached `organization` for `hostname` is this database's: known from an
    earlier check in this process, or checked now (one query)."""
    identity = (organization.pk, organization.schema_name)
    seen = _verified.get(hostname)
    if seen is not None and seen[0] == identity and time.monotonic() - seen[1] < _VERIFIED_SECONDS:
        return True
    if not Organization.objects.filter(pk=organization.pk, schema_name=organization.schema_name).exists():
        return False
    _remember(hostname, organization)
    return True


def _key(hostname: str) -> str:
    return f"tenant-host:{hostname.lower()}"


def _cache():
    return caches["platform"]


def _to_fields(organization: Organization) -> dict:
    return {field.attname: getattr(organization, field.attname) for field in Organization._meta.concrete_fields}


def _from_fields(fields: dict) -> Organization | None:
    """The cached organisation, or None when the entry predates a field added since
    (cached by the previous release): then it is looked up again."""
    # Every concrete field is cached, so the instance is whole: saving it loses nothing.
    names = [field.attname for field in Organization._meta.concrete_fields]
    if not all(name in fields for name in names):
        return None
    return Organization.from_db("default", names, [fields[name] for name in names])


def _lookup_database(hostname: str) -> Organization | None:
    if hostname == settings.BASE_DOMAIN:
        return Organization.objects.filter(schema_name=settings.PUBLIC_SCHEMA_NAME).first()
    domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    return domain.tenant if domain else None


def organization_for_host(hostname: str) -> Organization | None:
    """The organisation served at `hostname` (the public one for BASE_DOMAIN), or None."""
    hostname = hostname.lower()
    cached = _cache().get(_key(hostname))
    if cached == _MISSING:
        return None
    organization = _from_fields(cached) if cached is not None else None
    if organization is not None and _trusted(hostname, organization):
        return organization
    organization = _lookup_database(hostname)
    if organization is None:
        _cache().set(_key(hostname), _MISSING, _MISSING_SECONDS)
        return None
    _cache().set(_key(hostname), _to_fields(organization), settings.TENANT_HOST_CACHE_SECONDS)
    _remember(hostname, organization)
    return organization


def host_cache_invalidate(*hostnames: str) -> None:
    _cache().delete_many([_key(hostname) for hostname in hostnames if hostname])


def organization_hosts(organization: Organization) -> list[str]:
    hosts = list(Domain.objects.filter(tenant_id=organization.pk).values_list("domain", flat=True))
    if organization.is_public:
        hosts.append(settings.BASE_DOMAIN)
    return hosts
