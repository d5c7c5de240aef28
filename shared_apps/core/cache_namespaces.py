"""Per-tenant cache namespaces invalidated by a version number (DESIGN.md section 6):
never `cache.clear()`; bump the namespace's version and every key under it is gone."""

import secrets

from django.core.cache import cache
from django.db import connection, transaction
from django_tenants.utils import schema_context


class CacheNamespace:
    """Keys `<name>:<version>:<parts>` in the current schema's cache (the key function
    adds the schema). The version is seeded randomly, so an evicted version key never
    revives entries cached under an earlier number."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._version_key = f"{name}:version"

    def version(self) -> int:
        version = cache.get(self._version_key)
        if version is None:
            cache.add(self._version_key, secrets.randbelow(2**31), None)
            version = cache.get(self._version_key) or 0
        return version

    def key(self, *parts) -> str:
        return self.key_at(self.version(), *parts)

    def key_at(self, version: int, *parts) -> str:
        """A key under a version read earlier (e.g. once per request)."""
        return ":".join([self.name, str(version), *map(str, parts)])

    def _bump_here(self) -> None:
        if not cache.add(self._version_key, secrets.randbelow(2**31), None):
            try:
                cache.incr(self._version_key)
            except ValueError:  # expired between add() and incr()
                cache.add(self._version_key, secrets.randbelow(2**31), None)

    def bump(self) -> None:
        """Invalidate now and again when the transaction commits: a request that read the
        new version before the commit and cached an answer from the old rows is
        superseded. The commit callback runs in the schema captured here (it may fire
        after a schema_context has exited)."""
        self._bump_here()
        schema = connection.schema_name

        def bump_in_schema() -> None:
            with schema_context(schema):
                self._bump_here()

        transaction.on_commit(bump_in_schema)
