"""Cache namespaces of the projects app, apart from the code that reads them, so the
permission service and the project selectors can both use them without importing each
other."""

from shared_apps.core.cache_namespaces import CacheNamespace

# Every cached permission answer of the organisation (and each guest's visible projects);
# bumped by permissions_version_bump on any change to roles, members or memberships.
PERMISSIONS_CACHE = CacheNamespace("permissions", prefetch=True)
